//! The knowledge service (Knowledge): rdfi's system of record.
//!
//! Consumes every subject under `rdfi.v1.` (durable consumer `knowledge`) and stores each event once, by id,
//! with projections of runs, faults, observations, verdicts and findings (SQLite). Serves
//! `rdfi.v1.KnowledgeService` (ListRuns, GetRun, ListFindings) and the standard gRPC health service.

mod grpc;
pub mod scorecard;
pub mod store;

use std::sync::Arc;

use rdfi_core::bus::{Bus, BusError, ConsumerConfig};
use rdfi_core::grpc::GrpcServer;
use rdfi_core::{CancellationToken, subjects, worker};
pub use store::{Store, StoreError};

/// The durable consumer name.
pub const CONSUMER: &str = "knowledge";

pub struct KnowledgeConfig {
    pub bus: Arc<dyn Bus>,
    pub store: Store,
    /// Where to serve gRPC; not served when `None` (one-process runs read the store directly).
    pub grpc: Option<rdfi_core::grpc::Listen>,
}

#[derive(Debug, thiserror::Error)]
pub enum KnowledgeError {
    #[error(transparent)]
    Bus(#[from] BusError),
    #[error(transparent)]
    Grpc(#[from] rdfi_core::grpc::GrpcServeError),
}

/// Stores events until `shutdown`, serving gRPC meanwhile if configured.
pub async fn run(
    config: KnowledgeConfig,
    shutdown: CancellationToken,
) -> Result<(), KnowledgeError> {
    let grpc = GrpcServer::spawn(
        config.grpc.clone(),
        grpc::SERVICE_NAME,
        grpc::routes(config.store.clone()),
        shutdown.clone(),
    );
    let store = config.store.clone();
    let consumed = worker::consume(
        config.bus,
        ConsumerConfig::new(CONSUMER, &[subjects::ALL]),
        shutdown.clone(),
        |event| {
            let store = store.clone();
            async move {
                store.record(&event).await?;
                Ok(())
            }
        },
    )
    .await;
    grpc.stop(&shutdown).await?;
    Ok(consumed?)
}
