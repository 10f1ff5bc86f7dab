//! IAM: users' and roles' policies, credentials and trust.
//!
//! Policy documents are kept as [`serde_json::Value`]s: serde_json's map is sorted by key, so two reads of
//! the same document compare equal and serialize to the same canonical JSON whatever order IAM answered in.

use std::collections::{BTreeMap, BTreeSet};
use std::marker::PhantomData;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{FaultSemantics, register_faults};

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

/// The AWS managed policy that grants everything.
pub const ADMINISTRATOR_ACCESS_ARN: &str = "arn:aws:iam::aws:policy/AdministratorAccess";

/// The name of the inline policy the wildcard faults put on a user or a role.
pub const WILDCARD_POLICY_NAME: &str = "rdfi-fault-wildcard";

/// The account the external-trust fault lets in: a reserved-looking id no real organization owns.
pub const EXTERNAL_ACCOUNT_ROOT: &str = "arn:aws:iam::999999999999:root";

/// The value of the access key description tag that marks a key the access-key fault created.
pub const FAULT_ACCESS_KEY_DESCRIPTION: &str = "rdfi fault aws.iam.user-access-key-created";

/// The `Statement` entries of a policy document: its array, or its single statement object.
pub fn statements(document: &Value) -> Vec<&Value> {
    match document.get("Statement") {
        Some(Value::Array(statements)) => statements.iter().collect(),
        Some(statement @ Value::Object(_)) => vec![statement],
        _ => Vec::new(),
    }
}

/// The strings of a policy field that is a string or an array of strings (`Action`, `Principal.AWS`).
fn string_values(field: Option<&Value>) -> Vec<&str> {
    match field {
        Some(Value::String(value)) => vec![value.as_str()],
        Some(Value::Array(values)) => values.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// Whether a statement allows `action` (`kms:Decrypt`), directly, through its service's wildcard
/// (`kms:*`) or through `*`.
pub fn allows_action(statement: &Value, action: &str) -> bool {
    let service_wildcard = action
        .split_once(':')
        .map(|(service, _)| format!("{service}:*"))
        .unwrap_or_default();
    statement.get("Effect").and_then(Value::as_str) == Some("Allow")
        && string_values(statement.get("Action"))
            .into_iter()
            .any(|granted| {
                granted == "*"
                    || granted.eq_ignore_ascii_case(action)
                    || granted.eq_ignore_ascii_case(&service_wildcard)
            })
}

/// Whether a statement's `Principal` names `principal` among its AWS principals; `*` also matches the
/// bare `"Principal": "*"`.
pub fn names_principal(statement: &Value, principal: &str) -> bool {
    match statement.get("Principal") {
        Some(Value::String(everyone)) => everyone == "*" && principal == "*",
        Some(Value::Object(principals)) => {
            string_values(principals.get("AWS")).contains(&principal)
        }
        _ => false,
    }
}

/// Whether a statement lets anyone at all perform `action`, with no condition narrowing it.
pub fn allows_everyone(statement: &Value, action: &str) -> bool {
    allows_action(statement, action)
        && names_principal(statement, "*")
        && statement.get("Condition").is_none()
}

/// The document with `statement` appended to its statements.
pub fn with_statement(document: &Value, statement: Value) -> Value {
    let mut statements: Vec<Value> = statements(document).into_iter().cloned().collect();
    statements.push(statement);
    let mut document = document.clone();
    document["Statement"] = Value::Array(statements);
    document
}

/// The document without the statements `unwanted` picks.
pub fn without_statements(document: &Value, unwanted: impl Fn(&Value) -> bool) -> Value {
    let kept: Vec<Value> = statements(document)
        .into_iter()
        .filter(|statement| !unwanted(statement))
        .cloned()
        .collect();
    let mut document = document.clone();
    document["Statement"] = Value::Array(kept);
    document
}

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
    /// meanwhile stay.
    fn reverted_wildcard_policy(&self, before: &InlinePolicies) -> InlinePolicies {
        let mut inline = self.clone();
        match before.policies.get(WILDCARD_POLICY_NAME) {
            Some(document) => inline
                .policies
                .insert(WILDCARD_POLICY_NAME.to_owned(), document.clone()),
            None => inline.policies.remove(WILDCARD_POLICY_NAME),
        };
        inline
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

    fn example() -> InlinePolicies {
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

/// A user's access keys.
///
/// IAM cannot tag an access key, but it keeps an access key's description as a user tag whose key is the
/// access key id (what the console's "description tag" writes). The fault marks the key it creates that way,
/// with [`FAULT_ACCESS_KEY_DESCRIPTION`], so that the probe can tell the fault's key from the user's own
/// keys, and the revert deletes exactly that key: never a key the user had in the snapshot, nor one someone
/// else created meanwhile.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessKeys {
    /// Every access key of the user, active or not.
    pub access_key_ids: BTreeSet<String>,
    /// The keys among them whose description tag marks them as created by the fault.
    pub fault_key_ids: BTreeSet<String>,
}

impl AccessKeys {
    /// The keys the revert deletes: created by the fault and not in the snapshot.
    pub fn fault_keys_since(&self, before: &AccessKeys) -> BTreeSet<String> {
        self.fault_key_ids
            .difference(&before.access_key_ids)
            .cloned()
            .collect()
    }

    fn without(&self, removed: &BTreeSet<String>) -> AccessKeys {
        AccessKeys {
            access_key_ids: self.access_key_ids.difference(removed).cloned().collect(),
            fault_key_ids: self.fault_key_ids.difference(removed).cloned().collect(),
        }
    }
}

/// AWS lets a user have at most this many access keys.
pub const ACCESS_KEYS_PER_USER: usize = 2;

/// `aws.iam.user-access-key-created`: a new long-lived access key on a user.
pub struct UserAccessKeyCreated;

impl FaultSemantics for UserAccessKeyCreated {
    const ID: &'static str = "aws.iam.user-access-key-created";
    const PRESENT: &'static str = "the user has an access key the fault created";
    const ASPECT: &'static str = "iam.user-access-keys";
    type State = AccessKeys;

    fn is_present(keys: &AccessKeys) -> bool {
        !keys.fault_key_ids.is_empty()
    }

    /// Adds a key with a made-up id (a real cloud chooses it), marked as the fault's.
    fn inject(keys: &AccessKeys) -> AccessKeys {
        let new_key = (0..)
            .map(|number| format!("AKIARDFIFAULT{number:07}"))
            .find(|id| !keys.access_key_ids.contains(id))
            .unwrap_or_default();
        let mut keys = keys.clone();
        keys.access_key_ids.insert(new_key.clone());
        keys.fault_key_ids.insert(new_key);
        keys
    }

    /// Deletes only the keys the fault created since the snapshot; keys created meanwhile by others stay.
    fn revert(current: &AccessKeys, before: &AccessKeys) -> AccessKeys {
        current.without(&current.fault_keys_since(before))
    }

    fn remediate(current: &AccessKeys) -> AccessKeys {
        current.without(&current.fault_key_ids)
    }

    fn describe(keys: &AccessKeys) -> String {
        format!(
            "CreateAccessKey: create a long-lived access key (secret discarded) beside the user's {} key(s), described by a user tag",
            keys.access_key_ids.len()
        )
    }

    fn example() -> AccessKeys {
        AccessKeys {
            access_key_ids: BTreeSet::from(["AKIAEXAMPLEDEPLOY01".to_owned()]),
            fault_key_ids: BTreeSet::new(),
        }
    }
}

/// Whether a user can sign in to the console: whether it has a login profile.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginProfile {
    pub has_login_profile: bool,
}

/// `aws.iam.user-login-profile-created`: a console password added to a user that had none.
pub struct UserLoginProfileCreated;

impl FaultSemantics for UserLoginProfileCreated {
    const ID: &'static str = "aws.iam.user-login-profile-created";
    const PRESENT: &'static str = "the user has a console password (login profile)";
    const ASPECT: &'static str = "iam.user-login-profile";
    type State = LoginProfile;

    fn is_present(profile: &LoginProfile) -> bool {
        profile.has_login_profile
    }

    fn inject(_profile: &LoginProfile) -> LoginProfile {
        LoginProfile {
            has_login_profile: true,
        }
    }

    fn remediate(_current: &LoginProfile) -> LoginProfile {
        LoginProfile {
            has_login_profile: false,
        }
    }

    fn describe(_profile: &LoginProfile) -> String {
        "CreateLoginProfile: give the user a random console password (discarded) it did not have"
            .to_owned()
    }

    /// A programmatic-only user: no console password (the state has nothing more to vary).
    fn example() -> LoginProfile {
        LoginProfile {
            has_login_profile: false,
        }
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_access_key_revert_deletes_only_the_faults_key() {
        let before = UserAccessKeyCreated::example();
        let mut current = UserAccessKeyCreated::inject(&before);
        current
            .access_key_ids
            .insert("AKIASOMEONEELSE00001".to_owned());
        let reverted = UserAccessKeyCreated::revert(&current, &before);
        assert!(reverted.access_key_ids.contains("AKIASOMEONEELSE00001"));
        assert!(reverted.access_key_ids.contains("AKIAEXAMPLEDEPLOY01"));
        assert!(reverted.fault_key_ids.is_empty());
    }

    #[test]
    fn the_inline_revert_keeps_policies_put_meanwhile() {
        let before = InlinePolicies::example();
        let mut current = UserInlineWildcardPolicy::inject(&before);
        current
            .policies
            .insert("added-meanwhile".to_owned(), json!({"Statement": []}));
        let reverted = UserInlineWildcardPolicy::revert(&current, &before);
        assert!(reverted.policies.contains_key("added-meanwhile"));
        assert!(!reverted.policies.contains_key(WILDCARD_POLICY_NAME));
    }

    #[test]
    fn trust_principals_match_strings_and_arrays_and_conditions_guard_everyone() {
        let array = json!({"Effect": "Allow", "Action": ["sts:AssumeRole"], "Principal": {"AWS": ["a", "*"]}});
        assert!(names_principal(&array, "*") && allows_action(&array, "sts:AssumeRole"));
        let bare = json!({"Effect": "Allow", "Action": "kms:*", "Principal": "*"});
        assert!(allows_everyone(&bare, "kms:Decrypt"));
        let conditioned =
            json!({"Effect": "Allow", "Action": "kms:*", "Principal": "*", "Condition": {}});
        assert!(!allows_everyone(&conditioned, "kms:Decrypt"));
        let denied = json!({"Effect": "Deny", "Action": "*", "Principal": "*"});
        assert!(!allows_everyone(&denied, "kms:Decrypt"));
    }
}
