//! Secrets Manager conformance case: a tagged secret with a three-statement resource policy, read straight
//! through the SDK.

use async_trait::async_trait;
use aws_sdk_secretsmanager::types::Tag;
use rdfi_proto::v1::ResourceRef;
use rdfi_provider::model::{FaultSemantics, secretsmanager};
use serde_json::{Value, json};

use super::AwsCase;
use super::resource_policy::{
    example_for, keeps_partner, lets_everyone, partner_statement, sorted_policy, with_statement,
};
use crate::aws::{Clients, REGION};

pub fn cases() -> Vec<Box<dyn AwsCase>> {
    vec![Box::new(SecretPolicyPublic)]
}

/// The secret's resource policy, as GetResourcePolicy answers it.
async fn secret_policy(aws: &Clients, arn: &str) -> Value {
    let output = aws
        .secretsmanager
        .get_resource_policy()
        .secret_id(arn)
        .send()
        .await
        .expect("GetResourcePolicy");
    sorted_policy(output.resource_policy())
}

async fn put_secret_policy(aws: &Clients, arn: &str, policy: String) {
    aws.secretsmanager
        .put_resource_policy()
        .secret_id(arn)
        .resource_policy(policy)
        .send()
        .await
        .expect("PutResourcePolicy");
}

struct SecretPolicyPublic;

#[async_trait]
impl AwsCase for SecretPolicyPublic {
    fn fault_id(&self) -> &'static str {
        "aws.secretsmanager.secret-policy-public"
    }

    /// A database credential tagged opted-in whose policy lets the application read it, the rotation role
    /// rotate it and a disaster recovery role read it (the model's example).
    async fn prepare(&self, aws: &Clients, name: &str) -> ResourceRef {
        let tags = [("rdfi-target", "true"), ("name", name)]
            .map(|(key, value)| Tag::builder().key(key).value(value).build());
        let created = aws
            .secretsmanager
            .create_secret()
            .name(name)
            .secret_string(r#"{"username":"orders","password":"conformance-only"}"#)
            .set_tags(Some(tags.to_vec()))
            .send()
            .await
            .expect("CreateSecret");
        let arn = created.arn().expect("a secret arn").to_owned();
        let example = <secretsmanager::SecretPolicyPublic as FaultSemantics>::example();
        let policy = example_for(
            example.document.as_ref().expect("a policy"),
            &example.arn,
            &arn,
        );
        put_secret_policy(aws, &arn, policy).await;
        ResourceRef {
            provider: "aws".to_owned(),
            resource_type: "aws.secretsmanager.secret".to_owned(),
            id: arn,
            name: name.to_owned(),
            region: REGION.to_owned(),
            tags: [("rdfi-target".to_owned(), "true".to_owned())].into(),
            exposure: String::new(),
        }
    }

    async fn read(&self, aws: &Clients, resource: &ResourceRef) -> Value {
        json!({"policy": secret_policy(aws, &resource.id).await})
    }

    fn misconfigured(&self, read: &Value) -> bool {
        lets_everyone(&read["policy"], &["secretsmanager:GetSecretValue"])
    }

    /// A partner account's role is allowed to describe the secret, beside the fault's statement.
    async fn change_meanwhile(&self, aws: &Clients, resource: &ResourceRef) -> bool {
        let current = secret_policy(aws, &resource.id).await;
        let partner = partner_statement("secretsmanager:DescribeSecret", Some("*"));
        put_secret_policy(
            aws,
            &resource.id,
            with_statement(&current, partner).to_string(),
        )
        .await;
        true
    }

    fn kept(&self, read: &Value) -> bool {
        keeps_partner(&read["policy"])
    }
}
