//! ECR conformance case: a tagged repository with a three-statement repository policy, read straight through
//! the SDK.

use async_trait::async_trait;
use aws_sdk_ecr::error::ProvideErrorMetadata;
use aws_sdk_ecr::types::Tag;
use rdfi_proto::v1::ResourceRef;
use rdfi_provider::model::{FaultSemantics, ecr};
use serde_json::{Value, json};

use super::AwsCase;
use super::resource_policy::{
    keeps_partner, lets_everyone, partner_statement, sorted_policy, with_statement,
};
use crate::aws::{Clients, REGION};

pub fn cases() -> Vec<Box<dyn AwsCase>> {
    vec![Box::new(RepositoryPolicyPublic)]
}

/// The repository's policy, as GetRepositoryPolicy answers it (`null` for none).
async fn repository_policy(aws: &Clients, name: &str) -> Value {
    match aws
        .ecr
        .get_repository_policy()
        .repository_name(name)
        .send()
        .await
    {
        Ok(output) => sorted_policy(output.policy_text()),
        Err(error) if error.code() == Some("RepositoryPolicyNotFoundException") => Value::Null,
        Err(error) => panic!("GetRepositoryPolicy: {error:?}"),
    }
}

async fn set_repository_policy(aws: &Clients, name: &str, policy: String) {
    aws.ecr
        .set_repository_policy()
        .repository_name(name)
        .policy_text(policy)
        .send()
        .await
        .expect("SetRepositoryPolicy");
}

struct RepositoryPolicyPublic;

#[async_trait]
impl AwsCase for RepositoryPolicyPublic {
    fn fault_id(&self) -> &'static str {
        "aws.ecr.repository-policy-public"
    }

    /// A repository tagged opted-in whose policy lets CI push and the production account and Lambda pull
    /// (the model's example, which names no resource).
    async fn prepare(&self, aws: &Clients, name: &str) -> ResourceRef {
        let tags = [("rdfi-target", "true"), ("name", name)]
            .map(|(key, value)| Tag::builder().key(key).value(value).build().expect("a tag"));
        let created = aws
            .ecr
            .create_repository()
            .repository_name(name)
            .set_tags(Some(tags.to_vec()))
            .send()
            .await
            .expect("CreateRepository");
        let arn = created
            .repository()
            .and_then(|repository| repository.repository_arn())
            .expect("a repository arn")
            .to_owned();
        let example = <ecr::RepositoryPolicyPublic as FaultSemantics>::example();
        let policy = example.document.expect("a policy").to_string();
        set_repository_policy(aws, name, policy).await;
        ResourceRef {
            provider: "aws".to_owned(),
            resource_type: "aws.ecr.repository".to_owned(),
            id: arn,
            name: name.to_owned(),
            region: REGION.to_owned(),
            tags: [("rdfi-target".to_owned(), "true".to_owned())].into(),
            exposure: String::new(),
        }
    }

    async fn read(&self, aws: &Clients, resource: &ResourceRef) -> Value {
        json!({"policy": repository_policy(aws, &resource.name).await})
    }

    fn misconfigured(&self, read: &Value) -> bool {
        lets_everyone(
            &read["policy"],
            &["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
        )
    }

    /// A partner account's role is allowed to read the images' metadata, beside the fault's statement.
    async fn change_meanwhile(&self, aws: &Clients, resource: &ResourceRef) -> bool {
        let current = repository_policy(aws, &resource.name).await;
        let partner = partner_statement("ecr:DescribeImages", None);
        set_repository_policy(
            aws,
            &resource.name,
            with_statement(&current, partner).to_string(),
        )
        .await;
        true
    }

    fn kept(&self, read: &Value) -> bool {
        keeps_partner(&read["policy"])
    }
}
