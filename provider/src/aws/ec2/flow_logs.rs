//! VPCs: discovery, and the fault that deletes a VPC's flow logs.
//!
//! A VPC is addressed by its id (`ResourceRef::name`, `vpc-...`); its ARN is the resource id, its tags are the
//! VPC's own (read like every EC2 resource's, with DescribeTags). The revert re-creates each deleted flow log
//! with its settings; it gets a new id, which the state leaves out ([`crate::model::ec2_flow_logs`]).

use async_trait::async_trait;
use aws_sdk_ec2::types::{
    DestinationFileFormat, DestinationOptionsRequest, Filter, FlowLogsResourceType,
    LogDestinationType, ResourceType, Tag, TagSpecification, TrafficType,
};
use rdfi_proto::v1::ResourceRef;

use super::super::{AwsClients, sdk_error};
use super::ec2_ref;
use crate::model::ec2_flow_logs::{self as model, FlowLog, S3DeliveryOptions, VpcFlowLogs};
use crate::{FaultDriver, ProviderError, Result, StateDriver, Versioned};

/// The resource type of VPCs.
pub const VPC: &str = "aws.ec2.vpc";

pub(crate) fn drivers() -> Vec<Box<dyn FaultDriver<AwsClients>>> {
    vec![Box::new(FlowLogsDriver)]
}

/// Every VPC of the configured region (all pages), with its tags.
pub(crate) async fn discover(clients: &AwsClients) -> Result<Vec<ResourceRef>> {
    let mut pages = clients.ec2.describe_vpcs().into_paginator().send();
    let mut found = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|error| sdk_error("DescribeVpcs", "region", error))?;
        for vpc in page.vpcs() {
            let Some(vpc_id) = vpc.vpc_id() else {
                continue;
            };
            let arn = format!(
                "arn:aws:ec2:{}:{}:vpc/{vpc_id}",
                clients.region,
                vpc.owner_id().unwrap_or_default()
            );
            found.push(ec2_ref(clients, VPC, arn, vpc_id, vpc.tags()));
        }
    }
    Ok(found)
}

/// The VPC's flow logs, each with its id and its settings (all pages).
async fn flow_logs(clients: &AwsClients, resource: &ResourceRef) -> Result<Vec<(String, FlowLog)>> {
    let mut pages = clients
        .ec2
        .describe_flow_logs()
        .filter(
            Filter::builder()
                .name("resource-id")
                .values(&resource.name)
                .build(),
        )
        .into_paginator()
        .send();
    let mut found = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|error| sdk_error("DescribeFlowLogs", &resource.id, error))?;
        for flow_log in page.flow_logs() {
            let Some(id) = flow_log.flow_log_id() else {
                continue;
            };
            let settings = FlowLog {
                traffic_type: flow_log
                    .traffic_type()
                    .map(|kind| kind.as_str().to_owned())
                    .unwrap_or_default(),
                destination_type: flow_log
                    .log_destination_type()
                    .map(|kind| kind.as_str().to_owned())
                    .unwrap_or_default(),
                destination: flow_log.log_destination().map(str::to_owned),
                log_group_name: flow_log.log_group_name().map(str::to_owned),
                log_format: flow_log.log_format().unwrap_or_default().to_owned(),
                max_aggregation_interval: flow_log.max_aggregation_interval().unwrap_or(600),
                deliver_logs_permission_arn: flow_log
                    .deliver_logs_permission_arn()
                    .map(str::to_owned),
                deliver_cross_account_role: flow_log
                    .deliver_cross_account_role()
                    .map(str::to_owned),
                s3_options: flow_log
                    .destination_options()
                    .map(|options| S3DeliveryOptions {
                        file_format: options
                            .file_format()
                            .map(|format| format.as_str().to_owned())
                            .unwrap_or_default(),
                        hive_compatible_partitions: options
                            .hive_compatible_partitions()
                            .unwrap_or(false),
                        per_hour_partition: options.per_hour_partition().unwrap_or(false),
                    }),
                tags: flow_log
                    .tags()
                    .iter()
                    .filter_map(|tag| Some((tag.key()?.to_owned(), tag.value()?.to_owned())))
                    .collect(),
            };
            found.push((id.to_owned(), settings));
        }
    }
    Ok(found)
}

/// Creates one flow log of the VPC with these settings (under a new id). CreateFlowLogs answers a refusal of
/// one resource in `Unsuccessful`, not as an error: that is turned into one.
async fn create_flow_log(
    clients: &AwsClients,
    resource: &ResourceRef,
    flow_log: &FlowLog,
) -> Result<()> {
    let tags = (!flow_log.tags.is_empty()).then(|| {
        TagSpecification::builder()
            .resource_type(ResourceType::VpcFlowLog)
            .set_tags(Some(
                flow_log
                    .tags
                    .iter()
                    .map(|(key, value)| Tag::builder().key(key).value(value).build())
                    .collect(),
            ))
            .build()
    });
    // CreateFlowLogs takes the destination either as an ARN or, for CloudWatch Logs, as a log group name.
    let (destination, log_group_name) = match &flow_log.destination {
        Some(destination) => (Some(destination.clone()), None),
        None => (None, flow_log.log_group_name.clone()),
    };
    let answer = clients
        .ec2
        .create_flow_logs()
        .resource_type(FlowLogsResourceType::Vpc)
        .resource_ids(&resource.name)
        .traffic_type(TrafficType::from(flow_log.traffic_type.as_str()))
        .log_destination_type(LogDestinationType::from(flow_log.destination_type.as_str()))
        .set_log_destination(destination)
        .set_log_group_name(log_group_name)
        .log_format(&flow_log.log_format)
        .max_aggregation_interval(flow_log.max_aggregation_interval)
        .set_deliver_logs_permission_arn(flow_log.deliver_logs_permission_arn.clone())
        .set_deliver_cross_account_role(flow_log.deliver_cross_account_role.clone())
        .set_destination_options(flow_log.s3_options.as_ref().map(|options| {
            DestinationOptionsRequest::builder()
                .file_format(DestinationFileFormat::from(options.file_format.as_str()))
                .hive_compatible_partitions(options.hive_compatible_partitions)
                .per_hour_partition(options.per_hour_partition)
                .build()
        }))
        .set_tag_specifications(tags.map(|tags| vec![tags]))
        .send()
        .await
        .map_err(|error| sdk_error("CreateFlowLogs", &resource.id, error))?;
    match answer.unsuccessful().first().and_then(|item| item.error()) {
        None => Ok(()),
        Some(error) => Err(ProviderError::Api {
            operation: "CreateFlowLogs".to_owned(),
            resource: resource.id.clone(),
            reason: format!(
                "{}: {}",
                error.code().unwrap_or("Unsuccessful"),
                error.message().unwrap_or_default()
            ),
            retryable: false,
            throttled: false,
        }),
    }
}

/// `aws.ec2.vpc-flow-logs-deleted`: DeleteFlowLogs of the flow logs the snapshot holds (one created after it
/// is left alone); the revert creates each flow log of the target that the VPC lacks, so flow logs created
/// meanwhile stay and none is made twice.
pub(crate) struct FlowLogsDriver;

#[async_trait]
impl StateDriver<AwsClients> for FlowLogsDriver {
    type Fault = model::VpcFlowLogsDeleted;

    async fn read(&self, clients: &AwsClients, resource: &ResourceRef) -> Result<VpcFlowLogs> {
        Ok(VpcFlowLogs {
            flow_logs: flow_logs(clients, resource)
                .await?
                .into_iter()
                .map(|(_, flow_log)| flow_log)
                .collect(),
        })
    }

    async fn inject(
        &self,
        clients: &AwsClients,
        resource: &ResourceRef,
        before: &VpcFlowLogs,
    ) -> Result<()> {
        let ids: Vec<String> = flow_logs(clients, resource)
            .await?
            .into_iter()
            .filter(|(_, flow_log)| before.flow_logs.contains(flow_log))
            .map(|(id, _)| id)
            .collect();
        if ids.is_empty() {
            return Ok(());
        }
        let answer = clients
            .ec2
            .delete_flow_logs()
            .set_flow_log_ids(Some(ids))
            .send()
            .await
            .map_err(|error| sdk_error("DeleteFlowLogs", &resource.id, error))?;
        match answer.unsuccessful().first() {
            None => Ok(()),
            Some(item) => Err(ProviderError::Api {
                operation: "DeleteFlowLogs".to_owned(),
                resource: resource.id.clone(),
                reason: format!(
                    "{} not deleted: {}",
                    item.resource_id().unwrap_or_default(),
                    item.error()
                        .and_then(|error| error.message())
                        .unwrap_or_default()
                ),
                retryable: false,
                throttled: false,
            }),
        }
    }

    async fn revert(
        &self,
        clients: &AwsClients,
        resource: &ResourceRef,
        current: &Versioned<VpcFlowLogs>,
        target: &VpcFlowLogs,
    ) -> Result<()> {
        for flow_log in target.flow_logs.difference(&current.state.flow_logs) {
            create_flow_log(clients, resource, flow_log).await?;
        }
        Ok(())
    }
}
