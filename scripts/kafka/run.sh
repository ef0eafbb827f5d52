#!/usr/bin/env bash
# Kafka end-to-end checks with standard tooling (see checks.py): each check gets a fresh
# broker (scripts/kafka-broker.sh) and Riffle servers started with --config bootstrap.servers.
#   scripts/kafka/run.sh [CHECK...]    default: tooling eos-kill scale-out
set -euo pipefail
cd "$(dirname "$0")/../.."
riffle=${RIFFLE:-${CARGO_TARGET_DIR:-target}/debug/riffle}
venv=target/kafka-venv
if ! "$venv/bin/python" -c 'import confluent_kafka' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check "confluent-kafka==2.16.1"
fi
checks=("$@")
[ ${#checks[@]} -gt 0 ] || checks=(tooling eos-kill scale-out)
for check in "${checks[@]}"; do
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  broker=$(scripts/kafka-broker.sh "$port" $$)
  trap 'kill $broker 2>/dev/null || true' EXIT
  "$venv/bin/python" scripts/kafka/checks.py "$riffle" "127.0.0.1:$port" "$check"
  kill "$broker" 2>/dev/null || true
done
