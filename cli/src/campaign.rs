//! Campaigns from the command line: `rdfi campaign start|status|pause|resume|stop` against a running planner
//! (gRPC), and a campaign run to its end in one process (`rdfi run CAMPAIGN.yaml`).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use rdfi_core::grpc::{Authed, ClientArgs};
use rdfi_planner::Campaigns;
use rdfi_proto::v1::planner_service_client::PlannerServiceClient;
use rdfi_proto::v1::{
    CampaignRequest, CampaignStatus, ListCampaignsRequest, SubmitCampaignRequest,
};
use serde::Serialize;

use crate::report::{FindingReport, Report};
use crate::{Failure, abort, errln, outln, usage};

/// How a campaign is shown: a person's line, or JSON.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CampaignView {
    pub campaign_id: String,
    pub name: String,
    pub strategy: String,
    pub seed: Option<u64>,
    pub state: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub reason: String,
    pub rounds: u32,
    pub faults_planned: u32,
    pub run_ids: Vec<String>,
    pub verdicts: BTreeMap<String, u32>,
    pub started_at_ms: Option<i64>,
    pub next_round_at_ms: Option<i64>,
}

impl CampaignView {
    pub fn of(status: &CampaignStatus) -> CampaignView {
        let millis = |t: &Option<rdfi_proto::Timestamp>| t.as_ref().map(rdfi_proto::unix_millis);
        CampaignView {
            campaign_id: status.campaign_id.clone(),
            name: status.name.clone(),
            strategy: status.strategy.clone(),
            seed: status.spec.as_ref().and_then(|spec| spec.seed),
            state: status.state.clone(),
            reason: status.reason.clone(),
            rounds: status.rounds,
            faults_planned: status.faults_planned,
            run_ids: status.run_ids.clone(),
            verdicts: status.verdicts.clone().into_iter().collect(),
            started_at_ms: millis(&status.started_at),
            next_round_at_ms: millis(&status.next_round_at),
        }
    }

    /// One line: what it is, where it is, what it found.
    pub fn line(&self) -> String {
        let verdicts = if self.verdicts.is_empty() {
            "no verdict yet".to_owned()
        } else {
            self.verdicts
                .iter()
                .map(|(verdict, count)| format!("{verdict} {count}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let reason = if self.reason.is_empty() {
            String::new()
        } else {
            format!(" ({})", self.reason)
        };
        format!(
            "{} {} [{}, seed {}]: {}{reason}; {} rounds, {} faults: {verdicts}",
            self.campaign_id,
            self.name,
            self.strategy,
            self.seed.map_or("-".to_owned(), |seed| seed.to_string()),
            self.state,
            self.rounds,
            self.faults_planned
        )
    }
}

#[derive(clap::Args)]
pub struct PlannerArgs {
    /// The planner's gRPC URL.
    #[arg(
        long,
        env = "RDFI_PLANNER_URL",
        default_value = "http://127.0.0.1:50052",
        value_name = "URL"
    )]
    pub planner: String,
    #[command(flatten)]
    pub client: ClientArgs,
    /// Print JSON instead of a line per campaign.
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Subcommand)]
pub enum CampaignCommand {
    /// Submit a campaign file (kind: Campaign) to a running planner; prints its id.
    Start {
        file: PathBuf,
        #[command(flatten)]
        planner: PlannerArgs,
        /// Do everything but the mutating calls.
        #[arg(long)]
        dry_run: bool,
    },
    /// One campaign's status, or every campaign's without an id.
    Status {
        id: Option<String>,
        #[command(flatten)]
        planner: PlannerArgs,
    },
    /// No new round starts until it is resumed; faults in flight finish and are reverted as always.
    Pause {
        id: String,
        #[command(flatten)]
        planner: PlannerArgs,
    },
    Resume {
        id: String,
        #[command(flatten)]
        planner: PlannerArgs,
    },
    /// Ends it: no new round; faults in flight finish and are reverted as always.
    Stop {
        id: String,
        #[command(flatten)]
        planner: PlannerArgs,
    },
}

async fn connect(planner: &PlannerArgs) -> Result<PlannerServiceClient<Authed>, Failure> {
    let channel = planner
        .client
        .connect(&planner.planner)
        .await
        .map_err(|error| usage(format!("the planner: {error}")))?;
    Ok(PlannerServiceClient::new(channel))
}

fn refused(status: tonic::Status) -> Failure {
    usage(format!("the planner answered: {}", status.message()))
}

fn print(statuses: &[CampaignStatus], json: bool) -> Result<(), Failure> {
    let views: Vec<CampaignView> = statuses.iter().map(CampaignView::of).collect();
    if json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&views).map_err(|error| usage(error.to_string()))?
        );
    } else if views.is_empty() {
        outln!("no campaign on this planner");
    } else {
        for view in &views {
            outln!("{}", view.line());
        }
    }
    Ok(())
}

/// `rdfi campaign ...`.
pub async fn command(command: CampaignCommand) -> Result<u8, Failure> {
    match command {
        CampaignCommand::Start {
            file,
            planner,
            dry_run,
        } => {
            let (name, source) = crate::read_document(&file)?;
            // Checked here too, so that a wrong file is reported with its name and nothing is submitted.
            crate::campaign_of(&source, &name)?;
            let status = connect(&planner)
                .await?
                .submit_campaign(SubmitCampaignRequest {
                    campaign_yaml: source,
                    dry_run,
                })
                .await
                .map_err(refused)?
                .into_inner();
            print(&[status], planner.json)?;
        }
        CampaignCommand::Status { id, planner } => {
            let mut client = connect(&planner).await?;
            let statuses = match id {
                Some(campaign_id) => vec![
                    client
                        .get_campaign(CampaignRequest { campaign_id })
                        .await
                        .map_err(refused)?
                        .into_inner(),
                ],
                None => {
                    client
                        .list_campaigns(ListCampaignsRequest {})
                        .await
                        .map_err(refused)?
                        .into_inner()
                        .campaigns
                }
            };
            print(&statuses, planner.json)?;
        }
        CampaignCommand::Pause { id, planner } => {
            let status = connect(&planner)
                .await?
                .pause_campaign(CampaignRequest { campaign_id: id })
                .await
                .map_err(refused)?
                .into_inner();
            print(&[status], planner.json)?;
        }
        CampaignCommand::Resume { id, planner } => {
            let status = connect(&planner)
                .await?
                .resume_campaign(CampaignRequest { campaign_id: id })
                .await
                .map_err(refused)?
                .into_inner();
            print(&[status], planner.json)?;
        }
        CampaignCommand::Stop { id, planner } => {
            let status = connect(&planner)
                .await?
                .cancel_campaign(CampaignRequest { campaign_id: id })
                .await
                .map_err(refused)?
                .into_inner();
            print(&[status], planner.json)?;
        }
    }
    Ok(0)
}

/// What a campaign run in one process did: its status, each round's report, its findings riskiest first.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CampaignOutcome {
    pub campaign: CampaignView,
    pub rounds: Vec<Report>,
    pub findings: Vec<FindingReport>,
}

impl CampaignOutcome {
    /// The worst of its rounds' exit codes (docs: 0 held, 1 a finding, 3 abort, 4 nothing tested); a campaign
    /// that ran no round tested nothing.
    pub fn exit_code(&self) -> i32 {
        self.rounds
            .iter()
            .map(Report::exit_code)
            .max_by_key(|code| match code {
                3 => 4,
                1 => 3,
                4 => 2,
                _ => 1,
            })
            .unwrap_or(4)
    }

    pub fn to_table(&self) -> String {
        let mut out = format!("campaign {}\n", self.campaign.line());
        for (index, round) in self.rounds.iter().enumerate() {
            out.push_str(&format!(
                "\nround {} (run {}):\n{}",
                index + 1,
                self.campaign.run_ids.get(index).map_or("-", String::as_str),
                round.to_table()
            ));
        }
        out.push('\n');
        if self.findings.is_empty() {
            out.push_str("\nno findings: every tested fault was caught\n");
        } else {
            out.push_str("\nfindings, riskiest first:\n");
            out.push_str(&crate::query::findings_table(&self.findings));
        }
        out
    }
}

/// Follows a campaign in this process until it ends, a line per round on stderr as each completes.
pub async fn follow(
    campaigns: &Campaigns,
    id: &str,
    progress: bool,
) -> Result<CampaignStatus, Failure> {
    let mut said = 0;
    loop {
        let status = campaigns.get(id).map_err(abort)?;
        let finished = matches!(status.state.as_str(), "completed" | "cancelled");
        let analyzed = status.rounds as usize - usize::from(!finished && status.rounds > 0);
        while progress && said < analyzed.min(status.run_ids.len()) {
            // Only what is known of this round: the next may be planned already.
            errln!("rdfi: round {} ({}) done", said + 1, status.run_ids[said]);
            said += 1;
        }
        if finished {
            return campaigns.wait(id).await.map_err(abort);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
