//! Loading a test file and expanding its cases: one case per `format` (substituting `{FORMAT}`
//! in statements) and per `config` value (substituting `{CONFIG}` in properties and statements).

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::model::TestCase;
use crate::{CaseResult, Status};

/// Which executor runs a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// QTT: statements, inputs through the persistent queries, outputs per topic.
    Qtt,
    /// REST QTT: statements and queries as the REST API answers them.
    Rest,
}

/// One runnable case after expansion.
#[derive(Debug, Clone)]
pub struct ExpandedCase {
    /// Report id: `<suite>/<file stem>/<name>[/FORMAT][/CONFIG]`.
    pub id: String,
    /// QTT or REST QTT.
    pub kind: Kind,
    /// The case with `{FORMAT}` and `{CONFIG}` substituted.
    pub case: TestCase,
}

/// A case ready to run, or one whose result is known without running it.
#[derive(Debug, Clone)]
pub enum Planned {
    /// Run it.
    Run(Box<ExpandedCase>),
    /// Already decided (disabled, invalid, …).
    Done(CaseResult),
}

/// Why a whole test file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// The file could not be read.
    #[error("{}: cannot read: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not JSON.
    #[error("{}: invalid JSON: {source}", path.display())]
    Json {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: serde_json::Error,
    },
    /// The JSON is not a test file.
    #[error("{}: {message}", path.display())]
    Shape {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

/// `<suite>/<file stem>`: suite is the name of the file's directory.
pub fn file_prefix(path: &Path) -> String {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let suite = path
        .parent()
        .and_then(|p| p.file_name())
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    if suite.is_empty() {
        stem
    } else {
        format!("{suite}/{stem}")
    }
}

/// Reads a test file and expands its cases.
pub fn load_file(path: &Path) -> Result<Vec<Planned>, FileError> {
    let text = std::fs::read_to_string(path).map_err(|source| FileError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let json: Value = serde_json::from_str(&text).map_err(|source| FileError::Json {
        path: path.to_path_buf(),
        source,
    })?;
    let tests = json
        .get("tests")
        .and_then(Value::as_array)
        .ok_or_else(|| FileError::Shape {
            path: path.to_path_buf(),
            message: "no \"tests\" array".into(),
        })?;
    let prefix = file_prefix(path);
    let rest_suite = path
        .parent()
        .and_then(|p| p.file_name())
        .is_some_and(|n| n == "rest-query-validation-tests");
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for (i, raw) in tests.iter().enumerate() {
        for planned in expand_case(&prefix, rest_suite, i, raw) {
            out.push(dedupe(planned, &mut seen));
        }
    }
    Ok(out)
}

/// Makes ids unique within a file by suffixing `#2`, `#3`, ….
fn dedupe(mut planned: Planned, seen: &mut HashSet<String>) -> Planned {
    let id = match &mut planned {
        Planned::Run(c) => &mut c.id,
        Planned::Done(r) => &mut r.id,
    };
    if !seen.insert(id.clone()) {
        let mut n = 2;
        while !seen.insert(format!("{id}#{n}")) {
            n += 1;
        }
        *id = format!("{id}#{n}");
    }
    planned
}

/// Expands one raw test object.
fn expand_case(prefix: &str, rest_suite: bool, index: usize, raw: &Value) -> Vec<Planned> {
    let fallback_name = raw
        .get("name")
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| format!("test #{index}"));
    let case: TestCase = match serde_json::from_value(raw.clone()) {
        Ok(c) => c,
        Err(e) => {
            return vec![Planned::Done(CaseResult::new(
                format!("{prefix}/{fallback_name}"),
                Status::Failed,
                format!("invalid test case: {e}"),
            ))]
        }
    };
    let kind = if rest_suite
        || case.responses.is_some()
        || case.expected_error.is_some()
        || case.input_conditions.is_some()
    {
        Kind::Rest
    } else {
        Kind::Qtt
    };
    let formats: Vec<Option<String>> = if case.format.is_empty() {
        vec![None]
    } else {
        case.format.iter().cloned().map(Some).collect()
    };
    let configs: Vec<Option<String>> = if case.config.is_empty() {
        vec![None]
    } else {
        case.config.iter().cloned().map(Some).collect()
    };
    let mut out = Vec::new();
    for format in &formats {
        for config in &configs {
            let mut id = format!("{prefix}/{}", case.name);
            if let Some(f) = format {
                id.push('/');
                id.push_str(f);
            }
            if let Some(c) = config {
                id.push('/');
                id.push_str(c);
            }
            out.push(plan(id, kind, substitute(&case, format, config)));
        }
    }
    out
}

/// Decides whether a case runs at all.
fn plan(id: String, kind: Kind, case: TestCase) -> Planned {
    if case.enabled == Some(false) {
        return Planned::Done(CaseResult::new(
            id,
            Status::Skipped,
            "disabled in test file",
        ));
    }
    if let Some(max) = case.versions.as_ref().and_then(|v| v.max.as_ref()) {
        return Planned::Done(CaseResult::new(
            id,
            Status::Skipped,
            format!("applies only to ksqlDB versions up to {max}"),
        ));
    }
    if case.statements.is_empty() {
        return Planned::Done(CaseResult::new(
            id,
            Status::Failed,
            "invalid test case: no statements",
        ));
    }
    Planned::Run(Box::new(ExpandedCase { id, kind, case }))
}

/// Substitutes `{FORMAT}` and `{CONFIG}`.
fn substitute(case: &TestCase, format: &Option<String>, config: &Option<String>) -> TestCase {
    let mut case = case.clone();
    let replace = |s: &str| {
        let mut s = s.to_string();
        if let Some(f) = format {
            s = s.replace("{FORMAT}", f);
        }
        if let Some(c) = config {
            s = s.replace("{CONFIG}", c);
        }
        s
    };
    for stmt in &mut case.statements {
        *stmt = replace(stmt);
    }
    if config.is_some() {
        for v in case.properties.values_mut() {
            if let Value::String(s) = v {
                *s = replace(s);
            }
        }
    }
    case
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand(raw: Value) -> Vec<Planned> {
        expand_case("suite/file", false, 0, &raw)
    }

    #[test]
    fn expands_formats_and_configs() {
        let planned = expand(serde_json::json!({
            "name": "t",
            "format": ["JSON", "AVRO"],
            "config": ["a", "b"],
            "properties": {"p": "{CONFIG}"},
            "statements": ["CREATE STREAM S (A INT) WITH (value_format='{FORMAT}');"],
            "inputs": [], "outputs": []
        }));
        let ids: Vec<String> = planned
            .iter()
            .map(|p| match p {
                Planned::Run(c) => c.id.clone(),
                Planned::Done(r) => r.id.clone(),
            })
            .collect();
        assert_eq!(
            ids,
            [
                "suite/file/t/JSON/a",
                "suite/file/t/JSON/b",
                "suite/file/t/AVRO/a",
                "suite/file/t/AVRO/b"
            ]
        );
        let Planned::Run(c) = &planned[3] else {
            panic!("expected a runnable case")
        };
        assert!(c.case.statements[0].contains("value_format='AVRO'"));
        assert_eq!(c.case.properties["p"], "b");
    }

    #[test]
    fn disabled_and_invalid_cases_are_decided() {
        let p = expand(serde_json::json!({"name": "x", "enabled": false, "statements": ["S"]}));
        assert!(matches!(&p[0], Planned::Done(r) if r.status == Status::Skipped));
        let p = expand(serde_json::json!({"statements": ["S"]}));
        assert!(matches!(&p[0], Planned::Done(r) if r.status == Status::Failed));
    }
}
