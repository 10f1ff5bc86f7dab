//! EC2 instances and subnets: discovery, and the faults on how an instance's metadata service answers and on
//! whether a subnet gives instances public addresses. Tags are read as for every EC2 resource
//! ([`super::ec2::tags`]).

use async_trait::async_trait;
use aws_sdk_ec2::types::{
    HttpTokensState, InstanceMetadataEndpointState, InstanceMetadataTagsState, InstanceStateName,
};
use rdfi_proto::v1::ResourceRef;

use super::ec2::ec2_ref;
use super::switch::{AwsSwitch, SwitchDriver};
use super::{AwsClients, sdk_error};
use crate::model::FaultSemantics;
use crate::model::ec2::{self as model, MetadataOptions, SubnetPrivateOnLaunch};
use crate::{FaultDriver, ProviderError, Result, StateDriver, Versioned};

pub const INSTANCE: &str = "aws.ec2.instance";
pub const SUBNET: &str = "aws.ec2.subnet";

pub(crate) const RESOURCE_TYPES: &[&str] = &[INSTANCE, SUBNET];

pub(crate) fn drivers() -> Vec<Box<dyn FaultDriver<AwsClients>>> {
    vec![
        Box::new(MetadataOptionsDriver),
        Box::new(SwitchDriver::<SubnetPrivateOnLaunch>::new()),
    ]
}

/// Every instance of the region that is not terminated or terminating, or every subnet, with its tags.
pub(crate) async fn discover(
    clients: &AwsClients,
    resource_type: &str,
) -> Result<Vec<ResourceRef>> {
    let mut found = Vec::new();
    if resource_type == INSTANCE {
        let mut pages = clients.ec2.describe_instances().into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|error| sdk_error("DescribeInstances", "region", error))?;
            for reservation in page.reservations() {
                let owner = reservation.owner_id().unwrap_or_default();
                for instance in reservation.instances() {
                    let gone =
                        instance
                            .state()
                            .and_then(|state| state.name())
                            .is_some_and(|name| {
                                matches!(
                                    name,
                                    InstanceStateName::Terminated | InstanceStateName::ShuttingDown
                                )
                            });
                    let Some(instance_id) = instance.instance_id().filter(|_| !gone) else {
                        continue;
                    };
                    let arn = format!(
                        "arn:aws:ec2:{}:{owner}:instance/{instance_id}",
                        clients.region
                    );
                    found.push(ec2_ref(
                        clients,
                        INSTANCE,
                        arn,
                        instance_id,
                        instance.tags(),
                    ));
                }
            }
        }
    } else {
        let mut pages = clients.ec2.describe_subnets().into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|error| sdk_error("DescribeSubnets", "region", error))?;
            for subnet in page.subnets() {
                let Some(subnet_id) = subnet.subnet_id() else {
                    continue;
                };
                let arn = subnet.subnet_arn().map_or_else(
                    || {
                        format!(
                            "arn:aws:ec2:{}:{}:subnet/{subnet_id}",
                            clients.region,
                            subnet.owner_id().unwrap_or_default()
                        )
                    },
                    str::to_owned,
                );
                found.push(ec2_ref(clients, SUBNET, arn, subnet_id, subnet.tags()));
            }
        }
    }
    Ok(found)
}

/// The instance's metadata options, as DescribeInstances answers them.
async fn metadata_options(clients: &AwsClients, resource: &ResourceRef) -> Result<MetadataOptions> {
    let answer = clients
        .ec2
        .describe_instances()
        .instance_ids(&resource.name)
        .send()
        .await
        .map_err(|error| sdk_error("DescribeInstances", &resource.id, error))?;
    let options = answer
        .reservations()
        .iter()
        .flat_map(|reservation| reservation.instances())
        .find(|instance| instance.instance_id() == Some(resource.name.as_str()))
        .and_then(|instance| instance.metadata_options())
        .ok_or_else(|| ProviderError::Api {
            operation: "DescribeInstances".to_owned(),
            resource: resource.id.clone(),
            reason: "the answer holds no metadata options for the instance".to_owned(),
            retryable: false,
            throttled: false,
        })?;
    Ok(MetadataOptions {
        http_tokens: options
            .http_tokens()
            .map_or("optional", HttpTokensState::as_str)
            .to_owned(),
        http_endpoint: options
            .http_endpoint()
            .map_or("enabled", InstanceMetadataEndpointState::as_str)
            .to_owned(),
        http_put_response_hop_limit: options.http_put_response_hop_limit().unwrap_or(1),
        instance_metadata_tags: options
            .instance_metadata_tags()
            .map_or("disabled", InstanceMetadataTagsState::as_str)
            .to_owned(),
    })
}

/// ModifyInstanceMetadataOptions with every option of `options`.
async fn write_metadata_options(
    clients: &AwsClients,
    resource: &ResourceRef,
    options: &MetadataOptions,
) -> Result<()> {
    clients
        .ec2
        .modify_instance_metadata_options()
        .instance_id(&resource.name)
        .http_tokens(HttpTokensState::from(options.http_tokens.as_str()))
        .http_endpoint(InstanceMetadataEndpointState::from(
            options.http_endpoint.as_str(),
        ))
        .http_put_response_hop_limit(options.http_put_response_hop_limit)
        .instance_metadata_tags(InstanceMetadataTagsState::from(
            options.instance_metadata_tags.as_str(),
        ))
        .send()
        .await
        .map_err(|error| sdk_error("ModifyInstanceMetadataOptions", &resource.id, error))?;
    Ok(())
}

/// `aws.ec2.instance-imdsv1-enabled`: session tokens made optional; the revert writes the target's options,
/// the ones just read with the fault's change undone, so a hop limit or tag access changed meanwhile stays.
pub(crate) struct MetadataOptionsDriver;

#[async_trait]
impl StateDriver<AwsClients> for MetadataOptionsDriver {
    type Fault = model::InstanceImdsv1Enabled;

    async fn read(&self, clients: &AwsClients, resource: &ResourceRef) -> Result<MetadataOptions> {
        metadata_options(clients, resource).await
    }

    async fn inject(
        &self,
        clients: &AwsClients,
        resource: &ResourceRef,
        before: &MetadataOptions,
    ) -> Result<()> {
        write_metadata_options(clients, resource, &Self::Fault::inject(before)).await
    }

    async fn revert(
        &self,
        clients: &AwsClients,
        resource: &ResourceRef,
        _current: &Versioned<MetadataOptions>,
        target: &MetadataOptions,
    ) -> Result<()> {
        write_metadata_options(clients, resource, target).await
    }
}

/// `aws.ec2.subnet-public-ip-on-launch-enabled`: the protection is on while MapPublicIpOnLaunch is false.
impl AwsSwitch for SubnetPrivateOnLaunch {
    async fn is_on(clients: &AwsClients, resource: &ResourceRef) -> Result<bool> {
        let answer = clients
            .ec2
            .describe_subnets()
            .subnet_ids(&resource.name)
            .send()
            .await
            .map_err(|error| sdk_error("DescribeSubnets", &resource.id, error))?;
        let subnet = answer
            .subnets()
            .iter()
            .find(|subnet| subnet.subnet_id() == Some(resource.name.as_str()))
            .ok_or_else(|| ProviderError::Api {
                operation: "DescribeSubnets".to_owned(),
                resource: resource.id.clone(),
                reason: "the answer does not hold the subnet".to_owned(),
                retryable: false,
                throttled: false,
            })?;
        Ok(!subnet.map_public_ip_on_launch().unwrap_or(false))
    }

    async fn switch(clients: &AwsClients, resource: &ResourceRef, on: bool) -> Result<()> {
        clients
            .ec2
            .modify_subnet_attribute()
            .subnet_id(&resource.name)
            .map_public_ip_on_launch(
                aws_sdk_ec2::types::AttributeBooleanValue::builder()
                    .value(!on)
                    .build(),
            )
            .send()
            .await
            .map_err(|error| sdk_error("ModifySubnetAttribute", &resource.id, error))?;
        Ok(())
    }
}
