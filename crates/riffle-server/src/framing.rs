//! Byte framing of query results, one writer per response media type, byte-compatible with
//! ksqlDB's `DelimitedQueryStreamResponseWriter`, `JsonQueryStreamResponseWriter` and
//! `JsonStreamedRowResponseWriter`.

use riffle_api::ErrorMessage;
use serde_json::{json, Value};

use crate::error::envelope_json;

/// `application/vnd.ksqlapi.delimited.v1`.
pub(crate) const DELIMITED: &str = "application/vnd.ksqlapi.delimited.v1";
/// `application/json`.
pub(crate) const JSON: &str = "application/json";
/// `application/vnd.ksql.v1+json`.
pub(crate) const KSQL_V1_JSON: &str = "application/vnd.ksql.v1+json";
/// `application/vnd.ksql.v1+protobuf`.
pub(crate) const KSQL_V1_PROTOBUF: &str = "application/vnd.ksql.v1+protobuf";

/// How a query response is framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    /// One JSON document per line: metadata, then one array per row; no final message.
    Delimited,
    /// One JSON array: `[{metadata},[row],[row]]`.
    JsonArray,
    /// One JSON array of `StreamedRow`s, one element per line:
    /// `[{"header":…},\n{"row":…},\n{"finalMessage":…}]`. Pull queries are "buffered": no final
    /// message.
    StreamedRows {
        /// Whether the query is a pull query.
        pull: bool,
    },
}

/// What the client learns before the first row.
#[derive(Debug, Clone)]
pub(crate) struct QueryHeader {
    /// Query id, for `/close-query`.
    pub(crate) query_id: String,
    /// Column names.
    pub(crate) column_names: Vec<String>,
    /// Column types, as ksql type names.
    pub(crate) column_types: Vec<String>,
    /// Schema text for the StreamedRow header.
    pub(crate) schema: String,
}

/// Produces the bytes of one response, element by element.
#[derive(Debug)]
pub(crate) struct Writer {
    framing: Framing,
}

impl Writer {
    /// A writer for `framing`.
    pub(crate) fn new(framing: Framing) -> Self {
        Writer { framing }
    }

    /// The opening bytes, with the metadata.
    pub(crate) fn header(&self, h: &QueryHeader) -> String {
        let meta = json!({
            "queryId": h.query_id,
            "columnNames": h.column_names,
            "columnTypes": h.column_types,
        });
        match self.framing {
            Framing::Delimited => format!("{meta}\n"),
            Framing::JsonArray => format!("[{meta}"),
            Framing::StreamedRows { pull } => {
                let header = json!({"header": {"queryId": h.query_id, "schema": h.schema}});
                if pull {
                    format!("[{header}")
                } else {
                    format!("[{header},\n")
                }
            }
        }
    }

    /// One row; `tombstone` marks a deleted table row, which only the StreamedRow framing can
    /// tell apart (`"tombstone":true`); the other framings carry bare column arrays.
    pub(crate) fn row(&self, columns: &[Value], tombstone: bool) -> String {
        let columns = Value::Array(columns.to_vec());
        match self.framing {
            Framing::Delimited => format!("{columns}\n"),
            Framing::JsonArray => format!(",{columns}"),
            Framing::StreamedRows { pull } => {
                let row = if tombstone {
                    json!({"row": {"columns": columns, "tombstone": true}})
                } else {
                    json!({"row": {"columns": columns}})
                };
                if pull {
                    format!(",\n{row}")
                } else {
                    format!("{row},\n")
                }
            }
        }
    }

    /// An error that ends the response.
    pub(crate) fn error(&self, err: &ErrorMessage) -> String {
        let envelope = envelope_json(err);
        match self.framing {
            Framing::Delimited => format!("{envelope}\n"),
            Framing::JsonArray => format!(",{envelope}]"),
            Framing::StreamedRows { pull } => {
                let sep = if pull { ",\n" } else { "" };
                format!("{sep}{{\"errorMessage\":{envelope}}}]")
            }
        }
    }

    /// The closing bytes. `final_message` is `Limit Reached` or `Query Completed`; push queries
    /// that end without one (closed, or server shutdown) report `Query Completed`.
    pub(crate) fn finish(&self, final_message: Option<&str>) -> String {
        match self.framing {
            Framing::Delimited => String::new(),
            Framing::JsonArray => "]".into(),
            Framing::StreamedRows { pull: true } => "]".into(),
            Framing::StreamedRows { pull: false } => {
                let msg = final_message.unwrap_or("Query Completed");
                format!("{}]", json!({ "finalMessage": msg }))
            }
        }
    }
}

/// Picks the response media type from an `Accept` header among `offered` (in order of
/// preference). `None` (no header) and wildcards choose `default`. Returns `None` when nothing
/// offered is acceptable.
pub(crate) fn negotiate<'a>(
    accept: Option<&str>,
    offered: &[&'a str],
    default: &'a str,
) -> Option<&'a str> {
    let Some(accept) = accept.map(str::trim).filter(|a| !a.is_empty()) else {
        return Some(default);
    };
    let ranges: Vec<(String, f32)> = accept
        .split(',')
        .filter_map(|part| {
            let mut params = part.split(';');
            let range = params.next()?.trim().to_ascii_lowercase();
            if range.is_empty() {
                return None;
            }
            let q = params
                .filter_map(|p| p.trim().strip_prefix("q="))
                .filter_map(|q| q.trim().parse::<f32>().ok())
                .next()
                .unwrap_or(1.0);
            Some((range, q))
        })
        .collect();
    // Quality of a media type: that of the most specific matching range, with how specific
    // the match was (exact beats `type/*` beats `*/*` when qualities tie).
    let quality = |ty: &str| -> Option<(f32, u8)> {
        let major = ty.split('/').next().unwrap_or("");
        let exact = ranges.iter().find(|(r, _)| r == ty).map(|(_, q)| (*q, 2));
        let partial = ranges
            .iter()
            .find(|(r, _)| r.strip_suffix("/*") == Some(major))
            .map(|(_, q)| (*q, 1));
        let any = ranges
            .iter()
            .find(|(r, _)| r == "*/*")
            .map(|(_, q)| (*q, 0));
        exact.or(partial).or(any)
    };
    let mut best: Option<(&'a str, (f32, u8))> = None;
    // The default goes first so that it wins full ties.
    let candidates = std::iter::once(default).chain(offered.iter().copied());
    for ty in candidates {
        if let Some((q, spec)) = quality(ty) {
            let better = best.is_none_or(|(_, (bq, bspec))| q > bq || (q == bq && spec > bspec));
            if q > 0.0 && better {
                best = Some((ty, (q, spec)));
            }
        }
    }
    best.map(|(ty, _)| ty)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> QueryHeader {
        QueryHeader {
            query_id: "q1".into(),
            column_names: vec!["K".into()],
            column_types: vec!["STRING".into()],
            schema: "`K` STRING".into(),
        }
    }

    #[test]
    fn streamed_rows_put_each_element_on_its_own_line() {
        let w = Writer::new(Framing::StreamedRows { pull: false });
        let body = [
            w.header(&header()),
            w.row(&[json!("a")], false),
            w.finish(Some("Limit Reached")),
        ]
        .concat();
        assert_eq!(
            body,
            "[{\"header\":{\"queryId\":\"q1\",\"schema\":\"`K` STRING\"}},\n\
             {\"row\":{\"columns\":[\"a\"]}},\n\
             {\"finalMessage\":\"Limit Reached\"}]"
        );
        let v: Value = serde_json::from_str(&body).unwrap_or_default();
        assert_eq!(v.as_array().map(Vec::len), Some(3));
    }

    #[test]
    fn pull_streamed_rows_have_no_final_message() {
        let w = Writer::new(Framing::StreamedRows { pull: true });
        let body = [
            w.header(&header()),
            w.row(&[json!("a")], false),
            w.row(&[json!("b")], false),
            w.finish(Some("Query Completed")),
        ]
        .concat();
        let v: Value = serde_json::from_str(&body).unwrap_or_default();
        assert_eq!(v.as_array().map(Vec::len), Some(3));
        assert_eq!(body.lines().count(), 3);
    }

    #[test]
    fn tombstones_are_marked_only_in_streamed_rows() {
        let w = Writer::new(Framing::StreamedRows { pull: false });
        assert_eq!(
            w.row(&[json!("a"), Value::Null], true),
            "{\"row\":{\"columns\":[\"a\",null],\"tombstone\":true}},\n"
        );
        let w = Writer::new(Framing::Delimited);
        assert_eq!(w.row(&[json!("a"), Value::Null], true), "[\"a\",null]\n");
    }

    #[test]
    fn json_array_and_delimited() {
        let w = Writer::new(Framing::JsonArray);
        let body = [
            w.header(&header()),
            w.row(&[json!(1)], false),
            w.finish(None),
        ]
        .concat();
        let v: Value = serde_json::from_str(&body).unwrap_or_default();
        assert_eq!(v[1], json!([1]));
        let w = Writer::new(Framing::Delimited);
        let body = [
            w.header(&header()),
            w.row(&[json!(1)], false),
            w.finish(None),
        ]
        .concat();
        assert_eq!(body.lines().nth(1), Some("[1]"));
    }

    #[test]
    fn negotiation() {
        let offered = [DELIMITED, JSON, KSQL_V1_JSON];
        assert_eq!(negotiate(None, &offered, DELIMITED), Some(DELIMITED));
        assert_eq!(negotiate(Some("*/*"), &offered, DELIMITED), Some(DELIMITED));
        assert_eq!(
            negotiate(Some("application/vnd.ksql.v1+json"), &offered, DELIMITED),
            Some(KSQL_V1_JSON)
        );
        assert_eq!(
            negotiate(
                Some("application/json;q=0.5, application/vnd.ksql.v1+json"),
                &offered,
                DELIMITED
            ),
            Some(KSQL_V1_JSON)
        );
        assert_eq!(
            negotiate(Some("application/json, */*"), &offered, DELIMITED),
            Some(JSON)
        );
        assert_eq!(negotiate(Some("text/html"), &offered, DELIMITED), None);
    }
}
