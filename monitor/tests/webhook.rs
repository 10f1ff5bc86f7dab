//! `POST /v1/signals` against the real server: every shape is published with its format label, bodies and
//! fields are bounded, and authentication is enforced when configured.

use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use hmac_check::sign;
use rdfi_core::CancellationToken;
use rdfi_core::bus::memory::MemoryBus;
use rdfi_core::bus::{Bus, ConsumerConfig, Subscription};
use rdfi_core::{events, subjects};
use rdfi_monitor::{MAX_BODY_BYTES, MonitorConfig, SignalsAuth};
use rdfi_proto::v1::event::Payload;
use rdfi_proto::v1::{FaultInjected, ResourceRef, SignalReceived};
use rdfi_proto::{timestamp_from_millis, unix_millis};
use rdfi_provider::sandbox::{SandboxAccount, SandboxProvider};
use serde_json::{Value, json};
use tokio::task::JoinHandle;

const ALERTMANAGER: &str = include_str!("fixtures/alertmanager.json");
const PROWLER: &str = include_str!("fixtures/prowler-ocsf.json");
const ASFF: &str = include_str!("fixtures/eventbridge-asff.json");
/// 2026-12-06T18:00:00Z: before every fixture's observation time.
const INJECTED_AT_MS: i64 = 1_796_580_000_000;

mod hmac_check {
    /// The HMAC-SHA256 of `body` under `key`, as `X-Rdfi-Signature` carries it; computed independently of the
    /// monitor's code with the same primitive crates.
    pub fn sign(key: &str, body: &[u8]) -> String {
        use hmac::{Hmac, KeyInit, Mac};
        let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(key.as_bytes()).unwrap();
        mac.update(body);
        format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
    }
}

struct Monitor {
    url: String,
    bus: MemoryBus,
    shutdown: CancellationToken,
    task: JoinHandle<Result<(), rdfi_monitor::MonitorError>>,
}

fn free_address() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
}

async fn start(auth: SignalsAuth) -> Monitor {
    let bus = MemoryBus::new();
    let address = free_address();
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(rdfi_monitor::run(
        MonitorConfig {
            bus: Arc::new(bus.clone()),
            provider: Arc::new(SandboxProvider::new(Arc::new(SandboxAccount::new()))),
            opt_in_tag: rdfi_core::DEFAULT_OPT_IN_TAG.to_owned(),
            webhook_listen: Some(address),
            signals_auth: auth,
            poll_interval: Duration::from_secs(1),
            stop_sources: vec!["checkout-slo-alarm".to_owned()],
            sources: Vec::new(),
            nats: None,
            asset_refresh: None,
        },
        shutdown.clone(),
    ));
    let url = format!("http://{address}");
    let client = reqwest::Client::new();
    for _ in 0..100 {
        if client.get(format!("{url}/healthz")).send().await.is_ok() {
            return Monitor {
                url,
                bus,
                shutdown,
                task,
            };
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the monitor's webhook did not come up on {address}");
}

impl Monitor {
    async fn post(&self, body: impl Into<reqwest::Body>, headers: &[(&str, &str)]) -> (u16, Value) {
        let mut request = reqwest::Client::new()
            .post(format!("{}/v1/signals", self.url))
            .header("content-type", "application/json")
            .body(body);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.expect("the webhook answers");
        let status = response.status().as_u16();
        let body = response.json().await.unwrap_or(Value::Null);
        (status, body)
    }

    async fn inject(&self, fault_instance_id: &str, resource: ResourceRef) {
        self.bus
            .publish(&events::event(
                "test",
                "run-1",
                fault_instance_id,
                "",
                Payload::FaultInjected(FaultInjected {
                    fault_id: "aws.s3.bucket-public-acl".to_owned(),
                    resource: Some(resource),
                    injected_at: Some(timestamp_from_millis(INJECTED_AT_MS)),
                    dry_run: true,
                    ..Default::default()
                }),
            ))
            .await
            .expect("publish fault.injected");
    }

    async fn stop(self) {
        self.shutdown.cancel();
        let _ = self.task.await;
    }
}

fn resource(resource_type: &str, id: &str, name: &str) -> ResourceRef {
    ResourceRef {
        provider: "aws".to_owned(),
        resource_type: resource_type.to_owned(),
        id: id.to_owned(),
        name: name.to_owned(),
        region: "us-east-1".to_owned(),
        tags: Default::default(),
        exposure: String::new(),
    }
}

/// The signals published until `done` holds of them, by fault instance id.
async fn signals_until(
    mut subscription: Subscription,
    done: impl Fn(&BTreeMap<String, Vec<SignalReceived>>) -> bool,
) -> BTreeMap<String, Vec<SignalReceived>> {
    let mut seen: BTreeMap<String, Vec<SignalReceived>> = BTreeMap::new();
    let collect = async {
        while !done(&seen) {
            let delivery = subscription
                .next()
                .await
                .expect("the bus stays open")
                .expect("a delivery");
            if let Some(Payload::SignalReceived(signal)) = delivery.event.payload.clone() {
                seen.entry(delivery.event.fault_instance_id.clone())
                    .or_default()
                    .push(signal);
            }
            delivery.ack().await.expect("ack");
        }
    };
    if tokio::time::timeout(Duration::from_secs(10), collect)
        .await
        .is_err()
    {
        panic!("timed out; published so far: {seen:#?}");
    }
    seen
}

#[tokio::test]
async fn each_shape_is_published_with_its_format() {
    let monitor = start(SignalsAuth::default()).await;
    let subscription = monitor
        .bus
        .consume(ConsumerConfig::ephemeral(
            "webhook-test",
            &[subjects::OBSERVATION_SIGNAL],
        ))
        .await
        .expect("consume signals");
    // The bucket's fault instance is the one whose call the Alertmanager fixture's user agent names.
    monitor
        .inject(
            "0193a1b2c3",
            resource(
                "aws.s3.bucket",
                "arn:aws:s3:::payments-exports",
                "payments-exports",
            ),
        )
        .await;
    monitor
        .inject(
            "fault-user",
            resource(
                "aws.iam.user",
                "arn:aws:iam::123456789012:user/ci-deployer",
                "ci-deployer",
            ),
        )
        .await;
    // An IAM user named like the bucket: no bucket signal may reach it.
    monitor
        .inject(
            "fault-namesake",
            resource(
                "aws.iam.user",
                "arn:aws:iam::123456789012:user/payments-exports",
                "payments-exports",
            ),
        )
        .await;
    let generic = json!({
        "resource": "arn:aws:s3:::payments-exports",
        "source": "s3-public-acl-detector",
        "title": "public ACL",
        "severity": "high",
        "observed_at": "2026-12-06T18:45:00Z"
    })
    .to_string();
    for body in [generic.as_str(), ALERTMANAGER, PROWLER, ASFF] {
        let (status, answer) = monitor.post(body.to_owned(), &[]).await;
        assert_eq!(status, 202, "{answer}");
    }
    let seen = signals_until(subscription, |seen| {
        seen.get("0193a1b2c3").map_or(0, Vec::len) >= 4
            && seen.get("fault-user").map_or(0, Vec::len) >= 1
    })
    .await;
    let mut formats: Vec<&str> = seen["0193a1b2c3"]
        .iter()
        .map(|signal| signal.format.as_str())
        .collect();
    formats.sort_unstable();
    assert_eq!(formats, ["alertmanager", "asff", "json", "ocsf"]);
    for signal in &seen["0193a1b2c3"] {
        assert_eq!(signal.resource_type, "aws.s3.bucket", "{signal:?}");
        let observed = signal
            .observed_at
            .as_ref()
            .map(unix_millis)
            .expect("observed_at");
        assert!(observed > INJECTED_AT_MS, "{signal:?}");
        assert!(
            ["high", "critical"].contains(&signal.severity.as_str()),
            "{signal:?}"
        );
    }
    let alertmanager = seen["0193a1b2c3"]
        .iter()
        .find(|signal| signal.format == "alertmanager")
        .unwrap();
    assert_eq!(alertmanager.correlation_id, "0193a1b2c3");
    assert_eq!(alertmanager.source, "prometheus-s3-exporter");
    let user = &seen["fault-user"][0];
    assert_eq!(user.format, "alertmanager");
    assert_eq!(user.severity, "medium");
    assert!(
        !seen.contains_key("fault-namesake"),
        "a bucket signal reached an IAM user of the same name: {seen:#?}"
    );
    monitor.stop().await;
}

#[tokio::test]
async fn oversized_bodies_get_413_and_long_fields_400() {
    let monitor = start(SignalsAuth::default()).await;
    let (status, _) = monitor.post(vec![b' '; MAX_BODY_BYTES + 1], &[]).await;
    assert_eq!(status, 413);
    let long_title = json!({"resource": "b", "source": "s", "title": "t".repeat(1025)}).to_string();
    let (status, answer) = monitor.post(long_title, &[]).await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(answer["field"], "title");
    assert!(
        answer["error"].as_str().unwrap().contains("1024"),
        "{answer}"
    );
    let long_resource = json!({"resource": "r".repeat(2049), "source": "s"}).to_string();
    let (status, answer) = monitor.post(long_resource, &[]).await;
    assert_eq!(status, 400);
    assert_eq!(answer["field"], "resource");
    let (status, answer) = monitor
        .post(
            json!({"resource": "b", "source": "s", "severity": "spicy"}).to_string(),
            &[],
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(answer["field"], "severity");
    let (status, _) = monitor.post("not json", &[]).await;
    assert_eq!(status, 400);
    monitor.stop().await;
}

#[tokio::test]
async fn configured_authentication_is_required() {
    let monitor = start(SignalsAuth {
        bearer_token: Some("t0ken".to_owned()),
        hmac_keys: vec![("prowler".to_owned(), "prowler-key".to_owned())],
    })
    .await;
    let body = json!({"resource": "b", "source": "s"}).to_string();
    let (status, answer) = monitor.post(body.clone(), &[]).await;
    assert_eq!(status, 401, "{answer}");
    let (status, _) = monitor
        .post(body.clone(), &[("authorization", "Bearer wrong")])
        .await;
    assert_eq!(status, 401);
    let (status, answer) = monitor
        .post(body.clone(), &[("authorization", "Bearer t0ken")])
        .await;
    assert_eq!(status, 202, "{answer}");
    let signature = sign("prowler-key", PROWLER.as_bytes());
    let (status, answer) = monitor
        .post(
            PROWLER.to_owned(),
            &[
                ("x-rdfi-source", "prowler"),
                ("x-rdfi-signature", &signature),
            ],
        )
        .await;
    assert_eq!(status, 202, "{answer}");
    assert_eq!(answer["signals"], 1);
    let (status, _) = monitor
        .post(
            body,
            &[
                ("x-rdfi-source", "prowler"),
                ("x-rdfi-signature", &signature),
            ],
        )
        .await;
    assert_eq!(status, 401, "a signature over another body");
    monitor.stop().await;
}

#[tokio::test]
async fn beyond_loopback_without_authentication_it_refuses_to_start() {
    let mut address = free_address();
    address.set_ip("0.0.0.0".parse().unwrap());
    let error = rdfi_monitor::run(
        MonitorConfig {
            bus: Arc::new(MemoryBus::new()),
            provider: Arc::new(SandboxProvider::new(Arc::new(SandboxAccount::new()))),
            opt_in_tag: rdfi_core::DEFAULT_OPT_IN_TAG.to_owned(),
            webhook_listen: Some(address),
            signals_auth: SignalsAuth::default(),
            poll_interval: Duration::from_secs(1),
            stop_sources: Vec::new(),
            sources: Vec::new(),
            nats: None,
            asset_refresh: None,
        },
        CancellationToken::new(),
    )
    .await
    .expect_err("no authentication beyond loopback");
    let message = error.to_string();
    assert!(
        message.contains("0.0.0.0") && message.contains("RDFI_SIGNALS_TOKEN"),
        "{message}"
    );
}

#[tokio::test]
async fn stop_sources_abort_and_never_detect() {
    let monitor = start(SignalsAuth::default()).await;
    monitor
        .inject(
            "0193a1b2c3",
            resource("aws.s3.bucket", "arn:aws:s3:::checkout", "checkout"),
        )
        .await;
    let mut aborts = monitor
        .bus
        .consume(ConsumerConfig::ephemeral(
            "abort-test",
            &[subjects::SAFETY_ABORT, subjects::OBSERVATION_SIGNAL],
        ))
        .await
        .unwrap();
    let (status, answer) = monitor
        .post(
            json!({"resource": "arn:aws:s3:::checkout", "source": "checkout-slo-alarm"})
                .to_string(),
            &[],
        )
        .await;
    assert_eq!(status, 202);
    assert_eq!(answer["correlated"], 0);
    let first = tokio::time::timeout(Duration::from_secs(5), aborts.next())
        .await
        .expect("an event")
        .unwrap()
        .unwrap();
    assert_eq!(first.subject, subjects::SAFETY_ABORT);
    first.ack().await.unwrap();
    let (status, _) = monitor
        .post(
            json!({"resource": "arn:aws:s3:::checkout", "source": "s3-detector"}).to_string(),
            &[],
        )
        .await;
    assert_eq!(status, 202);
    let next = tokio::time::timeout(Duration::from_secs(5), aborts.next())
        .await
        .expect("an event")
        .unwrap()
        .unwrap();
    match next.event.payload {
        Some(Payload::SignalReceived(signal)) => assert_eq!(
            signal.source, "s3-detector",
            "the stop source's signal must not be published as a detection"
        ),
        other => panic!("expected the detector's signal, got {other:?}"),
    }
    monitor.stop().await;
}
