//! Roles' trust policies.

use std::marker::PhantomData;

use async_trait::async_trait;
use rdfi_proto::v1::ResourceRef;

use super::decode_policy_document;
use crate::aws::{AwsClients, sdk_error};
use crate::model::FaultSemantics;
use crate::model::iam::TrustPolicy;
use crate::{Result, StateDriver, Versioned};

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
/// policy with the fault's statement added. IAM takes a trust policy whole: the revert writes the target
/// document, the one read just before without the fault's statement, so statements others changed stay.
pub(crate) struct TrustPolicyDriver<F>(pub(super) PhantomData<F>);

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
        _current: &Versioned<TrustPolicy>,
        target: &TrustPolicy,
    ) -> Result<()> {
        write_trust_policy(clients, resource, target).await
    }
}
