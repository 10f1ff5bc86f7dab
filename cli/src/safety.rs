//! The commands that keep the estate safe from outside a run: `rdfi recover`, `rdfi status`, `rdfi abort`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rdfi_core::bus::Bus;
use rdfi_core::bus::memory::MemoryBus;
use rdfi_core::bus::nats::NatsBus;
use rdfi_core::cli::CommonArgs;
use rdfi_core::{events, telemetry};
use rdfi_executor::args::SafetyArgs;
use rdfi_executor::{ExecutorConfig, FaultState, Journal, JournalRecord};
use rdfi_proto::v1::event::Payload;
use rdfi_proto::v1::executor_service_client::ExecutorServiceClient;
use rdfi_proto::v1::{AbortRequest, SafetyAbort};
use rdfi_provider::settings::ProviderArgs;

use crate::serve::{JournalArgs, default_state_dir};
use crate::{Failure, abort as safety_abort, usage};

/// How long past its deadline an open fault is reported as overdue.
const OVERDUE: Duration = Duration::from_secs(60);

#[derive(clap::Args)]
pub struct RecoverArgs {
    #[command(flatten)]
    provider: ProviderArgs,
    /// The state directory of the run or executor to recover.
    #[arg(long, env = "RDFI_STATE_DIR", value_name = "DIR")]
    state_dir: Option<PathBuf>,
    #[command(flatten)]
    journal: JournalArgs,
    #[command(flatten)]
    safety: SafetyArgs,
    #[command(flatten)]
    common: CommonArgs,
}

#[derive(clap::Args)]
pub struct StatusArgs {
    #[arg(long, env = "RDFI_STATE_DIR", value_name = "DIR")]
    state_dir: Option<PathBuf>,
    #[command(flatten)]
    journal: JournalArgs,
    #[command(flatten)]
    common: CommonArgs,
}

#[derive(clap::Args)]
pub struct AbortArgs {
    /// The executor's gRPC URL; the abort returns once its faults are reverted and verified.
    #[arg(long, env = "RDFI_EXECUTOR_URL", value_name = "URL")]
    executor: Option<String>,
    /// Only this run's faults.
    #[arg(long, value_name = "RUN_ID")]
    run: Option<String>,
    #[arg(long, default_value = "aborted from the command line")]
    reason: String,
    /// Without --executor: publish rdfi.v1.safety.abort on this NATS server, heard by every executor.
    #[command(flatten)]
    common: CommonArgs,
}

fn quiet_telemetry(common: &CommonArgs) -> Result<telemetry::TelemetryGuard, Failure> {
    telemetry::init(&common.telemetry("rdfi", "warn")).map_err(usage)
}

/// The journal the flags name, and the NATS connection when `--nats` was given.
async fn open_journal(
    common: &CommonArgs,
    journal: &JournalArgs,
    state_dir: Option<PathBuf>,
) -> Result<(Arc<dyn Journal>, Option<NatsBus>), Failure> {
    let state_dir = state_dir.unwrap_or_else(default_state_dir);
    let nats = match &common.nats {
        Some(_) => Some(common.nats_bus().await.map_err(usage)?),
        None => None,
    };
    Ok((journal.open(&state_dir, nats.as_ref()).await?, nats))
}

/// `rdfi recover`: exit 0 only when the journal holds no open fault afterwards.
pub async fn recover(args: RecoverArgs) -> Result<u8, Failure> {
    let _telemetry = quiet_telemetry(&args.common)?;
    let (journal, nats) = open_journal(&args.common, &args.journal, args.state_dir).await?;
    let provider = args.provider.connect().await.map_err(usage)?;
    let bus: Arc<dyn Bus> = match nats {
        Some(nats) => Arc::new(nats),
        None => Arc::new(MemoryBus::new()),
    };
    let outcome = rdfi_executor::recover(ExecutorConfig {
        bus,
        provider,
        journal,
        limits: args.safety.blast_radius(&args.provider.opt_in_tag),
        retry: args.safety.retry(),
        revert_concurrency: args.safety.revert_concurrency,
        grpc_listen: None,
    })
    .await
    .map_err(safety_abort)?;
    println!(
        "reverted and verified {} fault(s); {} still open",
        outcome.reverted, outcome.still_open
    );
    Ok(if outcome.still_open == 0 { 0 } else { 3 })
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|since| since.as_millis() as i64)
        .unwrap_or_default()
}

fn describe(record: &JournalRecord, now: i64) -> String {
    let due = record.revert_due_at_ms - now;
    let deadline = if due >= 0 {
        format!("revert in {} s", due / 1000)
    } else {
        format!("revert overdue by {} s", -due / 1000)
    };
    format!(
        "{:<14} {:<36} {:<40} {deadline}{}",
        record.state.as_str(),
        record.fault_id,
        record.resource.id,
        record
            .reason
            .as_deref()
            .map(|reason| format!(" · {reason}"))
            .unwrap_or_default()
    )
}

/// `rdfi status`: the open faults; exit 3 when one failed to revert or is long overdue.
pub async fn status(args: StatusArgs) -> Result<u8, Failure> {
    let _telemetry = quiet_telemetry(&args.common)?;
    let (journal, _nats) = open_journal(&args.common, &args.journal, args.state_dir).await?;
    let open = journal.open_faults().await.map_err(usage)?;
    if open.is_empty() {
        println!("no open fault: the estate is as rdfi found it");
        return Ok(0);
    }
    let now = now_ms();
    println!("{} open fault(s):", open.len());
    for record in &open {
        println!("  {}", describe(record, now));
    }
    let alarming = open.iter().any(|record| {
        record.state == FaultState::RevertFailed
            || now - record.revert_due_at_ms > OVERDUE.as_millis() as i64
    });
    Ok(if alarming { 3 } else { 0 })
}

/// `rdfi abort`.
pub async fn abort(args: AbortArgs) -> Result<u8, Failure> {
    let _telemetry = quiet_telemetry(&args.common)?;
    if let Some(url) = &args.executor {
        let mut client = ExecutorServiceClient::connect(url.clone())
            .await
            .map_err(|error| usage(format!("cannot reach the executor at {url}: {error}")))?;
        let mut request = tonic::Request::new(AbortRequest {
            run_id: args.run.clone().unwrap_or_default(),
            reason: args.reason.clone(),
        });
        telemetry::inject_into_grpc(request.metadata_mut());
        let outcome = client
            .abort(request)
            .await
            .map_err(|status| {
                safety_abort(format!(
                    "the executor failed the abort: {}",
                    status.message()
                ))
            })?
            .into_inner();
        println!(
            "reverted and verified {} fault(s); {} still open",
            outcome.reverted, outcome.still_open
        );
        return Ok(if outcome.still_open == 0 { 0 } else { 3 });
    }
    if args.common.nats.is_none() {
        return Err(usage(
            "give --executor URL, or --nats URL to tell every executor",
        ));
    }
    let bus = args.common.nats_bus().await.map_err(usage)?;
    let run_id = args.run.clone().unwrap_or_default();
    bus.publish(&events::event(
        "cli",
        &run_id,
        "",
        &events::new_id(),
        Payload::SafetyAbort(SafetyAbort {
            run_id: run_id.clone(),
            reason: args.reason.clone(),
        }),
    ))
    .await
    .map_err(usage)?;
    println!("published rdfi.v1.safety.abort; every executor reverts its active faults");
    Ok(0)
}
