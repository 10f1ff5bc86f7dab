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
use rdfi_core::bus::nats::NatsAuth;
use rdfi_proto::v1::SignalSourceSpec;
use serde_json::json;
use sha2::{Digest, Sha256};

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

/// What a re-reading source (a folder, Security Hub) has passed on: each signal once per fault it was
/// correlated with (and once while it named no active fault), the most recent [`REMEMBERED`], as digests.
#[derive(Default)]
pub(crate) struct Seen {
    order: VecDeque<[u8; 32]>,
    digests: HashSet<[u8; 32]>,
}

impl Seen {
    /// Whether `signal` is new for the fault `fault_instance_id` (empty: for no fault); remembers it.
    pub fn first_time(&mut self, signal: &Signal, fault_instance_id: &str) -> bool {
        let mut digest = Sha256::new();
        for part in [
            signal.source.as_str(),
            &signal.resource,
            &signal.resource_type,
            &signal.title,
            &signal
                .observed_at_ms
                .map(|at| at.to_string())
                .unwrap_or_default(),
            &signal.correlation_id,
            fault_instance_id,
        ] {
            digest.update(part.len().to_le_bytes());
            digest.update(part.as_bytes());
        }
        let digest: [u8; 32] = digest.finalize().into();
        if !self.digests.insert(digest) {
            return false;
        }
        self.order.push_back(digest);
        if self.order.len() > REMEMBERED
            && let Some(oldest) = self.order.pop_front()
        {
            self.digests.remove(&oldest);
        }
        true
    }
}

/// Polls `spec` for `scope` until `stop`, or, for a run's source, until the run has had no active fault for
/// [`IDLE`] (its analysis never completed: no analyzer, say).
pub(crate) async fn poll(
    monitor: Arc<Monitor>,
    spec: SignalSourceSpec,
    scope: Scope,
    stop: CancellationToken,
) {
    tracing::info!(source = %spec.name, r#type = %spec.r#type, ?scope, "polling a detection source");
    let polled = async {
        match spec.r#type.as_str() {
            "aws-securityhub" => poll_security_findings(&monitor, &spec, &scope, &stop).await,
            "folder" => poll_folder(&monitor, &spec, &stop).await,
            "nats" => subscribe(&monitor, &spec, &stop).await,
            other => tracing::error!(r#type = other, "unknown detection source type; not polled"),
        }
    };
    tokio::select! {
        _ = polled => {}
        _ = idle(&monitor, &scope) => {
            tracing::warn!(source = %spec.name, ?scope, "the run has had no active fault for a while; its source stops");
        }
    }
    tracing::info!(source = %spec.name, ?scope, "stopped polling a detection source");
}

/// A run's sources stop after it has had no active fault this long.
const IDLE: Duration = Duration::from_secs(600);

/// Returns once the run `scope` names has had no active fault for [`IDLE`]; never for every run's sources.
async fn idle(monitor: &Monitor, scope: &Scope) {
    if *scope == Scope::Every {
        return std::future::pending().await;
    }
    let check = IDLE / 20;
    let mut idle_for = Duration::ZERO;
    while idle_for < IDLE {
        tokio::time::sleep(check).await;
        idle_for = match monitor.watched(scope) {
            Some(_) => Duration::ZERO,
            None => idle_for + check,
        };
    }
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

/// Hands on the signals of a re-reading source, each once per fault.
async fn pass_on(monitor: &Monitor, seen: &mut Seen, signals: Vec<Signal>) {
    for signal in signals {
        monitor
            .ingest_where(signal, |signal, fault_instance_id| {
                seen.first_time(signal, fault_instance_id)
            })
            .await;
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
                cursor.read(&file);
                continue;
            }
            let content = match folder::content(&file.path).await {
                Ok(content) => content,
                Err(error) => {
                    tracing::warn!(file = %file.path.display(), %error, "cannot read a result file; trying again");
                    continue;
                }
            };
            cursor.read(&file);
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
    // The monitor's own NATS server is reached with its credentials; another one named by url, as it says.
    let (url, auth) = match (spec.url.as_str(), &monitor.nats) {
        ("", None) => {
            tracing::error!(source = %spec.name, "a nats source needs url, or a monitor running over NATS (--nats)");
            return;
        }
        ("", Some(own)) => (own.url.clone(), own.auth.clone()),
        (url, _) => (url.to_owned(), NatsAuth::default()),
    };
    let fields = spec.fields.clone().into_iter().collect();
    let shown_url = rdfi_core::redact::url(&url);
    loop {
        let subscribed = async {
            let client = auth.options().await?.connect(&url).await?;
            let subscriber = client.subscribe(spec.subject.clone()).await?;
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>((client, subscriber))
        };
        let (_client, mut messages) = tokio::select! {
            _ = stop.cancelled() => return,
            subscribed = subscribed => match subscribed {
                Ok(subscribed) => subscribed,
                Err(error) => {
                    tracing::warn!(source = %spec.name, url = %shown_url, %error, "cannot subscribe; trying again");
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
                tracing::warn!(source = %spec.name, url = %shown_url, "the subscription ended; subscribing again");
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = tokio::time::sleep(RECONNECT) => break,
                }
            };
            match nats::signal(&message.payload, &fields, &spec.name) {
                // Core NATS delivers each message once: nothing to pass on twice.
                Ok(signal) => {
                    monitor.ingest(signal).await;
                }
                Err(error) => {
                    tracing::warn!(source = %spec.name, subject = %message.subject, %error, "a message is not a signal")
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signal(title: &str) -> Signal {
        Signal {
            format: "ocsf".into(),
            resource: "arn:aws:s3:::b".into(),
            resource_type: "aws.s3.bucket".into(),
            source: "Prowler".into(),
            title: title.into(),
            severity: "high".into(),
            observed_at_ms: None,
            correlation_id: String::new(),
        }
    }

    #[test]
    fn a_signal_is_passed_on_once_per_fault() {
        let mut seen = Seen::default();
        assert!(seen.first_time(&signal("public"), ""));
        assert!(!seen.first_time(&signal("public"), ""));
        assert!(seen.first_time(&signal("public"), "fault-1"));
        assert!(
            seen.first_time(&signal("public"), "fault-2"),
            "a later fault on the bucket"
        );
        assert!(!seen.first_time(&signal("public"), "fault-1"));
        assert!(seen.first_time(&signal("other"), "fault-1"));
    }

    #[test]
    fn the_memory_is_bounded() {
        let mut seen = Seen::default();
        for index in 0..REMEMBERED + 10 {
            seen.first_time(&signal(&index.to_string()), "f");
        }
        assert_eq!(seen.order.len(), REMEMBERED);
        assert_eq!(seen.digests.len(), REMEMBERED);
        assert!(
            seen.first_time(&signal("0"), "f"),
            "the oldest was forgotten"
        );
    }
}
