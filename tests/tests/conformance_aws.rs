//! Every AWS fault of the catalogue against moto_server: prepare a resource with a non-trivial prior state,
//! inject through rdfi's provider, prove the misconfiguration with an independent read, revert, and prove the
//! resource reads back exactly as before.

use rdfi_provider::Provider;
use rdfi_provider::aws::AwsProvider;
use rdfi_tests::MotoServer;
use rdfi_tests::aws::{clients, sdk_config};
use rdfi_tests::conformance::aws_cases;
use rdfi_tests::conformance::runner::{Outcomes, assert_covered, round_trip};

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
