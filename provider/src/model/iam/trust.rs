//! Roles' trust policies and the faults that open them to everyone or to an external account.

use std::marker::PhantomData;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{allows_action, names_principal, statements, with_statement, without_statements};
use crate::model::{FaultSemantics, FaultState};

/// The account the external-trust fault lets in: a reserved-looking id no real organization owns.
pub const EXTERNAL_ACCOUNT_ROOT: &str = "arn:aws:iam::999999999999:root";

/// A role's trust policy (assume-role policy document), decoded from IAM's URL encoding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustPolicy {
    pub document: Value,
}

impl TrustPolicy {
    /// Whether some statement lets `principal` assume the role.
    fn trusts(&self, principal: &str) -> bool {
        statements(&self.document).into_iter().any(|statement| {
            allows_action(statement, "sts:AssumeRole") && names_principal(statement, principal)
        })
    }

    fn with_trusted(&self, sid: &str, principal: &str) -> TrustPolicy {
        TrustPolicy {
            document: with_statement(
                &self.document,
                json!({"Sid": sid, "Effect": "Allow", "Principal": {"AWS": principal}, "Action": "sts:AssumeRole"}),
            ),
        }
    }

    fn without_trusted(&self, principal: &str) -> TrustPolicy {
        TrustPolicy {
            document: without_statements(&self.document, |statement| {
                allows_action(statement, "sts:AssumeRole") && names_principal(statement, principal)
            }),
        }
    }

    /// A deployment role: EC2 instances and one CI role of the same account (with MFA) may assume it.
    fn example() -> TrustPolicy {
        TrustPolicy {
            document: json!({
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"},
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": "arn:aws:iam::123456789012:role/ci-deployer"},
                        "Action": "sts:AssumeRole",
                        "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}},
                    },
                ],
            }),
        }
    }
}

impl FaultState for TrustPolicy {}

/// Who a trust-policy fault lets assume a role.
pub trait TrustedPrincipal: Send + Sync + 'static {
    const ID: &'static str;
    const PRESENT: &'static str;
    /// The `Sid` of the statement the fault adds.
    const SID: &'static str;
    /// The AWS principal that statement names.
    const PRINCIPAL: &'static str;
    /// How the fault's description names the principal.
    const DESCRIBED: &'static str;
}

/// A statement letting one more principal assume a role added to its trust policy.
pub struct RoleTrustPolicyOpened<T>(PhantomData<T>);

impl<T: TrustedPrincipal> FaultSemantics for RoleTrustPolicyOpened<T> {
    const ID: &'static str = T::ID;
    const PRESENT: &'static str = T::PRESENT;
    const ASPECT: &'static str = "iam.role-trust-policy";
    type State = TrustPolicy;

    fn is_present(trust: &TrustPolicy) -> bool {
        trust.trusts(T::PRINCIPAL)
    }

    fn inject(trust: &TrustPolicy) -> TrustPolicy {
        trust.with_trusted(T::SID, T::PRINCIPAL)
    }

    fn remediate(current: &TrustPolicy) -> TrustPolicy {
        current.without_trusted(T::PRINCIPAL)
    }

    fn describe(trust: &TrustPolicy) -> String {
        format!(
            "UpdateAssumeRolePolicy: add a statement allowing sts:AssumeRole to {} beside {} statement(s)",
            T::DESCRIBED,
            statements(&trust.document).len()
        )
    }

    fn example() -> TrustPolicy {
        TrustPolicy::example()
    }
}

/// Any AWS principal (`*`).
pub struct AnyPrincipal;
impl TrustedPrincipal for AnyPrincipal {
    const ID: &'static str = "aws.iam.role-trust-policy-public";
    const PRESENT: &'static str = "the role's trust policy lets any AWS principal (*) assume it";
    const SID: &'static str = "RdfiFaultPublicTrust";
    const PRINCIPAL: &'static str = "*";
    const DESCRIBED: &'static str = "Principal {\"AWS\": \"*\"}";
}
/// `aws.iam.role-trust-policy-public`: anyone with an AWS account may assume the role.
pub type RoleTrustPolicyPublic = RoleTrustPolicyOpened<AnyPrincipal>;

/// The unknown external account [`EXTERNAL_ACCOUNT_ROOT`].
pub struct ExternalAccount;
impl TrustedPrincipal for ExternalAccount {
    const ID: &'static str = "aws.iam.role-trust-policy-external-account";
    const PRESENT: &'static str = "the role's trust policy lets account 999999999999 assume it";
    const SID: &'static str = "RdfiFaultExternalTrust";
    const PRINCIPAL: &'static str = EXTERNAL_ACCOUNT_ROOT;
    const DESCRIBED: &'static str = EXTERNAL_ACCOUNT_ROOT;
}
/// `aws.iam.role-trust-policy-external-account`: an unknown external account may assume the role.
pub type RoleTrustPolicyExternalAccount = RoleTrustPolicyOpened<ExternalAccount>;
