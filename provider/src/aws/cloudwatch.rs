//! CloudWatch metric alarms: discovery, tags, and the fault that disables an alarm's actions.
//!
//! Alarms are addressed by name (`ResourceRef::name`) in the configured region; their ARN is the resource id.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_cloudwatch::types::{AlarmType, MetricAlarm};
use rdfi_proto::v1::ResourceRef;

use super::{AwsClients, sdk_error};
use crate::model::cloudwatch::{self as model, AlarmActions};
use crate::model::watch::Watch;
use crate::{FaultDriver, ProviderError, Result, StateDriver, Versioned};

/// The resource type of CloudWatch metric alarms.
pub const ALARM: &str = "aws.cloudwatch.alarm";

pub(crate) const RESOURCE_TYPES: &[&str] = &[ALARM];

pub(crate) fn drivers() -> Vec<Box<dyn FaultDriver<AwsClients>>> {
    vec![Box::new(AlarmActionsDriver)]
}

/// Every metric alarm of the configured region (all pages), with its tags.
pub(crate) async fn discover(
    clients: &AwsClients,
    _resource_type: &str,
) -> Result<Vec<ResourceRef>> {
    let mut pages = clients
        .cloudwatch
        .describe_alarms()
        .alarm_types(AlarmType::MetricAlarm)
        .into_paginator()
        .send();
    let mut alarms = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|error| sdk_error("DescribeAlarms", "region", error))?;
        for alarm in page.metric_alarms() {
            let (Some(name), Some(arn)) = (alarm.alarm_name(), alarm.alarm_arn()) else {
                continue;
            };
            alarms.push(ResourceRef {
                exposure: String::new(),
                provider: "aws".to_owned(),
                resource_type: ALARM.to_owned(),
                id: arn.to_owned(),
                name: name.to_owned(),
                region: clients.region.clone(),
                tags: alarm_tags(clients, arn).await?.into_iter().collect(),
            });
        }
    }
    Ok(alarms)
}

pub(crate) async fn tags(
    clients: &AwsClients,
    resource: &ResourceRef,
) -> Result<BTreeMap<String, String>> {
    alarm_tags(clients, &resource.id).await
}

/// An alarm's tags, by ARN.
async fn alarm_tags(clients: &AwsClients, arn: &str) -> Result<BTreeMap<String, String>> {
    let answer = clients
        .cloudwatch
        .list_tags_for_resource()
        .resource_arn(arn)
        .send()
        .await
        .map_err(|error| sdk_error("ListTagsForResource", arn, error))?;
    Ok(answer
        .tags()
        .iter()
        .filter_map(|tag| Some((tag.key()?.to_owned(), tag.value()?.to_owned())))
        .collect())
}

/// The metric alarm named by the resource.
async fn metric_alarm(clients: &AwsClients, resource: &ResourceRef) -> Result<MetricAlarm> {
    let answer = clients
        .cloudwatch
        .describe_alarms()
        .alarm_names(&resource.name)
        .alarm_types(AlarmType::MetricAlarm)
        .send()
        .await
        .map_err(|error| sdk_error("DescribeAlarms", &resource.id, error))?;
    answer
        .metric_alarms()
        .iter()
        .find(|alarm| alarm.alarm_name() == Some(resource.name.as_str()))
        .cloned()
        .ok_or_else(|| ProviderError::Api {
            operation: "DescribeAlarms".to_owned(),
            resource: resource.id.clone(),
            reason: "no such metric alarm".to_owned(),
            retryable: false,
            throttled: false,
        })
}

/// `aws.cloudwatch.alarm-actions-disabled`: DisableAlarmActions; the revert calls EnableAlarmActions, which
/// changes nothing else of the alarm (its actions, threshold or metric, as they are then).
pub(crate) struct AlarmActionsDriver;

impl AlarmActionsDriver {
    async fn switch(&self, clients: &AwsClients, resource: &ResourceRef, on: bool) -> Result<()> {
        if on {
            clients
                .cloudwatch
                .enable_alarm_actions()
                .alarm_names(&resource.name)
                .send()
                .await
                .map_err(|error| sdk_error("EnableAlarmActions", &resource.id, error))?;
        } else {
            clients
                .cloudwatch
                .disable_alarm_actions()
                .alarm_names(&resource.name)
                .send()
                .await
                .map_err(|error| sdk_error("DisableAlarmActions", &resource.id, error))?;
        }
        Ok(())
    }
}

#[async_trait]
impl StateDriver<AwsClients> for AlarmActionsDriver {
    type Fault = model::AlarmActionsDisabled;

    async fn read(
        &self,
        clients: &AwsClients,
        resource: &ResourceRef,
    ) -> Result<Watch<AlarmActions>> {
        let alarm = metric_alarm(clients, resource).await?;
        let set = |actions: &[String]| actions.iter().cloned().collect();
        Ok(Watch {
            // CloudWatch enables the actions of an alarm created without saying otherwise.
            enabled: alarm.actions_enabled().unwrap_or(true),
            settings: AlarmActions {
                alarm_actions: set(alarm.alarm_actions()),
                ok_actions: set(alarm.ok_actions()),
                insufficient_data_actions: set(alarm.insufficient_data_actions()),
            },
        })
    }

    async fn inject(
        &self,
        clients: &AwsClients,
        resource: &ResourceRef,
        _before: &Watch<AlarmActions>,
    ) -> Result<()> {
        self.switch(clients, resource, false).await
    }

    async fn revert(
        &self,
        clients: &AwsClients,
        resource: &ResourceRef,
        _current: &Versioned<Watch<AlarmActions>>,
        target: &Watch<AlarmActions>,
    ) -> Result<()> {
        self.switch(clients, resource, target.enabled).await
    }
}
