//! The one driver of every fault that changes a resource policy written whole (KMS key policies, SQS queue,
//! SNS topic, Secrets Manager secret and ECR repository policies): each service says how its policy is read
//! and written ([`PolicyStore`]), the fault's semantics say what to write.

use std::marker::PhantomData;

use async_trait::async_trait;
use rdfi_proto::v1::ResourceRef;

use super::AwsClients;
use crate::model::{FaultSemantics, FaultState};
use crate::{FaultDriver, Result, StateDriver, Versioned};

/// How one service reads and writes the policy of one of its resources, whole.
#[async_trait]
pub(crate) trait PolicyStore: Send + Sync + 'static {
    type State: FaultState;

    async fn read(clients: &AwsClients, resource: &ResourceRef) -> Result<Self::State>;

    /// Writes `policy` in place of the resource's; a state without a policy deletes it where the service can.
    async fn write(
        clients: &AwsClients,
        resource: &ResourceRef,
        policy: &Self::State,
    ) -> Result<()>;
}

/// A policy fault `F` over the policies of store `S`: the injection writes `F::inject` of the policy read; the
/// services take a policy whole, so the revert writes the target, the policy just read with the fault's
/// statement taken out, and statements others changed meanwhile stay.
pub(crate) struct PolicyDriver<F, S>(PhantomData<fn() -> (F, S)>);

impl<F, S> PolicyDriver<F, S>
where
    F: FaultSemantics,
    S: PolicyStore<State = F::State>,
{
    pub(crate) fn boxed() -> Box<dyn FaultDriver<AwsClients>> {
        Box::new(PolicyDriver::<F, S>(PhantomData))
    }
}

#[async_trait]
impl<F, S> StateDriver<AwsClients> for PolicyDriver<F, S>
where
    F: FaultSemantics,
    S: PolicyStore<State = F::State>,
{
    type Fault = F;

    async fn read(&self, clients: &AwsClients, resource: &ResourceRef) -> Result<F::State> {
        S::read(clients, resource).await
    }

    async fn inject(
        &self,
        clients: &AwsClients,
        resource: &ResourceRef,
        before: &F::State,
    ) -> Result<()> {
        S::write(clients, resource, &F::inject(before)).await
    }

    async fn revert(
        &self,
        clients: &AwsClients,
        resource: &ResourceRef,
        _current: &Versioned<F::State>,
        target: &F::State,
    ) -> Result<()> {
        S::write(clients, resource, target).await
    }
}
