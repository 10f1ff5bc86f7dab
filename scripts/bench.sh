#!/usr/bin/env bash
# Runs every benchmark and writes its tables, with the machine and the date, into docs/benchmarks.md (and the
# scaling curves beside it): installs what they need (moto_server, nats-server, Chaos Toolkit), builds the
# release binaries, then runs target/release/bench-report. About 15 minutes after a build on 2 cores.
# Usage: scripts/bench.sh [DOC]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/test-deps.sh servers chaostoolkit
cargo build --release --workspace --bins
exec target/release/bench-report "$@"
