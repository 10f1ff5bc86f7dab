//! A small client of Google Cloud's JSON APIs. Cloud Storage (`/storage/v1`): list buckets, get and patch a
//! bucket, get and set a bucket's IAM policy; insert, delete and read exposure canary objects (one-shot media
//! uploads: three calls, rather than the `google-cloud-storage` crate, which costs a build as long as the
//! workspace's: ADR 6). Bucket configuration goes through the JSON API rather than the `google-cloud-storage`
//! crate because that crate reaches bucket, IAM and ACL settings over gRPC only, which no offline emulator
//! speaks. Resource Manager, IAM and Compute Engine ([`super::apis`]) go through the same client rather than
//! Google's generated crates (google-cloud-iam-admin-v1, google-cloud-compute-v1), whose code takes many
//! minutes to compile.
//!
//! Against Google, every call carries an OAuth access token from application default credentials
//! (`google-cloud-auth`), built on the first call that needs one; calls to an overridden base URL (an
//! emulator) are anonymous. Cloud Storage and the other APIs are overridden apart (`--gcs-endpoint`,
//! `--gcp-endpoint`).

use std::sync::OnceLock;
use std::time::Duration;

use google_cloud_auth::credentials::{AccessTokenCredentials, Builder as CredentialsBuilder};
use reqwest::{Method, RequestBuilder, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::exposure::{AnonymousAnswer, OutsiderRead};
use crate::refusal::{Attribution, ControlType, NamedControl};
use crate::{ProviderError, Result};

/// Google's Cloud Storage endpoint.
pub const DEFAULT_BASE_URL: &str = "https://storage.googleapis.com";
/// The OAuth scope of every Google Cloud API rdfi calls (bucket configuration, IAM, projects, firewalls).
const CLOUD_PLATFORM_SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";
/// How long one call may take, from connecting to the last byte of its answer, before it counts as a
/// (retryable) transport failure. The client does not retry itself: `rdfi_provider::with_retry` is the one
/// retry layer.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// How long connecting (TCP and TLS) may take before the call counts as a (retryable) transport failure.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The Google Cloud APIs rdfi calls, each at a host of its own at Google.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GoogleApi {
    Storage,
    ResourceManager,
    Iam,
    Compute,
}

impl GoogleApi {
    fn google_base_url(self) -> &'static str {
        match self {
            GoogleApi::Storage => DEFAULT_BASE_URL,
            GoogleApi::ResourceManager => "https://cloudresourcemanager.googleapis.com",
            GoogleApi::Iam => "https://iam.googleapis.com",
            GoogleApi::Compute => "https://compute.googleapis.com",
        }
    }
}

/// Where Google says whose an access token is (its `email`).
const TOKENINFO_URL: &str = "https://oauth2.googleapis.com/tokeninfo";

/// The JSON API client: base URL overrides, project, and the credentials for the APIs reached at Google.
pub struct JsonApiClient {
    http: reqwest::Client,
    /// Cloud Storage's base URL override.
    storage_endpoint: Option<String>,
    /// One base URL override for every other API (an emulator serves them all on one port).
    api_endpoint: Option<String>,
    project: String,
    /// Application default credentials, built on the first call to Google that needs them.
    credentials: OnceLock<std::result::Result<AccessTokenCredentials, String>>,
}

impl JsonApiClient {
    /// A client of Google's endpoints, authenticated with application default credentials, except for the
    /// APIs whose base URL is overridden (`http://127.0.0.1:PORT`), which are called anonymously.
    pub fn connect(
        project: &str,
        storage_endpoint: Option<&str>,
        api_endpoint: Option<&str>,
    ) -> Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(CONNECT_TIMEOUT)
            .build()
            .map_err(|error| ProviderError::Config(format!("http client: {error}")))?;
        let trimmed = |endpoint: &str| endpoint.trim_end_matches('/').to_owned();
        Ok(JsonApiClient {
            http,
            storage_endpoint: storage_endpoint.map(trimmed),
            api_endpoint: api_endpoint.map(trimmed),
            project: project.to_owned(),
            credentials: OnceLock::new(),
        })
    }

    /// An anonymous client of an emulator at `base_url` (`http://127.0.0.1:PORT`) for every API.
    pub fn anonymous(base_url: &str, project: &str) -> Result<Self> {
        Self::connect(project, Some(base_url), Some(base_url))
    }

    /// The project whose resources the client reads and changes.
    pub fn project(&self) -> &str {
        &self.project
    }

    /// The override of `api`'s base URL, if any.
    fn endpoint(&self, api: GoogleApi) -> Option<&str> {
        match api {
            GoogleApi::Storage => self.storage_endpoint.as_deref(),
            _ => self.api_endpoint.as_deref(),
        }
    }

    /// `api`'s base URL: the override, or Google's.
    pub(super) fn base_url(&self, api: GoogleApi) -> &str {
        self.endpoint(api).unwrap_or(api.google_base_url())
    }

    pub(super) fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// The access token credentials, built once.
    fn credentials(&self) -> std::result::Result<&AccessTokenCredentials, String> {
        self.credentials
            .get_or_init(|| {
                CredentialsBuilder::default()
                    .with_scopes([CLOUD_PLATFORM_SCOPE])
                    .build_access_token_credentials()
                    .map_err(|error| format!("google application default credentials: {error}"))
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// The email of the identity the client acts as at Google, from the tokeninfo of its access token; `None`
    /// when an API is an emulator's (a run against emulators acts as no one of Google's).
    pub(super) async fn caller_email(&self) -> Result<Option<String>> {
        if self.storage_endpoint.is_some() || self.api_endpoint.is_some() {
            return Ok(None);
        }
        let api_error = |reason: String, retryable: bool| ProviderError::Api {
            operation: "tokeninfo".to_owned(),
            resource: "caller".to_owned(),
            reason,
            retryable,
            throttled: false,
        };
        let credentials = self.credentials().map_err(ProviderError::Config)?;
        let token = credentials
            .access_token()
            .await
            .map_err(|error| api_error(format!("access token: {error}"), error.is_transient()))?;
        let response = self
            .http
            .get(TOKENINFO_URL)
            .query(&[("access_token", token.token.as_str())])
            .send()
            .await
            .map_err(|error| api_error(error.to_string(), true))?;
        let status = response.status();
        let body = response
            .text()
            .await
            .map_err(|error| api_error(error.to_string(), true))?;
        if !status.is_success() {
            return Err(api_error(
                format!("HTTP {status}"),
                status.is_server_error(),
            ));
        }
        let info: serde_json::Value = serde_json::from_str(&body)
            .map_err(|error| api_error(format!("not JSON: {error}"), false))?;
        Ok(info["email"].as_str().map(str::to_owned))
    }

    fn bucket_url(&self, bucket: &str) -> String {
        format!(
            "{}/storage/v1/b/{bucket}",
            self.base_url(GoogleApi::Storage)
        )
    }

    /// Every bucket of the project, all pages (`buckets.list` with `pageToken`).
    pub async fn list_buckets(&self) -> Result<Vec<Value>> {
        let mut buckets = Vec::new();
        let mut page_token: Option<String> = None;
        loop {
            let mut query = vec![("project", self.project.clone())];
            if let Some(token) = &page_token {
                query.push(("pageToken", token.clone()));
            }
            let request = self
                .http
                .get(format!(
                    "{}/storage/v1/b",
                    self.base_url(GoogleApi::Storage)
                ))
                .query(&query);
            let page: Value = self
                .send(GoogleApi::Storage, "buckets.list", &self.project, request)
                .await?;
            if let Some(items) = page.get("items").and_then(Value::as_array) {
                buckets.extend(items.iter().cloned());
            }
            page_token = page
                .get("nextPageToken")
                .and_then(Value::as_str)
                .filter(|token| !token.is_empty())
                .map(str::to_owned);
            if page_token.is_none() {
                return Ok(buckets);
            }
        }
    }

    /// A bucket's full metadata, ACLs included (`projection=full`).
    pub async fn get_bucket<T: DeserializeOwned>(&self, bucket: &str) -> Result<T> {
        let request = self
            .http
            .get(self.bucket_url(bucket))
            .query(&[("projection", "full")]);
        self.send(GoogleApi::Storage, "buckets.get", bucket, request)
            .await
    }

    /// Patches the bucket fields in `patch`, leaving every other field as it is; with a metageneration, only
    /// if the bucket's metadata still has it (`ifMetagenerationMatch`: else Google answers 412, retryable).
    pub async fn patch_bucket(
        &self,
        bucket: &str,
        patch: &Value,
        if_metageneration_match: Option<&str>,
    ) -> Result<()> {
        let mut query = vec![("projection", "full")];
        if let Some(metageneration) = if_metageneration_match {
            query.push(("ifMetagenerationMatch", metageneration));
        }
        let request = self
            .http
            .request(Method::PATCH, self.bucket_url(bucket))
            .query(&query)
            .json(patch);
        self.send::<Value>(GoogleApi::Storage, "buckets.patch", bucket, request)
            .await
            .map(drop)
    }

    /// The bucket's IAM policy, conditional bindings included (policy version 3).
    pub async fn get_iam_policy<T: DeserializeOwned>(&self, bucket: &str) -> Result<T> {
        let request = self
            .http
            .get(format!("{}/iam", self.bucket_url(bucket)))
            .query(&[("optionsRequestedPolicyVersion", "3")]);
        self.send(GoogleApi::Storage, "buckets.getIamPolicy", bucket, request)
            .await
    }

    /// Replaces the bucket's IAM policy; the policy carries the etag it was read with, so a concurrent change
    /// makes Google answer 412 instead of being overwritten.
    pub async fn set_iam_policy<T: Serialize>(&self, bucket: &str, policy: &T) -> Result<()> {
        let request = self
            .http
            .put(format!("{}/iam", self.bucket_url(bucket)))
            .json(policy);
        self.send::<Value>(GoogleApi::Storage, "buckets.setIamPolicy", bucket, request)
            .await
            .map(drop)
    }

    /// The URL of an object: its name is one path segment, `/` escaped.
    fn object_url(&self, prefix: &str, bucket: &str, key: Option<&str>) -> Result<reqwest::Url> {
        let mut url = reqwest::Url::parse(&format!(
            "{}{prefix}/b/{bucket}/o",
            self.base_url(GoogleApi::Storage)
        ))
        .map_err(|error| ProviderError::Config(format!("storage URL: {error}")))?;
        if let Some(key) = key
            && let Ok(mut segments) = url.path_segments_mut()
        {
            segments.push(key);
        }
        Ok(url)
    }

    /// Uploads an object in one request (`objects.insert`, media upload); it gets the bucket's default object
    /// ACL, as any new object does.
    pub async fn insert_object(&self, bucket: &str, key: &str, content: &str) -> Result<()> {
        let mut url = self.object_url("/upload/storage/v1", bucket, None)?;
        url.query_pairs_mut()
            .append_pair("uploadType", "media")
            .append_pair("name", key);
        let request = self
            .http
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "text/plain")
            .body(content.to_owned());
        self.send::<Value>(GoogleApi::Storage, "objects.insert", bucket, request)
            .await
            .map(drop)
    }

    /// Deletes an object (`objects.delete`); one that is not there counts as deleted.
    pub async fn delete_object(&self, bucket: &str, key: &str) -> Result<()> {
        let request = self
            .http
            .delete(self.object_url("/storage/v1", bucket, Some(key))?);
        match self
            .exchange(GoogleApi::Storage, "objects.delete", bucket, request)
            .await?
        {
            (status, _) if status.is_success() || status == StatusCode::NOT_FOUND => Ok(()),
            (status, body) => Err(status_error("objects.delete", bucket, status, &body)),
        }
    }

    /// Whether an object is there (`objects.get` of its metadata).
    pub async fn object_exists(&self, bucket: &str, key: &str) -> Result<bool> {
        let request = self
            .http
            .get(self.object_url("/storage/v1", bucket, Some(key))?);
        match self
            .exchange(GoogleApi::Storage, "objects.get", bucket, request)
            .await?
        {
            (status, _) if status.is_success() => Ok(true),
            (StatusCode::NOT_FOUND, _) => Ok(false),
            (status, body) => Err(status_error("objects.get", bucket, status, &body)),
        }
    }

    /// Reads an object's content (`alt=media`), or lists the bucket under `key`, as an outsider would: no
    /// token, no rdfi header.
    pub async fn read_anonymously(
        &self,
        bucket: &str,
        read: OutsiderRead,
        key: &str,
    ) -> AnonymousAnswer {
        let url = match read {
            OutsiderRead::GetObject => {
                self.object_url("/storage/v1", bucket, Some(key))
                    .map(|mut url| {
                        url.query_pairs_mut().append_pair("alt", "media");
                        url
                    })
            }
            OutsiderRead::ListObjects => {
                self.object_url("/storage/v1", bucket, None).map(|mut url| {
                    url.query_pairs_mut().append_pair("prefix", key);
                    url
                })
            }
        };
        let response = match url {
            Ok(url) => self.http.get(url).send().await,
            Err(error) => return AnonymousAnswer::Unreachable(error.to_string()),
        };
        let answer = match response {
            Ok(response) => (response.status(), response.bytes().await),
            Err(error) => return AnonymousAnswer::Unreachable(error.to_string()),
        };
        match answer {
            (_, Err(error)) => AnonymousAnswer::Unreachable(error.to_string()),
            (status, Ok(body)) if !status.is_success() => AnonymousAnswer::Status {
                status: status.as_u16(),
                code: error_message(&String::from_utf8_lossy(&body)),
            },
            (_, Ok(body)) => match read {
                OutsiderRead::GetObject => AnonymousAnswer::Object(body.to_vec()),
                OutsiderRead::ListObjects => AnonymousAnswer::Listing(
                    serde_json::from_slice::<Value>(&body)
                        .ok()
                        .and_then(|listing| listing.get("items").cloned())
                        .and_then(|items| items.as_array().cloned())
                        .unwrap_or_default()
                        .iter()
                        .filter_map(|item| item.get("name").and_then(Value::as_str))
                        .map(str::to_owned)
                        .collect(),
                ),
            },
        }
    }

    /// Sends a request with the access token (if any) and reads its JSON answer, mapping failures.
    pub(super) async fn send<T: DeserializeOwned>(
        &self,
        api: GoogleApi,
        operation: &str,
        resource: &str,
        request: RequestBuilder,
    ) -> Result<T> {
        let (status, body) = self.exchange(api, operation, resource, request).await?;
        if !status.is_success() {
            return Err(status_error(operation, resource, status, &body));
        }
        serde_json::from_str(&body).map_err(|error| ProviderError::Api {
            operation: operation.to_owned(),
            resource: resource.to_owned(),
            reason: format!("unexpected answer ({error}): {body}"),
            retryable: false,
            throttled: false,
        })
    }

    /// Sends a request with the access token (if any) and the fault's mark; the answer's status and body.
    pub(super) async fn exchange(
        &self,
        api: GoogleApi,
        operation: &str,
        resource: &str,
        mut request: RequestBuilder,
    ) -> Result<(StatusCode, String)> {
        let api_error = |reason: String, retryable: bool| ProviderError::Api {
            operation: operation.to_owned(),
            resource: resource.to_owned(),
            reason,
            retryable,
            throttled: false,
        };
        if self.endpoint(api).is_none() {
            let credentials = self.credentials().map_err(ProviderError::Config)?;
            let token = credentials.access_token().await.map_err(|error| {
                api_error(format!("access token: {error}"), error.is_transient())
            })?;
            request = request.bearer_auth(token.token);
        }
        // A call made for a fault says which (crate::marking): Cloud Audit Logs records the header of Cloud
        // Storage calls; the other APIs ignore it.
        if let Some(fault_instance) = crate::marking::current() {
            request = request.header(crate::marking::GCS_AUDIT_HEADER, fault_instance);
        }
        let response = request
            .send()
            .await
            .map_err(|error| api_error(error.to_string(), true))?;
        let status = response.status();
        let body = response
            .text()
            .await
            .map_err(|error| api_error(error.to_string(), true))?;
        Ok((status, body))
    }
}

/// What Google says when a preventive control refuses a change with 400 or 412 rather than 403: public access
/// prevention refusing allUsers/allAuthenticatedUsers, domain restricted sharing refusing an outside member,
/// an organization policy constraint, uniform bucket-level access refusing an ACL change.
const REFUSAL_MESSAGES: &[&str] = &[
    "public access prevention",
    "permitted customer",
    "organization policy",
    "constraint",
    "uniform bucket-level access",
];

/// The message of a JSON API error answer, or the answer itself.
fn error_message(body: &str) -> String {
    serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|answer| {
            answer
                .pointer("/error/message")
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .unwrap_or_else(|| body.trim().to_owned())
}

/// Maps an HTTP error answer: 403, and a 400 or 412 naming a preventive control, is a refusal; throttling,
/// server errors and etag conflicts (another 412) are worth retrying; anything else is not.
pub(super) fn status_error(
    operation: &str,
    resource: &str,
    status: StatusCode,
    body: &str,
) -> ProviderError {
    let message = error_message(body);
    let reason = format!("HTTP {}: {message}", status.as_u16());
    let names_a_control = matches!(
        status,
        StatusCode::BAD_REQUEST | StatusCode::PRECONDITION_FAILED
    ) && REFUSAL_MESSAGES
        .iter()
        .any(|fragment| message.to_lowercase().contains(fragment));
    if status == StatusCode::FORBIDDEN || names_a_control {
        return ProviderError::Refused {
            operation: operation.to_owned(),
            resource: resource.to_owned(),
            attribution: Box::new(attribute(operation, resource, &message)),
            reason,
        };
    }
    let retryable = status.is_server_error()
        || matches!(
            status,
            StatusCode::TOO_MANY_REQUESTS
                | StatusCode::REQUEST_TIMEOUT
                | StatusCode::CONFLICT
                | StatusCode::PRECONDITION_FAILED
        );
    ProviderError::Api {
        operation: operation.to_owned(),
        resource: resource.to_owned(),
        reason,
        retryable,
        throttled: status == StatusCode::TOO_MANY_REQUESTS,
    }
}

/// Attributes a refusal from Google's message: public access prevention, uniform bucket-level access and
/// organization policy constraints say so; a bare 403 is a missing permission, or a control rdfi cannot name.
/// The refused permission is the operation's (`buckets.setIamPolicy` needs `storage.buckets.setIamPolicy`).
fn attribute(operation: &str, resource: &str, message: &str) -> Attribution {
    // Cloud Storage operations are named by their JSON API method; the other APIs' by the permission they need.
    let storage = operation.starts_with("buckets.") || operation.starts_with("objects.");
    let permission = match operation {
        "buckets.patch" | "buckets.update" => "storage.buckets.update".to_owned(),
        operation if storage => format!("storage.{operation}"),
        permission => permission.to_owned(),
    };
    let lower = message.to_lowercase();
    let named = |name: &str, control_type| NamedControl {
        name: name.to_owned(),
        location: if storage {
            format!("bucket {resource}")
        } else {
            resource.to_owned()
        },
        control_type,
    };
    let control = if lower.contains("public access prevention") {
        Some(named(
            "publicAccessPrevention",
            ControlType::GcsPublicAccessPrevention,
        ))
    } else if lower.contains("permitted customer") {
        Some(named(
            "constraints/iam.allowedPolicyMemberDomains",
            ControlType::OrgPolicy,
        ))
    } else if let Some(constraint) = message
        .split(|c: char| c.is_whitespace() || c == '\'' || c == '"')
        .find(|word| word.starts_with("constraints/"))
    {
        Some(named(
            constraint.trim_end_matches(['.', ',']),
            ControlType::OrgPolicy,
        ))
    } else if lower.contains("uniform bucket-level access") {
        Some(named(
            "uniformBucketLevelAccess",
            ControlType::GcsUniformBucketLevelAccess,
        ))
    } else if lower.contains("organization policy") {
        Some(named("(not named by Google)", ControlType::OrgPolicy))
    } else {
        None
    };
    Attribution {
        control,
        denied_action: Some(permission),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_name_the_control_google_names_and_no_other() {
        let constraint =
            "Request violates constraint 'constraints/storage.uniformBucketLevelAccess'";
        let control = attribute("buckets.patch", "b", constraint)
            .control
            .expect("named");
        assert_eq!(control.name, "constraints/storage.uniformBucketLevelAccess");
        assert_eq!(control.control_type, ControlType::OrgPolicy);
        let domains =
            "One or more users named in the policy do not belong to a permitted customer.";
        let control = attribute("buckets.setIamPolicy", "b", domains)
            .control
            .expect("named");
        assert_eq!(control.name, "constraints/iam.allowedPolicyMemberDomains");
        let uniform = "Cannot use ACL API to update bucket policy when uniform bucket-level access is enabled.";
        let control = attribute("buckets.patch", "b", uniform)
            .control
            .expect("named");
        assert_eq!(
            control.control_type,
            ControlType::GcsUniformBucketLevelAccess
        );
        let missing = "rdfi@p.iam.gserviceaccount.com does not have storage.buckets.setIamPolicy access to the Google Cloud Storage bucket.";
        let attribution = attribute("buckets.setIamPolicy", "b", missing);
        assert_eq!(attribution.control, None);
        assert_eq!(
            attribution.denied_action.as_deref(),
            Some("storage.buckets.setIamPolicy")
        );
        assert_eq!(
            attribute("buckets.patch", "b", "Forbidden")
                .denied_action
                .as_deref(),
            Some("storage.buckets.update")
        );
    }

    #[test]
    fn errors_map_to_refusals_and_retryable_failures() {
        let body = r#"{"error": {"code": 403, "message": "public access prevention is enforced"}}"#;
        let refused = status_error("buckets.setIamPolicy", "b", StatusCode::FORBIDDEN, body);
        assert!(
            matches!(refused, ProviderError::Refused { ref reason, .. } if reason.contains("prevention"))
        );
        let public_access_prevention = r#"{"error": {"code": 412, "message": "The member bindings allUsers and allAuthenticatedUsers are not allowed since public access prevention is enforced."}}"#;
        assert!(matches!(
            status_error(
                "buckets.setIamPolicy",
                "b",
                StatusCode::PRECONDITION_FAILED,
                public_access_prevention
            ),
            ProviderError::Refused { .. }
        ));
        let ProviderError::Refused { attribution, .. } = status_error(
            "buckets.setIamPolicy",
            "b",
            StatusCode::PRECONDITION_FAILED,
            public_access_prevention,
        ) else {
            panic!("refused")
        };
        let control = attribution.control.expect("attributed");
        assert_eq!(control.control_type, ControlType::GcsPublicAccessPrevention);
        assert_eq!(control.location, "bucket b");
        assert_eq!(
            attribution.denied_action.as_deref(),
            Some("storage.buckets.setIamPolicy")
        );
        let etag_conflict = r#"{"error": {"code": 412, "message": "At least one of the pre-conditions you specified did not hold."}}"#;
        assert!(
            status_error("op", "b", StatusCode::PRECONDITION_FAILED, etag_conflict).is_retryable()
        );
        for retryable in [
            StatusCode::TOO_MANY_REQUESTS,
            StatusCode::SERVICE_UNAVAILABLE,
            StatusCode::PRECONDITION_FAILED,
        ] {
            assert!(
                status_error("op", "b", retryable, "").is_retryable(),
                "{retryable}"
            );
        }
        for permanent in [
            StatusCode::NOT_FOUND,
            StatusCode::BAD_REQUEST,
            StatusCode::UNAUTHORIZED,
        ] {
            assert!(
                !status_error("op", "b", permanent, "").is_retryable(),
                "{permanent}"
            );
        }
    }
}
