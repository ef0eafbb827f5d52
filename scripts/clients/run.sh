#!/usr/bin/env bash
# ksqlDB client-library compatibility: starts a server on a free port with a fresh data
# directory and runs the unmodified ksql-python-ng client against it.
set -euo pipefail
cd "$(dirname "$0")/../.."
riffle=${RIFFLE:-${CARGO_TARGET_DIR:-target}/debug/riffle}
venv=target/clients-venv
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  # ksql-python-ng passes `cert=` to httpx, which httpx 0.28 removed.
  "$venv/bin/pip" install -q ksql-python-ng==0.29.0.1 "httpx<0.28"
fi
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
data=$(mktemp -d)
"$riffle" server --listeners "http://127.0.0.1:$port" --data-dir "$data" >"$data.log" 2>&1 &
server=$!
# Stop the server and wait for it before removing its data directory (it may still be writing).
trap 'kill $server 2>/dev/null || true; wait $server 2>/dev/null || true; rm -rf "$data" "$data.log" || true' EXIT
for _ in $(seq 100); do
  python3 -c "import urllib.request,sys; urllib.request.urlopen(sys.argv[1], timeout=1)" \
    "http://127.0.0.1:$port/healthcheck" 2>/dev/null && break
  sleep 0.1
done
"$venv/bin/python" scripts/clients/ksql_python_compat.py "http://127.0.0.1:$port"
