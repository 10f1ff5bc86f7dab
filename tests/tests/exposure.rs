//! Proof of exposure: a fault that makes data public is proved by an anonymous read of a canary object rdfi
//! places, reported per fault (`faults[].exposure`), and the canary leaves with the revert — after a failed
//! revert of the fault too, and after a kill -9 once `rdfi recover` ran. The emulators enforce no access, so
//! they prove the exposed path (moto, gcp-storage-emulator); the sandbox, whose Block-Public-Access-like
//! control accepts a grant and makes it ineffective, proves the neutralized path.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rdfi_proto::v1::ExposureOutcome;
use rdfi_provider::sandbox::{Control, ControlAction, SandboxAccount};
use rdfi_tests::aws::{Clients, clients};
use rdfi_tests::gcs::{GcsClient, GcsEmulator, PROJECT};
use rdfi_tests::sandbox;
use rdfi_tests::{MotoServer, Process, free_port, rdfi_binary, wait_until};
use serde_json::{Value, json};

/// The prefix of rdfi's exposure canaries.
const CANARY_PREFIX: &str = "rdfi-exposure/";

/// An experiment running one fault on the buckets tagged `round=ROUND`.
fn experiment(provider: &str, fault_id: &str, round: &str, exposure: &str) -> String {
    format!(
        "apiVersion: rdfi/v1
kind: Experiment
metadata:
  name: exposure-{round}
target:
  provider: {provider}
  region: {region}
  selector:
    tags: {{ round: \"{round}\" }}
faults:
  - id: {fault_id}
    maxTargets: 1
hypothesis:
  detect: {{ within: {exposure} }}
safety:
  exposureWindow: {exposure}
",
        region = rdfi_tests::aws::REGION
    )
}

/// `rdfi run FILE --format json` with these arguments; its exit code and report.
async fn run(
    state: &Path,
    experiment: &str,
    args: &[&str],
    env: &[(String, String)],
) -> (i32, Value) {
    let file = state.join("experiment.yaml");
    std::fs::write(&file, experiment).unwrap();
    let output = tokio::process::Command::new(rdfi_binary("rdfi"))
        .arg("run")
        .arg(&file)
        .args(["--format", "json", "--state-dir"])
        .arg(state)
        .args(["--webhook-listen", &format!("127.0.0.1:{}", free_port())])
        .args(args)
        .envs(env.iter().cloned())
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let report = serde_json::from_str(&stdout).unwrap_or_else(|error| {
        panic!(
            "no JSON report ({error}): {stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (output.status.code().unwrap_or(-1), report)
}

/// The keys under the canary prefix in an S3 bucket, of every version and delete marker, read with the
/// test's own client.
async fn s3_canaries(aws: &Clients, bucket: &str) -> Vec<String> {
    let listing = aws
        .s3
        .list_object_versions()
        .bucket(bucket)
        .prefix(CANARY_PREFIX)
        .send()
        .await
        .unwrap();
    let versions = listing
        .versions()
        .iter()
        .filter_map(|version| version.key());
    let markers = listing
        .delete_markers()
        .iter()
        .filter_map(|marker| marker.key());
    versions.chain(markers).map(str::to_owned).collect()
}

/// Whether the bucket's policy holds the public-read statement `aws.s3.bucket-policy-public` adds.
async fn policy_is_public(aws: &Clients, bucket: &str) -> bool {
    aws.s3
        .get_bucket_policy()
        .bucket(bucket)
        .send()
        .await
        .ok()
        .and_then(|answer| {
            answer
                .policy()
                .map(|policy| policy.contains("RdfiPublicRead"))
        })
        .unwrap_or(false)
}

/// Checks a fault's exposure proof in the report; returns the canary's key.
fn exposure_of(fault: &Value, outcome: &str, read: &str) -> String {
    let exposure = &fault["exposure"];
    assert_eq!(exposure["outcome"], outcome, "{fault:#}");
    assert_eq!(exposure["read"], read, "{fault:#}");
    assert!(exposure["readAtMs"].as_i64().is_some(), "{fault:#}");
    assert!(
        !exposure["answer"].as_str().unwrap_or_default().is_empty(),
        "{fault:#}"
    );
    let key = exposure["canaryKey"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(key.starts_with(CANARY_PREFIX), "{fault:#}");
    key
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_moto_a_public_policy_and_a_public_acl_are_proved_exposed_and_the_canary_leaves_with_the_revert()
 {
    let moto = MotoServer::start();
    let aws = clients(&moto.endpoint).await;
    // A versioned bucket keeps what is deleted: every version of the canary must go.
    aws.create_bucket(
        "exposed-versioned",
        &[("rdfi-target", "true"), ("round", "versioned")],
    )
    .await;
    aws.s3
        .put_bucket_versioning()
        .bucket("exposed-versioned")
        .versioning_configuration(
            aws_sdk_s3::types::VersioningConfiguration::builder()
                .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .unwrap();
    for (round, fault_id, read, answer) in [
        (
            "versioned",
            "aws.s3.bucket-policy-public",
            "get-object",
            "HTTP 200 with the canary's content",
        ),
        (
            "policy",
            "aws.s3.bucket-policy-public",
            "get-object",
            "HTTP 200 with the canary's content",
        ),
        (
            "acl",
            "aws.s3.bucket-public-acl",
            "list-objects",
            "naming the canary",
        ),
    ] {
        let bucket = format!("exposed-{round}");
        if round != "versioned" {
            aws.create_bucket(&bucket, &[("rdfi-target", "true"), ("round", round)])
                .await;
        }
        let state = tempfile::tempdir().unwrap();
        let (code, report) = run(
            state.path(),
            &experiment("aws", fault_id, round, "2s"),
            &["--aws-endpoint", &moto.endpoint],
            &moto.process_env(),
        )
        .await;
        assert_eq!(code, 1, "missed, nobody detects it: {report:#}");
        let fault = &report["faults"][0];
        assert_eq!(fault["state"], "reverted", "{report:#}");
        assert_eq!(fault["revertVerified"], true, "{report:#}");
        exposure_of(fault, "exposed", read);
        assert!(
            fault["exposure"]["answer"]
                .as_str()
                .unwrap_or_default()
                .contains(answer),
            "{fault:#}"
        );
        assert_eq!(
            s3_canaries(&aws, &bucket).await,
            Vec::<String>::new(),
            "the canary is removed with the revert"
        );
        assert!(
            !aws.bucket_is_public(&bucket).await && !policy_is_public(&aws, &bucket).await,
            "the fault is reverted"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_canary_is_removed_even_when_the_faults_own_revert_fails() {
    let moto = MotoServer::start();
    let aws = clients(&moto.endpoint).await;
    aws.create_bucket("stuck", &[("rdfi-target", "true"), ("round", "stuck")])
        .await;
    let state = tempfile::tempdir().unwrap();
    let mut env = moto.process_env();
    env.push(("RDFI_FAILPOINT".to_owned(), "revert-call".to_owned()));
    let (code, report) = run(
        state.path(),
        &experiment("aws", "aws.s3.bucket-policy-public", "stuck", "1s"),
        &["--aws-endpoint", &moto.endpoint, "--revert-attempts", "2"],
        &env,
    )
    .await;
    assert_eq!(code, 3, "a failed revert: {report:#}");
    let fault = &report["faults"][0];
    assert_eq!(fault["state"], "revert_failed", "{report:#}");
    exposure_of(fault, "exposed", "get-object");
    assert!(
        policy_is_public(&aws, "stuck").await,
        "the fault is still there"
    );
    assert_eq!(
        s3_canaries(&aws, "stuck").await,
        Vec::<String>::new(),
        "the canary is gone although the fault's revert failed"
    );
    recover(state.path(), &moto).await;
    assert!(!policy_is_public(&aws, "stuck").await);
}

/// `rdfi recover --state-dir DIR`, which must succeed.
async fn recover(state: &Path, moto: &MotoServer) {
    let recovered = tokio::process::Command::new(rdfi_binary("rdfi"))
        .args(["recover", "--state-dir"])
        .arg(state)
        .envs(moto.process_env())
        .output()
        .await
        .unwrap();
    assert_eq!(
        recovered.status.code(),
        Some(0),
        "recover: {}{}",
        String::from_utf8_lossy(&recovered.stdout),
        String::from_utf8_lossy(&recovered.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_after_the_canary_is_placed_recover_removes_it_with_the_fault() {
    let moto = MotoServer::start();
    let aws = clients(&moto.endpoint).await;
    aws.create_bucket("crashed", &[("rdfi-target", "true"), ("round", "crash")])
        .await;
    let state = tempfile::tempdir().unwrap();
    let file = state.path().join("experiment.yaml");
    std::fs::write(
        &file,
        experiment("aws", "aws.s3.bucket-policy-public", "crash", "30s"),
    )
    .unwrap();
    let mut env = moto.process_env();
    env.push((
        "RDFI_FAILPOINT".to_owned(),
        "after-exposure-proof".to_owned(),
    ));
    let args: Vec<String> = vec![
        "run".into(),
        file.display().to_string(),
        "--aws-endpoint".into(),
        moto.endpoint.clone(),
        "--webhook-listen".into(),
        format!("127.0.0.1:{}", free_port()),
        "--state-dir".into(),
        state.path().display().to_string(),
    ];
    let mut process = Process::spawn(&rdfi_binary("rdfi"), &args, &env);
    assert!(
        wait_until(Duration::from_secs(60), || {
            let running = process.is_running();
            async move { !running }
        })
        .await,
        "the failpoint never aborted the run: {}",
        process.log()
    );
    assert!(
        process.log().contains("failpoint after-exposure-proof"),
        "{}",
        process.log()
    );
    let left = s3_canaries(&aws, "crashed").await;
    assert_eq!(left.len(), 1, "the crash left the canary behind: {left:?}");
    assert!(policy_is_public(&aws, "crashed").await);
    let journal =
        std::fs::read_to_string(state.path().join("executor-journal.jsonl")).unwrap_or_default();
    assert!(
        journal.contains(&format!("\"canaryKey\":\"{}\"", left[0])),
        "the journal names the canary: {journal}"
    );
    recover(state.path(), &moto).await;
    assert_eq!(s3_canaries(&aws, "crashed").await, Vec::<String>::new());
    assert!(!policy_is_public(&aws, "crashed").await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_gcp_storage_emulator_a_bucket_open_to_all_users_is_proved_exposed_and_the_canary_leaves()
 {
    let emulator = GcsEmulator::start();
    let gcs = GcsClient::new(&emulator.endpoint);
    gcs.create_bucket("gcs-exposed").await;
    gcs.patch_bucket(
        "gcs-exposed",
        &json!({"labels": {"rdfi-target": "true", "round": "gcs"}}),
    )
    .await;
    let state = tempfile::tempdir().unwrap();
    let (code, report) = run(
        state.path(),
        &experiment("gcp", "gcp.storage.bucket-iam-allusers-viewer", "gcs", "2s"),
        &[
            "--gcp-project",
            PROJECT,
            "--gcs-endpoint",
            &emulator.endpoint,
        ],
        &[],
    )
    .await;
    assert_eq!(code, 1, "missed, nobody detects it: {report:#}");
    let fault = &report["faults"][0];
    assert_eq!(fault["state"], "reverted", "{report:#}");
    let key = exposure_of(fault, "exposed", "get-object");
    // Read back independently: the canary is gone.
    let objects: Value = reqwest::get(format!(
        "{}/storage/v1/b/gcs-exposed/o?prefix={CANARY_PREFIX}",
        emulator.endpoint
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let names: Vec<&str> = objects["items"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|item| item["name"].as_str())
                .collect()
        })
        .unwrap_or_default();
    assert!(!names.contains(&key.as_str()), "{objects:#}");
    assert!(names.is_empty(), "{objects:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_the_sandbox_a_grant_made_ineffective_is_neutralized_and_an_open_one_exposed() {
    let tags = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    };
    let fault_id = "aws.s3.bucket-policy-public";
    let account = Arc::new(
        SandboxAccount::new()
            .with_resource(
                "aws.s3.bucket",
                "guarded",
                tags(&[("rdfi-target", "true"), ("bpa", "on")]),
            )
            .with_resource("aws.s3.bucket", "open", tags(&[("rdfi-target", "true")]))
            .with_control(Control {
                name: "restrict-public-buckets".to_owned(),
                fault_id: fault_id.to_owned(),
                scope_tag: Some(("bpa".to_owned(), "on".to_owned())),
                delay: Duration::ZERO,
                action: ControlAction::Neutralize,
            }),
    );
    let run = sandbox::run_on(
        account.clone(),
        &format!(
            "apiVersion: rdfi/v1\nkind: Experiment\nmetadata: {{ name: neutralized }}\n\
             target: {{ provider: sandbox }}\nfaults: [{{ id: {fault_id}, maxTargets: 2 }}]\n\
             hypothesis: {{ detect: {{ within: 500ms }} }}\nsafety: {{ exposureWindow: 500ms }}\n"
        ),
    )
    .await;
    let exposure_of = |name: &str| {
        sandbox::fault_on(&run, name)
            .and_then(|fault| fault.exposure.clone())
            .unwrap_or_else(|| panic!("no exposure proof for {name}: {run:#?}"))
    };
    let guarded = exposure_of("guarded");
    assert_eq!(
        guarded.outcome(),
        ExposureOutcome::Neutralized,
        "{guarded:?}"
    );
    assert_eq!(guarded.answer, "HTTP 403 AccessDenied");
    assert_eq!(guarded.read, "get-object");
    let open = exposure_of("open");
    assert_eq!(open.outcome(), ExposureOutcome::Exposed, "{open:?}");
    for name in ["guarded", "open"] {
        assert!(!account.has_fault(fault_id, name), "{name} reverted");
        let resource = account.resource(name).unwrap();
        assert!(
            resource.objects.is_empty(),
            "{name}: the canary is removed with the revert: {:?}",
            resource.objects
        );
    }
}
