#!/usr/bin/env bash
# Installs what a fresh Debian machine lacks to build and test Riffle: a Rust toolchain is
# assumed (rustup), plus libclang for RocksDB's bindgen, OpenSSL headers for librdkafka, a C++ compiler, tmux and Python's venv
# for the tests. Safe to run repeatedly.
set -euo pipefail
need=()
command -v cargo >/dev/null || { echo "cargo not found: install Rust with rustup (https://rustup.rs)" >&2; exit 1; }
[ -n "$(ls /usr/lib/llvm-*/lib/libclang*.so* 2>/dev/null | head -1)" ] || need+=(libclang-dev)
command -v g++ >/dev/null || need+=(g++)
command -v make >/dev/null || need+=(make)
# librdkafka's TLS and SASL/SCRAM support links the system OpenSSL.
command -v pkg-config >/dev/null || need+=(pkg-config)
pkg-config --exists openssl 2>/dev/null || need+=(libssl-dev)
# Tests: the shell is driven in tmux; the client-compatibility check uses a Python venv.
command -v tmux >/dev/null || need+=(tmux)
command -v python3 >/dev/null || need+=(python3)
python3 -c 'import ensurepip, venv' 2>/dev/null || need+=(python3-venv)
if [ ${#need[@]} -gt 0 ]; then
  echo "Installing system packages: ${need[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}"
fi
