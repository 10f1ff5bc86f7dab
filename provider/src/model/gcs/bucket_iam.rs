//! Bucket IAM: the bucket's IAM policy and the faults granting roles to public or external members, and its
//! `iamConfiguration` (uniform bucket-level access, public access prevention).

use serde::{Deserialize, Serialize};

use super::{ALL_AUTHENTICATED_USERS, ALL_USERS, EXTERNAL_ATTACKER};
use crate::model::gcp_iam::policy::binding;
use crate::model::gcp_iam::{
    IamBinding, IamCondition, IamGrant, IamMemberGranted, IamPolicy, IamPolicyHolder,
};
use crate::model::{FaultSemantics, FaultState};

/// Buckets hold IAM policies: the faults granting a role on one share [`IamMemberGranted`].
pub struct BucketPolicy;

impl IamPolicyHolder for BucketPolicy {
    const ASPECT: &'static str = "gcs.bucket-iam-policy";
    const SET_IAM_POLICY: &'static str = "setIamPolicy";

    /// A private bucket's policy: the project's owners and editors, a reader group, a writer service
    /// account, and a time-limited conditional grant.
    fn example() -> IamPolicy {
        IamPolicy::new(vec![
            binding(
                "roles/storage.legacyBucketOwner",
                &[
                    "projectEditor:example-project",
                    "projectOwner:example-project",
                ],
            ),
            binding(
                "roles/storage.objectViewer",
                &["group:data-readers@example.org"],
            ),
            binding(
                "roles/storage.objectCreator",
                &["serviceAccount:ingest@example-project.iam.gserviceaccount.com"],
            ),
            IamBinding {
                condition: Some(IamCondition {
                    title: "incident-2026-11".to_owned(),
                    description: Some("break-glass access during the incident".to_owned()),
                    expression: "request.time < timestamp(\"2026-12-01T00:00:00Z\")".to_owned(),
                }),
                ..binding("roles/storage.objectAdmin", &["user:oncall@example.org"])
            },
        ])
    }
}

/// `allUsers` may read every object.
pub struct AllUsersViewer;
impl IamGrant for AllUsersViewer {
    type Holder = BucketPolicy;
    const ID: &'static str = "gcp.storage.bucket-iam-allusers-viewer";
    const PRESENT: &'static str =
        "the bucket IAM policy grants roles/storage.objectViewer to allUsers";
    const MEMBER: &'static str = ALL_USERS;
    const ROLE: &'static str = "roles/storage.objectViewer";
}
pub type BucketIamAllUsersViewer = IamMemberGranted<AllUsersViewer>;

/// Any Google account may read every object.
pub struct AllAuthenticatedViewer;
impl IamGrant for AllAuthenticatedViewer {
    type Holder = BucketPolicy;
    const ID: &'static str = "gcp.storage.bucket-iam-allauthenticated-viewer";
    const PRESENT: &'static str =
        "the bucket IAM policy grants roles/storage.objectViewer to allAuthenticatedUsers";
    const MEMBER: &'static str = ALL_AUTHENTICATED_USERS;
    const ROLE: &'static str = "roles/storage.objectViewer";
}
pub type BucketIamAllAuthenticatedViewer = IamMemberGranted<AllAuthenticatedViewer>;

/// `allUsers` may read, overwrite and delete every object.
pub struct AllUsersAdmin;
impl IamGrant for AllUsersAdmin {
    type Holder = BucketPolicy;
    const ID: &'static str = "gcp.storage.bucket-iam-allusers-admin";
    const PRESENT: &'static str =
        "the bucket IAM policy grants roles/storage.objectAdmin to allUsers";
    const MEMBER: &'static str = ALL_USERS;
    const ROLE: &'static str = "roles/storage.objectAdmin";
}
pub type BucketIamAllUsersAdmin = IamMemberGranted<AllUsersAdmin>;

/// An account outside the organization administers the bucket.
pub struct ExternalAdmin;
impl IamGrant for ExternalAdmin {
    type Holder = BucketPolicy;
    const ID: &'static str = "gcp.storage.bucket-iam-external-admin";
    const PRESENT: &'static str =
        "the bucket IAM policy grants roles/storage.admin to user:attacker@example.com";
    const MEMBER: &'static str = EXTERNAL_ATTACKER;
    const ROLE: &'static str = "roles/storage.admin";
}
pub type BucketIamExternalAdmin = IamMemberGranted<ExternalAdmin>;

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
