//! CloudWatch Logs log groups: discovery, tags, and the fault that cuts a log group's retention to one day.
//!
//! Log groups are addressed by name (`ResourceRef::name`) in the configured region; their ARN (without the
//! `:*` of the log streams) is the resource id.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_cloudwatchlogs::types::LogGroup;
use rdfi_proto::v1::ResourceRef;

use super::{AwsClients, sdk_error};
use crate::model::logs::{self as model, FAULT_RETENTION_DAYS, LogRetention};
use crate::{FaultDriver, ProviderError, Result, StateDriver, Versioned};

/// The resource type of CloudWatch Logs log groups.
pub const LOG_GROUP: &str = "aws.logs.log-group";

pub(crate) const RESOURCE_TYPES: &[&str] = &[LOG_GROUP];

pub(crate) fn drivers() -> Vec<Box<dyn FaultDriver<AwsClients>>> {
    vec![Box::new(RetentionDriver)]
}

/// The ARN tags and IAM policies name a log group by: `arn:...:log-group:NAME`, without the `:*` that
/// DescribeLogGroups' `arn` field ends with.
fn log_group_arn(group: &LogGroup) -> Option<String> {
    group
        .log_group_arn()
        .map(str::to_owned)
        .or_else(|| group.arn().map(|arn| arn.trim_end_matches(":*").to_owned()))
}

/// Every log group of the configured region (all pages), with its tags.
pub(crate) async fn discover(
    clients: &AwsClients,
    _resource_type: &str,
) -> Result<Vec<ResourceRef>> {
    let mut pages = clients.logs.describe_log_groups().into_paginator().send();
    let mut groups = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|error| sdk_error("DescribeLogGroups", "region", error))?;
        for group in page.log_groups() {
            let (Some(name), Some(arn)) = (group.log_group_name(), log_group_arn(group)) else {
                continue;
            };
            groups.push(ResourceRef {
                exposure: String::new(),
                provider: "aws".to_owned(),
                resource_type: LOG_GROUP.to_owned(),
                tags: log_group_tags(clients, &arn).await?.into_iter().collect(),
                id: arn,
                name: name.to_owned(),
                region: clients.region.clone(),
            });
        }
    }
    Ok(groups)
}

pub(crate) async fn tags(
    clients: &AwsClients,
    resource: &ResourceRef,
) -> Result<BTreeMap<String, String>> {
    log_group_tags(clients, &resource.id).await
}

/// A log group's tags, by ARN (ListTagsForResource: ListTagsLogGroup is deprecated).
async fn log_group_tags(clients: &AwsClients, arn: &str) -> Result<BTreeMap<String, String>> {
    let answer = clients
        .logs
        .list_tags_for_resource()
        .resource_arn(arn)
        .send()
        .await
        .map_err(|error| sdk_error("ListTagsForResource", arn, error))?;
    Ok(answer
        .tags()
        .map(|tags| {
            tags.iter()
                .map(|(key, value)| (key.clone(), value.clone()))
                .collect()
        })
        .unwrap_or_default())
}

/// The log group named by the resource: DescribeLogGroups filters by name prefix, so the pages are searched
/// for the exact name.
async fn log_group(clients: &AwsClients, resource: &ResourceRef) -> Result<LogGroup> {
    let mut pages = clients
        .logs
        .describe_log_groups()
        .log_group_name_prefix(&resource.name)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|error| sdk_error("DescribeLogGroups", &resource.id, error))?;
        if let Some(group) = page
            .log_groups()
            .iter()
            .find(|group| group.log_group_name() == Some(resource.name.as_str()))
        {
            return Ok(group.clone());
        }
    }
    Err(ProviderError::Api {
        operation: "DescribeLogGroups".to_owned(),
        resource: resource.id.clone(),
        reason: "no such log group".to_owned(),
        retryable: false,
        throttled: false,
    })
}

async fn put_retention(clients: &AwsClients, resource: &ResourceRef, days: i32) -> Result<()> {
    clients
        .logs
        .put_retention_policy()
        .log_group_name(&resource.name)
        .retention_in_days(days)
        .send()
        .await
        .map_err(|error| sdk_error("PutRetentionPolicy", &resource.id, error))?;
    Ok(())
}

/// `aws.logs.audit-log-retention-one-day`: PutRetentionPolicy of one day; the revert puts the target's
/// retention (the snapshot's, unless someone set another meanwhile), or deletes the retention policy when the
/// target never expires.
pub(crate) struct RetentionDriver;

#[async_trait]
impl StateDriver<AwsClients> for RetentionDriver {
    type Fault = model::AuditLogRetentionOneDay;

    async fn read(&self, clients: &AwsClients, resource: &ResourceRef) -> Result<LogRetention> {
        Ok(LogRetention {
            retention_in_days: log_group(clients, resource).await?.retention_in_days(),
        })
    }

    async fn inject(
        &self,
        clients: &AwsClients,
        resource: &ResourceRef,
        _before: &LogRetention,
    ) -> Result<()> {
        put_retention(clients, resource, FAULT_RETENTION_DAYS).await
    }

    async fn revert(
        &self,
        clients: &AwsClients,
        resource: &ResourceRef,
        _current: &Versioned<LogRetention>,
        target: &LogRetention,
    ) -> Result<()> {
        match target.retention_in_days {
            Some(days) => put_retention(clients, resource, days).await,
            None => {
                clients
                    .logs
                    .delete_retention_policy()
                    .log_group_name(&resource.name)
                    .send()
                    .await
                    .map_err(|error| sdk_error("DeleteRetentionPolicy", &resource.id, error))?;
                Ok(())
            }
        }
    }
}
