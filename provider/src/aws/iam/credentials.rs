//! A user's credentials: the fault's access key and console login profile.

use async_trait::async_trait;
use aws_sdk_iam::error::ProvideErrorMetadata;
use rand::Rng;
use rdfi_proto::v1::ResourceRef;

use super::user_tags;
use crate::aws::{AwsClients, sdk_error};
use crate::model::iam::{
    self as model, ACCESS_KEYS_PER_USER, AccessKeys, FAULT_ACCESS_KEY_DESCRIPTION, LoginProfile,
};
use crate::{ProviderError, Result, StateDriver, Versioned};

/// The user's access keys, and which of them carry the fault's description tag.
async fn access_keys(clients: &AwsClients, resource: &ResourceRef) -> Result<AccessKeys> {
    let mut pages = clients
        .iam
        .list_access_keys()
        .user_name(&resource.name)
        .into_paginator()
        .send();
    let mut keys = AccessKeys::default();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|error| sdk_error("ListAccessKeys", &resource.id, error))?;
        keys.access_key_ids.extend(
            page.access_key_metadata()
                .iter()
                .filter_map(|key| key.access_key_id().map(str::to_owned)),
        );
    }
    let tags = user_tags(clients, &resource.name).await?;
    keys.fault_key_ids = keys
        .access_key_ids
        .iter()
        .filter(|id| tags.get(*id).map(String::as_str) == Some(FAULT_ACCESS_KEY_DESCRIPTION))
        .cloned()
        .collect();
    Ok(keys)
}

/// Deletes an access key the fault created, then its description tag.
async fn delete_fault_access_key(
    clients: &AwsClients,
    resource: &ResourceRef,
    access_key_id: &str,
) -> Result<()> {
    clients
        .iam
        .delete_access_key()
        .user_name(&resource.name)
        .access_key_id(access_key_id)
        .send()
        .await
        .map_err(|error| sdk_error("DeleteAccessKey", &resource.id, error))?;
    clients
        .iam
        .untag_user()
        .user_name(&resource.name)
        .tag_keys(access_key_id)
        .send()
        .await
        .map_err(|error| sdk_error("UntagUser", &resource.id, error))?;
    Ok(())
}

/// Marks an access key as the fault's: a user tag named after the key, as the console writes descriptions.
async fn tag_fault_access_key(
    clients: &AwsClients,
    resource: &ResourceRef,
    access_key_id: &str,
) -> Result<()> {
    let description = aws_sdk_iam::types::Tag::builder()
        .key(access_key_id)
        .value(FAULT_ACCESS_KEY_DESCRIPTION)
        .build()
        .map_err(|error| ProviderError::Api {
            operation: "TagUser".to_owned(),
            resource: resource.id.clone(),
            reason: error.to_string(),
            retryable: false,
            throttled: false,
        })?;
    clients
        .iam
        .tag_user()
        .user_name(&resource.name)
        .tags(description)
        .send()
        .await
        .map_err(|error| sdk_error("TagUser", &resource.id, error))?;
    Ok(())
}

/// Creates the fault's access key and marks it; the secret access key goes no further than the answer.
async fn create_fault_access_key(clients: &AwsClients, resource: &ResourceRef) -> Result<()> {
    let created = clients
        .iam
        .create_access_key()
        .user_name(&resource.name)
        .send()
        .await
        .map_err(|error| sdk_error("CreateAccessKey", &resource.id, error))?;
    let access_key_id = created
        .access_key()
        .map(|key| key.access_key_id().to_owned());
    drop(created);
    let Some(access_key_id) = access_key_id else {
        return Err(ProviderError::Api {
            operation: "CreateAccessKey".to_owned(),
            resource: resource.id.clone(),
            reason: "the answer names no access key".to_owned(),
            retryable: false,
            throttled: false,
        });
    };
    tag_fault_access_key(clients, resource, &access_key_id).await
}

/// Whether the cloud refused to create the key (then nothing was created, nothing to resolve).
fn refused_creation(error: &ProviderError) -> bool {
    matches!(error, ProviderError::Refused { operation, .. } if operation == "CreateAccessKey")
}

/// The keys a failed or unanswered injection may have left: on the user now, not in the snapshot, not marked
/// as the fault's. The snapshot was read just before the injection, so such a key is the one the injection
/// created (a person would have had to create one in the same seconds).
fn unowned_since(current: &AccessKeys, before: &AccessKeys) -> Vec<String> {
    current
        .access_key_ids
        .difference(&before.access_key_ids)
        .filter(|id| !current.fault_key_ids.contains(*id))
        .cloned()
        .collect()
}

/// After an injection whose outcome is unknown (CreateAccessKey or TagUser failed, or their answer was lost):
/// every key not in the snapshot is the fault's. Each unmarked one is marked as the fault's, or deleted if it
/// cannot be marked, so no key is left that no record owns. Returns whether the fault's key is now in place.
async fn resolve_unknown_injection(
    clients: &AwsClients,
    resource: &ResourceRef,
    before: &AccessKeys,
) -> Result<bool> {
    let current = access_keys(clients, resource).await?;
    let mut in_place = !current.fault_keys_since(before).is_empty();
    for access_key_id in unowned_since(&current, before) {
        match tag_fault_access_key(clients, resource, &access_key_id).await {
            Ok(()) => {
                tracing::warn!(access_key_id, user = %resource.name, "an access key the failed injection created is marked as the fault's");
                in_place = true;
            }
            Err(error) => {
                tracing::warn!(%error, access_key_id, user = %resource.name, "an access key the failed injection created cannot be marked; deleting it");
                delete_fault_access_key(clients, resource, &access_key_id).await?;
            }
        }
    }
    Ok(in_place)
}

/// `aws.iam.user-access-key-created`: creates an access key (its secret is dropped at once, never logged nor
/// stored) and describes it with a user tag named after the key id, as the console does. If the creation or
/// the marking fails or goes unanswered, the user's keys are listed and any key not in the snapshot is marked
/// as the fault's (or deleted), so a lost answer never leaves a key nobody owns. The revert deletes the keys
/// the semantics' target drops — those present now that carry the fault's description and were not in the
/// snapshot — and their tags; keys in the snapshot and keys others created meanwhile stay.
pub(crate) struct AccessKeyDriver;

#[async_trait]
impl StateDriver<AwsClients> for AccessKeyDriver {
    type Fault = model::UserAccessKeyCreated;

    async fn read(&self, clients: &AwsClients, resource: &ResourceRef) -> Result<AccessKeys> {
        access_keys(clients, resource).await
    }

    async fn inject(
        &self,
        clients: &AwsClients,
        resource: &ResourceRef,
        before: &AccessKeys,
    ) -> Result<()> {
        if before.access_key_ids.len() >= ACCESS_KEYS_PER_USER {
            return Err(ProviderError::Precondition {
                resource: resource.id.clone(),
                reason: format!(
                    "the user already has {} access keys, the most AWS allows; no new key can be created",
                    before.access_key_ids.len()
                ),
            });
        }
        let error = match create_fault_access_key(clients, resource).await {
            Ok(()) => return Ok(()),
            // A refused creation created nothing.
            Err(error @ ProviderError::Refused { .. }) if refused_creation(&error) => {
                return Err(error);
            }
            Err(error) => error,
        };
        match resolve_unknown_injection(clients, resource, before).await {
            Ok(true) => {
                tracing::warn!(%error, user = %resource.name, "the injection's answer was an error, yet the fault's key is in place");
                Ok(())
            }
            Ok(false) => Err(error),
            Err(resolution) => {
                tracing::error!(%error, %resolution, user = %resource.name, "a failed access key injection could not be resolved; the revert will find any key the fault marked");
                Err(error)
            }
        }
    }

    async fn revert(
        &self,
        clients: &AwsClients,
        resource: &ResourceRef,
        current: &Versioned<AccessKeys>,
        target: &AccessKeys,
    ) -> Result<()> {
        for access_key_id in current
            .state
            .access_key_ids
            .difference(&target.access_key_ids)
        {
            delete_fault_access_key(clients, resource, access_key_id).await?;
        }
        Ok(())
    }
}

/// A console password nobody will ever know: 40 random characters from every class IAM password policies
/// ask for.
fn random_password() -> String {
    const CLASSES: [&[u8]; 4] = [
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZ",
        b"abcdefghijklmnopqrstuvwxyz",
        b"0123456789",
        b"!@#$%^&*()_+-=[]{}|",
    ];
    let mut random = rand::rng();
    (0..40)
        .map(|position| {
            let class = CLASSES[position % CLASSES.len()];
            char::from(class[random.random_range(0..class.len())])
        })
        .collect()
}

async fn login_profile(clients: &AwsClients, resource: &ResourceRef) -> Result<LoginProfile> {
    match clients
        .iam
        .get_login_profile()
        .user_name(&resource.name)
        .send()
        .await
    {
        Ok(_) => Ok(LoginProfile {
            has_login_profile: true,
        }),
        Err(error) if error.code() == Some("NoSuchEntity") => Ok(LoginProfile {
            has_login_profile: false,
        }),
        Err(error) => Err(sdk_error("GetLoginProfile", &resource.id, error)),
    }
}

/// `aws.iam.user-login-profile-created`: gives a user without one a login profile with a random password
/// that is dropped at once (the fault opens a sign-in path; nobody is meant to use it); the revert deletes
/// the login profile. It never creates one: the fault only ever adds a login profile.
pub(crate) struct LoginProfileDriver;

#[async_trait]
impl StateDriver<AwsClients> for LoginProfileDriver {
    type Fault = model::UserLoginProfileCreated;

    async fn read(&self, clients: &AwsClients, resource: &ResourceRef) -> Result<LoginProfile> {
        login_profile(clients, resource).await
    }

    async fn inject(
        &self,
        clients: &AwsClients,
        resource: &ResourceRef,
        _before: &LoginProfile,
    ) -> Result<()> {
        clients
            .iam
            .create_login_profile()
            .user_name(&resource.name)
            .password(random_password())
            .password_reset_required(true)
            .send()
            .await
            .map_err(|error| sdk_error("CreateLoginProfile", &resource.id, error))?;
        Ok(())
    }

    async fn revert(
        &self,
        clients: &AwsClients,
        resource: &ResourceRef,
        current: &Versioned<LoginProfile>,
        target: &LoginProfile,
    ) -> Result<()> {
        if target.has_login_profile || !current.state.has_login_profile {
            return Err(ProviderError::Api {
                operation: "revert".to_owned(),
                resource: resource.id.clone(),
                reason: "a revert would have to create a login profile, which rdfi never does"
                    .to_owned(),
                retryable: false,
                throttled: false,
            });
        }
        clients
            .iam
            .delete_login_profile()
            .user_name(&resource.name)
            .send()
            .await
            .map_err(|error| sdk_error("DeleteLoginProfile", &resource.id, error))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn keys(all: &[&str], fault: &[&str]) -> AccessKeys {
        let set = |ids: &[&str]| {
            ids.iter()
                .map(|id| (*id).to_owned())
                .collect::<BTreeSet<_>>()
        };
        AccessKeys {
            access_key_ids: set(all),
            fault_key_ids: set(fault),
        }
    }

    #[test]
    fn a_key_created_without_an_answer_is_the_faults() {
        let before = keys(&["AKIAOWN"], &[]);
        // CreateAccessKey's answer was lost: the new key is on the user, unmarked.
        let after_lost_answer = keys(&["AKIAOWN", "AKIANEW"], &[]);
        assert_eq!(unowned_since(&after_lost_answer, &before), ["AKIANEW"]);
        // TagUser's answer was lost but it took effect: nothing left unowned.
        let tagged = keys(&["AKIAOWN", "AKIANEW"], &["AKIANEW"]);
        assert!(unowned_since(&tagged, &before).is_empty());
        // Nothing was created: nothing to claim, and the user's own key is never claimed.
        assert!(unowned_since(&before, &before).is_empty());
    }

    #[test]
    fn only_a_refused_creation_skips_the_resolution() {
        let refused = |operation: &str| ProviderError::Refused {
            operation: operation.to_owned(),
            resource: "user".to_owned(),
            reason: "AccessDenied".to_owned(),
            attribution: Default::default(),
        };
        assert!(refused_creation(&refused("CreateAccessKey")));
        assert!(!refused_creation(&refused("TagUser")));
        assert!(!refused_creation(&ProviderError::Api {
            operation: "CreateAccessKey".to_owned(),
            resource: "user".to_owned(),
            reason: "timeout".to_owned(),
            retryable: true,
            throttled: false,
        }));
    }
}
