//! `rdfi.v1.PlannerService` over tonic, with gRPC health.

use rdfi_core::{experiment, telemetry};
use rdfi_proto::v1::planner_service_server::{PlannerService, PlannerServiceServer};
use rdfi_proto::v1::{SubmitExperimentRequest, SubmitExperimentResponse};
use tonic::service::Routes;
use tonic::{Request, Response, Status};
use tracing::Instrument;

use crate::PlannerHandle;

struct Service {
    handle: PlannerHandle,
}

#[tonic::async_trait]
impl PlannerService for Service {
    async fn submit_experiment(
        &self,
        request: Request<SubmitExperimentRequest>,
    ) -> Result<Response<SubmitExperimentResponse>, Status> {
        let span = tracing::info_span!("planner.grpc", rpc = "SubmitExperiment");
        telemetry::set_parent_from_grpc(&span, request.metadata());
        let request = request.into_inner();
        // Parsing is CPU work that a hostile document can make long: off the async threads, so the other
        // services of this process keep running meanwhile.
        let yaml = request.experiment_yaml;
        let mut spec = tokio::task::spawn_blocking(move || experiment::parse(&yaml, "experiment"))
            .await
            .map_err(|error| Status::internal(error.to_string()))?
            .map_err(|error| Status::invalid_argument(error.to_string()))?;
        spec.dry_run |= request.dry_run;
        let run_id = self
            .handle
            .submit(spec)
            .instrument(span)
            .await
            .map_err(|error| Status::unavailable(error.to_string()))?;
        Ok(Response::new(SubmitExperimentResponse { run_id }))
    }
}

/// The gRPC service's full name, as reported by the health service.
pub(crate) const SERVICE_NAME: &str = "rdfi.v1.PlannerService";

pub(crate) fn routes(handle: PlannerHandle) -> Routes {
    Routes::new(PlannerServiceServer::new(Service { handle }))
}
