//! Secrets Manager secrets: discovery, tags, and the secret policy fault. A secret is identified by its ARN,
//! which every call takes, and named by its name.

use std::collections::BTreeMap;

use async_trait::async_trait;
use rdfi_proto::v1::ResourceRef;

use super::iam::decode_policy_document;
use super::resource_policy::{PolicyDriver, PolicyStore};
use super::{AwsClients, sdk_error};
use crate::model::FaultState;
use crate::model::resource_policy::ResourcePolicy;
use crate::model::secretsmanager as model;
use crate::{FaultDriver, Result};

/// The resource type of secrets.
const SECRET: &str = "aws.secretsmanager.secret";

pub(crate) const RESOURCE_TYPES: &[&str] = &[SECRET];

pub(crate) fn drivers() -> Vec<Box<dyn FaultDriver<AwsClients>>> {
    vec![PolicyDriver::<model::SecretPolicyPublic, SecretPolicyStore>::boxed()]
}

/// Every secret of the configured region (all pages), with the tags ListSecrets answers.
pub(crate) async fn discover(
    clients: &AwsClients,
    _resource_type: &str,
) -> Result<Vec<ResourceRef>> {
    let mut pages = clients
        .secretsmanager
        .list_secrets()
        .into_paginator()
        .send();
    let mut secrets = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|error| sdk_error("ListSecrets", "account", error))?;
        for secret in page.secret_list() {
            let (Some(arn), Some(name)) = (secret.arn(), secret.name()) else {
                continue;
            };
            secrets.push(ResourceRef {
                exposure: String::new(),
                provider: "aws".to_owned(),
                resource_type: SECRET.to_owned(),
                id: arn.to_owned(),
                name: name.to_owned(),
                region: clients.region.clone(),
                tags: tag_map(secret.tags()).into_iter().collect(),
            });
        }
    }
    Ok(secrets)
}

/// The secret's tags, as DescribeSecret answers them.
pub(crate) async fn tags(
    clients: &AwsClients,
    resource: &ResourceRef,
) -> Result<BTreeMap<String, String>> {
    let output = clients
        .secretsmanager
        .describe_secret()
        .secret_id(&resource.id)
        .send()
        .await
        .map_err(|error| sdk_error("DescribeSecret", &resource.id, error))?;
    Ok(tag_map(output.tags()))
}

fn tag_map(tags: &[aws_sdk_secretsmanager::types::Tag]) -> BTreeMap<String, String> {
    tags.iter()
        .filter_map(|tag| Some((tag.key()?.to_owned(), tag.value()?.to_owned())))
        .collect()
}

/// A secret's resource policy: GetResourcePolicy answers none when it has none; PutResourcePolicy writes one
/// whole (without BlockPublicPolicy, which the fault's own write must not set and a revert need not),
/// DeleteResourcePolicy removes it.
struct SecretPolicyStore;

#[async_trait]
impl PolicyStore for SecretPolicyStore {
    type State = ResourcePolicy;

    async fn read(clients: &AwsClients, resource: &ResourceRef) -> Result<ResourcePolicy> {
        let output = clients
            .secretsmanager
            .get_resource_policy()
            .secret_id(&resource.id)
            .send()
            .await
            .map_err(|error| sdk_error("GetResourcePolicy", &resource.id, error))?;
        let document = output
            .resource_policy()
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
        match &policy.document {
            Some(document) => clients
                .secretsmanager
                .put_resource_policy()
                .secret_id(&resource.id)
                .resource_policy(document.to_string())
                .send()
                .await
                .map(drop)
                .map_err(|error| sdk_error("PutResourcePolicy", &resource.id, error)),
            None => clients
                .secretsmanager
                .delete_resource_policy()
                .secret_id(&resource.id)
                .send()
                .await
                .map(drop)
                .map_err(|error| sdk_error("DeleteResourcePolicy", &resource.id, error)),
        }
    }
}
