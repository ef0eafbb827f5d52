//! Rendering server answers as ksqlDB's CLI does: `|`-separated tables for statement results,
//! `+---+` boxed rows for queries, and pretty JSON in `OUTPUT JSON` mode.

use std::io::{self, Write};

use serde_json::Value;

/// How results are printed (`OUTPUT TABULAR|JSON`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    /// Aligned tables (the default).
    Tabular,
    /// The server's JSON, pretty-printed.
    Json,
}

impl OutputFormat {
    /// The name `OUTPUT` shows.
    pub fn name(self) -> &'static str {
        match self {
            OutputFormat::Tabular => "TABULAR",
            OutputFormat::Json => "JSON",
        }
    }
}

/// A table in ksqlDB's CLI style: a header row, a dashed rule, the rows, another rule.
pub fn table(out: &mut dyn Write, headers: &[&str], rows: &[Vec<String>]) -> io::Result<()> {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    let line = |cells: Vec<&str>| -> String {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!(" {c:<w$} "))
            .collect();
        padded.join("|")
    };
    let header = line(headers.to_vec());
    let rule = "-".repeat(header.chars().count());
    writeln!(out, "{}", header.trim_end())?;
    writeln!(out, "{rule}")?;
    for row in rows {
        writeln!(
            out,
            "{}",
            line(row.iter().map(String::as_str).collect()).trim_end()
        )?;
    }
    writeln!(out, "{rule}")
}

/// A JSON value as a table cell: strings bare, everything else as JSON text.
pub fn cell(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "null".into(),
        other => other.to_string(),
    }
}

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

fn list<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// Prints one entity of a `/ksql` answer.
pub fn entity(out: &mut dyn Write, e: &Value, format: OutputFormat) -> io::Result<()> {
    if format == OutputFormat::Json {
        return json(out, e);
    }
    match s(e, "@type") {
        "currentStatus" => {
            let message = e
                .get("commandStatus")
                .map(|c| s(c, "message"))
                .unwrap_or("");
            // INSERT … VALUES answers with no message; ksqlDB's CLI prints nothing for it.
            if !message.is_empty() {
                table(out, &["Message"], &[vec![message.to_string()]])?;
            }
        }
        kind @ ("streams" | "tables") => {
            let title = if kind == "streams" {
                "Stream Name"
            } else {
                "Table Name"
            };
            let rows: Vec<Vec<String>> = list(e, kind)
                .iter()
                .map(|x| {
                    vec![
                        s(x, "name").into(),
                        s(x, "topic").into(),
                        s(x, "keyFormat").into(),
                        s(x, "valueFormat").into(),
                        cell(x.get("isWindowed").unwrap_or(&Value::Bool(false))),
                    ]
                })
                .collect();
            table(
                out,
                &[
                    title,
                    "Kafka Topic",
                    "Key Format",
                    "Value Format",
                    "Windowed",
                ],
                &rows,
            )?;
        }
        "queries" => {
            let rows: Vec<Vec<String>> = list(e, "queries")
                .iter()
                .map(|q| {
                    vec![
                        s(q, "id").into(),
                        s(q, "queryType").into(),
                        query_status(q),
                        join(list(q, "sinks")),
                        join(list(q, "sinkKafkaTopics")),
                        s(q, "queryString").into(),
                    ]
                })
                .collect();
            table(
                out,
                &[
                    "Query ID",
                    "Query Type",
                    "Status",
                    "Sink Name",
                    "Sink Kafka Topic",
                    "Query String",
                ],
                &rows,
            )?;
            writeln!(
                out,
                "For detailed information on a Query run: EXPLAIN <Query ID>;"
            )?;
        }
        "sourceDescription" => {
            if let Some(d) = e.get("sourceDescription") {
                source_description(out, d)?;
            }
        }
        "source_descriptions" => {
            for d in list(e, "sourceDescriptions") {
                source_description(out, d)?;
            }
        }
        "kafka_topics" => {
            let rows: Vec<Vec<String>> = list(e, "topics")
                .iter()
                .map(|t| {
                    let replicas = list(t, "replicaInfo");
                    vec![
                        s(t, "name").into(),
                        replicas.len().to_string(),
                        join(replicas),
                    ]
                })
                .collect();
            table(
                out,
                &["Kafka Topic", "Partitions", "Partition Replicas"],
                &rows,
            )?;
        }
        "properties" => {
            let rows: Vec<Vec<String>> = list(e, "properties")
                .iter()
                .map(|p| {
                    vec![
                        s(p, "name").into(),
                        s(p, "scope").into(),
                        s(p, "value").into(),
                    ]
                })
                .collect();
            table(out, &["Property", "Scope", "Value"], &rows)?;
        }
        "function_names" => {
            let rows: Vec<Vec<String>> = list(e, "functions")
                .iter()
                .map(|f| vec![s(f, "name").into(), s(f, "category").into()])
                .collect();
            table(out, &["Function Name", "Category"], &rows)?;
        }
        "variables" => {
            let rows: Vec<Vec<String>> = list(e, "variables")
                .iter()
                .map(|v| vec![s(v, "name").into(), s(v, "value").into()])
                .collect();
            table(out, &["Variable Name", "Value"], &rows)?;
        }
        "queryDescription" => {
            if let Some(d) = e.get("queryDescription") {
                query_description(out, d)?;
            }
        }
        "warning_entity" => writeln!(out, "{}", s(e, "message"))?,
        _ => json(out, e)?,
    }
    for w in list(e, "warnings") {
        writeln!(out, "WARNING: {}", s(w, "message"))?;
    }
    Ok(())
}

/// `RUNNING:1` from `statusCount`, or the plain `state`.
fn query_status(q: &Value) -> String {
    match q.get("statusCount").and_then(Value::as_object) {
        Some(counts) if !counts.is_empty() => counts
            .iter()
            .map(|(k, v)| format!("{k}:{}", cell(v)))
            .collect::<Vec<_>>()
            .join(","),
        _ => s(q, "state").to_string(),
    }
}

fn join(values: &[Value]) -> String {
    values.iter().map(cell).collect::<Vec<_>>().join(",")
}

/// A column type as ksqlDB's CLI prints it (`VARCHAR(STRING)`, `ARRAY<INTEGER>`, …).
pub fn type_name(schema: &Value) -> String {
    let kind = s(schema, "type");
    match kind {
        "STRING" => "VARCHAR(STRING)".into(),
        "ARRAY" => format!(
            "ARRAY<{}>",
            schema
                .get("memberSchema")
                .map(type_name)
                .unwrap_or_default()
        ),
        "MAP" => format!(
            "MAP<STRING, {}>",
            schema
                .get("memberSchema")
                .map(type_name)
                .unwrap_or_default()
        ),
        "STRUCT" => {
            let fields: Vec<String> = list(schema, "fields")
                .iter()
                .map(|f| {
                    format!(
                        "{} {}",
                        s(f, "name"),
                        f.get("schema").map(type_name).unwrap_or_default()
                    )
                })
                .collect();
            format!("STRUCT<{}>", fields.join(", "))
        }
        "DECIMAL" => {
            let p = schema.get("parameters");
            let get = |k: &str| p.and_then(|p| p.get(k)).map(cell).unwrap_or_default();
            format!("DECIMAL({}, {})", get("precision"), get("scale"))
        }
        other => other.to_string(),
    }
}

fn source_description(out: &mut dyn Write, d: &Value) -> io::Result<()> {
    writeln!(out)?;
    writeln!(out, "{:<20} : {}", "Name", s(d, "name"))?;
    let extended = d.get("extended").and_then(Value::as_bool).unwrap_or(false);
    if extended {
        writeln!(out, "{:<20} : {}", "Type", s(d, "type"))?;
        let ts = s(d, "timestamp");
        let ts = if ts.is_empty() {
            "Not set - using <ROWTIME>"
        } else {
            ts
        };
        writeln!(out, "{:<20} : {}", "Timestamp field", ts)?;
        writeln!(out, "{:<20} : {}", "Key format", s(d, "keyFormat"))?;
        writeln!(out, "{:<20} : {}", "Value format", s(d, "valueFormat"))?;
        writeln!(
            out,
            "{:<20} : {} (partitions: {}, replication: {})",
            "Kafka topic",
            s(d, "topic"),
            d.get("partitions").map(cell).unwrap_or_default(),
            d.get("replication").map(cell).unwrap_or_default()
        )?;
        writeln!(out, "{:<20} : {}", "Statement", s(d, "statement"))?;
    }
    let rows: Vec<Vec<String>> = list(d, "fields")
        .iter()
        .map(|f| {
            let mut ty = f.get("schema").map(type_name).unwrap_or_default();
            match s(f, "type") {
                "KEY" => ty.push_str("  (key)"),
                "HEADER" => ty.push_str("  (header)"),
                _ => {}
            }
            vec![s(f, "name").into(), ty]
        })
        .collect();
    table(out, &["Field", "Type"], &rows)?;
    if extended {
        for (title, key) in [
            ("Queries that read from this", "readQueries"),
            ("Queries that write from this", "writeQueries"),
        ] {
            writeln!(out)?;
            writeln!(out, "{title} {}:", s(d, "type").to_lowercase())?;
            writeln!(out, "-----------------------------------")?;
            for q in list(d, key) {
                writeln!(out, "{} : {}", s(q, "id"), s(q, "queryString"))?;
            }
        }
        writeln!(out)?;
        writeln!(out, "Runtime statistics by host")?;
        writeln!(out, "-------------------------")?;
        writeln!(out, "{}", s(d, "statistics"))?;
    } else {
        writeln!(
            out,
            "For runtime statistics and query details run: DESCRIBE <Stream,Table> EXTENDED;"
        )?;
    }
    Ok(())
}

fn query_description(out: &mut dyn Write, d: &Value) -> io::Result<()> {
    writeln!(out)?;
    writeln!(out, "{:<20} : {}", "ID", s(d, "id"))?;
    writeln!(out, "{:<20} : {}", "SQL", s(d, "statementText"))?;
    if !s(d, "state").is_empty() {
        writeln!(out, "{:<20} : {}", "Status", s(d, "state"))?;
    }
    writeln!(out)?;
    let rows: Vec<Vec<String>> = list(d, "fields")
        .iter()
        .map(|f| {
            let mut ty = f.get("schema").map(type_name).unwrap_or_default();
            if s(f, "type") == "KEY" {
                ty.push_str("  (key)");
            }
            vec![s(f, "name").into(), ty]
        })
        .collect();
    table(out, &["Field", "Type"], &rows)?;
    for (title, key) in [
        ("Sources that this query reads from: ", "sources"),
        ("Sinks that this query writes to: ", "sinks"),
    ] {
        writeln!(out)?;
        writeln!(out, "{title}")?;
        writeln!(out, "-----------------------------------")?;
        for x in list(d, key) {
            writeln!(out, "{}", cell(x))?;
        }
    }
    for (title, key) in [
        ("Execution plan", "executionPlan"),
        ("Processing topology", "topology"),
    ] {
        let text = s(d, key);
        if !text.is_empty() {
            writeln!(out)?;
            writeln!(out, "{title}")?;
            writeln!(out, "{}", "-".repeat(title.len()))?;
            writeln!(out, "{text}")?;
        }
    }
    Ok(())
}

/// Pretty JSON.
pub fn json(out: &mut dyn Write, v: &Value) -> io::Result<()> {
    let text = serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string());
    writeln!(out, "{text}")
}

/// Streams query rows in ksqlDB's CLI style: `|A    |B    |` between `+----+` rules. Column
/// widths are fixed when the header arrives (rows come later), and longer values wrap.
pub struct RowPrinter {
    widths: Vec<usize>,
    format: OutputFormat,
}

impl RowPrinter {
    /// Prints the header for `columns` (typed by `types`) and returns the printer for rows.
    pub fn start(
        out: &mut dyn Write,
        columns: &[String],
        types: &[String],
        format: OutputFormat,
    ) -> io::Result<RowPrinter> {
        let widths: Vec<usize> = columns
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let ty = types.get(i).map(String::as_str).unwrap_or("STRING");
                let default = match ty {
                    "STRING" | "VARCHAR" => 20,
                    t if t.starts_with("STRUCT") || t.starts_with("MAP") => 30,
                    t if t.starts_with("ARRAY") => 24,
                    // Epoch milliseconds (ROWTIME, WINDOWSTART) have 13 digits.
                    "BIGINT" | "TIMESTAMP" | "DOUBLE" => 14,
                    _ => 12,
                };
                c.chars().count().max(default)
            })
            .collect();
        let printer = RowPrinter { widths, format };
        match format {
            OutputFormat::Tabular => {
                printer.rule(out)?;
                printer.line(out, columns)?;
                printer.rule(out)?;
            }
            OutputFormat::Json => {
                let header = serde_json::json!({"columnNames": columns, "columnTypes": types});
                writeln!(out, "{header}")?;
            }
        }
        out.flush()?;
        Ok(printer)
    }

    /// Prints one row.
    pub fn row(&self, out: &mut dyn Write, row: &[Value]) -> io::Result<()> {
        match self.format {
            OutputFormat::Tabular => {
                let cells: Vec<String> = row.iter().map(cell).collect();
                self.line(out, &cells)?;
            }
            OutputFormat::Json => writeln!(out, "{}", Value::Array(row.to_vec()))?,
        }
        out.flush()
    }

    /// Closes the table (after the last row).
    pub fn finish(&self, out: &mut dyn Write) -> io::Result<()> {
        if self.format == OutputFormat::Tabular {
            self.rule(out)?;
        }
        out.flush()
    }

    fn rule(&self, out: &mut dyn Write) -> io::Result<()> {
        let parts: Vec<String> = self.widths.iter().map(|w| "-".repeat(*w)).collect();
        writeln!(out, "+{}+", parts.join("+"))
    }

    /// One row; cells longer than their column continue on following lines.
    fn line(&self, out: &mut dyn Write, cells: &[String]) -> io::Result<()> {
        let chunks: Vec<Vec<String>> = self
            .widths
            .iter()
            .enumerate()
            .map(|(i, w)| {
                let chars: Vec<char> = cells
                    .get(i)
                    .map(|c| c.chars().collect())
                    .unwrap_or_default();
                if chars.is_empty() {
                    return vec![String::new()];
                }
                chars.chunks(*w).map(|c| c.iter().collect()).collect()
            })
            .collect();
        let height = chunks.iter().map(Vec::len).max().unwrap_or(1);
        for k in 0..height {
            let parts: Vec<String> = chunks
                .iter()
                .zip(&self.widths)
                .map(|(c, w)| format!("{:<w$}", c.get(k).map(String::as_str).unwrap_or("")))
                .collect();
            writeln!(out, "|{}|", parts.join("|"))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn render(e: Value) -> String {
        let mut out = Vec::new();
        entity(&mut out, &e, OutputFormat::Tabular).unwrap_or_default();
        String::from_utf8_lossy(&out).into_owned()
    }

    #[test]
    fn streams_table() {
        let text = render(json!({"@type":"streams","streams":[
            {"type":"STREAM","name":"PAGEVIEWS","topic":"pv","keyFormat":"KAFKA","valueFormat":"JSON","isWindowed":false}]}));
        let rule = "-".repeat(66);
        assert_eq!(
            text,
            format!(
                " Stream Name | Kafka Topic | Key Format | Value Format | Windowed\n{rule}\n \
                 PAGEVIEWS   | pv          | KAFKA      | JSON         | false\n{rule}\n"
            )
        );
    }

    #[test]
    fn status_and_types() {
        let text =
            render(json!({"@type":"currentStatus","commandStatus":{"message":"Stream created"}}));
        assert!(text.contains(" Stream created"), "{text}");
        assert_eq!(
            type_name(&json!({"type":"ARRAY","memberSchema":{"type":"STRING"}})),
            "ARRAY<VARCHAR(STRING)>"
        );
    }

    #[test]
    fn rows_wrap() {
        let mut out = Vec::new();
        let p = RowPrinter::start(
            &mut out,
            &["A".into()],
            &["INTEGER".into()],
            OutputFormat::Tabular,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        p.row(&mut out, &[json!("abcdefghijklmnop")])
            .unwrap_or_default();
        p.finish(&mut out).unwrap_or_default();
        let text = String::from_utf8_lossy(&out);
        assert!(text.contains("|abcdefghijkl|\n|mnop        |"), "{text}");
    }
}
