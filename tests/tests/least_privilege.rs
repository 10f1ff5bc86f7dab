//! `rdfi iam-policy` is enough and no more, on moto enforcing IAM: each AWS fault injects and reverts exactly
//! (the conformance round trip) as a user holding only the policy printed for that fault, and a fault outside
//! the list is refused; and `rdfi run` as a user holding the policy of two faults runs them from discovery to
//! verified revert, while a third fault in the same experiment is refused by the cloud.
//!
//! moto cannot evaluate conditions on resource tags (it treats every condition as met), so the policies are
//! used without their `Condition` blocks, and without the statement that denies changes to protected resources
//! (a deny whose condition always held would deny everything).

use rdfi_provider::Provider;
use rdfi_provider::aws::AwsProvider;
use rdfi_tests::aws::{Clients, clients, clients_as, run_as, sdk_config_as};
use rdfi_tests::conformance::runner::round_trip;
use rdfi_tests::conformance::{AwsCase, aws_cases};
use rdfi_tests::{MotoServer, experiment_yaml, rdfi_binary};
use serde_json::Value;

/// Faults moto cannot judge under IAM enforcement, and why.
const MOTO_CANNOT_JUDGE: &[(&str, &str)] = &[
    // moto 5.2's S3 action map checks Get/Put/DeletePublicAccessBlock and Get/Put/DeleteBucketEncryption as
    // s3:ListBucket, s3:CreateBucket and s3:DeleteBucket: the exact policy, right on AWS, is refused there.
    (
        "aws.s3.bucket-public-access-block-removed",
        "moto checks its calls under other action names",
    ),
    (
        "aws.s3.bucket-default-encryption-removed",
        "moto checks its calls under other action names",
    ),
    // The same map has no entry for Get/PutObjectLockConfiguration: s3:ListBucket and s3:CreateBucket again.
    (
        "aws.s3.bucket-object-lock-retention-shortened",
        "moto checks its calls under other action names",
    ),
    // Once enforcing, moto recomputes signatures of form bodies differently when a value has a space, and
    // answers SignatureDoesNotMatch whoever signs: TagUser's tag value here.
    (
        "aws.iam.user-access-key-created",
        "moto cannot verify the signature of its TagUser call",
    ),
    // moto checks CloudWatch calls under its endpoint prefix (monitoring:DescribeAlarms), not under the IAM
    // service prefix AWS uses (cloudwatch:DescribeAlarms).
    (
        "aws.cloudwatch.alarm-actions-disabled",
        "moto checks its calls under other action names",
    ),
    // Once enforcing, moto answers SignatureDoesNotMatch to the SDK's GuardDuty (REST JSON) calls, whoever
    // signs them: even the administrator's GetDetector.
    (
        "aws.guardduty.detector-disabled",
        "moto cannot verify the signature of its GuardDuty calls",
    ),
    // Once enforcing, moto answers SignatureDoesNotMatch to the SDK's Lambda GetPolicy (a REST path with the
    // function's name), whoever signs it, the administrator included.
    (
        "aws.lambda.function-public-invoke",
        "moto cannot verify the signature of its GetPolicy call",
    ),
    // The revert's CreateFlowLogs carries the flow log's record format, whose fields are separated by spaces:
    // once enforcing, moto answers AuthFailure to it whoever signs (as to the EC2 calls the set-up makes
    // before enforcing). Its DeleteFlowLogs passes with the printed policy.
    (
        "aws.ec2.vpc-flow-logs-deleted",
        "moto cannot verify the signature of its CreateFlowLogs call",
    ),
];

/// The policy document `rdfi iam-policy` prints for these faults, as moto can evaluate it.
fn policy(faults: &[&str], identity: &str) -> String {
    let output = std::process::Command::new(rdfi_binary("rdfi"))
        .args([
            "iam-policy",
            "--faults",
            &faults.join(","),
            "--for",
            identity,
        ])
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let printed: Value = serde_json::from_slice(&output.stdout).unwrap();
    let mut document = printed["aws"].clone();
    let statements = document["Statement"].as_array_mut().unwrap();
    statements.retain(|statement| statement["Effect"] == "Allow");
    for statement in statements.iter_mut() {
        statement.as_object_mut().unwrap().remove("Condition");
    }
    document.to_string()
}

/// moto that will enforce IAM after `set_up_calls` calls, the clients that make those calls, and an
/// administrator's clients for everything the test does once IAM is enforced.
async fn moto_with_administrator(set_up_calls: u32) -> (MotoServer, Clients, Clients) {
    let moto = MotoServer::start_enforcing_iam_after(set_up_calls);
    let setup = clients(&moto.endpoint).await;
    let (key_id, secret) = setup.user_with_policy("administrator", None).await;
    setup
        .iam
        .attach_user_policy()
        .user_name("administrator")
        .policy_arn("arn:aws:iam::aws:policy/AdministratorAccess")
        .send()
        .await
        .unwrap();
    let admin = clients_as(&moto.endpoint, &key_id, &secret).await;
    (moto, setup, admin)
}

/// Uses up the calls moto lets through: from now on it enforces IAM for everyone.
async fn enforce(setup: &Clients, set_up_calls: u32) {
    let mut burned = 0;
    while setup.s3.list_buckets().send().await.is_ok() {
        burned += 1;
        assert!(burned <= set_up_calls, "moto never started enforcing IAM");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_fault_runs_with_only_its_printed_policy_and_nothing_outside_it() {
    // The resources are prepared before moto enforces IAM: once it does, it cannot check the SDK's signature
    // of some EC2 requests (a description with a space is refused as AuthFailure, whoever signs it).
    const SET_UP_CALLS: u32 = 1000;
    let (moto, setup, admin) = moto_with_administrator(SET_UP_CALLS).await;
    let cases: Vec<Box<dyn AwsCase>> = aws_cases()
        .into_iter()
        .filter(|case| {
            !MOTO_CANNOT_JUDGE
                .iter()
                .any(|(fault, _)| *fault == case.fault_id())
        })
        .collect();
    // Outside every list: a bucket's ACL for the faults of other services, a role's policies for S3's.
    let outside_bucket = aws_cases()
        .into_iter()
        .find(|case| case.fault_id() == "aws.s3.bucket-public-acl")
        .unwrap();
    let outside_role = aws_cases()
        .into_iter()
        .find(|case| case.fault_id() == "aws.iam.role-admin-policy-attached")
        .unwrap();
    let bucket = outside_bucket.prepare(&setup, "outside-bucket").await;
    let role = outside_role.prepare(&setup, "outside-role").await;
    let mut resources = Vec::new();
    for (index, case) in cases.iter().enumerate() {
        resources.push(case.prepare(&setup, &format!("least-{index:02}")).await);
    }
    enforce(&setup, SET_UP_CALLS).await;
    let mut failures = Vec::new();
    for ((index, case), resource) in cases.iter().enumerate().zip(&resources) {
        let fault_id = case.fault_id();
        let (key_id, secret) = admin
            .user_with_policy(
                &format!("rdfi-{index:02}"),
                Some(("rdfi-least-privilege", &policy(&[fault_id], "executor"))),
            )
            .await;
        let provider =
            AwsProvider::from_sdk_config(&sdk_config_as(&moto.endpoint, &key_id, &secret).await);
        let faults = provider.faults();
        if let Err(error) = round_trip(
            faults,
            fault_id,
            resource,
            || case.read(&admin, resource),
            |read| case.misconfigured(read),
        )
        .await
        {
            failures.push(format!("{fault_id} with its own policy: {error}"));
        }
        let (outside, outside_resource) = if fault_id.starts_with("aws.s3.") {
            (&outside_role, &role)
        } else {
            (&outside_bucket, &bucket)
        };
        if let Ok(snapshot) = faults.snapshot(outside.fault_id(), outside_resource).await
            && faults
                .inject(outside.fault_id(), outside_resource, &snapshot)
                .await
                .is_ok()
        {
            failures.push(format!(
                "{} was injected with the policy of {fault_id}",
                outside.fault_id()
            ));
        }
        assert!(
            !outside.misconfigured(&outside.read(&admin, outside_resource).await),
            "{} is on after {fault_id}'s try",
            outside.fault_id()
        );
    }
    assert!(
        failures.is_empty(),
        "{} of {} faults:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rdfi_run_with_the_policy_of_two_faults_runs_them_and_the_cloud_refuses_a_third() {
    const SET_UP_CALLS: u32 = 10;
    let (moto, setup, admin) = moto_with_administrator(SET_UP_CALLS).await;
    enforce(&setup, SET_UP_CALLS).await;
    admin
        .create_bucket("ledger-exports", &[("rdfi-target", "true")])
        .await;
    let role = aws_cases()
        .into_iter()
        .find(|case| case.fault_id() == "aws.iam.role-admin-policy-attached")
        .unwrap();
    role.prepare(&admin, "batch-runner").await;
    role.prepare(&admin, "report-builder").await;
    let acl_before = admin.acl_lines("ledger-exports").await;
    let allowed = [
        "aws.s3.bucket-public-acl",
        "aws.iam.role-admin-policy-attached",
    ];
    let (key_id, secret) = admin
        .user_with_policy(
            "rdfi",
            Some(("rdfi-least-privilege", &policy(&allowed, "both"))),
        )
        .await;

    let state = tempfile::tempdir().unwrap();
    let file = state.path().join("experiment.yaml");
    let experiment = experiment_yaml(allowed[0], "1s", None, "1s").replace(
        "faults:\n",
        "faults:\n  - id: aws.iam.role-admin-policy-attached\n    maxTargets: 1\n  - id: aws.iam.role-inline-wildcard-policy\n    maxTargets: 1\n",
    );
    std::fs::write(&file, experiment).unwrap();
    let output = run_as(&moto.endpoint, &file, state.path(), &key_id, &secret).await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let report: Value =
        serde_json::from_str(&stdout).unwrap_or_else(|error| panic!("{error}: {stdout}\n{stderr}"));
    let faults = report["faults"].as_array().unwrap();
    let verdict = |fault: &str| {
        faults
            .iter()
            .find(|entry| entry["faultId"] == fault)
            .unwrap_or_else(|| panic!("{fault} in {report:#}"))
            .clone()
    };
    for fault in allowed {
        let entry = verdict(fault);
        assert_eq!(entry["state"], "reverted", "{fault}: {entry:#}\n{stderr}");
        assert_eq!(entry["revertVerified"], true, "{fault}: {entry:#}");
        assert!(
            entry["timeline"]["injectedAtMs"].is_i64(),
            "{fault}: {entry:#}"
        );
    }
    // Of a resource type the policy lets rdfi find, but a change it does not allow.
    let refused = verdict("aws.iam.role-inline-wildcard-policy");
    assert_eq!(refused["state"], "prevented", "{refused:#}");
    assert_eq!(refused["deniedAction"], "iam:PutRolePolicy", "{refused:#}");
    assert_eq!(admin.acl_lines("ledger-exports").await, acl_before);
}
