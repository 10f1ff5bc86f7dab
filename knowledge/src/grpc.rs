//! `rdfi.v1.KnowledgeService` over tonic, with gRPC health.

use rdfi_core::telemetry;
use rdfi_proto::v1::knowledge_service_server::{KnowledgeService, KnowledgeServiceServer};
use rdfi_proto::v1::{
    GetRunRequest, GetRunResponse, ListFindingsRequest, ListFindingsResponse, ListRunsRequest,
    ListRunsResponse,
};
use tonic::service::Routes;
use tonic::{Request, Response, Status};
use tracing::Instrument;

use crate::{Store, StoreError};

const DEFAULT_LIMIT: u32 = 100;

struct Service {
    store: Store,
}

/// Every store error becomes a gRPC status here, and only here.
fn status(error: StoreError) -> Status {
    tracing::error!(%error, "knowledge query failed");
    Status::internal(error.to_string())
}

fn limit(requested: u32) -> u32 {
    if requested == 0 {
        DEFAULT_LIMIT
    } else {
        requested
    }
}

fn span<T>(name: &'static str, request: &Request<T>) -> tracing::Span {
    let span = tracing::info_span!("knowledge.grpc", rpc = name);
    telemetry::set_parent_from_grpc(&span, request.metadata());
    span
}

#[tonic::async_trait]
impl KnowledgeService for Service {
    async fn list_runs(
        &self,
        request: Request<ListRunsRequest>,
    ) -> Result<Response<ListRunsResponse>, Status> {
        let span = span("ListRuns", &request);
        let runs = self
            .store
            .list_runs(limit(request.get_ref().limit))
            .instrument(span)
            .await
            .map_err(status)?;
        Ok(Response::new(ListRunsResponse { runs }))
    }

    async fn get_run(
        &self,
        request: Request<GetRunRequest>,
    ) -> Result<Response<GetRunResponse>, Status> {
        let span = span("GetRun", &request);
        let run_id = &request.get_ref().run_id;
        if run_id.is_empty() {
            return Err(Status::invalid_argument("run_id is required"));
        }
        self.store
            .get_run(run_id)
            .instrument(span)
            .await
            .map_err(status)?
            .map(Response::new)
            .ok_or_else(|| Status::not_found(format!("no run {run_id}")))
    }

    async fn list_findings(
        &self,
        request: Request<ListFindingsRequest>,
    ) -> Result<Response<ListFindingsResponse>, Status> {
        let span = span("ListFindings", &request);
        let request = request.get_ref();
        let run_id = Some(request.run_id.as_str()).filter(|run_id| !run_id.is_empty());
        let findings = self
            .store
            .list_findings(run_id, limit(request.limit))
            .instrument(span)
            .await
            .map_err(status)?;
        Ok(Response::new(ListFindingsResponse { findings }))
    }
}

/// The gRPC service's full name, as reported by the health service.
pub(crate) const SERVICE_NAME: &str = "rdfi.v1.KnowledgeService";

pub(crate) fn routes(store: Store) -> Routes {
    Routes::new(KnowledgeServiceServer::new(Service { store }))
}
