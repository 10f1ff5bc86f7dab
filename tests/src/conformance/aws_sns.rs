//! SNS conformance case: a tagged topic with a three-statement topic policy, read straight through the SDK.

use async_trait::async_trait;
use aws_sdk_sns::types::Tag;
use rdfi_proto::v1::ResourceRef;
use rdfi_provider::model::{FaultSemantics, sns};
use serde_json::{Value, json};

use super::AwsCase;
use super::resource_policy::{
    example_for, keeps_partner, lets_everyone, partner_statement, sorted_policy, with_statement,
};
use crate::aws::{Clients, REGION};

pub fn cases() -> Vec<Box<dyn AwsCase>> {
    vec![Box::new(TopicPolicyPublic)]
}

/// The topic's policy, as GetTopicAttributes answers it.
async fn topic_policy(aws: &Clients, arn: &str) -> Value {
    let output = aws
        .sns
        .get_topic_attributes()
        .topic_arn(arn)
        .send()
        .await
        .expect("GetTopicAttributes");
    sorted_policy(
        output
            .attributes()
            .and_then(|attributes| attributes.get("Policy"))
            .map(String::as_str),
    )
}

async fn set_topic_policy(aws: &Clients, arn: &str, policy: String) {
    aws.sns
        .set_topic_attributes()
        .topic_arn(arn)
        .attribute_name("Policy")
        .attribute_value(policy)
        .send()
        .await
        .expect("SetTopicAttributes");
}

struct TopicPolicyPublic;

#[async_trait]
impl AwsCase for TopicPolicyPublic {
    fn fault_id(&self) -> &'static str {
        "aws.sns.topic-policy-public"
    }

    /// A topic tagged opted-in whose policy is SNS's default statement, an order service publishing and
    /// CloudWatch alarms of the account publishing (the model's example, under this topic's ARN).
    async fn prepare(&self, aws: &Clients, name: &str) -> ResourceRef {
        let tags = [("rdfi-target", "true"), ("name", name)]
            .map(|(key, value)| Tag::builder().key(key).value(value).build().expect("a tag"));
        let created = aws
            .sns
            .create_topic()
            .name(name)
            .set_tags(Some(tags.to_vec()))
            .send()
            .await
            .expect("CreateTopic");
        let arn = created.topic_arn().expect("a topic arn").to_owned();
        let example = <sns::TopicPolicyPublic as FaultSemantics>::example();
        let policy = example_for(
            example.document.as_ref().expect("a policy"),
            &example.arn,
            &arn,
        );
        set_topic_policy(aws, &arn, policy).await;
        ResourceRef {
            provider: "aws".to_owned(),
            resource_type: "aws.sns.topic".to_owned(),
            id: arn,
            name: name.to_owned(),
            region: REGION.to_owned(),
            tags: [("rdfi-target".to_owned(), "true".to_owned())].into(),
            exposure: String::new(),
        }
    }

    async fn read(&self, aws: &Clients, resource: &ResourceRef) -> Value {
        json!({"policy": topic_policy(aws, &resource.id).await})
    }

    fn misconfigured(&self, read: &Value) -> bool {
        lets_everyone(&read["policy"], &["sns:Subscribe", "sns:Publish"])
    }

    /// A partner account's role is allowed to publish, beside the fault's statement.
    async fn change_meanwhile(&self, aws: &Clients, resource: &ResourceRef) -> bool {
        let current = topic_policy(aws, &resource.id).await;
        let partner = partner_statement("sns:Publish", Some(&resource.id));
        set_topic_policy(
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
