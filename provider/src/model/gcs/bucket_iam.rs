//! Bucket IAM: the bucket's IAM policy and the faults granting roles to public or external members, and its
//! `iamConfiguration` (uniform bucket-level access, public access prevention).

use std::collections::BTreeSet;
use std::marker::PhantomData;

use serde::{Deserialize, Serialize};

use super::{ALL_AUTHENTICATED_USERS, ALL_USERS, EXTERNAL_ATTACKER};
use crate::model::{FaultSemantics, FaultState};

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

impl FaultState for BucketIamPolicy {
    fn canonical(self) -> Self {
        BucketIamPolicy::new(self.bindings)
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

impl FaultState for BucketIamConfiguration {}

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
