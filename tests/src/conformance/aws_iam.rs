//! IAM conformance cases: users and roles with non-trivial policies, keys and trust, read straight through
//! the SDK.

use async_trait::async_trait;
use rdfi_proto::v1::ResourceRef;
use rdfi_provider::aws::user_ref;
use rdfi_provider::model::{FaultSemantics, iam};
use serde_json::{Value, json};

use super::AwsCase;
use crate::aws::Clients;

pub fn cases() -> Vec<Box<dyn AwsCase>> {
    vec![
        Box::new(AdminPolicyAttached {
            fault_id: "aws.iam.user-admin-policy-attached",
            identity: Identity::User,
        }),
        Box::new(AdminPolicyAttached {
            fault_id: "aws.iam.role-admin-policy-attached",
            identity: Identity::Role,
        }),
        Box::new(InlineWildcardPolicy {
            fault_id: "aws.iam.user-inline-wildcard-policy",
            identity: Identity::User,
        }),
        Box::new(InlineWildcardPolicy {
            fault_id: "aws.iam.role-inline-wildcard-policy",
            identity: Identity::Role,
        }),
        Box::new(UserAccessKeyCreated),
        Box::new(UserLoginProfileCreated),
        Box::new(RoleTrustPolicy {
            fault_id: "aws.iam.role-trust-policy-public",
            principal: "*",
        }),
        Box::new(RoleTrustPolicy {
            fault_id: "aws.iam.role-trust-policy-external-account",
            principal: "arn:aws:iam::999999999999:root",
        }),
    ]
}

const ADMINISTRATOR_ACCESS_ARN: &str = "arn:aws:iam::aws:policy/AdministratorAccess";

/// A tagged user with two managed policies and an inline one.
pub async fn prepare_user(aws: &Clients, name: &str) -> ResourceRef {
    let arn = aws
        .create_user(name, &[("rdfi-target", "true"), ("team", "conformance")])
        .await;
    user_ref(
        "aws",
        &arn,
        name,
        [("rdfi-target".to_owned(), "true".to_owned())].into(),
    )
}

/// A tagged deployment role: trusted by EC2 and by one same-account role under an MFA condition, with an
/// AWS managed policy, a customer managed policy and an inline policy.
pub async fn prepare_role(aws: &Clients, name: &str) -> ResourceRef {
    // The model's example trust policy (the suite's starting point, see `FaultSemantics::example`).
    let trust = <iam::RoleTrustPolicyPublic as FaultSemantics>::example().document;
    let tags = [("rdfi-target", "true"), ("team", "conformance")].map(|(key, value)| {
        aws_sdk_iam::types::Tag::builder()
            .key(key)
            .value(value)
            .build()
            .expect("a tag")
    });
    let role = aws
        .iam
        .create_role()
        .role_name(name)
        .assume_role_policy_document(trust.to_string())
        .set_tags(Some(tags.to_vec()))
        .send()
        .await
        .expect("CreateRole");
    let arn = role.role().expect("a role").arn().to_owned();
    aws.iam
        .attach_role_policy()
        .role_name(name)
        .policy_arn("arn:aws:iam::aws:policy/ReadOnlyAccess")
        .send()
        .await
        .expect("AttachRolePolicy ReadOnlyAccess");
    let custom = aws
        .iam
        .create_policy()
        .policy_name(format!("{name}-role-deploy"))
        .policy_document(
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::artifacts/*"}]})
                .to_string(),
        )
        .send()
        .await
        .expect("CreatePolicy");
    aws.iam
        .attach_role_policy()
        .role_name(name)
        .policy_arn(custom.policy().and_then(|p| p.arn()).expect("a policy arn"))
        .send()
        .await
        .expect("AttachRolePolicy custom");
    aws.iam
        .put_role_policy()
        .role_name(name)
        .policy_name("inline-read-logs")
        .policy_document(
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "logs:Get*", "Resource": "*"}]})
                .to_string(),
        )
        .send()
        .await
        .expect("PutRolePolicy");
    ResourceRef {
        provider: "aws".to_owned(),
        resource_type: "aws.iam.role".to_owned(),
        id: arn,
        name: name.to_owned(),
        region: String::new(),
        tags: [("rdfi-target".to_owned(), "true".to_owned())].into(),
        exposure: String::new(),
    }
}

/// A policy document as IAM answers it (URL-encoded by AWS, plain by moto), parsed.
fn parse_document(raw: &str) -> Value {
    if let Ok(document) = serde_json::from_str(raw) {
        return document;
    }
    let mut bytes = Vec::new();
    let mut rest = raw.as_bytes();
    while let Some((&first, tail)) = rest.split_first() {
        let hex = std::str::from_utf8(tail.get(..2).unwrap_or_default()).unwrap_or_default();
        match u8::from_str_radix(hex, 16) {
            Ok(byte) if first == b'%' => {
                bytes.push(byte);
                rest = &tail[2..];
            }
            _ => {
                bytes.push(first);
                rest = tail;
            }
        }
    }
    serde_json::from_slice(&bytes).expect("a JSON policy document")
}

/// The strings of a policy field that is a string or an array of strings.
fn strings(field: Option<&Value>) -> Vec<&str> {
    match field {
        Some(Value::String(value)) => vec![value.as_str()],
        Some(Value::Array(values)) => values.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// The statements of a policy document, whether `Statement` is an array or one object.
fn statements(document: &Value) -> Vec<&Value> {
    match document.get("Statement") {
        Some(Value::Array(statements)) => statements.iter().collect(),
        Some(statement) => vec![statement],
        None => Vec::new(),
    }
}

#[derive(Clone, Copy)]
enum Identity {
    User,
    Role,
}

impl Identity {
    async fn prepare(self, aws: &Clients, name: &str) -> ResourceRef {
        match self {
            Identity::User => prepare_user(aws, name).await,
            Identity::Role => prepare_role(aws, name).await,
        }
    }

    /// The attached policy ARNs and inline policy names, sorted.
    async fn policies(self, aws: &Clients, name: &str) -> Vec<String> {
        match self {
            Identity::User => aws.user_policies(name).await,
            Identity::Role => aws.role_policies(name).await,
        }
    }
}

/// AdministratorAccess attached to a user or a role: their policies, misconfigured when they list it.
struct AdminPolicyAttached {
    fault_id: &'static str,
    identity: Identity,
}

#[async_trait]
impl AwsCase for AdminPolicyAttached {
    fn fault_id(&self) -> &'static str {
        self.fault_id
    }

    async fn prepare(&self, aws: &Clients, name: &str) -> ResourceRef {
        self.identity.prepare(aws, name).await
    }

    async fn read(&self, aws: &Clients, resource: &ResourceRef) -> Value {
        json!(self.identity.policies(aws, &resource.name).await)
    }

    fn misconfigured(&self, read: &Value) -> bool {
        read.as_array().is_some_and(|policies| {
            policies
                .iter()
                .any(|policy| policy == ADMINISTRATOR_ACCESS_ARN)
        })
    }
}

/// Inline policies of a user or a role, name to document, plus the attached policies (which must not move).
struct InlineWildcardPolicy {
    fault_id: &'static str,
    identity: Identity,
}

#[async_trait]
impl AwsCase for InlineWildcardPolicy {
    fn fault_id(&self) -> &'static str {
        self.fault_id
    }

    async fn prepare(&self, aws: &Clients, name: &str) -> ResourceRef {
        self.identity.prepare(aws, name).await
    }

    async fn read(&self, aws: &Clients, resource: &ResourceRef) -> Value {
        let name = &resource.name;
        let attached_and_inline = self.identity.policies(aws, name).await;
        let mut documents = serde_json::Map::new();
        for policy_name in attached_and_inline
            .iter()
            .filter_map(|policy| policy.strip_prefix("inline:"))
        {
            let raw = match self.identity {
                Identity::User => aws
                    .iam
                    .get_user_policy()
                    .user_name(name)
                    .policy_name(policy_name)
                    .send()
                    .await
                    .expect("GetUserPolicy")
                    .policy_document()
                    .to_owned(),
                Identity::Role => aws
                    .iam
                    .get_role_policy()
                    .role_name(name)
                    .policy_name(policy_name)
                    .send()
                    .await
                    .expect("GetRolePolicy")
                    .policy_document()
                    .to_owned(),
            };
            documents.insert(policy_name.to_owned(), parse_document(&raw));
        }
        json!({"policies": attached_and_inline, "inline": documents})
    }

    fn misconfigured(&self, read: &Value) -> bool {
        read["inline"].as_object().is_some_and(|documents| {
            documents.values().any(|document| {
                statements(document).into_iter().any(|statement| {
                    statement["Effect"] == "Allow"
                        && strings(statement.get("Action")).contains(&"*")
                        && strings(statement.get("Resource")).contains(&"*")
                })
            })
        })
    }
}

/// The prepared user has one access key of its own; the fault adds a second.
struct UserAccessKeyCreated;

#[async_trait]
impl AwsCase for UserAccessKeyCreated {
    fn fault_id(&self) -> &'static str {
        "aws.iam.user-access-key-created"
    }

    async fn prepare(&self, aws: &Clients, name: &str) -> ResourceRef {
        let user = prepare_user(aws, name).await;
        aws.iam
            .create_access_key()
            .user_name(name)
            .send()
            .await
            .expect("CreateAccessKey");
        user
    }

    /// The user's access key ids and its tags (where the fault's key description lives).
    async fn read(&self, aws: &Clients, resource: &ResourceRef) -> Value {
        let keys = aws
            .iam
            .list_access_keys()
            .user_name(&resource.name)
            .send()
            .await
            .expect("ListAccessKeys");
        let mut key_ids: Vec<&str> = keys
            .access_key_metadata()
            .iter()
            .filter_map(|key| key.access_key_id())
            .collect();
        key_ids.sort_unstable();
        let tags = aws
            .iam
            .list_user_tags()
            .user_name(&resource.name)
            .send()
            .await
            .expect("ListUserTags");
        let tags: serde_json::Map<String, Value> = tags
            .tags()
            .iter()
            .map(|tag| (tag.key().to_owned(), json!(tag.value())))
            .collect();
        json!({"access_keys": key_ids, "tags": tags})
    }

    /// More keys than the one the user was prepared with.
    fn misconfigured(&self, read: &Value) -> bool {
        read["access_keys"]
            .as_array()
            .is_some_and(|keys| keys.len() > 1)
    }
}

struct UserLoginProfileCreated;

#[async_trait]
impl AwsCase for UserLoginProfileCreated {
    fn fault_id(&self) -> &'static str {
        "aws.iam.user-login-profile-created"
    }

    async fn prepare(&self, aws: &Clients, name: &str) -> ResourceRef {
        prepare_user(aws, name).await
    }

    /// Whether a login profile exists, and the user's policies (which must not move).
    async fn read(&self, aws: &Clients, resource: &ResourceRef) -> Value {
        let profile = aws
            .iam
            .get_login_profile()
            .user_name(&resource.name)
            .send()
            .await;
        let has_login_profile = match profile {
            Ok(_) => true,
            Err(error) => {
                let service_error = error.into_service_error();
                assert!(
                    service_error.is_no_such_entity_exception(),
                    "GetLoginProfile: {service_error}"
                );
                false
            }
        };
        json!({
            "login_profile": has_login_profile,
            "policies": aws.user_policies(&resource.name).await,
        })
    }

    fn misconfigured(&self, read: &Value) -> bool {
        read["login_profile"] == true
    }
}

/// A role's decoded trust policy; misconfigured when some statement lets `principal` assume the role.
struct RoleTrustPolicy {
    fault_id: &'static str,
    principal: &'static str,
}

#[async_trait]
impl AwsCase for RoleTrustPolicy {
    fn fault_id(&self) -> &'static str {
        self.fault_id
    }

    async fn prepare(&self, aws: &Clients, name: &str) -> ResourceRef {
        prepare_role(aws, name).await
    }

    async fn read(&self, aws: &Clients, resource: &ResourceRef) -> Value {
        let role = aws
            .iam
            .get_role()
            .role_name(&resource.name)
            .send()
            .await
            .expect("GetRole");
        let raw = role
            .role()
            .and_then(|role| role.assume_role_policy_document())
            .expect("a trust policy");
        parse_document(raw)
    }

    fn misconfigured(&self, read: &Value) -> bool {
        statements(read).into_iter().any(|statement| {
            statement["Effect"] == "Allow"
                && strings(statement.get("Action")).contains(&"sts:AssumeRole")
                && strings(statement["Principal"].get("AWS")).contains(&self.principal)
        })
    }
}
