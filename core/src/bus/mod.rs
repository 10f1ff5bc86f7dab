//! The message bus: one trait, two implementations. [`memory::MemoryBus`] runs everything in one process;
//! [`nats::NatsBus`] runs over NATS JetStream. Both give the same guarantees, checked by one contract suite
//! (`tests/tests/bus_contract.rs`): at-least-once delivery to durable consumers that share work, order within
//! a consumer, redelivery of what was not acknowledged within the ack wait, and suppression of duplicate event
//! ids within the duplicate window.

pub mod memory;
pub mod nats;

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use async_trait::async_trait;
use futures::Stream;
use futures::stream::BoxStream;
use rdfi_proto::v1::Event;

/// How long JetStream and the in-process bus remember event ids to drop duplicates.
pub const DUPLICATE_WINDOW: Duration = Duration::from_secs(120);

#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error("cannot connect to the bus at {url}: {reason}")]
    Connect { url: String, reason: String },
    #[error("bus stream setup failed: {0}")]
    Setup(String),
    #[error("publish on {subject} failed: {reason}")]
    Publish { subject: String, reason: String },
    #[error("consuming failed: {0}")]
    Consume(String),
    #[error("acknowledging a message failed: {0}")]
    Ack(String),
    #[error("an event without payload cannot be published")]
    EmptyEvent,
    #[error("message on {subject} has an undecodable body: {reason}")]
    Decode { subject: String, reason: String },
}

/// A durable consumer: a name that survives restarts and is shared by replicas, which split its messages.
#[derive(Clone, Debug)]
pub struct ConsumerConfig {
    pub durable_name: String,
    /// Subject filters (NATS wildcards allowed).
    pub subjects: Vec<String>,
    /// How long a delivered message may stay unacknowledged before it is delivered again.
    pub ack_wait: Duration,
    /// How often a message is delivered before it is given up (a poison message must not block forever).
    pub max_deliver: u32,
    /// An ephemeral consumer sees only messages published after it starts and is forgotten when it stops.
    pub ephemeral: bool,
}

impl ConsumerConfig {
    pub fn new(durable_name: &str, subjects: &[&str]) -> Self {
        ConsumerConfig {
            durable_name: durable_name.to_owned(),
            subjects: subjects
                .iter()
                .map(|subject| (*subject).to_owned())
                .collect(),
            ack_wait: Duration::from_secs(30),
            max_deliver: 10,
            ephemeral: false,
        }
    }

    /// A consumer of what is published from now on, for watchers that need no history.
    pub fn ephemeral(name: &str, subjects: &[&str]) -> Self {
        ConsumerConfig {
            ephemeral: true,
            ..Self::new(name, subjects)
        }
    }

    pub fn with_ack_wait(mut self, ack_wait: Duration) -> Self {
        self.ack_wait = ack_wait;
        self
    }
}

/// Acknowledges one delivery.
#[async_trait]
pub trait Acker: Send {
    async fn ack(self: Box<Self>) -> Result<(), BusError>;
}

/// One delivered event. Acknowledge it once handled; otherwise it is delivered again after the ack wait.
pub struct Delivery {
    pub subject: String,
    pub event: Event,
    /// W3C trace context of the publisher, if it had one.
    pub traceparent: Option<String>,
    /// How many times this message has been delivered, this time included.
    pub delivery_count: u32,
    acker: Box<dyn Acker>,
}

impl fmt::Debug for Delivery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Delivery")
            .field("subject", &self.subject)
            .field("event_id", &self.event.id)
            .field("delivery_count", &self.delivery_count)
            .finish()
    }
}

impl Delivery {
    pub fn new(
        subject: String,
        event: Event,
        traceparent: Option<String>,
        delivery_count: u32,
        acker: Box<dyn Acker>,
    ) -> Self {
        Delivery {
            subject,
            event,
            traceparent,
            delivery_count,
            acker,
        }
    }

    pub async fn ack(self) -> Result<(), BusError> {
        self.acker.ack().await
    }
}

/// The deliveries of one consumer.
pub struct Subscription {
    inner: BoxStream<'static, Result<Delivery, BusError>>,
}

impl Subscription {
    pub fn new(inner: BoxStream<'static, Result<Delivery, BusError>>) -> Self {
        Subscription { inner }
    }
}

impl Stream for Subscription {
    type Item = Result<Delivery, BusError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}

/// The bus every service talks through.
#[async_trait]
pub trait Bus: Send + Sync + 'static {
    /// Publishes an event on the subject its payload belongs to, carrying the current trace context. Returns
    /// once the bus has stored it (or recognised it as a duplicate).
    async fn publish(&self, event: &Event) -> Result<(), BusError>;

    /// Starts (or resumes) a durable consumer.
    async fn consume(&self, config: ConsumerConfig) -> Result<Subscription, BusError>;

    /// Every event the bus still holds on these subjects (patterns as in [`ConsumerConfig`]), oldest first, up
    /// to the last one stored when called: what a restarted service rebuilds its state from.
    async fn history(&self, subjects: &[&str]) -> Result<Vec<Event>, BusError>;
}
