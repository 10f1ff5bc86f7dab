//! One driver for every protection that is on or off ([`crate::model::switch`]): each protection says how to
//! read it and how to switch it ([`AwsSwitch`]); the driver switches it off to inject and to the target to
//! revert (the revert is only called when the target differs from what was just read).

use std::future::Future;
use std::marker::PhantomData;

use async_trait::async_trait;
use rdfi_proto::v1::ResourceRef;

use super::AwsClients;
use crate::model::switch::{Protection, Switch, SwitchedOff};
use crate::{Result, StateDriver, Versioned};

/// How one protection is read and switched through the AWS API.
pub(crate) trait AwsSwitch: Protection {
    /// Whether the protection is on.
    fn is_on(
        clients: &AwsClients,
        resource: &ResourceRef,
    ) -> impl Future<Output = Result<bool>> + Send;

    /// Switches the protection on or off.
    fn switch(
        clients: &AwsClients,
        resource: &ResourceRef,
        on: bool,
    ) -> impl Future<Output = Result<()>> + Send;
}

/// The driver of [`SwitchedOff<P>`].
pub(crate) struct SwitchDriver<P>(pub(crate) PhantomData<P>);

impl<P> SwitchDriver<P> {
    pub(crate) fn new() -> Self {
        SwitchDriver(PhantomData)
    }
}

#[async_trait]
impl<P: AwsSwitch> StateDriver<AwsClients> for SwitchDriver<P> {
    type Fault = SwitchedOff<P>;

    async fn read(&self, clients: &AwsClients, resource: &ResourceRef) -> Result<Switch> {
        Ok(Switch {
            enabled: P::is_on(clients, resource).await?,
        })
    }

    async fn inject(
        &self,
        clients: &AwsClients,
        resource: &ResourceRef,
        _before: &Switch,
    ) -> Result<()> {
        P::switch(clients, resource, false).await
    }

    async fn revert(
        &self,
        clients: &AwsClients,
        resource: &ResourceRef,
        _current: &Versioned<Switch>,
        target: &Switch,
    ) -> Result<()> {
        P::switch(clients, resource, target.enabled).await
    }
}
