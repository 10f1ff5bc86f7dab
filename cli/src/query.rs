//! Reading what knowledge holds, from a state directory (the SQLite database `rdfi run` wrote) or from a
//! knowledge service over gRPC, the same way: `rdfi runs`, `rdfi findings`, `rdfi controls`, `rdfi asset`,
//! and the reports.

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rdfi_core::grpc::{Authed, ClientArgs};
use rdfi_knowledge::Store;
use rdfi_knowledge::store::FindingFilter;
use rdfi_proto::v1::knowledge_service_client::KnowledgeServiceClient;
use rdfi_proto::v1::{
    Asset, AuditEntry, ControlScorecard, Finding, GetAssetHistoryRequest, GetAssetHistoryResponse,
    GetRunRequest, GetRunResponse, ListAssetsRequest, ListAuditRequest, ListControlsRequest,
    ListFindingsRequest, ListPairTrialsRequest, ListRunsRequest, RunSummary,
};
use rdfi_proto::{timestamp_from_millis, unix_millis};
use serde::Serialize;

use crate::report::{ControlReport, FindingReport};
use crate::{Failure, usage};

/// The name of the knowledge database in a state directory.
pub const DATABASE: &str = "knowledge.sqlite";

/// Where knowledge is read from.
#[derive(clap::Args, Clone, Debug)]
pub struct KnowledgeArgs {
    /// The state directory `rdfi run` wrote (its knowledge database); default $XDG_STATE_HOME/rdfi.
    #[arg(
        long,
        env = "RDFI_STATE_DIR",
        value_name = "DIR",
        conflicts_with = "knowledge"
    )]
    pub state_dir: Option<PathBuf>,
    /// A knowledge service's gRPC URL (cluster mode), instead of a state directory.
    #[arg(long, env = "RDFI_KNOWLEDGE_URL", value_name = "URL")]
    pub knowledge: Option<String>,
    #[command(flatten)]
    pub client: ClientArgs,
}

/// Knowledge, local or remote.
pub enum Knowledge {
    Local(Store),
    Remote(KnowledgeServiceClient<Authed>),
}

fn remote(status: tonic::Status) -> Failure {
    usage(format!("knowledge answered: {}", status.message()))
}

fn local(error: rdfi_knowledge::StoreError) -> Failure {
    usage(error)
}

impl Knowledge {
    /// Opens the state directory's database (which must exist: reading never creates one) or connects.
    pub async fn open(args: &KnowledgeArgs) -> Result<Knowledge, Failure> {
        if let Some(url) = &args.knowledge {
            let channel = args
                .client
                .connect(url)
                .await
                .map_err(|error| usage(format!("knowledge: {error}")))?;
            return Ok(Knowledge::Remote(KnowledgeServiceClient::new(channel)));
        }
        let dir = args
            .state_dir
            .clone()
            .unwrap_or_else(crate::serve::default_state_dir);
        let path = dir.join(DATABASE);
        if !path.is_file() {
            return Err(usage(format!(
                "no knowledge database at {} (`rdfi run --state-dir {}` writes one; or read a cluster's with \
                 --knowledge URL)",
                path.display(),
                dir.display()
            )));
        }
        Ok(Knowledge::Local(Store::open(&path).await.map_err(local)?))
    }

    pub async fn list_runs(&mut self, limit: u32) -> Result<Vec<RunSummary>, Failure> {
        match self {
            Knowledge::Local(store) => Ok(store.list_runs(limit, None).await.map_err(local)?.0),
            Knowledge::Remote(client) => Ok(client
                .list_runs(ListRunsRequest {
                    limit,
                    ..Default::default()
                })
                .await
                .map_err(remote)?
                .into_inner()
                .runs),
        }
    }

    /// The run, or a usage error naming it when knowledge has no such run.
    pub async fn get_run(&mut self, run_id: &str) -> Result<GetRunResponse, Failure> {
        let unknown = || {
            usage(format!(
                "no run {run_id} in knowledge (`rdfi runs` lists them)"
            ))
        };
        match self {
            Knowledge::Local(store) => store
                .get_run(run_id)
                .await
                .map_err(local)?
                .ok_or_else(unknown),
            Knowledge::Remote(client) => match client
                .get_run(GetRunRequest {
                    run_id: run_id.to_owned(),
                })
                .await
            {
                Ok(response) => Ok(response.into_inner()),
                Err(status) if status.code() == tonic::Code::NotFound => Err(unknown()),
                Err(status) => Err(remote(status)),
            },
        }
    }

    pub async fn list_findings(
        &mut self,
        filter: &FindingFilter,
        limit: u32,
    ) -> Result<Vec<Finding>, Failure> {
        match self {
            Knowledge::Local(store) => Ok(store
                .list_findings(filter, limit, None)
                .await
                .map_err(local)?
                .0),
            Knowledge::Remote(client) => {
                let text = |value: &Option<String>| value.clone().unwrap_or_default();
                Ok(client
                    .list_findings(ListFindingsRequest {
                        run_id: text(&filter.run_id),
                        limit,
                        severity: text(&filter.severity),
                        provider: text(&filter.provider),
                        resource: text(&filter.resource),
                        control: text(&filter.control),
                        fault_id: text(&filter.fault_id),
                        since: filter.since_ms.map(timestamp_from_millis),
                        until: filter.until_ms.map(timestamp_from_millis),
                        page_token: String::new(),
                    })
                    .await
                    .map_err(remote)?
                    .into_inner()
                    .findings)
            }
        }
    }

    pub async fn list_controls(
        &mut self,
        control: Option<&str>,
        fault_id: Option<&str>,
    ) -> Result<Vec<ControlScorecard>, Failure> {
        match self {
            Knowledge::Local(store) => store.list_controls(control, fault_id).await.map_err(local),
            Knowledge::Remote(client) => Ok(client
                .list_controls(ListControlsRequest {
                    control: control.unwrap_or_default().to_owned(),
                    fault_id: fault_id.unwrap_or_default().to_owned(),
                })
                .await
                .map_err(remote)?
                .into_inner()
                .scorecards),
        }
    }

    pub async fn list_assets(
        &mut self,
        provider: Option<&str>,
        resource_type: Option<&str>,
    ) -> Result<Vec<Asset>, Failure> {
        match self {
            Knowledge::Local(store) => store
                .list_assets(provider, resource_type)
                .await
                .map_err(local),
            Knowledge::Remote(client) => Ok(client
                .list_assets(ListAssetsRequest {
                    provider: provider.unwrap_or_default().to_owned(),
                    resource_type: resource_type.unwrap_or_default().to_owned(),
                })
                .await
                .map_err(remote)?
                .into_inner()
                .assets),
        }
    }

    /// The audit trail, oldest first: of one run, and of one resource, when given.
    pub async fn audit(
        &mut self,
        run_id: Option<&str>,
        resource: Option<&str>,
        limit: u32,
    ) -> Result<Vec<AuditEntry>, Failure> {
        match self {
            Knowledge::Local(store) => store.audit(run_id, resource, limit).await.map_err(local),
            Knowledge::Remote(client) => Ok(client
                .list_audit(ListAuditRequest {
                    run_id: run_id.unwrap_or_default().to_owned(),
                    resource: resource.unwrap_or_default().to_owned(),
                    limit,
                })
                .await
                .map_err(remote)?
                .into_inner()
                .entries),
        }
    }

    pub async fn asset_history(
        &mut self,
        resource: &str,
    ) -> Result<GetAssetHistoryResponse, Failure> {
        let unknown = || usage(format!("rdfi never planned a fault on {resource}"));
        match self {
            Knowledge::Local(store) => store
                .asset_history(resource)
                .await
                .map_err(local)?
                .ok_or_else(unknown),
            Knowledge::Remote(client) => match client
                .get_asset_history(GetAssetHistoryRequest {
                    resource: resource.to_owned(),
                })
                .await
            {
                Ok(response) => Ok(response.into_inner()),
                Err(status) if status.code() == tonic::Code::NotFound => Err(unknown()),
                Err(status) => Err(remote(status)),
            },
        }
    }
}

impl Knowledge {
    /// What campaigns learn from: every control's scorecard and every pair's trials.
    pub async fn beliefs(&mut self) -> Result<rdfi_planner::strategy::Beliefs, Failure> {
        let scorecards = self.list_controls(None, None).await?;
        let trials = match self {
            Knowledge::Local(store) => store.pair_trials().await.map_err(local)?,
            Knowledge::Remote(client) => {
                client
                    .list_pair_trials(ListPairTrialsRequest {})
                    .await
                    .map_err(remote)?
                    .into_inner()
                    .trials
            }
        };
        Ok(rdfi_planner::strategy::Beliefs::from_knowledge(
            &scorecards,
            &trials,
        ))
    }
}

/// A time on the command line: RFC 3339 (`2026-12-06T10:00:00Z`, or a date), or a duration ago (`24h`).
pub fn parse_time(text: &str) -> Result<i64, String> {
    let millis = |time: SystemTime| {
        time.duration_since(UNIX_EPOCH)
            .map(|since| since.as_millis() as i64)
            .unwrap_or_default()
    };
    if let Ok(time) = humantime::parse_rfc3339_weak(text) {
        return Ok(millis(time));
    }
    if let Ok(time) = humantime::parse_rfc3339_weak(&format!("{text} 00:00:00")) {
        return Ok(millis(time));
    }
    match humantime::parse_duration(text) {
        Ok(ago) => Ok(millis(
            SystemTime::now() - ago.min(Duration::from_secs(u32::MAX.into())),
        )),
        Err(_) => Err(format!(
            "{text:?} is neither a time (2026-12-06T10:00:00Z, 2026-12-06) nor a duration ago (24h, 7days)"
        )),
    }
}

fn millis(value: Option<u64>) -> String {
    value.map_or("-".to_owned(), crate::human::duration)
}

/// A run as `rdfi runs --format json` prints it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunView {
    pub run_id: String,
    pub experiment: String,
    pub provider: String,
    pub started_at_ms: Option<i64>,
    pub completed_at_ms: Option<i64>,
    pub hypotheses_held: bool,
    pub tested: u32,
    pub aborted: u32,
    pub findings: u32,
}

impl RunView {
    pub fn of(run: &RunSummary) -> Self {
        RunView {
            run_id: run.run_id.clone(),
            experiment: run.experiment.clone(),
            provider: run.provider.clone(),
            started_at_ms: run.started_at.as_ref().map(unix_millis),
            completed_at_ms: run.completed_at.as_ref().map(unix_millis),
            hypotheses_held: run.hypotheses_held,
            tested: run.tested,
            aborted: run.aborted,
            findings: run.findings,
        }
    }
}

/// One change of the audit trail as `rdfi audit --format json` prints it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditView {
    pub at_ms: Option<i64>,
    pub action: String,
    pub run_id: String,
    pub fault_instance_id: String,
    pub fault_id: String,
    pub resource: String,
    pub actor: String,
    pub state_before_sha256: String,
    pub state_after_sha256: String,
    pub already_restored: bool,
    pub changed_by_others: bool,
    pub event_id: String,
}

impl AuditView {
    pub fn of(entry: &AuditEntry) -> Self {
        AuditView {
            at_ms: entry.at.as_ref().map(unix_millis),
            action: entry.action.clone(),
            run_id: entry.run_id.clone(),
            fault_instance_id: entry.fault_instance_id.clone(),
            fault_id: entry.fault_id.clone(),
            resource: entry
                .resource
                .as_ref()
                .map(|resource| resource.id.clone())
                .unwrap_or_default(),
            actor: entry.actor.clone(),
            state_before_sha256: entry.state_before_sha256.clone(),
            state_after_sha256: entry.state_after_sha256.clone(),
            already_restored: entry.already_restored,
            changed_by_others: entry.changed_by_others,
            event_id: entry.event_id.clone(),
        }
    }
}

/// `rdfi audit` as a table: hashes shortened to 12 digits, as people compare them.
pub fn audit_table(entries: &[AuditView]) -> String {
    let short = |hash: &str| match hash.get(..12) {
        Some(start) => start.to_owned(),
        None if hash.is_empty() => "-".to_owned(),
        None => hash.to_owned(),
    };
    let mut rows = vec![[
        "TIME".to_owned(),
        "ACTION".to_owned(),
        "FAULT".to_owned(),
        "RESOURCE".to_owned(),
        "BEFORE".to_owned(),
        "AFTER".to_owned(),
        "ACTOR".to_owned(),
    ]];
    for entry in entries {
        let action = match (entry.already_restored, entry.changed_by_others) {
            (true, _) => format!("{} (nothing to undo)", entry.action),
            (false, true) => format!("{} (kept others' change)", entry.action),
            (false, false) => entry.action.clone(),
        };
        rows.push([
            entry
                .at_ms
                .map(crate::report::rfc3339_seconds)
                .unwrap_or_default(),
            action,
            entry.fault_id.clone(),
            entry.resource.clone(),
            short(&entry.state_before_sha256),
            short(&entry.state_after_sha256),
            entry.actor.clone(),
        ]);
    }
    crate::columns(&rows)
}

/// One fault of an asset's history as `rdfi asset --format json` prints it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AssetFaultView {
    pub run_id: String,
    pub fault_instance_id: String,
    pub fault_id: String,
    pub verdict: String,
    pub injected_at_ms: Option<i64>,
    pub time_to_detect_ms: Option<u64>,
    pub time_to_correct_ms: Option<u64>,
    pub revert_verified: bool,
}

/// An asset's history as `rdfi asset --format json` prints it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AssetView {
    pub resource: String,
    pub resource_name: String,
    pub resource_type: String,
    pub faults: Vec<AssetFaultView>,
    pub findings: Vec<FindingReport>,
}

impl AssetView {
    pub fn of(history: &GetAssetHistoryResponse) -> Self {
        let resource = history.resource.clone().unwrap_or_default();
        AssetView {
            resource: resource.id,
            resource_name: resource.name,
            resource_type: resource.resource_type,
            faults: history
                .faults
                .iter()
                .map(|entry| {
                    let fault = entry.fault.clone().unwrap_or_default();
                    AssetFaultView {
                        run_id: entry.run_id.clone(),
                        fault_instance_id: fault.fault_instance_id.clone(),
                        fault_id: fault.fault_id.clone(),
                        verdict: fault.verdict().label().to_owned(),
                        injected_at_ms: fault.injected_at.as_ref().map(unix_millis),
                        time_to_detect_ms: fault.time_to_detect_ms,
                        time_to_correct_ms: fault.time_to_correct_ms,
                        revert_verified: fault.revert_verified,
                    }
                })
                .collect(),
            findings: history.findings.iter().map(FindingReport::of).collect(),
        }
    }
}

/// `rdfi runs` as a table.
pub fn runs_table(runs: &[RunSummary]) -> String {
    let mut rows = vec![[
        "RUN".to_owned(),
        "EXPERIMENT".to_owned(),
        "PROVIDER".to_owned(),
        "STARTED".to_owned(),
        "STATUS".to_owned(),
        "TESTED".to_owned(),
        "FINDINGS".to_owned(),
    ]];
    for run in runs {
        rows.push([
            run.run_id.clone(),
            run.experiment.clone(),
            run.provider.clone(),
            run.started_at
                .as_ref()
                .map(|at| crate::report::rfc3339_seconds(unix_millis(at)))
                .unwrap_or_default(),
            match run.status() {
                rdfi_proto::v1::RunStatus::Completed if run.hypotheses_held => "held".to_owned(),
                rdfi_proto::v1::RunStatus::Completed => "failed".to_owned(),
                _ => "running".to_owned(),
            },
            run.tested.to_string(),
            run.findings.to_string(),
        ]);
    }
    crate::columns(&rows)
}

/// `rdfi findings` as a table, riskiest first.
pub fn findings_table(findings: &[FindingReport]) -> String {
    let mut rows = vec![[
        "RISK".to_owned(),
        "SEVERITY".to_owned(),
        "FAULT".to_owned(),
        "RESOURCE".to_owned(),
        "MISSED BY".to_owned(),
        "RUN".to_owned(),
    ]];
    for finding in findings {
        rows.push([
            format!("{:.1}", finding.risk.score),
            finding.severity.clone(),
            finding.fault_id.clone(),
            finding.resource_name.clone(),
            finding.controls.join(", "),
            finding.run_id.clone(),
        ]);
    }
    let mut out = crate::columns(&rows);
    for finding in findings {
        out.push_str(&format!(
            "\n{} on {}: {}\n  fix: {}\n",
            finding.fault_id, finding.resource_name, finding.title, finding.remediation
        ));
    }
    out
}

/// The trend of a scorecard's efficacy over its last runs, as a sparkline.
fn trend(card: &ControlReport) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let start = card.history.len().saturating_sub(12);
    card.history[start..]
        .iter()
        .map(|point| BARS[((point.efficacy.mean * 8.0) as usize).min(7)])
        .collect()
}

/// `rdfi controls` as a table, the least effective first.
pub fn controls_table(cards: &[ControlReport]) -> String {
    let mut rows = vec![[
        "CONTROL".to_owned(),
        "KIND".to_owned(),
        "FAULT".to_owned(),
        "EFFICACY (90% INTERVAL)".to_owned(),
        "MET/TESTED".to_owned(),
        "MEAN TIME".to_owned(),
        "P90 TIME".to_owned(),
        "TREND".to_owned(),
    ]];
    for card in cards {
        let efficacy = &card.efficacy;
        rows.push([
            card.control.clone(),
            card.kind.clone(),
            card.fault_id.clone(),
            format!(
                "{:.0}% ({:.0}–{:.0}%)",
                efficacy.mean * 100.0,
                efficacy.lower * 100.0,
                efficacy.upper * 100.0
            ),
            format!("{}/{}", efficacy.met, efficacy.met + efficacy.failed),
            millis(card.latency.mean_ms),
            millis(card.latency.p90_ms),
            trend(card),
        ]);
    }
    crate::columns(&rows)
}

/// `rdfi asset` as a table, oldest first.
pub fn asset_table(history: &GetAssetHistoryResponse) -> String {
    let resource = history.resource.clone().unwrap_or_default();
    let mut rows = vec![[
        "RUN".to_owned(),
        "FAULT".to_owned(),
        "VERDICT".to_owned(),
        "TIME TO DETECT".to_owned(),
        "TIME TO CORRECT".to_owned(),
        "REVERTED".to_owned(),
    ]];
    for entry in &history.faults {
        let fault = entry.fault.clone().unwrap_or_default();
        rows.push([
            entry.run_id.clone(),
            fault.fault_id.clone(),
            fault.verdict().label().to_owned(),
            millis(fault.time_to_detect_ms),
            millis(fault.time_to_correct_ms),
            if fault.revert_verified {
                "yes, verified"
            } else {
                "-"
            }
            .to_owned(),
        ]);
    }
    format!(
        "{} ({}, {})\n\n{}\n{} finding(s)\n",
        resource.name,
        resource.resource_type,
        resource.id,
        crate::columns(&rows),
        history.findings.len()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use rdfi_proto::v1::{Efficacy, ScorecardPoint};

    #[test]
    fn times_are_rfc3339_dates_or_durations_ago() {
        assert_eq!(parse_time("1970-01-01T00:00:01Z"), Ok(1_000));
        assert_eq!(parse_time("1970-01-02"), Ok(86_400_000));
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64;
        let day_ago = parse_time("24h").unwrap();
        assert!((now - 86_400_000 - day_ago).abs() < 60_000, "{day_ago}");
        let error = parse_time("yesterday").unwrap_err();
        assert!(error.contains("\"yesterday\""), "{error}");
    }

    #[test]
    fn the_trend_draws_the_efficacy_after_each_run() {
        let point = |mean: f64| ScorecardPoint {
            efficacy: Some(Efficacy {
                mean,
                ..Efficacy::default()
            }),
            ..ScorecardPoint::default()
        };
        let card = ControlReport::of(&ControlScorecard {
            control: "prowler".into(),
            kind: rdfi_proto::v1::ControlKind::Detective as i32,
            fault_id: "aws.s3.bucket-public-acl".into(),
            history: vec![point(0.0), point(0.5), point(1.0)],
            ..ControlScorecard::default()
        });
        assert_eq!(trend(&card), "▁▅█");
        let table = controls_table(&[card]);
        assert!(table.contains("prowler  detect"), "{table}");
    }
}
