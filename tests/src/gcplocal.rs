//! gcplocal for the tests of Google Cloud beyond storage (Resource Manager, IAM, Compute Engine on one port),
//! and a small client of its own (plain reqwest, none of rdfi's provider code) to prepare resources and read
//! them back independently.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::{Process, free_port, venv_program, wait_for_port};

/// The project gcplocal's resources belong to; it opts in by its label.
pub const PROJECT: &str = "rdfi-conformance";

/// gcplocal on a free port, in memory, with [`PROJECT`] created and labelled `rdfi-target: "true"`; stopped
/// when dropped.
pub struct GcpLocal {
    /// The base URL of every API, `http://127.0.0.1:PORT`.
    pub endpoint: String,
    _process: Process,
}

impl GcpLocal {
    pub async fn start() -> GcpLocal {
        let port = free_port();
        let process = Process::spawn(
            &venv_program("gcplocal"),
            &[
                "start".to_owned(),
                "--host".to_owned(),
                "127.0.0.1".to_owned(),
                "--port".to_owned(),
                port.to_string(),
            ],
            &[],
        );
        assert!(
            wait_for_port(port, Duration::from_secs(60)),
            "gcplocal did not listen on {port}"
        );
        let emulator = GcpLocal {
            endpoint: format!("http://127.0.0.1:{port}"),
            _process: process,
        };
        GcpClient::new(&emulator.endpoint)
            .call(
                "projects.create",
                Method::POST,
                "/v1/projects",
                Some(json!({
                    "projectId": PROJECT,
                    "name": PROJECT,
                    "labels": {"rdfi-target": "true", "team": "conformance"},
                })),
            )
            .await;
        emulator
    }
}

/// The test's own client; every call panics on failure, as set-up and independent reads must work.
pub struct GcpClient {
    http: reqwest::Client,
    endpoint: String,
}

impl GcpClient {
    pub fn new(endpoint: &str) -> GcpClient {
        GcpClient {
            http: reqwest::Client::new(),
            endpoint: endpoint.trim_end_matches('/').to_owned(),
        }
    }

    /// Calls `path` (from the base URL) and returns its JSON answer.
    pub async fn call(&self, what: &str, method: Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.endpoint));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|error| panic!("{what}: {error}"));
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        assert!(status.is_success(), "{what}: HTTP {status}: {body}");
        if body.trim().is_empty() {
            return Value::Null;
        }
        serde_json::from_str(&body).unwrap_or_else(|error| panic!("{what}: {error}: {body}"))
    }

    pub async fn project(&self) -> Value {
        self.call(
            "projects.get",
            Method::GET,
            &format!("/v1/projects/{PROJECT}"),
            None,
        )
        .await
    }

    pub async fn project_iam_policy(&self) -> Value {
        self.call(
            "projects.getIamPolicy",
            Method::POST,
            &format!("/v1/projects/{PROJECT}:getIamPolicy"),
            Some(json!({"options": {"requestedPolicyVersion": 3}})),
        )
        .await
    }

    /// Replaces the project's IAM policy (bindings and audit configs) with the etag just read.
    pub async fn set_project_iam_policy(&self, mut policy: Value) {
        policy["etag"] = self.project_iam_policy().await["etag"].clone();
        policy["version"] = json!(3);
        self.call(
            "projects.setIamPolicy",
            Method::POST,
            &format!("/v1/projects/{PROJECT}:setIamPolicy"),
            Some(json!({"policy": policy, "updateMask": "bindings,auditConfigs,etag"})),
        )
        .await;
    }

    /// Creates a service account `account_id@PROJECT.iam.gserviceaccount.com`; returns its email.
    pub async fn create_service_account(
        &self,
        account_id: &str,
        display_name: &str,
        description: &str,
    ) -> String {
        let account = self
            .call(
                "serviceAccounts.create",
                Method::POST,
                &format!("/v1/projects/{PROJECT}/serviceAccounts"),
                Some(json!({
                    "accountId": account_id,
                    "serviceAccount": {"displayName": display_name, "description": description},
                })),
            )
            .await;
        account["email"].as_str().expect("an email").to_owned()
    }

    pub async fn service_account(&self, email: &str) -> Value {
        self.call(
            "serviceAccounts.get",
            Method::GET,
            &format!("/v1/projects/{PROJECT}/serviceAccounts/{email}"),
            None,
        )
        .await
    }

    /// Patches a service account's fields (gcplocal takes any field without a mask: set-up only).
    pub async fn patch_service_account(&self, email: &str, fields: Value) {
        self.call(
            "serviceAccounts.patch",
            Method::PATCH,
            &format!("/v1/projects/{PROJECT}/serviceAccounts/{email}"),
            Some(json!({"serviceAccount": fields})),
        )
        .await;
    }

    /// The ids of the account's user-managed keys, sorted.
    pub async fn key_ids(&self, email: &str) -> Vec<String> {
        let answer = self
            .call(
                "keys.list",
                Method::GET,
                &format!(
                    "/v1/projects/{PROJECT}/serviceAccounts/{email}/keys?keyTypes=USER_MANAGED"
                ),
                None,
            )
            .await;
        let mut ids: Vec<String> = answer["keys"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|key| key["name"].as_str()?.rsplit('/').next().map(str::to_owned))
            .collect();
        ids.sort();
        ids
    }

    /// Creates a key; returns its id.
    pub async fn create_key(&self, email: &str) -> String {
        let key = self
            .call(
                "keys.create",
                Method::POST,
                &format!("/v1/projects/{PROJECT}/serviceAccounts/{email}/keys"),
                Some(json!({"privateKeyType": "TYPE_GOOGLE_CREDENTIALS_FILE"})),
            )
            .await;
        key["name"]
            .as_str()
            .and_then(|name| name.rsplit('/').next())
            .expect("a key name")
            .to_owned()
    }

    /// Creates a VPC firewall rule, then patches what gcplocal's insert drops (`logConfig`).
    pub async fn create_firewall(&self, rule: Value) {
        let name = rule["name"].as_str().expect("a name").to_owned();
        self.call(
            "firewalls.insert",
            Method::POST,
            &format!("/compute/v1/projects/{PROJECT}/global/firewalls"),
            Some(rule.clone()),
        )
        .await;
        if let Some(log_config) = rule.get("logConfig") {
            self.patch_firewall(&name, json!({"logConfig": log_config}))
                .await;
        }
    }

    pub async fn patch_firewall(&self, name: &str, patch: Value) {
        self.call(
            "firewalls.patch",
            Method::PATCH,
            &format!("/compute/v1/projects/{PROJECT}/global/firewalls/{name}"),
            Some(patch),
        )
        .await;
    }

    pub async fn firewall(&self, name: &str) -> Value {
        self.call(
            "firewalls.get",
            Method::GET,
            &format!("/compute/v1/projects/{PROJECT}/global/firewalls/{name}"),
            None,
        )
        .await
    }

    /// Every firewall rule of the project (one page: the tests make few).
    pub async fn firewalls(&self) -> Vec<Value> {
        self.call(
            "firewalls.list",
            Method::GET,
            &format!("/compute/v1/projects/{PROJECT}/global/firewalls"),
            None,
        )
        .await["items"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }
}
