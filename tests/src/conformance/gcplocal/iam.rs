//! The project IAM policy and service account cases. Every project case sets the project's whole policy
//! (owners, editors, viewers, deployers, a conditional owner, Data Access audit configs with exemptions) in its
//! `prepare`, so the cases share gcplocal's one project one after the other.

use std::collections::BTreeSet;
use std::sync::Mutex;

use async_trait::async_trait;
use rdfi_proto::v1::ResourceRef;
use rdfi_provider::gcp::{project_ref, service_account_ref};
use serde_json::{Value, json};

use super::{GcpCase, sorted};
use crate::gcplocal::{GcpClient, PROJECT};

pub(super) fn cases() -> Vec<Box<dyn GcpCase>> {
    let grant = |fault_id, member, role| -> Box<dyn GcpCase> {
        Box::new(ProjectGrantCase {
            fault_id,
            member,
            role,
        })
    };
    vec![
        grant(
            "gcp.iam.project-owner-granted-to-external-user",
            "user:attacker@example.com",
            "roles/owner",
        ),
        grant(
            "gcp.iam.project-editor-granted-to-external-user",
            "user:attacker@example.com",
            "roles/editor",
        ),
        grant(
            "gcp.iam.project-token-creator-granted-broadly",
            "domain:example.com",
            "roles/iam.serviceAccountTokenCreator",
        ),
        grant(
            "gcp.iam.project-service-account-user-granted-broadly",
            "domain:example.com",
            "roles/iam.serviceAccountUser",
        ),
        Box::new(OwnerCase),
        Box::new(AuditLogsCase),
        Box::new(KeyCase {
            known: Mutex::new(BTreeSet::new()),
        }),
        Box::new(EnabledCase),
    ]
}

/// The member a person adds to the viewers while a project fault is on.
const NEW_VIEWER: &str = "user:new-viewer@example.org";
/// The member a person exempts from Cloud Storage's write logs while the audit fault is on.
const NEW_EXEMPTION: &str = "user:migration@example.org";

/// The project's prepared bindings, with `extra` ones.
fn bindings(extra: &[Value]) -> Vec<Value> {
    let mut bindings = vec![
        json!({"role": "roles/owner", "members": ["group:platform-admins@example.org"]}),
        json!({"role": "roles/editor", "members": ["serviceAccount:123456789012@cloudservices.gserviceaccount.com"]}),
        json!({"role": "roles/viewer", "members": ["group:engineering@example.org", "user:auditor@example.org"]}),
        json!({"role": "roles/iam.serviceAccountUser", "members": ["group:deployers@example.org"]}),
        json!({"role": "roles/owner", "members": ["user:oncall@example.org"],
               "condition": {"title": "break-glass", "expression": "request.time < timestamp(\"2030-01-01T00:00:00Z\")"}}),
    ];
    bindings.extend(extra.iter().cloned());
    bindings
}

/// Sets the project's whole policy: the prepared bindings with `extra` ones, and audit configs logging all
/// Data Access with exemptions.
async fn prepare_project(gcp: &GcpClient, extra: &[Value]) -> ResourceRef {
    gcp.set_project_iam_policy(json!({
        "bindings": bindings(extra),
        "auditConfigs": [
            {"service": "allServices", "auditLogConfigs": [
                {"logType": "ADMIN_READ"},
                {"logType": "DATA_READ", "exemptedMembers": ["serviceAccount:monitoring@rdfi-conformance.iam.gserviceaccount.com"]},
                {"logType": "DATA_WRITE"},
            ]},
            {"service": "storage.googleapis.com", "auditLogConfigs": [
                {"logType": "DATA_WRITE", "exemptedMembers": ["group:backup-jobs@example.org"]},
            ]},
        ],
    }))
    .await;
    let labels = gcp.project().await["labels"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(key, value)| (key.clone(), value.as_str().unwrap_or_default().to_owned()))
        .collect();
    project_ref(PROJECT, labels)
}

/// The project's policy, canonical: bindings and their members sorted, audit configs, their log types and
/// exemptions sorted; no etag or version.
async fn read_policy(gcp: &GcpClient) -> Value {
    let policy = gcp.project_iam_policy().await;
    let bindings: Vec<Value> = policy["bindings"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|binding| {
            let mut binding = binding.clone();
            binding["members"] = sorted(&binding["members"]);
            binding
        })
        .collect();
    let audit_configs: Vec<Value> = policy["auditConfigs"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|config| {
            let logs: Vec<Value> = config["auditLogConfigs"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|log| {
                    let mut log = log.clone();
                    if log.get("exemptedMembers").is_some() {
                        log["exemptedMembers"] = sorted(&log["exemptedMembers"]);
                    }
                    log
                })
                .collect();
            json!({"service": config["service"], "auditLogConfigs": sorted(&Value::Array(logs))})
        })
        .collect();
    json!({
        "bindings": sorted(&Value::Array(bindings)),
        "auditConfigs": sorted(&Value::Array(audit_configs)),
    })
}

/// Whether a read's bindings give `role` to `member` without a condition.
fn grants(read: &Value, member: &str, role: &str) -> bool {
    read["bindings"].as_array().is_some_and(|bindings| {
        bindings.iter().any(|binding| {
            binding["role"] == role
                && binding.get("condition").is_none_or(Value::is_null)
                && binding["members"]
                    .as_array()
                    .is_some_and(|members| members.iter().any(|found| found == member))
        })
    })
}

/// A person adds `member` to the unconditional binding of `role` (creating it), through the test's client.
async fn grant_meanwhile(gcp: &GcpClient, member: &str, role: &str) {
    let mut policy = gcp.project_iam_policy().await;
    let bindings = policy["bindings"].as_array_mut().expect("bindings");
    match bindings
        .iter_mut()
        .find(|binding| binding["role"] == role && binding.get("condition").is_none())
    {
        Some(binding) => binding["members"]
            .as_array_mut()
            .expect("members")
            .push(json!(member)),
        None => bindings.push(json!({"role": role, "members": [member]})),
    }
    gcp.set_project_iam_policy(policy).await;
}

/// A project role granted to an outside member.
struct ProjectGrantCase {
    fault_id: &'static str,
    member: &'static str,
    role: &'static str,
}

#[async_trait]
impl GcpCase for ProjectGrantCase {
    fn fault_id(&self) -> &'static str {
        self.fault_id
    }

    async fn prepare(&self, gcp: &GcpClient, _name: &str) -> ResourceRef {
        prepare_project(gcp, &[]).await
    }

    async fn read(&self, gcp: &GcpClient, _resource: &ResourceRef) -> Value {
        read_policy(gcp).await
    }

    fn misconfigured(&self, read: &Value) -> bool {
        grants(read, self.member, self.role)
    }

    async fn change_meanwhile(&self, gcp: &GcpClient, _resource: &ResourceRef) -> bool {
        grant_meanwhile(gcp, NEW_VIEWER, "roles/viewer").await;
        true
    }

    fn kept(&self, read: &Value) -> bool {
        grants(read, NEW_VIEWER, "roles/viewer")
    }
}

/// A service account of the project, with two narrow roles, made owner.
struct OwnerCase;

impl OwnerCase {
    fn member(resource: &ResourceRef) -> String {
        format!("serviceAccount:{}", resource.name)
    }
}

#[async_trait]
impl GcpCase for OwnerCase {
    fn fault_id(&self) -> &'static str {
        "gcp.iam.service-account-made-project-owner"
    }

    async fn prepare(&self, gcp: &GcpClient, name: &str) -> ResourceRef {
        let description = "Deploys the web tier. rdfi-target=true";
        let email = gcp
            .create_service_account(name, "Web deployer", description)
            .await;
        let member = format!("serviceAccount:{email}");
        prepare_project(
            gcp,
            &[
                json!({"role": "roles/run.developer", "members": [member]}),
                json!({"role": "roles/artifactregistry.writer", "members": [member, "group:deployers@example.org"]}),
            ],
        )
        .await;
        service_account_ref(PROJECT, &email, description)
    }

    async fn read(&self, gcp: &GcpClient, resource: &ResourceRef) -> Value {
        let mut read = read_policy(gcp).await;
        read["subject"] = json!(Self::member(resource));
        read
    }

    fn misconfigured(&self, read: &Value) -> bool {
        grants(
            read,
            read["subject"].as_str().unwrap_or_default(),
            "roles/owner",
        )
    }

    async fn change_meanwhile(&self, gcp: &GcpClient, resource: &ResourceRef) -> bool {
        grant_meanwhile(gcp, &Self::member(resource), "roles/logging.logWriter").await;
        true
    }

    fn kept(&self, read: &Value) -> bool {
        grants(
            read,
            read["subject"].as_str().unwrap_or_default(),
            "roles/logging.logWriter",
        )
    }
}

/// The project's Data Access audit logs turned off.
struct AuditLogsCase;

/// The members a read's audit config of `service` exempts from `log_type`, or `None` when it does not log it.
fn exemptions<'a>(read: &'a Value, service: &str, log_type: &str) -> Option<Vec<&'a str>> {
    let config = read["auditConfigs"]
        .as_array()?
        .iter()
        .find(|config| config["service"] == service)?;
    let log = config["auditLogConfigs"]
        .as_array()?
        .iter()
        .find(|log| log["logType"] == log_type)?;
    Some(
        log["exemptedMembers"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect(),
    )
}

#[async_trait]
impl GcpCase for AuditLogsCase {
    fn fault_id(&self) -> &'static str {
        "gcp.logging.project-data-access-audit-logs-removed"
    }

    async fn prepare(&self, gcp: &GcpClient, _name: &str) -> ResourceRef {
        prepare_project(gcp, &[]).await
    }

    async fn read(&self, gcp: &GcpClient, _resource: &ResourceRef) -> Value {
        read_policy(gcp).await
    }

    fn misconfigured(&self, read: &Value) -> bool {
        exemptions(read, "allServices", "DATA_READ").is_none()
            || exemptions(read, "allServices", "DATA_WRITE").is_none()
    }

    async fn change_meanwhile(&self, gcp: &GcpClient, _resource: &ResourceRef) -> bool {
        let mut policy = gcp.project_iam_policy().await;
        let configs = policy["auditConfigs"]
            .as_array_mut()
            .expect("audit configs");
        let storage = configs
            .iter_mut()
            .find(|config| config["service"] == "storage.googleapis.com")
            .expect("the storage audit config");
        storage["auditLogConfigs"][0]["exemptedMembers"]
            .as_array_mut()
            .expect("exemptions")
            .push(json!(NEW_EXEMPTION));
        gcp.set_project_iam_policy(policy).await;
        true
    }

    fn kept(&self, read: &Value) -> bool {
        exemptions(read, "storage.googleapis.com", "DATA_WRITE")
            .is_some_and(|members| members.contains(&NEW_EXEMPTION))
    }
}

/// A service account with a key of its own gets a new one. The case knows every key it created itself (the
/// prepared one, the one a person adds meanwhile): any other is the fault's.
struct KeyCase {
    known: Mutex<BTreeSet<String>>,
}

#[async_trait]
impl GcpCase for KeyCase {
    fn fault_id(&self) -> &'static str {
        "gcp.iam.service-account-key-created"
    }

    async fn prepare(&self, gcp: &GcpClient, name: &str) -> ResourceRef {
        let description = "Nightly export to the partner bucket. rdfi-target=true owner=data";
        let email = gcp
            .create_service_account(name, "Nightly export", description)
            .await;
        let key = gcp.create_key(&email).await;
        self.known.lock().unwrap().insert(key);
        service_account_ref(PROJECT, &email, description)
    }

    async fn read(&self, gcp: &GcpClient, resource: &ResourceRef) -> Value {
        let account = gcp.service_account(&resource.name).await;
        let known = self.known.lock().unwrap().clone();
        let keys = gcp.key_ids(&resource.name).await;
        let unknown: Vec<&String> = keys.iter().filter(|key| !known.contains(*key)).collect();
        json!({
            "keys": keys,
            "unknownKeys": unknown,
            "knownKeys": keys.iter().filter(|key| known.contains(*key)).collect::<Vec<_>>(),
            "description": account["description"],
            "disabled": account["disabled"],
        })
    }

    fn misconfigured(&self, read: &Value) -> bool {
        read["unknownKeys"]
            .as_array()
            .is_some_and(|keys| !keys.is_empty())
    }

    async fn change_meanwhile(&self, gcp: &GcpClient, resource: &ResourceRef) -> bool {
        let key = gcp.create_key(&resource.name).await;
        self.known.lock().unwrap().insert(key);
        true
    }

    /// Both the prepared key and the person's stay.
    fn kept(&self, read: &Value) -> bool {
        read["knownKeys"]
            .as_array()
            .is_some_and(|keys| keys.len() == 2)
    }
}

/// A disabled service account enabled. gcplocal serves no `:enable` or `:disable`.
struct EnabledCase;

#[async_trait]
impl GcpCase for EnabledCase {
    fn fault_id(&self) -> &'static str {
        "gcp.iam.service-account-enabled"
    }

    fn unsupported(&self) -> Option<&'static str> {
        Some("gcplocal 0.1.0 serves no serviceAccounts :enable or :disable (POST answers 405)")
    }

    async fn prepare(&self, gcp: &GcpClient, name: &str) -> ResourceRef {
        let description = "Retired batch account. rdfi-target=true";
        let email = gcp
            .create_service_account(name, "Retired batch", description)
            .await;
        gcp.patch_service_account(&email, json!({"disabled": true}))
            .await;
        service_account_ref(PROJECT, &email, description)
    }

    async fn read(&self, gcp: &GcpClient, resource: &ResourceRef) -> Value {
        let account = gcp.service_account(&resource.name).await;
        json!({
            "disabled": account["disabled"],
            "displayName": account["displayName"],
            "description": account["description"],
        })
    }

    fn misconfigured(&self, read: &Value) -> bool {
        read["disabled"] != json!(true)
    }

    async fn change_meanwhile(&self, gcp: &GcpClient, resource: &ResourceRef) -> bool {
        gcp.patch_service_account(
            &resource.name,
            json!({"displayName": "Retired batch (kept for audit)"}),
        )
        .await;
        true
    }

    fn kept(&self, read: &Value) -> bool {
        read["displayName"] == "Retired batch (kept for audit)"
    }
}
