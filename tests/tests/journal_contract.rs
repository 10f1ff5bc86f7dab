//! The journal's contract, the same for both stores: the file journal (one process per state directory) and
//! the NATS key-value journal (shared by executor replicas) on a real nats-server. A claim is taken once; an
//! open fault holds its resource until it closes; stops last until resumed; closed records are compacted. The
//! NATS journal also refuses an update over a revision another replica changed.

use std::sync::Arc;

use rdfi_core::bus::nats::NatsBus;
use rdfi_executor::journal::file::FileJournal;
use rdfi_executor::journal::nats::NatsJournal;
use rdfi_executor::journal::{Claim, FaultState, Journal, JournalRecord};
use rdfi_proto::v1::ResourceRef;
use rdfi_tests::NatsServer;

fn record(id: &str, resource: &str, state: FaultState, recorded_at_ms: i64) -> JournalRecord {
    JournalRecord {
        fault_instance_id: id.to_owned(),
        run_id: "run".to_owned(),
        fault_id: "aws.s3.bucket-public-acl".to_owned(),
        resource: ResourceRef {
            id: format!("arn:aws:s3:::{resource}"),
            name: resource.to_owned(),
            ..Default::default()
        },
        state,
        snapshot: Some(serde_json::json!({ "grants": [] })),
        hypothesis: None,
        injected_at_ms: None,
        revert_due_at_ms: 1_000,
        dry_run: false,
        reason: None,
        recorded_at_ms,
        target: None,
        changed_by_others: false,
        hold_ms: 0,
        cut_short: None,
        refusal: None,
        canary_key: None,
    }
}

/// What every journal must do; `second` is another handle on the same journal (another replica), when the
/// store allows one.
async fn contract(journal: &dyn Journal, second: Option<&dyn Journal>) {
    // A claim is taken once.
    let first = record("a", "bucket", FaultState::Intended, 10);
    assert_eq!(journal.claim(&first).await.unwrap(), Claim::Taken);
    assert_eq!(journal.claim(&first).await.unwrap(), Claim::AlreadyHandled);
    // An open fault holds its resource, for every handle on the journal.
    let other = record("b", "bucket", FaultState::Intended, 10);
    let contender = second.unwrap_or(journal);
    assert_eq!(
        contender.claim(&other).await.unwrap(),
        Claim::ResourceBusy {
            holder: "a".to_owned()
        }
    );
    // Another resource is free.
    assert_eq!(
        contender
            .claim(&record("c", "other-bucket", FaultState::Intended, 10))
            .await
            .unwrap(),
        Claim::Taken
    );
    let counted = journal
        .occupancy("run", "arn:aws:s3:::bucket", &[])
        .await
        .unwrap();
    assert_eq!(
        (counted.open, counted.open_in_run, counted.resource_taken),
        (2, 2, true)
    );
    // Faults the caller counts itself are left out of the counts, not of the resources they hold.
    let counted = journal
        .occupancy(
            "run",
            "arn:aws:s3:::bucket",
            &["a".to_owned(), "unknown".to_owned()],
        )
        .await
        .unwrap();
    assert_eq!(
        (counted.open, counted.open_in_run, counted.resource_taken),
        (1, 1, true)
    );
    // Closing the fault releases the resource.
    journal
        .append(&record("a", "bucket", FaultState::Injected, 20))
        .await
        .unwrap();
    journal
        .append(&record("a", "bucket", FaultState::Reverted, 30))
        .await
        .unwrap();
    assert_eq!(
        contender
            .claim(&record("d", "bucket", FaultState::Intended, 40))
            .await
            .unwrap(),
        Claim::Taken
    );
    let open: Vec<String> = journal
        .open_faults()
        .await
        .unwrap()
        .into_iter()
        .map(|record| record.fault_instance_id)
        .collect();
    assert!(
        open.contains(&"c".to_owned()) && open.contains(&"d".to_owned()),
        "{open:?}"
    );
    assert!(!open.contains(&"a".to_owned()), "{open:?}");
    // Stops last until resumed, and every handle sees them.
    journal.stop(Some("run"), "stop condition").await.unwrap();
    assert_eq!(
        contender.stopped("run").await.unwrap().as_deref(),
        Some("stop condition")
    );
    assert_eq!(contender.stopped("another").await.unwrap(), None);
    journal.stop(None, "operator").await.unwrap();
    assert_eq!(
        contender.stopped("another").await.unwrap().as_deref(),
        Some("operator")
    );
    contender.resume().await.unwrap();
    assert_eq!(journal.stopped("run").await.unwrap(), None);
    // Closed records older than the cut are compacted; open ones stay.
    assert!(journal.compact(35).await.unwrap() >= 1);
    assert_eq!(journal.get("a").await.unwrap(), None);
    assert!(journal.get("c").await.unwrap().is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_file_journal_keeps_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    let journal = FileJournal::open(dir.path()).unwrap();
    contract(&journal, None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_nats_journal_keeps_the_contract_across_replicas() {
    let nats = NatsServer::start();
    let bus = NatsBus::connect(&nats.url).await.unwrap();
    let replica_one = Arc::new(NatsJournal::open(bus.jetstream(), 1).await.unwrap());
    let other_bus = NatsBus::connect(&nats.url).await.unwrap();
    let replica_two = NatsJournal::open(other_bus.jetstream(), 1).await.unwrap();
    contract(replica_one.as_ref(), Some(&replica_two)).await;

    // Two replicas writing one fault's record: the one that read an older revision is refused.
    let fault = record("e", "third-bucket", FaultState::Intended, 50);
    assert_eq!(replica_one.claim(&fault).await.unwrap(), Claim::Taken);
    assert!(replica_two.get("e").await.unwrap().is_some());
    replica_one
        .append(&record("e", "third-bucket", FaultState::Injected, 60))
        .await
        .unwrap();
    let stale = replica_two
        .append(&record("e", "third-bucket", FaultState::Reverted, 70))
        .await;
    assert!(
        stale.is_err(),
        "an update over a changed revision is refused"
    );
    assert_eq!(
        replica_one.get("e").await.unwrap().unwrap().state,
        FaultState::Injected
    );

    // A lease whose holder's record closed without releasing it (a crash between the two writes) is taken
    // over.
    let holder = record("f", "fourth-bucket", FaultState::Intended, 80);
    assert_eq!(replica_one.claim(&holder).await.unwrap(), Claim::Taken);
    let store = bus
        .jetstream()
        .get_key_value(rdfi_executor::journal::nats::BUCKET)
        .await
        .unwrap();
    let closed =
        serde_json::to_vec(&record("f", "fourth-bucket", FaultState::Reverted, 90)).unwrap();
    store.put("fault.f", closed.into()).await.unwrap();
    assert_eq!(
        replica_two
            .claim(&record("g", "fourth-bucket", FaultState::Intended, 100))
            .await
            .unwrap(),
        Claim::Taken
    );
}
