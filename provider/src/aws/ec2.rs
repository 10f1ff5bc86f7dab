//! EC2: security groups, EBS snapshots, AMIs — discovery, tags, and the faults that open security groups to the
//! internet and make snapshots and images public. VPCs and their flow logs are in [`flow_logs`].
//!
//! Every change is a delta: the security group drivers authorize and revoke single rules
//! (AuthorizeSecurityGroupIngress / RevokeSecurityGroupIngress), the sharing drivers add and remove the group
//! `all` alone, so that a revert leaves everything else that changed meanwhile as it is.

use std::collections::BTreeMap;
use std::marker::PhantomData;

use async_trait::async_trait;
use aws_sdk_ec2::types::{
    Filter, ImageAttributeName, IpPermission, IpRange, Ipv6Range, LaunchPermission,
    LaunchPermissionModifications, OperationType, PermissionGroup, PrefixListId,
    SnapshotAttributeName, Tag, UserIdGroupPair,
};
use rdfi_proto::v1::ResourceRef;

use super::{AwsClients, sdk_error};
use crate::model::FaultSemantics;
use crate::model::ec2::{
    self as model, IngressRule, PUBLIC_GROUP, RuleSource, SecurityGroupIngress,
    SecurityGroupOpenToWorld, SharePermissions, WorldExposure,
};
use crate::{FaultDriver, ProviderError, Result, StateDriver, Versioned};

mod flow_logs;

pub const SECURITY_GROUP: &str = "aws.ec2.security-group";
pub const SNAPSHOT: &str = "aws.ec2.snapshot";
pub const IMAGE: &str = "aws.ec2.image";

pub(crate) const RESOURCE_TYPES: &[&str] = &[SECURITY_GROUP, SNAPSHOT, IMAGE, flow_logs::VPC];

pub(crate) fn drivers() -> Vec<Box<dyn FaultDriver<AwsClients>>> {
    let mut drivers: Vec<Box<dyn FaultDriver<AwsClients>>> = vec![
        Box::new(OpenToWorldDriver::<model::SshFromEverywhere>(PhantomData)),
        Box::new(OpenToWorldDriver::<model::RdpFromEverywhere>(PhantomData)),
        Box::new(OpenToWorldDriver::<model::AllTrafficFromEverywhereIpv4>(
            PhantomData,
        )),
        Box::new(OpenToWorldDriver::<model::AllTrafficFromEverywhereIpv6>(
            PhantomData,
        )),
        Box::new(PublicShareDriver::<model::SnapshotShare>(PhantomData)),
        Box::new(PublicShareDriver::<model::ImageShare>(PhantomData)),
    ];
    drivers.extend(flow_logs::drivers());
    drivers
}

/// The tags of a security group, snapshot, image or VPC (its name is its EC2 id), read fresh.
pub(crate) async fn tags(
    clients: &AwsClients,
    resource: &ResourceRef,
) -> Result<BTreeMap<String, String>> {
    let mut pages = clients
        .ec2
        .describe_tags()
        .filters(
            Filter::builder()
                .name("resource-id")
                .values(&resource.name)
                .build(),
        )
        .into_paginator()
        .send();
    let mut tags = BTreeMap::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|error| sdk_error("DescribeTags", &resource.id, error))?;
        for tag in page.tags() {
            if let (Some(key), Some(value)) = (tag.key(), tag.value()) {
                tags.insert(key.to_owned(), value.to_owned());
            }
        }
    }
    Ok(tags)
}

/// Every security group in the region, or every snapshot or image the account owns, with its tags.
pub(crate) async fn discover(
    clients: &AwsClients,
    resource_type: &str,
) -> Result<Vec<ResourceRef>> {
    let mut found = Vec::new();
    match resource_type {
        SECURITY_GROUP => {
            let mut pages = clients
                .ec2
                .describe_security_groups()
                .into_paginator()
                .send();
            while let Some(page) = pages.next().await {
                let page =
                    page.map_err(|error| sdk_error("DescribeSecurityGroups", "region", error))?;
                for group in page.security_groups() {
                    let Some(group_id) = group.group_id() else {
                        continue;
                    };
                    let arn = format!(
                        "arn:aws:ec2:{}:{}:security-group/{group_id}",
                        clients.region,
                        group.owner_id().unwrap_or_default()
                    );
                    found.push(ec2_ref(
                        clients,
                        SECURITY_GROUP,
                        arn,
                        group_id,
                        group.tags(),
                    ));
                }
            }
        }
        SNAPSHOT => {
            let mut pages = clients
                .ec2
                .describe_snapshots()
                .owner_ids("self")
                .into_paginator()
                .send();
            while let Some(page) = pages.next().await {
                let page = page.map_err(|error| sdk_error("DescribeSnapshots", "region", error))?;
                for snapshot in page.snapshots() {
                    let Some(snapshot_id) = snapshot.snapshot_id() else {
                        continue;
                    };
                    let arn = format!("arn:aws:ec2:{}::snapshot/{snapshot_id}", clients.region);
                    found.push(ec2_ref(
                        clients,
                        SNAPSHOT,
                        arn,
                        snapshot_id,
                        snapshot.tags(),
                    ));
                }
            }
        }
        IMAGE => {
            let mut pages = clients
                .ec2
                .describe_images()
                .owners("self")
                .into_paginator()
                .send();
            while let Some(page) = pages.next().await {
                let page = page.map_err(|error| sdk_error("DescribeImages", "region", error))?;
                for image in page.images() {
                    let Some(image_id) = image.image_id() else {
                        continue;
                    };
                    let arn = format!("arn:aws:ec2:{}::image/{image_id}", clients.region);
                    found.push(ec2_ref(clients, IMAGE, arn, image_id, image.tags()));
                }
            }
        }
        flow_logs::VPC => return flow_logs::discover(clients).await,
        other => {
            return Err(ProviderError::Config(format!(
                "aws ec2 has no resource type {other:?}"
            )));
        }
    }
    Ok(found)
}

/// An EC2 resource as a reference: its ARN as id, its EC2 id (`sg-...`, `snap-...`, `ami-...`) as name.
pub(super) fn ec2_ref(
    clients: &AwsClients,
    resource_type: &str,
    arn: String,
    ec2_id: &str,
    tags: &[Tag],
) -> ResourceRef {
    ResourceRef {
        exposure: String::new(),
        provider: "aws".to_owned(),
        resource_type: resource_type.to_owned(),
        id: arn,
        name: ec2_id.to_owned(),
        region: clients.region.clone(),
        tags: tags
            .iter()
            .filter_map(|tag| Some((tag.key()?.to_owned(), tag.value()?.to_owned())))
            .collect(),
    }
}

/// The group's ingress rules, one per (protocol, ports, source).
async fn read_ingress(
    clients: &AwsClients,
    resource: &ResourceRef,
) -> Result<SecurityGroupIngress> {
    let output = clients
        .ec2
        .describe_security_groups()
        .group_ids(&resource.name)
        .send()
        .await
        .map_err(|error| sdk_error("DescribeSecurityGroups", &resource.id, error))?;
    let group = output
        .security_groups()
        .first()
        .ok_or_else(|| ProviderError::Api {
            operation: "DescribeSecurityGroups".to_owned(),
            resource: resource.id.clone(),
            reason: "no such security group".to_owned(),
            retryable: false,
            throttled: false,
        })?;
    let mut ingress = SecurityGroupIngress::default();
    for permission in group.ip_permissions() {
        let protocol = permission.ip_protocol().unwrap_or(model::ALL_PROTOCOLS);
        let mut add = |source: RuleSource, description: Option<&str>| {
            ingress.rules.insert(IngressRule::new(
                protocol,
                permission.from_port(),
                permission.to_port(),
                source,
                description.map(str::to_owned),
            ));
        };
        for range in permission.ip_ranges() {
            if let Some(cidr) = range.cidr_ip() {
                add(RuleSource::Ipv4(cidr.to_owned()), range.description());
            }
        }
        for range in permission.ipv6_ranges() {
            if let Some(cidr) = range.cidr_ipv6() {
                add(RuleSource::Ipv6(cidr.to_owned()), range.description());
            }
        }
        for pair in permission.user_id_group_pairs() {
            if let Some(group_id) = pair.group_id() {
                add(
                    RuleSource::SecurityGroup(group_id.to_owned()),
                    pair.description(),
                );
            }
        }
        for prefix_list in permission.prefix_list_ids() {
            if let Some(id) = prefix_list.prefix_list_id() {
                add(
                    RuleSource::PrefixList(id.to_owned()),
                    prefix_list.description(),
                );
            }
        }
    }
    Ok(ingress)
}

/// One rule as the IpPermission that authorizes or revokes it.
fn ip_permission(rule: &IngressRule) -> IpPermission {
    let mut permission = IpPermission::builder()
        .ip_protocol(&rule.protocol)
        .set_from_port(rule.from_port)
        .set_to_port(rule.to_port);
    let description = rule.description.clone();
    permission = match &rule.source {
        RuleSource::Ipv4(cidr) => permission.ip_ranges(
            IpRange::builder()
                .cidr_ip(cidr)
                .set_description(description)
                .build(),
        ),
        RuleSource::Ipv6(cidr) => permission.ipv6_ranges(
            Ipv6Range::builder()
                .cidr_ipv6(cidr)
                .set_description(description)
                .build(),
        ),
        RuleSource::SecurityGroup(group_id) => permission.user_id_group_pairs(
            UserIdGroupPair::builder()
                .group_id(group_id)
                .set_description(description)
                .build(),
        ),
        RuleSource::PrefixList(id) => permission.prefix_list_ids(
            PrefixListId::builder()
                .prefix_list_id(id)
                .set_description(description)
                .build(),
        ),
    };
    permission.build()
}

/// Makes the group's ingress go from `current` to `target`: revokes the rules only `current` has, then
/// authorizes the rules only `target` has. Rules in both are not touched.
async fn change_ingress(
    clients: &AwsClients,
    resource: &ResourceRef,
    current: &SecurityGroupIngress,
    target: &SecurityGroupIngress,
) -> Result<()> {
    // AWS identifies a rule to revoke by protocol, ports and source; the description is not part of it.
    let revoked: Vec<_> = current
        .rules_not_in(target)
        .map(|rule| {
            ip_permission(&IngressRule {
                description: None,
                ..rule.clone()
            })
        })
        .collect();
    if !revoked.is_empty() {
        clients
            .ec2
            .revoke_security_group_ingress()
            .group_id(&resource.name)
            .set_ip_permissions(Some(revoked))
            .send()
            .await
            .map_err(|error| sdk_error("RevokeSecurityGroupIngress", &resource.id, error))?;
    }
    let authorized: Vec<_> = target.rules_not_in(current).map(ip_permission).collect();
    if !authorized.is_empty() {
        clients
            .ec2
            .authorize_security_group_ingress()
            .group_id(&resource.name)
            .set_ip_permissions(Some(authorized))
            .send()
            .await
            .map_err(|error| sdk_error("AuthorizeSecurityGroupIngress", &resource.id, error))?;
    }
    Ok(())
}

/// A security group opened to the internet ([`WorldExposure`]): authorizes the fault's rule; the revert
/// revokes and authorizes exactly the difference between the rules just read and the semantics' target (the
/// fault's rule revoked, rules others added kept). A rule's id is AWS's choice, but the rule is known by its
/// protocol, ports and source: an unanswered authorization is resolved by reading the group.
pub(crate) struct OpenToWorldDriver<E>(PhantomData<E>);

#[async_trait]
impl<E: WorldExposure> StateDriver<AwsClients> for OpenToWorldDriver<E> {
    type Fault = SecurityGroupOpenToWorld<E>;

    async fn read(
        &self,
        clients: &AwsClients,
        resource: &ResourceRef,
    ) -> Result<SecurityGroupIngress> {
        read_ingress(clients, resource).await
    }

    async fn inject(
        &self,
        clients: &AwsClients,
        resource: &ResourceRef,
        before: &SecurityGroupIngress,
    ) -> Result<()> {
        change_ingress(clients, resource, before, &Self::Fault::inject(before)).await
    }

    async fn revert(
        &self,
        clients: &AwsClients,
        resource: &ResourceRef,
        current: &Versioned<SecurityGroupIngress>,
        target: &SecurityGroupIngress,
    ) -> Result<()> {
        change_ingress(clients, resource, &current.state, target).await
    }
}

/// Permission lists as EC2 reports them for snapshots and images: (group, user id) pairs.
fn share_permissions<'a>(
    entries: impl Iterator<Item = (Option<&'a PermissionGroup>, Option<&'a str>)>,
) -> SharePermissions {
    let mut permissions = SharePermissions::default();
    for (group, user_id) in entries {
        if let Some(group) = group {
            permissions.groups.insert(group.as_str().to_owned());
        }
        if let Some(user_id) = user_id {
            permissions.user_ids.insert(user_id.to_owned());
        }
    }
    permissions
}

/// A snapshot's or an image's permission, read and changed through its own EC2 calls.
#[async_trait]
trait PublicShare: model::ShareKind {
    async fn read_permissions(
        clients: &AwsClients,
        resource: &ResourceRef,
    ) -> Result<SharePermissions>;

    /// Adds (`add`) or removes the group `all`.
    async fn change_public(clients: &AwsClients, resource: &ResourceRef, add: bool) -> Result<()>;
}

#[async_trait]
impl PublicShare for model::SnapshotShare {
    async fn read_permissions(
        clients: &AwsClients,
        resource: &ResourceRef,
    ) -> Result<SharePermissions> {
        let output = clients
            .ec2
            .describe_snapshot_attribute()
            .snapshot_id(&resource.name)
            .attribute(SnapshotAttributeName::CreateVolumePermission)
            .send()
            .await
            .map_err(|error| sdk_error("DescribeSnapshotAttribute", &resource.id, error))?;
        Ok(share_permissions(
            output
                .create_volume_permissions()
                .iter()
                .map(|permission| (permission.group(), permission.user_id())),
        ))
    }

    /// Changes the snapshot's createVolumePermission through the flat `GroupNames` form of
    /// ModifySnapshotAttribute, which AWS accepts as well as the structured `CreateVolumePermission` form and
    /// which moto honours (moto ignores the structured form).
    async fn change_public(clients: &AwsClients, resource: &ResourceRef, add: bool) -> Result<()> {
        let operation = if add {
            OperationType::Add
        } else {
            OperationType::Remove
        };
        clients
            .ec2
            .modify_snapshot_attribute()
            .snapshot_id(&resource.name)
            .attribute(SnapshotAttributeName::CreateVolumePermission)
            .operation_type(operation)
            .group_names(PUBLIC_GROUP)
            .send()
            .await
            .map_err(|error| sdk_error("ModifySnapshotAttribute", &resource.id, error))?;
        Ok(())
    }
}

#[async_trait]
impl PublicShare for model::ImageShare {
    async fn read_permissions(
        clients: &AwsClients,
        resource: &ResourceRef,
    ) -> Result<SharePermissions> {
        let output = clients
            .ec2
            .describe_image_attribute()
            .image_id(&resource.name)
            .attribute(ImageAttributeName::LaunchPermission)
            .send()
            .await
            .map_err(|error| sdk_error("DescribeImageAttribute", &resource.id, error))?;
        Ok(share_permissions(output.launch_permissions().iter().map(
            |permission| (permission.group(), permission.user_id()),
        )))
    }

    /// Changes the image's launchPermission (the structured `LaunchPermission` form).
    async fn change_public(clients: &AwsClients, resource: &ResourceRef, add: bool) -> Result<()> {
        let public = LaunchPermission::builder()
            .group(PermissionGroup::All)
            .build();
        let modifications = if add {
            LaunchPermissionModifications::builder().add(public)
        } else {
            LaunchPermissionModifications::builder().remove(public)
        };
        clients
            .ec2
            .modify_image_attribute()
            .image_id(&resource.name)
            .launch_permission(modifications.build())
            .send()
            .await
            .map_err(|error| sdk_error("ModifyImageAttribute", &resource.id, error))?;
        Ok(())
    }
}

/// `aws.ec2.snapshot-shared-publicly`, `aws.ec2.image-made-public`: adds the permission for `all`; the revert
/// removes only that (the semantics' target differs from the permissions just read by the group `all` alone),
/// so accounts shared with meanwhile stay.
pub(crate) struct PublicShareDriver<K>(PhantomData<K>);

#[async_trait]
impl<K: PublicShare> StateDriver<AwsClients> for PublicShareDriver<K> {
    type Fault = model::MadePublic<K>;

    async fn read(&self, clients: &AwsClients, resource: &ResourceRef) -> Result<SharePermissions> {
        K::read_permissions(clients, resource).await
    }

    async fn inject(
        &self,
        clients: &AwsClients,
        resource: &ResourceRef,
        _before: &SharePermissions,
    ) -> Result<()> {
        K::change_public(clients, resource, true).await
    }

    async fn revert(
        &self,
        clients: &AwsClients,
        resource: &ResourceRef,
        current: &Versioned<SharePermissions>,
        target: &SharePermissions,
    ) -> Result<()> {
        if current.state.is_public() != target.is_public() {
            K::change_public(clients, resource, target.is_public()).await?;
        }
        Ok(())
    }
}
