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
        let delivery = match next {
            Some(Ok(delivery)) => delivery,
            Some(Err(error)) => {
                tracing::warn!(%consumer, %error, "bus delivery failed");
                continue;
            }
            None => {
                return Err(BusError::Consume(format!(
                    "consumer {consumer} stream ended"
                )));
            }
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
        let delivery = match next {
            Some(Ok(delivery)) => delivery,
            Some(Err(error)) => {
                tracing::warn!(%consumer, %error, "bus delivery failed");
                continue;
            }
            None => {
                break Err(BusError::Consume(format!(
                    "consumer {consumer} stream ended"
                )));
            }
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
