//! One contract, two buses: the in-process bus and NATS JetStream (a real nats-server) must behave alike.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use rdfi_core::bus::memory::MemoryBus;
use rdfi_core::bus::nats::NatsBus;
use rdfi_core::bus::{Bus, ConsumerConfig, Delivery, Subscription};
use rdfi_core::{events, subjects};
use rdfi_proto::v1::event::Payload;
use rdfi_proto::v1::{Event, FaultRejected, RunPlanned};
use rdfi_tests::NatsServer;

fn run_planned(run: &str, count: u32) -> Event {
    events::event(
        "test",
        run,
        "",
        "",
        Payload::RunPlanned(RunPlanned {
            planned_faults: count,
            notes: vec![],
        }),
    )
}

fn rejected(run: &str, fault: &str) -> Event {
    events::event(
        "test",
        run,
        fault,
        "",
        Payload::FaultRejected(FaultRejected {
            fault_id: "aws.s3.bucket-public-acl".into(),
            resource: None,
            reason: fault.into(),
        }),
    )
}

/// The next delivery about run `run`; deliveries of other runs (earlier parts of the contract) are skipped.
async fn next(subscription: &mut Subscription, run: &str) -> Delivery {
    loop {
        let delivery = tokio::time::timeout(Duration::from_secs(10), subscription.next())
            .await
            .expect("a delivery within 10 s")
            .expect("the subscription is open")
            .expect("a delivery, not an error");
        if delivery.event.run_id.starts_with(run) {
            return delivery;
        }
        delivery.ack().await.unwrap();
    }
}

async fn nothing_more(subscription: &mut Subscription) {
    if let Ok(Some(delivery)) =
        tokio::time::timeout(Duration::from_millis(700), subscription.next()).await
    {
        panic!("unexpected delivery: {:?}", delivery.map(|d| d.event.id));
    }
}

fn consumer(name: &str, subject: &str) -> ConsumerConfig {
    ConsumerConfig::new(name, &[subject]).with_ack_wait(Duration::from_secs(30))
}

async fn filters_and_keeps_order(bus: Arc<dyn Bus>) {
    let mut faults = bus
        .consume(consumer("order-faults", subjects::FAULTS))
        .await
        .unwrap();
    let mut runs = bus
        .consume(consumer("order-runs", subjects::RUN_PLANNED))
        .await
        .unwrap();
    for index in 0..50 {
        bus.publish(&rejected("order", &format!("f{index:02}")))
            .await
            .unwrap();
        if index % 10 == 0 {
            bus.publish(&run_planned(&format!("order-{index}"), index))
                .await
                .unwrap();
        }
    }
    for index in 0..50 {
        let delivery = next(&mut faults, "order").await;
        assert_eq!(delivery.subject, subjects::FAULT_REJECTED);
        assert_eq!(
            delivery.event.fault_instance_id,
            format!("f{index:02}"),
            "per-subject order"
        );
        assert_eq!(delivery.delivery_count, 1);
        delivery.ack().await.unwrap();
    }
    for index in (0..50).step_by(10) {
        let delivery = next(&mut runs, "order").await;
        assert_eq!(delivery.event.run_id, format!("order-{index}"));
        delivery.ack().await.unwrap();
    }
    nothing_more(&mut faults).await;
    nothing_more(&mut runs).await;
}

async fn redelivers_what_was_not_acknowledged(bus: Arc<dyn Bus>) {
    let config = ConsumerConfig::new("redeliver", &[subjects::FAULT_REJECTED])
        .with_ack_wait(Duration::from_millis(800));
    let mut subscription = bus.consume(config).await.unwrap();
    bus.publish(&rejected("redeliver", "a")).await.unwrap();
    bus.publish(&rejected("redeliver", "b")).await.unwrap();
    let first = next(&mut subscription, "redeliver").await;
    assert_eq!(first.event.fault_instance_id, "a");
    drop(first); // neither acknowledged nor handled: as if the handler crashed
    let second = next(&mut subscription, "redeliver").await;
    assert_eq!(second.event.fault_instance_id, "b");
    second.ack().await.unwrap();
    let again = next(&mut subscription, "redeliver").await;
    assert_eq!(
        again.event.fault_instance_id, "a",
        "the unacknowledged message comes back"
    );
    assert_eq!(again.delivery_count, 2);
    again.ack().await.unwrap();
    nothing_more(&mut subscription).await;
}

async fn drops_duplicate_event_ids(bus: Arc<dyn Bus>) {
    let mut subscription = bus
        .consume(consumer("dedup", subjects::FAULT_REJECTED))
        .await
        .unwrap();
    let event = rejected("dedup", "same");
    bus.publish(&event).await.unwrap();
    bus.publish(&event).await.unwrap();
    bus.publish(&rejected("dedup", "other")).await.unwrap();
    let first = next(&mut subscription, "dedup").await;
    assert_eq!(first.event.fault_instance_id, "same");
    first.ack().await.unwrap();
    let second = next(&mut subscription, "dedup").await;
    assert_eq!(
        second.event.fault_instance_id, "other",
        "the duplicate was dropped"
    );
    second.ack().await.unwrap();
    nothing_more(&mut subscription).await;
}

async fn replicas_share_one_durable_consumer(bus: Arc<dyn Bus>) {
    let mut one = bus
        .consume(consumer("shared", subjects::FAULT_REJECTED))
        .await
        .unwrap();
    let mut two = bus
        .consume(consumer("shared", subjects::FAULT_REJECTED))
        .await
        .unwrap();
    for index in 0..20 {
        bus.publish(&rejected("shared", &format!("s{index}")))
            .await
            .unwrap();
    }
    let mut seen = Vec::new();
    while seen.len() < 20 {
        let delivery = tokio::select! {
            Some(Ok(delivery)) = one.next() => delivery,
            Some(Ok(delivery)) = two.next() => delivery,
            _ = tokio::time::sleep(Duration::from_secs(10)) => panic!("only {} of 20 delivered", seen.len()),
        };
        if delivery.event.run_id == "shared" {
            seen.push(delivery.event.fault_instance_id.clone());
        }
        delivery.ack().await.unwrap();
    }
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 20, "each message went to exactly one replica");
    nothing_more(&mut one).await;
    nothing_more(&mut two).await;
}

/// History holds every event stored on the subjects asked for, oldest first, whoever consumed them.
async fn keeps_history_of_the_subjects_asked_for(bus: Arc<dyn Bus>) {
    let run = "history-run";
    let published = [
        run_planned(run, 2),
        rejected(run, "h-1"),
        rejected(run, "h-2"),
    ];
    for event in &published {
        bus.publish(event).await.unwrap();
    }
    // Consumed and acknowledged by someone: still history.
    let mut taken = bus
        .consume(consumer("history-reader", subjects::FAULTS))
        .await
        .unwrap();
    next(&mut taken, run).await.ack().await.unwrap();
    let of_run = |events: Vec<Event>| -> Vec<String> {
        events
            .into_iter()
            .filter(|event| event.run_id == run)
            .map(|event| event.id)
            .collect()
    };
    let faults = of_run(bus.history(&[subjects::FAULTS]).await.unwrap());
    assert_eq!(faults, [published[1].id.clone(), published[2].id.clone()]);
    let both = of_run(
        bus.history(&[subjects::RUN_PLANNED, subjects::FAULTS])
            .await
            .unwrap(),
    );
    assert_eq!(
        both,
        published
            .iter()
            .map(|event| event.id.clone())
            .collect::<Vec<_>>()
    );
    assert!(of_run(bus.history(&[subjects::FINDING_CREATED]).await.unwrap()).is_empty());
}

async fn contract(bus: Arc<dyn Bus>) {
    filters_and_keeps_order(bus.clone()).await;
    redelivers_what_was_not_acknowledged(bus.clone()).await;
    drops_duplicate_event_ids(bus.clone()).await;
    replicas_share_one_durable_consumer(bus.clone()).await;
    keeps_history_of_the_subjects_asked_for(bus).await;
}

#[tokio::test]
async fn the_in_process_bus_keeps_the_contract() {
    contract(Arc::new(MemoryBus::new())).await;
}

#[tokio::test]
async fn the_nats_bus_keeps_the_contract() {
    let nats = NatsServer::start();
    contract(Arc::new(NatsBus::connect(&nats.url).await.unwrap())).await;
}

#[tokio::test]
async fn a_restarted_nats_consumer_resumes_where_it_stopped() {
    let nats = NatsServer::start();
    // Messages the first process had pulled but not acknowledged come back after the ack wait.
    let config = ConsumerConfig::new("resume", &[subjects::FAULT_REJECTED])
        .with_ack_wait(Duration::from_secs(1));
    {
        let bus = NatsBus::connect(&nats.url).await.unwrap();
        let mut subscription = bus.consume(config.clone()).await.unwrap();
        for index in 0..6 {
            bus.publish(&rejected("resume", &format!("r{index}")))
                .await
                .unwrap();
        }
        for index in 0..3 {
            let delivery = next(&mut subscription, "resume").await;
            assert_eq!(delivery.event.fault_instance_id, format!("r{index}"));
            delivery.ack().await.unwrap();
        }
    }
    // A new connection, as after a process restart.
    let bus = NatsBus::connect(&nats.url).await.unwrap();
    let mut subscription = bus.consume(config).await.unwrap();
    for index in 3..6 {
        let delivery = next(&mut subscription, "resume").await;
        assert_eq!(delivery.event.fault_instance_id, format!("r{index}"));
        delivery.ack().await.unwrap();
    }
    nothing_more(&mut subscription).await;
}

#[tokio::test]
async fn both_buses_carry_the_publishers_trace_context() {
    use rdfi_core::telemetry::{self, LogFormat, TelemetryConfig};
    use tracing::Instrument;

    // The only test of this binary that installs the global subscriber.
    let _telemetry = telemetry::init(&TelemetryConfig {
        service_name: "bus-contract".to_owned(),
        log_format: LogFormat::Plain,
        otlp_endpoint: None,
        default_filter: "warn",
    })
    .expect("telemetry starts");
    let nats = NatsServer::start();
    let buses: [Arc<dyn Bus>; 2] = [
        Arc::new(MemoryBus::new()),
        Arc::new(NatsBus::connect(&nats.url).await.unwrap()),
    ];
    for bus in buses {
        let span = tracing::warn_span!("publisher");
        let published = span
            .in_scope(telemetry::current_traceparent)
            .expect("a span has a trace context");
        let mut subscription = bus
            .consume(consumer("trace", subjects::FAULT_REJECTED))
            .await
            .unwrap();
        bus.publish(&rejected("trace", "t"))
            .instrument(span)
            .await
            .unwrap();
        let delivery = next(&mut subscription, "trace").await;
        let carried = delivery
            .traceparent
            .clone()
            .expect("the delivery carries a traceparent");
        // version-traceid-spanid-flags: the trace id is the same.
        assert_eq!(
            carried.split('-').nth(1),
            published.split('-').nth(1),
            "{carried} vs {published}"
        );
        delivery.ack().await.unwrap();
    }
}
