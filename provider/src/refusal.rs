//! Who refused a change: the preventive control a refusal is attributed to.
//!
//! A fault is `prevented` only when rdfi can name the control that refused it (DESIGN.md: a verdict names the
//! control that answered). A cloud's refusal alone does not say whether a guardrail refused or rdfi lacked a
//! permission (moto answers both with the same "Access Denied"), so each provider attributes a refusal from
//! what the cloud says plainly (Block Public Access, public access prevention, an organization policy
//! constraint) and, where needed, from the policies it reads; a refusal it cannot attribute carries no
//! control and makes the fault inconclusive, with the refused action named.

use serde::{Deserialize, Serialize};

/// The kinds of preventive control a refusal is attributed to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ControlType {
    /// An explicit Deny in a policy attached to the caller (user, role, or a group of the user).
    IdentityPolicy,
    /// An explicit Deny in the resource's own policy (a bucket policy, a key policy).
    ResourcePolicy,
    /// The caller's permissions boundary denies, or does not allow, the action.
    PermissionsBoundary,
    /// A service control policy of the organization.
    Scp,
    S3BlockPublicAccess,
    GcsPublicAccessPrevention,
    /// A bucket's uniform bucket-level access, which refuses ACL changes.
    GcsUniformBucketLevelAccess,
    /// A GCP organization policy constraint (uniform bucket-level access, domain-restricted sharing...).
    OrgPolicy,
    /// A preventive control of the embedded sandbox.
    Sandbox,
}

impl ControlType {
    /// The label in events and reports (`identity-policy`, `s3-block-public-access`...).
    pub fn label(self) -> &'static str {
        match self {
            Self::IdentityPolicy => "identity-policy",
            Self::ResourcePolicy => "resource-policy",
            Self::PermissionsBoundary => "permissions-boundary",
            Self::Scp => "scp",
            Self::S3BlockPublicAccess => "s3-block-public-access",
            Self::GcsPublicAccessPrevention => "gcs-public-access-prevention",
            Self::GcsUniformBucketLevelAccess => "gcs-uniform-bucket-level-access",
            Self::OrgPolicy => "org-policy",
            Self::Sandbox => "sandbox",
        }
    }
}

/// The control a refusal is attributed to: what it is and where it is attached.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamedControl {
    /// The policy's or setting's name (`deny-public-acl`, `BlockPublicAcls`, `publicAccessPrevention`).
    pub name: String,
    /// Where it is attached (`user rdfi`, `bucket logs`, `account 123456789012`, `project p`).
    pub location: String,
    pub control_type: ControlType,
}

impl NamedControl {
    /// For people: "explicit Deny in policy deny-public-acl attached to user rdfi".
    pub fn describe(&self) -> String {
        let (name, location) = (&self.name, &self.location);
        match self.control_type {
            ControlType::IdentityPolicy | ControlType::ResourcePolicy => {
                format!("explicit Deny in policy {name} attached to {location}")
            }
            ControlType::PermissionsBoundary => {
                format!("permissions boundary {name} of {location}")
            }
            ControlType::Scp => format!("explicit Deny in SCP {name} attached to {location}"),
            ControlType::S3BlockPublicAccess => {
                format!("S3 Block Public Access ({name}) on {location}")
            }
            ControlType::GcsPublicAccessPrevention => {
                format!("public access prevention on {location}")
            }
            ControlType::GcsUniformBucketLevelAccess => {
                format!("uniform bucket-level access on {location}")
            }
            ControlType::OrgPolicy => format!("organization policy {name} on {location}"),
            ControlType::Sandbox => format!("sandbox control {name} on {location}"),
        }
    }
}

/// What a refusal is attributed to, as far as rdfi could tell.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attribution {
    /// The control that refused; `None` when rdfi could not name one (then the fault is inconclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub control: Option<NamedControl>,
    /// The action the cloud refused (`s3:PutBucketAcl`, `storage.buckets.setIamPolicy`), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub denied_action: Option<String>,
}

impl Attribution {
    pub fn to(control: NamedControl, denied_action: Option<String>) -> Self {
        Self {
            control: Some(control),
            denied_action,
        }
    }

    pub fn unattributed(denied_action: Option<String>) -> Self {
        Self {
            control: None,
            denied_action,
        }
    }
}
