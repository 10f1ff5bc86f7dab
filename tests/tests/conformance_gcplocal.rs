//! The Google Cloud faults beyond storage (the project's IAM policy and audit configs, service accounts,
//! firewall rules) against gcplocal: prepare a resource with a non-trivial prior state, inject through rdfi's
//! provider, prove the misconfiguration with an independent read, revert, and prove the resource reads back
//! exactly as before; and again with a change a person makes while the fault is on, which the revert keeps.
//! Where gcplocal lacks a call a driver needs, the case checks what it can: the driver reads the prepared
//! state, and its injection fails without changing anything. Also: discovery finds every prepared resource
//! with the tags of its labels or description.

use rdfi_proto::v1::ResourceRef;
use rdfi_provider::gcp::{
    FIREWALL, GcpProvider, GcpSettings, PROJECT as PROJECT_TYPE, SERVICE_ACCOUNT,
};
use rdfi_provider::{FaultOperations, Provider};
use rdfi_tests::conformance::gcplocal::{GcpCase, gcplocal_cases};
use rdfi_tests::conformance::runner::{Outcomes, revert_keeps_a_change_made_meanwhile, round_trip};
use rdfi_tests::gcplocal::{GcpClient, GcpLocal, PROJECT};

/// rdfi's GCP provider, every API but storage pointed at gcplocal.
fn provider_on(emulator: &GcpLocal) -> GcpProvider {
    GcpProvider::connect(&GcpSettings {
        project: PROJECT.to_owned(),
        endpoint: Some(emulator.endpoint.clone()),
        api_endpoint: Some(emulator.endpoint.clone()),
    })
    .expect("the gcp provider")
}

/// For a case gcplocal cannot run: the driver's snapshot reads the prepared state as secure, and its
/// injection fails and leaves the resource as it was.
async fn check_unsupported(
    faults: &dyn FaultOperations,
    case: &dyn GcpCase,
    gcp: &GcpClient,
    resource: &ResourceRef,
) -> Result<(), String> {
    let fault_id = case.fault_id();
    let before = case.read(gcp, resource).await;
    let snapshot = faults
        .snapshot(fault_id, resource)
        .await
        .map_err(|e| format!("snapshot: {e}"))?;
    if faults
        .is_present(fault_id, resource)
        .await
        .map_err(|e| format!("probe: {e}"))?
    {
        return Err(format!(
            "the prepared resource reads as misconfigured: {snapshot}"
        ));
    }
    if faults.inject(fault_id, resource, &snapshot).await.is_ok() {
        return Err("gcplocal was thought to lack the call, yet the injection succeeded".into());
    }
    let after = case.read(gcp, resource).await;
    if after != before {
        return Err(format!(
            "a failed injection changed the resource: {before} vs {after}"
        ));
    }
    eprintln!(
        "conformance: {fault_id} checked in part: {}",
        case.unsupported().unwrap_or_default()
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_gcplocal_fault_injects_and_reverts_exactly() {
    let emulator = GcpLocal::start().await;
    let gcp = GcpClient::new(&emulator.endpoint);
    let provider = provider_on(&emulator);
    let faults = provider.faults();
    let cases = gcplocal_cases();
    let mut outcomes = Outcomes::new("gcplocal (Resource Manager, IAM, Compute)", cases.len());
    let mut prepared = Vec::new();
    for (index, case) in cases.iter().enumerate() {
        let resource = case.prepare(&gcp, &format!("case-{index:02}")).await;
        prepared.push(resource.clone());
        let outcome = if case.unsupported().is_some() {
            check_unsupported(faults, case.as_ref(), &gcp, &resource).await
        } else {
            round_trip(
                faults,
                case.fault_id(),
                &resource,
                || case.read(&gcp, &resource),
                |read| case.misconfigured(read),
            )
            .await
        };
        outcomes.record(case.fault_id(), outcome);
    }
    outcomes.finish();

    for resource_type in [PROJECT_TYPE, SERVICE_ACCOUNT, FIREWALL] {
        let discovered = provider.discover(resource_type).await.expect("discover");
        for resource in prepared
            .iter()
            .filter(|found| found.resource_type == resource_type)
        {
            let found = discovered
                .iter()
                .find(|found| found.id == resource.id)
                .unwrap_or_else(|| panic!("{} was not discovered", resource.id));
            assert_eq!(
                found.tags.get("rdfi-target").map(String::as_str),
                Some("true"),
                "{}",
                resource.id
            );
            assert_eq!(
                provider
                    .tags(resource)
                    .await
                    .expect("tags")
                    .get("rdfi-target")
                    .map(String::as_str),
                Some("true"),
                "{}",
                resource.id
            );
        }
        // The rules the faults created (and reverted) are gone; the corporate SSH rules are not opted in.
        assert!(
            discovered
                .iter()
                .filter(|found| !found.tags.contains_key("rdfi-target"))
                .all(|found| !found.name.starts_with("rdfi-")),
            "{discovered:?}"
        );
    }
    let project = provider.discover(PROJECT_TYPE).await.unwrap();
    assert_eq!(project.len(), 1);
    assert_eq!(
        project[0].tags.get("team").map(String::as_str),
        Some("conformance")
    );
}

/// For every case: a person changes the resource while the fault is on, and the revert removes the fault and
/// keeps that change.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_gcplocal_revert_keeps_a_change_made_meanwhile() {
    let emulator = GcpLocal::start().await;
    let gcp = GcpClient::new(&emulator.endpoint);
    let provider = provider_on(&emulator);
    let faults = provider.faults();
    let cases: Vec<Box<dyn GcpCase>> = gcplocal_cases()
        .into_iter()
        .filter(|case| case.unsupported().is_none())
        .collect();
    let mut outcomes = Outcomes::new("gcplocal, changes made meanwhile", cases.len());
    for (index, case) in cases.iter().enumerate() {
        let resource = case.prepare(&gcp, &format!("meanwhile-{index:02}")).await;
        let outcome = revert_keeps_a_change_made_meanwhile(
            faults,
            case.fault_id(),
            &resource,
            || case.read(&gcp, &resource),
            |read| case.misconfigured(read),
            async || case.change_meanwhile(&gcp, &resource).await,
            |read| case.kept(read),
        )
        .await
        .and_then(|changed| {
            changed
                .then_some(())
                .ok_or_else(|| "the case made no change meanwhile".to_owned())
        });
        outcomes.record(case.fault_id(), outcome);
    }
    outcomes.finish();
}
