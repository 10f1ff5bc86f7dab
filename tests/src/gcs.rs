//! gcp-storage-emulator for the GCS tests, and a small JSON API client of its own (plain reqwest, none of
//! rdfi's provider code) to prepare buckets and read them back independently.

use std::time::Duration;

use serde_json::{Value, json};

use crate::{Process, free_port, venv_program, wait_for_port};

/// The project the emulator's buckets belong to.
pub const PROJECT: &str = "rdfi-conformance";

/// gcp-storage-emulator on a free port, in memory, stopped when dropped.
pub struct GcsEmulator {
    /// The JSON API base URL, `http://127.0.0.1:PORT`.
    pub endpoint: String,
    _process: Process,
}

impl GcsEmulator {
    pub fn start() -> GcsEmulator {
        let port = free_port();
        let process = Process::spawn(
            &venv_program("gcp-storage-emulator"),
            &[
                "start".to_owned(),
                "-H".to_owned(),
                "127.0.0.1".to_owned(),
                "--port".to_owned(),
                port.to_string(),
                "--in-memory".to_owned(),
            ],
            &[],
        );
        assert!(
            wait_for_port(port, Duration::from_secs(60)),
            "gcp-storage-emulator did not listen on {port}"
        );
        GcsEmulator {
            endpoint: format!("http://127.0.0.1:{port}"),
            _process: process,
        }
    }
}

/// The test's own JSON API client; every call panics on failure, as set-up and independent reads must work.
pub struct GcsClient {
    http: reqwest::Client,
    endpoint: String,
}

impl GcsClient {
    pub fn new(endpoint: &str) -> GcsClient {
        GcsClient {
            http: reqwest::Client::new(),
            endpoint: endpoint.trim_end_matches('/').to_owned(),
        }
    }

    fn bucket_url(&self, bucket: &str) -> String {
        format!("{}/storage/v1/b/{bucket}", self.endpoint)
    }

    async fn call(&self, what: &str, request: reqwest::RequestBuilder) -> Value {
        let response = request
            .send()
            .await
            .unwrap_or_else(|error| panic!("{what}: {error}"));
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        assert!(status.is_success(), "{what}: HTTP {status}: {body}");
        serde_json::from_str(&body).unwrap_or_else(|error| panic!("{what}: {error}: {body}"))
    }

    /// Creates a bucket in [`PROJECT`].
    pub async fn create_bucket(&self, bucket: &str) {
        let url = format!("{}/storage/v1/b", self.endpoint);
        let request = self
            .http
            .post(url)
            .query(&[("project", PROJECT)])
            .json(&json!({ "name": bucket }));
        self.call("buckets.insert", request).await;
    }

    pub async fn patch_bucket(&self, bucket: &str, patch: &Value) {
        let request = self.http.patch(self.bucket_url(bucket)).json(patch);
        self.call("buckets.patch", request).await;
    }

    /// The bucket's metadata, ACLs included.
    pub async fn get_bucket(&self, bucket: &str) -> Value {
        let request = self
            .http
            .get(self.bucket_url(bucket))
            .query(&[("projection", "full")]);
        self.call("buckets.get", request).await
    }

    pub async fn get_iam_policy(&self, bucket: &str) -> Value {
        let request = self
            .http
            .get(format!("{}/iam", self.bucket_url(bucket)))
            .query(&[("optionsRequestedPolicyVersion", "3")]);
        self.call("buckets.getIamPolicy", request).await
    }

    /// Replaces the bucket's IAM bindings (version 3, with the etag just read).
    pub async fn set_iam_bindings(&self, bucket: &str, bindings: Value) {
        let etag = self.get_iam_policy(bucket).await["etag"].clone();
        let request = self
            .http
            .put(format!("{}/iam", self.bucket_url(bucket)))
            .json(&json!({ "bindings": bindings, "etag": etag, "version": 3 }));
        self.call("buckets.setIamPolicy", request).await;
    }
}
