//! SQS conformance case: a tagged queue with a three-statement queue policy, read straight through the SDK.

use async_trait::async_trait;
use aws_sdk_sqs::types::QueueAttributeName;
use rdfi_proto::v1::ResourceRef;
use rdfi_provider::model::{FaultSemantics, sqs};
use serde_json::{Value, json};

use super::AwsCase;
use super::resource_policy::{
    example_for, keeps_partner, lets_everyone, partner_statement, sorted_policy, with_statement,
};
use crate::aws::{Clients, REGION};

pub fn cases() -> Vec<Box<dyn AwsCase>> {
    vec![Box::new(QueuePolicyPublic)]
}

/// The queue's policy, as GetQueueAttributes answers it.
async fn queue_policy(aws: &Clients, url: &str) -> Value {
    let output = aws
        .sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::Policy)
        .send()
        .await
        .expect("GetQueueAttributes");
    sorted_policy(
        output
            .attributes()
            .and_then(|attributes| attributes.get(&QueueAttributeName::Policy))
            .map(String::as_str),
    )
}

async fn set_queue_policy(aws: &Clients, url: &str, policy: String) {
    aws.sqs
        .set_queue_attributes()
        .queue_url(url)
        .attributes(QueueAttributeName::Policy, policy)
        .send()
        .await
        .expect("SetQueueAttributes");
}

struct QueuePolicyPublic;

#[async_trait]
impl AwsCase for QueuePolicyPublic {
    fn fault_id(&self) -> &'static str {
        "aws.sqs.queue-policy-public"
    }

    /// A queue tagged opted-in whose policy lets the order service send, the fulfilment role receive and an
    /// SNS topic deliver (the model's example, under this queue's ARN). Named by URL, identified by ARN.
    async fn prepare(&self, aws: &Clients, name: &str) -> ResourceRef {
        let created = aws
            .sqs
            .create_queue()
            .queue_name(name)
            .tags("rdfi-target", "true")
            .tags("name", name)
            .send()
            .await
            .expect("CreateQueue");
        let url = created.queue_url().expect("a queue url").to_owned();
        let attributes = aws
            .sqs
            .get_queue_attributes()
            .queue_url(&url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await
            .expect("GetQueueAttributes");
        let arn = attributes
            .attributes()
            .and_then(|attributes| attributes.get(&QueueAttributeName::QueueArn))
            .expect("a queue arn")
            .clone();
        let example = <sqs::QueuePolicyPublic as FaultSemantics>::example();
        let policy = example_for(
            example.document.as_ref().expect("a policy"),
            &example.arn,
            &arn,
        );
        set_queue_policy(aws, &url, policy).await;
        ResourceRef {
            provider: "aws".to_owned(),
            resource_type: "aws.sqs.queue".to_owned(),
            id: arn,
            name: url,
            region: REGION.to_owned(),
            tags: [("rdfi-target".to_owned(), "true".to_owned())].into(),
            exposure: String::new(),
        }
    }

    async fn read(&self, aws: &Clients, resource: &ResourceRef) -> Value {
        json!({"policy": queue_policy(aws, &resource.name).await})
    }

    fn misconfigured(&self, read: &Value) -> bool {
        lets_everyone(&read["policy"], &["sqs:SendMessage", "sqs:ReceiveMessage"])
    }

    /// A partner account's role is allowed to send, beside the fault's statement.
    async fn change_meanwhile(&self, aws: &Clients, resource: &ResourceRef) -> bool {
        let current = queue_policy(aws, &resource.name).await;
        let partner = partner_statement("sqs:SendMessage", Some(&resource.id));
        set_queue_policy(
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
