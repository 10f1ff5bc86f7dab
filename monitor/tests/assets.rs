//! The monitor's asset refresh against its real consumer loop: published at start and on its schedule, each
//! slot once, and on request, answering the request's id.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use rdfi_core::CancellationToken;
use rdfi_core::bus::memory::MemoryBus;
use rdfi_core::bus::{Bus, ConsumerConfig};
use rdfi_core::{events, subjects};
use rdfi_monitor::{MonitorConfig, SignalsAuth};
use rdfi_proto::v1::event::Payload;
use rdfi_proto::v1::{AssetsObserved, AssetsRefreshRequested, Event};
use rdfi_provider::sandbox::{SandboxAccount, SandboxProvider};

fn monitor(bus: &MemoryBus, asset_refresh: Option<Duration>) -> MonitorConfig {
    MonitorConfig {
        bus: Arc::new(bus.clone()),
        provider: Arc::new(SandboxProvider::new(Arc::new(SandboxAccount::demo()))),
        opt_in_tag: rdfi_core::DEFAULT_OPT_IN_TAG.to_owned(),
        webhook_listen: None,
        signals_auth: SignalsAuth::default(),
        poll_interval: Duration::from_secs(1),
        stop_sources: Vec::new(),
        sources: Vec::new(),
        nats: None,
        asset_refresh,
    }
}

fn observed(event: &Event) -> &AssetsObserved {
    match &event.payload {
        Some(Payload::AssetsObserved(observed)) => observed,
        other => panic!("not assets: {other:?}"),
    }
}

#[tokio::test]
async fn assets_are_published_on_the_schedule_and_on_request() {
    let bus = MemoryBus::new();
    let mut answers = bus
        .consume(ConsumerConfig::ephemeral(
            "assets-test",
            &[subjects::ASSETS_OBSERVED],
        ))
        .await
        .unwrap();
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(rdfi_monitor::run(
        monitor(&bus, Some(Duration::from_millis(200))),
        shutdown.clone(),
    ));
    let mut next = async || {
        let delivery = tokio::time::timeout(Duration::from_secs(30), answers.next())
            .await
            .expect("assets within 30 s")
            .unwrap()
            .unwrap();
        let event = delivery.event.clone();
        delivery.ack().await.unwrap();
        event
    };
    // At start, then at the next slot: two events, two ids, neither answering a request.
    let first = next().await;
    let second = next().await;
    assert_ne!(first.id, second.id);
    for event in [&first, &second] {
        let assets = observed(event);
        assert_eq!(assets.provider, "sandbox");
        assert_eq!(assets.request_id, "");
        assert_eq!(assets.error, "");
        assert!(
            assets
                .resources
                .iter()
                .any(|resource| resource.name == "payments-exports"
                    && resource.exposure == "internal"),
            "{assets:?}"
        );
    }
    // Asked for another provider's assets the sandbox monitor stays silent; asked for its own, it answers.
    let requests: Vec<Event> = ["gcp", "sandbox"]
        .into_iter()
        .map(|provider| {
            events::event(
                "test",
                "",
                "",
                provider,
                Payload::AssetsRefreshRequested(AssetsRefreshRequested {
                    provider: provider.to_owned(),
                }),
            )
        })
        .collect();
    for request in &requests {
        bus.publish(request).await.unwrap();
    }
    let answered = loop {
        let event = next().await;
        let assets = observed(&event);
        if !assets.request_id.is_empty() {
            break assets.request_id.clone();
        }
    };
    assert_eq!(
        answered, requests[1].id,
        "the answer is to the sandbox request"
    );
    shutdown.cancel();
    task.await.unwrap().unwrap();
}
