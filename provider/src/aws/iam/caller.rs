//! The policies of the identity rdfi acts as, read to attribute a refusal (crate::aws::attribution): its
//! inline and managed policies, its groups' (for a user), and its permissions boundary. Reads only.

use rdfi_proto::v1::ResourceRef;

use super::policies::{attached_policies, inline_policies};
use super::{Identity, decode_policy_document};
use crate::Result;
use crate::aws::evaluate::Policy;
use crate::aws::{AwsClients, assumed_role_name, caller_arn, sdk_error};
use crate::refusal::ControlType;

/// What the caller's own policies are.
#[derive(Debug, Default)]
pub(crate) struct CallerPolicies {
    /// The caller's ARN as STS names it.
    pub arn: String,
    pub policies: Vec<Policy>,
    pub boundary: Option<Policy>,
}

/// Reads the caller's policies. An identity that is neither an IAM user nor an assumed role (the root user,
/// a federated user) has none rdfi can read: its ARN alone.
pub(crate) async fn caller_policies(clients: &AwsClients) -> Result<CallerPolicies> {
    let arn = caller_arn(clients).await?;
    let (kind, name) = if let Some(role) = assumed_role_name(&arn) {
        (Identity::Role, role.to_owned())
    } else if arn.contains(":user/") {
        let name = arn.rsplit('/').next().unwrap_or_default().to_owned();
        (Identity::User, name)
    } else {
        return Ok(CallerPolicies {
            arn,
            ..Default::default()
        });
    };
    let location = match kind {
        Identity::User => format!("user {name}"),
        Identity::Role => format!("role {name}"),
    };
    let principal = ResourceRef {
        id: arn.clone(),
        name: name.clone(),
        ..Default::default()
    };
    let mut policies = own_policies(clients, kind, &principal, &location).await?;
    if matches!(kind, Identity::User) {
        policies.extend(group_policies(clients, &name).await?);
    }
    let boundary_arn = match kind {
        Identity::User => clients
            .iam
            .get_user()
            .user_name(&name)
            .send()
            .await
            .map_err(|error| sdk_error("GetUser", &arn, error))?
            .user()
            .and_then(|user| user.permissions_boundary())
            .and_then(|boundary| boundary.permissions_boundary_arn())
            .map(str::to_owned),
        Identity::Role => clients
            .iam
            .get_role()
            .role_name(&name)
            .send()
            .await
            .map_err(|error| sdk_error("GetRole", &arn, error))?
            .role()
            .and_then(|role| role.permissions_boundary())
            .and_then(|boundary| boundary.permissions_boundary_arn())
            .map(str::to_owned),
    };
    let boundary = match boundary_arn {
        Some(policy_arn) => Some(Policy {
            name: policy_name(&policy_arn),
            location: location.clone(),
            control_type: ControlType::PermissionsBoundary,
            document: managed_document(clients, &policy_arn).await?,
        }),
        None => None,
    };
    Ok(CallerPolicies {
        arn,
        policies,
        boundary,
    })
}

/// A user's or role's inline and attached managed policies.
async fn own_policies(
    clients: &AwsClients,
    kind: Identity,
    principal: &ResourceRef,
    location: &str,
) -> Result<Vec<Policy>> {
    let policy = |name: String, document| Policy {
        name,
        location: location.to_owned(),
        control_type: ControlType::IdentityPolicy,
        document,
    };
    let mut policies: Vec<Policy> = inline_policies(clients, kind, principal)
        .await?
        .policies
        .into_iter()
        .map(|(name, document)| policy(name, document))
        .collect();
    for policy_arn in attached_policies(clients, kind, principal)
        .await?
        .policy_arns
    {
        let document = managed_document(clients, &policy_arn).await?;
        policies.push(policy(policy_name(&policy_arn), document));
    }
    Ok(policies)
}

/// The inline and attached policies of each group the user is in.
async fn group_policies(clients: &AwsClients, user: &str) -> Result<Vec<Policy>> {
    let mut groups = Vec::new();
    let mut pages = clients
        .iam
        .list_groups_for_user()
        .user_name(user)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|error| sdk_error("ListGroupsForUser", user, error))?;
        groups.extend(
            page.groups()
                .iter()
                .map(|group| group.group_name().to_owned()),
        );
    }
    let mut policies = Vec::new();
    for group in groups {
        let location = format!("group {group}");
        let policy = |name: String, document| Policy {
            name,
            location: location.clone(),
            control_type: ControlType::IdentityPolicy,
            document,
        };
        let mut inline = clients
            .iam
            .list_group_policies()
            .group_name(&group)
            .into_paginator()
            .send();
        while let Some(page) = inline.next().await {
            let page = page.map_err(|error| sdk_error("ListGroupPolicies", &group, error))?;
            for name in page.policy_names() {
                let raw = clients
                    .iam
                    .get_group_policy()
                    .group_name(&group)
                    .policy_name(name)
                    .send()
                    .await
                    .map_err(|error| sdk_error("GetGroupPolicy", &group, error))?;
                let document = decode_policy_document(&group, raw.policy_document())?;
                policies.push(policy(name.clone(), document));
            }
        }
        let mut attached = clients
            .iam
            .list_attached_group_policies()
            .group_name(&group)
            .into_paginator()
            .send();
        while let Some(page) = attached.next().await {
            let page =
                page.map_err(|error| sdk_error("ListAttachedGroupPolicies", &group, error))?;
            for attached in page.attached_policies() {
                if let Some(policy_arn) = attached.policy_arn() {
                    let document = managed_document(clients, policy_arn).await?;
                    policies.push(policy(policy_name(policy_arn), document));
                }
            }
        }
    }
    Ok(policies)
}

/// A managed policy's default version, decoded.
async fn managed_document(clients: &AwsClients, policy_arn: &str) -> Result<serde_json::Value> {
    let policy = clients
        .iam
        .get_policy()
        .policy_arn(policy_arn)
        .send()
        .await
        .map_err(|error| sdk_error("GetPolicy", policy_arn, error))?;
    let version = policy
        .policy()
        .and_then(|policy| policy.default_version_id())
        .unwrap_or("v1")
        .to_owned();
    let document = clients
        .iam
        .get_policy_version()
        .policy_arn(policy_arn)
        .version_id(version)
        .send()
        .await
        .map_err(|error| sdk_error("GetPolicyVersion", policy_arn, error))?;
    let raw = document
        .policy_version()
        .and_then(|version| version.document())
        .unwrap_or("{}");
    decode_policy_document(policy_arn, raw)
}

/// `AdministratorAccess` from `arn:aws:iam::aws:policy/AdministratorAccess`.
fn policy_name(policy_arn: &str) -> String {
    policy_arn
        .rsplit('/')
        .next()
        .unwrap_or(policy_arn)
        .to_owned()
}
