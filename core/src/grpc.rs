//! Serving gRPC: every service's server starts the same way, with the standard health service beside it.

use std::net::SocketAddr;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tonic::service::Routes;

#[derive(Debug, thiserror::Error)]
#[error("gRPC server on {address}: {reason}")]
pub struct GrpcServeError {
    pub address: SocketAddr,
    pub reason: String,
}

/// Serves `routes` plus `grpc.health.v1.Health` (reporting `service_name` as serving) on `address` until
/// `shutdown`.
pub async fn serve(
    address: SocketAddr,
    service_name: &str,
    routes: Routes,
    shutdown: CancellationToken,
) -> Result<(), GrpcServeError> {
    let fail = |reason: String| GrpcServeError { address, reason };
    let (health_reporter, health_service) = tonic_health::server::health_reporter();
    health_reporter
        .set_service_status(service_name, tonic_health::ServingStatus::Serving)
        .await;
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .map_err(|error| fail(error.to_string()))?;
    tracing::info!(%address, service = service_name, "gRPC listening");
    tonic::transport::Server::builder()
        .add_routes(routes.add_service(health_service))
        .serve_with_incoming_shutdown(
            tokio_stream::wrappers::TcpListenerStream::new(listener),
            shutdown.cancelled_owned(),
        )
        .await
        .map_err(|error| fail(error.to_string()))
}

/// A gRPC server beside a service's consumer loop, when the service is configured to serve one.
pub struct GrpcServer(Option<JoinHandle<Result<(), GrpcServeError>>>);

impl GrpcServer {
    /// Starts serving `routes` on `address`, or nothing when `address` is `None`.
    pub fn spawn(
        address: Option<SocketAddr>,
        service_name: &'static str,
        routes: Routes,
        shutdown: CancellationToken,
    ) -> GrpcServer {
        GrpcServer(
            address.map(|address| tokio::spawn(serve(address, service_name, routes, shutdown))),
        )
    }

    /// Cancels `shutdown` (the consumer loop has ended) and waits for the server to stop.
    pub async fn stop(self, shutdown: &CancellationToken) -> Result<(), GrpcServeError> {
        shutdown.cancel();
        match self.0 {
            Some(server) => server.await.unwrap_or_else(|error| {
                tracing::error!(%error, "gRPC server task failed");
                Ok(())
            }),
            None => Ok(()),
        }
    }
}
