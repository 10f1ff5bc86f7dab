//! Cluster mode: any subset of the services over NATS JetStream, as `rdfi serve --services ...` or as the
//! per-service binaries (`rdfi-planner`, `rdfi-executor`, `rdfi-monitor`, `rdfi-analyzer`, `rdfi-knowledge`).

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use rdfi_core::bus::nats::NatsBus;
use rdfi_core::bus::nats::cluster_size;
use rdfi_core::cli::{CommonArgs, shutdown_on_signals};
use rdfi_core::grpc::{GrpcServer, Listen, Readiness, ServerArgs};
use rdfi_core::telemetry;
use rdfi_core::{CancellationToken, lease, metrics};
use rdfi_executor::Journal;
use rdfi_executor::args::SafetyArgs;
use rdfi_executor::journal::file::FileJournal;
use rdfi_executor::journal::nats::NatsJournal;
use rdfi_knowledge::Database;
use rdfi_provider::settings::ProviderArgs;

use crate::engine::{Engine, EngineConfig, SignalsAuthArgs, SourceArgs};
use crate::query::KnowledgeArgs;
use crate::{Failure, abort, usage};

#[derive(Clone, Debug, clap::Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub provider: ProviderArgs,
    /// Journal and (unless --database) knowledge database; default $XDG_STATE_HOME/rdfi.
    #[arg(long, env = "RDFI_STATE_DIR", value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// The knowledge database: a SQLite file, or a `postgres://` URL that knowledge replicas share (give its
    /// password through the environment, not the command line).
    #[arg(long, env = "RDFI_DATABASE", value_name = "FILE|URL", value_parser = parse_database)]
    pub database: Option<Database>,
    /// Where knowledge serves gRPC.
    #[arg(
        long,
        env = "RDFI_KNOWLEDGE_LISTEN",
        default_value = "127.0.0.1:50051",
        value_name = "ADDR"
    )]
    pub knowledge_listen: SocketAddr,
    /// Where a planner served without knowledge reads what campaigns learn from: a knowledge service's gRPC
    /// URL. With knowledge in the same process, its database is read instead.
    #[arg(
        long,
        env = "RDFI_KNOWLEDGE_URL",
        default_value = "http://127.0.0.1:50051",
        value_name = "URL"
    )]
    pub knowledge_url: String,
    /// Where the planner serves gRPC.
    #[arg(
        long,
        env = "RDFI_PLANNER_LISTEN",
        default_value = "127.0.0.1:50052",
        value_name = "ADDR"
    )]
    pub planner_listen: SocketAddr,
    /// Where the monitor's signal webhook listens (POST /v1/signals).
    #[arg(
        long,
        env = "RDFI_WEBHOOK_LISTEN",
        default_value = "127.0.0.1:8787",
        value_name = "ADDR"
    )]
    pub webhook_listen: SocketAddr,
    #[command(flatten)]
    pub signals_auth: SignalsAuthArgs,
    /// Where the executor serves gRPC (Abort, ListActive).
    #[arg(
        long,
        env = "RDFI_EXECUTOR_LISTEN",
        default_value = "127.0.0.1:50053",
        value_name = "ADDR"
    )]
    pub executor_listen: SocketAddr,
    /// The pace the monitor reads a faulted resource at, once settled: reads start 100 ms after the injection and
    /// slow down to this, with a read just before each corrective deadline.
    #[arg(long, env = "RDFI_POLL_INTERVAL", default_value = "1s", value_parser = humantime::parse_duration, value_name = "DURATION")]
    pub poll_interval: Duration,
    /// How often the monitor reads every opted-in resource and publishes it as an asset (first at start); off
    /// when not given (`rdfi assets --refresh` still asks for one).
    #[arg(long, env = "RDFI_ASSET_REFRESH", value_parser = humantime::parse_duration, value_name = "DURATION")]
    pub asset_refresh: Option<Duration>,
    /// A stop condition: signals from this detection source abort every run (repeatable).
    #[arg(
        long = "stop-on-source",
        env = "RDFI_STOP_ON_SOURCE",
        value_delimiter = ',',
        value_name = "SOURCE"
    )]
    pub stop_sources: Vec<String>,
    #[command(flatten)]
    pub sources: SourceArgs,
    #[command(flatten)]
    pub journal: JournalArgs,
    #[command(flatten)]
    pub grpc: ServerArgs,
    /// Where to answer gRPC health checks alone, in clear and without tokens, for probes that speak neither
    /// TLS nor tokens (Kubernetes' gRPC probes); reports serving once every service has started. Not served
    /// when absent.
    #[arg(long, env = "RDFI_HEALTH_LISTEN", value_name = "ADDR")]
    pub health_listen: Option<SocketAddr>,
    /// How long the planner's lease and knowledge's recording lease last unrenewed (a successor takes over
    /// within it after a crash; a clean stop hands over at once). Renewed every fifth of it.
    #[arg(long, env = "RDFI_LEASE_TTL", value_name = "DURATION", default_value = "15s", value_parser = humantime::parse_duration)]
    pub lease_ttl: Duration,
    /// Where to serve Prometheus metrics (`GET /metrics`); not served when absent.
    #[arg(long, env = "RDFI_METRICS_LISTEN", value_name = "ADDR")]
    pub metrics_listen: Option<SocketAddr>,
    #[command(flatten)]
    pub safety: SafetyArgs,
    #[command(flatten)]
    pub common: CommonArgs,
}

/// Where the executor keeps its journal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum JournalKind {
    /// A file in the state directory: one executor.
    File,
    /// The NATS key-value bucket RDFI_JOURNAL: shared by executor replicas.
    Nats,
}

#[derive(Clone, Debug, clap::Args)]
pub struct JournalArgs {
    /// The executor's journal: file (in --state-dir, one process) or nats (shared by replicas). Default: nats
    /// when --nats is given, file otherwise.
    #[arg(long = "journal", env = "RDFI_JOURNAL", value_enum)]
    pub kind: Option<JournalKind>,
    /// Replicas of the NATS journal bucket when it is created; default: the NATS cluster's size (at most 5).
    #[arg(long, env = "RDFI_JOURNAL_REPLICAS", value_name = "N")]
    pub journal_replicas: Option<usize>,
}

impl JournalArgs {
    /// The journal kind these flags mean, given whether NATS was named.
    pub fn kind(&self, nats: bool) -> JournalKind {
        self.kind.unwrap_or(if nats {
            JournalKind::Nats
        } else {
            JournalKind::File
        })
    }

    /// Opens the journal these flags name.
    pub async fn open(
        &self,
        state_dir: &Path,
        nats: Option<&NatsBus>,
    ) -> Result<Arc<dyn Journal>, Failure> {
        match (self.kind(nats.is_some()), nats) {
            (JournalKind::File, _) => Ok(Arc::new(FileJournal::open(state_dir).map_err(usage)?)),
            (JournalKind::Nats, Some(nats)) => {
                let replicas = self
                    .journal_replicas
                    .unwrap_or_else(|| cluster_size(nats.jetstream()));
                Ok(Arc::new(
                    NatsJournal::open(nats.jetstream(), replicas)
                        .await
                        .map_err(usage)?,
                ))
            }
            (JournalKind::Nats, None) => Err(usage(
                "--journal nats needs --nats URL (or use --journal file)",
            )),
        }
    }
}

/// `$XDG_STATE_HOME/rdfi`, else `~/.local/state/rdfi`, else `./.rdfi`.
/// `--database`: a `postgres://` URL or a SQLite file.
fn parse_database(value: &str) -> Result<Database, std::convert::Infallible> {
    Ok(Database::parse(value))
}

pub fn default_state_dir() -> PathBuf {
    std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".local/state")))
        .map(|base| base.join("rdfi"))
        .unwrap_or_else(|| PathBuf::from(".rdfi"))
}

/// Runs `services` over NATS until SIGINT or SIGTERM; returns the exit code.
pub async fn serve(args: ServeArgs, services: BTreeSet<&'static str>) -> Result<u8, Failure> {
    let name = match services.len() {
        1 => format!(
            "rdfi-{}",
            services.iter().next().copied().unwrap_or_default()
        ),
        _ => "rdfi".to_owned(),
    };
    let _telemetry = telemetry::init(&args.common.telemetry(&name, "info")).map_err(usage)?;
    let sources = args.sources.specs(&args.provider.provider).map_err(usage)?;
    let security = args.grpc.security().map_err(usage)?;
    let nats = args.common.nats_bus().await.map_err(usage)?;
    let state_dir = args.state_dir.unwrap_or_else(default_state_dir);
    let journal = if services.contains("executor") {
        Some(args.journal.open(&state_dir, Some(&nats)).await?)
    } else {
        None
    };
    let provider = if services.contains("executor") || services.contains("monitor") {
        Some(args.provider.connect().await.map_err(usage)?)
    } else {
        None
    };
    // Replicas of the planner and of knowledge take turns by leases (rdfi_core::lease).
    let leases = if services.contains("planner") || services.contains("knowledge") {
        let timing = lease::Timing {
            ttl: args.lease_ttl,
            renew_every: args.lease_ttl / 5,
            margin: args.lease_ttl / 5,
        };
        let replicas = args
            .common
            .stream_replicas
            .unwrap_or_else(|| cluster_size(nats.jetstream()));
        Some(
            lease::Leases::open(nats.jetstream(), replicas, timing, lease::this_instance())
                .await
                .map_err(usage)?,
        )
    } else {
        None
    };
    let standby = services
        .contains("planner")
        .then(|| leases.clone())
        .flatten();
    let target = args.provider.target();
    let (lag_of, journal_open) = (nats.clone(), journal.clone());
    let listen = |address| Listen {
        address,
        security: security.clone(),
    };
    let engine = Engine::start(
        EngineConfig {
            services,
            bus: Arc::new(nats),
            provider,
            state_dir,
            database: args.database,
            journal,
            opt_in_tag: args.provider.opt_in_tag.clone(),
            safety: args.safety,
            webhook_listen: Some(args.webhook_listen),
            signals_auth: args.signals_auth.auth().map_err(usage)?,
            knowledge_listen: Some(listen(args.knowledge_listen)),
            planner_listen: Some(listen(args.planner_listen)),
            executor_listen: Some(listen(args.executor_listen)),
            poll_interval: args.poll_interval,
            asset_refresh: args.asset_refresh,
            stop_sources: args.stop_sources,
            sources,
            nats: args.common.nats_target(),
            target: Some(target),
            learn_from: Some(KnowledgeArgs {
                state_dir: None,
                knowledge: Some(args.knowledge_url),
                client: args.grpc.client.clone(),
            }),
            leases,
        },
        shutdown_on_signals(),
    )
    .await
    .map_err(usage)?;
    let health_shutdown = CancellationToken::new();
    let (health, readiness) =
        GrpcServer::spawn_health(args.health_listen, health_shutdown.clone()).await;
    tokio::spawn(report_readiness(readiness, standby));
    let metrics = args.metrics_listen.map(|address| {
        tokio::spawn(metrics::serve(
            address,
            readings(lag_of, journal_open),
            health_shutdown.clone(),
        ))
    });
    let stopped = engine.run_until_stopped().await;
    health.stop(&health_shutdown).await.map_err(abort)?;
    if let Some(server) = metrics
        && let Ok(Err(error)) = server.await
    {
        tracing::error!(%error, "the metrics server failed");
    }
    stopped.map_err(abort)?;
    Ok(0)
}

/// Reports the health port's readiness: ready once every service has started, except while a planner stands
/// by for the lease (so that a Service sends submissions only to the active planner).
async fn report_readiness(readiness: Readiness, planner_leases: Option<lease::Leases>) {
    let Some(leases) = planner_leases else {
        readiness.set(true).await;
        return;
    };
    let mut held = leases.held();
    loop {
        let ready = held.borrow_and_update().contains(rdfi_planner::LEASE);
        readiness.set(ready).await;
        if held.changed().await.is_err() {
            return;
        }
    }
}

/// What a scrape of `/metrics` reads: the stream's consumers' lag, and the journal's open faults when this
/// process runs the executor.
fn readings(nats: NatsBus, journal: Option<Arc<dyn Journal>>) -> metrics::Readings {
    metrics::Readings {
        lag: Some(Arc::new(move || {
            let nats = nats.clone();
            Box::pin(async move { nats.consumer_lag().await.map_err(|error| error.to_string()) })
        })),
        journal_open: journal.map(
            |journal| -> Arc<dyn Fn() -> metrics::Reading<usize> + Send + Sync> {
                Arc::new(move || {
                    let journal = journal.clone();
                    Box::pin(async move {
                        journal
                            .open_faults()
                            .await
                            .map(|open| open.len())
                            .map_err(|error| error.to_string())
                    })
                })
            },
        ),
    }
}

#[derive(Parser)]
struct ServiceCli {
    #[command(flatten)]
    args: ServeArgs,
}

/// The `main` of a per-service binary.
pub fn service_main(service: &'static str) -> ExitCode {
    let cli = ServiceCli::parse();
    crate::block_on(serve(cli.args, BTreeSet::from([service])))
}
