//! Bucket policies: the canonical form, what statements allow or deny, and the policy faults.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::EXAMPLE_ACCOUNT_ID;
use crate::model::{FaultSemantics, FaultState};

/// The account the `aws.s3.bucket-policy-external-account` fault grants access to: not one of the
/// organization's accounts.
pub const EXTERNAL_ACCOUNT_ID: &str = "999999999999";

const EXAMPLE_BUCKET: &str = "example-bucket";

/// A bucket's policy, with what the pure semantics need to write statements about it: the bucket's name (for
/// `Resource` ARNs) and the account that owns it (to tell external principals from its own).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BucketPolicy {
    pub bucket: String,
    pub account_id: String,
    /// The policy document in canonical form (see [`canonical_policy`]); `None` when the bucket has no policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document: Option<Value>,
}

/// A policy document in canonical form: `Statement` always a list, sorted by each statement's JSON, so that
/// two reads of the same policy compare equal whatever order the cloud answers in.
pub fn canonical_policy(mut document: Value) -> Value {
    if let Some(statement) = document.get_mut("Statement") {
        let mut statements = match statement.take() {
            Value::Array(statements) => statements,
            single => vec![single],
        };
        statements.sort_by_cached_key(Value::to_string);
        *statement = Value::Array(statements);
    }
    document
}

/// A policy field that is a string or a list of strings (`Action`, `Resource`, principals), as a list.
fn string_or_list(value: Option<&Value>) -> Vec<&str> {
    match value {
        Some(Value::String(single)) => vec![single.as_str()],
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

fn has_effect(statement: &Value, effect: &str) -> bool {
    statement.get("Effect").and_then(Value::as_str) == Some(effect)
}

/// The AWS principals a statement names: `"*"` for `Principal: "*"`, else the `AWS` entries.
fn aws_principals(statement: &Value) -> Vec<&str> {
    match statement.get("Principal") {
        Some(Value::String(everyone)) => vec![everyone.as_str()],
        Some(principal) => string_or_list(principal.get("AWS")),
        None => Vec::new(),
    }
}

/// The account id of an AWS principal (`123456789012` or an ARN in it); `None` for `*`.
fn principal_account(principal: &str) -> Option<&str> {
    if principal.starts_with("arn:") {
        principal.split(':').nth(4)
    } else if principal.len() == 12 && principal.bytes().all(|byte| byte.is_ascii_digit()) {
        Some(principal)
    } else {
        None
    }
}

/// Whether an unconditional Allow statement lets everyone read objects.
fn allows_public_object_read(statement: &Value) -> bool {
    has_effect(statement, "Allow")
        && statement.get("Condition").is_none()
        && aws_principals(statement).contains(&"*")
        && string_or_list(statement.get("Action"))
            .iter()
            .any(|action| {
                matches!(
                    action.to_ascii_lowercase().as_str(),
                    "s3:getobject" | "s3:get*" | "s3:*" | "*"
                )
            })
}

/// Whether a statement is the TLS-only guard: Deny when `aws:SecureTransport` is false.
fn denies_insecure_transport(statement: &Value) -> bool {
    let secure_transport = statement
        .get("Condition")
        .and_then(|condition| condition.get("Bool"))
        .and_then(|bool_condition| bool_condition.get("aws:SecureTransport"));
    has_effect(statement, "Deny")
        && match secure_transport {
            Some(Value::Bool(value)) => !value,
            other => string_or_list(other).contains(&"false"),
        }
}

impl BucketPolicy {
    fn bucket_arn(&self) -> String {
        format!("arn:aws:s3:::{}", self.bucket)
    }

    /// The policy's statements, none without a policy.
    pub fn statements(&self) -> &[Value] {
        self.document
            .as_ref()
            .and_then(|document| document.get("Statement"))
            .and_then(Value::as_array)
            .map_or(&[], Vec::as_slice)
    }

    /// This policy with `statement` added (a new policy if there was none); every other statement kept.
    fn with_statement(&self, statement: Value) -> BucketPolicy {
        let mut statements = self.statements().to_vec();
        statements.push(statement);
        let mut document = self
            .document
            .clone()
            .unwrap_or_else(|| json!({"Version": "2012-10-17"}));
        document["Statement"] = Value::Array(statements);
        BucketPolicy {
            document: Some(canonical_policy(document)),
            ..self.clone()
        }
    }

    /// This policy without the statements `remove` matches; no policy at all if none remains.
    fn without_statements(&self, remove: impl Fn(&Value) -> bool) -> BucketPolicy {
        let kept: Vec<Value> = self
            .statements()
            .iter()
            .filter(|statement| !remove(statement))
            .cloned()
            .collect();
        let document = self
            .document
            .clone()
            .filter(|_| !kept.is_empty())
            .map(|mut document| {
                document["Statement"] = Value::Array(kept);
                canonical_policy(document)
            });
        BucketPolicy {
            document,
            ..self.clone()
        }
    }

    /// Whether a statement grants an AWS principal of another account.
    fn grants_external_account(&self, statement: &Value) -> bool {
        has_effect(statement, "Allow")
            && aws_principals(statement)
                .iter()
                .filter_map(|principal| principal_account(principal))
                .any(|account| account != self.account_id)
    }

    pub fn allows_public_read(&self) -> bool {
        self.statements().iter().any(allows_public_object_read)
    }

    pub fn allows_external_account(&self) -> bool {
        self.statements()
            .iter()
            .any(|statement| self.grants_external_account(statement))
    }

    pub fn requires_tls(&self) -> bool {
        self.statements().iter().any(denies_insecure_transport)
    }

    /// The standard TLS-only statement: deny every S3 action on the bucket and its objects without TLS.
    fn tls_only_statement(&self) -> Value {
        let arn = self.bucket_arn();
        json!({
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [arn, format!("{arn}/*")],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        })
    }

    /// A typical policy: TLS only, object reads for an analytics role and listing for a deploy role, both of
    /// the owning account.
    pub(super) fn example() -> BucketPolicy {
        let bucket = BucketPolicy {
            bucket: EXAMPLE_BUCKET.to_owned(),
            account_id: EXAMPLE_ACCOUNT_ID.to_owned(),
            document: None,
        };
        let arn = bucket.bucket_arn();
        let tls_only = bucket.tls_only_statement();
        bucket
            .with_statement(tls_only)
            .with_statement(json!({
                "Sid": "AnalyticsRead",
                "Effect": "Allow",
                "Principal": {"AWS": format!("arn:aws:iam::{EXAMPLE_ACCOUNT_ID}:role/analytics")},
                "Action": "s3:GetObject",
                "Resource": format!("{arn}/*"),
            }))
            .with_statement(json!({
                "Sid": "DeployList",
                "Effect": "Allow",
                "Principal": {"AWS": format!("arn:aws:iam::{EXAMPLE_ACCOUNT_ID}:role/deploy")},
                "Action": "s3:ListBucket",
                "Resource": arn,
            }))
    }
}

impl FaultState for BucketPolicy {
    fn canonical(self) -> Self {
        BucketPolicy {
            document: self.document.map(canonical_policy),
            ..self
        }
    }
}

fn statement_count(policy: &BucketPolicy) -> String {
    match policy.document {
        Some(_) => format!("the {} existing statement(s)", policy.statements().len()),
        None => "a new policy (the bucket has none)".to_owned(),
    }
}

/// `aws.s3.bucket-policy-public`: a bucket policy statement lets everyone read every object.
pub struct BucketPolicyPublic;

impl FaultSemantics for BucketPolicyPublic {
    const ID: &'static str = "aws.s3.bucket-policy-public";
    const PRESENT: &'static str = "the bucket policy allows s3:GetObject to everyone";
    const ASPECT: &'static str = "s3.bucket-policy";
    type State = BucketPolicy;

    fn is_present(policy: &BucketPolicy) -> bool {
        policy.allows_public_read()
    }

    fn inject(policy: &BucketPolicy) -> BucketPolicy {
        let objects = format!("{}/*", policy.bucket_arn());
        policy.with_statement(json!({
            "Sid": "RdfiPublicRead",
            "Effect": "Allow",
            "Principal": "*",
            "Action": "s3:GetObject",
            "Resource": objects,
        }))
    }

    fn remediate(policy: &BucketPolicy) -> BucketPolicy {
        policy.without_statements(allows_public_object_read)
    }

    fn describe(policy: &BucketPolicy) -> String {
        format!(
            "PutBucketPolicy: add a statement allowing s3:GetObject to Principal * to {}",
            statement_count(policy)
        )
    }

    fn example() -> BucketPolicy {
        BucketPolicy::example()
    }
}

/// `aws.s3.bucket-policy-external-account`: a bucket policy statement lets an account outside the
/// organization read and list the bucket.
pub struct BucketPolicyExternalAccount;

impl FaultSemantics for BucketPolicyExternalAccount {
    const ID: &'static str = "aws.s3.bucket-policy-external-account";
    const PRESENT: &'static str = "the bucket policy grants access to another AWS account";
    const ASPECT: &'static str = "s3.bucket-policy";
    type State = BucketPolicy;

    fn is_present(policy: &BucketPolicy) -> bool {
        policy.allows_external_account()
    }

    fn inject(policy: &BucketPolicy) -> BucketPolicy {
        let arn = policy.bucket_arn();
        policy.with_statement(json!({
            "Sid": "RdfiExternalAccountAccess",
            "Effect": "Allow",
            "Principal": {"AWS": format!("arn:aws:iam::{EXTERNAL_ACCOUNT_ID}:root")},
            "Action": ["s3:GetObject", "s3:ListBucket"],
            "Resource": [arn.clone(), format!("{arn}/*")],
        }))
    }

    fn remediate(policy: &BucketPolicy) -> BucketPolicy {
        policy.without_statements(|statement| policy.grants_external_account(statement))
    }

    fn describe(policy: &BucketPolicy) -> String {
        format!(
            "PutBucketPolicy: add a statement allowing s3:GetObject and s3:ListBucket to account \
             {EXTERNAL_ACCOUNT_ID} to {}",
            statement_count(policy)
        )
    }

    fn example() -> BucketPolicy {
        BucketPolicy::example()
    }
}

/// `aws.s3.bucket-tls-only-statement-removed`: the statement denying requests without TLS is removed from
/// the bucket policy; every other statement stays.
pub struct BucketTlsOnlyStatementRemoved;

impl FaultSemantics for BucketTlsOnlyStatementRemoved {
    const ID: &'static str = "aws.s3.bucket-tls-only-statement-removed";
    const PRESENT: &'static str =
        "the bucket policy has no statement denying requests without TLS (aws:SecureTransport)";
    const ASPECT: &'static str = "s3.bucket-policy";
    type State = BucketPolicy;

    fn is_present(policy: &BucketPolicy) -> bool {
        !policy.requires_tls()
    }

    fn inject(policy: &BucketPolicy) -> BucketPolicy {
        policy.without_statements(denies_insecure_transport)
    }

    fn remediate(policy: &BucketPolicy) -> BucketPolicy {
        policy.with_statement(policy.tls_only_statement())
    }

    fn describe(policy: &BucketPolicy) -> String {
        let guards = policy
            .statements()
            .iter()
            .filter(|statement| denies_insecure_transport(statement))
            .count();
        format!(
            "PutBucketPolicy (DeleteBucketPolicy if nothing remains): remove the {guards} statement(s) denying \
             aws:SecureTransport=false from {}",
            statement_count(policy)
        )
    }

    fn example() -> BucketPolicy {
        BucketPolicy::example()
    }
}
