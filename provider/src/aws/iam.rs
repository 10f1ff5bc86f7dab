//! IAM users and roles: discovery, tags, and their faults (administrative and wildcard policies, new access
//! keys and console passwords, opened trust policies).

use std::collections::BTreeMap;
use std::marker::PhantomData;

use async_trait::async_trait;
use aws_sdk_iam::error::ProvideErrorMetadata;
use rand::Rng;
use rdfi_proto::v1::ResourceRef;
use serde_json::Value;

use super::{AwsClients, sdk_error, user_ref};
use crate::model::FaultSemantics;
use crate::model::iam::{
    self as model, ACCESS_KEYS_PER_USER, ADMINISTRATOR_ACCESS_ARN, AccessKeys, AttachedPolicies,
    FAULT_ACCESS_KEY_DESCRIPTION, InlinePolicies, LoginProfile, TrustPolicy, WILDCARD_POLICY_NAME,
};
use crate::{FaultDriver, ProviderError, Result, StateDriver};

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

/// The IAM calls of a principal kind: a user's or a role's.
trait PrincipalIdentity: model::PrincipalKind {
    const IDENTITY: Identity;
}

impl PrincipalIdentity for model::UserPrincipal {
    const IDENTITY: Identity = Identity::User;
}

impl PrincipalIdentity for model::RolePrincipal {
    const IDENTITY: Identity = Identity::Role;
}

async fn attached_policies(
    clients: &AwsClients,
    identity: Identity,
    resource: &ResourceRef,
) -> Result<AttachedPolicies> {
    let name = &resource.name;
    let mut attached = AttachedPolicies::default();
    let mut add = |policies: &[aws_sdk_iam::types::AttachedPolicy]| {
        attached.policy_arns.extend(
            policies
                .iter()
                .filter_map(|policy| policy.policy_arn().map(str::to_owned)),
        );
    };
    match identity {
        Identity::User => {
            let mut pages = clients
                .iam
                .list_attached_user_policies()
                .user_name(name)
                .into_paginator()
                .send();
            while let Some(page) = pages.next().await {
                let page = page
                    .map_err(|error| sdk_error("ListAttachedUserPolicies", &resource.id, error))?;
                add(page.attached_policies());
            }
        }
        Identity::Role => {
            let mut pages = clients
                .iam
                .list_attached_role_policies()
                .role_name(name)
                .into_paginator()
                .send();
            while let Some(page) = pages.next().await {
                let page = page
                    .map_err(|error| sdk_error("ListAttachedRolePolicies", &resource.id, error))?;
                add(page.attached_policies());
            }
        }
    }
    Ok(attached)
}

/// Attaches (`attach`) or detaches AdministratorAccess.
async fn set_administrator_access(
    clients: &AwsClients,
    identity: Identity,
    resource: &ResourceRef,
    attach: bool,
) -> Result<()> {
    let name = &resource.name;
    let iam = &clients.iam;
    match (identity, attach) {
        (Identity::User, true) => iam
            .attach_user_policy()
            .user_name(name)
            .policy_arn(ADMINISTRATOR_ACCESS_ARN)
            .send()
            .await
            .map(drop)
            .map_err(|error| sdk_error("AttachUserPolicy", &resource.id, error)),
        (Identity::User, false) => iam
            .detach_user_policy()
            .user_name(name)
            .policy_arn(ADMINISTRATOR_ACCESS_ARN)
            .send()
            .await
            .map(drop)
            .map_err(|error| sdk_error("DetachUserPolicy", &resource.id, error)),
        (Identity::Role, true) => iam
            .attach_role_policy()
            .role_name(name)
            .policy_arn(ADMINISTRATOR_ACCESS_ARN)
            .send()
            .await
            .map(drop)
            .map_err(|error| sdk_error("AttachRolePolicy", &resource.id, error)),
        (Identity::Role, false) => iam
            .detach_role_policy()
            .role_name(name)
            .policy_arn(ADMINISTRATOR_ACCESS_ARN)
            .send()
            .await
            .map(drop)
            .map_err(|error| sdk_error("DetachRolePolicy", &resource.id, error)),
    }
}

/// `aws.iam.user-admin-policy-attached` and `aws.iam.role-admin-policy-attached`: attaches
/// AdministratorAccess; the revert detaches only that.
pub(crate) struct AdminPolicyDriver<P>(PhantomData<P>);

#[async_trait]
impl<P: PrincipalIdentity> StateDriver<AwsClients> for AdminPolicyDriver<P> {
    type Fault = model::AdminPolicyAttached<P>;

    async fn read(&self, clients: &AwsClients, resource: &ResourceRef) -> Result<AttachedPolicies> {
        attached_policies(clients, P::IDENTITY, resource).await
    }

    async fn inject(
        &self,
        clients: &AwsClients,
        resource: &ResourceRef,
        _before: &AttachedPolicies,
    ) -> Result<()> {
        set_administrator_access(clients, P::IDENTITY, resource, true).await
    }

    async fn revert(
        &self,
        clients: &AwsClients,
        resource: &ResourceRef,
        before: &AttachedPolicies,
    ) -> Result<()> {
        if before.has_administrator_access()
            || !attached_policies(clients, P::IDENTITY, resource)
                .await?
                .has_administrator_access()
        {
            return Ok(());
        }
        set_administrator_access(clients, P::IDENTITY, resource, false).await
    }
}

/// Every inline policy of the user or role, by name, with its decoded document.
async fn inline_policies(
    clients: &AwsClients,
    identity: Identity,
    resource: &ResourceRef,
) -> Result<InlinePolicies> {
    let name = &resource.name;
    let mut policy_names = Vec::new();
    match identity {
        Identity::User => {
            let mut pages = clients
                .iam
                .list_user_policies()
                .user_name(name)
                .into_paginator()
                .send();
            while let Some(page) = pages.next().await {
                let page =
                    page.map_err(|error| sdk_error("ListUserPolicies", &resource.id, error))?;
                policy_names.extend(page.policy_names().iter().cloned());
            }
        }
        Identity::Role => {
            let mut pages = clients
                .iam
                .list_role_policies()
                .role_name(name)
                .into_paginator()
                .send();
            while let Some(page) = pages.next().await {
                let page =
                    page.map_err(|error| sdk_error("ListRolePolicies", &resource.id, error))?;
                policy_names.extend(page.policy_names().iter().cloned());
            }
        }
    }
    let mut inline = InlinePolicies::default();
    for policy_name in policy_names {
        let raw = match identity {
            Identity::User => clients
                .iam
                .get_user_policy()
                .user_name(name)
                .policy_name(&policy_name)
                .send()
                .await
                .map(|output| output.policy_document().to_owned())
                .map_err(|error| sdk_error("GetUserPolicy", &resource.id, error))?,
            Identity::Role => clients
                .iam
                .get_role_policy()
                .role_name(name)
                .policy_name(&policy_name)
                .send()
                .await
                .map(|output| output.policy_document().to_owned())
                .map_err(|error| sdk_error("GetRolePolicy", &resource.id, error))?,
        };
        let document = decode_policy_document(&resource.id, &raw)?;
        inline.policies.insert(policy_name, document);
    }
    Ok(inline)
}

/// Puts an inline policy (`Some` document) or deletes it (`None`).
async fn set_inline_policy(
    clients: &AwsClients,
    identity: Identity,
    resource: &ResourceRef,
    policy_name: &str,
    document: Option<&Value>,
) -> Result<()> {
    let name = &resource.name;
    let iam = &clients.iam;
    match (identity, document) {
        (Identity::User, Some(document)) => iam
            .put_user_policy()
            .user_name(name)
            .policy_name(policy_name)
            .policy_document(document.to_string())
            .send()
            .await
            .map(drop)
            .map_err(|error| sdk_error("PutUserPolicy", &resource.id, error)),
        (Identity::User, None) => iam
            .delete_user_policy()
            .user_name(name)
            .policy_name(policy_name)
            .send()
            .await
            .map(drop)
            .map_err(|error| sdk_error("DeleteUserPolicy", &resource.id, error)),
        (Identity::Role, Some(document)) => iam
            .put_role_policy()
            .role_name(name)
            .policy_name(policy_name)
            .policy_document(document.to_string())
            .send()
            .await
            .map(drop)
            .map_err(|error| sdk_error("PutRolePolicy", &resource.id, error)),
        (Identity::Role, None) => iam
            .delete_role_policy()
            .role_name(name)
            .policy_name(policy_name)
            .send()
            .await
            .map(drop)
            .map_err(|error| sdk_error("DeleteRolePolicy", &resource.id, error)),
    }
}

/// `aws.iam.user-inline-wildcard-policy` and `aws.iam.role-inline-wildcard-policy`: puts the inline policy
/// `rdfi-fault-wildcard` allowing `*` on `*`; the revert puts back only that policy as it was (deletes it when
/// it did not exist), leaving the other inline policies alone.
pub(crate) struct InlineWildcardDriver<P>(PhantomData<P>);

#[async_trait]
impl<P: PrincipalIdentity> StateDriver<AwsClients> for InlineWildcardDriver<P> {
    type Fault = model::InlineWildcardPolicy<P>;

    async fn read(&self, clients: &AwsClients, resource: &ResourceRef) -> Result<InlinePolicies> {
        inline_policies(clients, P::IDENTITY, resource).await
    }

    async fn inject(
        &self,
        clients: &AwsClients,
        resource: &ResourceRef,
        _before: &InlinePolicies,
    ) -> Result<()> {
        let document = InlinePolicies::wildcard_document();
        set_inline_policy(
            clients,
            P::IDENTITY,
            resource,
            WILDCARD_POLICY_NAME,
            Some(&document),
        )
        .await
    }

    async fn revert(
        &self,
        clients: &AwsClients,
        resource: &ResourceRef,
        before: &InlinePolicies,
    ) -> Result<()> {
        let current = inline_policies(clients, P::IDENTITY, resource).await?;
        let wanted = before.policies.get(WILDCARD_POLICY_NAME);
        if current.policies.get(WILDCARD_POLICY_NAME) == wanted {
            return Ok(());
        }
        set_inline_policy(clients, P::IDENTITY, resource, WILDCARD_POLICY_NAME, wanted).await
    }
}

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

async fn trust_policy(clients: &AwsClients, resource: &ResourceRef) -> Result<TrustPolicy> {
    let output = clients
        .iam
        .get_role()
        .role_name(&resource.name)
        .send()
        .await
        .map_err(|error| sdk_error("GetRole", &resource.id, error))?;
    let raw = output
        .role()
        .and_then(|role| role.assume_role_policy_document())
        .unwrap_or_default();
    Ok(TrustPolicy {
        document: decode_policy_document(&resource.id, raw)?,
    })
}

async fn write_trust_policy(
    clients: &AwsClients,
    resource: &ResourceRef,
    trust: &TrustPolicy,
) -> Result<()> {
    clients
        .iam
        .update_assume_role_policy()
        .role_name(&resource.name)
        .policy_document(trust.document.to_string())
        .send()
        .await
        .map_err(|error| sdk_error("UpdateAssumeRolePolicy", &resource.id, error))?;
    Ok(())
}

/// `aws.iam.role-trust-policy-public` and `aws.iam.role-trust-policy-external-account`: writes the trust
/// policy with the fault's statement added; the revert writes back the exact previous document.
pub(crate) struct TrustPolicyDriver<F>(PhantomData<F>);

#[async_trait]
impl<F: FaultSemantics<State = TrustPolicy>> StateDriver<AwsClients> for TrustPolicyDriver<F> {
    type Fault = F;

    async fn read(&self, clients: &AwsClients, resource: &ResourceRef) -> Result<TrustPolicy> {
        trust_policy(clients, resource).await
    }

    async fn inject(
        &self,
        clients: &AwsClients,
        resource: &ResourceRef,
        before: &TrustPolicy,
    ) -> Result<()> {
        write_trust_policy(clients, resource, &F::inject(before)).await
    }

    async fn revert(
        &self,
        clients: &AwsClients,
        resource: &ResourceRef,
        before: &TrustPolicy,
    ) -> Result<()> {
        write_trust_policy(clients, resource, before).await
    }
}
