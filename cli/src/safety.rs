//! The commands that keep the estate safe from outside a run: `rdfi recover`, `rdfi status`, `rdfi abort`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rdfi_core::bus::Bus;
use rdfi_core::bus::memory::MemoryBus;
use rdfi_core::bus::nats::NatsBus;
use rdfi_core::cli::CommonArgs;
use rdfi_core::grpc::ClientArgs;
use rdfi_core::{events, telemetry};
use rdfi_executor::args::SafetyArgs;
use rdfi_executor::journal::file::inspect;
use rdfi_executor::{ExecutorConfig, FaultState, Journal, JournalRecord, RevertOutcome};
use rdfi_proto::v1::event::Payload;
use rdfi_proto::v1::executor_service_client::ExecutorServiceClient;
use rdfi_proto::v1::{AbortRequest, ResumeRequest, SafetyAbort};
use rdfi_provider::settings::{ProviderArgs, ProviderTarget};

use crate::serve::{JournalArgs, JournalKind, default_state_dir};
use crate::{Failure, abort as safety_abort, errln, outln, usage};

/// How long past its deadline an open fault is reported as overdue.
const OVERDUE: Duration = Duration::from_secs(60);
/// How long `rdfi abort --nats` waits for the executors to revert every open fault.
const ABORT_PATIENCE: Duration = Duration::from_secs(300);

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
    #[command(flatten)]
    client: ClientArgs,
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
    state_dir: &Path,
) -> Result<(Arc<dyn Journal>, Option<NatsBus>), Failure> {
    let nats = match &common.nats {
        Some(_) => Some(common.nats_bus().await.map_err(usage)?),
        None => None,
    };
    Ok((journal.open(state_dir, nats.as_ref()).await?, nats))
}

/// `rdfi recover`: each open fault is recovered through the provider, region and endpoints its record names
/// (the flags serve only records that name none); exit 0 only when the journal holds no open fault afterwards.
pub async fn recover(args: RecoverArgs) -> Result<u8, Failure> {
    let _telemetry = quiet_telemetry(&args.common)?;
    let state_dir = args.state_dir.clone().unwrap_or_else(default_state_dir);
    let (journal, nats) = open_journal(&args.common, &args.journal, &state_dir).await?;
    let bus: Arc<dyn Bus> = match nats {
        Some(nats) => Arc::new(nats),
        None => Arc::new(MemoryBus::new()),
    };
    let open = journal.open_faults().await.map_err(usage)?;
    let fallback = args.provider.target();
    let mut targets: Vec<ProviderTarget> = Vec::new();
    for record in &open {
        let target = record.target.clone().unwrap_or_else(|| fallback.clone());
        if !targets.contains(&target) {
            targets.push(target);
        }
    }
    let mut total = RevertOutcome::default();
    for target in targets {
        let provider = match target.connect().await {
            Ok(provider) => provider,
            Err(error) => {
                errln!("rdfi: cannot reach {target}: {error}");
                total.still_open += open
                    .iter()
                    .filter(|record| record.target.as_ref().unwrap_or(&fallback) == &target)
                    .count() as u32;
                continue;
            }
        };
        let selected =
            |record: &JournalRecord| record.target.as_ref().unwrap_or(&fallback) == &target;
        let outcome = rdfi_executor::recover(
            ExecutorConfig {
                bus: bus.clone(),
                provider,
                journal: journal.clone(),
                limits: args.safety.blast_radius(&args.provider.opt_in_tag),
                retry: args.safety.retry(),
                revert_concurrency: args.safety.revert_concurrency,
                inject_concurrency: args.safety.inject_concurrency,
                grpc: None,
                target: Some(target.clone()),
            },
            Some(&selected),
        )
        .await
        .map_err(safety_abort)?;
        if outcome.reverted + outcome.still_open > 0 {
            outln!("{target}: {outcome}");
        }
        total.reverted += outcome.reverted;
        total.still_open += outcome.still_open;
    }
    outln!("{total}");
    Ok(if total.still_open == 0 { 0 } else { 3 })
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|since| since.as_millis() as i64)
        .unwrap_or_default()
}

fn describe(record: &JournalRecord, now: i64, anyone_reverts: bool) -> String {
    let due = record.revert_due_at_ms - now;
    let deadline = if !anyone_reverts {
        "no process left to revert it".to_owned()
    } else if due >= 0 {
        format!("revert in {}", crate::human::duration(due.unsigned_abs()))
    } else {
        format!(
            "revert overdue by {}",
            crate::human::duration(due.unsigned_abs())
        )
    };
    format!(
        "{:<14} {:<36} {:<40} {deadline}{}",
        record.state.label(),
        record.fault_id,
        record.resource.id,
        record
            .reason
            .as_deref()
            .map(|reason| format!(" · {reason}"))
            .unwrap_or_default()
    )
}

/// `rdfi status`: the open faults and who reverts them; exit 3 when one failed to revert, is long overdue,
/// or has nobody left to revert it. A file journal is read without taking it, so this works while a run is on.
pub async fn status(args: StatusArgs) -> Result<u8, Failure> {
    let _telemetry = quiet_telemetry(&args.common)?;
    let state_dir = args.state_dir.clone().unwrap_or_else(default_state_dir);
    let nats = args.common.nats.is_some();
    let (open, stops, holder) = match args.journal.kind(nats) {
        JournalKind::File => {
            let seen = inspect(&state_dir).map_err(usage)?;
            let holder = seen.held_by.map(|process| {
                format!("the rdfi process{process} holding {}", state_dir.display())
            });
            (seen.open, seen.stops, holder)
        }
        JournalKind::Nats => {
            let (journal, _nats) = open_journal(&args.common, &args.journal, &state_dir).await?;
            let open = journal.open_faults().await.map_err(usage)?;
            let stops = journal.stops().await.map_err(usage)?;
            // Any executor replica sharing the journal reverts them; the overdue check below says when none did.
            (
                open,
                stops,
                Some("the executors sharing the NATS journal".to_owned()),
            )
        }
    };
    if let Some(reason) = &stops.all {
        outln!("injections are stopped for every run ({reason}); `rdfi resume` allows them again");
    }
    if open.is_empty() {
        outln!("no open fault: the estate is as rdfi found it");
        return Ok(0);
    }
    let now = now_ms();
    outln!("{} open fault(s):", open.len());
    for record in &open {
        outln!("  {}", describe(record, now, holder.is_some()));
    }
    let recover_command = match args.journal.kind(nats) {
        JournalKind::File => format!("rdfi recover --state-dir {}", state_dir.display()),
        JournalKind::Nats => "rdfi recover --nats URL".to_owned(),
    };
    match &holder {
        Some(holder) => outln!("{holder} reverts them at their deadlines"),
        None => outln!(
            "no rdfi process holds this journal, so nobody will revert them: run `{recover_command}`"
        ),
    }
    let alarming = holder.is_none()
        || open.iter().any(|record| {
            record.state == FaultState::RevertFailed
                || now - record.revert_due_at_ms > OVERDUE.as_millis() as i64
        });
    if alarming && holder.is_some() {
        outln!(
            "a revert failed or is long overdue: run `{recover_command}` once the holder has stopped"
        );
    }
    Ok(if alarming { 3 } else { 0 })
}

/// `rdfi abort`.
pub async fn abort(args: AbortArgs) -> Result<u8, Failure> {
    let _telemetry = quiet_telemetry(&args.common)?;
    if let Some(url) = &args.executor {
        let mut client = ExecutorServiceClient::new(
            args.client
                .connect(url)
                .await
                .map_err(|error| usage(format!("the executor: {error}")))?,
        );
        let mut request = tonic::Request::new(AbortRequest {
            run_id: args.run.clone().unwrap_or_default(),
            reason: args.reason.clone(),
        });
        telemetry::inject_into_grpc(request.metadata_mut());
        let outcome = client
            .abort(request)
            .await
            .map_err(|status| match status.code() {
                // Nothing was aborted: the caller may not, which is theirs to fix, not an alarm.
                tonic::Code::Unauthenticated | tonic::Code::PermissionDenied => usage(format!(
                    "the executor refused the abort: {}",
                    status.message()
                )),
                _ => safety_abort(format!(
                    "the executor failed the abort: {}",
                    status.message()
                )),
            })?
            .into_inner();
        outln!(
            "{}",
            RevertOutcome {
                reverted: outcome.reverted,
                still_open: outcome.still_open
            }
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
    let scope = args.run.as_deref();
    // The stop goes into the journal every executor shares before anything else, so that no executor injects
    // a fault of this scope from now on, even one that has not heard the event yet.
    let journal = JournalArgs {
        kind: Some(JournalKind::Nats),
        journal_replicas: None,
    }
    .open(Path::new("."), Some(&bus))
    .await?;
    journal
        .stop(scope, &args.reason)
        .await
        .map_err(safety_abort)?;
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
    // Then wait until the executors have reverted every open fault of the scope.
    let in_scope = |record: &JournalRecord| scope.is_none_or(|run_id| record.run_id == run_id);
    let deadline = tokio::time::Instant::now() + ABORT_PATIENCE;
    let still_open = loop {
        let open = journal.open_faults().await.map_err(safety_abort)?;
        let still_open = open.iter().filter(|record| in_scope(record)).count() as u32;
        if still_open == 0 || tokio::time::Instant::now() >= deadline {
            break still_open;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    outln!(
        "stopped injections of {}; {still_open} fault(s) still open",
        if scope.is_some() {
            "this run"
        } else {
            "every run (until `rdfi resume`)"
        }
    );
    Ok(if still_open == 0 { 0 } else { 3 })
}

#[derive(clap::Args)]
pub struct ResumeArgs {
    /// The executor's gRPC URL; without it, the journal of --state-dir (or, with --nats, the NATS journal
    /// every executor shares).
    #[arg(long, env = "RDFI_EXECUTOR_URL", value_name = "URL")]
    executor: Option<String>,
    #[command(flatten)]
    client: ClientArgs,
    #[command(flatten)]
    journal: StatusArgs,
}

/// `rdfi resume`: lifts the stops an abort left in the journal.
pub async fn resume(args: ResumeArgs) -> Result<u8, Failure> {
    let location = args.journal;
    let _telemetry = quiet_telemetry(&location.common)?;
    if let Some(url) = &args.executor {
        let mut client = ExecutorServiceClient::new(
            args.client
                .connect(url)
                .await
                .map_err(|error| usage(format!("the executor: {error}")))?,
        );
        let mut request = tonic::Request::new(ResumeRequest {});
        telemetry::inject_into_grpc(request.metadata_mut());
        client
            .resume(request)
            .await
            .map_err(|status| usage(format!("the executor refused: {}", status.message())))?;
    } else {
        let state_dir = location.state_dir.unwrap_or_else(default_state_dir);
        let (journal, _nats) =
            open_journal(&location.common, &location.journal, &state_dir).await?;
        journal.resume().await.map_err(usage)?;
    }
    outln!("injections allowed again");
    Ok(0)
}
