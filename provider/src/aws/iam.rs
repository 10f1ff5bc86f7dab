//! IAM users: discovery, tags, and the `aws.iam.user-admin-policy-attached` fault.

use std::collections::BTreeMap;

use async_trait::async_trait;
use rdfi_proto::v1::ResourceRef;

use super::{AwsClients, sdk_error, user_ref};
use crate::model::iam::{self as model, ADMINISTRATOR_ACCESS_ARN, AttachedPolicies};
use crate::{FaultDriver, Result, StateDriver};

pub(crate) const RESOURCE_TYPES: &[&str] = &[super::USER];

pub(crate) fn drivers() -> Vec<Box<dyn FaultDriver<AwsClients>>> {
    vec![Box::new(AdminPolicyDriver)]
}

pub(crate) async fn tags(
    clients: &AwsClients,
    resource: &ResourceRef,
) -> Result<BTreeMap<String, String>> {
    user_tags(clients, &resource.name).await
}

/// Every IAM user, with its tags.
pub(crate) async fn discover(
    clients: &AwsClients,
    _resource_type: &str,
) -> Result<Vec<ResourceRef>> {
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

async fn attached_policies(clients: &AwsClients, user: &str) -> Result<AttachedPolicies> {
    let mut pages = clients
        .iam
        .list_attached_user_policies()
        .user_name(user)
        .into_paginator()
        .send();
    let mut attached = AttachedPolicies::default();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|error| sdk_error("ListAttachedUserPolicies", user, error))?;
        for policy in page.attached_policies() {
            if let Some(arn) = policy.policy_arn() {
                attached.policy_arns.insert(arn.to_owned());
            }
        }
    }
    Ok(attached)
}

/// `aws.iam.user-admin-policy-attached`: attaches AdministratorAccess; the revert detaches only that.
pub(crate) struct AdminPolicyDriver;

#[async_trait]
impl StateDriver<AwsClients> for AdminPolicyDriver {
    type Fault = model::UserAdminPolicyAttached;

    async fn read(&self, clients: &AwsClients, resource: &ResourceRef) -> Result<AttachedPolicies> {
        attached_policies(clients, &resource.name).await
    }

    async fn inject(
        &self,
        clients: &AwsClients,
        resource: &ResourceRef,
        _before: &AttachedPolicies,
    ) -> Result<()> {
        clients
            .iam
            .attach_user_policy()
            .user_name(&resource.name)
            .policy_arn(ADMINISTRATOR_ACCESS_ARN)
            .send()
            .await
            .map_err(|error| sdk_error("AttachUserPolicy", &resource.id, error))?;
        Ok(())
    }

    async fn revert(
        &self,
        clients: &AwsClients,
        resource: &ResourceRef,
        before: &AttachedPolicies,
    ) -> Result<()> {
        if before.has_administrator_access()
            || !attached_policies(clients, &resource.name)
                .await?
                .has_administrator_access()
        {
            return Ok(());
        }
        clients
            .iam
            .detach_user_policy()
            .user_name(&resource.name)
            .policy_arn(ADMINISTRATOR_ACCESS_ARN)
            .send()
            .await
            .map_err(|error| sdk_error("DetachUserPolicy", &resource.id, error))?;
        Ok(())
    }
}
