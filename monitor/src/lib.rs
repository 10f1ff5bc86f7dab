//! The monitor service (Monitor): observes the cloud, never changes it.
//!
//! Consumes (durable consumer `monitor`):
//! - `rdfi.v1.run.started`: discovers the opted-in resources matching the run's selector and publishes
//!   `rdfi.v1.observation.inventory`; starts polling the run's detection sources (`observe.sources`);
//! - `rdfi.v1.fault.injected`: polls the faulted resource until the misconfiguration is gone and publishes
//!   `rdfi.v1.observation.restored` when someone else (a corrective control) removed it;
//! - `rdfi.v1.fault.reverted`, `.revert_failed`: stops watching;
//! - `rdfi.v1.analysis.completed`: stops polling the run's detection sources.
//!
//! Detection signals arrive on the HTTP webhook `POST /v1/signals` (generic JSON, the Alertmanager webhook,
//! OCSF findings, Security Hub findings via EventBridge: see [`shapes`] and docs/signals.md), from the sources
//! it polls ([`sources`]: Security Hub, a NATS subject, a folder of scanner results) and from the provider's
//! own signal source; each is correlated ([`correlate`]) to the active faults on the resource it
//! names, by full identity and type, and published as `rdfi.v1.observation.signal`. A signal from a configured
//! stop source (`--stop-on-source`, an SLO alarm say) raises `rdfi.v1.safety.abort` (every executor reverts
//! everything) and never counts as a detection.

pub mod assets;
pub mod cadence;
pub mod correlate;
pub mod registry;
pub mod restore;
pub mod shapes;
mod sources;
mod webhook;

pub use webhook::{MAX_BODY_BYTES, SIGNATURE_HEADER, SOURCE_HEADER, SignalsAuth};

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use correlate::{EarlyLimits, EarlySignals};
use rdfi_core::bus::nats::NatsTarget;
use rdfi_core::bus::{Bus, BusError, ConsumerConfig};
use rdfi_core::{CancellationToken, catalogue, events, subjects, worker};
use rdfi_proto::now_millis as now_ms;
use rdfi_proto::v1::event::Payload;
use rdfi_proto::v1::{
    Event, ExperimentSpec, FaultInjected, InventoryObserved, ResourceRef, SafetyAbort,
    SignalReceived, SignalSourceSpec, StateRestored,
};
use rdfi_proto::{timestamp_from_millis, unix_millis};
use rdfi_provider::{DetectionSignal, Provider, RetryPolicy, with_retry};
use registry::{Active, Registry};
use shapes::Signal;
use sources::Scope;
use tracing::Instrument;

/// The component name in events.
pub const SOURCE: &str = "monitor";
/// The durable consumer name.
pub const CONSUMER: &str = "monitor";
/// Signals that named no active fault are kept this long, this many, in this many bytes, in case the fault's
/// injected event is still on its way (a fast detector can beat the bus).
pub const EARLY_SIGNALS: EarlyLimits = EarlyLimits {
    max_age_ms: 300_000,
    max_count: 10_000,
    max_bytes: 8 * 1024 * 1024,
};

#[derive(Debug, thiserror::Error)]
pub enum MonitorError {
    #[error(transparent)]
    Bus(#[from] BusError),
    #[error("webhook on {address}: {reason}")]
    Webhook { address: SocketAddr, reason: String },
}

pub struct MonitorConfig {
    pub bus: Arc<dyn Bus>,
    pub provider: Arc<dyn Provider>,
    pub opt_in_tag: String,
    /// Where the signal webhook listens; none when `None`.
    pub webhook_listen: Option<SocketAddr>,
    /// How the webhook authenticates callers; required when it listens beyond loopback.
    pub signals_auth: SignalsAuth,
    /// How often a faulted resource is read to see whether someone else restored it.
    pub poll_interval: Duration,
    /// Stop conditions: a signal from one of these sources (an SLO alarm, a pager) aborts every run.
    pub stop_sources: Vec<String>,
    /// Detection sources polled for every run, for the monitor's life (`--source`).
    pub sources: Vec<SignalSourceSpec>,
    /// The NATS server the monitor runs over (and its credentials), where a nats source without a url
    /// subscribes.
    pub nats: Option<NatsTarget>,
    /// How often every opted-in resource is read and published as `rdfi.v1.assets.observed` (first at
    /// start); never on a schedule when `None` (still on request, `rdfi.v1.assets.refresh`).
    pub asset_refresh: Option<Duration>,
}

/// A faulted resource the monitor reads until it is restored or reverted.
struct Watched<'a> {
    run_id: &'a str,
    fault_instance_id: &'a str,
    fault_id: &'a str,
    resource: &'a ResourceRef,
    injected_at_ms: i64,
    /// Milliseconds after the injection, soonest first.
    corrective_deadlines: &'a [u64],
    /// Taken over from a predecessor: the misconfiguration was there before this poller's first read.
    resumed: bool,
}

pub(crate) struct Monitor {
    bus: Arc<dyn Bus>,
    provider: Arc<dyn Provider>,
    opt_in_tag: String,
    poll_interval: Duration,
    stop_sources: Vec<String>,
    /// Every active fault, and the pollers of those this replica polls.
    active: Mutex<Registry<CancellationToken>>,
    early_signals: Mutex<EarlySignals>,
    nats: Option<NatsTarget>,
    /// The sources polled for each run in flight, stopped at its `analysis.completed`.
    run_sources: Mutex<HashMap<String, CancellationToken>>,
    shutdown: CancellationToken,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Observes until `shutdown`.
pub async fn run(config: MonitorConfig, shutdown: CancellationToken) -> Result<(), MonitorError> {
    let monitor = Arc::new(Monitor {
        bus: config.bus,
        provider: config.provider,
        opt_in_tag: config.opt_in_tag,
        poll_interval: config.poll_interval,
        stop_sources: config.stop_sources,
        active: Mutex::default(),
        early_signals: Mutex::default(),
        nats: config.nats,
        run_sources: Mutex::default(),
        shutdown: shutdown.clone(),
    });
    for spec in config.sources {
        tokio::spawn(sources::poll(
            monitor.clone(),
            spec,
            Scope::Every,
            shutdown.clone(),
        ));
    }
    if let Some(every) = config.asset_refresh {
        tokio::spawn(refresh_assets(monitor.clone(), every, shutdown.clone()));
    }
    let webhook = match config.webhook_listen {
        Some(address) => Some(
            webhook::start(
                address,
                config.signals_auth,
                monitor.clone(),
                shutdown.clone(),
            )
            .await?,
        ),
        None => None,
    };
    if let Some(mut signals) = monitor.provider.detection_signals() {
        let monitor = monitor.clone();
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    signal = signals.recv() => match signal {
                        Ok(signal) => { monitor.ingest(from_provider(monitor.provider.name(), signal)).await; }
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(missed)) => {
                            tracing::warn!(missed, "provider signals were dropped");
                        }
                        Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                    },
                }
            }
        });
    }
    // Every replica hears every fault's injection and revert, live and, at start, from the stream.
    let live = tokio::spawn(worker::consume(
        monitor.bus.clone(),
        ConsumerConfig::ephemeral(
            &format!("monitor-faults-{}", events::new_id()),
            &[
                subjects::FAULT_INJECTED,
                subjects::FAULT_REVERTED,
                subjects::FAULT_REVERT_FAILED,
            ],
        ),
        shutdown.clone(),
        {
            let monitor = monitor.clone();
            move |event| {
                let monitor = monitor.clone();
                async move { monitor.on_fault_news(event).await.map_err(Into::into) }
            }
        },
    ));
    monitor.replay().await?;
    tokio::spawn(expire_faults(monitor.clone(), shutdown.clone()));
    let consumed = worker::consume(
        monitor.bus.clone(),
        ConsumerConfig::new(
            CONSUMER,
            &[
                subjects::RUN_STARTED,
                subjects::FAULT_INJECTED,
                subjects::FAULT_REVERTED,
                subjects::FAULT_REVERT_FAILED,
                subjects::ANALYSIS_COMPLETED,
                subjects::ASSETS_REFRESH,
            ],
        ),
        shutdown.clone(),
        |event| {
            let monitor = monitor.clone();
            async move { monitor.on_event(event).await.map_err(Into::into) }
        },
    )
    .await;
    for poller in lock(&monitor.active).drain() {
        poller.cancel();
    }
    shutdown.cancel();
    if let Ok(Err(error)) = live.await {
        tracing::error!(%error, "the monitor's view of the active faults stopped");
    }
    if let Some(webhook) = webhook {
        let _ = webhook.await;
    }
    Ok(consumed?)
}

/// Forgets, every half minute, the faults whose revert nobody heard long after their deadline (memory stays
/// bounded, pollers end).
async fn expire_faults(monitor: Arc<Monitor>, shutdown: CancellationToken) {
    let mut every = tokio::time::interval(Duration::from_secs(30));
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = every.tick() => {}
        }
        for poller in lock(&monitor.active).expire(now_ms()) {
            poller.cancel();
        }
    }
}

impl Monitor {
    async fn on_event(self: &Arc<Self>, event: Event) -> Result<(), BusError> {
        match event.payload {
            Some(Payload::RunStarted(started)) => {
                let experiment = started.experiment.unwrap_or_default();
                self.start_sources(&event.run_id, &experiment.sources);
                let inventory = self.discover(experiment).await;
                tracing::info!(
                    resources = inventory.resources.len(),
                    error = %inventory.error,
                    "inventory observed"
                );
                self.bus
                    .publish(&events::event(
                        SOURCE,
                        &event.run_id,
                        "",
                        "",
                        Payload::InventoryObserved(inventory),
                    ))
                    .await
            }
            Some(Payload::FaultInjected(injected)) => {
                self.watch(&event.run_id, &event.fault_instance_id, injected, false)
                    .await
            }
            Some(Payload::AnalysisCompleted(_)) => {
                if let Some(stop) = lock(&self.run_sources).remove(&event.run_id) {
                    stop.cancel();
                }
                Ok(())
            }
            Some(Payload::AssetsRefreshRequested(request))
                if request.provider.is_empty() || request.provider == self.provider.name() =>
            {
                self.publish_assets(&event.id, &event.id).await
            }
            Some(Payload::FaultReverted(_)) | Some(Payload::FaultRevertFailed(_)) => {
                self.close(&event.fault_instance_id);
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// A fault's injection or revert, as every replica hears it: who is active, for correlation.
    async fn on_fault_news(self: &Arc<Self>, event: Event) -> Result<(), BusError> {
        match event.payload {
            Some(Payload::FaultInjected(injected)) => {
                self.track(&event.run_id, &event.fault_instance_id, injected)
                    .await
            }
            Some(Payload::FaultReverted(_)) | Some(Payload::FaultRevertFailed(_)) => {
                self.close(&event.fault_instance_id);
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// Rebuilds the active faults from the stream, and polls those still in their window: a predecessor that
    /// stopped (or crashed) polled them. Replicas polling one fault at once publish the same events, under
    /// the same ids, which the bus and knowledge keep once.
    async fn replay(self: &Arc<Self>) -> Result<(), BusError> {
        let history = self
            .bus
            .history(&[
                subjects::FAULT_INJECTED,
                subjects::FAULT_REVERTED,
                subjects::FAULT_REVERT_FAILED,
            ])
            .await?;
        for event in history {
            self.on_fault_news(event).await?;
        }
        let now = now_ms();
        let resumable: Vec<(String, String, FaultInjected)> = lock(&self.active)
            .iter()
            .filter(|(_, fault)| fault.poller.is_none() && fault.revert_due_ms > now)
            .map(|(id, fault)| {
                let mut injected = fault.injected.clone();
                injected.resource = Some(fault.resource.clone());
                (id.clone(), fault.run_id.clone(), injected)
            })
            .collect();
        if !resumable.is_empty() {
            tracing::info!(
                faults = resumable.len(),
                "resuming the polling of active faults"
            );
        }
        for (fault_instance_id, run_id, injected) in resumable {
            self.watch(&run_id, &fault_instance_id, injected, true)
                .await?;
        }
        Ok(())
    }

    /// Stops watching a reverted fault (for good: a late injection does not bring it back).
    fn close(&self, fault_instance_id: &str) {
        if let Some(poller) = lock(&self.active).closed(fault_instance_id) {
            poller.cancel();
        }
    }

    /// Polls the run's own detection sources until its analysis completes (once, however often `run.started`
    /// is delivered).
    fn start_sources(self: &Arc<Self>, run_id: &str, specs: &[SignalSourceSpec]) {
        if specs.is_empty() {
            return;
        }
        let stop = {
            let mut running = lock(&self.run_sources);
            if running.contains_key(run_id) {
                return;
            }
            let stop = self.shutdown.child_token();
            running.insert(run_id.to_owned(), stop.clone());
            stop
        };
        for spec in specs {
            tokio::spawn(sources::poll(
                self.clone(),
                spec.clone(),
                Scope::Run(run_id.to_owned()),
                stop.clone(),
            ));
        }
    }

    /// The resources (full identities) of the active faults `scope` covers, and the earliest injection among
    /// them; `None` when there is none.
    pub(crate) fn watched(&self, scope: &Scope) -> Option<(Vec<String>, i64)> {
        let active = lock(&self.active);
        let covered: Vec<_> = active
            .iter()
            .map(|(_, fault)| fault)
            .filter(|fault| scope.covers(&fault.run_id))
            .collect();
        let earliest = covered.iter().map(|fault| fault.injected_at_ms).min()?;
        let mut resources: Vec<String> = covered
            .iter()
            .map(|fault| fault.resource.id.clone())
            .collect();
        resources.sort_unstable();
        resources.dedup();
        Some((resources, earliest))
    }

    async fn discover(&self, experiment: ExperimentSpec) -> InventoryObserved {
        discover(
            self.provider.as_ref(),
            &self.opt_in_tag,
            experiment,
            &self.busy(),
        )
        .await
    }

    /// Reads every opted-in resource and publishes them (`rdfi.v1.assets.observed`), answering the request
    /// `request_id` ("" for a scheduled refresh). `discriminator` makes the event's id: the request's id, or
    /// the schedule's slot (replicas refreshing in the same slot publish one id, and knowledge keeps one).
    async fn publish_assets(&self, discriminator: &str, request_id: &str) -> Result<(), BusError> {
        let mut observed =
            assets::observe(self.provider.as_ref(), &self.opt_in_tag, &self.busy()).await;
        tracing::info!(
            assets = observed.resources.len(),
            error = %observed.error,
            "assets observed"
        );
        observed.request_id = request_id.to_owned();
        self.bus
            .publish(&events::event(
                SOURCE,
                "",
                "",
                discriminator,
                Payload::AssetsObserved(observed),
            ))
            .await
    }

    /// The resources (full identities) with one of rdfi's faults active on them.
    fn busy(&self) -> HashSet<String> {
        lock(&self.active)
            .iter()
            .map(|(_, fault)| fault.resource.id.clone())
            .collect()
    }

    /// Knows the fault as active (once), and publishes the signals that named it before it was known here.
    async fn track(
        &self,
        run_id: &str,
        fault_instance_id: &str,
        mut injected: FaultInjected,
    ) -> Result<(), BusError> {
        let resource = injected.resource.take().unwrap_or_default();
        let injected_at_ms = injected
            .injected_at
            .as_ref()
            .map(unix_millis)
            .unwrap_or_else(now_ms);
        let revert_due_ms = injected
            .revert_due_at
            .as_ref()
            .map(unix_millis)
            .unwrap_or(injected_at_ms);
        let fault = Active {
            run_id: run_id.to_owned(),
            resource: resource.clone(),
            injected,
            injected_at_ms,
            revert_due_ms,
            poller: None,
        };
        if !lock(&self.active).injected(fault_instance_id, fault) {
            return Ok(());
        }
        let early: Vec<(i64, Signal)> = {
            let mut early = lock(&self.early_signals);
            early.expire(now_ms(), EARLY_SIGNALS);
            early
                .iter()
                .filter(|(received_at, signal)| {
                    correlate::detects(
                        &resource,
                        fault_instance_id,
                        injected_at_ms,
                        signal,
                        *received_at,
                        &self.stop_sources,
                    )
                })
                .cloned()
                .collect()
        };
        for (received_at, signal) in early {
            self.publish_signal(run_id, fault_instance_id, &signal, received_at)
                .await?;
        }
        Ok(())
    }

    /// Tracks the fault, and polls its resource from this replica unless one poller here already does (or it
    /// is a dry run, or already reverted).
    async fn watch(
        self: &Arc<Self>,
        run_id: &str,
        fault_instance_id: &str,
        injected: FaultInjected,
        resumed: bool,
    ) -> Result<(), BusError> {
        let dry_run = injected.dry_run;
        self.track(run_id, fault_instance_id, injected).await?;
        if dry_run {
            return Ok(());
        }
        let stop_watching = CancellationToken::new();
        let polled = {
            let mut active = lock(&self.active);
            match active.start_polling(fault_instance_id, stop_watching.clone()) {
                Ok(fault) => Some((
                    fault.resource.clone(),
                    fault.injected.clone(),
                    fault.injected_at_ms,
                )),
                // Delivered again (or reverted meanwhile): it is watched already.
                Err(_) => None,
            }
        };
        let Some((resource, injected, injected_at_ms)) = polled else {
            return Ok(());
        };
        let monitor = self.clone();
        let (run_id, fault_instance_id) = (run_id.to_owned(), fault_instance_id.to_owned());
        let deadlines = injected
            .hypothesis
            .as_ref()
            .map(cadence::corrective_deadlines)
            .unwrap_or_default();
        tokio::spawn(
            async move {
                monitor
                    .poll_until_restored(
                        Watched {
                            run_id: &run_id,
                            fault_instance_id: &fault_instance_id,
                            fault_id: &injected.fault_id,
                            resource: &resource,
                            injected_at_ms,
                            corrective_deadlines: &deadlines,
                            resumed,
                        },
                        stop_watching,
                    )
                    .await
            }
            .in_current_span(),
        );
        Ok(())
    }

    async fn poll_until_restored(&self, fault: Watched<'_>, stop_watching: CancellationToken) {
        let (mut reads, mut failures) = (0u32, 0u32);
        let mut measure: Option<restore::Measure> = None;
        loop {
            let elapsed_ms = (now_ms() - fault.injected_at_ms).max(0).unsigned_abs();
            let delay = cadence::next_read(
                self.poll_interval,
                reads,
                failures,
                cadence::until_next_deadline(fault.corrective_deadlines, elapsed_ms),
            );
            tokio::select! {
                _ = stop_watching.cancelled() => return,
                _ = tokio::time::sleep(delay) => {}
            }
            reads = reads.saturating_add(1);
            let now = match self
                .provider
                .faults()
                .misconfiguration(fault.fault_id, fault.resource)
                .await
            {
                Ok(now) => now,
                Err(error) => {
                    failures = failures.saturating_add(1);
                    tracing::warn!(%error, resource = %fault.resource.id, "polling the faulted resource failed");
                    continue;
                }
            };
            failures = 0;
            let (meaning, measured) = if fault.resumed {
                restore::restoration_resumed(measure, now)
            } else {
                restore::restoration(measure, now)
            };
            let (partial, remaining, injected) = match meaning {
                restore::Restoration::Unchanged => {
                    measure = measured;
                    continue;
                }
                restore::Restoration::Partial {
                    remaining,
                    injected,
                } => (true, remaining, injected),
                restore::Restoration::Restored => (false, 0, 0),
            };
            if stop_watching.is_cancelled() {
                return;
            }
            let observed_at = now_ms();
            tracing::info!(resource = %fault.resource.id, partial, remaining, injected, "the fault was corrected by another actor");
            let event = events::event(
                SOURCE,
                fault.run_id,
                fault.fault_instance_id,
                &format!("{partial}\u{1f}{remaining}"),
                Payload::StateRestored(StateRestored {
                    resource: Some(fault.resource.clone()),
                    observed_at: Some(timestamp_from_millis(observed_at)),
                    partial,
                    remaining: u32::try_from(remaining).unwrap_or(u32::MAX),
                    injected: u32::try_from(injected).unwrap_or(u32::MAX),
                }),
            );
            if let Err(error) = self.bus.publish(&event).await {
                tracing::warn!(%error, "cannot publish the restored state; polling on");
                failures = failures.saturating_add(1);
                continue;
            }
            if !partial {
                return;
            }
            measure = measured;
        }
    }

    /// Correlates a detection signal with the active faults on the resource it names and publishes it for
    /// each. Returns how many faults it was correlated with.
    /// A stop source's signal raises the abort and correlates with nothing.
    pub(crate) async fn ingest(&self, signal: Signal) -> usize {
        self.ingest_where(signal, |_, _| true).await
    }

    /// [`Monitor::ingest`], for the faults `new` says the signal is news to (called with an empty id when it
    /// names no active fault, before it is kept for one being injected).
    pub(crate) async fn ingest_where(
        &self,
        signal: Signal,
        mut new: impl FnMut(&Signal, &str) -> bool,
    ) -> usize {
        let received_at = now_ms();
        if correlate::is_stop_source(&signal.source, &self.stop_sources) {
            self.raise_abort(&signal, received_at).await;
            return 0;
        }
        let matching: Vec<(String, String)> = lock(&self.active)
            .iter()
            .filter(|(id, fault)| {
                correlate::detects(
                    &fault.resource,
                    id,
                    fault.injected_at_ms,
                    &signal,
                    received_at,
                    &self.stop_sources,
                )
            })
            .map(|(id, fault)| (id.clone(), fault.run_id.clone()))
            .collect();
        if matching.is_empty() {
            if new(&signal, "") {
                tracing::info!(%signal, "signal names no active fault; kept in case one is being injected");
                lock(&self.early_signals).keep(received_at, signal, EARLY_SIGNALS);
            }
            return 0;
        }
        let mut published = 0;
        for (fault_instance_id, run_id) in &matching {
            if !new(&signal, fault_instance_id) {
                continue;
            }
            published += 1;
            if let Err(error) = self
                .publish_signal(run_id, fault_instance_id, &signal, received_at)
                .await
            {
                tracing::error!(%error, "cannot publish a detection signal");
            }
        }
        published
    }

    /// A stop condition held: every executor reverts every active fault.
    async fn raise_abort(&self, signal: &Signal, received_at: i64) {
        let reason = format!(
            "stop condition: {} signalled {:?} on {}",
            signal.source, signal.title, signal.resource
        );
        tracing::warn!(%reason, "raising safety.abort");
        let event = events::event(
            SOURCE,
            "",
            "",
            &format!("{}\u{1f}{received_at}", signal.source),
            Payload::SafetyAbort(SafetyAbort {
                run_id: String::new(),
                reason,
            }),
        );
        if let Err(error) = self.bus.publish(&event).await {
            tracing::error!(%error, "cannot publish safety.abort");
        }
    }

    async fn publish_signal(
        &self,
        run_id: &str,
        fault_instance_id: &str,
        signal: &Signal,
        received_at: i64,
    ) -> Result<(), BusError> {
        let span = tracing::info_span!("signal", %fault_instance_id, source = %signal.source);
        tracing::info!(parent: &span, resource = %signal.resource, format = %signal.format, "detection signal correlated");
        self.bus
            .publish(&events::event(
                SOURCE,
                run_id,
                fault_instance_id,
                &format!(
                    "{}\u{1f}{}\u{1f}{}\u{1f}{received_at}",
                    signal.source, signal.resource, signal.title
                ),
                Payload::SignalReceived(SignalReceived {
                    resource: signal.resource.clone(),
                    source: signal.source.clone(),
                    title: signal.title.clone(),
                    severity: signal.severity.clone(),
                    received_at: Some(timestamp_from_millis(received_at)),
                    resource_type: signal.resource_type.clone(),
                    correlation_id: signal.correlation_id.clone(),
                    observed_at: signal.observed_at_ms.map(timestamp_from_millis),
                    format: signal.format.clone(),
                }),
            ))
            .instrument(span)
            .await
    }
}

/// A signal the provider emits itself, in the monitor's terms: its format is the provider's name, its type the
/// one its ARN names.
fn from_provider(provider: &str, signal: DetectionSignal) -> Signal {
    Signal {
        format: provider.to_owned(),
        resource_type: shapes::resource_type_of_arn(&signal.resource).to_owned(),
        resource: signal.resource,
        source: signal.source,
        title: signal.title,
        severity: signal.severity,
        observed_at_ms: None,
        correlation_id: String::new(),
    }
}

/// Publishes the assets at start and then every `every`, until shutdown.
async fn refresh_assets(monitor: Arc<Monitor>, every: Duration, shutdown: CancellationToken) {
    let every_ms = every.as_millis().max(1) as i64;
    loop {
        let slot = format!("{}/{}", monitor.provider.name(), now_ms() / every_ms);
        if let Err(error) = monitor.publish_assets(&slot, "").await {
            tracing::warn!(%error, "publishing the assets failed; trying again at the next refresh");
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
    }
}

/// Read-only: the opted-in resources matching the experiment's selector, for the resource types of its faults,
/// each with its reach ([`assets::read_reach`]; not read for the resources in `busy`).
pub async fn discover(
    provider: &dyn Provider,
    opt_in_tag: &str,
    experiment: ExperimentSpec,
    busy: &HashSet<String>,
) -> InventoryObserved {
    let mut inventory = InventoryObserved {
        experiment: None,
        resources: Vec::new(),
        error: String::new(),
    };
    if experiment.provider != provider.name() {
        inventory.error = format!(
            "this monitor observes provider {:?}, the run targets {:?}",
            provider.name(),
            experiment.provider
        );
    } else {
        let mut resource_types: Vec<&str> = experiment
            .faults
            .iter()
            .filter_map(|selection| catalogue::find(&selection.fault_id))
            .map(|model| model.resource_type)
            .collect();
        resource_types.sort_unstable();
        resource_types.dedup();
        for resource_type in resource_types {
            let discovered = with_retry(&RetryPolicy::default(), "discover", || {
                provider.discover(resource_type)
            })
            .await;
            match discovered {
                Ok(resources) => inventory.resources.extend(assets::opted_in(
                    resources,
                    opt_in_tag,
                    &experiment.selector_tags,
                )),
                Err(error) => {
                    inventory.error = error.to_string();
                    break;
                }
            }
        }
        if inventory.error.is_empty() {
            assets::read_reach(provider, &mut inventory.resources, busy).await;
        }
    }
    inventory.experiment = Some(experiment);
    inventory
}
