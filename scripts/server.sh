#!/usr/bin/env bash
# Builds Riffle if needed and starts the server on the embedded log (port 8088, ./riffle-data).
# Extra arguments go to `riffle server` (see `riffle server --help`).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo build --bin riffle
exec "${CARGO_TARGET_DIR:-target}/debug/riffle" server "$@"
