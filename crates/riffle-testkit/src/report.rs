//! Output of a run: per-file progress lines, failure reasons, the summary line, the JSON
//! report (one object per line), and the ratchet check CI runs over a report.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

use serde_json::json;

use crate::compare::clip;
use crate::{CaseResult, Status};

/// Passed, failed and skipped counts.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    /// Cases that passed.
    pub passed: usize,
    /// Cases that failed.
    pub failed: usize,
    /// Cases that were skipped.
    pub skipped: usize,
}

impl Counts {
    /// Counts the results.
    pub fn of(results: &[CaseResult]) -> Counts {
        let mut c = Counts::default();
        for r in results {
            c.add(r.status);
        }
        c
    }

    /// Adds one result.
    pub fn add(&mut self, status: Status) {
        match status {
            Status::Passed => self.passed += 1,
            Status::Failed => self.failed += 1,
            Status::Skipped => self.skipped += 1,
        }
    }

    /// `N passed, N failed, N skipped`.
    pub fn line(&self) -> String {
        format!(
            "{} passed, {} failed, {} skipped",
            self.passed, self.failed, self.skipped
        )
    }
}

/// The progress block of one file: `name: N passed, N failed, N skipped`, then one line per
/// failed case with its reason.
pub fn file_block(name: &str, results: &[CaseResult]) -> String {
    let mut out = format!("{name}: {}\n", Counts::of(results).line());
    for r in results.iter().filter(|r| r.status == Status::Failed) {
        out.push_str(&format!("  FAIL {}: {}\n", r.id, clip(&r.reason, 1000)));
    }
    out
}

/// Prints each file's block as soon as all its cases (and those of the files before it) have
/// finished, so output stays in file order while cases run in parallel.
#[derive(Debug, Default)]
pub struct Progress {
    /// `(display name, index of its first case, number of cases)` per file.
    files: Vec<(String, usize, usize)>,
    /// Files already printed.
    printed: usize,
    /// Total cases so far.
    total: usize,
}

impl Progress {
    /// Registers the next file and the number of its expanded cases.
    pub fn add_file(&mut self, name: String, cases: usize) {
        self.files.push((name, self.total, cases));
        self.total += cases;
    }

    /// Prints the blocks of the files that are complete in `results` (indexed like the cases).
    pub fn print_finished(&mut self, results: &[Option<CaseResult>]) {
        let mut out = std::io::stdout().lock();
        while let Some((name, start, len)) = self.files.get(self.printed) {
            let slice = &results[*start..*start + *len];
            if slice.iter().any(Option::is_none) {
                break;
            }
            let block: Vec<CaseResult> = slice.iter().flatten().cloned().collect();
            let _ = out.write_all(file_block(name, &block).as_bytes());
            let _ = out.flush();
            self.printed += 1;
        }
    }
}

/// Writes one JSON object per result: `{"id", "status", "reason"}`.
pub fn write_json_report(path: &Path, results: &[CaseResult]) -> std::io::Result<()> {
    let mut file = std::io::BufWriter::new(std::fs::File::create(path)?);
    for r in results {
        let line = json!({"id": r.id, "status": r.status.as_str(), "reason": r.reason});
        writeln!(file, "{line}")?;
    }
    file.flush()
}

/// Checks that every id in `passing_list` (one per line; blank lines and `#` comments ignored)
/// has status `passed` in the JSON report. The errors name each offending id.
pub fn check_ratchet(report: &Path, passing_list: &Path) -> Result<(), Vec<String>> {
    let report_text = std::fs::read_to_string(report)
        .map_err(|e| vec![format!("cannot read report {}: {e}", report.display())])?;
    let list_text = std::fs::read_to_string(passing_list).map_err(|e| {
        vec![format!(
            "cannot read passing list {}: {e}",
            passing_list.display()
        )]
    })?;
    let mut statuses: HashMap<String, (String, String)> = HashMap::new();
    let mut errors = Vec::new();
    for (n, line) in report_text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let parsed: Result<serde_json::Value, _> = serde_json::from_str(line);
        let Ok(v) = parsed else {
            errors.push(format!("{}:{}: not a JSON object", report.display(), n + 1));
            continue;
        };
        let field = |k: &str| v.get(k).and_then(|s| s.as_str()).unwrap_or("").to_string();
        statuses.insert(
            field("id").trim().to_string(),
            (field("status"), field("reason")),
        );
    }
    for line in list_text.lines() {
        let id = line.trim();
        if id.is_empty() || id.starts_with('#') {
            continue;
        }
        match statuses.get(id) {
            None => errors.push(format!("{id}: not in the report")),
            Some((status, _)) if status == "passed" => {}
            Some((status, reason)) => errors.push(format!("{id}: {status}: {reason}")),
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratchet_reports_regressions_and_missing_ids() {
        let dir = tempfile::tempdir().expect("temp dir");
        let report = dir.path().join("report.jsonl");
        let list = dir.path().join("passing.txt");
        let results = vec![
            CaseResult::new("s/f/a", Status::Passed, ""),
            CaseResult::new("s/f/b", Status::Failed, "value differs"),
        ];
        write_json_report(&report, &results).expect("write report");
        std::fs::write(&list, "# comment\ns/f/a\n\n").expect("write list");
        assert_eq!(check_ratchet(&report, &list), Ok(()));
        std::fs::write(&list, "s/f/a\ns/f/b\ns/f/c\n").expect("write list");
        let errors = check_ratchet(&report, &list).expect_err("regressions");
        assert_eq!(
            errors,
            ["s/f/b: failed: value differs", "s/f/c: not in the report"]
        );
    }

    #[test]
    fn file_block_lists_failures() {
        let results = vec![
            CaseResult::new("s/f/a", Status::Passed, ""),
            CaseResult::new("s/f/b", Status::Failed, "line1\nline2"),
            CaseResult::new("s/f/c", Status::Skipped, "later"),
        ];
        assert_eq!(
            file_block("s/f.json", &results),
            "s/f.json: 1 passed, 1 failed, 1 skipped\n  FAIL s/f/b: line1\\nline2\n"
        );
    }
}
