//! Hostile submissions to the planner's real gRPC server: a request larger than any document rdfi reads is
//! refused before it is decoded, and a document nested too deep is refused with where and why; the planner
//! still answers afterwards.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;

use rdfi_core::CancellationToken;
use rdfi_core::bus::memory::MemoryBus;
use rdfi_core::experiment::{MAX_DEPTH, MAX_DOCUMENT_BYTES};
use rdfi_planner::PlannerConfig;
use rdfi_proto::v1::planner_service_client::PlannerServiceClient;
use rdfi_proto::v1::{ListCampaignsRequest, SubmitCampaignRequest, SubmitExperimentRequest};
use tonic::Code;
use tonic::transport::Channel;

fn free_address() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
}

async fn connect(address: SocketAddr) -> PlannerServiceClient<Channel> {
    for _ in 0..200 {
        if let Ok(client) = PlannerServiceClient::connect(format!("http://{address}")).await {
            // Room to send what the server must refuse.
            return client.max_encoding_message_size(64 * 1024 * 1024);
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the planner did not listen on {address}");
}

/// A document nested `depth` flow sequences deep.
fn nested(depth: usize) -> String {
    format!(
        "apiVersion: rdfi.dev/v1\nkind: Experiment\nmetadata: {}{}\n",
        "[".repeat(depth),
        "]".repeat(depth)
    )
}

#[tokio::test]
async fn oversized_and_deeply_nested_submissions_are_refused_and_the_planner_still_answers() {
    let address = free_address();
    let shutdown = CancellationToken::new();
    let planner = tokio::spawn(rdfi_planner::run(
        PlannerConfig {
            bus: Arc::new(MemoryBus::new()),
            grpc: Some(rdfi_core::grpc::Listen::plain(address)),
            learned: None,
            campaigns: None,
        },
        shutdown.clone(),
    ));
    let mut client = connect(address).await;

    // 768 KiB (under tonic's default limit of 4 MiB): refused by size before it is decoded.
    let huge = "x".repeat(3 * MAX_DOCUMENT_BYTES);
    let refused = client
        .submit_experiment(SubmitExperimentRequest {
            experiment_yaml: huge.clone(),
            dry_run: false,
        })
        .await
        .expect_err("a 768 KiB request");
    assert_eq!(refused.code(), Code::OutOfRange, "{refused:?}");
    let refused = client
        .submit_campaign(SubmitCampaignRequest {
            campaign_yaml: huge,
            dry_run: false,
        })
        .await
        .expect_err("a 768 KiB campaign");
    assert_eq!(refused.code(), Code::OutOfRange, "{refused:?}");

    // Within the request limit but over the document's: refused by the parser, saying so.
    let refused = client
        .submit_experiment(SubmitExperimentRequest {
            experiment_yaml: " ".repeat(MAX_DOCUMENT_BYTES + 1),
            dry_run: false,
        })
        .await
        .expect_err("a document over the size cap");
    assert_eq!(refused.code(), Code::InvalidArgument, "{refused:?}");
    assert!(
        refused.message().contains("at most 262144 bytes (256 KiB)"),
        "{refused:?}"
    );

    // 200 KB nested 100,000 deep, four at once (once 45 s each): refused with the place.
    let deep = nested(100_000);
    let submissions = (0..4).map(|_| {
        let mut client = client.clone();
        let deep = deep.clone();
        async move {
            client
                .submit_experiment(SubmitExperimentRequest {
                    experiment_yaml: deep,
                    dry_run: false,
                })
                .await
        }
    });
    for refused in futures::future::join_all(submissions).await {
        let refused = refused.expect_err("a document nested 100,000 deep");
        assert_eq!(refused.code(), Code::InvalidArgument, "{refused:?}");
        assert!(
            refused
                .message()
                .contains(&format!("nested more than {MAX_DEPTH} levels deep")),
            "{refused:?}"
        );
    }

    // And it still answers.
    let listed = client
        .list_campaigns(ListCampaignsRequest::default())
        .await
        .expect("the planner answers");
    assert!(listed.into_inner().campaigns.is_empty());
    shutdown.cancel();
    planner.await.unwrap().unwrap();
}
