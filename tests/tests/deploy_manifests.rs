//! The Kubernetes deployment in deploy/kubernetes, checked offline: `scripts/validate-manifests.sh` renders
//! base/ and every overlay with `kubectl kustomize` and validates each resource against the Kubernetes schemas
//! (kubernetes-validate --strict), the variables against the code and the NATS configuration with nats-server;
//! every pod here runs hardened: non-root (rdfi and NATS as 65532, PostgreSQL as its image's postgres user,
//! 999), a read-only root filesystem, no privilege escalation, no
//! capabilities, the runtime's seccomp profile, no service account token, and resource requests and limits on
//! every container; and docs/deploy.md's OpenSSL commands make the certificates and tokens the services need.

use std::path::{Path, PathBuf};
use std::process::Command;

use rdfi_tests::workspace_root;
use serde_yaml_ng::Value;

#[test]
fn the_manifests_render_and_validate_offline() {
    let root = workspace_root();
    let output = Command::new(root.join("scripts/validate-manifests.sh"))
        .current_dir(&root)
        .output()
        .expect("scripts/validate-manifests.sh runs");
    assert!(
        output.status.success(),
        "scripts/validate-manifests.sh failed: {}\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The YAML documents of a file, split on `---` lines.
fn documents(path: &Path) -> Vec<Value> {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    let mut documents = Vec::new();
    let mut current = String::new();
    for line in text.lines().chain(std::iter::once("---")) {
        if line.trim_end() == "---" {
            // A part with nothing but comments is no document (and serde_yaml_ng refuses an empty one).
            let empty = current.lines().all(|line| {
                let line = line.trim();
                line.is_empty() || line.starts_with('#')
            });
            if !empty {
                let document: Value = serde_yaml_ng::from_str(&current)
                    .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
                documents.push(document);
            }
            current.clear();
        } else {
            current.push_str(line);
            current.push('\n');
        }
    }
    documents
}

/// Every manifest file some kustomization.yaml under deploy/kubernetes lists as a resource (patches are not
/// whole resources: they change what these define).
fn resource_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![workspace_root().join("deploy/kubernetes")];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir)
            .unwrap_or_else(|error| panic!("{}: {error}", dir.display()))
            .flatten()
        {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if path
                .file_name()
                .is_some_and(|name| name == "kustomization.yaml")
            {
                for kustomization in documents(&path) {
                    for resource in kustomization["resources"]
                        .as_sequence()
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                    {
                        let file = dir.join(resource);
                        if file.is_file() {
                            files.push(file);
                        }
                    }
                }
            }
        }
    }
    files.sort();
    files
}

/// The pod template of a workload, if it is one.
fn pod_spec(resource: &Value) -> Option<&Value> {
    let spec = &resource["spec"];
    let pod = match resource["kind"].as_str()? {
        "Pod" => spec,
        "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" | "Job" => {
            &spec["template"]["spec"]
        }
        "CronJob" => &spec["jobTemplate"]["spec"]["template"]["spec"],
        _ => return None,
    };
    Some(pod)
}

/// What is missing from one container's securityContext and resources.
fn container_gaps(container: &Value) -> Vec<String> {
    let security = &container["securityContext"];
    // The official PostgreSQL image owns its files as its postgres user.
    let postgres = container["image"]
        .as_str()
        .and_then(|image| image.rsplit('/').next())
        .is_some_and(|image| image.starts_with("postgres:"));
    let user = if postgres { 999 } else { 65532 };
    let mut gaps = Vec::new();
    for (field, holds) in [
        (
            "securityContext.runAsNonRoot: true",
            security["runAsNonRoot"].as_bool() == Some(true),
        ),
        (
            if postgres {
                "securityContext.runAsUser: 999"
            } else {
                "securityContext.runAsUser: 65532"
            },
            security["runAsUser"].as_u64() == Some(user),
        ),
        (
            "securityContext.readOnlyRootFilesystem: true",
            security["readOnlyRootFilesystem"].as_bool() == Some(true),
        ),
        (
            "securityContext.allowPrivilegeEscalation: false",
            security["allowPrivilegeEscalation"].as_bool() == Some(false),
        ),
        (
            "securityContext.capabilities.drop: [ALL]",
            security["capabilities"]["drop"]
                .as_sequence()
                .is_some_and(|dropped| {
                    dropped
                        .iter()
                        .any(|capability| capability.as_str() == Some("ALL"))
                }),
        ),
        (
            "securityContext.seccompProfile.type: RuntimeDefault",
            security["seccompProfile"]["type"].as_str() == Some("RuntimeDefault"),
        ),
    ] {
        if !holds {
            gaps.push(field.to_owned());
        }
    }
    for kind in ["requests", "limits"] {
        for resource in ["cpu", "memory"] {
            if container["resources"][kind][resource].is_null() {
                gaps.push(format!("resources.{kind}.{resource}"));
            }
        }
    }
    gaps
}

#[test]
fn every_container_is_hardened_and_bounded() {
    let files = resource_files();
    assert!(!files.is_empty(), "no manifest under deploy/kubernetes");
    let mut gaps = Vec::new();
    let mut containers = 0;
    let mut service_accounts = 0;
    for file in &files {
        let shown = file
            .strip_prefix(workspace_root())
            .unwrap_or(file)
            .display();
        for resource in documents(file) {
            let name = format!(
                "{} {}/{}",
                shown,
                resource["kind"].as_str().unwrap_or("?"),
                resource["metadata"]["name"].as_str().unwrap_or("?")
            );
            if resource["kind"].as_str() == Some("ServiceAccount") {
                service_accounts += 1;
                if resource["automountServiceAccountToken"].as_bool() != Some(false) {
                    gaps.push(format!("{name}: automountServiceAccountToken: false"));
                }
            }
            let Some(pod) = pod_spec(&resource) else {
                continue;
            };
            if pod["automountServiceAccountToken"].as_bool() != Some(false) {
                gaps.push(format!("{name}: automountServiceAccountToken: false"));
            }
            for container in ["initContainers", "containers"]
                .into_iter()
                .flat_map(move |list| pod[list].as_sequence().into_iter().flatten())
            {
                containers += 1;
                let container_name = container["name"].as_str().unwrap_or("?");
                for gap in container_gaps(container) {
                    gaps.push(format!("{name} container {container_name}: {gap}"));
                }
                // rdfi's own services answer the kubelet's gRPC probes on the plaintext health port.
                let image = container["image"].as_str().unwrap_or_default();
                if image
                    .rsplit('/')
                    .next()
                    .is_some_and(|image| image.starts_with("rdfi"))
                {
                    for probe in ["readinessProbe", "livenessProbe"] {
                        if container[probe]["grpc"]["port"].as_u64() != Some(8081) {
                            gaps.push(format!(
                                "{name} container {container_name}: {probe}.grpc.port: 8081"
                            ));
                        }
                    }
                }
            }
        }
    }
    // NATS and the five services.
    assert!(
        containers >= 6,
        "only {containers} containers found in {files:?}"
    );
    assert!(
        service_accounts >= 6,
        "only {service_accounts} service accounts found in {files:?}"
    );
    assert!(
        gaps.is_empty(),
        "containers and pods of deploy/kubernetes lack what every one must have:\n{}",
        gaps.join("\n")
    );
}

/// The lines of docs/deploy.md's ```sh blocks.
fn deploy_doc_commands() -> Vec<String> {
    let doc = workspace_root().join("docs/deploy.md");
    let text = std::fs::read_to_string(&doc).expect("docs/deploy.md");
    let mut commands = Vec::new();
    let mut in_sh = false;
    for line in text.lines() {
        match line.trim_start().strip_prefix("```") {
            Some(language) => in_sh = !in_sh && language.trim() == "sh",
            None if in_sh && !line.trim_start().starts_with('#') && !line.trim().is_empty() => {
                commands.push(line.trim().to_owned())
            }
            None => {}
        }
    }
    commands
}

/// docs/deploy.md's certificates and tokens, made as written with OpenSSL in an empty directory: the service
/// certificate verifies against the CA, names `*.rdfi.svc` and `localhost` and serves as server and as client
/// (mTLS); the client certificate verifies and is a client's; the tokens file has an `operate` and a `read`
/// token.
#[test]
fn the_documented_certificates_and_tokens_are_what_the_services_need() {
    let commands: Vec<String> = deploy_doc_commands()
        .into_iter()
        .filter(|command| {
            command.starts_with("openssl ")
                || command.starts_with("printf ")
                || command.contains("=$(openssl rand")
        })
        .collect();
    assert!(
        commands.len() >= 8,
        "docs/deploy.md's openssl commands: {commands:?}"
    );
    let dir = tempfile::tempdir().expect("a directory");
    let script = format!("set -e\n{}\n", commands.join("\n"));
    let run = |script: &str| {
        let output = Command::new("sh")
            .args(["-c", script])
            .current_dir(dir.path())
            .output()
            .expect("sh runs");
        assert!(
            output.status.success(),
            "{script}\n{}\nstdout:\n{}\nstderr:\n{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    run(script.as_str());
    let verified = run("openssl verify -CAfile ca.crt tls.crt client.crt");
    assert!(
        verified.contains("tls.crt: OK") && verified.contains("client.crt: OK"),
        "{verified}"
    );
    let service = run("openssl x509 -in tls.crt -noout -ext subjectAltName,extendedKeyUsage");
    for wanted in [
        "DNS:*.rdfi.svc",
        "DNS:localhost",
        "TLS Web Server Authentication",
        "TLS Web Client Authentication",
    ] {
        assert!(service.contains(wanted), "{wanted} not in {service}");
    }
    let client = run("openssl x509 -in client.crt -noout -ext extendedKeyUsage");
    assert!(client.contains("TLS Web Client Authentication"), "{client}");
    let tokens = std::fs::read_to_string(dir.path().join("auth.tokens")).expect("auth.tokens");
    let roles: Vec<&str> = tokens
        .lines()
        .map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let [token, role] = fields[..] else {
                panic!("not `TOKEN ROLE`: {line:?}");
            };
            assert!(token.len() >= 16, "a short token: {line:?}");
            role
        })
        .collect();
    assert_eq!(roles, ["operate", "read"], "{tokens}");
}
