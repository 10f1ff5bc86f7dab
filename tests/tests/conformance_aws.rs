//! Every AWS fault of the catalogue against moto_server: prepare a resource with a non-trivial prior state,
//! inject through rdfi's provider, prove the misconfiguration with an independent read, revert, and prove the
//! resource reads back exactly as before.

use rdfi_provider::aws::AwsProvider;
use rdfi_provider::{Provider, ProviderError};
use rdfi_tests::MotoServer;
use rdfi_tests::aws::{clients, sdk_config};
use rdfi_tests::conformance::aws_cases;
use rdfi_tests::conformance::runner::{
    Outcomes, assert_covered, revert_keeps_a_change_made_meanwhile, round_trip,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_aws_fault_injects_and_reverts_exactly_on_moto() {
    let moto = MotoServer::start();
    let aws = clients(&moto.endpoint).await;
    let provider = AwsProvider::from_sdk_config(&sdk_config(&moto.endpoint).await);
    let faults = provider.faults();
    let cases = aws_cases();
    let mut outcomes = Outcomes::new("moto (AWS)", cases.len());
    for (index, case) in cases.iter().enumerate() {
        let fault_id = case.fault_id();
        let name = format!("conformance-{index:02}");
        let resource = case.prepare(&aws, &name).await;
        let outcome = round_trip(
            faults,
            fault_id,
            &resource,
            || case.read(&aws, &resource),
            |read| case.misconfigured(read),
        )
        .await;
        outcomes.record(fault_id, outcome);
    }
    outcomes.finish();

    let covered: Vec<&str> = cases.iter().map(|case| case.fault_id()).collect();
    assert_covered("aws", &covered, faults);
}

/// For every case that changes its resource the way a person might while the fault is on: the revert removes
/// the fault and keeps that change.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_aws_revert_keeps_a_change_made_meanwhile_on_moto() {
    let moto = MotoServer::start();
    let aws = clients(&moto.endpoint).await;
    let provider = AwsProvider::from_sdk_config(&sdk_config(&moto.endpoint).await);
    let faults = provider.faults();
    let cases = aws_cases();
    let mut outcomes = Outcomes::new("moto (AWS), changes made meanwhile", cases.len());
    let mut changed = 0;
    for (index, case) in cases.iter().enumerate() {
        let fault_id = case.fault_id();
        let resource = case.prepare(&aws, &format!("meanwhile-{index:02}")).await;
        let outcome = revert_keeps_a_change_made_meanwhile(
            faults,
            fault_id,
            &resource,
            || case.read(&aws, &resource),
            |read| case.misconfigured(read),
            async || case.change_meanwhile(&aws, &resource).await,
            |read| case.kept(read),
        )
        .await;
        changed += usize::from(outcome == Ok(true));
        outcomes.record(fault_id, outcome.map(drop));
    }
    outcomes.finish();
    eprintln!(
        "conformance: {changed} of {} cases changed their resource meanwhile",
        cases.len()
    );
}

/// The case of a fault, to prepare its resource and read it independently.
fn case(fault_id: &str) -> Box<dyn rdfi_tests::conformance::AwsCase> {
    aws_cases()
        .into_iter()
        .find(|case| case.fault_id() == fault_id)
        .expect("the case")
}

/// A driver that writes a whole configuration (the bucket ACL) reverts surgically: a grant a person added
/// while the fault was on stays, the public grant goes, and check_revert sees both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_configuration_revert_keeps_a_change_made_meanwhile() {
    let moto = MotoServer::start();
    let aws = clients(&moto.endpoint).await;
    let provider = AwsProvider::from_sdk_config(&sdk_config(&moto.endpoint).await);
    let faults = provider.faults();
    let fault_id = "aws.s3.bucket-public-acl";
    let resource = case(fault_id).prepare(&aws, "meanwhile").await;
    let snapshot = faults.snapshot(fault_id, &resource).await.unwrap();
    faults.inject(fault_id, &resource, &snapshot).await.unwrap();
    let partner = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    aws.add_grant("meanwhile", partner, "WRITE_ACP").await;
    let check = faults
        .check_revert(fault_id, &resource, &snapshot)
        .await
        .unwrap();
    assert!(!check.reverted && check.changed_by_others, "{check:?}");

    faults.revert(fault_id, &resource, &snapshot).await.unwrap();
    assert!(!aws.bucket_is_public("meanwhile").await);
    assert!(
        aws.acl_lines("meanwhile")
            .await
            .iter()
            .any(|line| line.contains(partner) && line.ends_with("-> WRITE_ACP")),
        "the grant made meanwhile stays"
    );
    let check = faults
        .check_revert(fault_id, &resource, &snapshot)
        .await
        .unwrap();
    assert!(check.reverted && check.changed_by_others, "{check:?}");
    // Reverting again changes nothing.
    let acl = aws.acl_lines("meanwhile").await;
    faults.revert(fault_id, &resource, &snapshot).await.unwrap();
    assert_eq!(aws.acl_lines("meanwhile").await, acl);
}

/// The lifecycle fault is destructive on a bucket without versioning: refused as a precondition, nothing
/// changed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_expire_everything_rule_is_refused_on_an_unversioned_bucket() {
    let moto = MotoServer::start();
    let aws = clients(&moto.endpoint).await;
    let provider = AwsProvider::from_sdk_config(&sdk_config(&moto.endpoint).await);
    let faults = provider.faults();
    let fault_id = "aws.s3.bucket-lifecycle-expire-one-day";
    let case = case(fault_id);
    let resource = case.prepare(&aws, "unversioned").await;
    aws.s3
        .put_bucket_versioning()
        .bucket("unversioned")
        .versioning_configuration(
            aws_sdk_s3::types::VersioningConfiguration::builder()
                .status(aws_sdk_s3::types::BucketVersioningStatus::Suspended)
                .build(),
        )
        .send()
        .await
        .expect("PutBucketVersioning");
    let before = case.read(&aws, &resource).await;
    let snapshot = faults.snapshot(fault_id, &resource).await.unwrap();
    let refused = faults.inject(fault_id, &resource, &snapshot).await;
    assert!(
        matches!(refused, Err(ProviderError::Precondition { ref reason, .. }) if reason.contains("versioning")),
        "{refused:?}"
    );
    assert_eq!(case.read(&aws, &resource).await, before);
}

/// An access key whose creation went unanswered (here: created behind the driver's back, so that its own
/// CreateAccessKey fails on the two-key limit) is found from the snapshot, marked as the fault's, and the
/// revert deletes it: no key is left that no record owns.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_access_key_whose_creation_went_unanswered_is_owned_by_the_fault() {
    let moto = MotoServer::start();
    let aws = clients(&moto.endpoint).await;
    let provider = AwsProvider::from_sdk_config(&sdk_config(&moto.endpoint).await);
    let faults = provider.faults();
    let fault_id = "aws.iam.user-access-key-created";
    let case = case(fault_id);
    let resource = case.prepare(&aws, "lost-answer").await;
    let before = case.read(&aws, &resource).await;
    let snapshot = faults.snapshot(fault_id, &resource).await.unwrap();
    let orphan = aws
        .iam
        .create_access_key()
        .user_name("lost-answer")
        .send()
        .await
        .expect("CreateAccessKey")
        .access_key()
        .expect("a key")
        .access_key_id()
        .to_owned();

    faults
        .inject(fault_id, &resource, &snapshot)
        .await
        .expect("the key found is the fault's: injected");
    let during = case.read(&aws, &resource).await;
    assert_eq!(
        during["tags"][&orphan],
        rdfi_provider::model::iam::FAULT_ACCESS_KEY_DESCRIPTION,
        "{during}"
    );
    assert!(faults.is_present(fault_id, &resource).await.unwrap());

    faults.revert(fault_id, &resource, &snapshot).await.unwrap();
    assert_eq!(case.read(&aws, &resource).await, before);
    let check = faults
        .check_revert(fault_id, &resource, &snapshot)
        .await
        .unwrap();
    assert!(check.reverted && !check.changed_by_others, "{check:?}");
}
