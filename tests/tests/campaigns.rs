//! The closed loop as a user meets it. On the sandbox, one bucket's public ACL is missed and another's
//! detected; `rdfi plan --explain` on the same state directory then ranks the missed one higher than before
//! the run. On moto, a campaign with a budget and an attack rate keeps both, and re-tests a miss after its
//! cool-down. And a campaign served by a planner over gRPC is started, paused, resumed and stopped with
//! `rdfi campaign`.

use std::time::Duration;

use rdfi_tests::aws::{REGION, clients};
use rdfi_tests::cluster::Cluster;
use rdfi_tests::{MotoServer, NatsServer, free_port, rdfi_binary};
use serde_json::Value;

async fn rdfi(args: &[&str], envs: &[(String, String)]) -> std::process::Output {
    tokio::process::Command::new(rdfi_binary("rdfi"))
        .args(args)
        .envs(envs.iter().cloned())
        .output()
        .await
        .unwrap()
}

fn json(output: &std::process::Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|error| {
        panic!(
            "not JSON ({error}): {}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

const SANDBOX_PUBLIC_ACL: &str = "apiVersion: rdfi/v1
kind: Experiment
metadata:
  name: public-acls
target:
  provider: sandbox
faults:
  - id: aws.s3.bucket-public-acl
    maxTargets: 2
hypothesis:
  detect: { within: 1s }
observe:
  settle: 0s
safety:
  exposureWindow: 1500ms
";

fn score_of(plan: &Value, resource_name: &str) -> f64 {
    plan["picks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|pick| pick["resourceName"] == resource_name)
        .unwrap_or_else(|| panic!("{resource_name} not picked: {plan:#}"))["score"]
        .as_f64()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_explain_ranks_the_missed_bucket_higher_after_a_run() {
    let state = tempfile::tempdir().unwrap();
    let dir = state.path().display().to_string();
    let file = state.path().join("public-acls.yaml");
    std::fs::write(&file, SANDBOX_PUBLIC_ACL).unwrap();
    let file = file.display().to_string();
    let explain = [
        "plan",
        &file,
        "--explain",
        "--format",
        "json",
        "--state-dir",
        &dir,
    ];

    let before = rdfi(&explain, &[]).await;
    assert!(
        before.status.success(),
        "{}",
        String::from_utf8_lossy(&before.stderr)
    );
    let before = json(&before);
    assert_eq!(before["strategy"], "risk-ranked", "{before:#}");
    assert!(
        before["notes"][0]
            .as_str()
            .unwrap()
            .contains("no knowledge database yet"),
        "{before:#}"
    );
    assert!(
        !state.path().join("knowledge.sqlite").exists(),
        "planning wrote a database"
    );

    // The demo account's detector watches payments-exports (tag monitored) only.
    let run = rdfi(
        &[
            "run",
            &file,
            "--format",
            "json",
            "--state-dir",
            &dir,
            "--webhook-listen",
            &format!("127.0.0.1:{}", free_port()),
        ],
        &[],
    )
    .await;
    let report = json(&run);
    let verdict_of = |name: &str| {
        report["faults"]
            .as_array()
            .unwrap()
            .iter()
            .find(|fault| fault["resourceName"] == name)
            .unwrap_or_else(|| panic!("{name}: {report:#}"))["verdict"]
            .clone()
    };
    assert_eq!(verdict_of("payments-exports"), "detected", "{report:#}");
    assert_eq!(verdict_of("ml-training-data"), "missed", "{report:#}");

    let after = rdfi(&explain, &[]).await;
    assert!(
        after.status.success(),
        "{}",
        String::from_utf8_lossy(&after.stderr)
    );
    let after = json(&after);
    assert_eq!(
        after["picks"][0]["resourceName"], "ml-training-data",
        "{after:#}"
    );
    assert!(
        score_of(&after, "ml-training-data") > score_of(&before, "ml-training-data"),
        "{after:#}"
    );
    assert!(
        score_of(&after, "payments-exports") < score_of(&before, "payments-exports"),
        "{after:#}"
    );
    let inputs = &after["picks"][0]["inputs"];
    assert_eq!(
        (inputs["missedHere"].as_u64(), inputs["caughtHere"].as_u64()),
        (Some(1), Some(0)),
        "{after:#}"
    );
    assert!(
        after["picks"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("1 missed"),
        "{after:#}"
    );

    // The table a person reads says the same, in order.
    let table = rdfi(&["plan", &file, "--explain", "--state-dir", &dir], &[]).await;
    let text = String::from_utf8_lossy(&table.stdout);
    let missed = text.find("ml-training-data").expect(&text);
    let caught = text.find("payments-exports").expect(&text);
    assert!(missed < caught, "{text}");
}

fn campaign_yaml(rate: f64, faults: u32, cool_down: &str) -> String {
    format!(
        "apiVersion: rdfi/v1
kind: Campaign
metadata:
  name: public-acl-watch
strategy: risk-ranked
budget:
  faults: {faults}
  ratePerMinute: {rate}
  concurrency: 1
coolDown: {cool_down}
target:
  provider: aws
  region: {REGION}
faults:
  - id: aws.s3.bucket-public-acl
hypothesis:
  detect: {{ within: 300ms }}
observe:
  settle: 0s
safety:
  exposureWindow: 300ms
"
    )
}

async fn moto_with_buckets(names: &[&str]) -> MotoServer {
    let moto = MotoServer::start();
    let aws = clients(&moto.endpoint).await;
    for name in names {
        aws.create_bucket(name, &[("rdfi-target", "true")]).await;
    }
    moto
}

/// `rdfi run STATE/campaign.yaml --format json` on moto, its state in STATE, its webhook on that port.
async fn run_on_moto(
    moto: &MotoServer,
    state: &std::path::Path,
    webhook: u16,
) -> std::process::Output {
    rdfi(
        &[
            "run",
            &state.join("campaign.yaml").display().to_string(),
            "--format",
            "json",
            "--aws-endpoint",
            &moto.endpoint,
            "--poll-interval",
            "100ms",
            "--state-dir",
            &state.display().to_string(),
            "--webhook-listen",
            &format!("127.0.0.1:{webhook}"),
        ],
        &moto.process_env(),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_campaign_keeps_its_budget_and_rate_and_retests_a_miss_after_its_cool_down() {
    let moto = moto_with_buckets(&["alpha", "beta"]).await;
    let state = tempfile::tempdir().unwrap();
    let file = state.path().join("campaign.yaml");
    // Two faults a minute at most: one every 2 s; a missed pair waits 3 s before it is tried again.
    std::fs::write(&file, campaign_yaml(30.0, 4, "3s")).unwrap();
    let output = run_on_moto(&moto, state.path(), free_port()).await;
    let outcome = json(&output);
    // Nobody watches these buckets: every fault is missed, so the campaign exits 1.
    assert_eq!(output.status.code(), Some(1), "{outcome:#}");
    let campaign = &outcome["campaign"];
    assert_eq!(campaign["state"], "completed", "{outcome:#}");
    assert_eq!(campaign["faultsPlanned"].as_u64(), Some(4), "{outcome:#}");
    assert_eq!(
        campaign["verdicts"]["missed"].as_u64(),
        Some(4),
        "{outcome:#}"
    );
    let rounds = outcome["rounds"].as_array().unwrap();
    assert_eq!(rounds.len(), 4, "{outcome:#}");
    let started: Vec<i64> = rounds
        .iter()
        .map(|r| r["startedAtMs"].as_i64().unwrap())
        .collect();
    for pair in started.windows(2) {
        assert!(
            pair[1] - pair[0] >= 2_000,
            "rounds closer than the attack rate allows: {started:?}"
        );
    }
    let targets: Vec<&str> = rounds
        .iter()
        .map(|r| r["faults"][0]["resourceName"].as_str().unwrap())
        .collect();
    // Spread over both buckets, then each re-tested after its cool-down.
    assert_ne!(targets[0], targets[1], "{targets:?}");
    assert_eq!(targets[2], targets[0], "{targets:?}");
    assert_eq!(targets[3], targets[1], "{targets:?}");
    let completed_first = rounds[0]["completedAtMs"].as_i64().unwrap();
    assert!(
        started[2] - completed_first >= 3_000 - 500,
        "re-tested before its cool-down: {outcome:#}"
    );
    assert_eq!(
        outcome["findings"].as_array().unwrap().len(),
        4,
        "{outcome:#}"
    );
}

/// A detector that catches the first public ACL on `alpha` and then stops watching: the campaign's second try
/// of the same pair is missed, and the finding says it is a regression of the first catch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_miss_after_a_catch_is_a_finding_marked_as_a_regression() {
    let moto = moto_with_buckets(&["alpha"]).await;
    let aws = clients(&moto.endpoint).await;
    let state = tempfile::tempdir().unwrap();
    let file = state.path().join("campaign.yaml");
    // One fault every second, two in all, on the one bucket; 1 s to detect.
    std::fs::write(
        &file,
        campaign_yaml(60.0, 2, "0s")
            .replace("within: 300ms", "within: 1s")
            .replace("exposureWindow: 300ms", "exposureWindow: 1s"),
    )
    .unwrap();
    let webhook = free_port();
    let detector = rdfi_tests::control::watch(
        Duration::ZERO,
        move || {
            let aws = aws.clone();
            async move { aws.bucket_is_public("alpha").await }
        },
        move || async move {
            rdfi_tests::control::post_signal(
                &format!("http://127.0.0.1:{webhook}"),
                "arn:aws:s3:::alpha",
                "stand-in-detector",
            )
            .await
        },
    );
    let output = run_on_moto(&moto, state.path(), webhook).await;
    assert!(detector.is_finished(), "the detector answered once");
    let outcome = json(&output);
    assert_eq!(output.status.code(), Some(1), "{outcome:#}");
    let rounds = outcome["rounds"].as_array().unwrap();
    let verdicts: Vec<&str> = rounds
        .iter()
        .map(|round| round["faults"][0]["verdict"].as_str().unwrap())
        .collect();
    assert_eq!(verdicts, ["detected", "missed"], "{outcome:#}");
    let first_run = rounds[0]["runId"].as_str().unwrap();
    let findings = outcome["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{outcome:#}");
    let regression = findings[0]["regressionOf"]
        .as_str()
        .unwrap_or_else(|| panic!("the miss is not marked a regression: {outcome:#}"));
    assert!(
        regression.contains("stand-in-detector") && regression.contains(first_run),
        "{regression}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_served_campaign_is_paused_resumed_and_stopped_from_the_command_line() {
    let moto = moto_with_buckets(&["gamma"]).await;
    let nats = NatsServer::start();
    let cluster = Cluster::start(&nats, &moto);
    let planner = cluster.planner_url.clone();
    let state = tempfile::tempdir().unwrap();
    let file = state.path().join("campaign.yaml");
    // A long campaign: one fault a minute for an hour, at most 60.
    std::fs::write(&file, campaign_yaml(1.0, 60, "1h")).unwrap();
    let command = |args: &[&str]| {
        let mut all = vec!["campaign"];
        all.extend_from_slice(args);
        all.extend(["--planner", &planner, "--json"]);
        all.into_iter().map(str::to_owned).collect::<Vec<_>>()
    };
    let run = |args: Vec<String>| async move {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let output = rdfi(&args, &[]).await;
        assert!(
            output.status.success(),
            "rdfi {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        json(&output)
    };
    let started = run(command(&["start", &file.display().to_string()])).await;
    let id = started[0]["campaignId"].as_str().unwrap().to_owned();
    assert_eq!(started[0]["state"], "running", "{started:#}");
    // Its first round is planned and judged.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let status = run(command(&["status", &id])).await;
        if status[0]["verdicts"]["missed"].as_u64() == Some(1) {
            assert_eq!(status[0]["faultsPlanned"].as_u64(), Some(1), "{status:#}");
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no verdict: {status:#}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let paused = run(command(&["pause", &id])).await;
    assert_eq!(paused[0]["state"], "paused", "{paused:#}");
    assert!(
        paused[0].get("nextRoundAtMs").is_none_or(Value::is_null),
        "{paused:#}"
    );
    let resumed = run(command(&["resume", &id])).await;
    assert_eq!(resumed[0]["state"], "running", "{resumed:#}");
    assert!(
        resumed[0]["nextRoundAtMs"].as_i64().is_some(),
        "{resumed:#}"
    );
    let stopped = run(command(&["stop", &id])).await;
    assert_eq!(stopped[0]["state"], "cancelled", "{stopped:#}");
    let listed = run(command(&["status"])).await;
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed:#}");
    // A stopped campaign cannot be resumed, and an unknown one is named.
    let args = command(&["resume", &id]);
    let refused = rdfi(&args.iter().map(String::as_str).collect::<Vec<_>>(), &[]).await;
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("cancelled"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    let args = command(&["status", "no-such-campaign"]);
    let unknown = rdfi(&args.iter().map(String::as_str).collect::<Vec<_>>(), &[]).await;
    assert_eq!(unknown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no-such-campaign"));
}
