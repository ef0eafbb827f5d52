//! Errors: [`ServerError`] for the server as a whole, and ksqlDB's REST error envelope for
//! failed requests.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use riffle_api::{ErrorMessage, KsqlEntity};
use riffle_engine::EngineError;

/// Why the server could not run.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// Accepting or serving connections failed.
    #[error("server I/O error: {0}")]
    Io(#[from] std::io::Error),
}

/// ksqlDB error codes used by the server (`rest/Errors.java`).
pub(crate) mod codes {
    /// Malformed request.
    pub(crate) const BAD_REQUEST: i64 = 40000;
    /// The statement is invalid.
    pub(crate) const BAD_STATEMENT: i64 = 40001;
    /// The statement belongs to `/query`.
    pub(crate) const QUERY_ENDPOINT: i64 = 40002;
    /// The endpoint needs HTTP/2.
    pub(crate) const HTTP2_ONLY: i64 = 40004;
    /// Nothing at this path.
    pub(crate) const NOT_FOUND: i64 = 40400;
    /// No acceptable response media type.
    pub(crate) const NOT_ACCEPTABLE: i64 = 40600;
    /// Internal error.
    pub(crate) const SERVER_ERROR: i64 = 50000;
    /// The server is shutting down.
    pub(crate) const SERVER_SHUTTING_DOWN: i64 = 50303;
}

/// A failed request: HTTP status plus ksqlDB's error envelope
/// (`{"@type":"generic_error","error_code":…,"message":…,"stackTrace":[]}`).
#[derive(Debug, Clone)]
pub(crate) struct ApiError {
    status: StatusCode,
    body: Box<ErrorMessage>,
}

impl ApiError {
    /// A `generic_error` whose HTTP status is `code / 100`.
    pub(crate) fn generic(code: i64, message: impl Into<String>) -> Self {
        ApiError {
            status: status_for(code),
            body: Box::new(ErrorMessage {
                kind: "generic_error".into(),
                error_code: code,
                message: message.into(),
                statement_text: None,
                entities: None,
                stack_trace: Vec::new(),
            }),
        }
    }

    /// A `statement_error` naming the failing statement and what ran before it.
    pub(crate) fn statement(
        code: i64,
        message: impl Into<String>,
        statement_text: impl Into<String>,
        entities: Vec<KsqlEntity>,
    ) -> Self {
        ApiError {
            status: status_for(code),
            body: Box::new(ErrorMessage {
                kind: "statement_error".into(),
                error_code: code,
                message: message.into(),
                statement_text: Some(statement_text.into()),
                entities: Some(entities),
                stack_trace: Vec::new(),
            }),
        }
    }

    /// A malformed request (40000).
    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::generic(codes::BAD_REQUEST, message)
    }

    /// An internal failure (50000); the detail is logged, not hidden.
    pub(crate) fn internal(message: impl Into<String>) -> Self {
        let message = message.into();
        tracing::error!(%message, "internal server error");
        Self::generic(codes::SERVER_ERROR, message)
    }

    /// An engine error raised by `statement_text`.
    pub(crate) fn from_engine(err: &EngineError, statement_text: &str) -> Self {
        Self::statement(
            err.error_code(),
            err.to_string(),
            statement_text,
            Vec::new(),
        )
    }

    /// The envelope.
    pub(crate) fn body(&self) -> &ErrorMessage {
        &self.body
    }

    /// The envelope as one line of JSON.
    pub(crate) fn to_json_string(&self) -> String {
        envelope_json(&self.body)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut resp = (self.status, self.to_json_string()).into_response();
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        resp
    }
}

/// Serializes an envelope; serialization of these plain structs cannot fail, but if it ever did
/// the client still gets a well-formed envelope.
pub(crate) fn envelope_json(msg: &ErrorMessage) -> String {
    serde_json::to_string(msg).unwrap_or_else(|_| {
        format!(
            "{{\"@type\":\"generic_error\",\"error_code\":{},\"message\":{},\"stackTrace\":[]}}",
            msg.error_code,
            serde_json::Value::String(msg.message.clone())
        )
    })
}

/// HTTP status for a ksqlDB error code (`HTTP status × 100 + detail`).
pub(crate) fn status_for(code: i64) -> StatusCode {
    u16::try_from(code / 100)
        .ok()
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_follows_code() {
        assert_eq!(status_for(40001), StatusCode::BAD_REQUEST);
        assert_eq!(status_for(50303), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(status_for(7), StatusCode::INTERNAL_SERVER_ERROR);
    }

    #[test]
    fn envelope_has_stack_trace() {
        let e = ApiError::generic(40000, "nope");
        let v: serde_json::Value = serde_json::from_str(&e.to_json_string()).unwrap_or_default();
        assert_eq!(v["@type"], "generic_error");
        assert_eq!(v["error_code"], 40000);
        assert_eq!(v["stackTrace"], serde_json::json!([]));
        assert!(v.get("statementText").is_none());
    }
}
