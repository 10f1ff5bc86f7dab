//! Every GCP fault of the catalogue against gcp-storage-emulator: prepare a bucket with a non-trivial prior
//! configuration, inject through rdfi's provider, prove the misconfiguration with an independent JSON API read,
//! revert, and prove the bucket reads back exactly as before. Also: discovery finds every prepared bucket with
//! its labels, and every gcp fault has a case (here or on gcplocal) and a driver.

use rdfi_provider::Provider;
use rdfi_provider::gcp::{BUCKET, GcpProvider, GcpSettings, bucket_resource_name};
use rdfi_tests::conformance::gcp_storage::gcs_cases;
use rdfi_tests::conformance::gcplocal::gcplocal_cases;
use rdfi_tests::conformance::runner::{Outcomes, assert_covered, round_trip};
use rdfi_tests::gcs::{GcsClient, GcsEmulator, PROJECT};
use rdfi_tests::{free_port, rdfi_binary, wait_until};
use serde_json::json;
use std::time::Duration;

/// rdfi's GCP provider, pointed at the emulator.
fn provider_on(emulator: &GcsEmulator) -> GcpProvider {
    GcpProvider::connect(&GcpSettings {
        project: PROJECT.to_owned(),
        endpoint: Some(emulator.endpoint.clone()),
        api_endpoint: None,
    })
    .expect("the gcp provider")
}

/// The conformance case of one fault.
fn case_of(fault_id: &str) -> Box<dyn rdfi_tests::conformance::gcp_storage::GcsCase> {
    gcs_cases()
        .into_iter()
        .find(|case| case.fault_id() == fault_id)
        .expect("the case")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_gcp_fault_injects_and_reverts_exactly_on_the_emulator() {
    let emulator = GcsEmulator::start();
    let gcs = GcsClient::new(&emulator.endpoint);
    let provider = provider_on(&emulator);
    let faults = provider.faults();
    let cases = gcs_cases();
    let mut outcomes = Outcomes::new("gcp-storage-emulator (GCS)", cases.len());
    let mut prepared = Vec::new();
    for (index, case) in cases.iter().enumerate() {
        let fault_id = case.fault_id();
        let name = format!("conformance-{index:02}");
        let resource = case.prepare(&gcs, &name).await;
        prepared.push(resource.clone());
        let outcome = round_trip(
            faults,
            fault_id,
            &resource,
            || case.read(&gcs, &resource),
            |read| case.misconfigured(read),
        )
        .await;
        outcomes.record(fault_id, outcome);
    }
    outcomes.finish();

    let discovered = provider.discover(BUCKET).await.expect("discover buckets");
    for resource in &prepared {
        let found = discovered
            .iter()
            .find(|found| found.name == resource.name)
            .unwrap_or_else(|| panic!("{} was not discovered", resource.name));
        assert_eq!(found.id, bucket_resource_name(&resource.name));
        assert_eq!(
            found.tags.get("rdfi-target").map(String::as_str),
            Some("true")
        );
        assert_eq!(
            provider
                .tags(resource)
                .await
                .expect("labels")
                .get("team")
                .map(String::as_str),
            Some("conformance")
        );
    }

    // The faults beyond storage run on gcplocal (conformance_gcplocal.rs); one provider drives them all.
    let beyond_storage = gcplocal_cases();
    let covered: Vec<&str> = cases
        .iter()
        .map(|case| case.fault_id())
        .chain(beyond_storage.iter().map(|case| case.fault_id()))
        .collect();
    assert_covered("gcp", &covered, faults);
}

/// An IAM fault's revert removes only the member it added: a member granted meanwhile, in the same binding and
/// in a new one, stays.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_iam_revert_keeps_members_added_meanwhile() {
    let emulator = GcsEmulator::start();
    let gcs = GcsClient::new(&emulator.endpoint);
    let provider = provider_on(&emulator);
    let fault_id = "gcp.storage.bucket-iam-allusers-viewer";
    let case = case_of(fault_id);
    let resource = case.prepare(&gcs, "concurrent-grants").await;
    let faults = provider.faults();
    let snapshot = faults.snapshot(fault_id, &resource).await.unwrap();
    faults.inject(fault_id, &resource, &snapshot).await.unwrap();

    let mut bindings = gcs.get_iam_policy(&resource.name).await["bindings"].clone();
    for binding in bindings.as_array_mut().unwrap() {
        if binding["role"] == "roles/storage.objectViewer" {
            binding["members"]
                .as_array_mut()
                .unwrap()
                .push(json!("user:new-reader@example.org"));
        }
    }
    bindings.as_array_mut().unwrap().push(json!({
        "role": "roles/storage.legacyBucketReader",
        "members": ["user:auditor@example.org"],
    }));
    gcs.set_iam_bindings(&resource.name, bindings).await;

    faults.revert(fault_id, &resource, &snapshot).await.unwrap();
    let after = case.read(&gcs, &resource).await;
    assert!(!case.misconfigured(&after), "allUsers is gone: {after}");
    let holds = |member: &str, role: &str| {
        after["bindings"].as_array().unwrap().iter().any(|binding| {
            binding["role"] == role
                && binding["members"]
                    .as_array()
                    .unwrap()
                    .contains(&json!(member))
        })
    };
    assert!(
        holds("user:new-reader@example.org", "roles/storage.objectViewer"),
        "{after}"
    );
    assert!(
        holds(
            "group:data-readers@example.org",
            "roles/storage.objectViewer"
        ),
        "{after}"
    );
    assert!(
        holds(
            "user:auditor@example.org",
            "roles/storage.legacyBucketReader"
        ),
        "{after}"
    );
    assert!(
        holds("user:oncall@example.org", "roles/storage.objectAdmin"),
        "the conditional binding stays: {after}"
    );
}

/// A bucket field's revert (a conditional patch of the whole `acl` field) keeps an entry someone added while
/// the fault was on, and check_revert sees the revert complete and the change made by others.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bucket_field_revert_keeps_an_entry_added_meanwhile() {
    let emulator = GcsEmulator::start();
    let gcs = GcsClient::new(&emulator.endpoint);
    let provider = provider_on(&emulator);
    let fault_id = "gcp.storage.bucket-acl-public-read";
    let case = case_of(fault_id);
    let resource = case.prepare(&gcs, "concurrent-acl").await;
    let faults = provider.faults();
    let snapshot = faults.snapshot(fault_id, &resource).await.unwrap();
    faults.inject(fault_id, &resource, &snapshot).await.unwrap();

    let mut acl = gcs.get_bucket(&resource.name).await["acl"].clone();
    let helper = json!({"entity": "user-helper@example.org", "role": "READER"});
    acl.as_array_mut().unwrap().push(helper);
    gcs.patch_bucket(&resource.name, &json!({ "acl": acl }))
        .await;

    faults.revert(fault_id, &resource, &snapshot).await.unwrap();
    let after = case.read(&gcs, &resource).await;
    assert!(!case.misconfigured(&after), "allUsers is gone: {after}");
    assert!(
        after["acl"]
            .as_array()
            .unwrap()
            .iter()
            .any(|entry| entry["entity"] == "user-helper@example.org"),
        "the entry added meanwhile stays: {after}"
    );
    let check = faults
        .check_revert(fault_id, &resource, &snapshot)
        .await
        .unwrap();
    assert!(check.reverted && check.changed_by_others, "{check:?}");
}

/// The same through the executor, as a user meets it: `rdfi run` against the emulator while a person grants a
/// member on the bucket. The person's member stays, allUsers goes, the revert is verified, and the run ends as
/// a miss (exit 1), not a safety abort.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_added_during_a_fault_survives_the_executors_revert() {
    let emulator = GcsEmulator::start();
    let gcs = GcsClient::new(&emulator.endpoint);
    let fault_id = "gcp.storage.bucket-iam-allusers-viewer";
    let case = case_of(fault_id);
    let resource = case.prepare(&gcs, "person-grants").await;
    let state = tempfile::tempdir().unwrap();
    let experiment = state.path().join("experiment.yaml");
    std::fs::write(
        &experiment,
        format!(
            "apiVersion: rdfi/v1
kind: Experiment
metadata:
  name: gcs-person
target:
  provider: gcp
faults:
  - id: {fault_id}
hypothesis:
  detect: {{ within: 3s }}
safety:
  exposureWindow: 3s
"
        ),
    )
    .unwrap();
    let run = tokio::process::Command::new(rdfi_binary("rdfi"))
        .arg("run")
        .arg(&experiment)
        .args([
            "--gcp-project",
            PROJECT,
            "--gcs-endpoint",
            &emulator.endpoint,
        ])
        .args(["--webhook-listen", &format!("127.0.0.1:{}", free_port())])
        .arg("--state-dir")
        .arg(state.path())
        .args(["--poll-interval", "200ms", "--format", "json"])
        .output();
    let person = async {
        let public = wait_until(Duration::from_secs(30), || {
            let (gcs, bucket) = (&gcs, resource.name.clone());
            async move {
                gcs.get_iam_policy(&bucket)
                    .await
                    .to_string()
                    .contains("allUsers")
            }
        })
        .await;
        assert!(public, "the fault was injected");
        let mut bindings = gcs.get_iam_policy(&resource.name).await["bindings"].clone();
        bindings.as_array_mut().unwrap().push(json!({
            "role": "roles/storage.legacyBucketReader",
            "members": ["user:auditor@example.org"],
        }));
        gcs.set_iam_bindings(&resource.name, bindings).await;
    };
    let (output, ()) = tokio::join!(run, person);
    let output = output.unwrap();
    let report: serde_json::Value =
        serde_json::from_slice(&output.stdout).unwrap_or_else(|error| {
            panic!(
                "no report ({error}): {}",
                String::from_utf8_lossy(&output.stderr)
            )
        });
    assert_eq!(output.status.code(), Some(1), "{report:#}");
    let fault = &report["faults"][0];
    assert_eq!(fault["state"], "reverted", "{report:#}");
    assert_eq!(fault["revertVerified"], true, "{report:#}");
    assert_eq!(fault["changedByOthers"], true, "{report:#}");
    let after = gcs.get_iam_policy(&resource.name).await;
    assert!(!after.to_string().contains("allUsers"), "{after}");
    assert!(
        after.to_string().contains("user:auditor@example.org"),
        "the person's member stays: {after}"
    );
}
