//! The NATS JetStream bus. One stream (`RDFI`) keeps every subject under `rdfi.v1.`; each service reads it
//! through a durable pull consumer, so a restarted service resumes where it stopped and replicas share work.
//! Every message carries `Nats-Msg-Id` (JetStream's duplicate suppression), CloudEvents headers
//! (`ce-specversion`, `ce-id`, `ce-type`, `ce-source`, `ce-time`, `ce-subject`), a W3C `traceparent` and a
//! protobuf body (`content-type: application/protobuf`). Needs nats-server 2.10 or newer (consumers with
//! several filter subjects).

use std::time::{Duration, SystemTime};

use async_nats::HeaderMap;
use async_nats::jetstream::{self, consumer::pull, stream};
use async_trait::async_trait;
use futures::StreamExt;
use prost::Message as _;
use rdfi_proto::v1::Event;

use super::{Acker, Bus, BusError, ConsumerConfig, DUPLICATE_WINDOW, Delivery, Subscription};
use crate::{events, subjects, telemetry};

const TRACEPARENT: &str = "traceparent";
/// How long the stream keeps events: long enough for a restarted service to catch up.
const RETENTION: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// The NATS JetStream bus. Cheap to clone.
#[derive(Clone)]
pub struct NatsBus {
    context: jetstream::Context,
    stream: jetstream::stream::Stream,
}

impl NatsBus {
    /// Connects and makes sure the stream exists (idempotent: an existing stream is used as it is).
    pub async fn connect(url: &str) -> Result<Self, BusError> {
        let client = async_nats::ConnectOptions::new()
            .name("rdfi")
            .retry_on_initial_connect()
            .max_reconnects(None)
            .connection_timeout(Duration::from_secs(5))
            .connect(url)
            .await
            .map_err(|error| BusError::Connect {
                url: url.to_owned(),
                reason: error.to_string(),
            })?;
        let context = jetstream::new(client);
        let stream = tokio::time::timeout(
            Duration::from_secs(30),
            context.get_or_create_stream(stream::Config {
                name: subjects::STREAM.to_owned(),
                subjects: vec![subjects::ALL.to_owned()],
                duplicate_window: DUPLICATE_WINDOW,
                max_age: RETENTION,
                storage: stream::StorageType::File,
                ..Default::default()
            }),
        )
        .await
        .map_err(|_| BusError::Connect {
            url: url.to_owned(),
            reason: "no JetStream answer within 30s (is the server running with -js?)".to_owned(),
        })?
        .map_err(|error| BusError::Setup(error.to_string()))?;
        Ok(NatsBus { context, stream })
    }

    /// The JetStream context, for other JetStream state (the executor's journal).
    pub fn jetstream(&self) -> &jetstream::Context {
        &self.context
    }
}

fn headers_for(event: &Event, subject: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert("Nats-Msg-Id", event.id.as_str());
    headers.insert("content-type", "application/protobuf");
    headers.insert("ce-specversion", "1.0");
    headers.insert("ce-id", event.id.as_str());
    headers.insert("ce-type", subject);
    headers.insert("ce-source", format!("rdfi/{}", event.source).as_str());
    let time = event
        .time
        .as_ref()
        .map(rdfi_proto::system_time)
        .unwrap_or_else(SystemTime::now);
    headers.insert(
        "ce-time",
        humantime::format_rfc3339_millis(time).to_string().as_str(),
    );
    let ce_subject = if event.fault_instance_id.is_empty() {
        &event.run_id
    } else {
        &event.fault_instance_id
    };
    if !ce_subject.is_empty() {
        headers.insert("ce-subject", ce_subject.as_str());
    }
    if let Some(traceparent) = telemetry::current_traceparent() {
        headers.insert(TRACEPARENT, traceparent.as_str());
    }
    headers
}

#[async_trait]
impl Bus for NatsBus {
    async fn publish(&self, event: &Event) -> Result<(), BusError> {
        let subject = events::subject_of(event).ok_or(BusError::EmptyEvent)?;
        let fail = |reason: String| BusError::Publish {
            subject: subject.to_owned(),
            reason,
        };
        let acknowledgement = self
            .context
            .publish_with_headers(
                subject,
                headers_for(event, subject),
                event.encode_to_vec().into(),
            )
            .await
            .map_err(|error| fail(error.to_string()))?;
        acknowledgement
            .await
            .map_err(|error| fail(error.to_string()))?;
        Ok(())
    }

    async fn consume(&self, config: ConsumerConfig) -> Result<Subscription, BusError> {
        let mut consumer_config = pull::Config {
            filter_subjects: config.subjects.clone(),
            ack_policy: jetstream::consumer::AckPolicy::Explicit,
            ack_wait: config.ack_wait,
            max_deliver: i64::from(config.max_deliver),
            ..Default::default()
        };
        let consumer = if config.ephemeral {
            consumer_config.deliver_policy = jetstream::consumer::DeliverPolicy::New;
            consumer_config.inactive_threshold = Duration::from_secs(30);
            self.stream.create_consumer(consumer_config).await
        } else {
            consumer_config.durable_name = Some(config.durable_name.clone());
            self.stream
                .get_or_create_consumer(&config.durable_name, consumer_config)
                .await
        }
        .map_err(|error| BusError::Consume(error.to_string()))?;
        let messages = consumer
            .messages()
            .await
            .map_err(|error| BusError::Consume(error.to_string()))?;
        let deliveries = messages.map(|message| {
            let message = message.map_err(|error| BusError::Consume(error.to_string()))?;
            let subject = message.subject.to_string();
            let event =
                Event::decode(message.payload.as_ref()).map_err(|error| BusError::Decode {
                    subject: subject.clone(),
                    reason: error.to_string(),
                })?;
            let traceparent = message
                .headers
                .as_ref()
                .and_then(|headers| headers.get(TRACEPARENT))
                .map(|value| value.as_str().to_owned());
            let delivery_count = message
                .info()
                .map(|info| u32::try_from(info.delivered).unwrap_or(u32::MAX))
                .unwrap_or(1);
            Ok(Delivery::new(
                subject,
                event,
                traceparent,
                delivery_count,
                Box::new(NatsAcker(message)),
            ))
        });
        Ok(Subscription::new(Box::pin(deliveries)))
    }
}

struct NatsAcker(jetstream::Message);

#[async_trait]
impl Acker for NatsAcker {
    async fn ack(self: Box<Self>) -> Result<(), BusError> {
        self.0
            .ack()
            .await
            .map_err(|error| BusError::Ack(error.to_string()))
    }
}
