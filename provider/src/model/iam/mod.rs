//! IAM: users' and roles' policies, credentials and trust.
//!
//! Policy documents are kept as [`serde_json::Value`]s: serde_json's map is sorted by key, so two reads of
//! the same document compare equal and serialize to the same canonical JSON whatever order IAM answered in.

mod attached;
mod credentials;
mod document;
mod inline;
#[cfg(test)]
mod tests;
mod trust;

pub use attached::*;
pub use credentials::*;
pub use document::*;
pub use inline::*;
pub use trust::*;

use super::register_faults;

register_faults![
    UserAdminPolicyAttached,
    RoleAdminPolicyAttached,
    UserInlineWildcardPolicy,
    RoleInlineWildcardPolicy,
    UserAccessKeyCreated,
    UserLoginProfileCreated,
    RoleTrustPolicyPublic,
    RoleTrustPolicyExternalAccount,
];
