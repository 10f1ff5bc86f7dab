//! SNS topics: discovery, tags, and the topic policy fault. A topic is identified by its ARN, which every SNS
//! call takes, and named by its name.

use std::collections::BTreeMap;

use async_trait::async_trait;
use rdfi_proto::v1::ResourceRef;

use super::iam::decode_policy_document;
use super::resource_policy::{PolicyDriver, PolicyStore};
use super::{AwsClients, sdk_error};
use crate::model::FaultState;
use crate::model::resource_policy::ResourcePolicy;
use crate::model::sns as model;
use crate::{FaultDriver, ProviderError, Result};

/// The resource type of SNS topics.
const TOPIC: &str = "aws.sns.topic";

/// The topic attribute holding its access policy.
const POLICY: &str = "Policy";

pub(crate) const RESOURCE_TYPES: &[&str] = &[TOPIC];

pub(crate) fn drivers() -> Vec<Box<dyn FaultDriver<AwsClients>>> {
    vec![PolicyDriver::<model::TopicPolicyPublic, TopicPolicyStore>::boxed()]
}

/// Every topic of the configured region (all pages), with its tags.
pub(crate) async fn discover(
    clients: &AwsClients,
    _resource_type: &str,
) -> Result<Vec<ResourceRef>> {
    let mut pages = clients.sns.list_topics().into_paginator().send();
    let mut topics = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|error| sdk_error("ListTopics", "account", error))?;
        for arn in page.topics().iter().filter_map(|topic| topic.topic_arn()) {
            topics.push(ResourceRef {
                exposure: String::new(),
                provider: "aws".to_owned(),
                resource_type: TOPIC.to_owned(),
                id: arn.to_owned(),
                name: arn.rsplit(':').next().unwrap_or(arn).to_owned(),
                region: clients.region.clone(),
                tags: topic_tags(clients, arn).await?.into_iter().collect(),
            });
        }
    }
    Ok(topics)
}

pub(crate) async fn tags(
    clients: &AwsClients,
    resource: &ResourceRef,
) -> Result<BTreeMap<String, String>> {
    topic_tags(clients, &resource.id).await
}

async fn topic_tags(clients: &AwsClients, arn: &str) -> Result<BTreeMap<String, String>> {
    let output = clients
        .sns
        .list_tags_for_resource()
        .resource_arn(arn)
        .send()
        .await
        .map_err(|error| sdk_error("ListTagsForResource", arn, error))?;
    Ok(output
        .tags()
        .iter()
        .map(|tag| (tag.key().to_owned(), tag.value().to_owned()))
        .collect())
}

/// A topic's `Policy` attribute. SNS gives every topic one (its default policy) and has no call that removes
/// it, so a state without a policy cannot be written.
struct TopicPolicyStore;

#[async_trait]
impl PolicyStore for TopicPolicyStore {
    type State = ResourcePolicy;

    async fn read(clients: &AwsClients, resource: &ResourceRef) -> Result<ResourcePolicy> {
        let output = clients
            .sns
            .get_topic_attributes()
            .topic_arn(&resource.id)
            .send()
            .await
            .map_err(|error| sdk_error("GetTopicAttributes", &resource.id, error))?;
        let document = output
            .attributes()
            .and_then(|attributes| attributes.get(POLICY))
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
        let Some(document) = &policy.document else {
            return Err(ProviderError::Api {
                operation: "SetTopicAttributes".to_owned(),
                resource: resource.id.clone(),
                reason: "the policy would have no statement left, and SNS cannot remove a topic's policy: \
                         restore the topic's default policy by hand"
                    .to_owned(),
                retryable: false,
                throttled: false,
            });
        };
        clients
            .sns
            .set_topic_attributes()
            .topic_arn(&resource.id)
            .attribute_name(POLICY)
            .attribute_value(document.to_string())
            .send()
            .await
            .map_err(|error| sdk_error("SetTopicAttributes", &resource.id, error))?;
        Ok(())
    }
}
