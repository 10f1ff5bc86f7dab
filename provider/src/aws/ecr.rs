//! ECR repositories: discovery, tags, and the repository policy fault. A repository is identified by its ARN
//! and named by its name, which the policy calls take.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_ecr::error::ProvideErrorMetadata;
use rdfi_proto::v1::ResourceRef;

use super::iam::decode_policy_document;
use super::resource_policy::{PolicyDriver, PolicyStore};
use super::{AwsClients, sdk_error};
use crate::model::FaultState;
use crate::model::ecr as model;
use crate::model::resource_policy::ResourcePolicy;
use crate::{FaultDriver, Result};

/// The resource type of ECR repositories.
const REPOSITORY: &str = "aws.ecr.repository";

/// The error GetRepositoryPolicy answers for a repository without a policy.
const NO_POLICY: &str = "RepositoryPolicyNotFoundException";

pub(crate) const RESOURCE_TYPES: &[&str] = &[REPOSITORY];

pub(crate) fn drivers() -> Vec<Box<dyn FaultDriver<AwsClients>>> {
    vec![PolicyDriver::<
        model::RepositoryPolicyPublic,
        RepositoryPolicyStore,
    >::boxed()]
}

/// Every repository of the account's registry in the configured region (all pages), with its tags.
pub(crate) async fn discover(
    clients: &AwsClients,
    _resource_type: &str,
) -> Result<Vec<ResourceRef>> {
    let mut pages = clients.ecr.describe_repositories().into_paginator().send();
    let mut repositories = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|error| sdk_error("DescribeRepositories", "account", error))?;
        for repository in page.repositories() {
            let (Some(arn), Some(name)) =
                (repository.repository_arn(), repository.repository_name())
            else {
                continue;
            };
            repositories.push(ResourceRef {
                exposure: String::new(),
                provider: "aws".to_owned(),
                resource_type: REPOSITORY.to_owned(),
                id: arn.to_owned(),
                name: name.to_owned(),
                region: clients.region.clone(),
                tags: repository_tags(clients, arn).await?.into_iter().collect(),
            });
        }
    }
    Ok(repositories)
}

pub(crate) async fn tags(
    clients: &AwsClients,
    resource: &ResourceRef,
) -> Result<BTreeMap<String, String>> {
    repository_tags(clients, &resource.id).await
}

async fn repository_tags(clients: &AwsClients, arn: &str) -> Result<BTreeMap<String, String>> {
    let output = clients
        .ecr
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

/// A repository's policy: none when GetRepositoryPolicy answers [`NO_POLICY`]; SetRepositoryPolicy writes one
/// whole, DeleteRepositoryPolicy removes it.
struct RepositoryPolicyStore;

#[async_trait]
impl PolicyStore for RepositoryPolicyStore {
    type State = ResourcePolicy;

    async fn read(clients: &AwsClients, resource: &ResourceRef) -> Result<ResourcePolicy> {
        let document = match clients
            .ecr
            .get_repository_policy()
            .repository_name(&resource.name)
            .send()
            .await
        {
            Ok(output) => output
                .policy_text()
                .filter(|text| !text.is_empty())
                .map(|text| decode_policy_document(&resource.id, text))
                .transpose()?,
            Err(error) if error.code() == Some(NO_POLICY) => None,
            Err(error) => return Err(sdk_error("GetRepositoryPolicy", &resource.id, error)),
        };
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
                .ecr
                .set_repository_policy()
                .repository_name(&resource.name)
                .policy_text(document.to_string())
                .send()
                .await
                .map(drop)
                .map_err(|error| sdk_error("SetRepositoryPolicy", &resource.id, error)),
            None => clients
                .ecr
                .delete_repository_policy()
                .repository_name(&resource.name)
                .send()
                .await
                .map(drop)
                .map_err(|error| sdk_error("DeleteRepositoryPolicy", &resource.id, error)),
        }
    }
}
