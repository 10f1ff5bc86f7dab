//! Users' and roles' policies: AdministratorAccess attached, and the wildcard inline policy.

use std::collections::BTreeSet;
use std::marker::PhantomData;

use async_trait::async_trait;
use rdfi_proto::v1::ResourceRef;
use serde_json::Value;

use super::{Identity, decode_policy_document};
use crate::aws::{AwsClients, sdk_error};
use crate::model::iam::{
    self as model, ADMINISTRATOR_ACCESS_ARN, AttachedPolicies, InlinePolicies, WILDCARD_POLICY_NAME,
};
use crate::{Result, StateDriver, Versioned};

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

pub(super) async fn attached_policies(
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

/// Attaches (`attach`) or detaches one managed policy.
async fn set_policy_attached(
    clients: &AwsClients,
    identity: Identity,
    resource: &ResourceRef,
    policy_arn: &str,
    attach: bool,
) -> Result<()> {
    let name = &resource.name;
    let iam = &clients.iam;
    match (identity, attach) {
        (Identity::User, true) => iam
            .attach_user_policy()
            .user_name(name)
            .policy_arn(policy_arn)
            .send()
            .await
            .map(drop)
            .map_err(|error| sdk_error("AttachUserPolicy", &resource.id, error)),
        (Identity::User, false) => iam
            .detach_user_policy()
            .user_name(name)
            .policy_arn(policy_arn)
            .send()
            .await
            .map(drop)
            .map_err(|error| sdk_error("DetachUserPolicy", &resource.id, error)),
        (Identity::Role, true) => iam
            .attach_role_policy()
            .role_name(name)
            .policy_arn(policy_arn)
            .send()
            .await
            .map(drop)
            .map_err(|error| sdk_error("AttachRolePolicy", &resource.id, error)),
        (Identity::Role, false) => iam
            .detach_role_policy()
            .role_name(name)
            .policy_arn(policy_arn)
            .send()
            .await
            .map(drop)
            .map_err(|error| sdk_error("DetachRolePolicy", &resource.id, error)),
    }
}

/// `aws.iam.user-admin-policy-attached` and `aws.iam.role-admin-policy-attached`: attaches
/// AdministratorAccess; the revert detaches only what the semantics' target drops (AdministratorAccess) and
/// attaches only what it adds, policy by policy.
pub(crate) struct AdminPolicyDriver<P>(pub(super) PhantomData<P>);

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
        set_policy_attached(
            clients,
            P::IDENTITY,
            resource,
            ADMINISTRATOR_ACCESS_ARN,
            true,
        )
        .await
    }

    async fn revert(
        &self,
        clients: &AwsClients,
        resource: &ResourceRef,
        current: &Versioned<AttachedPolicies>,
        target: &AttachedPolicies,
    ) -> Result<()> {
        let current = &current.state.policy_arns;
        for detached in current.difference(&target.policy_arns) {
            set_policy_attached(clients, P::IDENTITY, resource, detached, false).await?;
        }
        for attached in target.policy_arns.difference(current) {
            set_policy_attached(clients, P::IDENTITY, resource, attached, true).await?;
        }
        Ok(())
    }
}

/// Every inline policy of the user or role, by name, with its decoded document.
pub(super) async fn inline_policies(
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
/// `rdfi-fault-wildcard` allowing `*` on `*`; the revert puts or deletes only the policies whose document the
/// semantics' target changes (the fault's, as it was or absent), leaving the other inline policies alone.
pub(crate) struct InlineWildcardDriver<P>(pub(super) PhantomData<P>);

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
        current: &Versioned<InlinePolicies>,
        target: &InlinePolicies,
    ) -> Result<()> {
        let current = &current.state.policies;
        let names: BTreeSet<&String> = current.keys().chain(target.policies.keys()).collect();
        for name in names {
            let wanted = target.policies.get(name);
            if current.get(name) != wanted {
                set_inline_policy(clients, P::IDENTITY, resource, name, wanted).await?;
            }
        }
        Ok(())
    }
}
