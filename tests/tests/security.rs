//! rdfi's own ports and bus guarded as docs/deploy.md deploys them: gRPC with TLS, client certificates (mTLS)
//! and bearer tokens with roles; NATS over TLS with a password from a file. The five services run as
//! processes over a real nats-server against moto, and `rdfi` commands call them as a user would.

use std::path::{Path, PathBuf};

use rdfi_tests::aws::clients;
use rdfi_tests::cluster::Cluster;
use rdfi_tests::tls::TestPki;
use rdfi_tests::{MotoServer, NatsServer, PLANTED_AWS_SECRET, experiment_yaml};
use serde_json::Value;

const READ_TOKEN: &str = "read-only-token-for-dashboards-7c1e";
const OPERATE_TOKEN: &str = "operate-token-for-the-ci-pipeline-93af";

/// The test CA's certificates and the tokens file.
struct Credentials {
    pki: TestPki,
}

impl Credentials {
    fn new() -> Credentials {
        let pki = TestPki::new();
        std::fs::write(
            pki.path("auth.tokens"),
            format!("# who may call rdfi\n{READ_TOKEN} read\n{OPERATE_TOKEN} operate\n"),
        )
        .unwrap();
        Credentials { pki }
    }

    fn path(&self, name: &str) -> String {
        self.pki.arg(name)
    }

    /// The flags every service is started with: mTLS, tokens, and a read token for the planner's calls to
    /// knowledge.
    fn service_flags(&self) -> Vec<String> {
        [
            ("--tls-cert", self.path("service.pem")),
            ("--tls-key", self.path("service.key")),
            ("--tls-client-ca", self.path("ca.pem")),
            ("--tls-ca", self.path("ca.pem")),
            ("--auth-tokens", self.path("auth.tokens")),
            ("--token", READ_TOKEN.to_owned()),
        ]
        .into_iter()
        .flat_map(|(flag, value)| [flag.to_owned(), value])
        .collect()
    }

    /// The TLS flags of a client holding the client certificate.
    fn client_flags(&self) -> Vec<String> {
        vec![
            "--tls-ca".to_owned(),
            self.path("ca.pem"),
            "--tls-cert".to_owned(),
            self.path("client.pem"),
            "--tls-key".to_owned(),
            self.path("client.key"),
        ]
    }
}

fn experiment_file(dir: &Path) -> PathBuf {
    let path = dir.join("experiment.yaml");
    std::fs::write(
        &path,
        experiment_yaml("aws.s3.bucket-public-acl", "1s", None, "1s"),
    )
    .unwrap();
    path
}

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_with_tokens_and_mtls_refuses_strangers_and_readers_and_obeys_operators() {
    let nats = NatsServer::start();
    let moto = MotoServer::start();
    let aws = clients(&moto.endpoint).await;
    aws.create_bucket("payments-exports", &[("rdfi-target", "true")])
        .await;
    let baseline = aws.acl_lines("payments-exports").await;
    let credentials = Credentials::new();
    // Debug logs from rdfi's own crates: the secrets must stay out of them too.
    let cluster = Cluster::with_options(
        &nats,
        &moto,
        1,
        &credentials.service_flags(),
        &[(
            "RUST_LOG",
            "info,rdfi=debug,rdfi_core=debug,rdfi_planner=debug,rdfi_executor=debug,rdfi_monitor=debug,rdfi_analyzer=debug,rdfi_knowledge=debug",
        )],
        "https",
    );
    let experiment = experiment_file(credentials.pki.dir.path());
    let submit = |extra: Vec<String>| {
        let mut args = vec![
            "submit".to_owned(),
            experiment.display().to_string(),
            "--format".to_owned(),
            "json".to_owned(),
            "--planner".to_owned(),
            cluster.planner_url.clone(),
            "--knowledge".to_owned(),
            cluster.knowledge_url.clone(),
        ];
        args.extend(extra);
        args
    };
    let run = |args: Vec<String>| {
        let cluster = &cluster;
        async move {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            cluster.rdfi(&args).await
        }
    };

    // No token: refused before the planner reads the experiment.
    let stranger = run(submit(credentials.client_flags())).await;
    assert_eq!(stranger.status.code(), Some(2), "{}", stderr(&stranger));
    assert!(
        stderr(&stranger).contains("needs `authorization: Bearer TOKEN`"),
        "{}",
        stderr(&stranger)
    );
    // A token the servers do not know.
    let mut wrong = credentials.client_flags();
    wrong.extend([
        "--token".to_owned(),
        format!("{OPERATE_TOKEN}-but-not-quite"),
    ]);
    let guessed = run(submit(wrong)).await;
    assert_eq!(guessed.status.code(), Some(2), "{}", stderr(&guessed));
    assert!(
        stderr(&guessed).contains("the token is not one this server knows"),
        "{}",
        stderr(&guessed)
    );
    // A read token, from RDFI_TOKEN: known, but it may not submit.
    let mut reader = tokio::process::Command::new(rdfi_tests::rdfi_binary("rdfi"));
    reader
        .args(submit(credentials.client_flags()))
        .env("RDFI_TOKEN", READ_TOKEN);
    let read_only = reader.output().await.unwrap();
    assert_eq!(read_only.status.code(), Some(2), "{}", stderr(&read_only));
    assert!(
        stderr(&read_only).contains(
            "/rdfi.v1.PlannerService/SubmitExperiment needs a token with the operate role; this one has read"
        ),
        "{}",
        stderr(&read_only)
    );
    // Without a client certificate the TLS handshake fails, token or not.
    let anonymous = run(submit(vec![
        "--tls-ca".to_owned(),
        credentials.path("ca.pem"),
        "--token".to_owned(),
        OPERATE_TOKEN.to_owned(),
    ]))
    .await;
    assert_eq!(anonymous.status.code(), Some(2), "{}", stderr(&anonymous));
    // Nothing was planned by any of them.
    let mut list_runs = credentials.client_flags();
    list_runs.extend([
        "--token".to_owned(),
        READ_TOKEN.to_owned(),
        "--knowledge".to_owned(),
        cluster.knowledge_url.clone(),
        "--format".to_owned(),
        "json".to_owned(),
    ]);
    let mut runs_args = vec!["runs".to_owned()];
    runs_args.extend(list_runs.clone());
    let none = run(runs_args.clone()).await;
    assert!(none.status.success(), "{}", stderr(&none));
    let listed: Value = serde_json::from_slice(&none.stdout).unwrap();
    assert_eq!(listed.as_array().map(Vec::len), Some(0), "{listed}");

    // An operate token runs the experiment, and the report is read back with it.
    let mut operator = credentials.client_flags();
    operator.extend(["--token".to_owned(), OPERATE_TOKEN.to_owned()]);
    let operated = run(submit(operator)).await;
    assert_eq!(
        operated.status.code(),
        Some(1),
        "a finding (no detector watches): {}",
        stderr(&operated)
    );
    let report: Value = serde_json::from_slice(&operated.stdout).unwrap();
    assert_eq!(report["faults"].as_array().unwrap().len(), 1, "{report:#}");
    assert_eq!(aws.acl_lines("payments-exports").await, baseline);
    // The read token reads it.
    let after = run(runs_args).await;
    assert!(after.status.success(), "{}", stderr(&after));
    let listed: Value = serde_json::from_slice(&after.stdout).unwrap();
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");

    // A read token cannot abort the executor; the abort answer names the role.
    let mut abort = vec![
        "abort".to_owned(),
        "--executor".to_owned(),
        cluster.executor_url.clone(),
        "--token".to_owned(),
        READ_TOKEN.to_owned(),
    ];
    abort.extend(credentials.client_flags());
    let refused = run(abort).await;
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    assert!(
        stderr(&refused).contains("needs a token with the operate role"),
        "{}",
        stderr(&refused)
    );

    // Campaigns: a read token lists them, and may not start one.
    let campaign = |command: &str, token: &str, extra: &[String]| {
        let mut args = vec!["campaign".to_owned(), command.to_owned()];
        args.extend(extra.iter().cloned());
        args.extend([
            "--planner".to_owned(),
            cluster.planner_url.clone(),
            "--token".to_owned(),
            token.to_owned(),
        ]);
        args.extend(credentials.client_flags());
        args
    };
    let listed = run(campaign("status", READ_TOKEN, &["--json".to_owned()])).await;
    assert!(listed.status.success(), "{}", stderr(&listed));
    let nightly = rdfi_tests::workspace_root()
        .join("docs/examples/nightly-storage.yaml")
        .display()
        .to_string();
    let start = run(campaign("start", READ_TOKEN, &[nightly])).await;
    assert_eq!(start.status.code(), Some(2), "{}", stderr(&start));
    assert!(
        stderr(&start)
            .contains("/rdfi.v1.PlannerService/SubmitCampaign needs a token with the operate role"),
        "{}",
        stderr(&start)
    );

    // No token, key or secret in any service's log, nor in the report or what the commands printed.
    let private_key = std::fs::read_to_string(credentials.pki.path("service.key")).unwrap();
    let key_body = private_key.lines().nth(1).unwrap().to_owned();
    let printed = [
        &stranger, &guessed, &read_only, &anonymous, &operated, &refused,
    ]
    .iter()
    .map(|output| {
        format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            stderr(output)
        )
    })
    .collect::<String>();
    let logs = cluster.logs();
    assert!(
        logs.contains("gRPC listening"),
        "the logs were read: {logs}"
    );
    for secret in [
        READ_TOKEN,
        OPERATE_TOKEN,
        PLANTED_AWS_SECRET,
        key_body.as_str(),
    ] {
        assert!(!logs.contains(secret), "{secret} is in a service's log");
        assert!(!printed.contains(secret), "{secret} was printed");
    }
}

#[tokio::test]
async fn a_bad_tokens_file_stops_a_service_at_start_with_the_line_and_exit_code_2() {
    let credentials = Credentials::new();
    let tokens = credentials.pki.dir.path().join("bad.tokens");
    std::fs::write(&tokens, format!("{READ_TOKEN} read\nshort operate\n")).unwrap();
    let output = tokio::process::Command::new(rdfi_tests::rdfi_binary("rdfi-knowledge"))
        .args(["--nats", "nats://127.0.0.1:1", "--auth-tokens"])
        .arg(&tokens)
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(
        stderr(&output).contains(&format!(
            "{}:2: the token is 5 characters; at least 16 are needed",
            tokens.display()
        )),
        "{}",
        stderr(&output)
    );
}

/// A NATS server that needs TLS and a password: `rdfi abort --nats` (the path every command and service takes
/// to NATS) connects with --nats-tls-ca and --nats-user-file; a wrong password or a missing CA fails at once,
/// and the password never appears in what rdfi prints.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nats_over_tls_with_a_password_file_and_no_password_in_errors() {
    const PASSWORD: &str = "nats-password-that-must-not-leak-51f0";
    let pki = TestPki::new();
    let nats = NatsServer::start_with(&[
        "--tls".to_owned(),
        "--tlscert".to_owned(),
        pki.arg("service.pem"),
        "--tlskey".to_owned(),
        pki.arg("service.key"),
        "--user".to_owned(),
        "rdfi".to_owned(),
        "--pass".to_owned(),
        PASSWORD.to_owned(),
    ]);
    let user_file = pki.path("nats.user");
    std::fs::write(&user_file, format!("rdfi:{PASSWORD}\n")).unwrap();
    let abort = |url: String, extra: Vec<String>| async move {
        tokio::process::Command::new(rdfi_tests::rdfi_binary("rdfi"))
            .args(["abort", "--reason", "security test", "--nats", &url])
            .args(extra)
            .output()
            .await
            .unwrap()
    };
    let ca = vec!["--nats-tls-ca".to_owned(), pki.arg("ca.pem")];

    let mut with_file = ca.clone();
    with_file.extend([
        "--nats-user-file".to_owned(),
        user_file.display().to_string(),
    ]);
    let accepted = abort(nats.url.clone(), with_file).await;
    assert!(accepted.status.success(), "{}", stderr(&accepted));

    let wrong = format!("nats://rdfi:{PASSWORD}-wrong@127.0.0.1:{}", nats.port);
    let refused = abort(wrong, ca.clone()).await;
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    let said = format!(
        "{}{}",
        stderr(&refused),
        String::from_utf8_lossy(&refused.stdout)
    );
    assert!(said.contains("authorization violation"), "{said}");
    assert!(
        said.contains(&format!("nats://127.0.0.1:{}", nats.port)),
        "{said}"
    );
    assert!(!said.contains(PASSWORD), "{said}");

    let right = format!("nats://rdfi:{PASSWORD}@127.0.0.1:{}", nats.port);
    let untrusted = abort(right, Vec::new()).await;
    assert_eq!(untrusted.status.code(), Some(2), "{}", stderr(&untrusted));
    let said = format!(
        "{}{}",
        stderr(&untrusted),
        String::from_utf8_lossy(&untrusted.stdout)
    );
    assert!(!said.contains(PASSWORD), "{said}");
}

/// Probes speak neither TLS nor tokens: `--health-listen` answers gRPC health checks alone, in clear, while
/// the service's own port stays guarded. (The monitor and the analyzer serve no other gRPC: this is their only
/// probe.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_health_port_answers_probes_without_tls_or_a_token() {
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};
    let nats = NatsServer::start();
    let credentials = Credentials::new();
    let health_port = rdfi_tests::free_port();
    let knowledge_port = rdfi_tests::free_port();
    let mut args = credentials.service_flags();
    args.extend([
        "--nats".to_owned(),
        nats.url.clone(),
        "--health-listen".to_owned(),
        format!("127.0.0.1:{health_port}"),
        "--knowledge-listen".to_owned(),
        format!("127.0.0.1:{knowledge_port}"),
        "--state-dir".to_owned(),
        credentials.path("state"),
    ]);
    let _knowledge =
        rdfi_tests::Process::spawn(&rdfi_tests::rdfi_binary("rdfi-knowledge"), &args, &[]);
    assert!(rdfi_tests::wait_for_port(
        health_port,
        std::time::Duration::from_secs(30)
    ));
    let connect = |port: u16| async move {
        tonic::transport::Channel::from_shared(format!("http://127.0.0.1:{port}"))
            .unwrap()
            .connect()
            .await
            .map(HealthClient::new)
    };
    let health = connect(health_port).await.unwrap();
    // Live ("") at once, and ready ("ready") once its services have started.
    for service in ["", "ready"] {
        assert!(
            rdfi_tests::wait_until(std::time::Duration::from_secs(10), || {
                let mut health = health.clone();
                async move {
                    health
                        .check(HealthCheckRequest {
                            service: service.to_owned(),
                        })
                        .await
                        .is_ok_and(|answer| answer.into_inner().status() == ServingStatus::Serving)
                }
            })
            .await,
            "{service:?} serving"
        );
    }
    // The service's own port still wants TLS: a clear-text health check there gets no answer.
    assert!(rdfi_tests::wait_for_port(
        knowledge_port,
        std::time::Duration::from_secs(30)
    ));
    let refused = match connect(knowledge_port).await {
        Err(_) => true,
        Ok(mut guarded) => guarded
            .check(HealthCheckRequest {
                service: String::new(),
            })
            .await
            .is_err(),
    };
    assert!(refused);
}
