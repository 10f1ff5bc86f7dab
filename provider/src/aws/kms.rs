//! KMS customer managed keys: discovery, tags, and the rotation, key policy and grant faults.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_kms::types::{GrantOperation, KeyManagerType, KeyState};
use rdfi_proto::v1::ResourceRef;

use super::iam::decode_policy_document;
use super::resource_policy::{PolicyDriver, PolicyStore};
use super::switch::{AwsSwitch, SwitchDriver};
use super::{AwsClients, sdk_error};
use crate::model::FaultState;
use crate::model::kms::{self as model, KeyGrant, KeyGrants, KeyPolicy, KeyRotation};
use crate::{FaultDriver, ProviderError, Result, StateDriver, Versioned};

/// The resource type of KMS keys.
const KEY: &str = "aws.kms.key";

/// KMS keys have one key policy, always named `default`.
const DEFAULT_POLICY: &str = "default";

pub(crate) const RESOURCE_TYPES: &[&str] = &[KEY];

pub(crate) fn drivers() -> Vec<Box<dyn FaultDriver<AwsClients>>> {
    vec![
        Box::new(RotationDriver),
        PolicyDriver::<model::KeyPolicyPublic, KeyPolicyStore>::boxed(),
        Box::new(GrantDriver),
        Box::new(SwitchDriver::<model::KeyEnabled>::new()),
        Box::new(SwitchDriver::<model::KeyNotPendingDeletion>::new()),
    ]
}

/// Every customer managed key of the configured region (all pages), with its tags; AWS managed keys are
/// not the account's to change.
pub(crate) async fn discover(
    clients: &AwsClients,
    _resource_type: &str,
) -> Result<Vec<ResourceRef>> {
    let mut pages = clients.kms.list_keys().into_paginator().send();
    let mut keys = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|error| sdk_error("ListKeys", "account", error))?;
        for entry in page.keys() {
            let Some(key_id) = entry.key_id() else {
                continue;
            };
            let described = clients
                .kms
                .describe_key()
                .key_id(key_id)
                .send()
                .await
                .map_err(|error| sdk_error("DescribeKey", key_id, error))?;
            let Some(metadata) = described.key_metadata() else {
                continue;
            };
            if metadata.key_manager() != Some(&KeyManagerType::Customer) {
                continue;
            }
            let arn = metadata.arn().or(entry.key_arn()).unwrap_or(key_id);
            keys.push(ResourceRef {
                exposure: String::new(),
                provider: "aws".to_owned(),
                resource_type: KEY.to_owned(),
                id: arn.to_owned(),
                name: key_id.to_owned(),
                region: clients.region.clone(),
                tags: key_tags(clients, key_id).await?.into_iter().collect(),
            });
        }
    }
    Ok(keys)
}

pub(crate) async fn tags(
    clients: &AwsClients,
    resource: &ResourceRef,
) -> Result<BTreeMap<String, String>> {
    key_tags(clients, &resource.name).await
}

async fn key_tags(clients: &AwsClients, key_id: &str) -> Result<BTreeMap<String, String>> {
    let mut pages = clients
        .kms
        .list_resource_tags()
        .key_id(key_id)
        .into_paginator()
        .send();
    let mut tags = BTreeMap::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|error| sdk_error("ListResourceTags", key_id, error))?;
        for tag in page.tags() {
            tags.insert(tag.tag_key().to_owned(), tag.tag_value().to_owned());
        }
    }
    Ok(tags)
}

async fn key_rotation(clients: &AwsClients, resource: &ResourceRef) -> Result<KeyRotation> {
    let status = clients
        .kms
        .get_key_rotation_status()
        .key_id(&resource.name)
        .send()
        .await
        .map_err(|error| sdk_error("GetKeyRotationStatus", &resource.id, error))?;
    Ok(KeyRotation {
        rotation_enabled: status.key_rotation_enabled(),
        rotation_period_in_days: status.rotation_period_in_days(),
    })
}

/// `aws.kms.key-rotation-disabled`: DisableKeyRotation; the revert enables rotation again with the target's
/// period (the snapshot's, unless someone changed it meanwhile).
pub(crate) struct RotationDriver;

#[async_trait]
impl StateDriver<AwsClients> for RotationDriver {
    type Fault = model::KeyRotationDisabled;

    async fn read(&self, clients: &AwsClients, resource: &ResourceRef) -> Result<KeyRotation> {
        key_rotation(clients, resource).await
    }

    async fn inject(
        &self,
        clients: &AwsClients,
        resource: &ResourceRef,
        _before: &KeyRotation,
    ) -> Result<()> {
        clients
            .kms
            .disable_key_rotation()
            .key_id(&resource.name)
            .send()
            .await
            .map_err(|error| sdk_error("DisableKeyRotation", &resource.id, error))?;
        Ok(())
    }

    async fn revert(
        &self,
        clients: &AwsClients,
        resource: &ResourceRef,
        _current: &Versioned<KeyRotation>,
        target: &KeyRotation,
    ) -> Result<()> {
        if !target.rotation_enabled {
            clients
                .kms
                .disable_key_rotation()
                .key_id(&resource.name)
                .send()
                .await
                .map_err(|error| sdk_error("DisableKeyRotation", &resource.id, error))?;
            return Ok(());
        }
        clients
            .kms
            .enable_key_rotation()
            .key_id(&resource.name)
            .set_rotation_period_in_days(target.rotation_period_in_days)
            .send()
            .await
            .map_err(|error| sdk_error("EnableKeyRotation", &resource.id, error))?;
        Ok(())
    }
}

/// A key's `default` key policy: read with GetKeyPolicy, written whole with PutKeyPolicy (a key always has
/// one).
pub(crate) struct KeyPolicyStore;

#[async_trait]
impl PolicyStore for KeyPolicyStore {
    type State = KeyPolicy;

    async fn read(clients: &AwsClients, resource: &ResourceRef) -> Result<KeyPolicy> {
        let output = clients
            .kms
            .get_key_policy()
            .key_id(&resource.name)
            .policy_name(DEFAULT_POLICY)
            .send()
            .await
            .map_err(|error| sdk_error("GetKeyPolicy", &resource.id, error))?;
        Ok(KeyPolicy {
            document: decode_policy_document(&resource.id, output.policy().unwrap_or_default())?,
        })
    }

    async fn write(clients: &AwsClients, resource: &ResourceRef, policy: &KeyPolicy) -> Result<()> {
        clients
            .kms
            .put_key_policy()
            .key_id(&resource.name)
            .policy_name(DEFAULT_POLICY)
            .policy(policy.document.to_string())
            .send()
            .await
            .map_err(|error| sdk_error("PutKeyPolicy", &resource.id, error))?;
        Ok(())
    }
}

/// The key's grants with their ids (ListGrants, all pages), canonical.
async fn grants_with_ids(
    clients: &AwsClients,
    resource: &ResourceRef,
) -> Result<Vec<(String, KeyGrant)>> {
    let mut pages = clients
        .kms
        .list_grants()
        .key_id(&resource.name)
        .into_paginator()
        .send();
    let mut grants = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|error| sdk_error("ListGrants", &resource.id, error))?;
        for entry in page.grants() {
            let grant = KeyGrant {
                name: entry.name().unwrap_or_default().to_owned(),
                grantee_principal: entry.grantee_principal().unwrap_or_default().to_owned(),
                operations: entry
                    .operations()
                    .iter()
                    .map(|operation| operation.as_str().to_owned())
                    .collect(),
                retiring_principal: entry.retiring_principal().map(str::to_owned),
            };
            grants.push((
                entry.grant_id().unwrap_or_default().to_owned(),
                grant.canonical(),
            ));
        }
    }
    Ok(grants)
}

/// `aws.kms.key-grant-external-account`: CreateGrant of the fault's grant. KMS adds and revokes grants one by
/// one, by an id it makes up: the revert revokes the grants the current state holds beyond the target (the
/// fault's own, found again by their fields), so grants made meanwhile stay.
pub(crate) struct GrantDriver;

#[async_trait]
impl StateDriver<AwsClients> for GrantDriver {
    type Fault = model::KeyGrantExternalAccount;

    async fn read(&self, clients: &AwsClients, resource: &ResourceRef) -> Result<KeyGrants> {
        let grants = grants_with_ids(clients, resource).await?;
        Ok(KeyGrants {
            grants: grants.into_iter().map(|(_, grant)| grant).collect(),
        }
        .canonical())
    }

    async fn inject(
        &self,
        clients: &AwsClients,
        resource: &ResourceRef,
        _before: &KeyGrants,
    ) -> Result<()> {
        let grant = model::KeyGrantExternalAccount::grant();
        clients
            .kms
            .create_grant()
            .key_id(&resource.name)
            .name(&grant.name)
            .grantee_principal(&grant.grantee_principal)
            .set_operations(Some(
                grant
                    .operations
                    .iter()
                    .map(|operation| GrantOperation::from(operation.as_str()))
                    .collect(),
            ))
            .send()
            .await
            .map_err(|error| sdk_error("CreateGrant", &resource.id, error))?;
        Ok(())
    }

    async fn revert(
        &self,
        clients: &AwsClients,
        resource: &ResourceRef,
        current: &Versioned<KeyGrants>,
        target: &KeyGrants,
    ) -> Result<()> {
        // Revoke exactly the grants the current state holds beyond the target (the fault's own), found again
        // by their fields: a grant created since the state was read is not among them.
        let mut missing = target.grants.clone();
        let mut unwanted = Vec::new();
        for grant in &current.state.grants {
            match missing.iter().position(|wanted| wanted == grant) {
                Some(position) => {
                    missing.swap_remove(position);
                }
                None => unwanted.push(grant.clone()),
            }
        }
        if !missing.is_empty() {
            // The fault only adds a grant, so its revert only revokes: a grant the target holds and the key
            // does not is someone else's, which rdfi cannot create for them.
            return Err(ProviderError::Api {
                operation: "RevokeGrant".to_owned(),
                resource: resource.id.clone(),
                reason: format!(
                    "the revert would need {} grant(s) the key no longer has; rdfi only revokes its own",
                    missing.len()
                ),
                retryable: false,
                throttled: false,
            });
        }
        let mut revoked = Vec::new();
        for (grant_id, grant) in grants_with_ids(clients, resource).await? {
            if let Some(position) = unwanted.iter().position(|extra| *extra == grant) {
                unwanted.swap_remove(position);
                revoked.push(grant_id);
            }
        }
        for grant_id in revoked {
            clients
                .kms
                .revoke_grant()
                .key_id(&resource.name)
                .grant_id(&grant_id)
                .send()
                .await
                .map_err(|error| sdk_error("RevokeGrant", &resource.id, error))?;
        }
        Ok(())
    }
}

/// `aws.kms.key-disabled`: DisableKey, and EnableKey to revert. A key in any state but Enabled or Disabled
/// (pending deletion or import, unavailable) reads as off, so the fault is not injected into it.
impl AwsSwitch for model::KeyEnabled {
    async fn is_on(clients: &AwsClients, resource: &ResourceRef) -> Result<bool> {
        key_enabled(clients, resource).await
    }

    async fn switch(clients: &AwsClients, resource: &ResourceRef, on: bool) -> Result<()> {
        if on {
            clients
                .kms
                .enable_key()
                .key_id(&resource.name)
                .send()
                .await
                .map_err(|error| sdk_error("EnableKey", &resource.id, error))?;
        } else {
            clients
                .kms
                .disable_key()
                .key_id(&resource.name)
                .send()
                .await
                .map_err(|error| sdk_error("DisableKey", &resource.id, error))?;
        }
        Ok(())
    }
}

/// Whether the key's state is Enabled (DescribeKey).
async fn key_enabled(clients: &AwsClients, resource: &ResourceRef) -> Result<bool> {
    let described = clients
        .kms
        .describe_key()
        .key_id(&resource.name)
        .send()
        .await
        .map_err(|error| sdk_error("DescribeKey", &resource.id, error))?;
    Ok(described
        .key_metadata()
        .and_then(|metadata| metadata.key_state())
        == Some(&KeyState::Enabled))
}

/// The shortest waiting period KMS allows before it deletes a key.
const DELETION_WINDOW_DAYS: i32 = 7;

/// `aws.kms.key-scheduled-for-deletion`: ScheduleKeyDeletion with the shortest waiting period; the revert
/// cancels it (which leaves the key disabled) and enables the key.
impl AwsSwitch for model::KeyNotPendingDeletion {
    async fn is_on(clients: &AwsClients, resource: &ResourceRef) -> Result<bool> {
        key_enabled(clients, resource).await
    }

    async fn switch(clients: &AwsClients, resource: &ResourceRef, on: bool) -> Result<()> {
        if !on {
            clients
                .kms
                .schedule_key_deletion()
                .key_id(&resource.name)
                .pending_window_in_days(DELETION_WINDOW_DAYS)
                .send()
                .await
                .map_err(|error| sdk_error("ScheduleKeyDeletion", &resource.id, error))?;
            return Ok(());
        }
        let pending = clients
            .kms
            .describe_key()
            .key_id(&resource.name)
            .send()
            .await
            .map_err(|error| sdk_error("DescribeKey", &resource.id, error))?
            .key_metadata()
            .and_then(|metadata| metadata.key_state())
            == Some(&KeyState::PendingDeletion);
        if pending {
            clients
                .kms
                .cancel_key_deletion()
                .key_id(&resource.name)
                .send()
                .await
                .map_err(|error| sdk_error("CancelKeyDeletion", &resource.id, error))?;
        }
        model::KeyEnabled::switch(clients, resource, true).await
    }
}
