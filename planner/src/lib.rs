//! The planner service (Plan): turns experiments into planned faults.
//!
//! A submitted experiment (gRPC `rdfi.v1.PlannerService/SubmitExperiment`, or [`PlannerHandle::submit`] in one
//! process) starts a run: `rdfi.v1.run.started`. The monitor answers with the opted-in resources it found
//! (`rdfi.v1.observation.inventory`, consumed by durable consumer `planner`); the planner then publishes one
//! `rdfi.v1.fault.planned` per selected (fault, resource) pair and `rdfi.v1.run.planned` with their count.

mod grpc;
pub mod plan;

use std::net::SocketAddr;
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
            .publish(&events::event(
                SOURCE,
                &run_id,
                "",
                "",
                Payload::RunStarted(RunStarted {
                    experiment: Some(experiment),
                }),
            ))
            .await?;
        Ok(run_id)
    }
}

pub struct PlannerConfig {
    pub bus: Arc<dyn Bus>,
    /// Where to serve gRPC; not served when `None`.
    pub grpc_listen: Option<SocketAddr>,
}

/// Plans runs until `shutdown`.
pub async fn run(config: PlannerConfig, shutdown: CancellationToken) -> Result<(), PlannerError> {
    let grpc = GrpcServer::spawn(
        config.grpc_listen,
        grpc::SERVICE_NAME,
        grpc::routes(PlannerHandle::new(config.bus.clone())),
        shutdown.clone(),
    );
    let bus = config.bus.clone();
    let consumed = worker::consume(
        config.bus,
        ConsumerConfig::new(CONSUMER, &[subjects::OBSERVATION_INVENTORY]),
        shutdown.clone(),
        |event| {
            let bus = bus.clone();
            async move {
                if let Some(Payload::InventoryObserved(inventory)) = &event.payload {
                    for planned in plan::plan(&event.run_id, inventory) {
                        bus.publish(&planned).await?;
                    }
                    tracing::info!(resources = inventory.resources.len(), "run planned");
                }
                Ok(())
            }
        },
    )
    .await;
    grpc.stop(&shutdown).await?;
    Ok(consumed?)
}
