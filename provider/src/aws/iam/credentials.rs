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
use crate::{ProviderError, Result, StateDriver};

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

/// `aws.iam.user-access-key-created`: creates an access key (its secret is dropped at once, never logged nor
/// stored) and describes it with a user tag named after the key id, as the console does. The revert deletes
/// the keys present now that carry the fault's description and were not in the snapshot — the key the fault
/// created — and their tags; keys in the snapshot and keys others created meanwhile stay.
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
        let created = clients
            .iam
            .create_access_key()
            .user_name(&resource.name)
            .send()
            .await
            .map_err(|error| sdk_error("CreateAccessKey", &resource.id, error))?;
        let Some(access_key_id) = created
            .access_key()
            .map(|key| key.access_key_id().to_owned())
        else {
            return Err(ProviderError::Api {
                operation: "CreateAccessKey".to_owned(),
                resource: resource.id.clone(),
                reason: "the answer names no access key".to_owned(),
                retryable: false,
            });
        };
        // The secret access key goes no further than this answer.
        drop(created);
        let tagged = async {
            let description = aws_sdk_iam::types::Tag::builder()
                .key(&access_key_id)
                .value(FAULT_ACCESS_KEY_DESCRIPTION)
                .build()
                .map_err(|error| ProviderError::Api {
                    operation: "TagUser".to_owned(),
                    resource: resource.id.clone(),
                    reason: error.to_string(),
                    retryable: false,
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
        .await;
        if let Err(error) = tagged {
            // Unmarked, the key could not be told from the user's own: take it away now.
            delete_fault_access_key(clients, resource, &access_key_id).await?;
            return Err(error);
        }
        Ok(())
    }

    async fn revert(
        &self,
        clients: &AwsClients,
        resource: &ResourceRef,
        before: &AccessKeys,
    ) -> Result<()> {
        let current = access_keys(clients, resource).await?;
        for access_key_id in current.fault_keys_since(before) {
            delete_fault_access_key(clients, resource, &access_key_id).await?;
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
/// the login profile.
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
        before: &LoginProfile,
    ) -> Result<()> {
        if before.has_login_profile || !login_profile(clients, resource).await?.has_login_profile {
            return Ok(());
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
