//! Every fault of the catalogue on the sandbox, from its example state: inject, probe, revert, verify, re-read.

use std::collections::BTreeMap;
use std::sync::Arc;

use rdfi_provider::Provider;
use rdfi_provider::sandbox::{SandboxAccount, SandboxProvider};

#[tokio::test]
async fn every_fault_injects_and_reverts_exactly_on_the_sandbox() {
    let opted_in = BTreeMap::from([("rdfi-target".to_owned(), "true".to_owned())]);
    let mut account = SandboxAccount::new();
    for model in rdfi_core::catalogue::all() {
        account = account.with_resource(model.resource_type, model.id, opted_in.clone());
    }
    let account = Arc::new(account);
    let provider = SandboxProvider::new(account.clone());
    let faults = provider.faults();
    for model in rdfi_core::catalogue::all() {
        let resource = account.resource(model.id).expect("the resource").resource;
        let snapshot = faults.snapshot(model.id, &resource).await.unwrap();
        assert!(
            !faults.is_present(model.id, &resource).await.unwrap(),
            "{}",
            model.id
        );
        faults.inject(model.id, &resource, &snapshot).await.unwrap();
        assert!(
            faults.is_present(model.id, &resource).await.unwrap(),
            "{}",
            model.id
        );
        assert!(account.has_fault(model.id, model.id), "{}", model.id);
        assert!(
            !faults
                .describe(model.id, &resource, &snapshot)
                .unwrap()
                .is_empty()
        );
        let check = faults
            .check_revert(model.id, &resource, &snapshot)
            .await
            .unwrap();
        assert!(!check.reverted, "{}: {check:?}", model.id);
        faults.revert(model.id, &resource, &snapshot).await.unwrap();
        let check = faults
            .check_revert(model.id, &resource, &snapshot)
            .await
            .unwrap();
        assert!(
            check.reverted && !check.changed_by_others,
            "{}: {check:?}",
            model.id
        );
        assert_eq!(
            faults.snapshot(model.id, &resource).await.unwrap(),
            snapshot,
            "{}",
            model.id
        );
    }
}
