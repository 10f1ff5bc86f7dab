//! IAM conformance cases.

use async_trait::async_trait;
use rdfi_proto::v1::ResourceRef;
use rdfi_provider::aws::user_ref;
use serde_json::{Value, json};

use super::AwsCase;
use crate::aws::Clients;

pub fn cases() -> Vec<Box<dyn AwsCase>> {
    vec![Box::new(UserAdminPolicyAttached)]
}

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

struct UserAdminPolicyAttached;

#[async_trait]
impl AwsCase for UserAdminPolicyAttached {
    fn fault_id(&self) -> &'static str {
        "aws.iam.user-admin-policy-attached"
    }

    async fn prepare(&self, aws: &Clients, name: &str) -> ResourceRef {
        prepare_user(aws, name).await
    }

    async fn read(&self, aws: &Clients, resource: &ResourceRef) -> Value {
        json!(aws.user_policies(&resource.name).await)
    }

    fn misconfigured(&self, read: &Value) -> bool {
        read.as_array().is_some_and(|policies| {
            policies
                .iter()
                .any(|policy| policy == "arn:aws:iam::aws:policy/AdministratorAccess")
        })
    }
}
