//! The web UI: a small single-page app (`web/` at the repository root) embedded in the binary.
//!
//! `GET /` serves `index.html` to browsers (requests whose `Accept` header names `text/html`);
//! every other client gets ksqlDB's 307 to `/info`. The script and style sheet are served under
//! `/ui/`. The app only uses the public REST API (`/info`, `/ksql`, `/query-stream`,
//! `/close-query`).
//!
//! For work on the UI itself, `RIFFLE_WEB_DIR=web` makes the server read the files from that
//! directory on every request instead of using the embedded copies.

use axum::extract::Path;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};

use crate::info::not_found;

/// The embedded files: name under `/ui/` (`""` for the page itself), content type, content.
const FILES: &[(&str, &str, &str)] = &[
    (
        "",
        "text/html; charset=utf-8",
        include_str!("../../../web/index.html"),
    ),
    (
        "app.css",
        "text/css; charset=utf-8",
        include_str!("../../../web/app.css"),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_str!("../../../web/app.js"),
    ),
];

/// Whether the request comes from a browser asking for a page.
fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|part| {
            part.split(';')
                .next()
                .is_some_and(|media| media.trim().eq_ignore_ascii_case("text/html"))
        })
}

/// One embedded file as a response, or `None` for an unknown name.
async fn file(name: &str) -> Option<Response> {
    let &(file_name, content_type, embedded) = FILES.iter().find(|(n, _, _)| *n == name)?;
    let body = match std::env::var_os("RIFFLE_WEB_DIR") {
        Some(dir) => {
            let path = std::path::Path::new(&dir).join(if file_name.is_empty() {
                "index.html"
            } else {
                file_name
            });
            tokio::fs::read_to_string(path)
                .await
                .unwrap_or_else(|_| embedded.to_string())
        }
        None => embedded.to_string(),
    };
    Some(
        (
            [
                (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
            ],
            body,
        )
            .into_response(),
    )
}

/// `GET /`: the web UI for browsers, else a 307 to `/info` as ksqlDB does.
pub(crate) async fn root(headers: HeaderMap) -> Response {
    if wants_html(&headers) {
        if let Some(page) = file("").await {
            return page;
        }
    }
    Redirect::temporary("/info").into_response()
}

/// `GET /ui/{file}`: the UI's script and style sheet.
pub(crate) async fn asset(Path(name): Path<String>) -> Response {
    if name.is_empty() {
        return not_found().await;
    }
    match file(&name).await {
        Some(resp) => resp,
        None => not_found().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn browsers_want_html() {
        assert!(wants_html(&accept(
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
        )));
        assert!(wants_html(&accept("TEXT/HTML; q=1")));
        assert!(!wants_html(&accept("*/*")));
        assert!(!wants_html(&accept("application/json")));
        assert!(!wants_html(&HeaderMap::new()));
    }
}
