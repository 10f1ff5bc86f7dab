//! CloudTrail trails: discovery, tags, and the faults that stop a trail, narrow what it records, or disable
//! its log file validation.
//!
//! Trails are addressed by name (`ResourceRef::name`) in their home region; their ARN is the resource id.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_cloudtrail::types::{
    self as cloudtrail_types, DataResource as SdkDataResource, EventSelector as SdkEventSelector,
    ReadWriteType,
};
use rdfi_proto::v1::ResourceRef;

use super::switch::{AwsSwitch, SwitchDriver};
use super::{AwsClients, sdk_error};
use crate::model::cloudtrail::{
    self as model, AdvancedEventSelector, AdvancedFieldSelector, DataResource, EventSelector,
    TrailEventSelectors, TrailSwitch, TrailSwitchKind,
};
use crate::{FaultDriver, ProviderError, Result, StateDriver, Versioned};

pub const TRAIL: &str = "aws.cloudtrail.trail";

pub(crate) const RESOURCE_TYPES: &[&str] = &[TRAIL];

pub(crate) fn drivers() -> Vec<Box<dyn FaultDriver<AwsClients>>> {
    vec![
        Box::new(SwitchDriver::<model::Logging>::new()),
        Box::new(SwitchDriver::<model::LogFileValidation>::new()),
        Box::new(SwitchDriver::<model::MultiRegion>::new()),
        Box::new(EventSelectorsDriver),
    ]
}

pub(crate) async fn tags(
    clients: &AwsClients,
    resource: &ResourceRef,
) -> Result<BTreeMap<String, String>> {
    trail_tags(clients, &resource.id).await
}

/// Every trail whose home region is the configured one (trails of other regions are their region's
/// targets), with its tags.
pub(crate) async fn discover(
    clients: &AwsClients,
    _resource_type: &str,
) -> Result<Vec<ResourceRef>> {
    let mut pages = clients.cloudtrail.list_trails().into_paginator().send();
    let mut trails = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|error| sdk_error("ListTrails", "region", error))?;
        for trail in page.trails() {
            let (Some(arn), Some(name)) = (trail.trail_arn(), trail.name()) else {
                continue;
            };
            if trail
                .home_region()
                .is_some_and(|region| region != clients.region)
            {
                continue;
            }
            trails.push(ResourceRef {
                exposure: String::new(),
                provider: "aws".to_owned(),
                resource_type: TRAIL.to_owned(),
                id: arn.to_owned(),
                name: name.to_owned(),
                region: clients.region.clone(),
                tags: trail_tags(clients, arn).await?.into_iter().collect(),
            });
        }
    }
    Ok(trails)
}

/// A trail's tags, by ARN, all pages.
async fn trail_tags(clients: &AwsClients, arn: &str) -> Result<BTreeMap<String, String>> {
    let mut pages = clients
        .cloudtrail
        .list_tags()
        .resource_id_list(arn)
        .into_paginator()
        .send();
    let mut tags = BTreeMap::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|error| sdk_error("ListTags", arn, error))?;
        for resource in page.resource_tag_list() {
            for tag in resource.tags_list() {
                tags.insert(
                    tag.key().to_owned(),
                    tag.value().unwrap_or_default().to_owned(),
                );
            }
        }
    }
    Ok(tags)
}

/// Whether one of a trail's protections ([`TrailSwitchKind`]) is on.
async fn read_switch(
    clients: &AwsClients,
    resource: &ResourceRef,
    kind: TrailSwitchKind,
) -> Result<bool> {
    let trail = match kind {
        TrailSwitchKind::Logging => {
            let status = clients
                .cloudtrail
                .get_trail_status()
                .name(&resource.name)
                .send()
                .await
                .map_err(|error| sdk_error("GetTrailStatus", &resource.id, error))?;
            return Ok(status.is_logging().unwrap_or(false));
        }
        TrailSwitchKind::LogFileValidation | TrailSwitchKind::MultiRegion => clients
            .cloudtrail
            .get_trail()
            .name(&resource.name)
            .send()
            .await
            .map_err(|error| sdk_error("GetTrail", &resource.id, error))?
            .trail
            .ok_or_else(|| ProviderError::Api {
                operation: "GetTrail".to_owned(),
                resource: resource.id.clone(),
                reason: "no trail in the answer".to_owned(),
                retryable: false,
                throttled: false,
            })?,
    };
    Ok(if kind == TrailSwitchKind::MultiRegion {
        trail.is_multi_region_trail()
    } else {
        trail.log_file_validation_enabled()
    }
    .unwrap_or(false))
}

/// Switches one of a trail's protections on or off.
async fn write_switch(
    clients: &AwsClients,
    resource: &ResourceRef,
    kind: TrailSwitchKind,
    enabled: bool,
) -> Result<()> {
    let trail = resource.name.as_str();
    let cloudtrail = &clients.cloudtrail;
    match kind {
        TrailSwitchKind::Logging if enabled => {
            cloudtrail
                .start_logging()
                .name(trail)
                .send()
                .await
                .map_err(|error| sdk_error("StartLogging", &resource.id, error))?;
        }
        TrailSwitchKind::Logging => {
            cloudtrail
                .stop_logging()
                .name(trail)
                .send()
                .await
                .map_err(|error| sdk_error("StopLogging", &resource.id, error))?;
        }
        TrailSwitchKind::LogFileValidation | TrailSwitchKind::MultiRegion => {
            let update = cloudtrail.update_trail().name(trail);
            let update = if kind == TrailSwitchKind::MultiRegion {
                update.is_multi_region_trail(enabled)
            } else {
                update.enable_log_file_validation(enabled)
            };
            update
                .send()
                .await
                .map_err(|error| sdk_error("UpdateTrail", &resource.id, error))?;
        }
    }
    Ok(())
}

/// Every trail protection ([`TrailSwitch`]) is read and switched by its kind.
impl<S: TrailSwitch> AwsSwitch for S {
    async fn is_on(clients: &AwsClients, resource: &ResourceRef) -> Result<bool> {
        read_switch(clients, resource, S::KIND).await
    }

    async fn switch(clients: &AwsClients, resource: &ResourceRef, on: bool) -> Result<()> {
        write_switch(clients, resource, S::KIND, on).await
    }
}

async fn read_selectors(
    clients: &AwsClients,
    resource: &ResourceRef,
) -> Result<TrailEventSelectors> {
    let output = clients
        .cloudtrail
        .get_event_selectors()
        .trail_name(&resource.name)
        .send()
        .await
        .map_err(|error| sdk_error("GetEventSelectors", &resource.id, error))?;
    let event_selectors = output
        .event_selectors()
        .iter()
        .map(|selector| EventSelector {
            read_write_type: selector
                .read_write_type()
                .map_or(model::READ_WRITE_ALL, ReadWriteType::as_str)
                .to_owned(),
            include_management_events: selector.include_management_events().unwrap_or(true),
            data_resources: selector
                .data_resources()
                .iter()
                .map(|resource| DataResource {
                    resource_type: resource.r#type().unwrap_or_default().to_owned(),
                    values: resource.values().iter().cloned().collect(),
                })
                .collect(),
            exclude_management_event_sources: selector
                .exclude_management_event_sources()
                .iter()
                .cloned()
                .collect(),
        })
        .collect();
    let advanced_event_selectors = output
        .advanced_event_selectors()
        .iter()
        .map(|selector| AdvancedEventSelector {
            name: selector.name().map(str::to_owned),
            field_selectors: selector
                .field_selectors()
                .iter()
                .map(|condition| AdvancedFieldSelector {
                    field: condition.field().to_owned(),
                    equals: condition.equals().iter().cloned().collect(),
                    starts_with: condition.starts_with().iter().cloned().collect(),
                    ends_with: condition.ends_with().iter().cloned().collect(),
                    not_equals: condition.not_equals().iter().cloned().collect(),
                    not_starts_with: condition.not_starts_with().iter().cloned().collect(),
                    not_ends_with: condition.not_ends_with().iter().cloned().collect(),
                })
                .collect(),
        })
        .collect();
    Ok(TrailEventSelectors {
        event_selectors,
        advanced_event_selectors,
    })
}

/// Writes a trail's selectors: the advanced ones when there are any, else the basic ones. CloudTrail has no
/// "no selectors" state: an empty state (its default) is written as the selector the default means, every
/// management event, read and write.
async fn write_selectors(
    clients: &AwsClients,
    resource: &ResourceRef,
    selectors: &TrailEventSelectors,
) -> Result<()> {
    let invalid = |error: aws_sdk_cloudtrail::error::BuildError| ProviderError::Snapshot {
        resource: resource.id.clone(),
        reason: error.to_string(),
    };
    let request = clients
        .cloudtrail
        .put_event_selectors()
        .trail_name(&resource.name);
    let request = if selectors.advanced_event_selectors.is_empty() {
        let basic: Vec<SdkEventSelector> = if selectors.event_selectors.is_empty() {
            vec![
                SdkEventSelector::builder()
                    .read_write_type(ReadWriteType::All)
                    .include_management_events(true)
                    .build(),
            ]
        } else {
            selectors
                .event_selectors
                .iter()
                .map(|selector| {
                    SdkEventSelector::builder()
                        .read_write_type(ReadWriteType::from(selector.read_write_type.as_str()))
                        .include_management_events(selector.include_management_events)
                        .set_data_resources(Some(
                            selector
                                .data_resources
                                .iter()
                                .map(|resource| {
                                    SdkDataResource::builder()
                                        .r#type(&resource.resource_type)
                                        .set_values(Some(resource.values.iter().cloned().collect()))
                                        .build()
                                })
                                .collect(),
                        ))
                        .set_exclude_management_event_sources(Some(
                            selector
                                .exclude_management_event_sources
                                .iter()
                                .cloned()
                                .collect(),
                        ))
                        .build()
                })
                .collect()
        };
        request.set_event_selectors(Some(basic))
    } else {
        let mut advanced = Vec::with_capacity(selectors.advanced_event_selectors.len());
        for selector in &selectors.advanced_event_selectors {
            let mut conditions = Vec::with_capacity(selector.field_selectors.len());
            for condition in &selector.field_selectors {
                let list = |values: &std::collections::BTreeSet<String>| {
                    (!values.is_empty()).then(|| values.iter().cloned().collect())
                };
                conditions.push(
                    cloudtrail_types::AdvancedFieldSelector::builder()
                        .field(&condition.field)
                        .set_equals(list(&condition.equals))
                        .set_starts_with(list(&condition.starts_with))
                        .set_ends_with(list(&condition.ends_with))
                        .set_not_equals(list(&condition.not_equals))
                        .set_not_starts_with(list(&condition.not_starts_with))
                        .set_not_ends_with(list(&condition.not_ends_with))
                        .build()
                        .map_err(invalid)?,
                );
            }
            advanced.push(
                cloudtrail_types::AdvancedEventSelector::builder()
                    .set_name(selector.name.clone())
                    .set_field_selectors(Some(conditions))
                    .build()
                    .map_err(invalid)?,
            );
        }
        request.set_advanced_event_selectors(Some(advanced))
    };
    request
        .send()
        .await
        .map_err(|error| sdk_error("PutEventSelectors", &resource.id, error))?;
    Ok(())
}

/// `aws.cloudtrail.trail-management-events-dropped`: management events dropped from the selectors.
/// PutEventSelectors takes the selectors whole: the revert writes the target, the selectors just read with
/// the fault's change undone (selectors others changed meanwhile kept).
pub(crate) struct EventSelectorsDriver;

#[async_trait]
impl StateDriver<AwsClients> for EventSelectorsDriver {
    type Fault = model::TrailManagementEventsDropped;

    async fn read(
        &self,
        clients: &AwsClients,
        resource: &ResourceRef,
    ) -> Result<TrailEventSelectors> {
        read_selectors(clients, resource).await
    }

    async fn inject(
        &self,
        clients: &AwsClients,
        resource: &ResourceRef,
        before: &TrailEventSelectors,
    ) -> Result<()> {
        write_selectors(clients, resource, &before.without_management_events()).await
    }

    async fn revert(
        &self,
        clients: &AwsClients,
        resource: &ResourceRef,
        _current: &Versioned<TrailEventSelectors>,
        target: &TrailEventSelectors,
    ) -> Result<()> {
        write_selectors(clients, resource, target).await
    }
}
