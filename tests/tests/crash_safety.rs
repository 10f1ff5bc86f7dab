//! Nothing is ever left behind: crashes at 20 points, SIGTERM, dry runs and a throttling cloud, against moto.

use std::time::Duration;

use rdfi_tests::aws::{Clients, clients};
use rdfi_tests::proxy::{Behaviour, Proxy};
use rdfi_tests::{MotoServer, Process, free_port, rdfi_binary, wait_until};
use serde_json::Value;
use tempfile::TempDir;

const BUCKET_FAULT: &str = "aws.s3.bucket-public-acl";
const ADMIN_FAULT: &str = "aws.iam.user-admin-policy-attached";
/// A partner account's canonical id, granted by a person during a fault.
const PARTNER: &str = "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be";
/// A policy a person attaches during a fault.
const PERSON_POLICY: &str = "arn:aws:iam::aws:policy/IAMUserChangePassword";

/// An experiment aimed at the resources tagged `round=ROUND`: two buckets and one user.
fn round_experiment(round: &str, exposure: &str) -> String {
    format!(
        "apiVersion: rdfi/v1
kind: Experiment
metadata:
  name: crash-{round}
target:
  provider: aws
  region: us-east-1
  selector:
    tags: {{ round: \"{round}\" }}
faults:
  - id: {BUCKET_FAULT}
    maxTargets: 2
  - id: {ADMIN_FAULT}
    maxTargets: 1
hypothesis:
  detect: {{ within: {exposure} }}
safety:
  exposureWindow: {exposure}
"
    )
}

/// The state of one round's resources, as read through the SDK.
async fn round_state(aws: &Clients, round: &str) -> Vec<Vec<String>> {
    vec![
        aws.acl_lines(&format!("{round}-a")).await,
        aws.acl_lines(&format!("{round}-b")).await,
        aws.user_policies(&format!("{round}-user")).await,
    ]
}

async fn prepare_round(aws: &Clients, round: &str) -> Vec<Vec<String>> {
    let tags = [("rdfi-target", "true"), ("round", round)];
    aws.create_bucket(&format!("{round}-a"), &tags).await;
    aws.create_bucket(&format!("{round}-b"), &tags).await;
    aws.create_user(&format!("{round}-user"), &tags).await;
    round_state(aws, round).await
}

struct Run {
    state: TempDir,
    file: std::path::PathBuf,
    args: Vec<String>,
    /// Extra environment of the run's process.
    env: Vec<(&'static str, &'static str)>,
}

impl Run {
    fn new(moto: &MotoServer, experiment: &str, extra: &[&str]) -> Run {
        let state = tempfile::tempdir().unwrap();
        let file = state.path().join("experiment.yaml");
        std::fs::write(&file, experiment).unwrap();
        let mut args: Vec<String> = vec![
            "run".into(),
            file.display().to_string(),
            "--aws-endpoint".into(),
            moto.endpoint.clone(),
            "--webhook-listen".into(),
            format!("127.0.0.1:{}", free_port()),
            "--state-dir".into(),
            state.path().display().to_string(),
            "--poll-interval".into(),
            "200ms".into(),
            "--format".into(),
            "json".into(),
        ];
        args.extend(extra.iter().map(|arg| (*arg).to_owned()));
        Run {
            state,
            file,
            args,
            env: Vec::new(),
        }
    }

    fn spawn(&self, moto: &MotoServer, extra_env: &[(&str, &str)]) -> Process {
        let mut env = moto.process_env();
        env.extend(
            extra_env
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        Process::spawn(&rdfi_binary("rdfi"), &self.args, &env)
    }

    async fn output(&self, moto: &MotoServer) -> (i32, Value) {
        let output = tokio::process::Command::new(rdfi_binary("rdfi"))
            .args(&self.args)
            .envs(moto.process_env())
            .envs(self.env.iter().copied())
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

    /// `rdfi recover --state-dir DIR` then `rdfi status --state-dir DIR`, as the README says, with no other
    /// flag (the journal says how each fault's cloud is reached); both must say nothing is open.
    async fn recover(&self, moto: &MotoServer) {
        let recovered = tokio::process::Command::new(rdfi_binary("rdfi"))
            .args(["recover", "--state-dir"])
            .arg(self.state.path())
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
        let (code, said) = self.status().await;
        assert_eq!(code, Some(0), "status: {said}");
        assert!(said.contains("no open fault"), "status: {said}");
    }

    /// `rdfi status` on this run's state directory: its exit code and what it printed.
    async fn status(&self) -> (Option<i32>, String) {
        let status = tokio::process::Command::new(rdfi_binary("rdfi"))
            .args(["status", "--state-dir"])
            .arg(self.state.path())
            .output()
            .await
            .unwrap();
        (
            status.status.code(),
            String::from_utf8_lossy(&status.stdout).into_owned(),
        )
    }

    fn journal(&self) -> String {
        std::fs::read_to_string(self.state.path().join("executor-journal.jsonl"))
            .unwrap_or_default()
    }
}

async fn wait_for_exit(process: &mut Process, timeout: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + timeout;
    while process.is_running() {
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    true
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_at_twenty_points_the_estate_is_restored_by_recover() {
    let moto = MotoServer::start();
    let aws = clients(&moto.endpoint).await;
    // Named crash points inside the executor, then kills at moments spread over the run's life.
    let failpoints = [
        "after-intent",
        "after-inject-call",
        "after-injected",
        "before-revert",
        "after-revert",
    ];
    let delays_ms = [
        50, 120, 200, 280, 360, 450, 550, 700, 850, 1_000, 1_200, 1_400, 1_600, 1_800, 2_050,
    ];
    let mut points = 0;
    let mut crashed_with_open_faults = 0;
    for (round, point) in failpoints
        .iter()
        .map(|point| (*point, None))
        .chain(delays_ms.iter().map(|delay| ("kill", Some(*delay))))
        .enumerate()
        .map(|(index, (name, delay))| (format!("r{index:02}"), (name, delay)))
    {
        let (name, delay) = point;
        let baseline = prepare_round(&aws, &round).await;
        let run = Run::new(&moto, &round_experiment(&round, "2s"), &[]);
        let mut process = match delay {
            None => run.spawn(&moto, &[("RDFI_FAILPOINT", name)]),
            Some(delay) => {
                let process = run.spawn(&moto, &[]);
                tokio::time::sleep(Duration::from_millis(delay)).await;
                process
            }
        };
        if delay.is_some() {
            // SIGKILL: no handler runs, no revert, as a crash.
            std::process::Command::new("kill")
                .args(["-9", &process.pid().to_string()])
                .status()
                .unwrap();
        }
        assert!(
            wait_for_exit(&mut process, Duration::from_secs(30)).await,
            "{round}: the process ended"
        );
        if run.journal().contains("\"state\":\"injected\"")
            || run.journal().contains("\"state\":\"intended\"")
        {
            crashed_with_open_faults += 1;
        }
        let (code, said) = run.status().await;
        if !said.contains("no open fault") {
            assert_eq!(code, Some(3), "{round}: nobody is left to revert: {said}");
            assert!(
                said.contains("nobody will revert them")
                    && said.contains("rdfi recover --state-dir"),
                "{round}: status says what to run: {said}"
            );
        }
        run.recover(&moto).await;
        assert_eq!(
            round_state(&aws, &round).await,
            baseline,
            "{round} ({name} {delay:?}): every resource reads back as before"
        );
        points += 1;
    }
    assert_eq!(points, 20);
    assert!(
        crashed_with_open_faults >= 10,
        "most crashes left faults open: {crashed_with_open_faults}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_reverts_and_verifies_everything_before_exit() {
    let moto = MotoServer::start();
    let aws = clients(&moto.endpoint).await;
    let baseline = prepare_round(&aws, "term").await;
    let run = Run::new(&moto, &round_experiment("term", "2m"), &[]);
    let mut process = run.spawn(&moto, &[]);
    let injected = wait_until(Duration::from_secs(30), || {
        let aws = aws.clone();
        async move { aws.bucket_is_public("term-a").await && aws.user_is_admin("term-user").await }
    })
    .await;
    assert!(injected, "the faults were injected:\n{}", process.log());
    std::process::Command::new("kill")
        .args(["-TERM", &process.pid().to_string()])
        .status()
        .unwrap();
    std::process::Command::new("kill")
        .args(["-INT", &process.pid().to_string()])
        .status()
        .unwrap();
    assert!(
        wait_for_exit(&mut process, Duration::from_secs(30)).await,
        "it exits"
    );
    assert_eq!(
        round_state(&aws, "term").await,
        baseline,
        "reverted before exit"
    );
    let journal = run.journal();
    assert_eq!(
        journal.matches("\"state\":\"reverted\"").count(),
        3,
        "{journal}"
    );
    assert!(
        process
            .log()
            .contains("reverted and verified 3 fault(s); 0 still open"),
        "SIGTERM ends with what it reverted: {}",
        process.log()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_made_during_the_fault_survives_the_revert() {
    let moto = MotoServer::start();
    let aws = clients(&moto.endpoint).await;
    prepare_round(&aws, "meddle").await;
    let run = Run::new(&moto, &round_experiment("meddle", "3s"), &[]);
    // While the faults are on, a person grants a partner account on a bucket and gives the user another
    // policy: an emergency fix rdfi must not undo.
    let person = aws.clone();
    let meddling = tokio::spawn(async move {
        while !(person.bucket_is_public("meddle-a").await
            && person.user_is_admin("meddle-user").await)
        {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        person.add_grant("meddle-a", PARTNER, "READ_ACP").await;
        person
            .iam
            .attach_user_policy()
            .user_name("meddle-user")
            .policy_arn(PERSON_POLICY)
            .send()
            .await
            .expect("AttachUserPolicy");
    });
    let (code, report) = run.output(&moto).await;
    meddling.await.unwrap();
    assert_eq!(
        code, 1,
        "missed (no detector), not a safety abort: {report:#}"
    );
    for fault in report["faults"].as_array().unwrap() {
        assert_eq!(fault["state"], "reverted", "{fault:#}");
        assert_eq!(fault["revertVerified"], true, "{fault:#}");
        assert_eq!(fault["verdict"], "missed", "{fault:#}");
    }
    let changed: Vec<_> = report["faults"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|fault| fault["changedByOthers"] == true)
        .map(|fault| {
            fault["resourceName"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    assert_eq!(
        changed.len(),
        2,
        "the report says who was changed meanwhile: {report:#}"
    );
    assert!(!aws.bucket_is_public("meddle-a").await);
    assert!(
        aws.acl_lines("meddle-a")
            .await
            .iter()
            .any(|line| line.contains(PARTNER) && line.contains("READ_ACP")),
        "the person's grant is still there"
    );
    assert!(!aws.user_is_admin("meddle-user").await);
    assert!(
        aws.user_policies("meddle-user")
            .await
            .iter()
            .any(|policy| policy.contains("IAMUserChangePassword")),
        "the person's policy is still there"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revert_that_cannot_be_made_is_reported_kept_open_and_recovered_later() {
    let moto = MotoServer::start();
    let aws = clients(&moto.endpoint).await;
    let baseline = prepare_round(&aws, "stuck").await;
    let experiment = round_experiment("stuck", "2s")
        .replace(&format!("  - id: {BUCKET_FAULT}\n    maxTargets: 2\n"), "");
    let mut run = Run::new(&moto, &experiment, &["--revert-attempts", "2"]);
    run.env.push(("RDFI_FAILPOINT", "revert-call"));
    let (code, report) = run.output(&moto).await;
    assert_eq!(code, 3, "a failed revert is a safety abort: {report:#}");
    let fault = &report["faults"][0];
    assert_eq!(fault["state"], "revert_failed", "{report:#}");
    assert_eq!(fault["revertVerified"], false);
    assert!(aws.user_is_admin("stuck-user").await, "still injected");
    let (code, said) = run.status().await;
    assert_eq!(code, Some(3), "{said}");
    assert!(said.contains("revert_failed"), "{said}");
    // Recovery (without the failure) reverts, verifies and closes the fault.
    run.recover(&moto).await;
    assert_eq!(round_state(&aws, "stuck").await, baseline);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fault_whose_injection_cannot_be_journalled_is_reverted_at_once() {
    let moto = MotoServer::start();
    let aws = clients(&moto.endpoint).await;
    let baseline = prepare_round(&aws, "nojournal").await;
    let mut run = Run::new(&moto, &round_experiment("nojournal", "2m"), &[]);
    run.env.push(("RDFI_FAILPOINT", "journal-after-inject"));
    let started = tokio::time::Instant::now();
    let (_code, report) = run.output(&moto).await;
    assert!(
        started.elapsed() < Duration::from_secs(90),
        "reverted at once, not at the 2-minute deadline"
    );
    for fault in report["faults"].as_array().unwrap() {
        assert_eq!(fault["state"], "reverted", "{fault:#}");
        assert_eq!(fault["revertVerified"], true, "{fault:#}");
    }
    assert_eq!(round_state(&aws, "nojournal").await, baseline);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_run_on_the_state_dir_of_an_active_one_touches_nothing() {
    let moto = MotoServer::start();
    let aws = clients(&moto.endpoint).await;
    let baseline = prepare_round(&aws, "first").await;
    let run = Run::new(&moto, &round_experiment("first", "4s"), &[]);
    let first = tokio::spawn({
        let args = run.args.clone();
        let env = moto.process_env();
        async move {
            tokio::process::Command::new(rdfi_binary("rdfi"))
                .args(&args)
                .envs(env)
                .output()
                .await
                .unwrap()
        }
    });
    assert!(
        wait_until(Duration::from_secs(30), || {
            let aws = aws.clone();
            async move { aws.bucket_is_public("first-a").await }
        })
        .await
    );
    // A second run on the same state directory: another fault on the same bucket.
    let second_file = run.state.path().join("second.yaml");
    std::fs::write(&second_file, round_experiment("first", "4s")).unwrap();
    let mut second_args = run.args.clone();
    second_args[1] = second_file.display().to_string();
    let position = second_args
        .iter()
        .position(|arg| arg == "--webhook-listen")
        .unwrap();
    second_args[position + 1] = format!("127.0.0.1:{}", free_port());
    let second = tokio::process::Command::new(rdfi_binary("rdfi"))
        .args(&second_args)
        .envs(moto.process_env())
        .output()
        .await
        .unwrap();
    let said = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(2), "refused: {said}");
    assert!(said.contains("in use by another rdfi process"), "{said}");
    assert!(
        aws.bucket_is_public("first-a").await,
        "the first run's fault is untouched"
    );
    let first = first.await.unwrap();
    let report: Value = serde_json::from_slice(&first.stdout).unwrap();
    assert_eq!(first.status.code(), Some(1), "{report:#}");
    for fault in report["faults"].as_array().unwrap() {
        assert_eq!(
            fault["verdict"], "missed",
            "the first run's verdicts stay true: {fault:#}"
        );
        assert_eq!(fault["revertVerified"], true);
    }
    assert_eq!(round_state(&aws, "first").await, baseline);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_changes_nothing_and_says_what_it_would_change() {
    let moto = MotoServer::start();
    let aws = clients(&moto.endpoint).await;
    let baseline = prepare_round(&aws, "dry").await;
    let watcher_aws = aws.clone();
    let ever_changed = tokio::spawn(async move {
        loop {
            if round_state(&watcher_aws, "dry").await != baseline {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
    let run = Run::new(&moto, &round_experiment("dry", "2s"), &["--dry-run"]);
    let (code, report) = run.output(&moto).await;
    assert!(
        !ever_changed.is_finished(),
        "the estate never changed during the dry run"
    );
    ever_changed.abort();
    assert_eq!(code, 4, "a dry run tests nothing: {report:#}");
    assert!(
        report["nothingTested"]
            .as_str()
            .is_some_and(|why| why.contains("dry run")),
        "{report:#}"
    );
    let faults = report["faults"].as_array().unwrap();
    assert_eq!(faults.len(), 3);
    for fault in faults {
        assert_eq!(fault["verdict"], "inconclusive", "{fault:#}");
        assert_eq!(fault["dryRun"], true);
        let change = fault["change"].as_str().unwrap_or_default();
        assert!(
            change.starts_with("PutBucketAcl") || change.starts_with("AttachUserPolicy"),
            "{fault:#}"
        );
    }
    assert!(run.file.exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cloud_that_fails_every_other_call_still_ends_reverted() {
    let moto = MotoServer::start();
    let aws = clients(&moto.endpoint).await;
    let baseline = prepare_round(&aws, "flaky").await;
    let proxy = Proxy::start(&moto.endpoint, Behaviour::ThrottleEveryOther).await;
    let mut run = Run::new(&moto, &round_experiment("flaky", "2s"), &[]);
    let position = run
        .args
        .iter()
        .position(|arg| arg == "--aws-endpoint")
        .unwrap();
    run.args[position + 1] = proxy.url.clone();
    let (code, report) = run.output(&moto).await;
    assert_eq!(
        code, 1,
        "no detector: a hypothesis failed, nothing else: {report:#}"
    );
    for fault in report["faults"].as_array().unwrap() {
        assert_eq!(fault["revertVerified"], true, "{fault:#}");
        assert_eq!(fault["verdict"], "missed", "{fault:#}");
    }
    assert!(
        proxy.throttled() >= 10,
        "the proxy failed calls: {}",
        proxy.throttled()
    );
    assert_eq!(round_state(&aws, "flaky").await, baseline);
    run.recover(&moto).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_condition_holds_until_rdfi_resume() {
    let moto = MotoServer::start();
    let aws = clients(&moto.endpoint).await;
    let baseline = prepare_round(&aws, "breaker").await;
    let run = Run::new(
        &moto,
        &round_experiment("breaker", "2m"),
        &["--stop-on-source", "checkout-slo-alarm"],
    );
    let webhook = {
        let position = run
            .args
            .iter()
            .position(|arg| arg == "--webhook-listen")
            .unwrap();
        format!("http://{}", run.args[position + 1])
    };
    let tripped = run.output(&moto);
    let alarm = async {
        assert!(
            wait_until(Duration::from_secs(30), || {
                let aws = aws.clone();
                async move { aws.bucket_is_public("breaker-a").await }
            })
            .await
        );
        rdfi_tests::control::post_signal(&webhook, "checkout-service", "checkout-slo-alarm").await;
    };
    let ((_code, _report), ()) = tokio::join!(tripped, alarm);
    assert_eq!(round_state(&aws, "breaker").await, baseline, "all reverted");
    let (code, said) = run.status().await;
    assert_eq!(code, Some(0), "{said}");
    assert!(
        said.contains("injections are stopped for every run"),
        "{said}"
    );
    // The breaker holds: the next run on this state directory injects nothing.
    let short = run.state.path().join("short.yaml");
    std::fs::write(&short, round_experiment("breaker", "2s")).unwrap();
    let mut args = run.args.clone();
    args[1] = short.display().to_string();
    let again = Run {
        args,
        ..Run::new(&moto, "", &[])
    };
    let (_, report) = again.output(&moto).await;
    for fault in report["faults"].as_array().unwrap() {
        assert_eq!(fault["state"], "rejected", "{fault:#}");
    }
    // `rdfi resume --state-dir DIR`, as the README says, lets the next run inject.
    let resumed = tokio::process::Command::new(rdfi_binary("rdfi"))
        .args(["resume", "--state-dir"])
        .arg(run.state.path())
        .output()
        .await
        .unwrap();
    assert_eq!(resumed.status.code(), Some(0));
    let (code, report) = again.output(&moto).await;
    assert_eq!(code, 1, "missed, as nothing detects it: {report:#}");
    for fault in report["faults"].as_array().unwrap() {
        assert_eq!(fault["state"], "reverted", "{fault:#}");
    }
    assert_eq!(round_state(&aws, "breaker").await, baseline);
}
