//! Cloud providers: the one place that knows how to read and change a cloud. The executor changes resources
//! through [`Provider`] (snapshot, inject, revert); the monitor observes them through it (discover, probe,
//! detection signals). No other crate calls a cloud.
//!
//! Each fault is a [`FaultDriver`] over a provider's clients. What a fault does to a resource's state is pure
//! code in [`model`], shared by the real providers and the sandbox, so the sandbox means what AWS means.

pub mod aws;
pub mod model;
pub mod sandbox;
pub mod settings;

use std::collections::BTreeMap;
use std::fmt;

use async_trait::async_trait;
use rdfi_proto::v1::ResourceRef;
use serde::{Deserialize, Serialize};

/// A resource's security-relevant state before the fault, enough to restore it exactly. Providers write and
/// read it; the executor stores it in its journal and compares it, nothing else interprets it.
pub type Snapshot = serde_json::Value;

#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    /// The cloud refused the change: a preventive control (SCP, permission boundary, Block Public Access).
    #[error("{operation} on {resource} was refused: {reason}")]
    Refused {
        operation: String,
        resource: String,
        reason: String,
    },
    /// The resource is not in a state the fault can start from; nothing was changed.
    #[error("precondition not met on {resource}: {reason}")]
    Precondition { resource: String, reason: String },
    /// The call failed (network, throttling, server error, not found); whether it took effect is unknown.
    #[error("{operation} on {resource} failed: {reason}")]
    Api {
        operation: String,
        resource: String,
        reason: String,
    },
    #[error("provider {provider} does not implement fault {fault_id}")]
    Unsupported { provider: String, fault_id: String },
    #[error("the snapshot of {resource} cannot be read back: {reason}")]
    Snapshot { resource: String, reason: String },
    #[error("provider configuration: {0}")]
    Config(String),
}

pub type Result<T, E = ProviderError> = std::result::Result<T, E>;

/// A detective control's signal about a resource, as the monitor's webhook receives it
/// (`POST /v1/signals`) and as built-in providers emit it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DetectionSignal {
    /// The resource the detector names: an ARN or a name.
    pub resource: String,
    /// The detector's name.
    pub source: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub severity: String,
}

/// One fault's implementation on one provider's clients `C`.
#[async_trait]
pub trait FaultDriver<C: Sync>: Send + Sync {
    fn fault_id(&self) -> &'static str;

    /// Reads the state the fault changes and its revert needs.
    async fn snapshot(&self, clients: &C, resource: &ResourceRef) -> Result<Snapshot>;

    /// Injects the fault into a resource whose state is `snapshot`. Fails with
    /// [`ProviderError::Precondition`] before any call when the resource cannot take the fault.
    async fn inject(&self, clients: &C, resource: &ResourceRef, snapshot: &Snapshot) -> Result<()>;

    /// Restores the state in `snapshot`, touching only what the fault changed.
    async fn revert(&self, clients: &C, resource: &ResourceRef, snapshot: &Snapshot) -> Result<()>;

    /// Whether the fault's misconfiguration is present now.
    async fn is_present(&self, clients: &C, resource: &ResourceRef) -> Result<bool>;
}

/// A provider's fault drivers over its clients.
pub struct DriverSet<C> {
    provider: &'static str,
    clients: C,
    drivers: Vec<Box<dyn FaultDriver<C>>>,
}

impl<C: Sync> DriverSet<C> {
    pub fn new(provider: &'static str, clients: C, drivers: Vec<Box<dyn FaultDriver<C>>>) -> Self {
        DriverSet {
            provider,
            clients,
            drivers,
        }
    }

    pub fn clients(&self) -> &C {
        &self.clients
    }

    fn driver(&self, fault_id: &str) -> Result<&dyn FaultDriver<C>> {
        self.drivers
            .iter()
            .find(|driver| driver.fault_id() == fault_id)
            .map(|driver| driver.as_ref())
            .ok_or_else(|| ProviderError::Unsupported {
                provider: self.provider.to_owned(),
                fault_id: fault_id.to_owned(),
            })
    }
}

/// The per-fault operations, whatever the provider's clients are.
#[async_trait]
pub trait FaultOperations: Send + Sync {
    fn supports(&self, fault_id: &str) -> bool;
    async fn snapshot(&self, fault_id: &str, resource: &ResourceRef) -> Result<Snapshot>;
    async fn inject(
        &self,
        fault_id: &str,
        resource: &ResourceRef,
        snapshot: &Snapshot,
    ) -> Result<()>;
    async fn revert(
        &self,
        fault_id: &str,
        resource: &ResourceRef,
        snapshot: &Snapshot,
    ) -> Result<()>;
    async fn is_present(&self, fault_id: &str, resource: &ResourceRef) -> Result<bool>;
}

#[async_trait]
impl<C: Send + Sync> FaultOperations for DriverSet<C> {
    fn supports(&self, fault_id: &str) -> bool {
        self.driver(fault_id).is_ok()
    }

    async fn snapshot(&self, fault_id: &str, resource: &ResourceRef) -> Result<Snapshot> {
        self.driver(fault_id)?
            .snapshot(&self.clients, resource)
            .await
    }

    async fn inject(
        &self,
        fault_id: &str,
        resource: &ResourceRef,
        snapshot: &Snapshot,
    ) -> Result<()> {
        self.driver(fault_id)?
            .inject(&self.clients, resource, snapshot)
            .await
    }

    async fn revert(
        &self,
        fault_id: &str,
        resource: &ResourceRef,
        snapshot: &Snapshot,
    ) -> Result<()> {
        self.driver(fault_id)?
            .revert(&self.clients, resource, snapshot)
            .await
    }

    async fn is_present(&self, fault_id: &str, resource: &ResourceRef) -> Result<bool> {
        self.driver(fault_id)?
            .is_present(&self.clients, resource)
            .await
    }
}

/// A cloud (or the sandbox) as rdfi's services see it.
#[async_trait]
pub trait Provider: Send + Sync + 'static {
    /// `aws`, `sandbox`.
    fn name(&self) -> &'static str;

    /// Snapshot, inject, revert and probe, per fault.
    fn faults(&self) -> &dyn FaultOperations;

    /// Every resource of `resource_type` with its tags, all pages of the listing.
    async fn discover(&self, resource_type: &str) -> Result<Vec<ResourceRef>>;

    /// The resource's tags (labels) as they are now.
    async fn tags(&self, resource: &ResourceRef) -> Result<BTreeMap<String, String>>;

    /// Detection signals the provider itself produces (the sandbox's built-in detective controls).
    fn detection_signals(&self) -> Option<tokio::sync::broadcast::Receiver<DetectionSignal>> {
        None
    }
}

/// Reads a snapshot back into the typed state a driver wrote.
pub(crate) fn typed_snapshot<T: serde::de::DeserializeOwned>(
    resource: &ResourceRef,
    snapshot: &Snapshot,
) -> Result<T> {
    serde_json::from_value(snapshot.clone()).map_err(|error| ProviderError::Snapshot {
        resource: resource.id.clone(),
        reason: error.to_string(),
    })
}

/// Writes typed state as a snapshot.
pub(crate) fn to_snapshot<T: Serialize>(resource: &ResourceRef, state: &T) -> Result<Snapshot> {
    serde_json::to_value(state).map_err(|error| ProviderError::Snapshot {
        resource: resource.id.clone(),
        reason: error.to_string(),
    })
}

impl fmt::Display for DetectionSignal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} on {}: {}", self.source, self.resource, self.title)
    }
}
