#!/usr/bin/env bash
# Runs every test: unit and integration tests, our sql-tests, and the conformance ratchet
# (every case listed in sql-tests/conformance-passing.txt must still pass).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export CARGO_TERM_COLOR=never
cargo build --bin riffle
cargo test --workspace
conformance=../shared/conformance/ksql
if [ -d "$conformance" ]; then
  report=target/conformance-report.jsonl
  target/debug/riffle test "$conformance" --json-report "$report"
  target/debug/riffle test --check-ratchet sql-tests/conformance-passing.txt --json-report "$report"
else
  echo "warning: $conformance not found; conformance ratchet skipped" >&2
fi
# Existing ksqlDB client libraries work unmodified.
scripts/clients/run.sh
