//! The NATS JetStream bus. One stream (`RDFI`) keeps every subject under `rdfi.v1.`; each service reads it
//! through a durable pull consumer, so a restarted service resumes where it stopped and replicas share work.
//! Every message carries `Nats-Msg-Id` (JetStream's duplicate suppression), CloudEvents headers
//! (`ce-specversion`, `ce-id`, `ce-type`, `ce-source`, `ce-time`, `ce-subject`), a W3C `traceparent` and a
//! protobuf body (`content-type: application/protobuf`). Needs nats-server 2.10 or newer (consumers with
//! several filter subjects).

use std::path::{Path, PathBuf};
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

/// How rdfi proves who it is to a NATS server and checks the server's certificate. Each secret comes from a
/// file, so that none is on a command line or in the environment, and none is ever logged.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct NatsAuth {
    /// A NATS credentials file (a user JWT and its nkey seed, as `nsc` writes them).
    #[arg(
        long,
        env = "RDFI_NATS_CREDS",
        value_name = "FILE",
        conflicts_with_all = ["nats_nkey", "nats_user_file"]
    )]
    pub nats_creds: Option<PathBuf>,
    /// A file holding a NATS user's nkey seed (`SU...`).
    #[arg(
        long,
        env = "RDFI_NATS_NKEY",
        value_name = "FILE",
        conflicts_with = "nats_user_file"
    )]
    pub nats_nkey: Option<PathBuf>,
    /// A file holding `USER:PASSWORD` on its first line, for NATS user and password authentication.
    #[arg(long, env = "RDFI_NATS_USER_FILE", value_name = "FILE")]
    pub nats_user_file: Option<PathBuf>,
    /// The CA certificate (PEM) the NATS server's certificate must chain to; TLS is then required.
    #[arg(long, env = "RDFI_NATS_TLS_CA", value_name = "FILE")]
    pub nats_tls_ca: Option<PathBuf>,
    /// A client certificate (PEM) for NATS servers that verify clients, with --nats-tls-key.
    #[arg(
        long,
        env = "RDFI_NATS_TLS_CERT",
        value_name = "FILE",
        requires = "nats_tls_key"
    )]
    pub nats_tls_cert: Option<PathBuf>,
    /// The private key (PEM) of --nats-tls-cert.
    #[arg(
        long,
        env = "RDFI_NATS_TLS_KEY",
        value_name = "FILE",
        requires = "nats_tls_cert"
    )]
    pub nats_tls_key: Option<PathBuf>,
}

/// A NATS server and how to authenticate to it.
#[derive(Clone, Debug)]
pub struct NatsTarget {
    pub url: String,
    pub auth: NatsAuth,
}

impl NatsAuth {
    /// Connect options carrying these credentials and TLS settings; the error names the file and the flag.
    pub async fn options(&self) -> Result<async_nats::ConnectOptions, String> {
        crate::tls::use_ring();
        let mut options = match (&self.nats_creds, &self.nats_nkey, &self.nats_user_file) {
            (Some(path), _, _) => async_nats::ConnectOptions::with_credentials_file(path)
                .await
                .map_err(|error| format!("--nats-creds {}: {error}", path.display()))?,
            (None, Some(path), _) => {
                async_nats::ConnectOptions::with_nkey(secret_line(path, "--nats-nkey")?)
            }
            (None, None, Some(path)) => {
                let line = secret_line(path, "--nats-user-file")?;
                let (user, password) = line.split_once(':').ok_or_else(|| {
                    format!(
                        "--nats-user-file {}: the first line is not USER:PASSWORD",
                        path.display()
                    )
                })?;
                async_nats::ConnectOptions::with_user_and_password(
                    user.to_owned(),
                    password.to_owned(),
                )
            }
            (None, None, None) => async_nats::ConnectOptions::new(),
        };
        if let Some(ca) = &self.nats_tls_ca {
            readable(ca, "--nats-tls-ca")?;
            options = options.add_root_certificates(ca.clone()).require_tls(true);
        }
        if let (Some(cert), Some(key)) = (&self.nats_tls_cert, &self.nats_tls_key) {
            readable(cert, "--nats-tls-cert")?;
            readable(key, "--nats-tls-key")?;
            options = options.add_client_certificate(cert.clone(), key.clone());
        }
        Ok(options)
    }
}

/// The first line of a secret file, trimmed; the error never holds the file's text.
fn secret_line(path: &Path, flag: &str) -> Result<String, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|error| format!("{flag} {}: {error}", path.display()))?;
    match text.lines().next().map(str::trim) {
        Some(line) if !line.is_empty() => Ok(line.to_owned()),
        _ => Err(format!("{flag} {}: the file is empty", path.display())),
    }
}

fn readable(path: &Path, flag: &str) -> Result<(), String> {
    std::fs::File::open(path)
        .map(|_| ())
        .map_err(|error| format!("{flag} {}: {error}", path.display()))
}

impl NatsBus {
    /// Connects without credentials; see [`NatsBus::connect_with`].
    pub async fn connect(url: &str) -> Result<Self, BusError> {
        NatsBus::connect_with(url, &NatsAuth::default(), None).await
    }

    /// Connects with `auth` and makes sure the stream exists, creating it with `replicas` replicas (default:
    /// the NATS cluster's size, at most 5); an existing stream is used as it is. Errors show `url` without its
    /// user information.
    pub async fn connect_with(
        url: &str,
        auth: &NatsAuth,
        replicas: Option<usize>,
    ) -> Result<Self, BusError> {
        let fail = |reason: String| BusError::Connect {
            url: crate::redact::url(url),
            reason,
        };
        let options = || async {
            Ok::<_, BusError>(
                auth.options()
                    .await
                    .map_err(fail)?
                    .name("rdfi")
                    .max_reconnects(None)
                    .connection_timeout(Duration::from_secs(5)),
            )
        };
        // Wrong credentials or certificates are said at once; a server not reachable yet is waited for (a
        // service may start before its NATS server).
        let client = match options().await?.connect(url).await {
            Ok(client) => client,
            Err(error) if worth_waiting(error.kind()) => {
                tracing::warn!(url = %crate::redact::url(url), %error, "NATS not reachable yet; waiting for it");
                options()
                    .await?
                    .retry_on_initial_connect()
                    .connect(url)
                    .await
                    .map_err(|error| fail(error.to_string()))?
            }
            Err(error) => return Err(fail(error.to_string())),
        };
        let context = jetstream::new(client);
        let replicas = replicas
            .unwrap_or_else(|| cluster_size(&context))
            .clamp(1, 5);
        let stream = tokio::time::timeout(
            Duration::from_secs(30),
            context.get_or_create_stream(stream::Config {
                name: subjects::STREAM.to_owned(),
                subjects: vec![subjects::ALL.to_owned()],
                duplicate_window: DUPLICATE_WINDOW,
                max_age: RETENTION,
                storage: stream::StorageType::File,
                num_replicas: replicas,
                ..Default::default()
            }),
        )
        .await
        .map_err(|_| {
            fail("no JetStream answer within 30s (is the server running with -js?)".to_owned())
        })?
        .map_err(|error| BusError::Setup(error.to_string()))?;
        Ok(NatsBus { context, stream })
    }

    /// Every durable consumer of the stream and its lag, for `/metrics`.
    pub async fn consumer_lag(&self) -> Result<Vec<crate::metrics::Lag>, BusError> {
        let mut consumers = self.stream.consumers();
        let mut lags = Vec::new();
        while let Some(info) = consumers.next().await {
            let info = info.map_err(|error| BusError::Consume(error.to_string()))?;
            if info.config.durable_name.is_some() {
                lags.push(crate::metrics::Lag {
                    consumer: info.name,
                    pending: info.num_pending,
                    ack_pending: u64::try_from(info.num_ack_pending).unwrap_or_default(),
                });
            }
        }
        Ok(lags)
    }

    /// The JetStream context, for other JetStream state (the executor's journal).
    pub fn jetstream(&self) -> &jetstream::Context {
        &self.context
    }
}

/// The number of servers in the NATS cluster the bus is connected to (1 without a cluster): the default
/// replicas of the stream and of the executor's journal.
pub fn cluster_size(context: &jetstream::Context) -> usize {
    context.client().server_info().connect_urls.len().max(1)
}

/// Whether a first connection that failed this way may work later: the server is not reachable yet (not
/// started, or its name not yet in DNS). A refusal of the credentials or the certificate will not change.
fn worth_waiting(kind: async_nats::ConnectErrorKind) -> bool {
    use async_nats::ConnectErrorKind as Kind;
    matches!(kind, Kind::Io | Kind::TimedOut | Kind::Dns)
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
        let acknowledged = acknowledgement
            .await
            .map_err(|error| fail(error.to_string()))?;
        if !acknowledged.duplicate {
            crate::metrics::record_published(event);
        }
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

    async fn history(&self, subjects: &[&str]) -> Result<Vec<Event>, BusError> {
        let failed =
            |error: &dyn std::fmt::Display| BusError::Consume(format!("reading history: {error}"));
        // Up to the last message stored now; what arrives later reaches the durable consumers.
        let last = self
            .stream
            .get_info()
            .await
            .map_err(|error| failed(&error))?
            .state
            .last_sequence;
        let consumer = self
            .stream
            .create_consumer(pull::Config {
                filter_subjects: subjects
                    .iter()
                    .map(|subject| (*subject).to_owned())
                    .collect(),
                deliver_policy: jetstream::consumer::DeliverPolicy::All,
                ack_policy: jetstream::consumer::AckPolicy::None,
                inactive_threshold: Duration::from_secs(30),
                ..Default::default()
            })
            .await
            .map_err(|error| failed(&error))?;
        let mut events = Vec::new();
        loop {
            let mut batch = consumer
                .fetch()
                .max_messages(1000)
                .expires(Duration::from_millis(500))
                .messages()
                .await
                .map_err(|error| failed(&error))?;
            let mut caught_up = true;
            while let Some(message) = batch.next().await {
                let message = message.map_err(|error| failed(&error))?;
                let info = message.info().map_err(|error| failed(&error))?;
                let (sequence, pending) = (info.stream_sequence, info.pending);
                let event =
                    Event::decode(message.payload.as_ref()).map_err(|error| BusError::Decode {
                        subject: message.subject.to_string(),
                        reason: error.to_string(),
                    })?;
                if sequence <= last {
                    events.push(event);
                }
                caught_up = sequence >= last || pending == 0;
                if caught_up {
                    break;
                }
            }
            if caught_up {
                return Ok(events);
            }
        }
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

#[cfg(test)]
mod tests {
    use async_nats::ConnectErrorKind as Kind;

    use super::*;

    #[test]
    fn only_an_unreachable_server_is_waited_for() {
        for kind in [Kind::Io, Kind::TimedOut, Kind::Dns] {
            assert!(worth_waiting(kind), "{kind}");
        }
        for kind in [
            Kind::AuthorizationViolation,
            Kind::Authentication,
            Kind::Tls,
            Kind::ServerParse,
            Kind::MaxReconnects,
        ] {
            assert!(!worth_waiting(kind), "{kind}");
        }
    }

    #[tokio::test]
    async fn a_secret_file_that_cannot_be_used_is_named_and_never_shown() {
        let dir = tempfile::tempdir().unwrap();
        let no_colon = dir.path().join("user");
        std::fs::write(&no_colon, "rdfi-and-a-secret-password\n").unwrap();
        let empty = dir.path().join("empty");
        std::fs::write(&empty, "\n").unwrap();
        let error = |auth: NatsAuth| async move { auth.options().await.err().unwrap() };
        let message = error(NatsAuth {
            nats_user_file: Some(no_colon.clone()),
            ..NatsAuth::default()
        })
        .await;
        assert_eq!(
            message,
            format!(
                "--nats-user-file {}: the first line is not USER:PASSWORD",
                no_colon.display()
            )
        );
        assert!(!message.contains("secret-password"));
        assert_eq!(
            error(NatsAuth {
                nats_nkey: Some(empty.clone()),
                ..NatsAuth::default()
            })
            .await,
            format!("--nats-nkey {}: the file is empty", empty.display())
        );
        assert!(
            error(NatsAuth {
                nats_tls_ca: Some(dir.path().join("missing.pem")),
                ..NatsAuth::default()
            })
            .await
            .starts_with(&format!(
                "--nats-tls-ca {}: ",
                dir.path().join("missing.pem").display()
            ))
        );
    }
}
