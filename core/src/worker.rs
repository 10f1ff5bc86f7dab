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
        let result = handler(delivery.event.clone())
            .instrument(span.clone())
            .await;
        crate::metrics::record_handled(&consumer, &delivery.subject, result.is_ok());
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
}
