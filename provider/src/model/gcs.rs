//! Google Cloud Storage: bucket IAM, ACLs and settings, as the GCS JSON API reports them.
//!
//! The states keep only what the faults change and their reverts need, in a canonical order (bindings sorted,
//! members and ACL entries sorted), never server-generated fields such as etags.

use std::collections::BTreeSet;
use std::marker::PhantomData;

use serde::{Deserialize, Serialize};

use super::{FaultSemantics, register_faults};

register_faults![
    BucketIamAllUsersViewer,
    BucketIamAllAuthenticatedViewer,
    BucketIamAllUsersAdmin,
    BucketIamExternalAdmin,
    BucketUniformAccessDisabled,
    BucketPublicAccessPreventionUnenforced,
    BucketAclPublicRead,
    BucketDefaultObjectAclPublicRead,
    BucketVersioningDisabled,
    BucketLoggingRemoved,
    BucketRetentionRemoved,
    BucketDefaultKmsKeyRemoved,
];

/// The IAM member meaning "everyone on the internet, anonymous included".
pub const ALL_USERS: &str = "allUsers";
/// The IAM member meaning "anyone signed in to any Google account".
pub const ALL_AUTHENTICATED_USERS: &str = "allAuthenticatedUsers";
/// The identity outside the organization that `gcp.storage.bucket-iam-external-admin` grants access to.
pub const EXTERNAL_ATTACKER: &str = "user:attacker@example.com";
/// The ACL entity meaning "everyone on the internet".
pub const ACL_ALL_USERS: &str = "allUsers";
/// The log bucket a corrective control points usage logs back to when it restores logging.
pub const REMEDIATION_LOG_BUCKET: &str = "access-logs";
/// The retention period (seconds) a corrective control restores: 30 days.
pub const REMEDIATION_RETENTION_SECONDS: u64 = 30 * 24 * 60 * 60;
/// The Cloud KMS key a corrective control restores as the bucket's default key.
pub const REMEDIATION_KMS_KEY: &str =
    "projects/security/locations/us/keyRings/storage/cryptoKeys/buckets-default";

const EXAMPLE_PROJECT_NUMBER: &str = "123456789012";

/// An IAM condition on a binding, as the JSON API reports it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct IamCondition {
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub expression: String,
}

/// One binding of a bucket's IAM policy: a role granted to members, maybe under a condition.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct IamBinding {
    pub role: String,
    pub members: BTreeSet<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<IamCondition>,
}

/// A bucket's IAM policy without its etag and version (which change on every write).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BucketIamPolicy {
    /// Sorted by role, then members, then condition; no binding without members.
    pub bindings: Vec<IamBinding>,
}

impl BucketIamPolicy {
    /// The canonical policy of these bindings: sorted, empty bindings dropped.
    pub fn new(mut bindings: Vec<IamBinding>) -> Self {
        bindings.retain(|binding| !binding.members.is_empty());
        bindings.sort();
        BucketIamPolicy { bindings }
    }

    /// Whether `member` holds `role` without a condition.
    pub fn grants(&self, member: &str, role: &str) -> bool {
        self.bindings.iter().any(|binding| {
            binding.role == role && binding.condition.is_none() && binding.members.contains(member)
        })
    }

    /// This policy with `member` added to the unconditional binding of `role` (created if missing).
    pub fn with_member(&self, member: &str, role: &str) -> Self {
        let mut bindings = self.bindings.clone();
        match bindings
            .iter_mut()
            .find(|binding| binding.role == role && binding.condition.is_none())
        {
            Some(binding) => {
                binding.members.insert(member.to_owned());
            }
            None => bindings.push(IamBinding {
                role: role.to_owned(),
                members: BTreeSet::from([member.to_owned()]),
                condition: None,
            }),
        }
        Self::new(bindings)
    }

    /// This policy with `member` removed from the unconditional bindings of `role`; every other member and
    /// binding kept.
    pub fn without_member(&self, member: &str, role: &str) -> Self {
        let mut bindings = self.bindings.clone();
        for binding in &mut bindings {
            if binding.role == role && binding.condition.is_none() {
                binding.members.remove(member);
            }
        }
        Self::new(bindings)
    }

    /// A private bucket's policy: the project's owners and editors, a reader group, a writer service
    /// account, and a time-limited conditional grant.
    pub fn example() -> Self {
        let members = |names: &[&str]| names.iter().map(|name| (*name).to_owned()).collect();
        Self::new(vec![
            IamBinding {
                role: "roles/storage.legacyBucketOwner".to_owned(),
                members: members(&[
                    "projectEditor:example-project",
                    "projectOwner:example-project",
                ]),
                condition: None,
            },
            IamBinding {
                role: "roles/storage.objectViewer".to_owned(),
                members: members(&["group:data-readers@example.org"]),
                condition: None,
            },
            IamBinding {
                role: "roles/storage.objectCreator".to_owned(),
                members: members(&[
                    "serviceAccount:ingest@example-project.iam.gserviceaccount.com",
                ]),
                condition: None,
            },
            IamBinding {
                role: "roles/storage.objectAdmin".to_owned(),
                members: members(&["user:oncall@example.org"]),
                condition: Some(IamCondition {
                    title: "incident-2026-11".to_owned(),
                    description: Some("break-glass access during the incident".to_owned()),
                    expression: "request.time < timestamp(\"2026-12-01T00:00:00Z\")".to_owned(),
                }),
            },
        ])
    }
}

/// One IAM grant a fault adds to a bucket's policy.
pub trait IamGrant: Send + Sync + 'static {
    const ID: &'static str;
    const PRESENT: &'static str;
    const MEMBER: &'static str;
    const ROLE: &'static str;
}

/// A fault that adds one member to one role of a bucket's IAM policy; its revert removes only that member
/// from that role (unless it held it before), so bindings and members added meanwhile stay.
pub struct BucketIamMemberGranted<G>(PhantomData<G>);

impl<G: IamGrant> FaultSemantics for BucketIamMemberGranted<G> {
    const ID: &'static str = G::ID;
    const PRESENT: &'static str = G::PRESENT;
    const ASPECT: &'static str = "gcs.bucket-iam-policy";
    type State = BucketIamPolicy;

    fn is_present(policy: &BucketIamPolicy) -> bool {
        policy.grants(G::MEMBER, G::ROLE)
    }

    fn inject(policy: &BucketIamPolicy) -> BucketIamPolicy {
        policy.with_member(G::MEMBER, G::ROLE)
    }

    fn revert(current: &BucketIamPolicy, before: &BucketIamPolicy) -> BucketIamPolicy {
        if before.grants(G::MEMBER, G::ROLE) {
            current.clone()
        } else {
            Self::remediate(current)
        }
    }

    fn remediate(current: &BucketIamPolicy) -> BucketIamPolicy {
        current.without_member(G::MEMBER, G::ROLE)
    }

    fn describe(policy: &BucketIamPolicy) -> String {
        format!(
            "setIamPolicy: add {} to {} beside the {} existing binding(s)",
            G::MEMBER,
            G::ROLE,
            policy.bindings.len()
        )
    }

    fn example() -> BucketIamPolicy {
        BucketIamPolicy::example()
    }
}

/// `allUsers` may read every object.
pub struct AllUsersViewer;
impl IamGrant for AllUsersViewer {
    const ID: &'static str = "gcp.storage.bucket-iam-allusers-viewer";
    const PRESENT: &'static str =
        "the bucket IAM policy grants roles/storage.objectViewer to allUsers";
    const MEMBER: &'static str = ALL_USERS;
    const ROLE: &'static str = "roles/storage.objectViewer";
}
pub type BucketIamAllUsersViewer = BucketIamMemberGranted<AllUsersViewer>;

/// Any Google account may read every object.
pub struct AllAuthenticatedViewer;
impl IamGrant for AllAuthenticatedViewer {
    const ID: &'static str = "gcp.storage.bucket-iam-allauthenticated-viewer";
    const PRESENT: &'static str =
        "the bucket IAM policy grants roles/storage.objectViewer to allAuthenticatedUsers";
    const MEMBER: &'static str = ALL_AUTHENTICATED_USERS;
    const ROLE: &'static str = "roles/storage.objectViewer";
}
pub type BucketIamAllAuthenticatedViewer = BucketIamMemberGranted<AllAuthenticatedViewer>;

/// `allUsers` may read, overwrite and delete every object.
pub struct AllUsersAdmin;
impl IamGrant for AllUsersAdmin {
    const ID: &'static str = "gcp.storage.bucket-iam-allusers-admin";
    const PRESENT: &'static str =
        "the bucket IAM policy grants roles/storage.objectAdmin to allUsers";
    const MEMBER: &'static str = ALL_USERS;
    const ROLE: &'static str = "roles/storage.objectAdmin";
}
pub type BucketIamAllUsersAdmin = BucketIamMemberGranted<AllUsersAdmin>;

/// An account outside the organization administers the bucket.
pub struct ExternalAdmin;
impl IamGrant for ExternalAdmin {
    const ID: &'static str = "gcp.storage.bucket-iam-external-admin";
    const PRESENT: &'static str =
        "the bucket IAM policy grants roles/storage.admin to user:attacker@example.com";
    const MEMBER: &'static str = EXTERNAL_ATTACKER;
    const ROLE: &'static str = "roles/storage.admin";
}
pub type BucketIamExternalAdmin = BucketIamMemberGranted<ExternalAdmin>;

/// A bucket's `iamConfiguration`: uniform bucket-level access and public access prevention. Both faults on it
/// share the state because the JSON API reports and writes them together.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BucketIamConfiguration {
    pub uniform_bucket_level_access: bool,
    /// `enforced`, `inherited` (or the legacy `unspecified`).
    pub public_access_prevention: String,
}

impl BucketIamConfiguration {
    /// A hardened bucket: uniform access on, public access prevention enforced.
    pub fn example() -> Self {
        BucketIamConfiguration {
            uniform_bucket_level_access: true,
            public_access_prevention: "enforced".to_owned(),
        }
    }
}

/// `gcp.storage.bucket-uniform-access-disabled`: uniform bucket-level access turned off, so object and bucket
/// ACLs grant access again beside IAM.
pub struct BucketUniformAccessDisabled;

impl FaultSemantics for BucketUniformAccessDisabled {
    const ID: &'static str = "gcp.storage.bucket-uniform-access-disabled";
    const PRESENT: &'static str = "uniform bucket-level access is disabled";
    const ASPECT: &'static str = "gcs.bucket-iam-configuration";
    type State = BucketIamConfiguration;

    fn is_present(configuration: &BucketIamConfiguration) -> bool {
        !configuration.uniform_bucket_level_access
    }

    fn inject(configuration: &BucketIamConfiguration) -> BucketIamConfiguration {
        BucketIamConfiguration {
            uniform_bucket_level_access: false,
            ..configuration.clone()
        }
    }

    fn remediate(configuration: &BucketIamConfiguration) -> BucketIamConfiguration {
        BucketIamConfiguration {
            uniform_bucket_level_access: true,
            ..configuration.clone()
        }
    }

    fn describe(configuration: &BucketIamConfiguration) -> String {
        format!(
            "buckets.patch: set iamConfiguration.uniformBucketLevelAccess.enabled to false (public access \
             prevention stays {})",
            configuration.public_access_prevention
        )
    }

    fn example() -> BucketIamConfiguration {
        BucketIamConfiguration::example()
    }
}

/// `gcp.storage.bucket-public-access-prevention-unenforced`: public access prevention set back to `inherited`,
/// so an IAM or ACL grant to allUsers takes effect.
pub struct BucketPublicAccessPreventionUnenforced;

impl FaultSemantics for BucketPublicAccessPreventionUnenforced {
    const ID: &'static str = "gcp.storage.bucket-public-access-prevention-unenforced";
    const PRESENT: &'static str = "public access prevention is not enforced";
    const ASPECT: &'static str = "gcs.bucket-iam-configuration";
    type State = BucketIamConfiguration;

    fn is_present(configuration: &BucketIamConfiguration) -> bool {
        configuration.public_access_prevention != "enforced"
    }

    fn inject(configuration: &BucketIamConfiguration) -> BucketIamConfiguration {
        BucketIamConfiguration {
            public_access_prevention: "inherited".to_owned(),
            ..configuration.clone()
        }
    }

    fn remediate(configuration: &BucketIamConfiguration) -> BucketIamConfiguration {
        BucketIamConfiguration {
            public_access_prevention: "enforced".to_owned(),
            ..configuration.clone()
        }
    }

    fn describe(configuration: &BucketIamConfiguration) -> String {
        format!(
            "buckets.patch: set iamConfiguration.publicAccessPrevention from {} to inherited",
            configuration.public_access_prevention
        )
    }

    fn example() -> BucketIamConfiguration {
        BucketIamConfiguration::example()
    }
}

/// One ACL entry (bucket ACL or default object ACL).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct AclEntry {
    /// `allUsers`, `user-EMAIL`, `group-EMAIL`, `project-owners-NUMBER`, ...
    pub entity: String,
    /// `OWNER`, `WRITER` or `READER`.
    pub role: String,
}

/// An access control list, sorted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessControlList {
    pub entries: Vec<AclEntry>,
}

impl AccessControlList {
    pub fn new(mut entries: Vec<AclEntry>) -> Self {
        entries.sort();
        entries.dedup();
        AccessControlList { entries }
    }

    /// Whether everyone on the internet may read (any role implies READER).
    pub fn grants_public_access(&self) -> bool {
        self.entries
            .iter()
            .any(|entry| entry.entity == ACL_ALL_USERS)
    }

    /// This list with READER for allUsers added.
    pub fn with_public_read(&self) -> Self {
        let mut entries = self.entries.clone();
        entries.push(AclEntry {
            entity: ACL_ALL_USERS.to_owned(),
            role: "READER".to_owned(),
        });
        Self::new(entries)
    }

    /// This list without any entry for allUsers.
    pub fn without_public_access(&self) -> Self {
        Self::new(
            self.entries
                .iter()
                .filter(|entry| entry.entity != ACL_ALL_USERS)
                .cloned()
                .collect(),
        )
    }

    /// The project's owners, editors and viewers as the JSON API's predefined private ACL lists them, plus a
    /// partner group with read access.
    pub fn example() -> Self {
        let entry = |entity: String, role: &str| AclEntry {
            entity,
            role: role.to_owned(),
        };
        Self::new(vec![
            entry(format!("project-owners-{EXAMPLE_PROJECT_NUMBER}"), "OWNER"),
            entry(format!("project-editors-{EXAMPLE_PROJECT_NUMBER}"), "OWNER"),
            entry(
                format!("project-viewers-{EXAMPLE_PROJECT_NUMBER}"),
                "READER",
            ),
            entry("group-partner-analytics@example.org".to_owned(), "READER"),
        ])
    }
}

/// One of a bucket's access control lists, as a public-read fault targets it.
pub trait AclField: Send + Sync + 'static {
    const ID: &'static str;
    const PRESENT: &'static str;
    const ASPECT: &'static str;
    /// The bucket field holding the list (`acl`, `defaultObjectAcl`).
    const FIELD: &'static str;
}

/// A fault that adds READER for allUsers to one of a bucket's ACLs.
pub struct AclPublicRead<L>(PhantomData<L>);

impl<L: AclField> FaultSemantics for AclPublicRead<L> {
    const ID: &'static str = L::ID;
    const PRESENT: &'static str = L::PRESENT;
    const ASPECT: &'static str = L::ASPECT;
    type State = AccessControlList;

    fn is_present(acl: &AccessControlList) -> bool {
        acl.grants_public_access()
    }

    fn inject(acl: &AccessControlList) -> AccessControlList {
        acl.with_public_read()
    }

    fn remediate(acl: &AccessControlList) -> AccessControlList {
        acl.without_public_access()
    }

    fn describe(acl: &AccessControlList) -> String {
        format!(
            "buckets.patch: set {} to the {} existing entries plus allUsers READER",
            L::FIELD,
            acl.entries.len()
        )
    }

    fn example() -> AccessControlList {
        AccessControlList::example()
    }
}

/// The bucket ACL (everyone may list the bucket once it is public).
pub struct BucketAclField;
impl AclField for BucketAclField {
    const ID: &'static str = "gcp.storage.bucket-acl-public-read";
    const PRESENT: &'static str = "the bucket ACL grants access to allUsers";
    const ASPECT: &'static str = "gcs.bucket-acl";
    const FIELD: &'static str = "acl";
}
/// `gcp.storage.bucket-acl-public-read`: READER for allUsers added to the bucket ACL (everyone may list it).
pub type BucketAclPublicRead = AclPublicRead<BucketAclField>;

/// The default object ACL (every object written from now on gets it).
pub struct DefaultObjectAclField;
impl AclField for DefaultObjectAclField {
    const ID: &'static str = "gcp.storage.bucket-default-object-acl-public-read";
    const PRESENT: &'static str = "the default object ACL grants access to allUsers";
    const ASPECT: &'static str = "gcs.bucket-default-object-acl";
    const FIELD: &'static str = "defaultObjectAcl";
}
/// `gcp.storage.bucket-default-object-acl-public-read`: READER for allUsers added to the default object ACL,
/// so every object written from now on is public.
pub type BucketDefaultObjectAclPublicRead = AclPublicRead<DefaultObjectAclField>;

/// A bucket's object versioning.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BucketVersioning {
    pub enabled: bool,
}

/// `gcp.storage.bucket-versioning-disabled`: object versioning suspended, so overwritten or deleted objects
/// cannot be recovered.
pub struct BucketVersioningDisabled;

impl FaultSemantics for BucketVersioningDisabled {
    const ID: &'static str = "gcp.storage.bucket-versioning-disabled";
    const PRESENT: &'static str = "object versioning is disabled";
    const ASPECT: &'static str = "gcs.bucket-versioning";
    type State = BucketVersioning;

    fn is_present(versioning: &BucketVersioning) -> bool {
        !versioning.enabled
    }

    fn inject(_versioning: &BucketVersioning) -> BucketVersioning {
        BucketVersioning { enabled: false }
    }

    fn remediate(_versioning: &BucketVersioning) -> BucketVersioning {
        BucketVersioning { enabled: true }
    }

    fn describe(_versioning: &BucketVersioning) -> String {
        "buckets.patch: set versioning.enabled to false".to_owned()
    }

    fn example() -> BucketVersioning {
        BucketVersioning { enabled: true }
    }
}

/// A bucket's usage and storage logs configuration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BucketLogging {
    /// The bucket the logs go to; `None` when logging is off.
    pub log_bucket: Option<String>,
    pub log_object_prefix: Option<String>,
}

/// `gcp.storage.bucket-logging-removed`: usage and storage logs turned off.
pub struct BucketLoggingRemoved;

impl FaultSemantics for BucketLoggingRemoved {
    const ID: &'static str = "gcp.storage.bucket-logging-removed";
    const PRESENT: &'static str = "usage logging is off";
    const ASPECT: &'static str = "gcs.bucket-logging";
    type State = BucketLogging;

    fn is_present(logging: &BucketLogging) -> bool {
        logging.log_bucket.is_none()
    }

    fn inject(_logging: &BucketLogging) -> BucketLogging {
        BucketLogging {
            log_bucket: None,
            log_object_prefix: None,
        }
    }

    /// A reconciler points the logs back at the organization's log bucket.
    fn remediate(logging: &BucketLogging) -> BucketLogging {
        BucketLogging {
            log_bucket: Some(
                logging
                    .log_bucket
                    .clone()
                    .unwrap_or_else(|| REMEDIATION_LOG_BUCKET.to_owned()),
            ),
            log_object_prefix: logging.log_object_prefix.clone(),
        }
    }

    fn describe(logging: &BucketLogging) -> String {
        format!(
            "buckets.patch: clear logging.logBucket and logging.logObjectPrefix (logs now go to {})",
            logging.log_bucket.as_deref().unwrap_or("nowhere")
        )
    }

    fn example() -> BucketLogging {
        BucketLogging {
            log_bucket: Some("example-access-logs".to_owned()),
            log_object_prefix: Some("payments-exports/".to_owned()),
        }
    }
}

/// A bucket's retention policy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BucketRetention {
    /// Seconds every object must be kept; `None` when the bucket has no retention policy.
    pub retention_period_seconds: Option<u64>,
}

/// `gcp.storage.bucket-retention-removed`: the (unlocked) retention policy removed, so objects can be deleted
/// or overwritten at once.
pub struct BucketRetentionRemoved;

impl FaultSemantics for BucketRetentionRemoved {
    const ID: &'static str = "gcp.storage.bucket-retention-removed";
    const PRESENT: &'static str = "the bucket has no retention policy";
    const ASPECT: &'static str = "gcs.bucket-retention";
    type State = BucketRetention;

    fn is_present(retention: &BucketRetention) -> bool {
        retention.retention_period_seconds.is_none()
    }

    fn inject(_retention: &BucketRetention) -> BucketRetention {
        BucketRetention {
            retention_period_seconds: None,
        }
    }

    fn remediate(retention: &BucketRetention) -> BucketRetention {
        BucketRetention {
            retention_period_seconds: Some(
                retention
                    .retention_period_seconds
                    .unwrap_or(REMEDIATION_RETENTION_SECONDS),
            ),
        }
    }

    fn describe(retention: &BucketRetention) -> String {
        format!(
            "buckets.patch: clear retentionPolicy.retentionPeriod (now {} s)",
            retention.retention_period_seconds.unwrap_or_default()
        )
    }

    fn example() -> BucketRetention {
        BucketRetention {
            retention_period_seconds: Some(90 * 24 * 60 * 60),
        }
    }
}

/// A bucket's default encryption.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BucketEncryption {
    /// The Cloud KMS key new objects are encrypted with; `None` for Google-managed keys.
    pub default_kms_key_name: Option<String>,
}

/// `gcp.storage.bucket-default-kms-key-removed`: the customer-managed default key removed, so new objects fall
/// back to Google-managed encryption outside the organization's key control.
pub struct BucketDefaultKmsKeyRemoved;

impl FaultSemantics for BucketDefaultKmsKeyRemoved {
    const ID: &'static str = "gcp.storage.bucket-default-kms-key-removed";
    const PRESENT: &'static str = "the bucket has no default Cloud KMS key";
    const ASPECT: &'static str = "gcs.bucket-encryption";
    type State = BucketEncryption;

    fn is_present(encryption: &BucketEncryption) -> bool {
        encryption.default_kms_key_name.is_none()
    }

    fn inject(_encryption: &BucketEncryption) -> BucketEncryption {
        BucketEncryption {
            default_kms_key_name: None,
        }
    }

    fn remediate(encryption: &BucketEncryption) -> BucketEncryption {
        BucketEncryption {
            default_kms_key_name: Some(
                encryption
                    .default_kms_key_name
                    .clone()
                    .unwrap_or_else(|| REMEDIATION_KMS_KEY.to_owned()),
            ),
        }
    }

    fn describe(encryption: &BucketEncryption) -> String {
        format!(
            "buckets.patch: clear encryption.defaultKmsKeyName (now {})",
            encryption.default_kms_key_name.as_deref().unwrap_or("none")
        )
    }

    fn example() -> BucketEncryption {
        BucketEncryption {
            default_kms_key_name: Some(
                "projects/example-project/locations/us/keyRings/storage/cryptoKeys/payments"
                    .to_owned(),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_iam_revert_removes_only_the_member_it_added() {
        let before = BucketIamPolicy::example();
        let faulty = BucketIamAllUsersViewer::inject(&before);
        assert!(BucketIamAllUsersViewer::is_present(&faulty));
        // Someone else grants a reader meanwhile, in the same binding and in a new one.
        let concurrent = faulty
            .with_member("user:new-reader@example.org", "roles/storage.objectViewer")
            .with_member(
                "user:auditor@example.org",
                "roles/storage.legacyBucketReader",
            );
        let reverted = BucketIamAllUsersViewer::revert(&concurrent, &before);
        assert!(!BucketIamAllUsersViewer::is_present(&reverted));
        assert!(reverted.grants("user:new-reader@example.org", "roles/storage.objectViewer"));
        assert!(reverted.grants(
            "user:auditor@example.org",
            "roles/storage.legacyBucketReader"
        ));
        assert!(reverted.grants(
            "group:data-readers@example.org",
            "roles/storage.objectViewer"
        ));
    }

    #[test]
    fn a_member_under_a_condition_is_not_an_unconditional_grant() {
        let policy = BucketIamPolicy::example();
        assert!(!policy.grants("user:oncall@example.org", "roles/storage.objectAdmin"));
        let granted = policy.with_member("user:oncall@example.org", "roles/storage.objectAdmin");
        assert_eq!(granted.bindings.len(), policy.bindings.len() + 1);
        assert_eq!(
            granted.without_member("user:oncall@example.org", "roles/storage.objectAdmin"),
            policy
        );
    }

    #[test]
    fn removing_the_last_member_drops_the_binding() {
        let policy =
            BucketIamPolicy::new(Vec::new()).with_member(ALL_USERS, "roles/storage.objectViewer");
        assert!(
            policy
                .without_member(ALL_USERS, "roles/storage.objectViewer")
                .bindings
                .is_empty()
        );
    }

    #[test]
    fn acl_order_does_not_matter() {
        let mut entries = AccessControlList::example().entries;
        entries.reverse();
        assert_eq!(
            AccessControlList::new(entries),
            AccessControlList::example()
        );
    }
}
