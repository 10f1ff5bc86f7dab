//! Any subset of the five services in one process, over one bus: all of them for `rdfi demo` and `rdfi run`,
//! the chosen ones for `rdfi serve`.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rdfi_core::CancellationToken;
use rdfi_core::bus::Bus;
use rdfi_core::bus::nats::NatsTarget;
use rdfi_core::grpc::Listen;
use rdfi_core::lease::Leases;
use rdfi_core::redact::Secret;
use rdfi_executor::Journal;
use rdfi_executor::RevertOutcome;
use rdfi_executor::args::SafetyArgs;
use rdfi_executor::journal::file::FileJournal;
use rdfi_knowledge::{Database, KnowledgeConfig, Store};
use rdfi_planner::{Campaigns, Learned, PlannerConfig, PlannerHandle};
use rdfi_proto::v1::{GetRunResponse, RunStatus, SignalSourceSpec};
use rdfi_provider::Provider;
use rdfi_provider::settings::ProviderTarget;
use tokio::task::JoinSet;

use crate::plan::KnowledgeBeliefs;
use crate::query::{Knowledge, KnowledgeArgs};

/// The services, by name.
/// How the monitor's signal webhook authenticates callers (docs/signals.md); required beyond loopback.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct SignalsAuthArgs {
    /// A bearer token callers of POST /v1/signals must present (`Authorization: Bearer <token>`).
    #[arg(
        long,
        env = "RDFI_SIGNALS_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true
    )]
    pub signals_token: Option<Secret>,
    /// A source's HMAC-SHA256 key: bodies signed with it (X-Rdfi-Signature) are admitted as that source
    /// (repeatable, or comma-separated in the variable).
    #[arg(
        long,
        env = "RDFI_SIGNALS_HMAC",
        value_delimiter = ',',
        value_name = "SOURCE=KEY",
        hide_env_values = true
    )]
    pub signals_hmac: Vec<Secret>,
}

impl SignalsAuthArgs {
    pub fn auth(&self) -> Result<rdfi_monitor::SignalsAuth, String> {
        Ok(rdfi_monitor::SignalsAuth {
            bearer_token: self
                .signals_token
                .as_ref()
                .map(|token| token.expose().to_owned())
                .filter(|token| !token.is_empty()),
            hmac_keys: rdfi_monitor::SignalsAuth::parse_hmac_keys(
                &self
                    .signals_hmac
                    .iter()
                    .map(|key| key.expose().to_owned())
                    .collect::<Vec<_>>(),
            )?,
        })
    }
}

/// Detection sources the monitor polls besides those of the experiment (docs/signals.md).
#[derive(clap::Args, Clone, Debug, Default)]
pub struct SourceArgs {
    /// A detection source to poll, as an entry of observe.sources in YAML (repeatable):
    /// '{type: aws-securityhub, interval: 5s}', '{type: folder, path: ./prowler-output}',
    /// '{type: nats, subject: alerts.cloud, fields: {resource: /arn}}'.
    #[arg(long = "source", value_name = "SPEC")]
    pub sources: Vec<String>,
}

impl SourceArgs {
    /// The sources, checked as the experiment's are, for `provider`.
    pub fn specs(&self, provider: &str) -> Result<Vec<SignalSourceSpec>, String> {
        self.sources
            .iter()
            .enumerate()
            .map(|(index, text)| {
                rdfi_core::experiment::parse_source(
                    text,
                    provider,
                    &format!("--source #{}", index + 1),
                )
                .map_err(|error| error.to_string())
            })
            .collect()
    }
}

pub const SERVICES: &[&str] = &["planner", "executor", "monitor", "analyzer", "knowledge"];

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(
        "unknown service {0:?}; expected any of planner, executor, monitor, analyzer, knowledge"
    )]
    UnknownService(String),
    #[error("no service selected")]
    NoService,
    #[error("the {0} service needs a provider")]
    NoProvider(&'static str),
    #[error(transparent)]
    Store(#[from] rdfi_knowledge::StoreError),
    #[error("the {service} service failed: {reason}")]
    Service {
        service: &'static str,
        reason: String,
    },
    #[error("run {run_id} did not complete within {}", crate::human::duration(u64::try_from(waited.as_millis()).unwrap_or(u64::MAX)))]
    RunTimeout { run_id: String, waited: Duration },
    #[error("interrupted")]
    Interrupted,
}

/// Parses `planner,executor,...` (or `all`).
pub fn parse_services(list: &str) -> Result<BTreeSet<&'static str>, EngineError> {
    let mut services = BTreeSet::new();
    for name in list
        .split(',')
        .map(str::trim)
        .filter(|name| !name.is_empty())
    {
        if name == "all" {
            services.extend(SERVICES);
            continue;
        }
        let known = SERVICES
            .iter()
            .find(|service| **service == name)
            .ok_or_else(|| EngineError::UnknownService(name.to_owned()))?;
        services.insert(*known);
    }
    if services.is_empty() {
        return Err(EngineError::NoService);
    }
    Ok(services)
}

pub struct EngineConfig {
    pub services: BTreeSet<&'static str>,
    pub bus: Arc<dyn Bus>,
    /// Needed by the executor and the monitor.
    pub provider: Option<Arc<dyn Provider>>,
    /// The executor's journal (unless `journal` is given) and, unless `database` says otherwise, the knowledge
    /// database.
    pub state_dir: PathBuf,
    pub database: Option<Database>,
    /// The executor's journal; a file in `state_dir` when `None`.
    pub journal: Option<Arc<dyn Journal>>,
    pub opt_in_tag: String,
    pub safety: SafetyArgs,
    pub webhook_listen: Option<SocketAddr>,
    /// How the signal webhook authenticates callers.
    pub signals_auth: rdfi_monitor::SignalsAuth,
    pub knowledge_listen: Option<Listen>,
    pub planner_listen: Option<Listen>,
    pub executor_listen: Option<Listen>,
    pub poll_interval: Duration,
    /// How often the monitor publishes every opted-in resource as assets; never on a schedule when `None`.
    pub asset_refresh: Option<Duration>,
    /// Detection sources whose signals abort everything (stop conditions).
    pub stop_sources: Vec<String>,
    /// Detection sources the monitor polls for every run (`--source`).
    pub sources: Vec<SignalSourceSpec>,
    /// The NATS server the services run over, if any: where a nats source without a url subscribes.
    pub nats: Option<NatsTarget>,
    /// How the provider reaches the cloud, journalled with every fault so that recovery needs no flags.
    pub target: Option<ProviderTarget>,
    /// Where a planner without knowledge in this process reads what campaigns learn from (a knowledge
    /// service).
    pub learn_from: Option<KnowledgeArgs>,
    /// Replicas of the planner, and of knowledge's recording, take turns by these leases; one process alone
    /// (`None`) needs none.
    pub leases: Option<Leases>,
}

impl EngineConfig {
    /// All five services in one process, serving nothing on the network, with the default safety limits.
    pub fn one_process(
        bus: Arc<dyn Bus>,
        provider: Arc<dyn Provider>,
        state_dir: PathBuf,
    ) -> EngineConfig {
        EngineConfig {
            services: SERVICES.iter().copied().collect(),
            bus,
            provider: Some(provider),
            state_dir,
            database: None,
            journal: None,
            opt_in_tag: rdfi_core::DEFAULT_OPT_IN_TAG.to_owned(),
            safety: SafetyArgs::default(),
            webhook_listen: None,
            signals_auth: rdfi_monitor::SignalsAuth::default(),
            knowledge_listen: None,
            planner_listen: None,
            executor_listen: None,
            poll_interval: Duration::from_secs(1),
            asset_refresh: None,
            stop_sources: Vec::new(),
            sources: Vec::new(),
            nats: None,
            target: None,
            learn_from: None,
            leases: None,
        }
    }
}

/// Running services.
pub struct Engine {
    shutdown: CancellationToken,
    tasks: JoinSet<(&'static str, Result<(), String>)>,
    planner: PlannerHandle,
    campaigns: Option<Campaigns>,
    store: Option<Store>,
    /// What the executor reverted when it stopped.
    executor_outcome: Arc<std::sync::Mutex<Option<RevertOutcome>>>,
}

impl Engine {
    /// Starts the configured services. They stop when `shutdown` is cancelled (or [`Engine::stop`] is called).
    pub async fn start(
        config: EngineConfig,
        shutdown: CancellationToken,
    ) -> Result<Engine, EngineError> {
        let mut tasks = JoinSet::new();
        let provider = |service: &'static str| {
            config
                .provider
                .clone()
                .ok_or(EngineError::NoProvider(service))
        };
        let mut store = None;
        let mut campaigns = None;
        let executor_outcome = Arc::new(std::sync::Mutex::new(None));
        for &service in &config.services {
            let bus = config.bus.clone();
            let token = shutdown.clone();
            match service {
                "knowledge" => {
                    let database = config.database.clone().unwrap_or_else(|| {
                        Database::Sqlite(config.state_dir.join("knowledge.sqlite"))
                    });
                    // A state directory no journal has made yet (the journal in NATS, say).
                    if let Database::Sqlite(path) = &database
                        && let Some(parent) = path.parent()
                    {
                        rdfi_core::state::create_private_dir(parent).map_err(|error| {
                            EngineError::Service {
                                service: "knowledge",
                                reason: format!("cannot create {}: {error}", parent.display()),
                            }
                        })?;
                    }
                    let opened = Store::connect(&database).await?;
                    store = Some(opened.clone());
                    let knowledge = KnowledgeConfig {
                        bus,
                        store: opened,
                        grpc: config.knowledge_listen.clone(),
                        leases: config.leases.clone(),
                    };
                    tasks.spawn(async move {
                        (
                            service,
                            stringify(rdfi_knowledge::run(knowledge, token).await),
                        )
                    });
                }
                "planner" => {
                    // Knowledge comes first (services start in name order): campaigns learn from its store.
                    let learned: Option<Arc<dyn Learned>> = match (&store, &config.learn_from) {
                        (Some(store), _) => Some(Arc::new(KnowledgeBeliefs::open(
                            Knowledge::Local(store.clone()),
                        ))),
                        (None, Some(remote)) => {
                            Some(Arc::new(KnowledgeBeliefs::Remote(remote.clone())))
                        }
                        (None, None) => None,
                    };
                    let shared = Campaigns::new(bus.clone(), learned.clone(), token.clone());
                    campaigns = Some(shared.clone());
                    let planner = PlannerConfig {
                        bus,
                        grpc: config.planner_listen.clone(),
                        learned,
                        campaigns: Some(shared),
                    };
                    let leases = config.leases.clone();
                    tasks.spawn(async move {
                        let ran = match leases {
                            Some(leases) => leases
                                .run_holding(rdfi_planner::LEASE, &token, |held| {
                                    rdfi_planner::run(planner, held)
                                })
                                .await
                                .map_err(|lost| lost.to_string())
                                .and_then(|ran| stringify(ran.unwrap_or(Ok(())))),
                            None => stringify(rdfi_planner::run(planner, token).await),
                        };
                        (service, ran)
                    });
                }
                "executor" => {
                    let journal = match &config.journal {
                        Some(journal) => journal.clone(),
                        None => {
                            Arc::new(FileJournal::open(&config.state_dir).map_err(|error| {
                                EngineError::Service {
                                    service,
                                    reason: error.to_string(),
                                }
                            })?)
                        }
                    };
                    let executor = rdfi_executor::ExecutorConfig {
                        bus,
                        provider: provider(service)?,
                        journal,
                        limits: config.safety.blast_radius(&config.opt_in_tag),
                        retry: config.safety.retry(),
                        revert_concurrency: config.safety.revert_concurrency,
                        inject_concurrency: config.safety.inject_concurrency,
                        grpc: config.executor_listen.clone(),
                        target: config.target.clone(),
                    };
                    let ran = run_executor_apart(executor, token);
                    let outcome = executor_outcome.clone();
                    tasks.spawn(async move {
                        let ran = ran.await.unwrap_or_else(|_| {
                            Err("the executor's thread ended without an answer".to_owned())
                        });
                        let ran = ran.map(|reverted| {
                            *outcome
                                .lock()
                                .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(reverted);
                        });
                        (service, ran)
                    });
                }
                "monitor" => {
                    let monitor = rdfi_monitor::MonitorConfig {
                        bus,
                        provider: provider(service)?,
                        opt_in_tag: config.opt_in_tag.clone(),
                        webhook_listen: config.webhook_listen,
                        signals_auth: config.signals_auth.clone(),
                        poll_interval: config.poll_interval,
                        stop_sources: config.stop_sources.clone(),
                        sources: config.sources.clone(),
                        nats: config.nats.clone(),
                        asset_refresh: config.asset_refresh,
                    };
                    tasks.spawn(async move {
                        (service, stringify(rdfi_monitor::run(monitor, token).await))
                    });
                }
                "analyzer" => {
                    let analyzer = rdfi_analyzer::AnalyzerConfig { bus };
                    tasks.spawn(async move {
                        (
                            service,
                            stringify(rdfi_analyzer::run(analyzer, token).await),
                        )
                    });
                }
                other => return Err(EngineError::UnknownService(other.to_owned())),
            }
        }
        Ok(Engine {
            shutdown,
            tasks,
            planner: PlannerHandle::new(config.bus),
            campaigns,
            store,
            executor_outcome,
        })
    }

    pub fn planner(&self) -> &PlannerHandle {
        &self.planner
    }

    /// The planner's campaigns, when the planner runs here.
    pub fn campaigns(&self) -> Option<&Campaigns> {
        self.campaigns.as_ref()
    }

    /// Waits until knowledge has recorded the run's completion, and returns the run. Fails when a service
    /// stops, on shutdown, or after `timeout`.
    pub async fn wait_for_run(
        &mut self,
        run_id: &str,
        timeout: Duration,
    ) -> Result<GetRunResponse, EngineError> {
        let store = self.store.clone().ok_or(EngineError::NoService)?;
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(run) = store.get_run(run_id).await?
                && run
                    .run
                    .as_ref()
                    .is_some_and(|summary| summary.status() == RunStatus::Completed)
            {
                return Ok(run);
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(50)) => {}
                _ = self.shutdown.cancelled() => return Err(EngineError::Interrupted),
                _ = tokio::time::sleep_until(deadline) => {
                    return Err(EngineError::RunTimeout { run_id: run_id.to_owned(), waited: timeout });
                }
                Some(finished) = self.tasks.join_next() => return Err(service_ended(finished)),
            }
        }
    }

    /// Runs until shutdown or until a service stops on its own (an error).
    pub async fn run_until_stopped(mut self) -> Result<Option<RevertOutcome>, EngineError> {
        let outcome = tokio::select! {
            _ = self.shutdown.cancelled() => Ok(()),
            Some(finished) = self.tasks.join_next() => Err(service_ended(finished)),
        };
        let stopped = self.stop().await;
        outcome.and(stopped)
    }

    /// Stops every service (the executor reverts what is active first) and waits for them; returns what the
    /// executor reverted on its way out, when it ran here.
    pub async fn stop(mut self) -> Result<Option<RevertOutcome>, EngineError> {
        self.shutdown.cancel();
        let mut first_error = None;
        while let Some(finished) = self.tasks.join_next().await {
            if let Err(error) = finished_ok(finished) {
                tracing::error!(%error, "service stopped with an error");
                first_error.get_or_insert(error);
            }
        }
        match first_error {
            Some(error) => Err(error),
            None => Ok(*self
                .executor_outcome
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())),
        }
    }
}

/// Runs the executor on a runtime and thread of its own, so that its abort listener, deadline timers and
/// reverts keep running while another service of this process is busy or stuck.
fn run_executor_apart(
    executor: rdfi_executor::ExecutorConfig,
    shutdown: CancellationToken,
) -> tokio::sync::oneshot::Receiver<Result<RevertOutcome, String>> {
    let (answer, answered) = tokio::sync::oneshot::channel();
    let spawned = std::thread::Builder::new()
        .name("rdfi-executor".to_owned())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name("rdfi-executor")
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime,
                Err(error) => {
                    let _ =
                        answer.send(Err(format!("cannot start the executor's runtime: {error}")));
                    return;
                }
            };
            let outcome =
                stringify_outcome(runtime.block_on(rdfi_executor::run(executor, shutdown)));
            let _ = answer.send(outcome);
            // `run` has reverted everything and waited for its tasks; what is left (idle consumers) is dropped.
            runtime.shutdown_background();
        });
    if let Err(error) = spawned {
        tracing::error!(%error, "cannot start the executor's thread");
    }
    answered
}

fn stringify_outcome<T, E: std::fmt::Display>(result: Result<T, E>) -> Result<T, String> {
    result.map_err(|error| error.to_string())
}

fn stringify<E: std::fmt::Display>(result: Result<(), E>) -> Result<(), String> {
    stringify_outcome(result)
}

type Finished = Result<(&'static str, Result<(), String>), tokio::task::JoinError>;

fn finished_ok(finished: Finished) -> Result<(), EngineError> {
    match finished {
        Ok((_, Ok(()))) => Ok(()),
        Ok((service, Err(reason))) => Err(EngineError::Service { service, reason }),
        Err(error) => Err(EngineError::Service {
            service: "unknown",
            reason: error.to_string(),
        }),
    }
}

/// A service that ended before shutdown failed, even when it returned cleanly.
fn service_ended(finished: Finished) -> EngineError {
    match finished {
        Ok((service, Ok(()))) => EngineError::Service {
            service,
            reason: "stopped before shutdown".to_owned(),
        },
        other => finished_ok(other).err().unwrap_or(EngineError::Interrupted),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn services_parse_from_a_list() {
        assert_eq!(parse_services("planner, executor").unwrap().len(), 2);
        assert_eq!(parse_services("all").unwrap().len(), 5);
        assert!(
            matches!(parse_services("planer"), Err(EngineError::UnknownService(name)) if name == "planer")
        );
        assert!(matches!(parse_services(" , "), Err(EngineError::NoService)));
    }
}
