#!/usr/bin/env bash
# Runs every test: unit and integration tests, our sql-tests, and the conformance ratchet
# (every case listed in sql-tests/conformance-passing.txt must still pass).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export CARGO_TERM_COLOR=never
cargo build --bin riffle
cargo test --workspace
riffle="${CARGO_TARGET_DIR:-target}/debug/riffle"
conformance=../shared/conformance/ksql
if [ -d "$conformance" ]; then
  report="${CARGO_TARGET_DIR:-target}/conformance-report.jsonl"
  "$riffle" test "$conformance" --json-report "$report"
  "$riffle" test --check-ratchet sql-tests/conformance-passing.txt --json-report "$report"
else
  echo "warning: $conformance not found; conformance ratchet skipped" >&2
fi
# Existing ksqlDB client libraries work unmodified.
RIFFLE="$riffle" scripts/clients/run.sh
# Kafka end to end, with standard tooling: names of groups and internal topics, and the
# exactly-once kill test (scripts/kafka/checks.py).
RIFFLE="$riffle" scripts/kafka/run.sh
