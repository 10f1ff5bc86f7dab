//! Lambda functions: discovery, tags, and the public invoke fault. A function is identified by its ARN and
//! named by its name.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_lambda::error::ProvideErrorMetadata;
use rdfi_proto::v1::ResourceRef;

use super::iam::decode_policy_document;
use super::{AwsClients, sdk_error};
use crate::model::lambda as model;
use crate::model::resource_policy::{PublicGrant, ResourcePolicy};
use crate::model::{FaultState, iam::statements};
use crate::{FaultDriver, ProviderError, Result, StateDriver, Versioned};

/// The resource type of Lambda functions.
const FUNCTION: &str = "aws.lambda.function";

pub(crate) const RESOURCE_TYPES: &[&str] = &[FUNCTION];

pub(crate) fn drivers() -> Vec<Box<dyn FaultDriver<AwsClients>>> {
    vec![Box::new(PublicInvokeDriver)]
}

/// Every function of the configured region (all pages), with its tags.
pub(crate) async fn discover(
    clients: &AwsClients,
    _resource_type: &str,
) -> Result<Vec<ResourceRef>> {
    let mut pages = clients.lambda.list_functions().into_paginator().send();
    let mut functions = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|error| sdk_error("ListFunctions", "account", error))?;
        for function in page.functions() {
            let (Some(arn), Some(name)) = (function.function_arn(), function.function_name())
            else {
                continue;
            };
            functions.push(ResourceRef {
                exposure: String::new(),
                provider: "aws".to_owned(),
                resource_type: FUNCTION.to_owned(),
                id: arn.to_owned(),
                name: name.to_owned(),
                region: clients.region.clone(),
                tags: function_tags(clients, arn).await?.into_iter().collect(),
            });
        }
    }
    Ok(functions)
}

pub(crate) async fn tags(
    clients: &AwsClients,
    resource: &ResourceRef,
) -> Result<BTreeMap<String, String>> {
    function_tags(clients, &resource.id).await
}

async fn function_tags(clients: &AwsClients, arn: &str) -> Result<BTreeMap<String, String>> {
    let output = clients
        .lambda
        .list_tags()
        .resource(arn)
        .send()
        .await
        .map_err(|error| sdk_error("ListTags", arn, error))?;
    Ok(output
        .tags()
        .map(|tags| tags.clone().into_iter().collect())
        .unwrap_or_default())
}

/// The statement ids of a policy.
fn statement_ids(policy: &ResourcePolicy) -> Vec<String> {
    policy
        .document
        .iter()
        .flat_map(statements)
        .filter_map(|statement| statement.get("Sid").and_then(|sid| sid.as_str()))
        .map(str::to_owned)
        .collect()
}

/// `aws.lambda.function-public-invoke`: AddPermission for Principal `*` under the fault's statement id. Lambda
/// adds and removes permissions one statement at a time: the revert removes the statements the target lacks
/// (the fault's own), so permissions added meanwhile stay.
pub(crate) struct PublicInvokeDriver;

#[async_trait]
impl StateDriver<AwsClients> for PublicInvokeDriver {
    type Fault = model::FunctionPublicInvoke;

    /// The function policy; none when GetPolicy answers ResourceNotFoundException.
    async fn read(&self, clients: &AwsClients, resource: &ResourceRef) -> Result<ResourcePolicy> {
        let document = match clients
            .lambda
            .get_policy()
            .function_name(&resource.name)
            .send()
            .await
        {
            Ok(output) => output
                .policy()
                .filter(|text| !text.is_empty())
                .map(|text| decode_policy_document(&resource.id, text))
                .transpose()?,
            Err(error) if error.code() == Some("ResourceNotFoundException") => None,
            Err(error) => return Err(sdk_error("GetPolicy", &resource.id, error)),
        };
        Ok(ResourcePolicy {
            arn: resource.id.clone(),
            document,
        }
        .canonical())
    }

    async fn inject(
        &self,
        clients: &AwsClients,
        resource: &ResourceRef,
        _before: &ResourcePolicy,
    ) -> Result<()> {
        clients
            .lambda
            .add_permission()
            .function_name(&resource.name)
            .statement_id(model::PublicInvoke::SID)
            .action(model::PublicInvoke::ACTIONS.join(","))
            .principal("*")
            .send()
            .await
            .map_err(|error| sdk_error("AddPermission", &resource.id, error))?;
        Ok(())
    }

    async fn revert(
        &self,
        clients: &AwsClients,
        resource: &ResourceRef,
        current: &Versioned<ResourcePolicy>,
        target: &ResourcePolicy,
    ) -> Result<()> {
        let kept = statement_ids(target);
        let target_statements: Vec<_> = target.document.iter().flat_map(statements).collect();
        let current_statements: Vec<_> =
            current.state.document.iter().flat_map(statements).collect();
        if target_statements
            .iter()
            .any(|statement| !current_statements.contains(statement))
        {
            // The fault only adds a permission, so its revert only removes: a statement the target holds and
            // the function does not cannot be written back through AddPermission's fields.
            return Err(ProviderError::Api {
                operation: "RemovePermission".to_owned(),
                resource: resource.id.clone(),
                reason: "the revert would need a statement the function policy no longer has"
                    .to_owned(),
                retryable: false,
                throttled: false,
            });
        }
        // Removal by statement id touches no other statement, so it is not conditioned on the policy's
        // RevisionId (moto 5.2 refuses every conditioned RemovePermission: it compares the id with a list).
        for sid in statement_ids(&current.state) {
            if kept.contains(&sid) {
                continue;
            }
            clients
                .lambda
                .remove_permission()
                .function_name(&resource.name)
                .statement_id(&sid)
                .send()
                .await
                .map_err(|error| sdk_error("RemovePermission", &resource.id, error))?;
        }
        Ok(())
    }
}
