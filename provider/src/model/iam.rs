//! IAM: users' and roles' policies.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::{FaultSemantics, register_faults};

register_faults![UserAdminPolicyAttached];

/// The AWS managed policy that grants everything.
pub const ADMINISTRATOR_ACCESS_ARN: &str = "arn:aws:iam::aws:policy/AdministratorAccess";

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

/// `aws.iam.user-admin-policy-attached`: AdministratorAccess attached to a user.
pub struct UserAdminPolicyAttached;

impl FaultSemantics for UserAdminPolicyAttached {
    const ID: &'static str = "aws.iam.user-admin-policy-attached";
    const PRESENT: &'static str = "the user has AdministratorAccess attached";
    const ASPECT: &'static str = "iam.user-attached-policies";
    type State = AttachedPolicies;

    fn is_present(attached: &AttachedPolicies) -> bool {
        attached.has_administrator_access()
    }

    fn inject(attached: &AttachedPolicies) -> AttachedPolicies {
        let mut attached = attached.clone();
        attached
            .policy_arns
            .insert(ADMINISTRATOR_ACCESS_ARN.to_owned());
        attached
    }

    /// Detaches only AdministratorAccess (unless the user had it before): policies attached meanwhile stay.
    fn revert(current: &AttachedPolicies, before: &AttachedPolicies) -> AttachedPolicies {
        if before.has_administrator_access() {
            current.clone()
        } else {
            Self::remediate(current)
        }
    }

    fn remediate(current: &AttachedPolicies) -> AttachedPolicies {
        let mut attached = current.clone();
        attached.policy_arns.remove(ADMINISTRATOR_ACCESS_ARN);
        attached
    }

    fn describe(attached: &AttachedPolicies) -> String {
        format!(
            "AttachUserPolicy: attach {ADMINISTRATOR_ACCESS_ARN} beside the {} attached polic(ies)",
            attached.policy_arns.len()
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
