//! `rdfi`: risk-driven security fault injection.
//!
//! Exit codes: 0 every hypothesis held, 1 a hypothesis failed (findings exist), 2 usage or configuration
//! error (nothing was changed), 3 safety abort (interrupted, timed out, or a revert failed).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};
use rdfi::engine::{Engine, EngineConfig, SignalsAuthArgs, SourceArgs, parse_services};
use rdfi::narrator::Stream;
use rdfi::query::{self, Knowledge, KnowledgeArgs};
use rdfi::report::{ControlReport, FindingReport, Report, ReportFormat};
use rdfi::safety;
use rdfi::serve::{ServeArgs, default_state_dir, serve};
use rdfi::{DEMO_EXPERIMENT, Failure, abort, errln, narrator, out, outln, usage};
use rdfi_core::bus::Bus;
use rdfi_core::cli::{CommonArgs, shutdown_on_signals};
use rdfi_core::grpc::ClientArgs;
use rdfi_core::{CancellationToken, events, experiment, telemetry};
use rdfi_executor::args::SafetyArgs;
use rdfi_knowledge::store::FindingFilter;
use rdfi_proto::v1::knowledge_service_client::KnowledgeServiceClient;
use rdfi_proto::v1::planner_service_client::PlannerServiceClient;
use rdfi_proto::v1::{GetRunRequest, RunStatus, SubmitExperimentRequest};
use rdfi_provider::Provider;
use rdfi_provider::sandbox::{SandboxAccount, SandboxProvider};
use rdfi_provider::settings::Endpoints;

/// How long a run may take beyond its faults' hold before it is given up.
const RUN_SLACK: Duration = Duration::from_secs(120);

#[derive(Parser)]
#[command(
    name = "rdfi",
    version,
    about = "Risk-driven security fault injection for AWS and GCP"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

// Parsed once per process; boxing the larger variants would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Run a campaign on the built-in sandbox account: inject faults, watch its controls, revert, report.
    Demo {
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Run one experiment file against a real target (AWS, or emulator endpoints), or a campaign file to its
    /// budget or duration.
    Run(RunArgs),
    /// What a campaign would test next and why, from what knowledge has learned (or an experiment's faults,
    /// ranked risk-first); injects nothing.
    Plan(PlanArgs),
    /// Check experiment and campaign files: every mistake of each, with its file, line and column; exits 2
    /// when any file has one. Runs nothing.
    Validate {
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
    /// Print the JSON Schema of experiment and campaign files, for editors (yaml-language-server and the
    /// like).
    Schema,
    /// Start, follow, pause, resume and stop campaigns on a running planner (gRPC).
    Campaign {
        #[command(subcommand)]
        command: rdfi::campaign::CampaignCommand,
    },
    /// Run services over NATS JetStream (cluster mode).
    Serve {
        /// The services to run, comma-separated (or all).
        #[arg(
            long,
            env = "RDFI_SERVICES",
            default_value = "all",
            value_name = "LIST"
        )]
        services: String,
        #[command(flatten)]
        args: ServeArgs,
    },
    /// Submit an experiment to a running cluster (planner and knowledge over gRPC) and wait for its report.
    Submit(SubmitArgs),
    /// List the fault catalogue.
    Catalog {
        #[arg(long, value_enum, default_value_t = CatalogFormat::Table)]
        format: CatalogFormat,
        /// Only the faults this provider implements: aws, gcp, sandbox.
        #[arg(long, value_name = "PROVIDER")]
        provider: Option<String>,
    },
    /// Print the least-privilege AWS IAM policy (exact actions, changes only on opted-in resources) and the
    /// Google Cloud permissions that let rdfi run these faults and nothing else.
    IamPolicy(rdfi::iam_policy::IamPolicyArgs),
    /// Revert every fault the journal holds open, now, each through the cloud endpoint it was injected
    /// through; exits 0 only when none is left open.
    Recover(safety::RecoverArgs),
    /// Show the faults the journal holds open and who will revert them; exits 3 when a revert failed, a
    /// deadline is long past, or nobody is left to revert them.
    Status(safety::StatusArgs),
    /// Stop new injections (of one run, or of every run until `rdfi resume`) and revert every active fault
    /// now: over gRPC to an executor, or as a safety.abort event.
    Abort(safety::AbortArgs),
    /// Allow injections again after `rdfi abort` without --run.
    Resume(safety::ResumeArgs),
    /// List the runs knowledge holds, newest first.
    Runs {
        #[command(flatten)]
        from: KnowledgeArgs,
        /// At most this many.
        #[arg(long, default_value_t = 20)]
        limit: u32,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// List the findings across runs, riskiest first, with their remediation.
    Findings(FindingsArgs),
    /// Each control's scorecard per fault kind: its measured efficacy (with a 90% credible interval), how
    /// fast it answers, and its trend over runs; the least effective first.
    Controls {
        #[command(flatten)]
        from: KnowledgeArgs,
        /// Only this control (the detection source, the preventive control, the corrective actor).
        #[arg(long, value_name = "NAME")]
        control: Option<String>,
        /// Only this fault kind.
        #[arg(long, value_name = "FAULT_ID")]
        fault: Option<String>,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// One run's report, as a table or in a format other tools read (docs/reports.md).
    Report(ReportArgs),
    /// The opted-in resources rdfi knows (assets): criticality, data class and reach, as last read; with
    /// --refresh, read now (never changed).
    Assets {
        #[command(flatten)]
        args: rdfi::assets::AssetsArgs,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// The audit trail: every change rdfi made to a cloud (each injection and revert), oldest first, with who
    /// made it and SHA-256 hashes of the resource's state before and after.
    Audit {
        #[command(flatten)]
        from: KnowledgeArgs,
        /// Only this run's changes.
        #[arg(long = "run", value_name = "RUN_ID")]
        run_id: Option<String>,
        /// Only changes to this resource (its id or name).
        #[arg(long, value_name = "RESOURCE")]
        resource: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 1000)]
        limit: u32,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// One asset's history: every fault rdfi injected into it, across runs, and the findings about it.
    Asset {
        /// The resource's id (its ARN on AWS) or name.
        resource: String,
        #[command(flatten)]
        from: KnowledgeArgs,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}

#[derive(clap::Args)]
struct FindingsArgs {
    #[command(flatten)]
    from: KnowledgeArgs,
    /// Only the findings of this run.
    #[arg(long, value_name = "RUN_ID")]
    run: Option<String>,
    /// Only this severity.
    #[arg(long, value_parser = ["low", "medium", "high", "critical"], ignore_case = true)]
    severity: Option<String>,
    /// Only this provider.
    #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(experiment::PROVIDERS))]
    provider: Option<String>,
    /// Only this resource (its id, or its name).
    #[arg(long, value_name = "RESOURCE")]
    resource: Option<String>,
    /// Only the findings this control missed.
    #[arg(long, value_name = "NAME")]
    control: Option<String>,
    /// Only this fault kind.
    #[arg(long, value_name = "FAULT_ID")]
    fault: Option<String>,
    /// Created at or after: a time (2026-12-06T10:00:00Z, 2026-12-06) or a duration ago (24h).
    #[arg(long, value_parser = query::parse_time, value_name = "TIME")]
    since: Option<i64>,
    /// Created before: a time or a duration ago.
    #[arg(long, value_parser = query::parse_time, value_name = "TIME")]
    until: Option<i64>,
    /// At most this many.
    #[arg(long, default_value_t = 100)]
    limit: u32,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

#[derive(Clone, Copy, ValueEnum)]
enum CatalogFormat {
    Table,
    Json,
    Markdown,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Table,
    Json,
}

/// `rdfi report --format`: the table, or a report format.
#[derive(Clone, Copy, ValueEnum)]
enum ReportCommandFormat {
    Table,
    Json,
    Markdown,
    Html,
    Sarif,
    Junit,
    Ocsf,
    Navigator,
}

impl ReportCommandFormat {
    fn format(self) -> Option<ReportFormat> {
        Some(match self {
            ReportCommandFormat::Table => return None,
            ReportCommandFormat::Json => ReportFormat::Json,
            ReportCommandFormat::Markdown => ReportFormat::Markdown,
            ReportCommandFormat::Html => ReportFormat::Html,
            ReportCommandFormat::Sarif => ReportFormat::Sarif,
            ReportCommandFormat::Junit => ReportFormat::Junit,
            ReportCommandFormat::Ocsf => ReportFormat::Ocsf,
            ReportCommandFormat::Navigator => ReportFormat::Navigator,
        })
    }
}

#[derive(clap::Args)]
struct ReportArgs {
    /// The run's id (`rdfi runs` lists them).
    run_id: String,
    #[command(flatten)]
    from: KnowledgeArgs,
    #[arg(long, value_enum, default_value_t = ReportCommandFormat::Table)]
    format: ReportCommandFormat,
    /// The experiment file the run came from, as a path in the repository: SARIF results point at it
    /// (default: the experiment's name with .yaml).
    #[arg(long, value_name = "FILE")]
    experiment_file: Option<String>,
}

/// `--report FORMAT[,FORMAT] --output-dir DIR`: the report written in several formats at once.
#[derive(clap::Args)]
struct ReportFiles {
    /// Also write the report in these formats, one file each in --output-dir (report.json, report.md,
    /// report.html, report.sarif, report.junit.xml, report.ocsf.json, report.navigator.json).
    #[arg(
        long = "report",
        value_enum,
        value_delimiter = ',',
        value_name = "FORMAT",
        requires = "output_dir"
    )]
    formats: Vec<ReportFormat>,
    /// Where --report writes its files (created if missing).
    #[arg(long, value_name = "DIR", requires = "formats")]
    output_dir: Option<PathBuf>,
}

impl ReportFiles {
    fn write(&self, report: &Report) -> Result<(), Failure> {
        let Some(directory) = &self.output_dir else {
            return Ok(());
        };
        let written =
            rdfi::report::write_all(report, &self.formats, directory).map_err(|error| {
                abort(format!(
                    "cannot write the report into {}: {error}",
                    directory.display()
                ))
            })?;
        for path in written {
            errln!("rdfi: wrote {}", path.display());
        }
        Ok(())
    }
}

#[derive(clap::Args)]
struct PlanArgs {
    /// The campaign or experiment file.
    file: PathBuf,
    /// Show why each fault was picked: its score's inputs (JSON) or a reason (table).
    #[arg(long)]
    explain: bool,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// The strategy, instead of the campaign's (risk-ranked for an experiment).
    #[arg(long, value_name = "STRATEGY")]
    strategy: Option<String>,
    /// The seed for random and explore-exploit, instead of the campaign's.
    #[arg(long, value_name = "N")]
    seed: Option<u64>,
    /// How many picks to show (default: a campaign's round, an experiment's targets).
    #[arg(long, value_name = "N")]
    picks: Option<usize>,
    #[command(flatten)]
    from: KnowledgeArgs,
    #[command(flatten)]
    endpoints: Endpoints,
    /// The tag that opts a resource in.
    #[arg(long, env = "RDFI_OPT_IN_TAG", default_value = rdfi_core::DEFAULT_OPT_IN_TAG, value_name = "KEY")]
    opt_in_tag: String,
}

#[derive(clap::Args)]
struct RunArgs {
    /// The experiment file (YAML, apiVersion rdfi/v1, kind Experiment), or a campaign file (kind Campaign).
    file: PathBuf,
    #[command(flatten)]
    endpoints: Endpoints,
    /// Where the monitor's signal webhook listens (POST /v1/signals).
    #[arg(
        long,
        env = "RDFI_WEBHOOK_LISTEN",
        default_value = "127.0.0.1:8787",
        value_name = "ADDR"
    )]
    webhook_listen: SocketAddr,
    #[command(flatten)]
    signals_auth: SignalsAuthArgs,
    /// Journal and knowledge database; default $XDG_STATE_HOME/rdfi (~/.local/state/rdfi).
    #[arg(long, env = "RDFI_STATE_DIR", value_name = "DIR")]
    state_dir: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    #[command(flatten)]
    report_files: ReportFiles,
    /// Do everything but the mutating calls.
    #[arg(long)]
    dry_run: bool,
    /// The tag that opts a resource in.
    #[arg(long, env = "RDFI_OPT_IN_TAG", default_value = rdfi_core::DEFAULT_OPT_IN_TAG, value_name = "KEY")]
    opt_in_tag: String,
    /// The pace the monitor reads a faulted resource at, once settled: reads start 100 ms after the injection and
    /// slow down to this, with a read just before each corrective deadline.
    #[arg(long, default_value = "1s", value_parser = humantime::parse_duration, value_name = "DURATION")]
    poll_interval: Duration,
    /// A stop condition: signals from this detection source abort the run (repeatable).
    #[arg(
        long = "stop-on-source",
        env = "RDFI_STOP_ON_SOURCE",
        value_delimiter = ',',
        value_name = "SOURCE"
    )]
    stop_sources: Vec<String>,
    #[command(flatten)]
    sources: SourceArgs,
    #[command(flatten)]
    safety: SafetyArgs,
    #[command(flatten)]
    common: CommonArgs,
}

#[derive(clap::Args)]
struct SubmitArgs {
    /// The experiment file (YAML, apiVersion rdfi/v1, kind Experiment).
    file: PathBuf,
    /// The planner's gRPC URL.
    #[arg(
        long,
        env = "RDFI_PLANNER_URL",
        default_value = "http://127.0.0.1:50052",
        value_name = "URL"
    )]
    planner: String,
    /// The knowledge service's gRPC URL, read for the report.
    #[arg(
        long,
        env = "RDFI_KNOWLEDGE_URL",
        default_value = "http://127.0.0.1:50051",
        value_name = "URL"
    )]
    knowledge: String,
    #[command(flatten)]
    client: ClientArgs,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    #[command(flatten)]
    report_files: ReportFiles,
    /// Do everything but the mutating calls.
    #[arg(long)]
    dry_run: bool,
    /// Print the run id and return without waiting for the report.
    #[arg(long)]
    no_wait: bool,
}

fn main() -> ExitCode {
    rdfi::block_on(dispatch(Cli::parse().command))
}

async fn dispatch(command: Command) -> Result<u8, Failure> {
    match command {
        Command::Demo { format } => demo(format).await,
        Command::Run(args) => run(args).await,
        Command::Plan(args) => plan(args).await,
        Command::Validate { files } => Ok(validate(&files)),
        Command::Schema => {
            out!("{}", experiment::SCHEMA);
            Ok(0)
        }
        Command::Campaign { command } => rdfi::campaign::command(command).await,
        Command::Serve { services, args } => {
            serve(args, parse_services(&services).map_err(usage)?).await
        }
        Command::Submit(args) => submit(args).await,
        Command::Catalog { format, provider } => catalog(format, provider),
        Command::IamPolicy(args) => rdfi::iam_policy::run(&args),
        Command::Recover(args) => safety::recover(args).await,
        Command::Status(args) => safety::status(args).await,
        Command::Abort(args) => safety::abort(args).await,
        Command::Resume(args) => safety::resume(args).await,
        Command::Runs {
            from,
            limit,
            format,
        } => {
            let runs = Knowledge::open(&from).await?.list_runs(limit).await?;
            let views: Vec<query::RunView> = runs.iter().map(query::RunView::of).collect();
            print_as(format, &views, || query::runs_table(&runs))
        }
        Command::Findings(args) => findings(args).await,
        Command::Controls {
            from,
            control,
            fault,
            format,
        } => {
            let cards = Knowledge::open(&from)
                .await?
                .list_controls(control.as_deref(), fault.as_deref())
                .await?;
            let views: Vec<ControlReport> = cards.iter().map(ControlReport::of).collect();
            print_as(format, &views, || query::controls_table(&views))
        }
        Command::Report(args) => report(args).await,
        Command::Assets { args, format } => {
            let assets = rdfi::assets::list(&args).await?;
            let views: Vec<rdfi::assets::AssetView> =
                assets.iter().map(rdfi::assets::AssetView::of).collect();
            print_as(format, &views, || rdfi::assets::table(&views))
        }
        Command::Audit {
            from,
            run_id,
            resource,
            limit,
            format,
        } => {
            let entries = Knowledge::open(&from)
                .await?
                .audit(run_id.as_deref(), resource.as_deref(), limit)
                .await?;
            let views: Vec<query::AuditView> = entries.iter().map(query::AuditView::of).collect();
            print_as(format, &views, || query::audit_table(&views))
        }
        Command::Asset {
            resource,
            from,
            format,
        } => {
            let history = Knowledge::open(&from)
                .await?
                .asset_history(&resource)
                .await?;
            print_as(format, &query::AssetView::of(&history), || {
                query::asset_table(&history)
            })
        }
    }
}

async fn findings(args: FindingsArgs) -> Result<u8, Failure> {
    let filter = FindingFilter {
        run_id: args.run,
        severity: args.severity,
        provider: args.provider,
        resource: args.resource,
        control: args.control,
        fault_id: args.fault,
        since_ms: args.since,
        until_ms: args.until,
    };
    let findings = Knowledge::open(&args.from)
        .await?
        .list_findings(&filter, args.limit)
        .await?;
    let views: Vec<FindingReport> = findings.iter().map(FindingReport::of).collect();
    print_as(args.format, &views, || query::findings_table(&views))
}

/// Prints `value` as JSON, or the table `table` makes.
fn print_as(
    format: Format,
    value: &impl serde::Serialize,
    table: impl FnOnce() -> String,
) -> Result<u8, Failure> {
    match format {
        Format::Table => out!("{}", table()),
        Format::Json => outln!(
            "{}",
            serde_json::to_string_pretty(value).map_err(|error| usage(error.to_string()))?
        ),
    }
    Ok(0)
}

async fn demo(format: Format) -> Result<u8, Failure> {
    let _telemetry = telemetry::init(&telemetry::TelemetryConfig {
        service_name: "rdfi-demo".to_owned(),
        log_format: telemetry::LogFormat::Plain,
        otlp_endpoint: None,
        default_filter: "warn",
    })
    .map_err(usage)?;
    let spec = experiment::parse(DEMO_EXPERIMENT, "demo.yaml").map_err(usage)?;
    let state_dir = tempfile::tempdir().map_err(usage)?;
    let provider: Arc<dyn Provider> =
        Arc::new(SandboxProvider::new(Arc::new(SandboxAccount::demo())));
    let bus: Arc<dyn Bus> = Arc::new(rdfi_core::bus::memory::MemoryBus::new());
    if matches!(format, Format::Table) {
        outln!(
            "rdfi demo: {} on the sandbox account (built-in controls: a public-ACL detector on monitored buckets, an admin-policy reconciler)\n",
            spec.name
        );
    }
    let report = execute(
        spec,
        EngineConfig {
            poll_interval: Duration::from_millis(100),
            ..EngineConfig::one_process(bus, provider, state_dir.path().to_path_buf())
        },
        matches!(format, Format::Table).then_some(Stream::Stdout),
    )
    .await?;
    print_report(&report, format);
    Ok(0)
}

async fn run(args: RunArgs) -> Result<u8, Failure> {
    let _telemetry = telemetry::init(&args.common.telemetry("rdfi", "info")).map_err(usage)?;
    let (file, source) = rdfi::read_document(&args.file)?;
    let (mut spec, campaign) = match experiment::parse_document(&source, &file).map_err(usage)? {
        experiment::Document::Experiment(spec) => (spec, None),
        experiment::Document::Campaign(campaign) => (
            campaign.experiment.clone().unwrap_or_default(),
            Some(campaign),
        ),
    };
    spec.dry_run |= args.dry_run;
    spec.sources
        .extend(args.sources.specs(&spec.provider).map_err(usage)?);
    if args.common.nats.is_none()
        && let Some(source) = spec
            .sources
            .iter()
            .find(|source| source.r#type == "nats" && source.url.is_empty())
    {
        return Err(usage(format!(
            "the nats source {:?} needs url (nats://HOST:PORT), or rdfi run over NATS (--nats URL)",
            source.name
        )));
    }
    let target = rdfi_provider::settings::ProviderTarget {
        provider: spec.provider.clone(),
        region: spec.region.clone(),
        endpoints: args.endpoints.clone(),
    };
    let provider = target.connect().await.map_err(usage)?;
    let bus = args.common.bus().await.map_err(usage)?;
    let config = EngineConfig {
        opt_in_tag: args.opt_in_tag.clone(),
        safety: args.safety.clone(),
        webhook_listen: Some(args.webhook_listen),
        signals_auth: args.signals_auth.auth().map_err(usage)?,
        poll_interval: args.poll_interval,
        stop_sources: args.stop_sources.clone(),
        nats: args.common.nats_target(),
        target: Some(target),
        ..EngineConfig::one_process(
            bus,
            provider,
            args.state_dir.clone().unwrap_or_else(default_state_dir),
        )
    };
    if let Some(mut campaign) = campaign {
        campaign.experiment = Some(spec);
        return run_campaign(campaign, config, &file, &args).await;
    }
    let report = execute(
        spec,
        config,
        matches!(args.format, Format::Table).then_some(Stream::Stderr),
    )
    .await?
    .with_experiment_file(&file);
    print_report(&report, args.format);
    args.report_files.write(&report)?;
    Ok(report.exit_code() as u8)
}

/// Runs a campaign with all five services in this process until its budget is spent or its duration is
/// over (or it is interrupted), then prints its rounds and findings.
/// How long knowledge may take to record a round whose analysis the planner has heard complete.
const ROUND_RECORDED: Duration = Duration::from_secs(30);

async fn run_campaign(
    campaign: rdfi_proto::v1::CampaignSpec,
    config: EngineConfig,
    file: &str,
    args: &RunArgs,
) -> Result<u8, Failure> {
    let state_dir = config.state_dir.clone();
    let shutdown = shutdown_on_signals();
    let mut engine = Engine::start(config, shutdown.clone())
        .await
        .map_err(usage)?;
    let campaigns = engine
        .campaigns()
        .cloned()
        .ok_or_else(|| usage("no planner"))?;
    let started = campaigns.submit(campaign).map_err(usage)?;
    let narrate = matches!(args.format, Format::Table);
    if narrate {
        errln!(
            "rdfi: campaign {} ({}) started: {}",
            started.campaign_id,
            started.name,
            started.strategy
        );
    }
    let mut followed = tokio::select! {
        followed = rdfi::campaign::follow(&campaigns, &started.campaign_id, narrate) => followed,
        _ = shutdown.cancelled() => Err(abort("interrupted")),
    };
    // The planner hears a round's analysis complete before knowledge has recorded it: the report is read
    // from knowledge, so each round is awaited there before the services stop.
    if let Ok(status) = &followed {
        for run_id in &status.run_ids {
            if let Err(error) = engine.wait_for_run(run_id, ROUND_RECORDED).await {
                followed = Err(abort(error));
                break;
            }
        }
    }
    let stopped = engine.stop().await;
    let status = match (followed, &stopped) {
        (Ok(status), _) => status,
        (Err(failure), Ok(Some(reverted))) => {
            return Err(abort(format!("{}; {reverted}", failure.message)));
        }
        (Err(failure), _) => return Err(failure),
    };
    stopped.map_err(abort)?;
    let mut knowledge = Knowledge::open(&KnowledgeArgs {
        state_dir: Some(state_dir),
        knowledge: None,
        client: ClientArgs::default(),
    })
    .await?;
    let scorecards = knowledge.list_controls(None, None).await?;
    let mut rounds = Vec::new();
    let mut findings = Vec::new();
    for run_id in &status.run_ids {
        let run = knowledge.get_run(run_id).await?;
        findings.extend(run.findings.iter().map(FindingReport::of));
        rounds.push(Report::from_run(&run, &scorecards).with_experiment_file(file));
    }
    findings.sort_by(|a, b| b.risk.score.total_cmp(&a.risk.score));
    let outcome = rdfi::campaign::CampaignOutcome {
        campaign: rdfi::campaign::CampaignView::of(&status),
        rounds,
        findings,
    };
    match args.format {
        Format::Table => outln!("\n{}", outcome.to_table()),
        Format::Json => outln!(
            "{}",
            serde_json::to_string_pretty(&outcome).map_err(|error| usage(error.to_string()))?
        ),
    }
    Ok(outcome.exit_code() as u8)
}

/// `rdfi plan`: discovers the opted-in resources (read-only) and ranks what would be tested next.
async fn plan(args: PlanArgs) -> Result<u8, Failure> {
    let (file, source) = rdfi::read_document(&args.file)?;
    let mut plannable = match experiment::parse_document(&source, &file).map_err(usage)? {
        experiment::Document::Experiment(spec) => rdfi::plan::Plannable::of_experiment(&spec),
        experiment::Document::Campaign(spec) => rdfi::plan::Plannable::of_campaign(&spec)?,
    };
    if let Some(name) = &args.strategy {
        plannable.strategy = rdfi_planner::strategy::Strategy::parse(name).ok_or_else(|| {
            usage(format!(
                "--strategy {name:?}: expected one of {}",
                rdfi_planner::strategy::Strategy::ALL
                    .map(|s| s.name())
                    .join(", ")
            ))
        })?;
    }
    if let Some(seed) = args.seed {
        plannable.seed = seed;
    }
    if let Some(picks) = args.picks {
        plannable.picks = picks;
    }
    let mut notes = Vec::new();
    let beliefs = rdfi::plan::beliefs_from(&args.from, &mut notes).await?;
    let target = rdfi_provider::settings::ProviderTarget {
        provider: plannable.experiment.provider.clone(),
        region: plannable.experiment.region.clone(),
        endpoints: args.endpoints.clone(),
    };
    let provider = target.connect().await.map_err(usage)?;
    let inventory = rdfi_monitor::discover(
        provider.as_ref(),
        &args.opt_in_tag,
        plannable.experiment.clone(),
        &Default::default(),
    )
    .await;
    if !inventory.error.is_empty() {
        return Err(usage(format!("discovery failed: {}", inventory.error)));
    }
    let explained = rdfi::plan::explain(&plannable, &inventory.resources, &beliefs, notes);
    match args.format {
        Format::Table => out!("{}", rdfi::plan::table(&explained, args.explain)),
        Format::Json if args.explain => outln!(
            "{}",
            serde_json::to_string_pretty(&explained).map_err(|error| usage(error.to_string()))?
        ),
        Format::Json => {
            let mut value =
                serde_json::to_value(&explained).map_err(|error| usage(error.to_string()))?;
            if let Some(picks) = value.get_mut("picks").and_then(|p| p.as_array_mut()) {
                for pick in picks {
                    if let Some(pick) = pick.as_object_mut() {
                        pick.remove("inputs");
                        pick.remove("reason");
                    }
                }
            }
            outln!(
                "{}",
                serde_json::to_string_pretty(&value).map_err(|error| usage(error.to_string()))?
            );
        }
    }
    Ok(0)
}

/// `rdfi validate`: each file's verdict, its mistakes on stderr; 2 when any file has one.
fn validate(files: &[PathBuf]) -> u8 {
    let mut code = 0;
    for path in files {
        let checked = rdfi::read_document(path).and_then(|(name, source)| {
            experiment::parse_document(&source, &name)
                .map(|document| (name, document))
                .map_err(usage)
        });
        match checked {
            Ok((name, experiment::Document::Experiment(spec))) => outln!(
                "{name}: valid experiment {:?}: {} on {}",
                spec.name,
                rdfi::human::count(spec.faults.len(), "fault"),
                spec.provider
            ),
            Ok((name, experiment::Document::Campaign(spec))) => outln!(
                "{name}: valid campaign {:?}: {} picking from {} on {}",
                spec.name,
                spec.strategy,
                rdfi::human::count(
                    spec.experiment
                        .as_ref()
                        .map_or(0, |experiment| experiment.faults.len()),
                    "fault"
                ),
                spec.experiment
                    .as_ref()
                    .map_or("", |experiment| experiment.provider.as_str())
            ),
            Err(failure) => {
                errln!("{}", failure.message);
                code = 2;
            }
        }
    }
    code
}

/// Runs one experiment with all five services in this process and returns its report. `narrate` prints the
/// run as it happens, to stdout or stderr.
async fn execute(
    spec: rdfi_proto::v1::ExperimentSpec,
    config: EngineConfig,
    narrate: Option<Stream>,
) -> Result<Report, Failure> {
    let bus = config.bus.clone();
    let state_dir = config.state_dir.clone();
    let shutdown = shutdown_on_signals();
    let timeout = experiment::hold_duration(spec.exposure_window_ms, spec.hypothesis.as_ref())
        + Duration::from_secs(120);
    let mut engine = Engine::start(config, shutdown.clone())
        .await
        .map_err(usage)?;
    let run_id = events::new_id();
    let narration = CancellationToken::new();
    let narrator = match narrate {
        Some(stream) => Some(
            narrator::start(bus.clone(), run_id.clone(), stream, narration.clone())
                .await
                .map_err(usage)?,
        ),
        None => None,
    };
    let outcome = match engine.planner().submit_as(run_id.clone(), spec).await {
        Ok(_) => engine.wait_for_run(&run_id, timeout).await.map_err(abort),
        Err(error) => Err(usage(error)),
    };
    narration.cancel();
    // Its last line written before anything else is.
    if let Some(narrator) = narrator {
        let _ = narrator.await;
    }
    let stopped = engine.stop().await;
    let run = match (outcome, &stopped) {
        (Ok(run), _) => run,
        // Interrupted or timed out: say what the executor put back on its way out.
        (Err(failure), Ok(Some(reverted))) => {
            return Err(abort(format!("{}; {reverted}", failure.message)));
        }
        (Err(failure), _) => return Err(failure),
    };
    stopped.map_err(abort)?;
    // The scorecards, as knowledge holds them now that the run is judged.
    let scorecards = Knowledge::open(&KnowledgeArgs {
        state_dir: Some(state_dir),
        knowledge: None,
        client: ClientArgs::default(),
    })
    .await?
    .list_controls(None, None)
    .await?;
    Ok(Report::from_run(&run, &scorecards))
}

async fn report(args: ReportArgs) -> Result<u8, Failure> {
    let mut knowledge = Knowledge::open(&args.from).await?;
    let run = knowledge.get_run(&args.run_id).await?;
    let scorecards = knowledge.list_controls(None, None).await?;
    let mut report = Report::from_run(&run, &scorecards);
    if let Some(file) = args.experiment_file {
        report = report.with_experiment_file(file);
    }
    match args.format.format() {
        None => outln!("{}", report.to_table()),
        Some(format) => out!("{}", format.render(&report)),
    }
    Ok(0)
}

async fn submit(args: SubmitArgs) -> Result<u8, Failure> {
    let _telemetry = telemetry::init(&telemetry::TelemetryConfig {
        service_name: "rdfi-submit".to_owned(),
        log_format: telemetry::LogFormat::Plain,
        otlp_endpoint: None,
        default_filter: "warn",
    })
    .map_err(usage)?;
    let (file, source) = rdfi::read_document(&args.file)?;
    // Validated here too, so that a wrong file is reported with its name and nothing is submitted.
    let spec = experiment::parse(&source, &file).map_err(usage)?;
    let mut planner = PlannerServiceClient::new(
        args.client
            .connect(&args.planner)
            .await
            .map_err(|error| usage(format!("the planner: {error}")))?,
    );
    let mut request = tonic::Request::new(SubmitExperimentRequest {
        experiment_yaml: source,
        dry_run: args.dry_run,
    });
    telemetry::inject_into_grpc(request.metadata_mut());
    let run_id = planner
        .submit_experiment(request)
        .await
        .map_err(|status| {
            usage(format!(
                "the planner refused the experiment: {}",
                status.message()
            ))
        })?
        .into_inner()
        .run_id;
    if args.no_wait {
        outln!("{run_id}");
        return Ok(0);
    }
    errln!("submitted run {run_id}; waiting for its report");
    let mut knowledge = KnowledgeServiceClient::new(
        args.client
            .connect(&args.knowledge)
            .await
            .map_err(|error| usage(format!("knowledge: {error}")))?,
    );
    let timeout =
        experiment::hold_duration(spec.exposure_window_ms, spec.hypothesis.as_ref()) + RUN_SLACK;
    let deadline = tokio::time::Instant::now() + timeout;
    let run = loop {
        match knowledge
            .get_run(GetRunRequest {
                run_id: run_id.clone(),
            })
            .await
        {
            Ok(response) => {
                let run = response.into_inner();
                if run
                    .run
                    .as_ref()
                    .is_some_and(|summary| summary.status() == RunStatus::Completed)
                {
                    break run;
                }
            }
            Err(status) if status.code() == tonic::Code::NotFound => {}
            Err(status) => return Err(abort(format!("knowledge failed: {}", status.message()))),
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(abort(format!(
                "run {run_id} did not complete within {}",
                rdfi::human::duration(u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX))
            )));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let scorecards = Knowledge::open(&KnowledgeArgs {
        state_dir: None,
        knowledge: Some(args.knowledge.clone()),
        client: args.client.clone(),
    })
    .await?
    .list_controls(None, None)
    .await?;
    let report = Report::from_run(&run, &scorecards).with_experiment_file(&file);
    print_report(&report, args.format);
    args.report_files.write(&report)?;
    Ok(report.exit_code() as u8)
}

fn catalog(format: CatalogFormat, provider: Option<String>) -> Result<u8, Failure> {
    if let Some(provider) = provider
        .as_deref()
        .filter(|provider| !experiment::PROVIDERS.contains(provider))
    {
        return Err(usage(format!(
            "--provider {provider:?}: expected one of {}",
            experiment::PROVIDERS.join(", ")
        )));
    }
    let entries = rdfi::catalog::entries(provider.as_deref());
    match format {
        CatalogFormat::Table => out!("{}", rdfi::catalog::table(&entries)),
        CatalogFormat::Markdown => out!("{}", rdfi::catalog::markdown(&entries)),
        CatalogFormat::Json => outln!(
            "{}",
            serde_json::to_string_pretty(&entries).map_err(|error| usage(error.to_string()))?
        ),
    }
    Ok(0)
}

fn print_report(report: &Report, format: Format) {
    match format {
        Format::Table => outln!("\n{}", report.to_table()),
        Format::Json => match serde_json::to_string_pretty(report) {
            Ok(json) => outln!("{json}"),
            Err(error) => errln!("rdfi: cannot encode the report: {error}"),
        },
    }
}
