//! Google Cloud IAM policies, whatever resource holds them (a bucket, a project): the bindings, and the faults
//! that add one member to one role, whose revert removes only that member.

use std::collections::BTreeSet;
use std::marker::PhantomData;

use serde::{Deserialize, Serialize};

use crate::model::{FaultSemantics, FaultState};

/// An IAM condition on a binding, as the JSON APIs report it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct IamCondition {
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub expression: String,
}

/// One binding of an IAM policy: a role granted to members, maybe under a condition.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct IamBinding {
    pub role: String,
    pub members: BTreeSet<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<IamCondition>,
}

/// An IAM policy's bindings, without its etag and version (which change on every write) and without the
/// fields no binding fault changes (a project's `auditConfigs`: see [`super::AuditConfigs`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IamPolicy {
    /// Sorted by role, then members, then condition; no binding without members.
    pub bindings: Vec<IamBinding>,
}

impl IamPolicy {
    /// The canonical policy of these bindings: sorted, empty bindings dropped.
    pub fn new(mut bindings: Vec<IamBinding>) -> Self {
        bindings.retain(|binding| !binding.members.is_empty());
        bindings.sort();
        IamPolicy { bindings }
    }

    /// Whether `member` holds `role` without a condition.
    pub fn grants(&self, member: &str, role: &str) -> bool {
        self.bindings.iter().any(|binding| {
            binding.role == role && binding.condition.is_none() && binding.members.contains(member)
        })
    }

    /// The roles `member` holds without a condition.
    pub fn roles_of(&self, member: &str) -> BTreeSet<String> {
        self.bindings
            .iter()
            .filter(|binding| binding.condition.is_none() && binding.members.contains(member))
            .map(|binding| binding.role.clone())
            .collect()
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
}

impl FaultState for IamPolicy {
    fn canonical(self) -> Self {
        IamPolicy::new(self.bindings)
    }
}

/// The binding a plain role grant of `role` to `members`.
pub(crate) fn binding(role: &str, members: &[&str]) -> IamBinding {
    IamBinding {
        role: role.to_owned(),
        members: members.iter().map(|member| (*member).to_owned()).collect(),
        condition: None,
    }
}

/// A kind of resource whose IAM policy binding faults change: the name of that state and a secure example.
pub trait IamPolicyHolder: Send + Sync + 'static {
    /// The aspect the policy is kept under ([`FaultSemantics::ASPECT`]).
    const ASPECT: &'static str;
    /// The API method that writes it, for descriptions.
    const SET_IAM_POLICY: &'static str;
    fn example() -> IamPolicy;
}

/// One IAM grant a fault adds to a policy.
pub trait IamGrant: Send + Sync + 'static {
    type Holder: IamPolicyHolder;
    const ID: &'static str;
    const PRESENT: &'static str;
    const MEMBER: &'static str;
    const ROLE: &'static str;
}

/// A fault that adds one member to one role of an IAM policy; its revert removes only that member from that
/// role (unless it held it before), so bindings and members added meanwhile stay.
pub struct IamMemberGranted<G>(PhantomData<G>);

impl<G: IamGrant> FaultSemantics for IamMemberGranted<G> {
    const ID: &'static str = G::ID;
    const PRESENT: &'static str = G::PRESENT;
    const ASPECT: &'static str = G::Holder::ASPECT;
    type State = IamPolicy;

    fn is_present(policy: &IamPolicy) -> bool {
        policy.grants(G::MEMBER, G::ROLE)
    }

    fn inject(policy: &IamPolicy) -> IamPolicy {
        policy.with_member(G::MEMBER, G::ROLE)
    }

    fn revert(current: &IamPolicy, before: &IamPolicy) -> IamPolicy {
        if before.grants(G::MEMBER, G::ROLE) {
            current.clone()
        } else {
            Self::remediate(current)
        }
    }

    fn remediate(current: &IamPolicy) -> IamPolicy {
        current.without_member(G::MEMBER, G::ROLE)
    }

    fn describe(policy: &IamPolicy) -> String {
        format!(
            "{}: add {} to {} beside the {} existing binding(s)",
            G::Holder::SET_IAM_POLICY,
            G::MEMBER,
            G::ROLE,
            policy.bindings.len()
        )
    }

    fn example() -> IamPolicy {
        G::Holder::example()
    }
}
