//! IAM users and roles: discovery, tags, and their faults (administrative and wildcard policies, new access
//! keys and console passwords, opened trust policies).

mod caller;
mod credentials;
mod policies;

pub(crate) use caller::caller_policies;
mod trust;

use std::collections::BTreeMap;
use std::marker::PhantomData;

use rdfi_proto::v1::ResourceRef;
use serde_json::Value;

use super::{AwsClients, sdk_error, user_ref};
use crate::model::iam as model;
use crate::{FaultDriver, ProviderError, Result};
use credentials::{AccessKeyDriver, LoginProfileDriver};
use policies::{AdminPolicyDriver, InlineWildcardDriver};
use trust::TrustPolicyDriver;

/// The resource type of IAM roles.
pub(crate) const ROLE: &str = "aws.iam.role";

pub(crate) const RESOURCE_TYPES: &[&str] = &[super::USER, ROLE];

pub(crate) fn drivers() -> Vec<Box<dyn FaultDriver<AwsClients>>> {
    vec![
        Box::new(AdminPolicyDriver::<model::UserPrincipal>(PhantomData)),
        Box::new(AdminPolicyDriver::<model::RolePrincipal>(PhantomData)),
        Box::new(InlineWildcardDriver::<model::UserPrincipal>(PhantomData)),
        Box::new(InlineWildcardDriver::<model::RolePrincipal>(PhantomData)),
        Box::new(AccessKeyDriver),
        Box::new(LoginProfileDriver),
        Box::new(TrustPolicyDriver::<model::RoleTrustPolicyPublic>(
            PhantomData,
        )),
        Box::new(TrustPolicyDriver::<model::RoleTrustPolicyExternalAccount>(
            PhantomData,
        )),
    ]
}

/// The two kinds of IAM identity that carry policies; the calls differ, the faults do not.
#[derive(Clone, Copy, Debug)]
enum Identity {
    User,
    Role,
}

impl Identity {
    fn of(resource: &ResourceRef) -> Identity {
        if resource.resource_type == ROLE {
            Identity::Role
        } else {
            Identity::User
        }
    }
}

pub(crate) async fn tags(
    clients: &AwsClients,
    resource: &ResourceRef,
) -> Result<BTreeMap<String, String>> {
    match Identity::of(resource) {
        Identity::User => user_tags(clients, &resource.name).await,
        Identity::Role => role_tags(clients, &resource.name).await,
    }
}

/// Every IAM user or every IAM role (all pages), with its tags.
pub(crate) async fn discover(
    clients: &AwsClients,
    resource_type: &str,
) -> Result<Vec<ResourceRef>> {
    if resource_type == ROLE {
        discover_roles(clients).await
    } else {
        discover_users(clients).await
    }
}

async fn discover_users(clients: &AwsClients) -> Result<Vec<ResourceRef>> {
    let mut pages = clients.iam.list_users().into_paginator().send();
    let mut users = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|error| sdk_error("ListUsers", "account", error))?;
        for user in page.users() {
            let tags = user_tags(clients, user.user_name()).await?;
            users.push(user_ref("aws", user.arn(), user.user_name(), tags));
        }
    }
    Ok(users)
}

async fn discover_roles(clients: &AwsClients) -> Result<Vec<ResourceRef>> {
    let mut pages = clients.iam.list_roles().into_paginator().send();
    let mut roles = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|error| sdk_error("ListRoles", "account", error))?;
        for role in page.roles() {
            let tags = role_tags(clients, role.role_name()).await?;
            roles.push(ResourceRef {
                exposure: String::new(),
                provider: "aws".to_owned(),
                resource_type: ROLE.to_owned(),
                id: role.arn().to_owned(),
                name: role.role_name().to_owned(),
                region: String::new(),
                tags: tags.into_iter().collect(),
            });
        }
    }
    Ok(roles)
}

pub(crate) async fn user_tags(
    clients: &AwsClients,
    user: &str,
) -> Result<BTreeMap<String, String>> {
    let mut pages = clients
        .iam
        .list_user_tags()
        .user_name(user)
        .into_paginator()
        .send();
    let mut tags = BTreeMap::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|error| sdk_error("ListUserTags", user, error))?;
        for tag in page.tags() {
            tags.insert(tag.key().to_owned(), tag.value().to_owned());
        }
    }
    Ok(tags)
}

async fn role_tags(clients: &AwsClients, role: &str) -> Result<BTreeMap<String, String>> {
    let mut pages = clients
        .iam
        .list_role_tags()
        .role_name(role)
        .into_paginator()
        .send();
    let mut tags = BTreeMap::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|error| sdk_error("ListRoleTags", role, error))?;
        for tag in page.tags() {
            tags.insert(tag.key().to_owned(), tag.value().to_owned());
        }
    }
    Ok(tags)
}

/// A policy document as IAM returns it: URL-encoded (RFC 3986) by the real service, plain JSON by some
/// emulators; either way parsed into canonical JSON.
pub(crate) fn decode_policy_document(resource: &str, raw: &str) -> Result<Value> {
    let undecodable = |reason: String| ProviderError::Api {
        operation: "decode policy document".to_owned(),
        resource: resource.to_owned(),
        reason,
        retryable: false,
        throttled: false,
    };
    if let Ok(document) = serde_json::from_str(raw) {
        return Ok(document);
    }
    let bytes = raw.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let escaped = (bytes[index] == b'%')
            .then(|| raw.get(index + 1..index + 3))
            .flatten()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(byte) => {
                decoded.push(byte);
                index += 3;
            }
            None => {
                decoded.push(bytes[index]);
                index += 1;
            }
        }
    }
    let text = String::from_utf8(decoded).map_err(|error| undecodable(error.to_string()))?;
    serde_json::from_str(&text).map_err(|error| undecodable(error.to_string()))
}
