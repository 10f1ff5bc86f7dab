//! S3: bucket and object ACLs, bucket policies, Block Public Access, default encryption, versioning, access
//! logging and lifecycle rules.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{FaultSemantics, register_faults};

register_faults![
    BucketPublicAcl,
    BucketPublicReadWriteAcl,
    BucketPolicyPublic,
    BucketPolicyExternalAccount,
    BucketTlsOnlyStatementRemoved,
    BucketPublicAccessBlockRemoved,
    BucketDefaultEncryptionRemoved,
    BucketVersioningSuspended,
    BucketAccessLoggingDisabled,
    BucketLifecycleExpireOneDay,
    ObjectPublicAcl,
];

/// The S3 group URI meaning "everyone, anonymous included".
pub const ALL_USERS_URI: &str = "http://acs.amazonaws.com/groups/global/AllUsers";
/// The S3 group URI for S3 server access log delivery.
pub const LOG_DELIVERY_URI: &str = "http://acs.amazonaws.com/groups/s3/LogDelivery";
const EXAMPLE_OWNER: &str = "b1c4f0d2e3a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1";
const EXAMPLE_PARTNER: &str = "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be";

/// Who an ACL grant is for. Exactly the fields S3 reports for the grantee's type are set.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Grantee {
    /// `CanonicalUser`, `Group` or `AmazonCustomerByEmail`.
    pub grantee_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Grant {
    pub grantee: Grantee,
    /// `READ`, `WRITE`, `READ_ACP`, `WRITE_ACP`, `FULL_CONTROL`.
    pub permission: String,
}

impl Grant {
    /// A grant to an AWS account by its canonical user id.
    pub fn canonical_user(id: &str, permission: &str) -> Grant {
        Grant {
            grantee: Grantee {
                grantee_type: "CanonicalUser".to_owned(),
                id: Some(id.to_owned()),
                uri: None,
                email_address: None,
                display_name: None,
            },
            permission: permission.to_owned(),
        }
    }
}

/// A bucket's access control list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BucketAcl {
    pub owner_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_display_name: Option<String>,
    /// Sorted; S3 does not promise an order.
    pub grants: Vec<Grant>,
}

impl BucketAcl {
    /// A typical private bucket shared with a partner account and the log delivery group.
    pub fn example() -> BucketAcl {
        let log_delivery = |permission: &str| Grant {
            grantee: Grantee {
                grantee_type: "Group".to_owned(),
                id: None,
                uri: Some(LOG_DELIVERY_URI.to_owned()),
                email_address: None,
                display_name: None,
            },
            permission: permission.to_owned(),
        };
        BucketAcl::new(
            EXAMPLE_OWNER.to_owned(),
            Some("platform".to_owned()),
            vec![
                Grant::canonical_user(EXAMPLE_OWNER, "FULL_CONTROL"),
                Grant::canonical_user(EXAMPLE_PARTNER, "READ"),
                Grant::canonical_user(EXAMPLE_PARTNER, "READ_ACP"),
                log_delivery("WRITE"),
                log_delivery("READ_ACP"),
            ],
        )
    }

    pub fn new(
        owner_id: String,
        owner_display_name: Option<String>,
        mut grants: Vec<Grant>,
    ) -> Self {
        grants.sort();
        BucketAcl {
            owner_id,
            owner_display_name,
            grants,
        }
    }

    fn public_grant(permission: &str) -> Grant {
        Grant {
            grantee: Grantee {
                grantee_type: "Group".to_owned(),
                id: None,
                uri: Some(ALL_USERS_URI.to_owned()),
                email_address: None,
                display_name: None,
            },
            permission: permission.to_owned(),
        }
    }

    /// Whether everyone holds `permission` (or FULL_CONTROL, which implies it).
    fn grants_public(&self, permission: &str) -> bool {
        self.grants.iter().any(|grant| {
            grant.grantee.uri.as_deref() == Some(ALL_USERS_URI)
                && (grant.permission == permission || grant.permission == "FULL_CONTROL")
        })
    }

    /// Whether everyone may list the bucket (or read the object).
    pub fn grants_public_read(&self) -> bool {
        self.grants_public("READ")
    }

    /// Whether everyone may create, overwrite and delete objects in the bucket.
    pub fn grants_public_write(&self) -> bool {
        self.grants_public("WRITE")
    }

    /// This ACL with each of `permissions` granted to everyone unless it already is; every other grant kept.
    fn with_public(&self, permissions: &[&str]) -> BucketAcl {
        let mut grants = self.grants.clone();
        for permission in permissions {
            if !self.grants_public(permission) {
                grants.push(Self::public_grant(permission));
            }
        }
        BucketAcl::new(
            self.owner_id.clone(),
            self.owner_display_name.clone(),
            grants,
        )
    }

    /// This ACL with READ for everyone added; every other grant kept.
    pub fn with_public_read(&self) -> BucketAcl {
        self.with_public(&["READ"])
    }

    /// This ACL with READ and WRITE for everyone added; every other grant kept.
    pub fn with_public_read_write(&self) -> BucketAcl {
        self.with_public(&["READ", "WRITE"])
    }

    /// This ACL without any grant to everyone: what a corrective control leaves behind.
    pub fn without_public_grants(&self) -> BucketAcl {
        let grants = self
            .grants
            .iter()
            .filter(|grant| grant.grantee.uri.as_deref() != Some(ALL_USERS_URI))
            .cloned()
            .collect();
        BucketAcl::new(
            self.owner_id.clone(),
            self.owner_display_name.clone(),
            grants,
        )
    }
}

/// `aws.s3.bucket-public-acl`: READ for everyone added to a bucket's ACL.
pub struct BucketPublicAcl;

impl FaultSemantics for BucketPublicAcl {
    const ID: &'static str = "aws.s3.bucket-public-acl";
    const PRESENT: &'static str = "the bucket ACL grants READ to everyone";
    const ASPECT: &'static str = "s3.bucket-acl";
    type State = BucketAcl;

    fn is_present(acl: &BucketAcl) -> bool {
        acl.grants_public_read()
    }

    fn inject(acl: &BucketAcl) -> BucketAcl {
        acl.with_public_read()
    }

    fn remediate(acl: &BucketAcl) -> BucketAcl {
        acl.without_public_grants()
    }

    fn describe(acl: &BucketAcl) -> String {
        format!(
            "PutBucketAcl: add READ for AllUsers to the {} existing grant(s)",
            acl.grants.len()
        )
    }

    fn example() -> BucketAcl {
        BucketAcl::example()
    }
}

/// `aws.s3.bucket-public-read-write-acl`: READ and WRITE for everyone added to a bucket's ACL, so anyone can
/// list, upload, overwrite and delete objects.
pub struct BucketPublicReadWriteAcl;

impl FaultSemantics for BucketPublicReadWriteAcl {
    const ID: &'static str = "aws.s3.bucket-public-read-write-acl";
    const PRESENT: &'static str = "the bucket ACL grants READ and WRITE to everyone";
    const ASPECT: &'static str = "s3.bucket-acl";
    type State = BucketAcl;

    fn is_present(acl: &BucketAcl) -> bool {
        acl.grants_public_read() && acl.grants_public_write()
    }

    fn inject(acl: &BucketAcl) -> BucketAcl {
        acl.with_public_read_write()
    }

    fn remediate(acl: &BucketAcl) -> BucketAcl {
        acl.without_public_grants()
    }

    fn describe(acl: &BucketAcl) -> String {
        format!(
            "PutBucketAcl: add READ and WRITE for AllUsers to the {} existing grant(s)",
            acl.grants.len()
        )
    }

    fn example() -> BucketAcl {
        BucketAcl::example()
    }
}

/// The account the `aws.s3.bucket-policy-external-account` fault grants access to: not one of the
/// organization's accounts.
pub const EXTERNAL_ACCOUNT_ID: &str = "999999999999";
const EXAMPLE_ACCOUNT_ID: &str = "123456789012";
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
    fn example() -> BucketPolicy {
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

/// A bucket's S3 Block Public Access settings; `None` when the bucket has no configuration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PublicAccessBlock {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub configuration: Option<PublicAccessBlockFlags>,
}

/// The four Block Public Access flags; a flag S3 does not report is false.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PublicAccessBlockFlags {
    pub block_public_acls: bool,
    pub ignore_public_acls: bool,
    pub block_public_policy: bool,
    pub restrict_public_buckets: bool,
}

impl PublicAccessBlockFlags {
    const ALL: PublicAccessBlockFlags = PublicAccessBlockFlags {
        block_public_acls: true,
        ignore_public_acls: true,
        block_public_policy: true,
        restrict_public_buckets: true,
    };

    fn any(&self) -> bool {
        self.block_public_acls
            || self.ignore_public_acls
            || self.block_public_policy
            || self.restrict_public_buckets
    }
}

/// `aws.s3.bucket-public-access-block-removed`: the bucket's Block Public Access configuration is deleted,
/// so only the account-level setting (if any) still stops a public ACL or policy.
pub struct BucketPublicAccessBlockRemoved;

impl FaultSemantics for BucketPublicAccessBlockRemoved {
    const ID: &'static str = "aws.s3.bucket-public-access-block-removed";
    const PRESENT: &'static str = "the bucket has no Block Public Access flag set";
    const ASPECT: &'static str = "s3.bucket-public-access-block";
    type State = PublicAccessBlock;

    fn is_present(block: &PublicAccessBlock) -> bool {
        !block.configuration.is_some_and(|flags| flags.any())
    }

    fn inject(_block: &PublicAccessBlock) -> PublicAccessBlock {
        PublicAccessBlock {
            configuration: None,
        }
    }

    fn remediate(_block: &PublicAccessBlock) -> PublicAccessBlock {
        PublicAccessBlock {
            configuration: Some(PublicAccessBlockFlags::ALL),
        }
    }

    fn describe(block: &PublicAccessBlock) -> String {
        format!(
            "DeleteBucketPublicAccessBlock: remove the bucket's configuration {:?}",
            block.configuration
        )
    }

    fn example() -> PublicAccessBlock {
        Self::remediate(&PublicAccessBlock {
            configuration: None,
        })
    }
}

/// A bucket's default encryption rules; empty when the bucket has none.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BucketEncryption {
    /// Sorted.
    pub rules: Vec<EncryptionRule>,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EncryptionRule {
    /// `AES256`, `aws:kms` or `aws:kms:dsse`.
    pub sse_algorithm: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_master_key_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bucket_key_enabled: Option<bool>,
}

impl BucketEncryption {
    pub fn new(mut rules: Vec<EncryptionRule>) -> BucketEncryption {
        rules.sort();
        BucketEncryption { rules }
    }

    /// Whether objects are encrypted by default with a KMS key, whose key policy and CloudTrail record are a
    /// second guard on every read.
    pub fn uses_kms(&self) -> bool {
        self.rules
            .iter()
            .any(|rule| rule.sse_algorithm.starts_with("aws:kms"))
    }
}

/// `aws.s3.bucket-default-encryption-removed`: DeleteBucketEncryption. Real S3 then falls back to SSE-S3
/// (AES256, keys S3 holds), older S3 and moto to no default encryption: either way new objects no longer get
/// the bucket's KMS key, so the fault is aimed at buckets encrypted with SSE-KMS.
pub struct BucketDefaultEncryptionRemoved;

impl FaultSemantics for BucketDefaultEncryptionRemoved {
    const ID: &'static str = "aws.s3.bucket-default-encryption-removed";
    const PRESENT: &'static str = "the bucket's default encryption does not use a KMS key";
    const ASPECT: &'static str = "s3.bucket-encryption";
    type State = BucketEncryption;

    fn is_present(encryption: &BucketEncryption) -> bool {
        !encryption.uses_kms()
    }

    fn inject(_encryption: &BucketEncryption) -> BucketEncryption {
        BucketEncryption::default()
    }

    fn remediate(_encryption: &BucketEncryption) -> BucketEncryption {
        BucketEncryption::new(vec![EncryptionRule {
            sse_algorithm: "aws:kms".to_owned(),
            kms_master_key_id: None,
            bucket_key_enabled: Some(true),
        }])
    }

    fn describe(encryption: &BucketEncryption) -> String {
        format!(
            "DeleteBucketEncryption: remove {} default encryption rule(s) ({})",
            encryption.rules.len(),
            encryption
                .rules
                .iter()
                .map(|rule| rule.sse_algorithm.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )
    }

    fn example() -> BucketEncryption {
        BucketEncryption::new(vec![EncryptionRule {
            sse_algorithm: "aws:kms".to_owned(),
            kms_master_key_id: Some(format!(
                "arn:aws:kms:us-east-1:{EXAMPLE_ACCOUNT_ID}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
            )),
            bucket_key_enabled: Some(true),
        }])
    }
}

/// A bucket's versioning configuration as S3 reports it: `None` fields were never set.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BucketVersioning {
    /// `Enabled` or `Suspended`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// `Enabled` or `Disabled`; changing versioning on a bucket with MFA delete needs the root user's MFA.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mfa_delete: Option<String>,
}

/// `aws.s3.bucket-versioning-suspended`: versioning suspended, so overwrites and deletes destroy data.
pub struct BucketVersioningSuspended;

impl FaultSemantics for BucketVersioningSuspended {
    const ID: &'static str = "aws.s3.bucket-versioning-suspended";
    const PRESENT: &'static str = "versioning is not enabled on the bucket";
    const ASPECT: &'static str = "s3.bucket-versioning";
    type State = BucketVersioning;

    fn is_present(versioning: &BucketVersioning) -> bool {
        versioning.status.as_deref() != Some("Enabled")
    }

    fn inject(versioning: &BucketVersioning) -> BucketVersioning {
        BucketVersioning {
            status: Some("Suspended".to_owned()),
            ..versioning.clone()
        }
    }

    fn remediate(versioning: &BucketVersioning) -> BucketVersioning {
        BucketVersioning {
            status: Some("Enabled".to_owned()),
            ..versioning.clone()
        }
    }

    fn describe(versioning: &BucketVersioning) -> String {
        format!(
            "PutBucketVersioning: Status {} -> Suspended",
            versioning.status.as_deref().unwrap_or("never set")
        )
    }

    fn example() -> BucketVersioning {
        BucketVersioning {
            status: Some("Enabled".to_owned()),
            mfa_delete: Some("Disabled".to_owned()),
        }
    }
}

/// A bucket's server access logging; `None` when logging is off.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BucketLogging {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<LoggingTarget>,
}

/// Where access logs go, and who else may read them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LoggingTarget {
    pub bucket: String,
    pub prefix: String,
    /// Sorted; permissions are `FULL_CONTROL`, `READ` or `WRITE`.
    pub grants: Vec<Grant>,
}

/// Where a corrective control turns access logging back on: the organization's central log bucket.
pub const CENTRAL_ACCESS_LOG_BUCKET: &str = "central-s3-access-logs";

/// `aws.s3.bucket-access-logging-disabled`: server access logging turned off (PutBucketLogging with an empty
/// status), so requests to the bucket stop being recorded.
pub struct BucketAccessLoggingDisabled;

impl FaultSemantics for BucketAccessLoggingDisabled {
    const ID: &'static str = "aws.s3.bucket-access-logging-disabled";
    const PRESENT: &'static str = "server access logging is off";
    const ASPECT: &'static str = "s3.bucket-logging";
    type State = BucketLogging;

    fn is_present(logging: &BucketLogging) -> bool {
        logging.target.is_none()
    }

    fn inject(_logging: &BucketLogging) -> BucketLogging {
        BucketLogging { target: None }
    }

    fn remediate(_logging: &BucketLogging) -> BucketLogging {
        BucketLogging {
            target: Some(LoggingTarget {
                bucket: CENTRAL_ACCESS_LOG_BUCKET.to_owned(),
                prefix: "s3-access-logs/".to_owned(),
                grants: Vec::new(),
            }),
        }
    }

    fn describe(logging: &BucketLogging) -> String {
        match &logging.target {
            Some(target) => format!(
                "PutBucketLogging with an empty BucketLoggingStatus: stop logging to s3://{}/{}",
                target.bucket, target.prefix
            ),
            None => "PutBucketLogging with an empty BucketLoggingStatus (logging is already off)"
                .to_owned(),
        }
    }

    fn example() -> BucketLogging {
        let mut grants = vec![
            Grant::canonical_user(EXAMPLE_PARTNER, "READ"),
            Grant::canonical_user(EXAMPLE_OWNER, "FULL_CONTROL"),
        ];
        grants.sort();
        BucketLogging {
            target: Some(LoggingTarget {
                bucket: "example-access-logs".to_owned(),
                prefix: "example-bucket/".to_owned(),
                grants,
            }),
        }
    }
}

/// A bucket's lifecycle rules; empty when it has no lifecycle configuration. Rules hold the fields rdfi can
/// write back exactly; the AWS driver refuses a bucket whose rules use others (dates, object sizes).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BucketLifecycle {
    /// Sorted by id.
    pub rules: Vec<LifecycleRule>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LifecycleRule {
    pub id: String,
    /// `Enabled` or `Disabled`.
    pub status: String,
    /// The key prefix the rule applies to; `None` for every object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// Object tags the rule applies to (all must match).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiration_days: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expired_object_delete_marker: Option<bool>,
    /// (days, storage class), sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transitions: Vec<(i32, String)>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub noncurrent_version_expiration_days: Option<i32>,
    /// (noncurrent days, storage class), sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub noncurrent_version_transitions: Vec<(i32, String)>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abort_incomplete_multipart_upload_days: Option<i32>,
}

/// The id of the rule `aws.s3.bucket-lifecycle-expire-one-day` adds.
pub const EXPIRE_ONE_DAY_RULE_ID: &str = "rdfi-expire-all-objects-after-one-day";

impl LifecycleRule {
    /// Whether the rule deletes every current object a day after it is written.
    fn expires_everything_within_a_day(&self) -> bool {
        self.status == "Enabled"
            && self.prefix.is_none()
            && self.tags.is_empty()
            && self.expiration_days.is_some_and(|days| days <= 1)
    }
}

impl BucketLifecycle {
    pub fn new(mut rules: Vec<LifecycleRule>) -> BucketLifecycle {
        rules.sort();
        BucketLifecycle { rules }
    }
}

/// `aws.s3.bucket-lifecycle-expire-one-day`: a lifecycle rule expiring every object one day after creation is
/// added; the bucket's other rules stay.
pub struct BucketLifecycleExpireOneDay;

impl FaultSemantics for BucketLifecycleExpireOneDay {
    const ID: &'static str = "aws.s3.bucket-lifecycle-expire-one-day";
    const PRESENT: &'static str = "a lifecycle rule expires every object within a day";
    const ASPECT: &'static str = "s3.bucket-lifecycle";
    type State = BucketLifecycle;

    fn is_present(lifecycle: &BucketLifecycle) -> bool {
        lifecycle
            .rules
            .iter()
            .any(LifecycleRule::expires_everything_within_a_day)
    }

    fn inject(lifecycle: &BucketLifecycle) -> BucketLifecycle {
        let mut rules = lifecycle.rules.clone();
        rules.push(LifecycleRule {
            id: EXPIRE_ONE_DAY_RULE_ID.to_owned(),
            status: "Enabled".to_owned(),
            prefix: None,
            expiration_days: Some(1),
            ..LifecycleRule::default()
        });
        BucketLifecycle::new(rules)
    }

    fn remediate(lifecycle: &BucketLifecycle) -> BucketLifecycle {
        BucketLifecycle::new(
            lifecycle
                .rules
                .iter()
                .filter(|rule| !rule.expires_everything_within_a_day())
                .cloned()
                .collect(),
        )
    }

    fn describe(lifecycle: &BucketLifecycle) -> String {
        format!(
            "PutBucketLifecycleConfiguration: add rule {EXPIRE_ONE_DAY_RULE_ID} (every object expires after 1 \
             day) to the {} existing rule(s)",
            lifecycle.rules.len()
        )
    }

    fn example() -> BucketLifecycle {
        BucketLifecycle::new(vec![
            LifecycleRule {
                id: "archive-logs".to_owned(),
                status: "Enabled".to_owned(),
                prefix: Some("logs/".to_owned()),
                expiration_days: Some(365),
                transitions: vec![(30, "STANDARD_IA".to_owned()), (90, "GLACIER".to_owned())],
                ..LifecycleRule::default()
            },
            LifecycleRule {
                id: "clean-tmp".to_owned(),
                status: "Enabled".to_owned(),
                prefix: Some("tmp/".to_owned()),
                expiration_days: Some(7),
                abort_incomplete_multipart_upload_days: Some(2),
                ..LifecycleRule::default()
            },
        ])
    }
}

/// The key prefix of canary objects: objects placed in a bucket for rdfi to expose, never real data.
pub const CANARY_PREFIX: &str = "rdfi-canary/";

/// The ACL of a bucket's canary object: the first object (in key order) under [`CANARY_PREFIX`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CanaryObjectAcl {
    pub key: String,
    pub acl: BucketAcl,
}

/// `aws.s3.object-public-acl`: READ for everyone on one object. The fault is aimed at the bucket but only ever
/// exposes its canary object (the first key under `rdfi-canary/`), so an experiment proves that a public object
/// ACL is caught without publishing real data; a bucket without a canary object is not a target.
pub struct ObjectPublicAcl;

impl FaultSemantics for ObjectPublicAcl {
    const ID: &'static str = "aws.s3.object-public-acl";
    const PRESENT: &'static str = "the canary object's ACL grants READ to everyone";
    const ASPECT: &'static str = "s3.canary-object-acl";
    type State = CanaryObjectAcl;

    fn is_present(object: &CanaryObjectAcl) -> bool {
        object.acl.grants_public_read()
    }

    fn inject(object: &CanaryObjectAcl) -> CanaryObjectAcl {
        CanaryObjectAcl {
            key: object.key.clone(),
            acl: object.acl.with_public_read(),
        }
    }

    fn remediate(object: &CanaryObjectAcl) -> CanaryObjectAcl {
        CanaryObjectAcl {
            key: object.key.clone(),
            acl: object.acl.without_public_grants(),
        }
    }

    fn describe(object: &CanaryObjectAcl) -> String {
        format!(
            "PutObjectAcl on {}: add READ for AllUsers to the {} existing grant(s)",
            object.key,
            object.acl.grants.len()
        )
    }

    fn example() -> CanaryObjectAcl {
        CanaryObjectAcl {
            key: format!("{CANARY_PREFIX}canary.txt"),
            acl: BucketAcl::new(
                EXAMPLE_OWNER.to_owned(),
                Some("platform".to_owned()),
                vec![
                    Grant::canonical_user(EXAMPLE_OWNER, "FULL_CONTROL"),
                    Grant::canonical_user(EXAMPLE_PARTNER, "READ"),
                ],
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_read_is_added_and_removed_without_touching_other_grants() {
        let acl = BucketAcl::new(
            "owner".to_owned(),
            None,
            vec![
                Grant::canonical_user("b", "READ"),
                Grant::canonical_user("a", "FULL_CONTROL"),
            ],
        );
        assert!(!acl.grants_public_read());
        let public = acl.with_public_read();
        assert!(public.grants_public_read());
        assert_eq!(public.grants.len(), 3);
        assert_eq!(public.without_public_grants(), acl);
    }

    #[test]
    fn grant_order_does_not_matter() {
        let one = BucketAcl::new(
            "o".into(),
            None,
            vec![
                Grant::canonical_user("a", "READ"),
                Grant::canonical_user("b", "READ"),
            ],
        );
        let two = BucketAcl::new(
            "o".into(),
            None,
            vec![
                Grant::canonical_user("b", "READ"),
                Grant::canonical_user("a", "READ"),
            ],
        );
        assert_eq!(one, two);
    }
    fn policy(statements: Value) -> BucketPolicy {
        BucketPolicy {
            bucket: "b".to_owned(),
            account_id: "111122223333".to_owned(),
            document: Some(canonical_policy(
                json!({"Version": "2012-10-17", "Statement": statements}),
            )),
        }
    }

    #[test]
    fn policy_statement_order_does_not_matter() {
        let first =
            json!({"Sid": "A", "Effect": "Allow", "Principal": "*", "Action": "s3:ListBucket"});
        let second = json!({"Sid": "B", "Effect": "Deny", "Principal": "*", "Action": "s3:*"});
        assert_eq!(
            policy(json!([first.clone(), second.clone()])),
            policy(json!([second, first.clone()]))
        );
        assert_eq!(policy(first.clone()).statements(), &[first]);
    }

    #[test]
    fn public_statement_is_added_and_removed_without_touching_others() {
        let before = BucketPolicy::example();
        let public = BucketPolicyPublic::inject(&before);
        assert!(BucketPolicyPublic::is_present(&public));
        assert_eq!(public.statements().len(), before.statements().len() + 1);
        assert_eq!(BucketPolicyPublic::remediate(&public), before);
        let conditional = policy(json!([{
            "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
            "Condition": {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}},
        }]));
        assert!(!BucketPolicyPublic::is_present(&conditional));
    }

    #[test]
    fn without_a_policy_the_fault_creates_one_and_its_removal_deletes_it() {
        let none = BucketPolicy {
            document: None,
            ..BucketPolicy::example()
        };
        let public = BucketPolicyPublic::inject(&none);
        assert_eq!(public.statements().len(), 1);
        assert_eq!(BucketPolicyPublic::remediate(&public), none);
    }

    #[test]
    fn only_other_accounts_are_external() {
        let own = policy(json!([{
            "Effect": "Allow",
            "Principal": {"AWS": ["arn:aws:iam::111122223333:role/app", "111122223333"]},
            "Action": "s3:GetObject",
        }]));
        assert!(!BucketPolicyExternalAccount::is_present(&own));
        let shared = BucketPolicyExternalAccount::inject(&own);
        assert!(BucketPolicyExternalAccount::is_present(&shared));
        assert!(!BucketPolicyPublic::is_present(&shared));
        assert_eq!(BucketPolicyExternalAccount::remediate(&shared), own);
    }

    #[test]
    fn tls_only_statement_removal_keeps_the_other_statements() {
        let before = BucketPolicy::example();
        assert!(before.requires_tls());
        let removed = BucketTlsOnlyStatementRemoved::inject(&before);
        assert!(!removed.requires_tls());
        assert_eq!(removed.statements().len(), before.statements().len() - 1);
        assert_eq!(BucketTlsOnlyStatementRemoved::remediate(&removed), before);
    }

    #[test]
    fn a_short_expiration_on_a_prefix_is_not_the_fault() {
        let scoped = BucketLifecycle::new(vec![LifecycleRule {
            id: "tmp".to_owned(),
            status: "Enabled".to_owned(),
            prefix: Some("tmp/".to_owned()),
            expiration_days: Some(1),
            ..LifecycleRule::default()
        }]);
        assert!(!BucketLifecycleExpireOneDay::is_present(&scoped));
        let faulty = BucketLifecycleExpireOneDay::inject(&scoped);
        assert!(BucketLifecycleExpireOneDay::is_present(&faulty));
        assert_eq!(faulty.rules.len(), 2);
        assert_eq!(BucketLifecycleExpireOneDay::remediate(&faulty), scoped);
    }

    #[test]
    fn public_read_write_adds_only_the_missing_grant() {
        let readable = BucketAcl::example().with_public_read();
        let writable = BucketPublicReadWriteAcl::inject(&readable);
        assert_eq!(writable.grants.len(), readable.grants.len() + 1);
        assert!(BucketPublicReadWriteAcl::is_present(&writable));
        assert!(!BucketPublicReadWriteAcl::is_present(&readable));
    }
}
