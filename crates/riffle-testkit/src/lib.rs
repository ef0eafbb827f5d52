//! Runner of ksqlDB's conformance test files (QTT and REST QTT JSON) against the Riffle engine.
//!
//! A test file has `tests`; each test is expanded once per `format` (and `config`) value and
//! runs on a fresh in-memory [`riffle_engine::Engine`]:
//!
//! * **QTT** (`query-validation-tests`, and any case without REST fields): statements run one by
//!   one; each input record is serialized with the formats of the source on its topic, produced,
//!   and processed to completion; then each output topic is read in append order and compared
//!   record by record (key, value, timestamp if given, headers), and `post` conditions are
//!   checked. `expectedException` passes when a statement (or the processing) fails with a
//!   message containing the expected text.
//! * **REST QTT** (`rest-query-validation-tests`, or cases with `responses` / `expectedError` /
//!   `inputConditions`): admin statements, then inputs, then queries; `responses` are compared
//!   with the REST entities and the streamed query rows.
//!
//! With [`RunOptions::kafka`] (`riffle test --kafka`), each case runs on its own fresh
//! Kafka-compatible broker (Tansu, via `scripts/kafka-broker.sh`) instead of an in-memory log;
//! cases whose input data cannot give the same results on Kafka are skipped with the reason.
//!
//! Cases needing something not supported yet are reported as `skipped` with the reason, never
//! as passed. Results carry ids `<suite>/<file stem>/<test name>[/FORMAT][/CONFIG]`, where the
//! suite is the name of the file's directory.
//!
//! Entry points: [`run_cli`] (what `riffle test` calls), [`run_file`], [`check_ratchet`] and
//! [`run_ratchet_cli`] (CI).

#![warn(missing_docs)]

mod compare;
mod expand;
mod harness;
mod kafka;
mod model;
mod post;
mod qtt;
mod report;
mod rest;
mod runner;
mod schemas;

use std::path::{Path, PathBuf};

pub use expand::FileError;
pub use report::{check_ratchet, Counts};
pub use runner::RunOptions;

/// Outcome of one expanded case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// Every check matched.
    Passed,
    /// Something differed or failed; the reason says what.
    Failed,
    /// Needs something not supported yet; the reason says what.
    Skipped,
}

impl Status {
    /// `passed`, `failed` or `skipped`, as in the JSON report.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Passed => "passed",
            Status::Failed => "failed",
            Status::Skipped => "skipped",
        }
    }
}

/// The result of one expanded case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseResult {
    /// `<suite>/<file stem>/<test name>[/FORMAT][/CONFIG]`.
    pub id: String,
    /// Passed, failed or skipped.
    pub status: Status,
    /// Why it failed or was skipped (one line); empty when passed.
    pub reason: String,
}

impl CaseResult {
    /// A result; newlines in the reason are escaped so it stays on one line.
    pub fn new(id: impl Into<String>, status: Status, reason: impl Into<String>) -> Self {
        CaseResult {
            id: id.into(),
            status,
            reason: reason.into().replace('\n', "\\n"),
        }
    }
}

/// Runs every case of one test file with [`RunOptions::default`]. A file that cannot be read or
/// parsed yields a single failed result whose id is `<suite>/<file stem>`.
pub fn run_file(path: &Path) -> Vec<CaseResult> {
    try_run_file(path, RunOptions::default()).unwrap_or_else(|e| {
        vec![CaseResult::new(
            expand::file_prefix(path),
            Status::Failed,
            e.to_string(),
        )]
    })
}

/// Runs every case of one test file, or says why the file cannot be used.
pub fn try_run_file(path: &Path, options: RunOptions) -> Result<Vec<CaseResult>, FileError> {
    let planned = expand::load_file(path)?;
    let mut results: Vec<Option<CaseResult>> = vec![None; planned.len()];
    runner::run_all(planned, options, |i, r| results[i] = Some(r));
    Ok(results.into_iter().flatten().collect())
}

/// The test files under `paths`: files as given, directories searched recursively for
/// `*.json`, each directory's files sorted by name. Paths that do not exist are errors.
pub fn collect_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            walk(p, &mut files).map_err(|e| format!("{}: {e}", p.display()))?;
        } else if p.is_file() {
            files.push(p.clone());
        } else {
            return Err(format!("{}: no such file or directory", p.display()));
        }
    }
    Ok(files)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    entries.sort();
    for e in entries {
        if e.is_dir() {
            walk(&e, out)?;
        } else if e.extension().is_some_and(|x| x == "json") {
            out.push(e);
        }
    }
    Ok(())
}

/// `riffle test PATH... [--json-report FILE]`: runs every test file under `paths`, printing one
/// progress line per file (with a line per failed case and its reason) and finally
/// `N passed, N failed, N skipped`. With `json_report`, writes one JSON object per expanded
/// case. Returns the exit code: 0 unless a path or file could not be read or parsed (1).
/// Failed cases do not change the exit code; CI uses [`run_ratchet_cli`] for that. With
/// [`RunOptions::kafka`] the broker script must be found first (exit code 1 with a message
/// otherwise).
pub fn run_cli_with(paths: Vec<PathBuf>, json_report: Option<PathBuf>, options: RunOptions) -> i32 {
    if options.kafka {
        if let Err(e) = kafka::broker_script() {
            eprintln!("{e}");
            return 1;
        }
    }
    let files = match collect_files(&paths) {
        Ok(f) if f.is_empty() => {
            eprintln!("no test files found");
            return 1;
        }
        Ok(f) => f,
        Err(e) => {
            eprintln!("{e}");
            return 1;
        }
    };
    let mut exit = 0;
    // Expand every file first, so all cases share one pool of worker threads.
    let mut planned = Vec::new();
    let mut progress = report::Progress::default();
    for path in &files {
        let name = format!("{}.json", expand::file_prefix(path));
        match expand::load_file(path) {
            Ok(cases) => {
                progress.add_file(name, cases.len());
                planned.extend(cases);
            }
            Err(e) => {
                eprintln!("{e}");
                exit = 1;
            }
        }
    }
    let mut results: Vec<Option<CaseResult>> = vec![None; planned.len()];
    runner::run_all(planned, options, |i, r| {
        results[i] = Some(r);
        progress.print_finished(&results);
    });
    progress.print_finished(&results);
    let results: Vec<CaseResult> = results.into_iter().flatten().collect();
    if let Some(path) = json_report {
        if let Err(e) = report::write_json_report(&path, &results) {
            eprintln!("cannot write JSON report {}: {e}", path.display());
            exit = 1;
        }
    }
    println!("{}", Counts::of(&results).line());
    exit
}

/// CI's ratchet: checks with [`check_ratchet`] that every id in `passing_list` passed in
/// `report`, printing each regression. Returns 0 when all passed, 1 otherwise.
pub fn run_ratchet_cli(report: &Path, passing_list: &Path) -> i32 {
    match check_ratchet(report, passing_list) {
        Ok(()) => {
            println!("ratchet: every listed case passed");
            0
        }
        Err(errors) => {
            for e in &errors {
                eprintln!("ratchet: {e}");
            }
            eprintln!("ratchet: {} listed case(s) did not pass", errors.len());
            1
        }
    }
}
