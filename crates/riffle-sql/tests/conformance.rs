//! Parse-rate check over the statements of the local ksqlDB conformance files.
//!
//! Run with `cargo test -p riffle-sql --test conformance -- --ignored --nocapture`.
//! Reads `../../../shared/conformance/ksql/{query-validation-tests,rest-query-validation-tests}`
//! and the repository's own `sql-tests`, relative to this crate; tests that expect an exception
//! are counted separately (their statements are often intentionally invalid).

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::Value;

#[derive(Default)]
struct Tally {
    total: usize,
    failed: usize,
    messages: BTreeMap<String, (usize, String)>,
}

impl Tally {
    fn record(&mut self, stmt: &str, result: Result<(), riffle_sql::ParseError>) {
        self.total += 1;
        if let Err(e) = result {
            self.failed += 1;
            // Group by message with locations and quoted tokens stripped.
            let key: String = e
                .message
                .split('\'')
                .step_by(2)
                .collect::<Vec<_>>()
                .join("'…'");
            let entry = self.messages.entry(key).or_insert((0, String::new()));
            entry.0 += 1;
            if entry.1.is_empty() {
                entry.1 = format!("{e}\n        in: {}", stmt.replace('\n', " "));
            }
        }
    }

    fn report(&self, title: &str) {
        let rate = if self.total == 0 {
            0.0
        } else {
            100.0 * self.failed as f64 / self.total as f64
        };
        eprintln!(
            "{title}: {} statements, {} failed ({rate:.2}%)",
            self.total, self.failed
        );
        let mut top: Vec<_> = self.messages.iter().collect();
        top.sort_by_key(|e| std::cmp::Reverse(e.1 .0));
        for (_, (n, example)) in top.iter().take(25) {
            eprintln!("  {n:5} × {example}");
        }
    }
}

fn conformance_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/ksql")
}

#[test]
#[ignore = "reads the local conformance corpus; run explicitly"]
fn conformance_statements_parse() {
    let mut valid = Tally::default();
    let mut invalid = Tally::default();
    let mut files = 0;
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dirs = [
        conformance_dir().join("query-validation-tests"),
        conformance_dir().join("rest-query-validation-tests"),
        manifest.join("../../sql-tests"),
    ];
    for sub in dirs {
        let Ok(dir) = std::fs::read_dir(&sub) else {
            eprintln!("no {} directory; skipping", sub.display());
            continue;
        };
        let mut paths: Vec<_> = dir.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        for path in paths {
            if path.extension().and_then(|e| e.to_str()) != Some("json") {
                continue;
            }
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            let Ok(json) = serde_json::from_str::<Value>(&text) else {
                continue;
            };
            files += 1;
            let tests = json
                .get("tests")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            for test in tests {
                let expects_error =
                    test.get("expectedException").is_some() || test.get("expectedError").is_some();
                let stmts = test.get("statements").and_then(Value::as_array).cloned();
                for stmt in stmts.unwrap_or_default() {
                    let Some(stmt) = stmt.as_str() else { continue };
                    let stmt = stmt.replace("{FORMAT}", "JSON");
                    let result = riffle_sql::parse_statements(&stmt).map(|_| ());
                    if expects_error {
                        invalid.record(&stmt, result);
                    } else {
                        valid.record(&stmt, result);
                    }
                }
            }
        }
    }
    eprintln!("{files} files");
    valid.report("statements of tests expecting success");
    invalid.report("statements of tests expecting an exception (failures may be intended)");
}
