//! `rdfi.v1.KnowledgeService` over tonic, with gRPC health.

use rdfi_core::telemetry;
use rdfi_proto::unix_millis;
use rdfi_proto::v1::knowledge_service_server::{KnowledgeService, KnowledgeServiceServer};
use rdfi_proto::v1::{
    GetAssetHistoryRequest, GetAssetHistoryResponse, GetRunRequest, GetRunResponse,
    ListAssetsRequest, ListAssetsResponse, ListAuditRequest, ListAuditResponse,
    ListControlsRequest, ListControlsResponse, ListFindingsRequest, ListFindingsResponse,
    ListPairTrialsRequest, ListPairTrialsResponse, ListRunsRequest, ListRunsResponse,
};
use tonic::service::Routes;
use tonic::{Request, Response, Status};
use tracing::Instrument;

use crate::store::{FindingCursor, FindingFilter, RunCursor};
use crate::{Store, StoreError};

const DEFAULT_LIMIT: u32 = 100;
const DEFAULT_AUDIT_LIMIT: u32 = 1000;

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
        let request = request.get_ref();
        let after = token(&request.page_token, RunCursor::from_token)?;
        let (runs, next) = self
            .store
            .list_runs(limit(request.limit), after.as_ref())
            .instrument(span)
            .await
            .map_err(status)?;
        Ok(Response::new(ListRunsResponse {
            runs,
            next_page_token: next.map(|cursor| cursor.token()).unwrap_or_default(),
        }))
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
        let after = token(&request.page_token, FindingCursor::from_token)?;
        let set = |value: &str| Some(value.trim().to_owned()).filter(|value| !value.is_empty());
        let filter = FindingFilter {
            run_id: set(&request.run_id),
            severity: set(&request.severity),
            provider: set(&request.provider),
            resource: set(&request.resource),
            control: set(&request.control),
            fault_id: set(&request.fault_id),
            since_ms: request.since.as_ref().map(unix_millis),
            until_ms: request.until.as_ref().map(unix_millis),
        };
        let (findings, next) = self
            .store
            .list_findings(&filter, limit(request.limit), after.as_ref())
            .instrument(span)
            .await
            .map_err(status)?;
        Ok(Response::new(ListFindingsResponse {
            findings,
            next_page_token: next.map(|cursor| cursor.token()).unwrap_or_default(),
        }))
    }

    async fn list_controls(
        &self,
        request: Request<ListControlsRequest>,
    ) -> Result<Response<ListControlsResponse>, Status> {
        let span = span("ListControls", &request);
        let request = request.get_ref();
        fn set(value: &str) -> Option<&str> {
            Some(value.trim()).filter(|value| !value.is_empty())
        }
        let scorecards = self
            .store
            .list_controls(set(&request.control), set(&request.fault_id))
            .instrument(span)
            .await
            .map_err(status)?;
        Ok(Response::new(ListControlsResponse { scorecards }))
    }

    async fn get_asset_history(
        &self,
        request: Request<GetAssetHistoryRequest>,
    ) -> Result<Response<GetAssetHistoryResponse>, Status> {
        let span = span("GetAssetHistory", &request);
        let resource = request.get_ref().resource.trim();
        if resource.is_empty() {
            return Err(Status::invalid_argument("resource is required"));
        }
        self.store
            .asset_history(resource)
            .instrument(span)
            .await
            .map_err(status)?
            .map(Response::new)
            .ok_or_else(|| Status::not_found(format!("rdfi never planned a fault on {resource}")))
    }
    async fn list_pair_trials(
        &self,
        request: Request<ListPairTrialsRequest>,
    ) -> Result<Response<ListPairTrialsResponse>, Status> {
        let span = span("ListPairTrials", &request);
        let trials = self
            .store
            .pair_trials()
            .instrument(span)
            .await
            .map_err(status)?;
        Ok(Response::new(ListPairTrialsResponse { trials }))
    }

    async fn list_assets(
        &self,
        request: Request<ListAssetsRequest>,
    ) -> Result<Response<ListAssetsResponse>, Status> {
        let span = span("ListAssets", &request);
        let given = |value: &str| {
            Some(value.trim())
                .filter(|value| !value.is_empty())
                .map(str::to_owned)
        };
        let provider = given(&request.get_ref().provider);
        let resource_type = given(&request.get_ref().resource_type);
        let assets = self
            .store
            .list_assets(provider.as_deref(), resource_type.as_deref())
            .instrument(span)
            .await
            .map_err(status)?;
        Ok(Response::new(ListAssetsResponse { assets }))
    }

    async fn list_audit(
        &self,
        request: Request<ListAuditRequest>,
    ) -> Result<Response<ListAuditResponse>, Status> {
        let span = span("ListAudit", &request);
        let request = request.into_inner();
        let given = |value: &str| Some(value.trim().to_owned()).filter(|value| !value.is_empty());
        let limit = match request.limit {
            0 => DEFAULT_AUDIT_LIMIT,
            limit => limit,
        };
        let entries = self
            .store
            .audit(
                given(&request.run_id).as_deref(),
                given(&request.resource).as_deref(),
                limit,
            )
            .instrument(span)
            .await
            .map_err(status)?;
        Ok(Response::new(ListAuditResponse { entries }))
    }
}

/// A request's page token, decoded; `None` for the first page.
fn token<T>(
    token: &str,
    decode: impl Fn(&str) -> Result<T, StoreError>,
) -> Result<Option<T>, Status> {
    if token.is_empty() {
        return Ok(None);
    }
    decode(token)
        .map(Some)
        .map_err(|error| Status::invalid_argument(error.to_string()))
}

/// The gRPC service's full name, as reported by the health service.
pub(crate) const SERVICE_NAME: &str = "rdfi.v1.KnowledgeService";

pub(crate) fn routes(store: Store) -> Routes {
    Routes::new(KnowledgeServiceServer::new(Service { store }))
}
