//! Managed policies attached to users and roles, the user and role principal kinds, and the
//! AdministratorAccess faults.

use std::collections::BTreeSet;
use std::marker::PhantomData;

use serde::{Deserialize, Serialize};

use crate::model::{FaultSemantics, FaultState};

/// The AWS managed policy that grants everything.
pub const ADMINISTRATOR_ACCESS_ARN: &str = "arn:aws:iam::aws:policy/AdministratorAccess";

/// The managed policies attached to an IAM user or role, by ARN.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachedPolicies {
    pub policy_arns: BTreeSet<String>,
}

impl AttachedPolicies {
    pub fn has_administrator_access(&self) -> bool {
        self.policy_arns.contains(ADMINISTRATOR_ACCESS_ARN)
    }

    fn with_administrator_access(&self) -> AttachedPolicies {
        let mut attached = self.clone();
        attached
            .policy_arns
            .insert(ADMINISTRATOR_ACCESS_ARN.to_owned());
        attached
    }

    fn without_administrator_access(&self) -> AttachedPolicies {
        let mut attached = self.clone();
        attached.policy_arns.remove(ADMINISTRATOR_ACCESS_ARN);
        attached
    }

    /// Detaches only AdministratorAccess (unless it was there before): policies attached meanwhile stay.
    fn reverted_administrator_access(&self, before: &AttachedPolicies) -> AttachedPolicies {
        if before.has_administrator_access() {
            self.clone()
        } else {
            self.without_administrator_access()
        }
    }

    fn describe_administrator_access(&self, operation: &str) -> String {
        format!(
            "{operation}: attach {ADMINISTRATOR_ACCESS_ARN} beside the {} attached polic(ies)",
            self.policy_arns.len()
        )
    }

    fn example() -> AttachedPolicies {
        AttachedPolicies {
            policy_arns: [
                "arn:aws:iam::aws:policy/ReadOnlyAccess",
                "arn:aws:iam::123456789012:policy/deploy-artifacts",
            ]
            .into_iter()
            .map(str::to_owned)
            .collect(),
        }
    }
}

impl FaultState for AttachedPolicies {}

/// The kind of IAM principal (user or role) a policy fault targets: both take the same faults with the same
/// semantics; only the ids, texts and API operations differ.
pub trait PrincipalKind: Send + Sync + 'static {
    const ADMIN_POLICY_ID: &'static str;
    const ADMIN_POLICY_PRESENT: &'static str;
    const ATTACHED_POLICIES_ASPECT: &'static str;
    /// The operation that attaches a managed policy (`AttachUserPolicy`).
    const ATTACH_OPERATION: &'static str;
    const INLINE_WILDCARD_ID: &'static str;
    const INLINE_WILDCARD_PRESENT: &'static str;
    const INLINE_POLICIES_ASPECT: &'static str;
    /// The operation that puts an inline policy (`PutUserPolicy`).
    const PUT_POLICY_OPERATION: &'static str;
}

/// IAM users, as [`PrincipalKind`].
pub struct UserPrincipal;

impl PrincipalKind for UserPrincipal {
    const ADMIN_POLICY_ID: &'static str = "aws.iam.user-admin-policy-attached";
    const ADMIN_POLICY_PRESENT: &'static str = "the user has AdministratorAccess attached";
    const ATTACHED_POLICIES_ASPECT: &'static str = "iam.user-attached-policies";
    const ATTACH_OPERATION: &'static str = "AttachUserPolicy";
    const INLINE_WILDCARD_ID: &'static str = "aws.iam.user-inline-wildcard-policy";
    const INLINE_WILDCARD_PRESENT: &'static str = "an inline policy of the user allows * on *";
    const INLINE_POLICIES_ASPECT: &'static str = "iam.user-inline-policies";
    const PUT_POLICY_OPERATION: &'static str = "PutUserPolicy";
}

/// IAM roles, as [`PrincipalKind`].
pub struct RolePrincipal;

impl PrincipalKind for RolePrincipal {
    const ADMIN_POLICY_ID: &'static str = "aws.iam.role-admin-policy-attached";
    const ADMIN_POLICY_PRESENT: &'static str = "the role has AdministratorAccess attached";
    const ATTACHED_POLICIES_ASPECT: &'static str = "iam.role-attached-policies";
    const ATTACH_OPERATION: &'static str = "AttachRolePolicy";
    const INLINE_WILDCARD_ID: &'static str = "aws.iam.role-inline-wildcard-policy";
    const INLINE_WILDCARD_PRESENT: &'static str = "an inline policy of the role allows * on *";
    const INLINE_POLICIES_ASPECT: &'static str = "iam.role-inline-policies";
    const PUT_POLICY_OPERATION: &'static str = "PutRolePolicy";
}

/// AdministratorAccess attached to a user or a role.
pub struct AdminPolicyAttached<P>(PhantomData<P>);

/// `aws.iam.user-admin-policy-attached`: AdministratorAccess attached to a user.
pub type UserAdminPolicyAttached = AdminPolicyAttached<UserPrincipal>;

/// `aws.iam.role-admin-policy-attached`: AdministratorAccess attached to a role.
pub type RoleAdminPolicyAttached = AdminPolicyAttached<RolePrincipal>;

impl<P: PrincipalKind> FaultSemantics for AdminPolicyAttached<P> {
    const ID: &'static str = P::ADMIN_POLICY_ID;
    const PRESENT: &'static str = P::ADMIN_POLICY_PRESENT;
    const ASPECT: &'static str = P::ATTACHED_POLICIES_ASPECT;
    type State = AttachedPolicies;

    fn is_present(attached: &AttachedPolicies) -> bool {
        attached.has_administrator_access()
    }

    fn inject(attached: &AttachedPolicies) -> AttachedPolicies {
        attached.with_administrator_access()
    }

    fn revert(current: &AttachedPolicies, before: &AttachedPolicies) -> AttachedPolicies {
        current.reverted_administrator_access(before)
    }

    fn remediate(current: &AttachedPolicies) -> AttachedPolicies {
        current.without_administrator_access()
    }

    fn describe(attached: &AttachedPolicies) -> String {
        attached.describe_administrator_access(P::ATTACH_OPERATION)
    }

    fn example() -> AttachedPolicies {
        AttachedPolicies::example()
    }
}
