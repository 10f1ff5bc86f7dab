//! Cloud providers: the one place that knows how to read and change a cloud. The executor changes resources
//! through [`Provider`] (snapshot, inject, revert); the monitor observes them through it (discover, probe,
//! detection signals). No other crate calls a cloud.
//!
//! Each fault is a [`FaultDriver`] over a provider's clients. What a fault does to a resource's state is pure
//! code in [`model`], shared by the real providers and the sandbox, so the sandbox means what AWS means.
//!
//! Reverts are surgical and verified (safety invariant 4): [`FaultOperations::revert`] reads the resource,
//! computes from it and the snapshot the state with only the fault's own change undone
//! ([`model::FaultSemantics::revert`]), and writes only if that differs from what it read;
//! [`FaultOperations::check_revert`] reads the resource again and says whether the revert is complete (the
//! misconfiguration gone, reverting again a no-op) and whether others changed it meanwhile.

pub mod aws;
pub mod exposure;
pub mod gcp;
pub mod marking;
pub mod model;
pub mod permissions;
pub mod refusal;
pub mod sandbox;
pub mod settings;

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use model::FaultSemantics;
pub use refusal::{Attribution, ControlType, NamedControl};

use rand::Rng;
use rdfi_proto::v1::ResourceRef;
use serde::{Deserialize, Serialize};

/// A resource's security-relevant state before the fault: what the fault's revert undoes its change towards.
/// Providers write and read it (revert, check_revert); the executor stores it in its journal and hands it back,
/// nothing else interprets it.
pub type Snapshot = serde_json::Value;

#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    /// The cloud refused the change: a preventive control (SCP, permission boundary, Block Public Access).
    #[error("{operation} on {resource} was refused: {reason}")]
    Refused {
        operation: String,
        resource: String,
        reason: String,
        /// The control the refusal is attributed to, and the refused action, as far as rdfi could tell.
        /// Boxed: it is seldom there, and `Result`s of this error stay small.
        attribution: Box<Attribution>,
    },
    /// The resource is not in a state the fault can start from; nothing was changed.
    #[error("precondition not met on {resource}: {reason}")]
    Precondition { resource: String, reason: String },
    /// The call failed (network, throttling, server error, not found); whether it took effect is unknown.
    /// `retryable`: throttling, a server error or a transport failure, worth trying again.
    #[error("{operation} on {resource} failed: {reason}")]
    Api {
        operation: String,
        resource: String,
        reason: String,
        retryable: bool,
        /// The cloud refused to process the call for its rate (throttling): it had no effect, so it can be
        /// tried again without first reading whether it took effect.
        throttled: bool,
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

/// A state as just read from the cloud, with the version the cloud gave it where its API takes conditional
/// writes (a GCS bucket's metageneration, a bucket IAM policy's etag). The version is never part of a snapshot
/// nor of any comparison: it only makes the write that follows the read fail if someone wrote in between.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Versioned<S> {
    pub state: S,
    pub version: Option<String>,
}

impl<S> Versioned<S> {
    /// A state whose API has no conditional writes.
    pub fn unversioned(state: S) -> Self {
        Versioned {
            state,
            version: None,
        }
    }
}

/// What re-reading a resource says about a fault's revert (see [`FaultOperations::check_revert`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RevertCheck {
    /// The fault's own change is undone: its misconfiguration is gone and reverting again would change
    /// nothing.
    pub reverted: bool,
    /// The resource differs from its snapshot beyond the fault's change (once that is undone): someone else
    /// changed it meanwhile, and the revert keeps their change.
    pub changed_by_others: bool,
    /// The [`state_hash`] of the state this check read.
    pub observed: StateHash,
}

/// SHA-256 of a fault's state as read, for the audit trail: of its snapshot's JSON, so that the snapshot taken
/// before an injection and a state read after its revert hash alike when the resource is as it was.
pub type StateHash = [u8; 32];

pub fn state_hash(state: &Snapshot) -> StateHash {
    use sha2::Digest as _;
    sha2::Sha256::digest(state.to_string().as_bytes()).into()
}

/// One fault's implementation on one provider's clients `C`, over the typed state its [`FaultSemantics`]
/// describe. Providers implement only the reads and writes; the snapshot, the preconditions, the revert's
/// target, its verification, the probe and the description come from the shared semantics.
#[async_trait]
pub trait StateDriver<C: Sync>: Send + Sync {
    type Fault: FaultSemantics;

    /// Reads the state the fault changes and its revert needs.
    async fn read(&self, clients: &C, resource: &ResourceRef) -> Result<FaultStateOf<Self, C>>;

    /// Reads the state with its version, for a revert that writes conditionally. Drivers whose API has no
    /// conditional writes keep this default (no version).
    async fn read_versioned(
        &self,
        clients: &C,
        resource: &ResourceRef,
    ) -> Result<Versioned<FaultStateOf<Self, C>>> {
        Ok(Versioned::unversioned(self.read(clients, resource).await?))
    }

    /// Injects the fault into a resource whose state is `before` (its preconditions hold).
    async fn inject(
        &self,
        clients: &C,
        resource: &ResourceRef,
        before: &FaultStateOf<Self, C>,
    ) -> Result<()>;

    /// Takes the resource from `current` (just read, with its version) to `target`, the state the fault's
    /// revert computed from `current` and the snapshot (never equal to `current`: then nothing is called).
    /// Drivers of APIs that add and remove single entries (policy attachments, keys, rules, members) change
    /// only the difference between the two; drivers of APIs that take a whole configuration write `target`,
    /// which holds every change others made meanwhile, conditionally on `current.version` where the API can.
    async fn revert(
        &self,
        clients: &C,
        resource: &ResourceRef,
        current: &Versioned<FaultStateOf<Self, C>>,
        target: &FaultStateOf<Self, C>,
    ) -> Result<()>;
}

/// The state type a driver's fault changes.
pub type FaultStateOf<D, C> = <<D as StateDriver<C>>::Fault as FaultSemantics>::State;

/// A driver as the provider dispatches to it: untyped snapshots in, untyped snapshots out.
#[async_trait]
pub(crate) trait FaultDriver<C: Sync>: Send + Sync {
    fn fault_id(&self) -> &'static str;
    async fn snapshot(&self, clients: &C, resource: &ResourceRef) -> Result<Snapshot>;
    async fn inject(&self, clients: &C, resource: &ResourceRef, snapshot: &Snapshot) -> Result<()>;
    async fn revert(&self, clients: &C, resource: &ResourceRef, snapshot: &Snapshot) -> Result<()>;
    async fn check_revert(
        &self,
        clients: &C,
        resource: &ResourceRef,
        snapshot: &Snapshot,
    ) -> Result<RevertCheck>;
    async fn is_present(&self, clients: &C, resource: &ResourceRef) -> Result<bool>;
    async fn misconfiguration(&self, clients: &C, resource: &ResourceRef) -> Result<usize>;
    fn describe(&self, resource: &ResourceRef, snapshot: &Snapshot) -> Result<String>;
}

#[async_trait]
impl<C: Sync, D: StateDriver<C>> FaultDriver<C> for D {
    fn fault_id(&self) -> &'static str {
        D::Fault::ID
    }

    async fn snapshot(&self, clients: &C, resource: &ResourceRef) -> Result<Snapshot> {
        to_snapshot(resource, &self.read(clients, resource).await?)
    }

    async fn inject(&self, clients: &C, resource: &ResourceRef, snapshot: &Snapshot) -> Result<()> {
        let before: FaultStateOf<D, C> = typed_state(resource, snapshot)?;
        if D::Fault::is_present(&before) {
            return Err(ProviderError::Precondition {
                resource: resource.id.clone(),
                reason: format!(
                    "the misconfiguration is already there: {}",
                    D::Fault::PRESENT
                ),
            });
        }
        if let Some(reason) = D::Fault::precondition(&before) {
            return Err(ProviderError::Precondition {
                resource: resource.id.clone(),
                reason,
            });
        }
        StateDriver::inject(self, clients, resource, &before).await
    }

    /// Reads the resource, computes the revert's target from it and the snapshot, and writes only if the
    /// target differs from what was read.
    async fn revert(&self, clients: &C, resource: &ResourceRef, snapshot: &Snapshot) -> Result<()> {
        let before: FaultStateOf<D, C> = typed_state(resource, snapshot)?;
        let current = self.read_versioned(clients, resource).await?;
        let target = D::Fault::revert(&current.state, &before);
        if target == current.state {
            return Ok(());
        }
        StateDriver::revert(self, clients, resource, &current, &target).await
    }

    async fn check_revert(
        &self,
        clients: &C,
        resource: &ResourceRef,
        snapshot: &Snapshot,
    ) -> Result<RevertCheck> {
        let before: FaultStateOf<D, C> = typed_state(resource, snapshot)?;
        let current = self.read(clients, resource).await?;
        let observed = state_hash(&to_snapshot(resource, &current)?);
        Ok(revert_check::<D::Fault>(&current, &before, observed))
    }

    async fn is_present(&self, clients: &C, resource: &ResourceRef) -> Result<bool> {
        Ok(D::Fault::is_present(&self.read(clients, resource).await?))
    }

    async fn misconfiguration(&self, clients: &C, resource: &ResourceRef) -> Result<usize> {
        Ok(D::Fault::misconfiguration(
            &self.read(clients, resource).await?,
        ))
    }

    fn describe(&self, resource: &ResourceRef, snapshot: &Snapshot) -> Result<String> {
        Ok(D::Fault::describe(&typed_state(resource, snapshot)?))
    }
}

/// What a state read now (`current`, hashing to `observed`) says about the revert of fault `F` from `before`.
pub(crate) fn revert_check<F: FaultSemantics>(
    current: &F::State,
    before: &F::State,
    observed: StateHash,
) -> RevertCheck {
    let target = F::revert(current, before);
    RevertCheck {
        reverted: !F::is_present(current) && target == *current,
        changed_by_others: target != *before,
        observed,
    }
}

/// A provider's fault drivers over its clients.
pub struct DriverSet<C> {
    provider: &'static str,
    clients: C,
    drivers: Vec<Box<dyn FaultDriver<C>>>,
}

impl<C: Sync> DriverSet<C> {
    pub(crate) fn new(
        provider: &'static str,
        clients: C,
        drivers: Vec<Box<dyn FaultDriver<C>>>,
    ) -> Self {
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
    /// Reads the resource and undoes the fault's own change, keeping every other change made since the
    /// snapshot; writes nothing when there is nothing to undo. Verify with [`FaultOperations::check_revert`].
    async fn revert(
        &self,
        fault_id: &str,
        resource: &ResourceRef,
        snapshot: &Snapshot,
    ) -> Result<()>;
    /// Reads the resource and tells whether the fault's revert is complete.
    async fn check_revert(
        &self,
        fault_id: &str,
        resource: &ResourceRef,
        snapshot: &Snapshot,
    ) -> Result<RevertCheck>;
    async fn is_present(&self, fault_id: &str, resource: &ResourceRef) -> Result<bool>;
    /// How much of the fault's misconfiguration the resource holds now
    /// ([`model::FaultSemantics::misconfiguration`]): 0 when none; lower than right after the injection when
    /// someone removed part of it. One read.
    async fn misconfiguration(&self, fault_id: &str, resource: &ResourceRef) -> Result<usize>;
    /// What injecting the fault into a resource in state `snapshot` changes, for people.
    fn describe(
        &self,
        fault_id: &str,
        resource: &ResourceRef,
        snapshot: &Snapshot,
    ) -> Result<String>;
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

    async fn check_revert(
        &self,
        fault_id: &str,
        resource: &ResourceRef,
        snapshot: &Snapshot,
    ) -> Result<RevertCheck> {
        self.driver(fault_id)?
            .check_revert(&self.clients, resource, snapshot)
            .await
    }

    async fn is_present(&self, fault_id: &str, resource: &ResourceRef) -> Result<bool> {
        self.driver(fault_id)?
            .is_present(&self.clients, resource)
            .await
    }

    async fn misconfiguration(&self, fault_id: &str, resource: &ResourceRef) -> Result<usize> {
        self.driver(fault_id)?
            .misconfiguration(&self.clients, resource)
            .await
    }

    fn describe(
        &self,
        fault_id: &str,
        resource: &ResourceRef,
        snapshot: &Snapshot,
    ) -> Result<String> {
        self.driver(fault_id)?.describe(resource, snapshot)
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

    /// The identities rdfi acts as (ARNs): never a target, whatever their tags say.
    async fn caller_identity(&self) -> Result<Vec<String>> {
        Ok(Vec::new())
    }

    /// Attributes a refusal of `operation` on `resource` that the cloud's answer did not: reads what it needs
    /// (never changes anything) and names the control, or leaves it unattributed with the refused action.
    async fn attribute_refusal(
        &self,
        _operation: &str,
        _resource: &ResourceRef,
        attribution: Attribution,
    ) -> Attribution {
        attribution
    }

    /// Places a canary object in the bucket `resource` (an exposure proof's, [`exposure`]), replacing one of
    /// the same key.
    async fn place_canary(&self, resource: &ResourceRef, canary: &exposure::Canary) -> Result<()>;

    /// Reads the canary as an outsider would, with an anonymous, unsigned request: GETs it, or lists the
    /// bucket under its key. Never fails: a failed read is an answer too.
    async fn read_anonymously(
        &self,
        resource: &ResourceRef,
        read: exposure::OutsiderRead,
        canary_key: &str,
    ) -> exposure::AnonymousAnswer;

    /// Removes the canary; succeeds when it is not there.
    async fn remove_canary(&self, resource: &ResourceRef, canary_key: &str) -> Result<()>;

    /// Whether the canary is in the bucket, read with rdfi's own credentials.
    async fn has_canary(&self, resource: &ResourceRef, canary_key: &str) -> Result<bool>;

    /// The provider's security findings service (AWS Security Hub), polled by the monitor: the active findings
    /// about `resources` updated at or after `since` (RFC 3339), as ASFF JSON. Read only.
    async fn security_findings(
        &self,
        _resources: &[String],
        _since: &str,
    ) -> Result<Vec<serde_json::Value>> {
        Err(ProviderError::Config(format!(
            "the {} provider has no security findings service to poll",
            self.name()
        )))
    }

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

/// Reads a snapshot back into a fault's typed state, in canonical form.
pub(crate) fn typed_state<S: model::FaultState>(
    resource: &ResourceRef,
    snapshot: &Snapshot,
) -> Result<S> {
    typed_snapshot::<S>(resource, snapshot).map(model::FaultState::canonical)
}

/// Writes typed state as a snapshot.
pub(crate) fn to_snapshot<T: Serialize>(resource: &ResourceRef, state: &T) -> Result<Snapshot> {
    serde_json::to_value(state).map_err(|error| ProviderError::Snapshot {
        resource: resource.id.clone(),
        reason: error.to_string(),
    })
}

/// How hard a cloud call is tried: the injection when the cloud throttles, the revert until it verifies.
#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    pub attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 6,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    /// Exponential backoff with jitter in its upper half.
    pub fn delay(&self, attempt: u32) -> Duration {
        let exponential = self
            .base_delay
            .saturating_mul(1 << attempt.min(16))
            .min(self.max_delay);
        exponential.mul_f64(rand::rng().random_range(0.5..=1.0))
    }
}

/// Runs a provider call, trying it again with backoff while it fails with a retryable error (throttling, a
/// server error, a transport failure).
pub async fn with_retry<T, F, Fut>(policy: &RetryPolicy, what: &str, mut call: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    let mut attempt = 0;
    loop {
        match call().await {
            Err(error) if error.is_retryable() && attempt + 1 < policy.attempts => {
                tracing::warn!(%error, attempt, what, "cloud call throttled or failed; retrying");
                tokio::time::sleep(policy.delay(attempt)).await;
                attempt += 1;
            }
            outcome => return outcome,
        }
    }
}

impl ProviderError {
    /// Whether the call was throttled: refused for its rate, without effect.
    pub fn is_throttled(&self) -> bool {
        matches!(
            self,
            ProviderError::Api {
                throttled: true,
                ..
            }
        )
    }

    /// Whether trying the same call again may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            ProviderError::Api {
                retryable: true,
                ..
            }
        )
    }
}

impl fmt::Display for DetectionSignal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} on {}: {}", self.source, self.resource, self.title)
    }
}
