#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs the test servers, the real security tools the tests use
# as controls (Cloud Custodian, Prowler), the Kubernetes manifest checks and cargo-fuzz, checks formatting and
# lints, then runs every test of the workspace and a minute of the parser's fuzz target.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
scripts/test-deps.sh servers custodian prowler reports kubernetes fuzz
cargo fmt --all --check
cargo clippy --workspace --all-targets --quiet -- -D warnings
cargo build --workspace --bins
# The README's first command must keep working too.
cargo run --quiet -p rdfi -- demo > /dev/null
cargo test --workspace "$@"
# A minute of new inputs for the experiment parser, from its committed corpus.
scripts/fuzz.sh 60
