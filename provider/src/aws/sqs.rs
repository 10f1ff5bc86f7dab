//! SQS queues: discovery, tags, and the queue policy fault. A queue is identified by its ARN and named by its
//! URL, which every SQS call takes.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_sqs::types::QueueAttributeName;
use rdfi_proto::v1::ResourceRef;

use super::iam::decode_policy_document;
use super::resource_policy::{PolicyDriver, PolicyStore};
use super::{AwsClients, sdk_error};
use crate::model::FaultState;
use crate::model::resource_policy::ResourcePolicy;
use crate::model::sqs as model;
use crate::{FaultDriver, ProviderError, Result};

/// The resource type of SQS queues.
const QUEUE: &str = "aws.sqs.queue";

pub(crate) const RESOURCE_TYPES: &[&str] = &[QUEUE];

pub(crate) fn drivers() -> Vec<Box<dyn FaultDriver<AwsClients>>> {
    vec![PolicyDriver::<model::QueuePolicyPublic, QueuePolicyStore>::boxed()]
}

/// Every queue of the configured region (all pages), with its ARN and tags.
pub(crate) async fn discover(
    clients: &AwsClients,
    _resource_type: &str,
) -> Result<Vec<ResourceRef>> {
    let mut pages = clients.sqs.list_queues().into_paginator().send();
    let mut queues = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|error| sdk_error("ListQueues", "account", error))?;
        for url in page.queue_urls() {
            let attributes = clients
                .sqs
                .get_queue_attributes()
                .queue_url(url)
                .attribute_names(QueueAttributeName::QueueArn)
                .send()
                .await
                .map_err(|error| sdk_error("GetQueueAttributes", url, error))?;
            let arn = attributes
                .attributes()
                .and_then(|attributes| attributes.get(&QueueAttributeName::QueueArn))
                .ok_or_else(|| ProviderError::Api {
                    operation: "GetQueueAttributes".to_owned(),
                    resource: url.clone(),
                    reason: "the answer names no QueueArn".to_owned(),
                    retryable: false,
                    throttled: false,
                })?;
            queues.push(ResourceRef {
                exposure: String::new(),
                provider: "aws".to_owned(),
                resource_type: QUEUE.to_owned(),
                id: arn.clone(),
                name: url.clone(),
                region: clients.region.clone(),
                tags: queue_tags(clients, url).await?.into_iter().collect(),
            });
        }
    }
    Ok(queues)
}

pub(crate) async fn tags(
    clients: &AwsClients,
    resource: &ResourceRef,
) -> Result<BTreeMap<String, String>> {
    queue_tags(clients, &resource.name).await
}

async fn queue_tags(clients: &AwsClients, url: &str) -> Result<BTreeMap<String, String>> {
    let output = clients
        .sqs
        .list_queue_tags()
        .queue_url(url)
        .send()
        .await
        .map_err(|error| sdk_error("ListQueueTags", url, error))?;
    Ok(output
        .tags()
        .map(|tags| tags.clone().into_iter().collect())
        .unwrap_or_default())
}

/// A queue's `Policy` attribute: absent when the queue has none; writing it empty removes it.
struct QueuePolicyStore;

#[async_trait]
impl PolicyStore for QueuePolicyStore {
    type State = ResourcePolicy;

    async fn read(clients: &AwsClients, resource: &ResourceRef) -> Result<ResourcePolicy> {
        let output = clients
            .sqs
            .get_queue_attributes()
            .queue_url(&resource.name)
            .attribute_names(QueueAttributeName::Policy)
            .send()
            .await
            .map_err(|error| sdk_error("GetQueueAttributes", &resource.id, error))?;
        let document = output
            .attributes()
            .and_then(|attributes| attributes.get(&QueueAttributeName::Policy))
            .filter(|text| !text.is_empty())
            .map(|text| decode_policy_document(&resource.id, text))
            .transpose()?;
        Ok(ResourcePolicy {
            arn: resource.id.clone(),
            document,
        }
        .canonical())
    }

    async fn write(
        clients: &AwsClients,
        resource: &ResourceRef,
        policy: &ResourcePolicy,
    ) -> Result<()> {
        let text = policy
            .document
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default();
        clients
            .sqs
            .set_queue_attributes()
            .queue_url(&resource.name)
            .attributes(QueueAttributeName::Policy, text)
            .send()
            .await
            .map_err(|error| sdk_error("SetQueueAttributes", &resource.id, error))?;
        Ok(())
    }
}
