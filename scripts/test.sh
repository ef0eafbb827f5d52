#!/usr/bin/env bash
# Runs every test: unit and integration tests, our sql-tests, and the conformance ratchet
# (every case listed in sql-tests/conformance-passing.txt must still pass); then the same
# engine on a Kafka-compatible broker: riffle-kafka's own tests and `riffle test --kafka` over
# sql-tests and a conformance subset, with the ratchet sql-tests/kafka-passing.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
# Kafka tests start Tansu brokers (scripts/kafka-broker.sh); each has a watchdog that kills it
# within a second of its owner (a riffle process or test binary) exiting. This also stops any
# broker of this checkout's venv still running when the script exits, however it exits.
tansu_venv="${RIFFLE_TANSU_VENV:-$PWD/target/tansu-venv}"
stop_brokers() {
  local pids
  pids=$(pgrep -f "^$tansu_venv/.*/tansu broker " || true)
  if [ -n "$pids" ]; then
    # shellcheck disable=SC2086 # one pid per word
    kill -9 $pids 2>/dev/null || true
  fi
}
trap stop_brokers EXIT
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

# The Kafka backend against Tansu brokers (installed into target/tansu-venv on first use).
# `--workspace --test kafka`, not `-p riffle-kafka`: with `-p` cargo resolves features for that
# package alone, which changes the hashes of RocksDB's dependencies and compiles RocksDB again.
RIFFLE_KAFKA_TESTS=1 cargo test --workspace --test kafka
# Each case gets its own broker, so this subset is chosen to cover every operator kind (filters
# and projections, aggregations incl. windowed, tables, pull and push queries, INSERT INTO,
# formats) in a few minutes. A case that cannot finish on Tansu spins until its timeout, hence
# the shorter one.
kafka_paths=(sql-tests)
kafka_list=sql-tests/kafka-passing.txt
if [ -d "$conformance" ]; then
  for f in kafka delimited avro topk-group-by hopping-windows session-windows window-bounds \
    windowed-source table source-table insert-into system-columns row-offset-and-partition \
    sink-partitions-replicas sum count partition-by; do
    kafka_paths+=("$conformance/query-validation-tests/$f.json")
  done
  for f in pull-queries-against-ctas-materialized push-queries insert-values \
    pull-queries-with-range-scan; do
    kafka_paths+=("$conformance/rest-query-validation-tests/$f.json")
  done
else
  kafka_list="${CARGO_TARGET_DIR:-target}/kafka-passing-sql-tests.txt"
  grep '^sql-tests/' sql-tests/kafka-passing.txt >"$kafka_list"
fi
kafka_report="${CARGO_TARGET_DIR:-target}/kafka-report.jsonl"
RIFFLE_TEST_TIMEOUT_SECS=10 "$riffle" test --kafka "${kafka_paths[@]}" --json-report "$kafka_report"
"$riffle" test --check-ratchet "$kafka_list" --json-report "$kafka_report"
# Kafka end to end, with standard tooling: names of groups and internal topics, and the
# exactly-once kill test (scripts/kafka/checks.py).
RIFFLE="$riffle" scripts/kafka/run.sh
