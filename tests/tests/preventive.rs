//! The preventive path: when the cloud refuses the change, the verdict is `prevented`, nothing needs reverting,
//! and the resource never changed. On moto with IAM enforcement (an explicit deny on rdfi's own identity), and
//! on the sandbox with a Block-Public-Access-like preventive control.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use rdfi_proto::v1::Verdict;
use rdfi_provider::sandbox::{Control, ControlAction, SandboxAccount};
use rdfi_tests::aws::{clients, clients_as, run_as};
use rdfi_tests::sandbox;
use rdfi_tests::{MotoServer, experiment_yaml};

/// Calls moto lets through before it enforces IAM: enough for the set-up below.
const SET_UP_CALLS: u32 = 60;

/// Runs the bucket and admin-policy faults as an identity `rdfi-executor` whose one inline policy,
/// `rdfi-with-guardrails`, is `policy`, on moto enforcing IAM; returns the exit code and the report, after
/// checking that neither resource changed.
async fn run_as_identity_with(policy: &str) -> (Option<i32>, serde_json::Value) {
    let moto = MotoServer::start_enforcing_iam_after(SET_UP_CALLS);
    let setup = clients(&moto.endpoint).await;
    setup
        .create_bucket("guarded-bucket", &[("rdfi-target", "true")])
        .await;
    setup
        .create_user("guarded-user", &[("rdfi-target", "true")])
        .await;
    let (key_id, secret) = setup
        .user_with_policy("rdfi-executor", Some(("rdfi-with-guardrails", policy)))
        .await;
    let bucket_before = setup.acl_lines("guarded-bucket").await;
    let user_before = setup.user_policies("guarded-user").await;
    // Use up the unauthenticated calls: from now on moto enforces IAM for everyone.
    let mut burned = 0;
    while setup.s3.list_buckets().send().await.is_ok() {
        burned += 1;
        assert!(burned <= SET_UP_CALLS, "moto never started enforcing IAM");
    }
    let as_rdfi = clients_as(&moto.endpoint, &key_id, &secret).await;
    assert_eq!(
        as_rdfi.acl_lines("guarded-bucket").await,
        bucket_before,
        "rdfi's identity can read"
    );

    let state = tempfile::tempdir().unwrap();
    let file = state.path().join("experiment.yaml");
    let experiment = experiment_yaml("aws.s3.bucket-public-acl", "2s", None, "2s").replace(
        "faults:\n",
        "faults:\n  - id: aws.iam.user-admin-policy-attached\n    maxTargets: 1\n",
    );
    std::fs::write(&file, experiment).unwrap();
    let output = run_as(&moto.endpoint, &file, state.path(), &key_id, &secret).await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap_or_else(|error| {
        panic!(
            "{error}: {stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    assert_eq!(
        report["faults"].as_array().map(Vec::len),
        Some(2),
        "{report:#}"
    );
    assert_eq!(as_rdfi.acl_lines("guarded-bucket").await, bucket_before);
    assert_eq!(as_rdfi.user_policies("guarded-user").await, user_before);
    (output.status.code(), report)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_explicit_deny_on_rdfis_identity_gives_prevented_verdicts_that_name_the_policy() {
    // Everything allowed, but an explicit deny on the two mutating calls (what an SCP or a permission boundary
    // does in a real organization). moto answers it as it answers a missing permission: rdfi reads its own
    // policies to tell them apart.
    let (code, report) = run_as_identity_with(
        r#"{"Version":"2012-10-17","Statement":[
            {"Effect":"Allow","Action":"*","Resource":"*"},
            {"Effect":"Deny","Action":["s3:PutBucketAcl","iam:AttachUserPolicy"],"Resource":"*"}]}"#,
    )
    .await;
    assert_eq!(
        code,
        Some(0),
        "a prevented fault is a held hypothesis: {report:#}"
    );
    assert_eq!(report["tested"], 2, "{report:#}");
    for fault in report["faults"].as_array().unwrap() {
        assert_eq!(fault["verdict"], "prevented", "{fault:#}");
        assert_eq!(
            fault["preventedBy"],
            "explicit Deny in policy rdfi-with-guardrails attached to user rdfi-executor",
            "{fault:#}"
        );
        let action = fault["deniedAction"].as_str().unwrap_or_default();
        assert!(
            ["s3:PutBucketAcl", "iam:AttachUserPolicy"].contains(&action),
            "{fault:#}"
        );
        assert!(
            fault["reason"]
                .as_str()
                .unwrap_or_default()
                .starts_with("refused by explicit Deny"),
            "{fault:#}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rdfis_own_missing_permission_is_inconclusive_names_the_action_and_exits_4() {
    // Reads only: the mutating calls are refused for want of an Allow, which is no guardrail.
    let (code, report) = run_as_identity_with(
        r#"{"Version":"2012-10-17","Statement":[
            {"Effect":"Allow","Action":["s3:Get*","s3:List*","iam:Get*","iam:List*","sts:GetCallerIdentity","tag:Get*"],"Resource":"*"}]}"#,
    )
    .await;
    assert_eq!(code, Some(4), "nothing was tested: {report:#}");
    let why = report["nothingTested"].as_str().unwrap_or_default();
    assert!(why.contains("rdfi may lack"), "{report:#}");
    for fault in report["faults"].as_array().unwrap() {
        assert_eq!(fault["verdict"], "inconclusive", "{fault:#}");
        assert!(fault["preventedBy"].is_null(), "{fault:#}");
        let action = fault["deniedAction"].as_str().unwrap_or_default();
        assert!(
            ["s3:PutBucketAcl", "iam:AttachUserPolicy"].contains(&action),
            "{fault:#}"
        );
        assert!(why.contains(action), "{report:#}");
    }
    assert!(
        report["findings"].as_array().unwrap().is_empty(),
        "{report:#}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn block_public_access_on_the_sandbox_gives_a_prevented_verdict() {
    let tags = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    };
    let account = Arc::new(
        SandboxAccount::new()
            .with_resource(
                "aws.s3.bucket",
                "locked",
                tags(&[("rdfi-target", "true"), ("bpa", "on")]),
            )
            .with_resource("aws.s3.bucket", "open", tags(&[("rdfi-target", "true")]))
            .with_control(Control {
                name: "s3-block-public-access".to_owned(),
                fault_id: "aws.s3.bucket-public-acl".to_owned(),
                scope_tag: Some(("bpa".to_owned(), "on".to_owned())),
                delay: Duration::ZERO,
                action: ControlAction::Prevent,
            }),
    );
    let run = sandbox::run_on(
        account.clone(),
        "apiVersion: rdfi/v1\nkind: Experiment\nmetadata: { name: bpa }\ntarget: { provider: sandbox }\n\
         faults: [{ id: aws.s3.bucket-public-acl, maxTargets: 2 }]\nhypothesis: { detect: { within: 300ms } }\n\
         safety: { exposureWindow: 300ms }\n",
    )
    .await;
    let verdict_of = |name: &str| sandbox::fault_on(&run, name).map(|fault| fault.verdict());
    assert_eq!(verdict_of("locked"), Some(Verdict::Prevented));
    assert_eq!(verdict_of("open"), Some(Verdict::Missed));
    assert!(!account.has_fault("aws.s3.bucket-public-acl", "locked"));
    assert!(!account.has_fault("aws.s3.bucket-public-acl", "open"));
}
