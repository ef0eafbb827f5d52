//! Runs Riffle's own conformance cases in `sql-tests/` (at the repository root) and requires
//! every expanded case to pass.

use std::path::PathBuf;

use riffle_testkit::{collect_files, try_run_file, RunOptions, Status};

#[test]
fn sql_tests_all_pass() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../sql-tests");
    let files = collect_files(std::slice::from_ref(&dir)).expect("sql-tests directory");
    assert!(!files.is_empty(), "no test files in {}", dir.display());
    let mut problems = Vec::new();
    let mut passed = 0;
    for file in &files {
        let results = match try_run_file(file, RunOptions::default()) {
            Ok(r) => r,
            Err(e) => {
                problems.push(e.to_string());
                continue;
            }
        };
        for r in results {
            match r.status {
                Status::Passed => passed += 1,
                status => problems.push(format!("{} {}: {}", status.as_str(), r.id, r.reason)),
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{passed} passed; not passing:\n{}",
        problems.join("\n")
    );
}
