#!/usr/bin/env bash
# A short run of the experiment parser's fuzz target (fuzz/fuzz_targets/parse_document.rs) from the committed
# corpus (fuzz/corpus/parse_document): SECONDS of new inputs (default RDFI_FUZZ_SECONDS, else 60). New inputs
# go to a scratch directory, so the committed corpus changes only by hand; an input that panics the parser or
# takes longer than 10 s is kept in fuzz/artifacts/parse_document/ and fails the run.
#
#   scripts/fuzz.sh [SECONDS]
#
# cargo fuzz builds with unstable compiler flags (coverage instrumentation): RUSTC_BOOTSTRAP lets the one
# stable toolchain take them. The parser is safe Rust, so no sanitizer: a panic is what the run looks for.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
seconds="${1:-${RDFI_FUZZ_SECONDS:-60}}"
case "$seconds" in
  '' | *[!0-9]*) echo "scripts/fuzz.sh: SECONDS must be a whole number, not '$seconds'" >&2; exit 2 ;;
esac
"$root/scripts/test-deps.sh" fuzz
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
cd "$root/fuzz"
RUSTC_BOOTSTRAP=1 cargo fuzz run --sanitizer none parse_document "$scratch" corpus/parse_document -- \
  -max_total_time="$seconds" -max_len=262144 -timeout=10 -print_final_stats=1
