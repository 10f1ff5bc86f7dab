//! The planner service (Plan): turns experiments into planned faults.
//!
//! A submitted experiment (gRPC `rdfi.v1.PlannerService/SubmitExperiment`, or [`PlannerHandle::submit`] in one
//! process) starts a run: `rdfi.v1.run.started`. The monitor answers with the opted-in resources it found
//! (`rdfi.v1.observation.inventory`, consumed by durable consumer `planner`); the planner then publishes one
//! `rdfi.v1.fault.planned` per selected (fault, resource) pair and `rdfi.v1.run.planned` with their count.
//!
//! A submitted campaign (gRPC `SubmitCampaign`, or [`Campaigns::submit`]) runs in rounds, each a run: its
//! strategy picks each round's faults from what knowledge has learned ([`Learned`]), and the next round waits
//! for the previous one's `rdfi.v1.analysis.completed` (durable consumer `planner-campaigns`).

pub mod campaign;
mod campaigns;
mod grpc;
pub mod plan;
pub mod strategy;

pub use campaigns::{CampaignError, Campaigns, Learned};

use std::sync::Arc;

use rdfi_core::bus::{Bus, BusError, ConsumerConfig};
use rdfi_core::grpc::GrpcServer;
use rdfi_core::{CancellationToken, events, subjects, worker};
use rdfi_proto::v1::event::Payload;
use rdfi_proto::v1::{ExperimentSpec, RunStarted};

/// The component name in events.
pub const SOURCE: &str = "planner";
/// The durable consumer name.
pub const CONSUMER: &str = "planner";
/// The durable consumer of the verdicts that close each campaign round.
pub const CAMPAIGN_CONSUMER: &str = "planner-campaigns";
/// The lease of the one active planner among replicas ([`rdfi_core::lease`]): campaigns live in its memory.
pub const LEASE: &str = "planner";

#[derive(Debug, thiserror::Error)]
pub enum PlannerError {
    #[error(transparent)]
    Bus(#[from] BusError),
    #[error(transparent)]
    Grpc(#[from] rdfi_core::grpc::GrpcServeError),
}

/// Starts runs. Cheap to clone.
#[derive(Clone)]
pub struct PlannerHandle {
    bus: Arc<dyn Bus>,
}

impl PlannerHandle {
    pub fn new(bus: Arc<dyn Bus>) -> Self {
        PlannerHandle { bus }
    }

    /// Starts a run of a validated experiment; returns its id.
    pub async fn submit(&self, experiment: ExperimentSpec) -> Result<String, PlannerError> {
        self.submit_as(events::new_id(), experiment).await
    }

    /// Starts a run under an id the caller chose (to watch its events before it starts).
    pub async fn submit_as(
        &self,
        run_id: String,
        experiment: ExperimentSpec,
    ) -> Result<String, PlannerError> {
        let span = tracing::info_span!("run", run_id = %run_id, experiment = %experiment.name);
        let _entered = span.enter();
        tracing::info!("run started");
        self.bus
            .publish(&run_started(&run_id, experiment, ""))
            .await?;
        Ok(run_id)
    }
}

pub struct PlannerConfig {
    pub bus: Arc<dyn Bus>,
    /// Where to serve gRPC; not served when `None`.
    pub grpc: Option<rdfi_core::grpc::Listen>,
    /// Where campaigns learn from; without it every round plans as if nothing were known.
    pub learned: Option<Arc<dyn Learned>>,
    /// Given to share the campaigns with the caller (in one process); a new set otherwise.
    pub campaigns: Option<Campaigns>,
}

/// Plans runs and campaigns until `shutdown`.
pub async fn run(config: PlannerConfig, shutdown: CancellationToken) -> Result<(), PlannerError> {
    let campaigns = config.campaigns.clone().unwrap_or_else(|| {
        Campaigns::new(config.bus.clone(), config.learned.clone(), shutdown.clone())
    });
    let grpc = GrpcServer::spawn(
        config.grpc.clone(),
        grpc::SERVICE_NAME,
        grpc::routes(PlannerHandle::new(config.bus.clone()), campaigns.clone()),
        shutdown.clone(),
    );
    let bus = config.bus.clone();
    let planning = campaigns.clone();
    let plans = worker::consume(
        config.bus.clone(),
        ConsumerConfig::new(CONSUMER, &[subjects::OBSERVATION_INVENTORY]),
        shutdown.clone(),
        move |event| {
            let bus = bus.clone();
            let campaigns = planning.clone();
            async move {
                if let Some(Payload::InventoryObserved(inventory)) = &event.payload {
                    let planned = match campaigns.plan_round(&event, inventory).await {
                        Some(round) => round,
                        None => plan::plan(&event.run_id, inventory),
                    };
                    for planned in planned {
                        bus.publish(&planned).await?;
                    }
                    tracing::info!(resources = inventory.resources.len(), "run planned");
                }
                Ok(())
            }
        },
    );
    let rounds = worker::consume(
        config.bus,
        ConsumerConfig::new(
            CAMPAIGN_CONSUMER,
            &[subjects::ANALYSIS_VERDICT, subjects::ANALYSIS_COMPLETED],
        ),
        shutdown.clone(),
        move |event| {
            let campaigns = campaigns.clone();
            async move {
                match &event.payload {
                    Some(Payload::VerdictReached(verdict)) => {
                        campaigns.verdict(&event.run_id, verdict.verdict())
                    }
                    Some(Payload::AnalysisCompleted(_)) => campaigns.completed(&event.run_id),
                    _ => {}
                }
                Ok(())
            }
        },
    );
    let (plans, rounds) = tokio::join!(plans, rounds);
    grpc.stop(&shutdown).await?;
    plans?;
    Ok(rounds?)
}

/// The `run.started` of a run: an experiment's, or a campaign's round (`campaign_id` set).
pub(crate) fn run_started(
    run_id: &str,
    experiment: ExperimentSpec,
    campaign_id: &str,
) -> rdfi_proto::v1::Event {
    events::event(
        SOURCE,
        run_id,
        "",
        "",
        Payload::RunStarted(RunStarted {
            experiment: Some(experiment),
            campaign_id: campaign_id.to_owned(),
        }),
    )
}
