//! The security-relevant state faults change, and the pure operations on it. Real providers read and write
//! this state through their APIs; the sandbox keeps it in memory. Snapshots are these types as JSON, kept in a
//! canonical order so that two reads of the same state compare equal.

use std::collections::BTreeSet;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// What one fault means for the state it changes, the same for every provider that implements it.
pub trait FaultSemantics: Send + Sync + 'static {
    /// The catalogue id.
    const ID: &'static str;
    /// The misconfiguration, in a few words, as "the misconfiguration is already there: {PRESENT}".
    const PRESENT: &'static str;
    type State: Serialize + DeserializeOwned + PartialEq + Clone + Send + Sync;

    /// Whether the misconfiguration is in this state.
    fn is_present(state: &Self::State) -> bool;

    /// What injecting the fault into this state changes, for people (dry runs show it).
    fn describe(state: &Self::State) -> String;
}

/// `aws.s3.bucket-public-acl`: READ for everyone added to a bucket's ACL.
pub struct BucketPublicAcl;

impl FaultSemantics for BucketPublicAcl {
    const ID: &'static str = "aws.s3.bucket-public-acl";
    const PRESENT: &'static str = "the bucket ACL grants READ to everyone";
    type State = BucketAcl;

    fn is_present(acl: &BucketAcl) -> bool {
        acl.grants_public_read()
    }

    fn describe(acl: &BucketAcl) -> String {
        format!(
            "PutBucketAcl: add READ for AllUsers to the {} existing grant(s)",
            acl.grants.len()
        )
    }
}

/// `aws.iam.user-admin-policy-attached`: AdministratorAccess attached to a user.
pub struct UserAdminPolicyAttached;

impl FaultSemantics for UserAdminPolicyAttached {
    const ID: &'static str = "aws.iam.user-admin-policy-attached";
    const PRESENT: &'static str = "the user has AdministratorAccess attached";
    type State = AttachedPolicies;

    fn is_present(attached: &AttachedPolicies) -> bool {
        attached.has_administrator_access()
    }

    fn describe(attached: &AttachedPolicies) -> String {
        format!(
            "AttachUserPolicy: attach {ADMINISTRATOR_ACCESS_ARN} beside the {} attached polic(ies)",
            attached.policy_arns.len()
        )
    }
}

/// The S3 group URI meaning "everyone, anonymous included".
pub const ALL_USERS_URI: &str = "http://acs.amazonaws.com/groups/global/AllUsers";
/// The AWS managed policy that grants everything.
pub const ADMINISTRATOR_ACCESS_ARN: &str = "arn:aws:iam::aws:policy/AdministratorAccess";

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

/// The managed policies attached to an IAM user, by ARN.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachedPolicies {
    pub policy_arns: BTreeSet<String>,
}

impl AttachedPolicies {
    pub fn has_administrator_access(&self) -> bool {
        self.policy_arns.contains(ADMINISTRATOR_ACCESS_ARN)
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
