//! Inline policies of users and roles, and the wildcard inline policy faults.

use std::collections::BTreeMap;
use std::marker::PhantomData;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{
    PrincipalKind, RolePrincipal, UserPrincipal, allows_action, statements, string_values,
};
use crate::model::{FaultSemantics, FaultState};

/// The name of the inline policy the wildcard faults put on a user or a role.
pub const WILDCARD_POLICY_NAME: &str = "rdfi-fault-wildcard";

/// The inline policies of a user or a role: name to document.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InlinePolicies {
    pub policies: BTreeMap<String, Value>,
}

impl InlinePolicies {
    /// The policy the wildcard faults put: everything on everything.
    pub fn wildcard_document() -> Value {
        json!({
            "Version": "2012-10-17",
            "Statement": [{"Sid": "RdfiFaultWildcard", "Effect": "Allow", "Action": "*", "Resource": "*"}],
        })
    }

    fn document_grants_wildcard(document: &Value) -> bool {
        statements(document).into_iter().any(|statement| {
            allows_action(statement, "*") && string_values(statement.get("Resource")).contains(&"*")
        })
    }

    /// Whether some inline policy allows `*` on `*`.
    pub fn grants_wildcard(&self) -> bool {
        self.policies.values().any(Self::document_grants_wildcard)
    }

    fn with_wildcard_policy(&self) -> InlinePolicies {
        let mut inline = self.clone();
        inline
            .policies
            .insert(WILDCARD_POLICY_NAME.to_owned(), Self::wildcard_document());
        inline
    }

    /// Puts back only the policy the fault wrote (as it was, or absent): other inline policies changed
    /// meanwhile stay. A wildcard policy someone else put meanwhile under another name is removed too: the
    /// revert never leaves the misconfiguration.
    fn reverted_wildcard_policy(&self, before: &InlinePolicies) -> InlinePolicies {
        let mut inline = self.clone();
        match before.policies.get(WILDCARD_POLICY_NAME) {
            Some(document) => inline
                .policies
                .insert(WILDCARD_POLICY_NAME.to_owned(), document.clone()),
            None => inline.policies.remove(WILDCARD_POLICY_NAME),
        };
        if inline.grants_wildcard() {
            inline.without_wildcard_policies()
        } else {
            inline
        }
    }

    fn without_wildcard_policies(&self) -> InlinePolicies {
        let mut inline = self.clone();
        inline
            .policies
            .retain(|_, document| !Self::document_grants_wildcard(document));
        inline
    }

    fn describe_wildcard_policy(&self, operation: &str) -> String {
        format!(
            "{operation}: put inline policy {WILDCARD_POLICY_NAME} allowing * on * beside the {} inline polic(ies)",
            self.policies.len()
        )
    }

    pub(super) fn example() -> InlinePolicies {
        let allow = |action: &str, resource: &str| {
            json!({
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": action, "Resource": resource}],
            })
        };
        InlinePolicies {
            policies: BTreeMap::from([
                ("read-logs".to_owned(), allow("logs:Get*", "*")),
                (
                    "write-artifacts".to_owned(),
                    allow("s3:PutObject", "arn:aws:s3:::artifacts/*"),
                ),
            ]),
        }
    }
}

impl FaultState for InlinePolicies {}

/// An inline policy allowing `*` on `*` put on a user or a role.
pub struct InlineWildcardPolicy<P>(PhantomData<P>);

/// `aws.iam.user-inline-wildcard-policy`: an inline policy allowing `*` on `*` put on a user.
pub type UserInlineWildcardPolicy = InlineWildcardPolicy<UserPrincipal>;

/// `aws.iam.role-inline-wildcard-policy`: an inline policy allowing `*` on `*` put on a role.
pub type RoleInlineWildcardPolicy = InlineWildcardPolicy<RolePrincipal>;

impl<P: PrincipalKind> FaultSemantics for InlineWildcardPolicy<P> {
    const ID: &'static str = P::INLINE_WILDCARD_ID;
    const PRESENT: &'static str = P::INLINE_WILDCARD_PRESENT;
    const ASPECT: &'static str = P::INLINE_POLICIES_ASPECT;
    type State = InlinePolicies;

    fn is_present(inline: &InlinePolicies) -> bool {
        inline.grants_wildcard()
    }

    fn inject(inline: &InlinePolicies) -> InlinePolicies {
        inline.with_wildcard_policy()
    }

    fn revert(current: &InlinePolicies, before: &InlinePolicies) -> InlinePolicies {
        current.reverted_wildcard_policy(before)
    }

    fn remediate(current: &InlinePolicies) -> InlinePolicies {
        current.without_wildcard_policies()
    }

    fn describe(inline: &InlinePolicies) -> String {
        inline.describe_wildcard_policy(P::PUT_POLICY_OPERATION)
    }

    fn example() -> InlinePolicies {
        InlinePolicies::example()
    }
}
