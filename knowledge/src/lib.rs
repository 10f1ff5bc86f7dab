//! The knowledge service (Knowledge): rdfi's system of record.
//!
//! Consumes every subject under `rdfi.v1.` (durable consumer `knowledge`) and stores each event once, by id,
//! with projections of runs, faults, observations, verdicts and findings (SQLite, or PostgreSQL shared by
//! replicas, of which the one holding [`LEASE`] records). Serves
//! `rdfi.v1.KnowledgeService` (ListRuns, GetRun, ListFindings) and the standard gRPC health service.

mod grpc;
pub mod scorecard;
pub mod store;

use std::sync::Arc;

use rdfi_core::bus::{Bus, BusError, ConsumerConfig};
use rdfi_core::grpc::GrpcServer;
use rdfi_core::lease::{LeaseLost, Leases};
use rdfi_core::{CancellationToken, subjects, worker};
pub use store::{Database, Store, StoreError};

/// The durable consumer name.
pub const CONSUMER: &str = "knowledge";
/// The lease of the one replica that records ([`rdfi_core::lease`]): events of one fault must be projected in
/// the order they were published, which replicas splitting one consumer would not keep. Every replica serves
/// queries.
pub const LEASE: &str = "knowledge-recorder";

pub struct KnowledgeConfig {
    pub bus: Arc<dyn Bus>,
    pub store: Store,
    /// Where to serve gRPC; not served when `None` (one-process runs read the store directly).
    pub grpc: Option<rdfi_core::grpc::Listen>,
    /// Replicas over one database record only while they hold [`LEASE`]; one process alone records at once.
    pub leases: Option<Leases>,
}

#[derive(Debug, thiserror::Error)]
pub enum KnowledgeError {
    #[error(transparent)]
    Bus(#[from] BusError),
    #[error(transparent)]
    Grpc(#[from] rdfi_core::grpc::GrpcServeError),
    #[error(transparent)]
    LeaseLost(#[from] LeaseLost),
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
    let bus = config.bus;
    let record = |stop| {
        worker::consume(
            bus,
            ConsumerConfig::new(CONSUMER, &[subjects::ALL]),
            stop,
            move |event| {
                let store = store.clone();
                async move {
                    store.record(&event).await?;
                    Ok(())
                }
            },
        )
    };
    let consumed = match &config.leases {
        Some(leases) => leases
            .run_holding(LEASE, &shutdown, record)
            .await
            .map(|recorded| recorded.unwrap_or(Ok(()))),
        None => Ok(record(shutdown.clone()).await),
    };
    grpc.stop(&shutdown).await?;
    Ok(consumed??)
}
