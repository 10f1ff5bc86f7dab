//! Cloud Storage conformance cases, against gcp-storage-emulator: each prepares a labelled bucket with a
//! non-trivial configuration (several IAM bindings, one conditional, ACL and default object ACL entries,
//! labels, versioning, logging, retention, a default KMS key) through the test's own JSON API client, and
//! reads the bucket's whole security configuration back the same way, so a revert that touches anything else
//! shows.

use async_trait::async_trait;
use rdfi_proto::v1::ResourceRef;
use rdfi_provider::gcp::bucket_ref;
use serde_json::{Value, json};

use crate::gcs::GcsClient;

/// One GCS fault's conformance case.
#[async_trait]
pub trait GcsCase: Send + Sync {
    fn fault_id(&self) -> &'static str;

    /// Creates a bucket named `name`, labelled `rdfi-target: "true"`, with a non-trivial configuration from
    /// which the fault can start, and returns it as rdfi names it.
    async fn prepare(&self, gcs: &GcsClient, name: &str) -> ResourceRef;

    /// The bucket's security configuration as the JSON API reads it, canonical (sorted), independent of rdfi.
    async fn read(&self, gcs: &GcsClient, resource: &ResourceRef) -> Value {
        read_security_configuration(gcs, &resource.name).await
    }

    /// Whether an independent read shows the fault's misconfiguration.
    fn misconfigured(&self, read: &Value) -> bool;
}

/// Every GCS case.
pub fn gcs_cases() -> Vec<Box<dyn GcsCase>> {
    let case = |fault_id, iam_configuration, misconfigured| -> Box<dyn GcsCase> {
        Box::new(BucketCase {
            fault_id,
            iam_configuration,
            misconfigured,
        })
    };
    vec![
        case(
            "gcp.storage.bucket-iam-allusers-viewer",
            IamConfiguration::OPEN,
            |read| grants(read, "allUsers", "roles/storage.objectViewer"),
        ),
        case(
            "gcp.storage.bucket-iam-allauthenticated-viewer",
            IamConfiguration::OPEN,
            |read| grants(read, "allAuthenticatedUsers", "roles/storage.objectViewer"),
        ),
        case(
            "gcp.storage.bucket-iam-allusers-admin",
            IamConfiguration::OPEN,
            |read| grants(read, "allUsers", "roles/storage.objectAdmin"),
        ),
        case(
            "gcp.storage.bucket-iam-external-admin",
            IamConfiguration::HARDENED,
            |read| grants(read, "user:attacker@example.com", "roles/storage.admin"),
        ),
        case(
            "gcp.storage.bucket-uniform-access-disabled",
            IamConfiguration::HARDENED,
            |read| read["iamConfiguration"]["uniformBucketLevelAccess"]["enabled"] != json!(true),
        ),
        case(
            "gcp.storage.bucket-public-access-prevention-unenforced",
            IamConfiguration::HARDENED,
            |read| read["iamConfiguration"]["publicAccessPrevention"] != json!("enforced"),
        ),
        case(
            "gcp.storage.bucket-acl-public-read",
            IamConfiguration::OPEN,
            |read| has_all_users_entry(&read["acl"]),
        ),
        case(
            "gcp.storage.bucket-default-object-acl-public-read",
            IamConfiguration::OPEN,
            |read| has_all_users_entry(&read["defaultObjectAcl"]),
        ),
        case(
            "gcp.storage.bucket-versioning-disabled",
            IamConfiguration::HARDENED,
            |read| read["versioning"]["enabled"] != json!(true),
        ),
        case(
            "gcp.storage.bucket-logging-removed",
            IamConfiguration::HARDENED,
            |read| !read["logging"]["logBucket"].is_string(),
        ),
        case(
            "gcp.storage.bucket-retention-removed",
            IamConfiguration::HARDENED,
            |read| !read["retentionPolicy"]["retentionPeriod"].is_string(),
        ),
        case(
            "gcp.storage.bucket-default-kms-key-removed",
            IamConfiguration::HARDENED,
            |read| !read["encryption"]["defaultKmsKeyName"].is_string(),
        ),
    ]
}

/// The bucket's uniform access and public access prevention, as a case prepares them: hardened where the
/// fault weakens them or does not care, open where Google would otherwise refuse the fault (public IAM
/// grants need public access prevention off, ACL changes need uniform access off).
#[derive(Clone, Copy)]
struct IamConfiguration {
    uniform_bucket_level_access: bool,
    public_access_prevention: &'static str,
}

impl IamConfiguration {
    const HARDENED: IamConfiguration = IamConfiguration {
        uniform_bucket_level_access: true,
        public_access_prevention: "enforced",
    };
    const OPEN: IamConfiguration = IamConfiguration {
        uniform_bucket_level_access: false,
        public_access_prevention: "inherited",
    };
}

struct BucketCase {
    fault_id: &'static str,
    iam_configuration: IamConfiguration,
    misconfigured: fn(&Value) -> bool,
}

#[async_trait]
impl GcsCase for BucketCase {
    fn fault_id(&self) -> &'static str {
        self.fault_id
    }

    async fn prepare(&self, gcs: &GcsClient, name: &str) -> ResourceRef {
        prepare_bucket(gcs, name, self.iam_configuration).await
    }

    fn misconfigured(&self, read: &Value) -> bool {
        (self.misconfigured)(read)
    }
}

/// A labelled bucket with several IAM bindings (one conditional), ACL and default object ACL entries,
/// versioning, usage logs, a retention policy and a default KMS key.
async fn prepare_bucket(
    gcs: &GcsClient,
    name: &str,
    iam_configuration: IamConfiguration,
) -> ResourceRef {
    gcs.create_bucket(name).await;
    let acl = json!([
        {"entity": "project-owners-1234", "role": "OWNER"},
        {"entity": "project-editors-1234", "role": "OWNER"},
        {"entity": "project-viewers-1234", "role": "READER"},
        {"entity": "group-partner-analytics@example.org", "role": "READER"},
    ]);
    gcs.patch_bucket(
        name,
        &json!({
            "labels": {"rdfi-target": "true", "team": "conformance"},
            "acl": acl,
            "defaultObjectAcl": [
                {"entity": "project-owners-1234", "role": "OWNER"},
                {"entity": "user-archiver@example.org", "role": "READER"},
            ],
            "iamConfiguration": {
                "uniformBucketLevelAccess": {"enabled": iam_configuration.uniform_bucket_level_access},
                "publicAccessPrevention": iam_configuration.public_access_prevention,
            },
            "versioning": {"enabled": true},
            "logging": {"logBucket": "conformance-access-logs", "logObjectPrefix": format!("{name}/")},
            "retentionPolicy": {"retentionPeriod": "7776000"},
            "encryption": {
                "defaultKmsKeyName": "projects/rdfi-conformance/locations/us/keyRings/storage/cryptoKeys/buckets"
            },
        }),
    )
    .await;
    gcs.set_iam_bindings(
        name,
        json!([
            {"role": "roles/storage.legacyBucketOwner",
             "members": ["projectOwner:rdfi-conformance", "projectEditor:rdfi-conformance"]},
            {"role": "roles/storage.objectViewer", "members": ["group:data-readers@example.org"]},
            {"role": "roles/storage.objectCreator",
             "members": ["serviceAccount:ingest@rdfi-conformance.iam.gserviceaccount.com"]},
            {"role": "roles/storage.objectAdmin", "members": ["user:oncall@example.org"],
             "condition": {"title": "incident", "expression": "request.time < timestamp(\"2030-01-01T00:00:00Z\")"}},
        ]),
    )
    .await;
    bucket_ref(
        "gcp",
        name,
        "US",
        [("rdfi-target".to_owned(), "true".to_owned())].into(),
    )
}

/// The bucket's IAM bindings (sorted, members sorted, without the etag) and every security-relevant bucket
/// field (ACL entries sorted).
async fn read_security_configuration(gcs: &GcsClient, bucket: &str) -> Value {
    let metadata = gcs.get_bucket(bucket).await;
    let policy = gcs.get_iam_policy(bucket).await;
    let mut bindings: Vec<Value> = policy["bindings"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|mut binding| {
            if let Some(members) = binding["members"].as_array_mut() {
                members.sort_by_key(Value::to_string);
            }
            binding
        })
        .collect();
    bindings.sort_by_key(Value::to_string);
    let sorted = |field: &str| {
        let mut entries = metadata[field].as_array().cloned().unwrap_or_default();
        entries.sort_by_key(Value::to_string);
        entries
    };
    json!({
        "bindings": bindings,
        "acl": sorted("acl"),
        "defaultObjectAcl": sorted("defaultObjectAcl"),
        "iamConfiguration": metadata["iamConfiguration"],
        "versioning": metadata["versioning"],
        "logging": metadata["logging"],
        "retentionPolicy": metadata["retentionPolicy"],
        "encryption": metadata["encryption"],
        "labels": metadata["labels"],
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

fn has_all_users_entry(entries: &Value) -> bool {
    entries
        .as_array()
        .is_some_and(|entries| entries.iter().any(|entry| entry["entity"] == "allUsers"))
}
