//! `rdfi.v1.ExecutorService` over tonic: abort and list active faults.

use rdfi_core::telemetry;
use rdfi_proto::timestamp_from_millis;
use rdfi_proto::v1::executor_service_server::{ExecutorService, ExecutorServiceServer};
use rdfi_proto::v1::{
    AbortRequest, AbortResponse, ActiveFault, ListActiveRequest, ListActiveResponse, ResumeRequest,
    ResumeResponse,
};
use tonic::service::Routes;
use tonic::{Request, Response, Status};
use tracing::Instrument;

use crate::{ExecutorError, ExecutorHandle};

/// The gRPC service's full name, as reported by the health service.
pub(crate) const SERVICE_NAME: &str = "rdfi.v1.ExecutorService";

pub(crate) fn routes(handle: ExecutorHandle) -> Routes {
    Routes::new(ExecutorServiceServer::new(Service { handle }))
}

struct Service {
    handle: ExecutorHandle,
}

fn status(error: ExecutorError) -> Status {
    tracing::error!(%error, "executor request failed");
    Status::internal(error.to_string())
}

#[tonic::async_trait]
impl ExecutorService for Service {
    async fn abort(
        &self,
        request: Request<AbortRequest>,
    ) -> Result<Response<AbortResponse>, Status> {
        let span = tracing::info_span!("executor.grpc", rpc = "Abort");
        telemetry::set_parent_from_grpc(&span, request.metadata());
        let request = request.into_inner();
        let run_id = Some(request.run_id.as_str()).filter(|run_id| !run_id.is_empty());
        let reason = if request.reason.is_empty() {
            "abort requested over gRPC"
        } else {
            &request.reason
        };
        let outcome = self
            .handle
            .abort(run_id, reason)
            .instrument(span)
            .await
            .map_err(status)?;
        Ok(Response::new(AbortResponse {
            reverted: outcome.reverted,
            still_open: outcome.still_open,
        }))
    }

    async fn resume(
        &self,
        request: Request<ResumeRequest>,
    ) -> Result<Response<ResumeResponse>, Status> {
        let span = tracing::info_span!("executor.grpc", rpc = "Resume");
        telemetry::set_parent_from_grpc(&span, request.metadata());
        self.handle
            .resume()
            .instrument(span)
            .await
            .map_err(status)?;
        Ok(Response::new(ResumeResponse {}))
    }

    async fn list_active(
        &self,
        _request: Request<ListActiveRequest>,
    ) -> Result<Response<ListActiveResponse>, Status> {
        let faults = self
            .handle
            .open_faults()
            .await
            .map_err(status)?
            .into_iter()
            .map(|record| ActiveFault {
                fault_instance_id: record.fault_instance_id,
                run_id: record.run_id,
                fault_id: record.fault_id,
                resource: Some(record.resource),
                state: record.state.into(),
                injected_at: record.injected_at_ms.map(timestamp_from_millis),
                revert_due_at: Some(timestamp_from_millis(record.revert_due_at_ms)),
                reason: record.reason.unwrap_or_default(),
            })
            .collect();
        Ok(Response::new(ListActiveResponse { faults }))
    }
}
