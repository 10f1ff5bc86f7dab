//! RDS manual DB snapshots: discovery, tags, and the public sharing fault. A snapshot is identified by its ARN
//! and named by its identifier.

use std::collections::BTreeMap;

use async_trait::async_trait;
use rdfi_proto::v1::ResourceRef;

use super::{AwsClients, sdk_error};
use crate::model::ec2::SharePermissions;
use crate::model::rds as model;
use crate::{FaultDriver, Result, StateDriver, Versioned};

/// The resource type of manual DB snapshots.
const SNAPSHOT: &str = "aws.rds.snapshot";

/// The snapshot attribute listing who may restore it.
const RESTORE: &str = "restore";

/// The value of [`RESTORE`] that makes a snapshot public.
const ALL: &str = "all";

pub(crate) const RESOURCE_TYPES: &[&str] = &[SNAPSHOT];

pub(crate) fn drivers() -> Vec<Box<dyn FaultDriver<AwsClients>>> {
    vec![Box::new(RestoreAttributeDriver)]
}

/// Every manual DB snapshot of the configured region (all pages), with its tags; automated snapshots cannot
/// be shared.
pub(crate) async fn discover(
    clients: &AwsClients,
    _resource_type: &str,
) -> Result<Vec<ResourceRef>> {
    let mut pages = clients
        .rds
        .describe_db_snapshots()
        .snapshot_type("manual")
        .into_paginator()
        .send();
    let mut snapshots = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|error| sdk_error("DescribeDBSnapshots", "account", error))?;
        for snapshot in page.db_snapshots() {
            let (Some(arn), Some(identifier)) = (
                snapshot.db_snapshot_arn(),
                snapshot.db_snapshot_identifier(),
            ) else {
                continue;
            };
            snapshots.push(ResourceRef {
                exposure: String::new(),
                provider: "aws".to_owned(),
                resource_type: SNAPSHOT.to_owned(),
                id: arn.to_owned(),
                name: identifier.to_owned(),
                region: clients.region.clone(),
                tags: snapshot_tags(clients, arn).await?.into_iter().collect(),
            });
        }
    }
    Ok(snapshots)
}

pub(crate) async fn tags(
    clients: &AwsClients,
    resource: &ResourceRef,
) -> Result<BTreeMap<String, String>> {
    snapshot_tags(clients, &resource.id).await
}

async fn snapshot_tags(clients: &AwsClients, arn: &str) -> Result<BTreeMap<String, String>> {
    let output = clients
        .rds
        .list_tags_for_resource()
        .resource_name(arn)
        .send()
        .await
        .map_err(|error| sdk_error("ListTagsForResource", arn, error))?;
    Ok(output
        .tag_list()
        .iter()
        .filter_map(|tag| Some((tag.key()?.to_owned(), tag.value()?.to_owned())))
        .collect())
}

/// `aws.rds.snapshot-shared-publicly`: ModifyDBSnapshotAttribute adding `all` to `restore`. The attribute takes
/// values to add and to remove: the revert sends only the difference between the state read and the target
/// (`all` removed), so accounts shared meanwhile stay.
pub(crate) struct RestoreAttributeDriver;

impl RestoreAttributeDriver {
    async fn modify(
        clients: &AwsClients,
        resource: &ResourceRef,
        add: Vec<String>,
        remove: Vec<String>,
    ) -> Result<()> {
        clients
            .rds
            .modify_db_snapshot_attribute()
            .db_snapshot_identifier(&resource.name)
            .attribute_name(RESTORE)
            .set_values_to_add(Some(add).filter(|values| !values.is_empty()))
            .set_values_to_remove(Some(remove).filter(|values| !values.is_empty()))
            .send()
            .await
            .map_err(|error| sdk_error("ModifyDBSnapshotAttribute", &resource.id, error))?;
        Ok(())
    }
}

/// The `restore` values of a state: `all` for the group, then the account ids.
fn restore_values(permissions: &SharePermissions) -> Vec<String> {
    permissions
        .groups
        .iter()
        .chain(&permissions.user_ids)
        .cloned()
        .collect()
}

#[async_trait]
impl StateDriver<AwsClients> for RestoreAttributeDriver {
    type Fault = model::DbSnapshotSharedPublicly;

    async fn read(&self, clients: &AwsClients, resource: &ResourceRef) -> Result<SharePermissions> {
        let output = clients
            .rds
            .describe_db_snapshot_attributes()
            .db_snapshot_identifier(&resource.name)
            .send()
            .await
            .map_err(|error| sdk_error("DescribeDBSnapshotAttributes", &resource.id, error))?;
        let mut permissions = SharePermissions::default();
        let attributes = output
            .db_snapshot_attributes_result()
            .map(|result| result.db_snapshot_attributes())
            .unwrap_or_default();
        for attribute in attributes
            .iter()
            .filter(|attribute| attribute.attribute_name() == Some(RESTORE))
        {
            for value in attribute.attribute_values() {
                if value == ALL {
                    permissions.groups.insert(value.clone());
                } else {
                    permissions.user_ids.insert(value.clone());
                }
            }
        }
        Ok(permissions)
    }

    async fn inject(
        &self,
        clients: &AwsClients,
        resource: &ResourceRef,
        _before: &SharePermissions,
    ) -> Result<()> {
        Self::modify(clients, resource, vec![ALL.to_owned()], Vec::new()).await
    }

    async fn revert(
        &self,
        clients: &AwsClients,
        resource: &ResourceRef,
        current: &Versioned<SharePermissions>,
        target: &SharePermissions,
    ) -> Result<()> {
        let now = restore_values(&current.state);
        let wanted = restore_values(target);
        let add = wanted
            .iter()
            .filter(|value| !now.contains(value))
            .cloned()
            .collect();
        let remove = now
            .iter()
            .filter(|value| !wanted.contains(value))
            .cloned()
            .collect();
        Self::modify(clients, resource, add, remove).await
    }
}
