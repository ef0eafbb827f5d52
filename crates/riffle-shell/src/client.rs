//! A small client of ksqlDB's REST API: `GET /info`, `POST /ksql` and streamed
//! `POST /query-stream` (delimited format: one JSON line per row).
//!
//! One HTTP/1.1 connection per request keeps the client simple and means a dropped push query
//! is simply a closed socket, which the server takes as "close the query".

use std::collections::BTreeMap;

use bytes::{Bytes, BytesMut};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};

use crate::ShellError;

/// Where the server is: `http://HOST[:PORT][/PREFIX]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerUrl {
    /// Host name or address (IPv6 without brackets).
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// Path prefix, without a trailing `/` (usually empty).
    pub prefix: String,
}

impl ServerUrl {
    /// Parses `http://host:port`; a missing scheme means `http`, a missing port 8088.
    pub fn parse(url: &str) -> Result<ServerUrl, ShellError> {
        let bad = |why: &str| ShellError::BadUrl(format!("'{url}': {why}"));
        let rest = if let Some(r) = url.strip_prefix("http://") {
            r
        } else if url.starts_with("https://") {
            return Err(bad("https is not supported yet; use http://"));
        } else if url.contains("://") {
            return Err(bad("only http:// URLs are supported"));
        } else {
            url
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], rest[i..].trim_end_matches('/')),
            None => (rest, ""),
        };
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (h, p) = v6.split_once(']').ok_or_else(|| bad("unclosed '['"))?;
            (h, p.strip_prefix(':'))
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (authority, None),
            }
        };
        if host.is_empty() {
            return Err(bad("missing host"));
        }
        let port = match port {
            Some(p) => p.parse().map_err(|_| bad("the port is not a number"))?,
            None => 8088,
        };
        Ok(ServerUrl {
            host: host.to_string(),
            port,
            prefix: path.to_string(),
        })
    }
}

impl std::fmt::Display for ServerUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.host.contains(':') {
            write!(f, "http://[{}]:{}{}", self.host, self.port, self.prefix)
        } else {
            write!(f, "http://{}:{}{}", self.host, self.port, self.prefix)
        }
    }
}

/// A REST client of one server.
#[derive(Debug, Clone)]
pub struct Client {
    url: ServerUrl,
}

/// What a query stream delivers, line by line.
#[derive(Debug, Clone, PartialEq)]
pub enum QueryEvent {
    /// The first line: query id, column names and types.
    Header {
        /// The query id (empty for pull queries on some servers).
        query_id: String,
        /// Column names.
        columns: Vec<String>,
        /// Column types, as ksql type names.
        types: Vec<String>,
    },
    /// One row, as JSON values in column order.
    Row(Vec<Value>),
    /// An error line from the server (its message).
    Error(String),
}

/// An open query stream.
pub struct QueryStream {
    url: String,
    body: Incoming,
    buf: BytesMut,
    done: bool,
}

impl QueryStream {
    /// The next event; `Ok(None)` once the server ended the stream.
    pub async fn next(&mut self) -> Result<Option<QueryEvent>, ShellError> {
        loop {
            if let Some(pos) = self.buf.iter().position(|b| *b == b'\n') {
                let line = self.buf.split_to(pos + 1);
                if let Some(event) = parse_line(&line)? {
                    return Ok(Some(event));
                }
                continue;
            }
            if self.done {
                let rest = self.buf.split();
                return parse_line(&rest);
            }
            match self.body.frame().await {
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        self.buf.extend_from_slice(&data);
                    }
                }
                Some(Err(e)) => return Err(disconnected(&self.url, &e)),
                None => self.done = true,
            }
        }
    }
}

/// One line of the delimited format: metadata object, row array or error envelope.
fn parse_line(line: &[u8]) -> Result<Option<QueryEvent>, ShellError> {
    let text = String::from_utf8_lossy(line);
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let value: Value = serde_json::from_str(text)
        .map_err(|e| ShellError::Protocol(format!("unreadable query output ({e}): {text}")))?;
    Ok(Some(match value {
        Value::Array(row) => QueryEvent::Row(row),
        Value::Object(ref o) if o.contains_key("columnNames") => {
            let strings = |key: &str| -> Vec<String> {
                o.get(key)
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .map(|v| v.as_str().unwrap_or_default().to_string())
                            .collect()
                    })
                    .unwrap_or_default()
            };
            QueryEvent::Header {
                query_id: o
                    .get("queryId")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                columns: strings("columnNames"),
                types: strings("columnTypes"),
            }
        }
        other => QueryEvent::Error(error_message(&other)),
    }))
}

/// The `message` of an error envelope, or the whole JSON when there is none.
pub fn error_message(v: &Value) -> String {
    v.get("message")
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| v.to_string())
}

impl Client {
    /// A client of the server at `url`.
    pub fn new(url: ServerUrl) -> Client {
        Client { url }
    }

    /// The server's URL.
    pub fn url(&self) -> &ServerUrl {
        &self.url
    }

    /// `GET /info` → the `KsqlServerInfo` object.
    pub async fn info(&self) -> Result<Value, ShellError> {
        let resp = self.send(Method::GET, "/info", None).await?;
        let (status, body) = read_body(&self.url, resp).await?;
        let v = parse_json(status, &body)?;
        Ok(v.get("KsqlServerInfo").cloned().unwrap_or(v))
    }

    /// `POST /ksql`: runs statements; answers with the entities.
    pub async fn ksql(
        &self,
        sql: &str,
        properties: &BTreeMap<String, String>,
        variables: &BTreeMap<String, String>,
    ) -> Result<Vec<Value>, ShellError> {
        let body = json!({
            "ksql": sql,
            "streamsProperties": properties,
            "sessionVariables": variables,
        });
        let resp = self.send(Method::POST, "/ksql", Some(body)).await?;
        let (status, body) = read_body(&self.url, resp).await?;
        match parse_json(status, &body)? {
            Value::Array(entities) => Ok(entities),
            other => Err(ShellError::Protocol(format!(
                "unexpected answer to /ksql: {other}"
            ))),
        }
    }

    /// `POST /query-stream`: starts a push or pull query. Errors before the first line (bad SQL,
    /// unknown source) come back as [`ShellError::Server`].
    pub async fn query(
        &self,
        sql: &str,
        properties: &BTreeMap<String, String>,
        variables: &BTreeMap<String, String>,
    ) -> Result<QueryStream, ShellError> {
        let body = json!({
            "sql": sql,
            "properties": properties,
            "sessionVariables": variables,
        });
        let resp = self.send(Method::POST, "/query-stream", Some(body)).await?;
        if resp.status() != StatusCode::OK {
            let (status, body) = read_body(&self.url, resp).await?;
            return Err(server_error(status, &body));
        }
        Ok(QueryStream {
            url: self.url.to_string(),
            body: resp.into_body(),
            buf: BytesMut::new(),
            done: false,
        })
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Response<Incoming>, ShellError> {
        let addr = (self.url.host.as_str(), self.url.port);
        let tcp = tokio::net::TcpStream::connect(addr)
            .await
            .map_err(|e| ShellError::Connect {
                url: self.url.to_string(),
                reason: e.to_string(),
            })?;
        let _ = tcp.set_nodelay(true);
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
            .await
            .map_err(|e| disconnected(&self.url.to_string(), &e))?;
        tokio::spawn(async move {
            // Errors here surface through the request or the body stream.
            let _ = conn.await;
        });
        let bytes = body.map(|b| Bytes::from(b.to_string())).unwrap_or_default();
        let host = if self.url.host.contains(':') {
            format!("[{}]:{}", self.url.host, self.url.port)
        } else {
            format!("{}:{}", self.url.host, self.url.port)
        };
        let req = Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.url.prefix))
            .header("host", host)
            .header("content-type", "application/json")
            .header("accept", "application/vnd.ksqlapi.delimited.v1")
            .body(Full::new(bytes))
            .map_err(|e| ShellError::Protocol(e.to_string()))?;
        sender
            .send_request(req)
            .await
            .map_err(|e| disconnected(&self.url.to_string(), &e))
    }
}

/// [`ShellError::Disconnected`] with the error's causes ("connection reset", …).
fn disconnected(url: &str, e: &hyper::Error) -> ShellError {
    let mut reason = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        reason.push_str(": ");
        reason.push_str(&s.to_string());
        source = s.source();
    }
    ShellError::Disconnected {
        url: url.to_string(),
        reason,
    }
}

async fn read_body(
    url: &ServerUrl,
    resp: Response<Incoming>,
) -> Result<(StatusCode, Bytes), ShellError> {
    let status = resp.status();
    let body = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| disconnected(&url.to_string(), &e))?
        .to_bytes();
    Ok((status, body))
}

/// The JSON body of a 200 answer, or the server's error.
fn parse_json(status: StatusCode, body: &[u8]) -> Result<Value, ShellError> {
    if status != StatusCode::OK {
        return Err(server_error(status, body));
    }
    serde_json::from_slice(body).map_err(|e| {
        ShellError::Protocol(format!(
            "the server's answer is not JSON ({e}): {}",
            String::from_utf8_lossy(body)
                .chars()
                .take(200)
                .collect::<String>()
        ))
    })
}

/// An error envelope (`{"@type":"…error","message":…}`) as [`ShellError::Server`].
fn server_error(status: StatusCode, body: &[u8]) -> ShellError {
    match serde_json::from_slice::<Value>(body) {
        Ok(v) if v.get("message").is_some() => ShellError::Server {
            message: error_message(&v),
            statement: v
                .get("statementText")
                .and_then(Value::as_str)
                .map(str::to_string),
            entities: v
                .get("entities")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default(),
        },
        _ => ShellError::Server {
            message: format!(
                "HTTP {status}: {}",
                String::from_utf8_lossy(body)
                    .trim()
                    .chars()
                    .take(200)
                    .collect::<String>()
            ),
            statement: None,
            entities: Vec::new(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let u = ServerUrl::parse("http://localhost:8088").ok();
        assert_eq!(
            u.map(|u| (u.host, u.port)),
            Some(("localhost".into(), 8088))
        );
        let u = ServerUrl::parse("127.0.0.1").ok();
        assert_eq!(u.map(|u| u.port), Some(8088));
        let u = ServerUrl::parse("http://[::1]:9/").ok();
        assert_eq!(u.map(|u| u.to_string()), Some("http://[::1]:9".into()));
        assert!(ServerUrl::parse("http://host:port").is_err());
        assert!(ServerUrl::parse("https://h:1").is_err());
        assert!(ServerUrl::parse("ftp://h").is_err());
    }

    #[test]
    fn delimited_lines() {
        let h = parse_line(br#"{"queryId":"q1","columnNames":["A"],"columnTypes":["INTEGER"]}"#);
        assert!(matches!(h, Ok(Some(QueryEvent::Header { .. }))));
        let r = parse_line(b"[1,\"x\"]\n");
        assert_eq!(
            r.ok().flatten(),
            Some(QueryEvent::Row(vec![json!(1), json!("x")]))
        );
        let e = parse_line(br#"{"@type":"generic_error","error_code":50000,"message":"boom"}"#);
        assert_eq!(e.ok().flatten(), Some(QueryEvent::Error("boom".into())));
        assert_eq!(parse_line(b"  \n").ok().flatten(), None);
    }
}
