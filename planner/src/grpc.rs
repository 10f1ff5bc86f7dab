//! `rdfi.v1.PlannerService` over tonic, with gRPC health.

use rdfi_core::{experiment, telemetry};
use rdfi_proto::v1::planner_service_server::{PlannerService, PlannerServiceServer};
use rdfi_proto::v1::{
    CampaignRequest, CampaignSpec, CampaignStatus, ListCampaignsRequest, ListCampaignsResponse,
    SubmitCampaignRequest, SubmitExperimentRequest, SubmitExperimentResponse,
};
use tonic::service::Routes;
use tonic::{Request, Response, Status};
use tracing::Instrument;

use crate::campaign::State;
use crate::{CampaignError, Campaigns, PlannerHandle};

struct Service {
    handle: PlannerHandle,
    campaigns: Campaigns,
}

/// Parses a document off the async threads: parsing is CPU work a hostile document could make long, and the
/// other services of this process keep running meanwhile.
async fn parsed<T: Send + 'static>(
    yaml: String,
    parse: fn(&str) -> Result<T, String>,
) -> Result<T, Status> {
    tokio::task::spawn_blocking(move || parse(&yaml))
        .await
        .map_err(|error| Status::internal(error.to_string()))?
        .map_err(Status::invalid_argument)
}

fn campaign_status(
    result: Result<CampaignStatus, CampaignError>,
) -> Result<Response<CampaignStatus>, Status> {
    result.map(Response::new).map_err(|error| match error {
        CampaignError::NotFound(_) => Status::not_found(error.to_string()),
        CampaignError::Finished { .. } => Status::failed_precondition(error.to_string()),
        CampaignError::Invalid(_) => Status::invalid_argument(error.to_string()),
    })
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
        let mut spec = parsed(request.experiment_yaml, |yaml| {
            experiment::parse(yaml, "experiment").map_err(|errors| errors.to_string())
        })
        .await?;
        spec.dry_run |= request.dry_run;
        let run_id = self
            .handle
            .submit(spec)
            .instrument(span)
            .await
            .map_err(|error| Status::unavailable(error.to_string()))?;
        Ok(Response::new(SubmitExperimentResponse { run_id }))
    }

    async fn submit_campaign(
        &self,
        request: Request<SubmitCampaignRequest>,
    ) -> Result<Response<CampaignStatus>, Status> {
        let span = tracing::info_span!("planner.grpc", rpc = "SubmitCampaign");
        telemetry::set_parent_from_grpc(&span, request.metadata());
        let request = request.into_inner();
        let mut spec: CampaignSpec = parsed(request.campaign_yaml, parse_campaign).await?;
        if let Some(experiment) = spec.experiment.as_mut() {
            experiment.dry_run |= request.dry_run;
        }
        let _entered = span.enter();
        campaign_status(self.campaigns.submit(spec))
    }

    async fn list_campaigns(
        &self,
        _request: Request<ListCampaignsRequest>,
    ) -> Result<Response<ListCampaignsResponse>, Status> {
        Ok(Response::new(ListCampaignsResponse {
            campaigns: self.campaigns.list(),
        }))
    }

    async fn get_campaign(
        &self,
        request: Request<CampaignRequest>,
    ) -> Result<Response<CampaignStatus>, Status> {
        campaign_status(self.campaigns.get(&request.into_inner().campaign_id))
    }

    async fn pause_campaign(
        &self,
        request: Request<CampaignRequest>,
    ) -> Result<Response<CampaignStatus>, Status> {
        campaign_status(
            self.campaigns
                .control(&request.into_inner().campaign_id, State::Paused),
        )
    }

    async fn resume_campaign(
        &self,
        request: Request<CampaignRequest>,
    ) -> Result<Response<CampaignStatus>, Status> {
        campaign_status(
            self.campaigns
                .control(&request.into_inner().campaign_id, State::Running),
        )
    }

    async fn cancel_campaign(
        &self,
        request: Request<CampaignRequest>,
    ) -> Result<Response<CampaignStatus>, Status> {
        campaign_status(
            self.campaigns
                .control(&request.into_inner().campaign_id, State::Cancelled),
        )
    }
}

/// A campaign file, parsed and validated, or every problem with it.
fn parse_campaign(yaml: &str) -> Result<CampaignSpec, String> {
    match experiment::parse_document(yaml, "campaign").map_err(|errors| errors.to_string())? {
        experiment::Document::Campaign(spec) => Ok(spec),
        experiment::Document::Experiment(_) => Err(
            "campaign: this is a kind: Experiment; SubmitExperiment runs experiments".to_owned(),
        ),
    }
}

/// The gRPC service's full name, as reported by the health service.
pub(crate) const SERVICE_NAME: &str = "rdfi.v1.PlannerService";

/// The largest request the planner decodes: a document of the most bytes rdfi reads, and room for the other
/// fields. A larger request is refused before it is read into memory (`OUT_OF_RANGE`).
pub(crate) const MAX_REQUEST_BYTES: usize = experiment::MAX_DOCUMENT_BYTES + 64 * 1024;

pub(crate) fn routes(handle: PlannerHandle, campaigns: Campaigns) -> Routes {
    Routes::new(
        PlannerServiceServer::new(Service { handle, campaigns })
            .max_decoding_message_size(MAX_REQUEST_BYTES),
    )
}
