//! Prometheus metrics, served on `/metrics` (`--metrics-listen ADDR`) by every rdfi process: the events each
//! service handled and published, faults by state and verdicts (read from the events the process publishes),
//! inject and revert latency, time to detect and to correct, and, at each scrape, the lag of every consumer of
//! the stream and the journal's open records.
//!
//! What an event means for the metrics is decided by [`of_published`], a pure function; the registry is one
//! per process, shared by the services it runs.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use rdfi_proto::v1::event::Payload;
use rdfi_proto::v1::{Event, Verdict};
use tokio_util::sync::CancellationToken;

use crate::events;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SubjectLabel {
    subject: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HandledLabels {
    consumer: String,
    subject: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabel {
    state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VerdictLabel {
    verdict: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ConsumerLabel {
    consumer: String,
}

/// Latencies from a millisecond to about half an hour.
fn seconds_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 22))
}

struct Metrics {
    registry: Registry,
    published: Family<SubjectLabel, Counter>,
    handled: Family<HandledLabels, Counter>,
    faults: Family<StateLabel, Counter>,
    verdicts: Family<VerdictLabel, Counter>,
    inject: Histogram,
    revert: Histogram,
    detect: Histogram,
    correct: Histogram,
    pending: Family<ConsumerLabel, Gauge>,
    ack_pending: Family<ConsumerLabel, Gauge>,
    journal_open: Gauge,
}

static METRICS: LazyLock<Metrics> = LazyLock::new(|| {
    let mut metrics = Metrics {
        registry: Registry::with_prefix("rdfi"),
        published: Family::default(),
        handled: Family::default(),
        faults: Family::default(),
        verdicts: Family::default(),
        inject: seconds_histogram(),
        revert: seconds_histogram(),
        detect: seconds_histogram(),
        correct: seconds_histogram(),
        pending: Family::default(),
        ack_pending: Family::default(),
        journal_open: Gauge::default(),
    };
    // The registry holds clones: each metric shares its values with its handle in `metrics`.
    let registry = &mut metrics.registry;
    registry.register(
        "events_published",
        "Events this process published, by subject",
        metrics.published.clone(),
    );
    registry.register(
        "events_handled",
        "Events this process's consumers handled, by consumer, subject and outcome (ok, or error: redelivered)",
        metrics.handled.clone(),
    );
    registry.register(
        "faults",
        "Fault transitions this process published (injected, prevented, rejected, reverted, revert_failed)",
        metrics.faults.clone(),
    );
    registry.register(
        "verdicts",
        "Verdicts this process reached, by verdict",
        metrics.verdicts.clone(),
    );
    registry.register(
        "inject_duration_seconds",
        "How long the executor took to inject a fault: snapshot, guard and the cloud's calls",
        metrics.inject.clone(),
    );
    registry.register(
        "revert_duration_seconds",
        "How long a revert took, from its start to the verified read-back",
        metrics.revert.clone(),
    );
    registry.register(
        "time_to_detect_seconds",
        "Time from injection to the first matching detection, per judged fault that was detected",
        metrics.detect.clone(),
    );
    registry.register(
        "time_to_correct_seconds",
        "Time from injection to the corrective control's restoration, per judged fault that was corrected",
        metrics.correct.clone(),
    );
    registry.register(
        "consumer_pending",
        "Messages of stream RDFI not yet delivered to each durable consumer (read at the scrape)",
        metrics.pending.clone(),
    );
    registry.register(
        "consumer_ack_pending",
        "Messages delivered to each durable consumer and not yet acknowledged (read at the scrape)",
        metrics.ack_pending.clone(),
    );
    registry.register(
        "journal_open_faults",
        "Faults the executor's journal holds open: injected, or being injected or reverted (read at the scrape)",
        metrics.journal_open.clone(),
    );
    metrics
});

/// What one published event adds to the metrics.
#[derive(Debug, PartialEq)]
pub struct Observed {
    pub subject: &'static str,
    /// A fault's transition (`injected`, `reverted`, ...), for `rdfi_faults_total`.
    pub fault_state: Option<&'static str>,
    pub verdict: Option<&'static str>,
    pub revert: Option<Duration>,
    pub detect: Option<Duration>,
    pub correct: Option<Duration>,
}

/// What a published event means for the metrics.
pub fn of_published(event: &Event) -> Option<Observed> {
    let subject = events::subject_of(event)?;
    let mut observed = Observed {
        subject,
        fault_state: subject
            .strip_prefix("rdfi.v1.fault.")
            .filter(|state| *state != "planned" && *state != "exposure"),
        verdict: None,
        revert: None,
        detect: None,
        correct: None,
    };
    match event.payload.as_ref()? {
        Payload::FaultReverted(reverted) => {
            if let (Some(started), Some(done)) =
                (&reverted.revert_started_at, &reverted.reverted_at)
            {
                let millis = rdfi_proto::unix_millis(done) - rdfi_proto::unix_millis(started);
                observed.revert = u64::try_from(millis).ok().map(Duration::from_millis);
            }
        }
        Payload::VerdictReached(reached) => {
            observed.verdict = Some(verdict_label(reached.verdict()));
            observed.detect = reached.time_to_detect_ms.map(Duration::from_millis);
            observed.correct = reached.time_to_correct_ms.map(Duration::from_millis);
        }
        _ => {}
    }
    Some(observed)
}

fn verdict_label(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Unspecified => "unspecified",
        Verdict::Prevented => "prevented",
        Verdict::Detected => "detected",
        Verdict::Corrected => "corrected",
        Verdict::Missed => "missed",
        Verdict::Inconclusive => "inconclusive",
    }
}

/// Counts an event this process published.
pub fn record_published(event: &Event) {
    let Some(observed) = of_published(event) else {
        return;
    };
    let metrics = &*METRICS;
    metrics
        .published
        .get_or_create(&SubjectLabel {
            subject: observed.subject.to_owned(),
        })
        .inc();
    if let Some(state) = observed.fault_state {
        metrics
            .faults
            .get_or_create(&StateLabel {
                state: state.to_owned(),
            })
            .inc();
    }
    if let Some(verdict) = observed.verdict {
        metrics
            .verdicts
            .get_or_create(&VerdictLabel {
                verdict: verdict.to_owned(),
            })
            .inc();
    }
    for (histogram, value) in [
        (&metrics.revert, observed.revert),
        (&metrics.detect, observed.detect),
        (&metrics.correct, observed.correct),
    ] {
        if let Some(value) = value {
            histogram.observe(value.as_secs_f64());
        }
    }
}

/// Counts an event a consumer handled; `ok` false when the handler failed (the event is redelivered).
pub fn record_handled(consumer: &str, subject: &str, ok: bool) {
    METRICS
        .handled
        .get_or_create(&HandledLabels {
            consumer: consumer.to_owned(),
            subject: subject.to_owned(),
            outcome: if ok { "ok" } else { "error" }.to_owned(),
        })
        .inc();
}

/// How long an injection took.
pub fn record_inject(took: Duration) {
    METRICS.inject.observe(took.as_secs_f64());
}

/// A consumer's lag, read at a scrape.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lag {
    pub consumer: String,
    pub pending: u64,
    pub ack_pending: u64,
}

/// What a scrape reads before it answers: the stream's consumers' lag, the journal's open faults.
#[derive(Default)]
pub struct Readings {
    pub lag: Option<Arc<dyn Fn() -> Reading<Vec<Lag>> + Send + Sync>>,
    pub journal_open: Option<Arc<dyn Fn() -> Reading<usize> + Send + Sync>>,
}

/// A value read at a scrape, or why it could not be.
pub type Reading<T> = Pin<Box<dyn Future<Output = Result<T, String>> + Send>>;

/// The metrics as Prometheus' text format, after taking `readings`.
pub async fn render(readings: &Readings) -> String {
    let metrics = &*METRICS;
    if let Some(lag) = &readings.lag {
        match lag().await {
            Ok(lags) => {
                for lag in lags {
                    let label = ConsumerLabel {
                        consumer: lag.consumer,
                    };
                    let to_gauge = |value: u64| i64::try_from(value).unwrap_or(i64::MAX);
                    metrics
                        .pending
                        .get_or_create(&label)
                        .set(to_gauge(lag.pending));
                    metrics
                        .ack_pending
                        .get_or_create(&label)
                        .set(to_gauge(lag.ack_pending));
                }
            }
            Err(error) => tracing::warn!(%error, "cannot read the consumers' lag for /metrics"),
        }
    }
    if let Some(open) = &readings.journal_open {
        match open().await {
            Ok(open) => {
                metrics
                    .journal_open
                    .set(i64::try_from(open).unwrap_or(i64::MAX));
            }
            Err(error) => {
                tracing::warn!(%error, "cannot read the journal's open faults for /metrics")
            }
        }
    }
    let mut text = String::new();
    // Writing to a String cannot fail.
    let _ = prometheus_client::encoding::text::encode(&mut text, &metrics.registry);
    text
}

/// Serves `GET /metrics` on `address` until `shutdown`.
pub async fn serve(
    address: SocketAddr,
    readings: Readings,
    shutdown: CancellationToken,
) -> Result<(), String> {
    let readings = Arc::new(readings);
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let readings = readings.clone();
            async move {
                (
                    [(
                        axum::http::header::CONTENT_TYPE,
                        "application/openmetrics-text; version=1.0.0; charset=utf-8",
                    )],
                    render(&readings).await,
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .map_err(|error| format!("metrics on {address}: {error}"))?;
    tracing::info!(%address, "metrics on /metrics");
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await
        .map_err(|error| format!("metrics on {address}: {error}"))
}

#[cfg(test)]
mod tests {
    use rdfi_proto::v1::{FaultInjected, FaultReverted, VerdictReached};

    use super::*;

    fn event(payload: Payload) -> Event {
        events::event("test", "run-1", "fault-1", "event-1", payload)
    }

    #[test]
    fn published_events_count_by_subject_and_faults_by_state() {
        let injected =
            of_published(&event(Payload::FaultInjected(FaultInjected::default()))).unwrap();
        assert_eq!(injected.subject, "rdfi.v1.fault.injected");
        assert_eq!(injected.fault_state, Some("injected"));
        assert_eq!(injected.verdict, None);
        let planned = of_published(&event(Payload::FaultPlanned(Default::default()))).unwrap();
        assert_eq!(planned.fault_state, None);
        let exposure =
            of_published(&event(Payload::FaultExposureProved(Default::default()))).unwrap();
        assert_eq!(exposure.fault_state, None);
        assert_eq!(of_published(&Event::default()), None);
    }

    #[test]
    fn reverts_and_verdicts_carry_their_durations() {
        let reverted = of_published(&event(Payload::FaultReverted(FaultReverted {
            revert_started_at: Some(rdfi_proto::timestamp_from_millis(10_000)),
            reverted_at: Some(rdfi_proto::timestamp_from_millis(10_250)),
            ..Default::default()
        })))
        .unwrap();
        assert_eq!(reverted.fault_state, Some("reverted"));
        assert_eq!(reverted.revert, Some(Duration::from_millis(250)));
        // A clock that went backwards gives no duration rather than a huge one.
        let backwards = of_published(&event(Payload::FaultReverted(FaultReverted {
            revert_started_at: Some(rdfi_proto::timestamp_from_millis(10_250)),
            reverted_at: Some(rdfi_proto::timestamp_from_millis(10_000)),
            ..Default::default()
        })))
        .unwrap();
        assert_eq!(backwards.revert, None);
        let verdict = of_published(&event(Payload::VerdictReached(VerdictReached {
            verdict: Verdict::Detected.into(),
            time_to_detect_ms: Some(1_500),
            ..Default::default()
        })))
        .unwrap();
        assert_eq!(
            (
                verdict.verdict,
                verdict.detect,
                verdict.correct,
                verdict.fault_state
            ),
            (
                Some("detected"),
                Some(Duration::from_millis(1_500)),
                None,
                None
            )
        );
    }

    #[tokio::test]
    async fn the_text_names_every_metric_with_its_type_and_takes_the_readings() {
        record_published(&event(Payload::VerdictReached(VerdictReached {
            verdict: Verdict::Missed.into(),
            ..Default::default()
        })));
        record_handled("executor", "rdfi.v1.fault.planned", true);
        record_inject(Duration::from_millis(40));
        let readings = Readings {
            lag: Some(Arc::new(|| {
                Box::pin(async {
                    Ok(vec![Lag {
                        consumer: "executor".to_owned(),
                        pending: 3,
                        ack_pending: 1,
                    }])
                })
            })),
            journal_open: Some(Arc::new(|| Box::pin(async { Ok(2) }))),
        };
        let text = render(&readings).await;
        for line in [
            "# TYPE rdfi_verdicts counter",
            "rdfi_verdicts_total{verdict=\"missed\"} 1",
            "rdfi_events_handled_total{consumer=\"executor\",subject=\"rdfi.v1.fault.planned\",outcome=\"ok\"} 1",
            "# TYPE rdfi_inject_duration_seconds histogram",
            "rdfi_inject_duration_seconds_count 1",
            "rdfi_consumer_pending{consumer=\"executor\"} 3",
            "rdfi_consumer_ack_pending{consumer=\"executor\"} 1",
            "rdfi_journal_open_faults 2",
            "# EOF",
        ] {
            assert!(
                text.lines().any(|shown| shown == line),
                "{line:?} not in\n{text}"
            );
        }
    }
}
