//! Bucket and object ACLs: grants, the public-grant faults and the canary object's ACL.

use serde::{Deserialize, Serialize};

use super::{ALL_USERS_URI, EXAMPLE_OWNER, EXAMPLE_PARTNER, LOG_DELIVERY_URI};
use crate::model::{FaultSemantics, FaultState};

/// Who an ACL grant is for. Exactly the fields S3 reports for the grantee's type are set.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Grantee {
    /// `CanonicalUser`, `Group` or `AmazonCustomerByEmail`.
    pub grantee_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Grant {
    pub grantee: Grantee,
    /// `READ`, `WRITE`, `READ_ACP`, `WRITE_ACP`, `FULL_CONTROL`.
    pub permission: String,
}

impl Grant {
    /// A grant to an AWS account by its canonical user id.
    pub fn canonical_user(id: &str, permission: &str) -> Grant {
        Grant {
            grantee: Grantee {
                grantee_type: "CanonicalUser".to_owned(),
                id: Some(id.to_owned()),
                uri: None,
                email_address: None,
                display_name: None,
            },
            permission: permission.to_owned(),
        }
    }
}

/// A bucket's access control list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BucketAcl {
    pub owner_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_display_name: Option<String>,
    /// Sorted; S3 does not promise an order.
    pub grants: Vec<Grant>,
}

impl BucketAcl {
    /// A typical private bucket shared with a partner account and the log delivery group.
    pub fn example() -> BucketAcl {
        let log_delivery = |permission: &str| Grant {
            grantee: Grantee {
                grantee_type: "Group".to_owned(),
                id: None,
                uri: Some(LOG_DELIVERY_URI.to_owned()),
                email_address: None,
                display_name: None,
            },
            permission: permission.to_owned(),
        };
        BucketAcl::new(
            EXAMPLE_OWNER.to_owned(),
            Some("platform".to_owned()),
            vec![
                Grant::canonical_user(EXAMPLE_OWNER, "FULL_CONTROL"),
                Grant::canonical_user(EXAMPLE_PARTNER, "READ"),
                Grant::canonical_user(EXAMPLE_PARTNER, "READ_ACP"),
                log_delivery("WRITE"),
                log_delivery("READ_ACP"),
            ],
        )
    }

    pub fn new(
        owner_id: String,
        owner_display_name: Option<String>,
        mut grants: Vec<Grant>,
    ) -> Self {
        grants.sort();
        BucketAcl {
            owner_id,
            owner_display_name,
            grants,
        }
    }

    fn public_grant(permission: &str) -> Grant {
        Grant {
            grantee: Grantee {
                grantee_type: "Group".to_owned(),
                id: None,
                uri: Some(ALL_USERS_URI.to_owned()),
                email_address: None,
                display_name: None,
            },
            permission: permission.to_owned(),
        }
    }

    /// Whether everyone holds `permission` (or FULL_CONTROL, which implies it).
    fn grants_public(&self, permission: &str) -> bool {
        self.grants.iter().any(|grant| {
            grant.grantee.uri.as_deref() == Some(ALL_USERS_URI)
                && (grant.permission == permission || grant.permission == "FULL_CONTROL")
        })
    }

    /// Whether everyone may list the bucket (or read the object).
    pub fn grants_public_read(&self) -> bool {
        self.grants_public("READ")
    }

    /// Whether everyone may create, overwrite and delete objects in the bucket.
    pub fn grants_public_write(&self) -> bool {
        self.grants_public("WRITE")
    }

    /// This ACL with each of `permissions` granted to everyone unless it already is; every other grant kept.
    fn with_public(&self, permissions: &[&str]) -> BucketAcl {
        let mut grants = self.grants.clone();
        for permission in permissions {
            if !self.grants_public(permission) {
                grants.push(Self::public_grant(permission));
            }
        }
        BucketAcl::new(
            self.owner_id.clone(),
            self.owner_display_name.clone(),
            grants,
        )
    }

    /// This ACL with READ for everyone added; every other grant kept.
    pub fn with_public_read(&self) -> BucketAcl {
        self.with_public(&["READ"])
    }

    /// This ACL with READ and WRITE for everyone added; every other grant kept.
    pub fn with_public_read_write(&self) -> BucketAcl {
        self.with_public(&["READ", "WRITE"])
    }

    /// This ACL without any grant to everyone: what a corrective control leaves behind.
    pub fn without_public_grants(&self) -> BucketAcl {
        let grants = self
            .grants
            .iter()
            .filter(|grant| grant.grantee.uri.as_deref() != Some(ALL_USERS_URI))
            .cloned()
            .collect();
        BucketAcl::new(
            self.owner_id.clone(),
            self.owner_display_name.clone(),
            grants,
        )
    }
}

impl FaultState for BucketAcl {
    fn canonical(self) -> Self {
        BucketAcl::new(self.owner_id, self.owner_display_name, self.grants)
    }
}

impl FaultState for CanaryObjectAcl {
    fn canonical(self) -> Self {
        CanaryObjectAcl {
            key: self.key,
            acl: self.acl.canonical(),
        }
    }
}

/// `aws.s3.bucket-public-acl`: READ for everyone added to a bucket's ACL.
pub struct BucketPublicAcl;

impl FaultSemantics for BucketPublicAcl {
    const ID: &'static str = "aws.s3.bucket-public-acl";
    const PRESENT: &'static str = "the bucket ACL grants READ to everyone";
    const ASPECT: &'static str = "s3.bucket-acl";
    type State = BucketAcl;

    fn is_present(acl: &BucketAcl) -> bool {
        acl.grants_public_read()
    }

    fn inject(acl: &BucketAcl) -> BucketAcl {
        acl.with_public_read()
    }

    fn remediate(acl: &BucketAcl) -> BucketAcl {
        acl.without_public_grants()
    }

    fn describe(acl: &BucketAcl) -> String {
        format!(
            "PutBucketAcl: add READ for AllUsers to the {} existing grant(s)",
            acl.grants.len()
        )
    }

    fn example() -> BucketAcl {
        BucketAcl::example()
    }
}

/// `aws.s3.bucket-public-read-write-acl`: READ and WRITE for everyone added to a bucket's ACL, so anyone can
/// list, upload, overwrite and delete objects.
pub struct BucketPublicReadWriteAcl;

impl FaultSemantics for BucketPublicReadWriteAcl {
    const ID: &'static str = "aws.s3.bucket-public-read-write-acl";
    const PRESENT: &'static str = "the bucket ACL grants READ or WRITE to everyone";
    const ASPECT: &'static str = "s3.bucket-acl";
    type State = BucketAcl;

    /// Either grant is there: a corrective control that removes WRITE and leaves READ has restored the bucket
    /// only in part.
    fn is_present(acl: &BucketAcl) -> bool {
        acl.grants_public_read() || acl.grants_public_write()
    }

    fn inject(acl: &BucketAcl) -> BucketAcl {
        acl.with_public_read_write()
    }

    fn remediate(acl: &BucketAcl) -> BucketAcl {
        acl.without_public_grants()
    }

    fn describe(acl: &BucketAcl) -> String {
        format!(
            "PutBucketAcl: add READ and WRITE for AllUsers to the {} existing grant(s)",
            acl.grants.len()
        )
    }

    fn example() -> BucketAcl {
        BucketAcl::example()
    }
}

/// The key prefix of canary objects: objects placed in a bucket for rdfi to expose, never real data.
pub const CANARY_PREFIX: &str = "rdfi-canary/";

/// The ACL of a bucket's canary object: the first object (in key order) under [`CANARY_PREFIX`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CanaryObjectAcl {
    pub key: String,
    pub acl: BucketAcl,
}

/// `aws.s3.object-public-acl`: READ for everyone on one object. The fault is aimed at the bucket but only ever
/// exposes its canary object (the first key under `rdfi-canary/`), so an experiment proves that a public object
/// ACL is caught without publishing real data; a bucket without a canary object is not a target.
pub struct ObjectPublicAcl;

impl FaultSemantics for ObjectPublicAcl {
    const ID: &'static str = "aws.s3.object-public-acl";
    const PRESENT: &'static str = "the canary object's ACL grants READ to everyone";
    const ASPECT: &'static str = "s3.canary-object-acl";
    type State = CanaryObjectAcl;

    fn is_present(object: &CanaryObjectAcl) -> bool {
        object.acl.grants_public_read()
    }

    fn inject(object: &CanaryObjectAcl) -> CanaryObjectAcl {
        CanaryObjectAcl {
            key: object.key.clone(),
            acl: object.acl.with_public_read(),
        }
    }

    fn remediate(object: &CanaryObjectAcl) -> CanaryObjectAcl {
        CanaryObjectAcl {
            key: object.key.clone(),
            acl: object.acl.without_public_grants(),
        }
    }

    fn describe(object: &CanaryObjectAcl) -> String {
        format!(
            "PutObjectAcl on {}: add READ for AllUsers to the {} existing grant(s)",
            object.key,
            object.acl.grants.len()
        )
    }

    fn example() -> CanaryObjectAcl {
        CanaryObjectAcl {
            key: format!("{CANARY_PREFIX}canary.txt"),
            acl: BucketAcl::new(
                EXAMPLE_OWNER.to_owned(),
                Some("platform".to_owned()),
                vec![
                    Grant::canonical_user(EXAMPLE_OWNER, "FULL_CONTROL"),
                    Grant::canonical_user(EXAMPLE_PARTNER, "READ"),
                ],
            ),
        }
    }
}
