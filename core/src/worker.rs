//! The consumer loop every service runs: take a delivery, handle it inside a span that continues the
//! publisher's trace, acknowledge it when the handler succeeded. A failed handler leaves the message
//! unacknowledged, so the bus delivers it again after the ack wait (handlers are idempotent).

use std::future::Future;
use std::sync::Arc;

use futures::StreamExt;
use rdfi_proto::v1::Event;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::bus::{Bus, BusError, ConsumerConfig};
use crate::telemetry;

/// What a handler returns; its error is logged and the message redelivered.
pub type HandlerResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

/// Consumes until `shutdown` is cancelled. Returns an error only when the consumer cannot be started or its
/// stream ends.
pub async fn consume<H, F>(
    bus: Arc<dyn Bus>,
    config: ConsumerConfig,
    shutdown: CancellationToken,
    mut handler: H,
) -> Result<(), BusError>
where
    H: FnMut(Event) -> F,
    F: Future<Output = HandlerResult>,
{
    let consumer = config.durable_name.clone();
    let mut subscription = bus.consume(config).await?;
    loop {
        let next = tokio::select! {
            _ = shutdown.cancelled() => return Ok(()),
            next = subscription.next() => next,
        };
        let Some(delivery) = taken(&consumer, next)? else {
            continue;
        };
        let span = span_of(&consumer, &delivery);
        let result = handler(delivery.event.clone())
            .instrument(span.clone())
            .await;
        settle(&consumer, delivery, &span, result).await;
    }
}

/// Like [`consume`], in two stages: `admit` takes each delivery in turn, in the order delivered, and answers
/// the rest of its handling (or an error, to have it redelivered); up to `limit` of those rests run at once,
/// each acknowledging its delivery when it succeeds. On shutdown no new delivery is taken, and the rests in
/// progress are waited for.
pub async fn consume_staged<A, F1, F2>(
    bus: Arc<dyn Bus>,
    config: ConsumerConfig,
    shutdown: CancellationToken,
    limit: usize,
    mut admit: A,
) -> Result<(), BusError>
where
    A: FnMut(Event) -> F1,
    F1: Future<Output = Result<F2, Box<dyn std::error::Error + Send + Sync>>>,
    F2: Future<Output = HandlerResult> + Send + 'static,
{
    let consumer = config.durable_name.clone();
    let mut subscription = bus.consume(config).await?;
    let mut rests = tokio::task::JoinSet::new();
    let ended = loop {
        let next = tokio::select! {
            _ = shutdown.cancelled() => break Ok(()),
            Some(_) = rests.join_next(), if !rests.is_empty() => continue,
            next = subscription.next(), if rests.len() < limit.max(1) => next,
        };
        let delivery = match taken(&consumer, next) {
            Ok(Some(delivery)) => delivery,
            Ok(None) => continue,
            Err(error) => break Err(error),
        };
        let span = span_of(&consumer, &delivery);
        match admit(delivery.event.clone()).instrument(span.clone()).await {
            Ok(rest) => {
                let consumer = consumer.clone();
                rests.spawn(async move {
                    let result = rest.instrument(span.clone()).await;
                    settle(&consumer, delivery, &span, result).await;
                });
            }
            Err(error) => settle(&consumer, delivery, &span, Err(error)).await,
        }
    };
    while rests.join_next().await.is_some() {}
    ended
}

/// What the subscription gave: a delivery, `None` for a failed delivery (logged), or the error that ends the
/// consumer when its stream ended.
fn taken(
    consumer: &str,
    next: Option<Result<crate::bus::Delivery, BusError>>,
) -> Result<Option<crate::bus::Delivery>, BusError> {
    match next {
        Some(Ok(delivery)) => Ok(Some(delivery)),
        Some(Err(error)) => {
            tracing::warn!(%consumer, %error, "bus delivery failed");
            Ok(None)
        }
        None => Err(BusError::Consume(format!(
            "consumer {consumer} stream ended"
        ))),
    }
}

/// The span one delivery is handled in, continuing the publisher's trace.
fn span_of(consumer: &str, delivery: &crate::bus::Delivery) -> tracing::Span {
    let span = tracing::info_span!(
        "handle",
        %consumer,
        subject = %delivery.subject,
        event_id = %delivery.event.id,
        run_id = %delivery.event.run_id,
        fault_instance_id = %delivery.event.fault_instance_id,
        delivery_count = delivery.delivery_count,
    );
    telemetry::set_remote_parent(&span, delivery.traceparent.as_deref());
    span
}

/// Counts a handled delivery and acknowledges it when its handler succeeded.
async fn settle(
    consumer: &str,
    delivery: crate::bus::Delivery,
    span: &tracing::Span,
    result: HandlerResult,
) {
    crate::metrics::record_handled(consumer, &delivery.subject, result.is_ok());
    match result {
        Ok(()) => {
            if let Err(error) = delivery.ack().await {
                span.in_scope(
                    || tracing::warn!(%error, "ack failed; the message will be redelivered"),
                );
            }
        }
        Err(error) => {
            span.in_scope(
                || tracing::warn!(%error, "handler failed; the message will be redelivered"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use rdfi_proto::v1::FaultRejected;
    use rdfi_proto::v1::event::Payload;

    use super::*;
    use crate::bus::memory::MemoryBus;
    use crate::{events, subjects};

    fn rejected(fault: &str) -> Event {
        events::event(
            "test",
            "run",
            fault,
            "",
            Payload::FaultRejected(FaultRejected {
                fault_id: "aws.s3.bucket-public-acl".into(),
                resource: None,
                reason: fault.into(),
            }),
        )
    }

    /// Admissions run one at a time in delivery order; at most `limit` rests at once; each delivery acknowledged
    /// once its rest succeeded, a failed admission redelivered.
    #[tokio::test]
    async fn staged_handling_admits_in_order_and_runs_rests_at_once_up_to_the_limit() {
        let bus: Arc<dyn Bus> = Arc::new(MemoryBus::new());
        for index in 0..8 {
            bus.publish(&rejected(&format!("f{index}"))).await.unwrap();
        }
        let admitted = Arc::new(Mutex::new(Vec::new()));
        let (running, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let done = Arc::new(AtomicUsize::new(0));
        let failed_once = Arc::new(AtomicUsize::new(0));
        let shutdown = CancellationToken::new();
        let config = ConsumerConfig::new("staged", &[subjects::FAULT_REJECTED])
            .with_ack_wait(Duration::from_millis(200));
        let consuming = tokio::spawn(consume_staged(bus.clone(), config, shutdown.clone(), 3, {
            let (admitted, running, most, done, failed_once) = (
                admitted.clone(),
                running.clone(),
                most.clone(),
                done.clone(),
                failed_once.clone(),
            );
            move |event: Event| {
                let (admitted, running, most, done, failed_once) = (
                    admitted.clone(),
                    running.clone(),
                    most.clone(),
                    done.clone(),
                    failed_once.clone(),
                );
                async move {
                    if event.fault_instance_id == "f5"
                        && failed_once.fetch_add(1, Ordering::SeqCst) == 0
                    {
                        return Err("not yet".into());
                    }
                    admitted
                        .lock()
                        .unwrap()
                        .push(event.fault_instance_id.clone());
                    Ok(async move {
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        running.fetch_sub(1, Ordering::SeqCst);
                        done.fetch_add(1, Ordering::SeqCst);
                        HandlerResult::Ok(())
                    })
                }
            }
        }));
        tokio::time::timeout(Duration::from_secs(10), async {
            while done.load(Ordering::SeqCst) < 8 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await
        .expect("all eight handled");
        // Acknowledged: nothing comes again after the ack wait.
        tokio::time::sleep(Duration::from_millis(400)).await;
        shutdown.cancel();
        consuming.await.unwrap().unwrap();
        let admitted = admitted.lock().unwrap().clone();
        let expected: Vec<String> = ["f0", "f1", "f2", "f3", "f4", "f6", "f7", "f5"]
            .map(str::to_owned)
            .to_vec();
        assert_eq!(
            admitted, expected,
            "in delivery order; f5 again after its ack wait"
        );
        assert_eq!(done.load(Ordering::SeqCst), 8);
        let most = most.load(Ordering::SeqCst);
        assert!((2..=3).contains(&most), "{most} rests at once");
    }
}
