//! Detection sources the monitor polls (`observe.sources` of an experiment, `--source` on the command line):
//! AWS Security Hub (GetFindings about the faulted resources, through the provider), a NATS subject with a field
//! mapping ([`nats`]) and a folder of scanner result files ([`folder`]). Each turns what it reads into
//! [`Signal`]s with the same pure parsers as the webhook, and hands them to the monitor, which correlates them
//! with the active faults exactly as it does a posted signal. A run's sources are polled from `run.started` to
//! its `analysis.completed`; command-line sources for the monitor's life. See docs/signals.md.

pub(crate) mod folder;
pub(crate) mod nats;

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use rdfi_core::CancellationToken;
use rdfi_proto::v1::SignalSourceSpec;
use serde_json::json;

use crate::Monitor;
use crate::shapes::{self, Signal};

/// How many signals a source remembers having passed on, so that reading the same finding again (a file
/// rewritten, a finding still active at the next poll) does not repeat it.
const REMEMBERED: usize = 50_000;
/// Findings are asked for from this long before the earliest injection: clocks differ.
const CLOCK_SKEW_MS: i64 = 60_000;
/// How long a NATS source waits before connecting again after a failure.
const RECONNECT: Duration = Duration::from_secs(2);

/// Which faults a source serves: one run's, or every run's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Scope {
    Run(String),
    Every,
}

impl Scope {
    pub(crate) fn covers(&self, run_id: &str) -> bool {
        match self {
            Scope::Run(run) => run == run_id,
            Scope::Every => true,
        }
    }
}

/// The signals a source has passed on, the most recent [`REMEMBERED`].
#[derive(Default)]
pub(crate) struct Seen {
    order: VecDeque<String>,
    keys: HashSet<String>,
}

impl Seen {
    /// Whether `signal` is new; remembers it.
    pub fn first_time(&mut self, signal: &Signal) -> bool {
        let key = format!(
            "{}\u{1f}{}\u{1f}{}\u{1f}{}\u{1f}{:?}\u{1f}{}",
            signal.source,
            signal.resource,
            signal.resource_type,
            signal.title,
            signal.observed_at_ms,
            signal.correlation_id
        );
        if !self.keys.insert(key.clone()) {
            return false;
        }
        self.order.push_back(key);
        if self.order.len() > REMEMBERED
            && let Some(oldest) = self.order.pop_front()
        {
            self.keys.remove(&oldest);
        }
        true
    }
}

/// Polls `spec` for `scope` until `stop`.
pub(crate) async fn poll(
    monitor: Arc<Monitor>,
    spec: SignalSourceSpec,
    scope: Scope,
    stop: CancellationToken,
) {
    tracing::info!(source = %spec.name, r#type = %spec.r#type, ?scope, "polling a detection source");
    match spec.r#type.as_str() {
        "aws-securityhub" => poll_security_findings(&monitor, &spec, &scope, &stop).await,
        "folder" => poll_folder(&monitor, &spec, &stop).await,
        "nats" => subscribe(&monitor, &spec, &stop).await,
        other => tracing::error!(r#type = other, "unknown detection source type; not polled"),
    }
    tracing::info!(source = %spec.name, ?scope, "stopped polling a detection source");
}

fn interval(spec: &SignalSourceSpec) -> Duration {
    Duration::from_millis(spec.interval_ms.max(100))
}

/// Waits one interval; false once `stop` is cancelled.
async fn tick(spec: &SignalSourceSpec, stop: &CancellationToken) -> bool {
    tokio::select! {
        _ = stop.cancelled() => false,
        _ = tokio::time::sleep(interval(spec)) => true,
    }
}

async fn pass_on(monitor: &Monitor, seen: &mut Seen, signals: Vec<Signal>) {
    for signal in signals {
        if seen.first_time(&signal) {
            monitor.ingest(signal).await;
        }
    }
}

async fn poll_security_findings(
    monitor: &Monitor,
    spec: &SignalSourceSpec,
    scope: &Scope,
    stop: &CancellationToken,
) {
    let mut seen = Seen::default();
    while tick(spec, stop).await {
        let Some((resources, earliest_ms)) = monitor.watched(scope) else {
            continue;
        };
        let since =
            UNIX_EPOCH + Duration::from_millis((earliest_ms - CLOCK_SKEW_MS).max(0).unsigned_abs());
        let since = humantime::format_rfc3339_millis(since).to_string();
        let findings = match monitor.provider.security_findings(&resources, &since).await {
            Ok(findings) => findings,
            Err(error) => {
                tracing::warn!(source = %spec.name, %error, "cannot read security findings");
                continue;
            }
        };
        if findings.is_empty() {
            continue;
        }
        let delivered = json!({
            "detail-type": "Security Hub Findings - Imported",
            "source": "aws.securityhub",
            "detail": { "findings": findings },
        });
        match shapes::parse_any(&delivered) {
            Ok(signals) => pass_on(monitor, &mut seen, signals).await,
            Err(error) => {
                tracing::warn!(source = %spec.name, %error, "a security finding is not a signal")
            }
        }
    }
}

async fn poll_folder(monitor: &Monitor, spec: &SignalSourceSpec, stop: &CancellationToken) {
    let folder = std::path::Path::new(&spec.path);
    let mut cursor = folder::Cursor::default();
    let mut seen = Seen::default();
    while tick(spec, stop).await {
        let listing = match folder::list(folder).await {
            Ok(listing) => listing,
            Err(error) => {
                tracing::warn!(source = %spec.name, folder = %folder.display(), %error, "cannot list the result folder");
                continue;
            }
        };
        for file in cursor.changed(listing) {
            if file.len > folder::MAX_FILE_BYTES {
                tracing::warn!(file = %file.path.display(), bytes = file.len, "result file too large; skipped");
                continue;
            }
            let content = match tokio::fs::read(&file.path).await {
                Ok(content) => content,
                Err(error) => {
                    tracing::warn!(file = %file.path.display(), %error, "cannot read a result file");
                    continue;
                }
            };
            match folder::signals(&content) {
                Ok(signals) => pass_on(monitor, &mut seen, signals).await,
                Err(error) => {
                    tracing::warn!(file = %file.path.display(), %error, "a result file holds no signal")
                }
            }
        }
    }
}

async fn subscribe(monitor: &Monitor, spec: &SignalSourceSpec, stop: &CancellationToken) {
    let url = match (spec.url.as_str(), monitor.nats_url.as_deref()) {
        ("", None) => {
            tracing::error!(source = %spec.name, "a nats source needs url, or a monitor running over NATS (--nats)");
            return;
        }
        ("", Some(url)) => url.to_owned(),
        (url, _) => url.to_owned(),
    };
    let fields = spec.fields.clone().into_iter().collect();
    let mut seen = Seen::default();
    loop {
        let subscribed = async {
            let client = async_nats::connect(&url).await?;
            let subscriber = client.subscribe(spec.subject.clone()).await?;
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>((client, subscriber))
        };
        let (_client, mut messages) = tokio::select! {
            _ = stop.cancelled() => return,
            subscribed = subscribed => match subscribed {
                Ok(subscribed) => subscribed,
                Err(error) => {
                    tracing::warn!(source = %spec.name, %url, %error, "cannot subscribe; trying again");
                    tokio::select! {
                        _ = stop.cancelled() => return,
                        _ = tokio::time::sleep(RECONNECT) => continue,
                    }
                }
            },
        };
        loop {
            let message = tokio::select! {
                _ = stop.cancelled() => return,
                message = futures::StreamExt::next(&mut messages) => message,
            };
            let Some(message) = message else {
                break;
            };
            match nats::signal(&message.payload, &fields, &spec.name) {
                Ok(signal) => pass_on(monitor, &mut seen, vec![signal]).await,
                Err(error) => {
                    tracing::warn!(source = %spec.name, subject = %message.subject, %error, "a message is not a signal")
                }
            }
        }
    }
}
