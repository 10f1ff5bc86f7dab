//! Service accounts: discovery, the tags of their descriptions, and the `gcp.iam.service-account-key-created`
//! and `gcp.iam.service-account-enabled` faults.

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;
use rdfi_proto::v1::ResourceRef;
use serde_json::Value;

use super::json_api::JsonApiClient;
use super::{description_tags, service_account_ref};
use crate::model::gcp_iam::{
    self as model, FAULT_KEY_MARKER, ServiceAccountKeys, ServiceAccountSettings,
};
use crate::{FaultDriver, ProviderError, Result, StateDriver, Versioned};

pub(crate) fn drivers() -> Vec<Box<dyn FaultDriver<JsonApiClient>>> {
    vec![Box::new(KeyDriver), Box::new(EnabledDriver)]
}

fn string_field(account: &Value, field: &str) -> String {
    account
        .get(field)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// Every service account of the project, all pages, with the tags of its description.
pub(crate) async fn discover(client: &JsonApiClient) -> Result<Vec<ResourceRef>> {
    Ok(client
        .list_service_accounts()
        .await?
        .iter()
        .filter_map(|account| {
            let email = account.get("email").and_then(Value::as_str)?;
            Some(service_account_ref(
                client.project(),
                email,
                &string_field(account, "description"),
            ))
        })
        .collect())
}

/// A service account's tags as they are now: the `key=value` words of its description.
pub(crate) async fn tags(client: &JsonApiClient, email: &str) -> Result<BTreeMap<String, String>> {
    let account = client.get_service_account(email).await?;
    Ok(description_tags(&string_field(&account, "description")))
}

/// The description word that marks `key_id` as the fault's.
fn key_marker(key_id: &str) -> String {
    format!("{FAULT_KEY_MARKER}={key_id}")
}

/// The account's description with the marker of `key_id` added at its end (`true`) or removed (`false`), the
/// rest of it as it was.
fn with_marker(description: &str, key_id: &str, marked: bool) -> String {
    let marker = key_marker(key_id);
    let unmarked = description
        .replace(&format!(" {marker}"), "")
        .replace(&marker, "");
    match (marked, unmarked.is_empty()) {
        (false, _) => unmarked,
        (true, true) => marker,
        (true, false) => format!("{unmarked} {marker}"),
    }
}

/// The account's user-managed keys, and which of them its description marks as the fault's.
async fn keys(client: &JsonApiClient, email: &str) -> Result<ServiceAccountKeys> {
    let key_ids: BTreeSet<String> = client
        .list_user_managed_keys(email)
        .await?
        .iter()
        .filter_map(|key| key.get("name")?.as_str()?.rsplit('/').next())
        .map(str::to_owned)
        .collect();
    let account = client.get_service_account(email).await?;
    let description = string_field(&account, "description");
    let fault_key_ids = key_ids
        .iter()
        .filter(|id| {
            description
                .split_whitespace()
                .any(|word| word == key_marker(id))
        })
        .cloned()
        .collect();
    Ok(ServiceAccountKeys {
        key_ids,
        fault_key_ids,
    })
}

/// Marks (or unmarks) a key as the fault's in the account's description, as it is now.
async fn mark_key(client: &JsonApiClient, email: &str, key_id: &str, marked: bool) -> Result<()> {
    let account = client.get_service_account(email).await?;
    let description = with_marker(&string_field(&account, "description"), key_id, marked);
    client
        .set_service_account_description(email, &description)
        .await
}

/// Deletes a key the fault created, then its marker.
async fn delete_fault_key(client: &JsonApiClient, email: &str, key_id: &str) -> Result<()> {
    client.delete_key(email, key_id).await?;
    mark_key(client, email, key_id, false).await
}

/// After an injection whose outcome is unknown (the creation or the marking failed, or its answer was lost):
/// every unmarked key not in the snapshot is the injection's. Each is marked as the fault's, or deleted if it
/// cannot be marked, so no key is left that no record owns. Returns whether the fault's key is now in place.
async fn resolve_unknown_injection(
    client: &JsonApiClient,
    email: &str,
    before: &ServiceAccountKeys,
) -> Result<bool> {
    let current = keys(client, email).await?;
    let mut in_place = !current.fault_keys_since(before).is_empty();
    for key_id in current.unowned_since(before) {
        match mark_key(client, email, &key_id, true).await {
            Ok(()) => {
                tracing::warn!(key_id, account = %email, "a key the failed injection created is marked as the fault's");
                in_place = true;
            }
            Err(error) => {
                tracing::warn!(%error, key_id, account = %email, "a key the failed injection created cannot be marked; deleting it");
                client.delete_key(email, &key_id).await?;
            }
        }
    }
    Ok(in_place)
}

/// `gcp.iam.service-account-key-created`: creates a user-managed key (its private key is dropped at once,
/// never logged nor stored) and marks it as the fault's with a word of the account's description
/// ([`FAULT_KEY_MARKER`]). If the creation or the marking fails or goes unanswered, the account's keys are
/// listed and any unmarked key not in the snapshot is marked (or deleted), so a lost answer never leaves a key
/// nobody owns. The revert deletes the keys the semantics' target drops — marked and not in the snapshot —
/// and their markers; keys in the snapshot and keys others created meanwhile stay.
///
/// The description is read and written without a version (IAM's service account etag is deprecated and not
/// checked), so a description change made in the same instant as the marking could be lost.
struct KeyDriver;

#[async_trait]
impl StateDriver<JsonApiClient> for KeyDriver {
    type Fault = model::ServiceAccountKeyCreated;

    async fn read(
        &self,
        client: &JsonApiClient,
        resource: &ResourceRef,
    ) -> Result<ServiceAccountKeys> {
        keys(client, &resource.name).await
    }

    async fn inject(
        &self,
        client: &JsonApiClient,
        resource: &ResourceRef,
        before: &ServiceAccountKeys,
    ) -> Result<()> {
        let email = &resource.name;
        let created = client.create_key(email).await;
        let error = match created {
            Ok(key_id) => match mark_key(client, email, &key_id, true).await {
                Ok(()) => return Ok(()),
                Err(error) => error,
            },
            // A refused creation created nothing.
            Err(error @ ProviderError::Refused { .. }) => return Err(error),
            Err(error) => error,
        };
        match resolve_unknown_injection(client, email, before).await {
            Ok(true) => {
                tracing::warn!(%error, account = %email, "the injection's answer was an error, yet the fault's key is in place");
                Ok(())
            }
            Ok(false) => Err(error),
            Err(resolution) => {
                tracing::error!(%error, %resolution, account = %email, "a failed key injection could not be resolved; the revert will find any key the fault marked");
                Err(error)
            }
        }
    }

    async fn revert(
        &self,
        client: &JsonApiClient,
        resource: &ResourceRef,
        current: &Versioned<ServiceAccountKeys>,
        target: &ServiceAccountKeys,
    ) -> Result<()> {
        for key_id in current.state.key_ids.difference(&target.key_ids) {
            delete_fault_key(client, &resource.name, key_id).await?;
        }
        Ok(())
    }
}

/// `gcp.iam.service-account-enabled`: enables the account (`:enable`); the revert disables it (`:disable`).
/// Neither touches the account's names, which the revert's target keeps as read.
struct EnabledDriver;

#[async_trait]
impl StateDriver<JsonApiClient> for EnabledDriver {
    type Fault = model::ServiceAccountEnabled;

    async fn read(
        &self,
        client: &JsonApiClient,
        resource: &ResourceRef,
    ) -> Result<ServiceAccountSettings> {
        let account = client.get_service_account(&resource.name).await?;
        Ok(ServiceAccountSettings {
            disabled: account
                .get("disabled")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            display_name: string_field(&account, "displayName"),
            description: string_field(&account, "description"),
        })
    }

    async fn inject(
        &self,
        client: &JsonApiClient,
        resource: &ResourceRef,
        _before: &ServiceAccountSettings,
    ) -> Result<()> {
        client
            .set_service_account_enabled(&resource.name, true)
            .await
    }

    async fn revert(
        &self,
        client: &JsonApiClient,
        resource: &ResourceRef,
        current: &Versioned<ServiceAccountSettings>,
        target: &ServiceAccountSettings,
    ) -> Result<()> {
        let only_the_switch = ServiceAccountSettings {
            disabled: target.disabled,
            ..current.state.clone()
        };
        if only_the_switch != *target {
            return Err(ProviderError::Api {
                operation: "revert".to_owned(),
                resource: resource.id.clone(),
                reason: "a revert would change the account's names, which the fault never does"
                    .to_owned(),
                retryable: false,
                throttled: false,
            });
        }
        client
            .set_service_account_enabled(&resource.name, !target.disabled)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_markers_are_single_description_words() {
        let description = "deploys  to prod\nrdfi-target=true";
        let marked = with_marker(description, "abc123", true);
        assert_eq!(marked, format!("{description} rdfi-fault-key=abc123"));
        assert_eq!(with_marker(&marked, "abc123", true), marked, "marked once");
        assert_eq!(
            with_marker(&marked, "abc123", false),
            description,
            "the rest as it was"
        );
        assert_eq!(with_marker("", "abc123", true), "rdfi-fault-key=abc123");
        assert_eq!(with_marker("rdfi-fault-key=abc123", "abc123", false), "");
        assert_eq!(
            description_tags(&marked)
                .get(FAULT_KEY_MARKER)
                .map(String::as_str),
            Some("abc123")
        );
    }
}
