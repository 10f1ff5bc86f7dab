//! S3: bucket ACLs.

use serde::{Deserialize, Serialize};

use super::{FaultSemantics, register_faults};

register_faults![BucketPublicAcl];

/// The S3 group URI meaning "everyone, anonymous included".
pub const ALL_USERS_URI: &str = "http://acs.amazonaws.com/groups/global/AllUsers";
/// The S3 group URI for S3 server access log delivery.
pub const LOG_DELIVERY_URI: &str = "http://acs.amazonaws.com/groups/s3/LogDelivery";
const EXAMPLE_OWNER: &str = "b1c4f0d2e3a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1";
const EXAMPLE_PARTNER: &str = "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be";

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

    fn public_read_grant() -> Grant {
        Grant {
            grantee: Grantee {
                grantee_type: "Group".to_owned(),
                id: None,
                uri: Some(ALL_USERS_URI.to_owned()),
                email_address: None,
                display_name: None,
            },
            permission: "READ".to_owned(),
        }
    }

    /// Whether everyone may list the bucket.
    pub fn grants_public_read(&self) -> bool {
        self.grants.iter().any(|grant| {
            grant.grantee.uri.as_deref() == Some(ALL_USERS_URI)
                && matches!(grant.permission.as_str(), "READ" | "FULL_CONTROL")
        })
    }

    /// This ACL with READ for everyone added; every other grant kept.
    pub fn with_public_read(&self) -> BucketAcl {
        let mut grants = self.grants.clone();
        grants.push(Self::public_read_grant());
        BucketAcl::new(
            self.owner_id.clone(),
            self.owner_display_name.clone(),
            grants,
        )
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_read_is_added_and_removed_without_touching_other_grants() {
        let acl = BucketAcl::new(
            "owner".to_owned(),
            None,
            vec![
                Grant::canonical_user("b", "READ"),
                Grant::canonical_user("a", "FULL_CONTROL"),
            ],
        );
        assert!(!acl.grants_public_read());
        let public = acl.with_public_read();
        assert!(public.grants_public_read());
        assert_eq!(public.grants.len(), 3);
        assert_eq!(public.without_public_grants(), acl);
    }

    #[test]
    fn grant_order_does_not_matter() {
        let one = BucketAcl::new(
            "o".into(),
            None,
            vec![
                Grant::canonical_user("a", "READ"),
                Grant::canonical_user("b", "READ"),
            ],
        );
        let two = BucketAcl::new(
            "o".into(),
            None,
            vec![
                Grant::canonical_user("b", "READ"),
                Grant::canonical_user("a", "READ"),
            ],
        );
        assert_eq!(one, two);
    }
}
