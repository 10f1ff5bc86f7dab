//! The Resource Manager v1, IAM v1 and Compute Engine v1 calls rdfi makes, over the same JSON API client as
//! Cloud Storage ([`JsonApiClient`]). Each operation is named by the IAM permission it needs
//! (`resourcemanager.projects.setIamPolicy`), so that a refusal names the refused permission.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::json_api::{GoogleApi, JsonApiClient, REQUEST_TIMEOUT, status_error};
use crate::{ProviderError, Result};

/// How often a Compute Engine operation is read again until it is done.
const OPERATION_POLL: Duration = Duration::from_millis(500);

/// The key type and algorithm of the keys rdfi creates: a JSON credentials file Google signs with an RSA
/// 2048 key (the default of `gcloud iam service-accounts keys create`).
const KEY_REQUEST: &str =
    r#"{"privateKeyType": "TYPE_GOOGLE_CREDENTIALS_FILE", "keyAlgorithm": "KEY_ALG_RSA_2048"}"#;

fn unexpected(operation: &str, resource: &str, reason: String) -> ProviderError {
    ProviderError::Api {
        operation: operation.to_owned(),
        resource: resource.to_owned(),
        reason,
        retryable: false,
        throttled: false,
    }
}

impl JsonApiClient {
    fn project_url(&self) -> String {
        format!(
            "{}/v1/projects/{}",
            self.base_url(GoogleApi::ResourceManager),
            self.project()
        )
    }

    fn service_account_url(&self, email: &str) -> String {
        format!(
            "{}/v1/projects/{}/serviceAccounts/{email}",
            self.base_url(GoogleApi::Iam),
            self.project()
        )
    }

    fn compute_url(&self, path: &str) -> String {
        format!(
            "{}/compute/v1/projects/{}/{path}",
            self.base_url(GoogleApi::Compute),
            self.project()
        )
    }

    /// Every item of a listing, all pages (`pageToken`, `nextPageToken`), under `field`.
    async fn list_all(
        &self,
        api: GoogleApi,
        operation: &str,
        url: &str,
        field: &str,
        query: &[(&str, &str)],
    ) -> Result<Vec<Value>> {
        let mut items = Vec::new();
        let mut page_token: Option<String> = None;
        loop {
            let mut request = self.http().get(url).query(query);
            if let Some(token) = &page_token {
                request = request.query(&[("pageToken", token)]);
            }
            let page: Value = self.send(api, operation, self.project(), request).await?;
            if let Some(found) = page.get(field).and_then(Value::as_array) {
                items.extend(found.iter().cloned());
            }
            page_token = page
                .get("nextPageToken")
                .and_then(Value::as_str)
                .filter(|token| !token.is_empty())
                .map(str::to_owned);
            if page_token.is_none() {
                return Ok(items);
            }
        }
    }

    /// The project (`projects.get`): its id, number and labels.
    pub async fn get_project(&self) -> Result<Value> {
        let request = self.http().get(self.project_url());
        self.send(
            GoogleApi::ResourceManager,
            "resourcemanager.projects.get",
            self.project(),
            request,
        )
        .await
    }

    /// The project's IAM policy, conditional bindings and audit configs included (policy version 3).
    pub async fn get_project_iam_policy(&self) -> Result<Value> {
        let request = self
            .http()
            .post(format!("{}:getIamPolicy", self.project_url()))
            .json(&json!({"options": {"requestedPolicyVersion": 3}}));
        self.send(
            GoogleApi::ResourceManager,
            "resourcemanager.projects.getIamPolicy",
            self.project(),
            request,
        )
        .await
    }

    /// Replaces the fields of the project's IAM policy that `update_mask` names (`bindings`, `auditConfigs`)
    /// with those of `policy`, which carries the etag it was read with: a concurrent change makes Google
    /// answer 409 (retryable) instead of being overwritten.
    pub async fn set_project_iam_policy(&self, policy: &Value, update_mask: &str) -> Result<()> {
        let request = self
            .http()
            .post(format!("{}:setIamPolicy", self.project_url()))
            .json(&json!({"policy": policy, "updateMask": update_mask}));
        self.send::<Value>(
            GoogleApi::ResourceManager,
            "resourcemanager.projects.setIamPolicy",
            self.project(),
            request,
        )
        .await
        .map(drop)
    }

    /// Every service account of the project, all pages.
    pub async fn list_service_accounts(&self) -> Result<Vec<Value>> {
        let url = format!(
            "{}/v1/projects/{}/serviceAccounts",
            self.base_url(GoogleApi::Iam),
            self.project()
        );
        self.list_all(
            GoogleApi::Iam,
            "iam.serviceAccounts.list",
            &url,
            "accounts",
            &[],
        )
        .await
    }

    pub async fn get_service_account(&self, email: &str) -> Result<Value> {
        let request = self.http().get(self.service_account_url(email));
        self.send(GoogleApi::Iam, "iam.serviceAccounts.get", email, request)
            .await
    }

    /// Replaces the service account's description (`serviceAccounts.patch`, `updateMask=description`).
    pub async fn set_service_account_description(
        &self,
        email: &str,
        description: &str,
    ) -> Result<()> {
        let request = self
            .http()
            .request(Method::PATCH, self.service_account_url(email))
            .json(&json!({
                "serviceAccount": {"description": description},
                "updateMask": "description",
            }));
        self.send::<Value>(GoogleApi::Iam, "iam.serviceAccounts.update", email, request)
            .await
            .map(drop)
    }

    /// Enables (`:enable`) or disables (`:disable`) the service account.
    pub async fn set_service_account_enabled(&self, email: &str, enabled: bool) -> Result<()> {
        let (verb, operation) = if enabled {
            ("enable", "iam.serviceAccounts.enable")
        } else {
            ("disable", "iam.serviceAccounts.disable")
        };
        let request = self
            .http()
            .post(format!("{}:{verb}", self.service_account_url(email)))
            .json(&json!({}));
        self.send::<Value>(GoogleApi::Iam, operation, email, request)
            .await
            .map(drop)
    }

    /// The service account's user-managed keys (`keys.list`, `keyTypes=USER_MANAGED`; one page holds all).
    pub async fn list_user_managed_keys(&self, email: &str) -> Result<Vec<Value>> {
        let request = self
            .http()
            .get(format!("{}/keys", self.service_account_url(email)))
            .query(&[("keyTypes", "USER_MANAGED")]);
        let answer: Value = self
            .send(
                GoogleApi::Iam,
                "iam.serviceAccountKeys.list",
                email,
                request,
            )
            .await?;
        Ok(answer
            .get("keys")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default())
    }

    /// Creates a user-managed key and returns its id; the private key in the answer goes no further.
    pub async fn create_key(&self, email: &str) -> Result<String> {
        let operation = "iam.serviceAccountKeys.create";
        let request = self
            .http()
            .post(format!("{}/keys", self.service_account_url(email)))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(KEY_REQUEST);
        let created: Value = self.send(GoogleApi::Iam, operation, email, request).await?;
        let key_id = created
            .get("name")
            .and_then(Value::as_str)
            .and_then(|name| name.rsplit('/').next())
            .map(str::to_owned);
        drop(created);
        key_id.ok_or_else(|| unexpected(operation, email, "the answer names no key".to_owned()))
    }

    /// Deletes a key; one that is not there counts as deleted.
    pub async fn delete_key(&self, email: &str, key_id: &str) -> Result<()> {
        let operation = "iam.serviceAccountKeys.delete";
        let request = self
            .http()
            .delete(format!("{}/keys/{key_id}", self.service_account_url(email)));
        match self
            .exchange(GoogleApi::Iam, operation, email, request)
            .await?
        {
            (status, _) if status.is_success() || status == StatusCode::NOT_FOUND => Ok(()),
            (status, body) => Err(status_error(operation, email, status, &body)),
        }
    }

    /// Every VPC firewall rule of the project, all pages.
    pub async fn list_firewalls(&self) -> Result<Vec<Value>> {
        self.list_all(
            GoogleApi::Compute,
            "compute.firewalls.list",
            &self.compute_url("global/firewalls"),
            "items",
            &[],
        )
        .await
    }

    pub async fn get_firewall(&self, name: &str) -> Result<Value> {
        let request = self
            .http()
            .get(self.compute_url(&format!("global/firewalls/{name}")));
        self.send(GoogleApi::Compute, "compute.firewalls.get", name, request)
            .await
    }

    /// Creates a firewall rule (`firewalls.insert`) and waits for its operation.
    pub async fn insert_firewall(&self, rule: &Value) -> Result<()> {
        let name = rule.get("name").and_then(Value::as_str).unwrap_or_default();
        let request = self
            .http()
            .post(self.compute_url("global/firewalls"))
            .json(rule);
        let operation: Value = self
            .send(
                GoogleApi::Compute,
                "compute.firewalls.create",
                name,
                request,
            )
            .await?;
        self.wait_for("compute.firewalls.create", name, operation)
            .await
    }

    /// Patches the fields in `patch` (`firewalls.patch`, merge semantics) and waits for its operation.
    pub async fn patch_firewall(&self, name: &str, patch: &Value) -> Result<()> {
        let request = self
            .http()
            .request(
                Method::PATCH,
                self.compute_url(&format!("global/firewalls/{name}")),
            )
            .json(patch);
        let operation: Value = self
            .send(
                GoogleApi::Compute,
                "compute.firewalls.update",
                name,
                request,
            )
            .await?;
        self.wait_for("compute.firewalls.update", name, operation)
            .await
    }

    /// Deletes a firewall rule and waits for its operation; one that is not there counts as deleted.
    pub async fn delete_firewall(&self, name: &str) -> Result<()> {
        let operation = "compute.firewalls.delete";
        let request = self
            .http()
            .delete(self.compute_url(&format!("global/firewalls/{name}")));
        match self
            .exchange(GoogleApi::Compute, operation, name, request)
            .await?
        {
            (StatusCode::NOT_FOUND, _) => Ok(()),
            (status, body) if status.is_success() => {
                let answer = serde_json::from_str(&body).map_err(|error| {
                    unexpected(
                        operation,
                        name,
                        format!("unexpected answer ({error}): {body}"),
                    )
                })?;
                self.wait_for(operation, name, answer).await
            }
            (status, body) => Err(status_error(operation, name, status, &body)),
        }
    }

    /// Waits until a global Compute Engine operation is done, reading it again every half second; its
    /// errors become the call's. An operation still running after [`REQUEST_TIMEOUT`] is a retryable failure
    /// (the change may still happen: the revert's verification reads what did).
    async fn wait_for(&self, operation: &str, resource: &str, mut answer: Value) -> Result<()> {
        let started = Instant::now();
        loop {
            if answer.get("status").and_then(Value::as_str) == Some("DONE") {
                return match answer.pointer("/error/errors") {
                    Some(errors) => Err(operation_error(operation, resource, errors)),
                    None => Ok(()),
                };
            }
            if started.elapsed() > REQUEST_TIMEOUT {
                return Err(ProviderError::Api {
                    operation: operation.to_owned(),
                    resource: resource.to_owned(),
                    reason: "the operation is not done yet".to_owned(),
                    retryable: true,
                    throttled: false,
                });
            }
            tokio::time::sleep(OPERATION_POLL).await;
            let name = answer
                .get("name")
                .and_then(Value::as_str)
                .ok_or_else(|| {
                    unexpected(
                        operation,
                        resource,
                        format!("an operation without a name: {answer}"),
                    )
                })?
                .to_owned();
            let request = self
                .http()
                .get(self.compute_url(&format!("global/operations/{name}")));
            answer = self
                .send(
                    GoogleApi::Compute,
                    "compute.globalOperations.get",
                    resource,
                    request,
                )
                .await?;
        }
    }
}

/// A done operation's errors: a refusal when Google names a constraint or a permission, else a failure.
fn operation_error(operation: &str, resource: &str, errors: &Value) -> ProviderError {
    let message = errors
        .as_array()
        .into_iter()
        .flatten()
        .map(|error| {
            format!(
                "{}: {}",
                error.get("code").and_then(Value::as_str).unwrap_or("ERROR"),
                error
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    let body = json!({"error": {"message": message}}).to_string();
    let status = if message.contains("PERMISSION_DENIED") || message.contains("FORBIDDEN") {
        StatusCode::FORBIDDEN
    } else {
        StatusCode::BAD_REQUEST
    };
    status_error(operation, resource, status, &body)
}
