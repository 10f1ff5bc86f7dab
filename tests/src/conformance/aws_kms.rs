//! KMS conformance cases: a tagged customer managed key with a three-statement key policy and rotation
//! enabled, read straight through the SDK.

use async_trait::async_trait;
use aws_sdk_kms::types::{GrantOperation, Tag};
use rdfi_proto::v1::ResourceRef;
use rdfi_provider::model::{FaultSemantics, kms};
use serde_json::{Value, json};

use super::AwsCase;
use crate::aws::{Clients, REGION};

pub fn cases() -> Vec<Box<dyn AwsCase>> {
    vec![
        Box::new(KeyRotationDisabled),
        Box::new(KeyPolicyPublic),
        Box::new(KeyGrantExternalAccount),
    ]
}

/// A symmetric customer managed key tagged opted-in, whose policy lets the account's IAM policies decide,
/// a key administrator role manage and an application role use the key, with automatic rotation enabled.
/// The resource is named by key id, identified by key ARN.
pub async fn prepare_key(aws: &Clients, name: &str) -> ResourceRef {
    // The model's example key policy (the suite's starting point, see `FaultSemantics::example`), under an
    // id of this key's own.
    let mut policy = <kms::KeyPolicyPublic as FaultSemantics>::example().document;
    policy["Id"] = json!(format!("{name}-policy"));
    let tags = [("rdfi-target", "true"), ("name", name)].map(|(key, value)| {
        Tag::builder()
            .tag_key(key)
            .tag_value(value)
            .build()
            .expect("a tag")
    });
    let created = aws
        .kms
        .create_key()
        .description(format!("rdfi conformance key {name}"))
        .policy(policy.to_string())
        .set_tags(Some(tags.to_vec()))
        .send()
        .await
        .expect("CreateKey");
    let metadata = created.key_metadata().expect("key metadata");
    let key_id = metadata.key_id().to_owned();
    aws.kms
        .enable_key_rotation()
        .key_id(&key_id)
        .send()
        .await
        .expect("EnableKeyRotation");
    ResourceRef {
        provider: "aws".to_owned(),
        resource_type: "aws.kms.key".to_owned(),
        id: metadata.arn().expect("a key arn").to_owned(),
        name: key_id,
        region: REGION.to_owned(),
        tags: [("rdfi-target".to_owned(), "true".to_owned())].into(),
        exposure: String::new(),
    }
}

/// The key's rotation status and its parsed key policy: the two things the KMS faults change.
async fn read_key(aws: &Clients, key_id: &str) -> Value {
    let rotation = aws
        .kms
        .get_key_rotation_status()
        .key_id(key_id)
        .send()
        .await
        .expect("GetKeyRotationStatus");
    let policy = aws
        .kms
        .get_key_policy()
        .key_id(key_id)
        .policy_name("default")
        .send()
        .await
        .expect("GetKeyPolicy");
    let policy: Value =
        serde_json::from_str(policy.policy().expect("a key policy")).expect("a JSON key policy");
    json!({"rotation_enabled": rotation.key_rotation_enabled(), "policy": policy})
}

struct KeyRotationDisabled;

#[async_trait]
impl AwsCase for KeyRotationDisabled {
    fn fault_id(&self) -> &'static str {
        "aws.kms.key-rotation-disabled"
    }

    async fn prepare(&self, aws: &Clients, name: &str) -> ResourceRef {
        prepare_key(aws, name).await
    }

    async fn read(&self, aws: &Clients, resource: &ResourceRef) -> Value {
        read_key(aws, &resource.name).await
    }

    fn misconfigured(&self, read: &Value) -> bool {
        read["rotation_enabled"] == false
    }
}

struct KeyPolicyPublic;

#[async_trait]
impl AwsCase for KeyPolicyPublic {
    fn fault_id(&self) -> &'static str {
        "aws.kms.key-policy-public"
    }

    async fn prepare(&self, aws: &Clients, name: &str) -> ResourceRef {
        prepare_key(aws, name).await
    }

    async fn read(&self, aws: &Clients, resource: &ResourceRef) -> Value {
        read_key(aws, &resource.name).await
    }

    /// Some statement allows kms:Decrypt (or every KMS action) to everyone.
    fn misconfigured(&self, read: &Value) -> bool {
        read["policy"]["Statement"]
            .as_array()
            .is_some_and(|statements| {
                statements.iter().any(|statement| {
                    let principal = &statement["Principal"];
                    let everyone = principal == "*" || principal["AWS"] == "*";
                    let actions = match &statement["Action"] {
                        Value::Array(actions) => actions.clone(),
                        action => vec![action.clone()],
                    };
                    statement["Effect"] == "Allow"
                        && everyone
                        && actions.iter().any(|action| {
                            action == "kms:Decrypt" || action == "kms:*" || action == "*"
                        })
                })
            })
    }
}

/// The key's grants as ListGrants answers them: `name grantee operations retiring` lines, sorted.
async fn grant_lines(aws: &Clients, key_id: &str) -> Value {
    let grants = aws
        .kms
        .list_grants()
        .key_id(key_id)
        .send()
        .await
        .expect("ListGrants");
    let mut lines: Vec<String> = grants
        .grants()
        .iter()
        .map(|grant| {
            let mut operations: Vec<&str> = grant
                .operations()
                .iter()
                .map(|operation| operation.as_str())
                .collect();
            operations.sort_unstable();
            format!(
                "{} {} {} {}",
                grant.name().unwrap_or_default(),
                grant.grantee_principal().unwrap_or_default(),
                operations.join(","),
                grant.retiring_principal().unwrap_or("-")
            )
        })
        .collect();
    lines.sort();
    json!(lines)
}

async fn create_grant(
    aws: &Clients,
    key_id: &str,
    name: &str,
    grantee: &str,
    operations: &[GrantOperation],
) {
    aws.kms
        .create_grant()
        .key_id(key_id)
        .name(name)
        .grantee_principal(grantee)
        .set_operations(Some(operations.to_vec()))
        .send()
        .await
        .expect("CreateGrant");
}

struct KeyGrantExternalAccount;

#[async_trait]
impl AwsCase for KeyGrantExternalAccount {
    fn fault_id(&self) -> &'static str {
        "aws.kms.key-grant-external-account"
    }

    /// The key of [`prepare_key`] with two grants of its own account: an application role encrypting and
    /// decrypting, a batch role decrypting.
    async fn prepare(&self, aws: &Clients, name: &str) -> ResourceRef {
        let key = prepare_key(aws, name).await;
        create_grant(
            aws,
            &key.name,
            "order-service",
            "arn:aws:iam::123456789012:role/order-service",
            &[GrantOperation::Encrypt, GrantOperation::Decrypt],
        )
        .await;
        create_grant(
            aws,
            &key.name,
            "nightly-batch",
            "arn:aws:iam::123456789012:role/nightly-batch",
            &[GrantOperation::Decrypt],
        )
        .await;
        key
    }

    async fn read(&self, aws: &Clients, resource: &ResourceRef) -> Value {
        json!({"grants": grant_lines(aws, &resource.name).await})
    }

    /// Some grant's grantee is a principal of account 999999999999.
    fn misconfigured(&self, read: &Value) -> bool {
        read["grants"].as_array().is_some_and(|lines| {
            lines
                .iter()
                .filter_map(Value::as_str)
                .any(|line| line.contains(":iam::999999999999:"))
        })
    }

    /// A reporting role of the account gets a grant of its own.
    async fn change_meanwhile(&self, aws: &Clients, resource: &ResourceRef) -> bool {
        create_grant(
            aws,
            &resource.name,
            "reporting",
            "arn:aws:iam::123456789012:role/reporting",
            &[GrantOperation::Decrypt],
        )
        .await;
        true
    }

    fn kept(&self, read: &Value) -> bool {
        read["grants"].as_array().is_some_and(|lines| {
            lines
                .iter()
                .filter_map(Value::as_str)
                .any(|line| line.starts_with("reporting "))
        })
    }
}
