//! Google Cloud identity: IAM policies (shared with Cloud Storage's bucket policies), the project's IAM
//! policy and audit configs, and service accounts (their keys, whether they are enabled), as the Resource
//! Manager and IAM JSON APIs report them.
//!
//! Service accounts carry no labels: one opts in, and is protected, by `key=value` words in its description
//! (`rdfi-target=true`), which rdfi reads as its tags (see `crate::gcp::description_tags`).

pub mod policy;
mod project;
mod service_account;
#[cfg(test)]
mod tests;

pub use policy::{
    IamBinding, IamCondition, IamGrant, IamMemberGranted, IamPolicy, IamPolicyHolder,
};
pub use project::*;
pub use service_account::*;

use super::register_faults;

register_faults![
    ProjectOwnerGrantedToExternalUser,
    ProjectEditorGrantedToExternalUser,
    ProjectTokenCreatorGrantedBroadly,
    ProjectServiceAccountUserGrantedBroadly,
    ServiceAccountMadeProjectOwner,
    ProjectDataAccessAuditLogsRemoved,
    ServiceAccountKeyCreated,
    ServiceAccountEnabled,
];

/// The broad member the project-wide impersonation faults grant to: every account of a domain outside the
/// organization. Google refuses `allUsers` and `allAuthenticatedUsers` in a project's policy, so a whole
/// outside domain is the broadest grant a person can make there; `example.com` is reserved (RFC 2606), so no
/// real organization is ever granted anything.
pub const OUTSIDE_DOMAIN: &str = "domain:example.com";
