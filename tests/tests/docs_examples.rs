//! Every example in README.md and docs/*.md, tried as a new user would: each ```sh command and each ```yaml
//! and ```json block is found in the docs and checked by the entry of [`COMMANDS`] or [`BLOCKS`] that names
//! it exactly as written. A command or block that appears in the docs without an entry fails the test until
//! someone decides how it is checked (or, with the reason, that it cannot run in a test); an entry whose text
//! is no longer in the docs fails it too.
//!
//! Commands run as written with the built binaries: `rdfi ...` and `cargo run -p rdfi -- ...` are the built
//! `rdfi`, against real servers on ports chosen at run time (moto for AWS). Where a command names a fixed
//! address (`http://127.0.0.1:5000`, `localhost:8787`, `DIR`), the entry says what stands in for it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use rdfi_tests::{MotoServer, Process, free_port, rdfi_binary, wait_until, workspace_root};

/// How a documented command is checked.
enum Check {
    /// Run by this function, given the command as written.
    Run(fn(&str)),
    /// Run by the check of that other command (a signal posted during a run).
    RunBy(&'static str),
    /// Not run by a test, and why.
    NotRun(&'static str),
}

/// Why the commands `scripts/bench.sh` writes into docs/benchmarks.md are not run here.
const BY_BENCH_SH: &str =
    "a release benchmark, run by scripts/bench.sh, which writes the section it stands in";

/// Every command of the docs' ```sh blocks (comments stripped, continued lines joined), and how it is checked.
const COMMANDS: &[(&str, Check)] = &[
    // README.md
    (
        "cargo install --path cli",
        Check::NotRun(
            "installs the same binary the tests build into ~/.cargo/bin; a test must not write there",
        ),
    ),
    ("cargo run -p rdfi -- demo", Check::Run(demo)),
    (
        "scripts/test.sh",
        Check::NotRun("the whole test suite, this test among them"),
    ),
    ("rdfi run experiment.yaml", Check::Run(run_with_a_detector)),
    (
        "rdfi run experiment.yaml --aws-endpoint http://127.0.0.1:5000 --format json",
        Check::Run(run_as_json_on_moto),
    ),
    (
        "rdfi run gcs.yaml --gcp-project my-project",
        Check::NotRun(
            "needs a Google Cloud project and its application default credentials; the GCS drivers run against gcp-storage-emulator in tests/tests/conformance_gcp.rs",
        ),
    ),
    (
        r#"curl -XPOST localhost:8787/v1/signals -H 'content-type: application/json' -d '{"resource":"arn:aws:s3:::my-bucket","source":"my-detector","title":"public bucket","severity":"high"}'"#,
        Check::RunBy("rdfi run experiment.yaml"),
    ),
    ("rdfi run experiment.yaml --dry-run", Check::Run(dry_run)),
    (
        "rdfi status --state-dir DIR",
        Check::Run(safety_on_a_fresh_state_dir),
    ),
    (
        "rdfi recover --state-dir DIR",
        Check::RunBy("rdfi status --state-dir DIR"),
    ),
    (
        "rdfi abort --executor http://executor:50053",
        Check::RunBy("rdfi serve --services all --nats nats://nats:4222"),
    ),
    (
        "rdfi resume --state-dir DIR",
        Check::RunBy("rdfi status --state-dir DIR"),
    ),
    (
        "rdfi serve --services all --nats nats://nats:4222",
        Check::Run(cluster),
    ),
    (
        "rdfi submit experiment.yaml --planner http://planner:50052 --knowledge http://knowledge:50051",
        Check::RunBy("rdfi serve --services all --nats nats://nats:4222"),
    ),
    (
        "rdfi runs --state-dir DIR",
        Check::RunBy("rdfi run experiment.yaml"),
    ),
    (
        "rdfi findings --state-dir DIR --since 7days",
        Check::RunBy("rdfi run experiment.yaml"),
    ),
    (
        "rdfi controls --state-dir DIR",
        Check::RunBy("rdfi run experiment.yaml"),
    ),
    (
        "rdfi asset my-bucket --state-dir DIR",
        Check::RunBy("rdfi run experiment.yaml"),
    ),
    (
        "rdfi audit --state-dir DIR",
        Check::RunBy("rdfi run experiment.yaml"),
    ),
    (
        "rdfi controls --knowledge http://knowledge:50051 --format json",
        Check::RunBy("rdfi serve --services all --nats nats://nats:4222"),
    ),
    (
        "rdfi assets --state-dir DIR",
        Check::RunBy("rdfi run experiment.yaml"),
    ),
    (
        "rdfi assets --refresh --provider aws --state-dir DIR",
        Check::RunBy("rdfi run experiment.yaml"),
    ),
    (
        "rdfi assets --refresh --provider aws --knowledge http://knowledge:50051 --nats nats://nats:4222",
        Check::RunBy("rdfi serve --services all --nats nats://nats:4222"),
    ),
    // docs/benchmarks.md
    (
        "cargo build --release -p rdfi-tests --bin scale-bench",
        Check::NotRun(
            "a release build and a benchmark: minutes of both cores, measured by hand for docs/benchmarks.md",
        ),
    ),
    (
        "target/release/scale-bench 200 2 2 20 100",
        Check::NotRun(
            "a release build and a benchmark: minutes of both cores, measured by hand for docs/benchmarks.md",
        ),
    ),
    (
        "cargo build --release -p rdfi-tests --bin loop-bench",
        Check::NotRun(
            "a release build and a benchmark: minutes of both cores, measured by hand for docs/benchmarks.md",
        ),
    ),
    (
        "target/release/loop-bench 200 memory serial",
        Check::NotRun("a benchmark, measured by hand"),
    ),
    (
        "target/release/loop-bench 10000 nats burst",
        Check::NotRun("a benchmark, measured by hand"),
    ),
    (
        "cargo build --release -p rdfi-tests --bin parse-bench",
        Check::NotRun("a release build and a benchmark, measured by hand"),
    ),
    (
        "target/release/parse-bench 20",
        Check::NotRun("a benchmark, measured by hand"),
    ),
    (
        "cargo build --release -p rdfi-tests --bin abort-bench",
        Check::NotRun("a release build and a benchmark, measured by hand"),
    ),
    (
        "target/release/abort-bench 10000 sandbox 16",
        Check::NotRun("a benchmark, measured by hand"),
    ),
    (
        "target/release/abort-bench 200 moto 16",
        Check::NotRun("a benchmark, measured by hand"),
    ),
    (
        "cargo build --release -p rdfi-tests --bin plan-bench",
        Check::NotRun("a release build and a benchmark, measured by hand"),
    ),
    (
        "target/release/plan-bench",
        Check::NotRun("a benchmark, measured by hand"),
    ),
    (
        "cargo build --release -p rdfi-tests --bin campaign-bench",
        Check::NotRun("a release build and a benchmark, measured by hand"),
    ),
    (
        "target/release/campaign-bench sandbox",
        Check::NotRun("a benchmark, measured by hand"),
    ),
    (
        "scripts/bench.sh",
        Check::NotRun(
            "every benchmark after a release build: about 20 minutes of both cores; tests/tests/benchmarks.rs runs the side-by-side and idle benchmarks' checks on the debug build",
        ),
    ),
    ("target/release/ctk-bench 3", Check::NotRun(BY_BENCH_SH)),
    ("target/release/idle-bench 5", Check::NotRun(BY_BENCH_SH)),
    (
        "target/release/loop-bench 200 nats serial",
        Check::NotRun(BY_BENCH_SH),
    ),
    (
        "target/release/loop-bench 1000 memory burst",
        Check::NotRun(BY_BENCH_SH),
    ),
    (
        "target/release/loop-bench 1000 nats burst",
        Check::NotRun(BY_BENCH_SH),
    ),
    (
        "target/release/loop-bench 3000 memory burst",
        Check::NotRun(BY_BENCH_SH),
    ),
    (
        "target/release/loop-bench 3000 nats burst",
        Check::NotRun(BY_BENCH_SH),
    ),
    (
        "target/release/loop-bench 3000 nats burst 1",
        Check::NotRun(BY_BENCH_SH),
    ),
    (
        "target/release/loop-bench 5000 nats burst",
        Check::NotRun(BY_BENCH_SH),
    ),
    (
        "target/release/loop-bench 10000 memory burst",
        Check::NotRun(BY_BENCH_SH),
    ),
    (
        "target/release/campaign-bench moto",
        Check::NotRun(BY_BENCH_SH),
    ),
    (
        "target/release/scale-bench 200 1 1 20 100",
        Check::NotRun(BY_BENCH_SH),
    ),
    (
        "cargo test -p rdfi-tests --test conformance_aws --test conformance_gcp --test conformance_sandbox -- --nocapture",
        Check::NotRun("the conformance suites, which the test suite runs"),
    ),
    // docs/campaigns.md
    (
        "rdfi plan examples/campaigns/sandbox.yaml --explain --picks 4 --state-dir DIR",
        Check::Run(sandbox_campaign),
    ),
    (
        "rdfi run examples/campaigns/sandbox.yaml --state-dir DIR",
        Check::RunBy(SANDBOX_CAMPAIGN_FIRST),
    ),
    (
        "rdfi plan examples/campaigns/sandbox.yaml --explain --picks 4 --state-dir DIR --format json",
        Check::RunBy(SANDBOX_CAMPAIGN_FIRST),
    ),
    (
        "rdfi campaign start docs/examples/nightly-storage.yaml --planner http://planner:50052",
        Check::Run(served_campaign),
    ),
    (
        "rdfi campaign status --planner http://planner:50052",
        Check::RunBy(SERVED_CAMPAIGN_FIRST),
    ),
    (
        "rdfi campaign pause CAMPAIGN_ID --planner http://planner:50052",
        Check::RunBy(SERVED_CAMPAIGN_FIRST),
    ),
    (
        "rdfi campaign resume CAMPAIGN_ID --planner http://planner:50052",
        Check::RunBy(SERVED_CAMPAIGN_FIRST),
    ),
    (
        "rdfi campaign stop CAMPAIGN_ID --planner http://planner:50052",
        Check::RunBy(SERVED_CAMPAIGN_FIRST),
    ),
    // docs/deploy.md
    (
        "docker build -f deploy/Dockerfile -t 111122223333.dkr.ecr.us-east-1.amazonaws.com/rdfi:0.1.0 .",
        Check::NotRun(
            "builds the image: its base images (rust, debian) cannot be pulled where the tests run; tests/tests/deploy_manifests.rs validates the manifests that run it",
        ),
    ),
    (
        "docker push 111122223333.dkr.ecr.us-east-1.amazonaws.com/rdfi:0.1.0",
        Check::NotRun("pushes the image to a container registry"),
    ),
    (
        "rdfi iam-policy --faults aws.s3.bucket-public-acl,aws.iam.role-admin-policy-attached --for monitor --format json > rdfi-monitor.json",
        Check::Run(iam_policy_to_a_file),
    ),
    (
        "jq .aws rdfi-executor.json > executor-policy.json",
        Check::NotRun(
            "jq is not installed where the tests run; iam_policy_to_a_file reads the same `aws` member",
        ),
    ),
    (
        "jq .aws rdfi-monitor.json > monitor-policy.json",
        Check::NotRun(
            "jq is not installed where the tests run; iam_policy_to_a_file reads the same `aws` member",
        ),
    ),
    (
        "aws iam create-policy --policy-name rdfi-executor --policy-document file://executor-policy.json",
        Check::NotRun(
            "creates a policy in an AWS account; tests/tests/least_privilege.rs puts the same document on a moto user",
        ),
    ),
    (
        "aws iam create-policy --policy-name rdfi-monitor --policy-document file://monitor-policy.json",
        Check::NotRun(
            "creates a policy in an AWS account; tests/tests/least_privilege.rs puts the same document on a moto user",
        ),
    ),
    (
        "eksctl utils associate-iam-oidc-provider --cluster my-cluster --approve",
        Check::NotRun("creates IAM resources for an EKS cluster in an AWS account"),
    ),
    (
        "eksctl create iamserviceaccount --cluster my-cluster --namespace rdfi --name executor --role-name rdfi-executor --role-only --attach-policy-arn arn:aws:iam::111122223333:policy/rdfi-executor --approve",
        Check::NotRun("creates IAM resources for an EKS cluster in an AWS account"),
    ),
    (
        "eksctl create iamserviceaccount --cluster my-cluster --namespace rdfi --name monitor --role-name rdfi-monitor --role-only --attach-policy-arn arn:aws:iam::111122223333:policy/rdfi-monitor --approve",
        Check::NotRun("creates IAM resources for an EKS cluster in an AWS account"),
    ),
    (
        "gcloud iam service-accounts create rdfi-executor --project my-project",
        Check::NotRun("changes IAM in a Google Cloud project"),
    ),
    (
        "gcloud iam service-accounts create rdfi-monitor --project my-project",
        Check::NotRun("changes IAM in a Google Cloud project"),
    ),
    (
        "gcloud iam roles create rdfiExecutor --project my-project --permissions compute.firewalls.create,compute.firewalls.delete,compute.firewalls.get,compute.firewalls.list,compute.firewalls.update,compute.globalOperations.get,compute.networks.updatePolicy,iam.serviceAccountKeys.create,iam.serviceAccountKeys.delete,iam.serviceAccountKeys.list,iam.serviceAccounts.disable,iam.serviceAccounts.enable,iam.serviceAccounts.get,iam.serviceAccounts.update,resourcemanager.projects.get,resourcemanager.projects.getIamPolicy,resourcemanager.projects.setIamPolicy,storage.buckets.get,storage.buckets.getIamPolicy,storage.buckets.setIamPolicy,storage.buckets.update,storage.objects.create,storage.objects.delete,storage.objects.get",
        Check::Run(gcp_role_is_what_iam_policy_prints),
    ),
    (
        "gcloud projects add-iam-policy-binding my-project --member serviceAccount:rdfi-executor@my-project.iam.gserviceaccount.com --role projects/my-project/roles/rdfiExecutor",
        Check::NotRun("changes IAM in a Google Cloud project"),
    ),
    (
        "gcloud iam roles create rdfiMonitor --project my-project --permissions compute.firewalls.get,compute.firewalls.list,iam.serviceAccountKeys.list,iam.serviceAccounts.get,iam.serviceAccounts.list,resourcemanager.projects.get,resourcemanager.projects.getIamPolicy,storage.buckets.get,storage.buckets.getIamPolicy,storage.buckets.list",
        Check::Run(gcp_role_is_what_iam_policy_prints),
    ),
    (
        "gcloud projects add-iam-policy-binding my-project --member serviceAccount:rdfi-monitor@my-project.iam.gserviceaccount.com --role projects/my-project/roles/rdfiMonitor",
        Check::NotRun("changes IAM in a Google Cloud project"),
    ),
    (
        r#"gcloud iam service-accounts add-iam-policy-binding rdfi-executor@my-project.iam.gserviceaccount.com --role roles/iam.workloadIdentityUser --member "serviceAccount:my-project.svc.id.goog[rdfi/executor]""#,
        Check::NotRun("changes IAM in a Google Cloud project"),
    ),
    (
        r#"gcloud iam service-accounts add-iam-policy-binding rdfi-monitor@my-project.iam.gserviceaccount.com --role roles/iam.workloadIdentityUser --member "serviceAccount:my-project.svc.id.goog[rdfi/monitor]""#,
        Check::NotRun("changes IAM in a Google Cloud project"),
    ),
    (
        "kubectl apply -f deploy/kubernetes/base/namespace.yaml",
        Check::NotRun(
            "needs a Kubernetes cluster; tests/tests/deploy_manifests.rs validates the manifests offline",
        ),
    ),
    (
        r#"openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1825 -subj "/CN=rdfi CA" -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" -keyout ca.key -out ca.crt"#,
        Check::NotRun(
            "run as written, in an empty directory, by tests/tests/deploy_manifests.rs, which checks the certificates and tokens it makes",
        ),
    ),
    (
        r#"openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=rdfi services" -addext "subjectAltName=DNS:*.rdfi.svc,DNS:*.rdfi.svc.cluster.local,DNS:localhost" -addext "extendedKeyUsage=serverAuth,clientAuth" -keyout tls.key -out tls.csr"#,
        Check::NotRun(
            "run as written, in an empty directory, by tests/tests/deploy_manifests.rs, which checks the certificates and tokens it makes",
        ),
    ),
    (
        "openssl x509 -req -in tls.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 365 -copy_extensions copyall -out tls.crt",
        Check::NotRun(
            "run as written, in an empty directory, by tests/tests/deploy_manifests.rs, which checks the certificates and tokens it makes",
        ),
    ),
    (
        r#"openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=rdfi operator" -addext "extendedKeyUsage=clientAuth" -keyout client.key -out client.csr"#,
        Check::NotRun(
            "run as written, in an empty directory, by tests/tests/deploy_manifests.rs, which checks the certificates and tokens it makes",
        ),
    ),
    (
        "openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 365 -copy_extensions copyall -out client.crt",
        Check::NotRun(
            "run as written, in an empty directory, by tests/tests/deploy_manifests.rs, which checks the certificates and tokens it makes",
        ),
    ),
    (
        "OPERATE_TOKEN=$(openssl rand -hex 32)",
        Check::NotRun(
            "run as written, in an empty directory, by tests/tests/deploy_manifests.rs, which checks the certificates and tokens it makes",
        ),
    ),
    (
        "READ_TOKEN=$(openssl rand -hex 32)",
        Check::NotRun(
            "run as written, in an empty directory, by tests/tests/deploy_manifests.rs, which checks the certificates and tokens it makes",
        ),
    ),
    (
        "SIGNALS_TOKEN=$(openssl rand -hex 32)",
        Check::NotRun(
            "run as written, in an empty directory, by tests/tests/deploy_manifests.rs, which checks the certificates and tokens it makes",
        ),
    ),
    (
        r#"printf '%s operate\n%s read\n' "$OPERATE_TOKEN" "$READ_TOKEN" > auth.tokens"#,
        Check::NotRun(
            "run as written, in an empty directory, by tests/tests/deploy_manifests.rs, which checks the certificates and tokens it makes",
        ),
    ),
    (
        "kubectl -n rdfi create secret generic rdfi-tls --from-file=tls.crt --from-file=tls.key --from-file=ca.crt",
        Check::NotRun(
            "needs a Kubernetes cluster; tests/tests/deploy_manifests.rs validates the manifests offline",
        ),
    ),
    (
        "kubectl -n rdfi create secret generic rdfi-auth-tokens --from-file=auth.tokens",
        Check::NotRun(
            "needs a Kubernetes cluster; tests/tests/deploy_manifests.rs validates the manifests offline",
        ),
    ),
    (
        r#"kubectl -n rdfi create secret generic rdfi-planner-token --from-literal=token="$READ_TOKEN""#,
        Check::NotRun(
            "needs a Kubernetes cluster; tests/tests/deploy_manifests.rs validates the manifests offline",
        ),
    ),
    (
        r#"kubectl -n rdfi create secret generic rdfi-signals-token --from-literal=token="$SIGNALS_TOKEN""#,
        Check::NotRun(
            "needs a Kubernetes cluster; tests/tests/deploy_manifests.rs validates the manifests offline",
        ),
    ),
    (
        "POSTGRES_PASSWORD=$(openssl rand -hex 32)",
        Check::NotRun(
            "run as written, in an empty directory, by tests/tests/deploy_manifests.rs, which checks the certificates and tokens it makes",
        ),
    ),
    (
        r#"kubectl -n rdfi create secret generic rdfi-postgres --from-literal=password="$POSTGRES_PASSWORD""#,
        Check::NotRun(
            "needs a Kubernetes cluster; tests/tests/deploy_manifests.rs validates the manifests offline",
        ),
    ),
    (
        r#"kubectl -n rdfi create secret generic rdfi-database --from-literal=url="postgres://rdfi:$POSTGRES_PASSWORD@postgres.rdfi.svc:5432/rdfi?sslmode=disable""#,
        Check::NotRun(
            "needs a Kubernetes cluster; tests/tests/deploy_manifests.rs validates the manifests offline",
        ),
    ),
    (
        "kubectl -n rdfi rollout status statefulset/postgres",
        Check::NotRun(
            "needs a Kubernetes cluster; tests/tests/deploy_manifests.rs validates the manifests offline",
        ),
    ),
    (
        "kubectl -n rdfi rollout status deployment/knowledge",
        Check::NotRun(
            "needs a Kubernetes cluster; tests/tests/deploy_manifests.rs validates the manifests offline",
        ),
    ),
    (
        "kubectl -n rdfi get deployment planner",
        Check::NotRun(
            "needs a Kubernetes cluster; tests/tests/deploy_manifests.rs validates the manifests offline",
        ),
    ),
    (
        "nats kv get rdfi-leases planner",
        Check::NotRun("needs the NATS cluster of a deployment, through a port-forward"),
    ),
    (
        "kubectl apply -k deploy/kubernetes/overlays/aws",
        Check::NotRun(
            "needs a Kubernetes cluster; tests/tests/deploy_manifests.rs validates the manifests offline",
        ),
    ),
    (
        "kubectl -n rdfi rollout status statefulset/nats",
        Check::NotRun(
            "needs a Kubernetes cluster; tests/tests/deploy_manifests.rs validates the manifests offline",
        ),
    ),
    (
        "kubectl -n rdfi rollout status deployment/executor",
        Check::NotRun(
            "needs a Kubernetes cluster; tests/tests/deploy_manifests.rs validates the manifests offline",
        ),
    ),
    (
        "kubectl -n rdfi port-forward svc/nats 4222:4222",
        Check::NotRun("forwards a port of a deployed cluster"),
    ),
    (
        "nats stream info RDFI",
        Check::NotRun("needs the NATS cluster of a deployment, through a port-forward"),
    ),
    (
        "nats kv info RDFI_JOURNAL",
        Check::NotRun("needs the NATS cluster of a deployment, through a port-forward"),
    ),
    (
        "aws resourcegroupstaggingapi tag-resources --resource-arn-list arn:aws:s3:::my-bucket --tags rdfi-target=true",
        Check::NotRun("tags a bucket in an AWS account"),
    ),
    (
        "gcloud storage buckets update gs://my-bucket --update-labels=rdfi-target=true",
        Check::NotRun("labels a bucket in a Google Cloud project"),
    ),
    (
        r#"aws iam create-policy --policy-name rdfi-account-opt-in --policy-document '{"Version":"2012-10-17","Statement":[{"Sid":"OptInMarkerOnly","Effect":"Deny","Action":"*","Resource":"*"}]}' --tags Key=rdfi-target,Value=true"#,
        Check::NotRun(
            "creates the opt-in marker in an AWS account; the conformance suite creates the same marker on moto (Clients::opt_in_account)",
        ),
    ),
    (
        "kubectl -n rdfi port-forward svc/planner 50052:50052",
        Check::NotRun("forwards a port of a deployed cluster"),
    ),
    (
        "kubectl -n rdfi port-forward svc/knowledge 50051:50051",
        Check::NotRun("forwards a port of a deployed cluster"),
    ),
    (
        r#"rdfi submit experiment.yaml --planner https://localhost:50052 --knowledge https://localhost:50051 --tls-ca ca.crt --tls-cert client.crt --tls-key client.key --token "$OPERATE_TOKEN""#,
        Check::NotRun(
            "needs a deployed cluster through port-forwards; the README's rdfi submit is run against served services",
        ),
    ),
    (
        r#"rdfi findings --knowledge https://localhost:50051 --tls-ca ca.crt --tls-cert client.crt --tls-key client.key --token "$READ_TOKEN""#,
        Check::NotRun(
            "needs a deployed cluster through port-forwards; the README's rdfi submit is run against served services",
        ),
    ),
    (
        "nats sub 'rdfi.v1.finding.>'",
        Check::NotRun("needs the NATS cluster of a deployment, through a port-forward"),
    ),
    (
        "kubectl label namespace ops rdfi-operator=true",
        Check::NotRun(
            "needs a Kubernetes cluster; tests/tests/deploy_manifests.rs validates the manifests offline",
        ),
    ),
    (
        "kubectl label namespace security rdfi-detector=true",
        Check::NotRun(
            "needs a Kubernetes cluster; tests/tests/deploy_manifests.rs validates the manifests offline",
        ),
    ),
    // docs/experiments.md
    (
        "rdfi validate examples/campaigns/sandbox.yaml docs/examples/nightly-storage.yaml",
        Check::Run(validate_examples),
    ),
    (
        "rdfi schema > rdfi.schema.json",
        Check::Run(schema_to_a_file),
    ),
    // docs/events.md
    (
        ".venv/bin/python examples/subscriber/subscribe.py --nats nats://127.0.0.1:4222",
        Check::Run(subscriber),
    ),
    // docs/reports.md
    (
        "cargo run -q -p rdfi -- run cli/src/demo.yaml --state-dir /tmp/rdfi-state --report html,sarif,junit --output-dir /tmp/rdfi-reports",
        Check::Run(reports_walkthrough),
    ),
    (
        r#"RUN_ID=$(cargo run -q -p rdfi -- runs --state-dir /tmp/rdfi-state --limit 1 --format json | python3 -c 'import json, sys; print(json.load(sys.stdin)[0]["runId"])')"#,
        Check::RunBy(REPORTS_FIRST),
    ),
    (
        r#"cargo run -q -p rdfi -- report "$RUN_ID" --state-dir /tmp/rdfi-state --format markdown"#,
        Check::RunBy(REPORTS_FIRST),
    ),
    (
        r#"cargo run -q -p rdfi -- report "$RUN_ID" --state-dir /tmp/rdfi-state --format sarif --experiment-file cli/src/demo.yaml > /tmp/rdfi-reports/demo.sarif"#,
        Check::RunBy(REPORTS_FIRST),
    ),
    // docs/security.md
    (
        "rdfi iam-policy --faults aws.s3.bucket-public-acl,aws.iam.role-admin-policy-attached",
        Check::Run(iam_policy_printed),
    ),
    (
        "rdfi iam-policy --faults aws.s3.bucket-public-acl,aws.iam.role-admin-policy-attached --for executor --format json > rdfi-executor.json",
        Check::Run(iam_policy_to_a_file),
    ),
    // docs/signals.md
    (
        "prowler aws --no-banner -f us-east-1 -c s3_bucket_public_access -M json-ocsf -o OUT -F scan",
        Check::NotRun(
            "needs an AWS account; tests/src/tools.rs runs the same Prowler command against moto (tests/tests/real_controls.rs)",
        ),
    ),
    (
        "curl -sS --fail-with-body -H 'Content-Type: application/json' --data-binary @OUT/scan.ocsf.json http://127.0.0.1:8787/v1/signals",
        Check::NotRun(
            "posts a Prowler scan of an AWS account; tests/tests/real_controls.rs posts Prowler's file from a scan of moto",
        ),
    ),
    (
        "custodian run --cache-period 0 -s OUT policy.yml",
        Check::NotRun(
            "needs an AWS account; tests/src/tools.rs runs the same Custodian command against moto (tests/tests/real_controls.rs)",
        ),
    ),
];

const SANDBOX_CAMPAIGN_FIRST: &str =
    "rdfi plan examples/campaigns/sandbox.yaml --explain --picks 4 --state-dir DIR";
const SERVED_CAMPAIGN_FIRST: &str =
    "rdfi campaign start docs/examples/nightly-storage.yaml --planner http://planner:50052";

/// The first command of docs/reports.md's walk-through; the others are run after it, in one shell.
const REPORTS_FIRST: &str = "cargo run -q -p rdfi -- run cli/src/demo.yaml --state-dir /tmp/rdfi-state --report html,sarif,junit --output-dir /tmp/rdfi-reports";

/// How a documented ```yaml or ```json block other than an experiment is checked.
enum BlockCheck {
    /// A part of an experiment: the README's experiment with this block added parses.
    ExperimentPart,
    /// A signal the webhook takes: JSON with `resource` and `source`.
    Signal,
    /// Not rdfi's input, and what checks it.
    NotRdfi(&'static str),
}

/// Blocks that are not whole experiments, by their first line. Every `kind: Experiment` block is parsed.
const BLOCKS: &[(&str, BlockCheck)] = &[
    ("observe:", BlockCheck::ExperimentPart),
    (
        r#"{"resource": "arn:aws:s3:::payments-exports", "source": "config-rule", "title": "public bucket", "severity": "high"}"#,
        BlockCheck::Signal,
    ),
    (
        "policies:",
        BlockCheck::NotRdfi(
            "a Cloud Custodian policy: tests/tests/real_controls.rs runs it with Custodian against moto",
        ),
    ),
];

/// A fenced block of a doc: its language and its text.
struct Block {
    doc: PathBuf,
    language: String,
    text: String,
}

/// The docs a new user reads: README.md and docs/*.md (with docs/adr/).
fn docs() -> Vec<PathBuf> {
    let root = workspace_root();
    let mut docs = vec![root.join("README.md")];
    let mut pending = vec![root.join("docs")];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir)
            .expect("docs/ is readable")
            .flatten()
        {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|ext| ext == "md") {
                docs.push(path);
            }
        }
    }
    docs.sort();
    docs
}

fn blocks() -> Vec<Block> {
    let mut blocks = Vec::new();
    for doc in docs() {
        let text = std::fs::read_to_string(&doc).expect("a doc is text");
        let mut open: Option<(String, String)> = None;
        for line in text.lines() {
            match (&mut open, line.trim_start().strip_prefix("```")) {
                (None, Some(language)) => open = Some((language.trim().to_owned(), String::new())),
                (Some(_), Some(_)) => {
                    let (language, text) = open.take().expect("an open block");
                    blocks.push(Block {
                        doc: doc.clone(),
                        language,
                        text,
                    });
                }
                (Some((_, text)), None) => {
                    text.push_str(line);
                    text.push('\n');
                }
                (None, None) => {}
            }
        }
        assert!(open.is_none(), "{}: a block is not closed", doc.display());
    }
    blocks
}

/// The commands of a ```sh block: comments stripped, lines ending in `\` joined to the next.
fn commands(block: &str) -> Vec<String> {
    let mut commands = Vec::new();
    let mut pending = String::new();
    for line in block.lines() {
        let line = match line.find(" #") {
            Some(comment) => &line[..comment],
            None if line.trim_start().starts_with('#') => "",
            None => line,
        };
        let line = line.trim();
        match line.strip_suffix('\\') {
            Some(continued) => {
                pending.push_str(continued.trim());
                pending.push(' ');
            }
            None => {
                pending.push_str(line);
                if !pending.trim().is_empty() {
                    commands.push(pending.trim().to_owned());
                }
                pending.clear();
            }
        }
    }
    commands
}

fn documented_commands() -> Vec<(PathBuf, String)> {
    blocks()
        .into_iter()
        .filter(|block| matches!(block.language.as_str(), "sh" | "bash" | "shell" | "console"))
        .flat_map(|block| {
            commands(&block.text)
                .into_iter()
                .map(move |command| (block.doc.clone(), command))
        })
        .collect()
}

/// The README's experiment, the `experiment.yaml` of its commands.
fn readme_experiment() -> String {
    let readme = workspace_root().join("README.md");
    blocks()
        .into_iter()
        .find(|block| block.doc == readme && block.language == "yaml" && is_experiment(&block.text))
        .expect("the README shows an experiment")
        .text
}

fn is_experiment(text: &str) -> bool {
    text.lines().any(|line| line.trim() == "kind: Experiment")
}

#[test]
fn every_documented_command_has_a_check_and_every_check_a_command() {
    let documented = documented_commands();
    let listed: BTreeSet<&str> = COMMANDS.iter().map(|(command, _)| *command).collect();
    let unlisted: Vec<String> = documented
        .iter()
        .filter(|(_, command)| !listed.contains(command.as_str()))
        .map(|(doc, command)| format!("{}: {command}", doc.display()))
        .collect();
    assert!(
        unlisted.is_empty(),
        "commands in the docs that no entry of COMMANDS checks (add one: run it, or say why not):\n{}",
        unlisted.join("\n")
    );
    let shown: BTreeSet<&str> = documented
        .iter()
        .map(|(_, command)| command.as_str())
        .collect();
    let stale: Vec<&&str> = listed
        .iter()
        .filter(|command| !shown.contains(**command))
        .collect();
    assert!(
        stale.is_empty(),
        "COMMANDS lists commands no doc shows: {stale:?}"
    );
    for (command, check) in COMMANDS {
        match check {
            Check::NotRun(reason) => {
                assert!(!reason.is_empty(), "{command}: say why it is not run")
            }
            Check::RunBy(other) => assert!(
                COMMANDS
                    .iter()
                    .any(|(listed, check)| listed == other && matches!(check, Check::Run(_))),
                "{command}: {other} is not run"
            ),
            Check::Run(_) => {}
        }
    }
}

#[test]
fn every_documented_experiment_and_block_is_valid() {
    let experiment = readme_experiment();
    let mut checked = 0;
    for block in blocks() {
        let place = block.doc.display().to_string();
        match block.language.as_str() {
            "yaml" if is_experiment(&block.text) => {
                rdfi_core::experiment::parse(&block.text, &place)
                    .unwrap_or_else(|error| panic!("{place}: the experiment is rejected: {error}"));
            }
            "yaml" | "json" => {
                let first = block.text.lines().next().unwrap_or_default().trim();
                let (_, check) = BLOCKS
                    .iter()
                    .find(|(line, _)| *line == first)
                    .unwrap_or_else(|| {
                        panic!("{place}: no entry of BLOCKS checks the block starting {first:?}")
                    });
                match check {
                    BlockCheck::ExperimentPart => {
                        let whole = format!("{experiment}{}", block.text);
                        rdfi_core::experiment::parse(&whole, &place).unwrap_or_else(|error| {
                            panic!("{place}: the README's experiment with this part is rejected: {error}")
                        });
                    }
                    BlockCheck::Signal => {
                        let signal: serde_json::Value =
                            serde_json::from_str(&block.text).expect("the signal is JSON");
                        assert!(
                            signal["resource"].is_string() && signal["source"].is_string(),
                            "{place}"
                        );
                    }
                    BlockCheck::NotRdfi(reason) => assert!(!reason.is_empty()),
                }
            }
            _ => continue,
        }
        checked += 1;
    }
    assert!(checked >= 4, "only {checked} blocks found");
}

#[test]
fn every_documented_command_that_can_run_runs_as_written() {
    let commands = documented_commands();
    // Each in a thread of its own, with servers of its own: the runs hold their faults for a minute.
    std::thread::scope(|scope| {
        for (command, check) in COMMANDS {
            let Check::Run(run) = check else { continue };
            if commands.iter().any(|(_, shown)| shown == command) {
                scope.spawn(move || run(command));
            }
        }
    });
}

/// The words of a command, split as the shell would for the simple quoting the docs use.
fn words(command: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quote = None;
    let mut in_word = false;
    for character in command.chars() {
        match (quote, character) {
            (None, '\'' | '"') => {
                quote = Some(character);
                in_word = true;
            }
            (Some(open), _) if character == open => quote = None,
            (None, ' ') => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                }
                in_word = false;
            }
            _ => {
                word.push(character);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(word);
    }
    words
}

/// The built `rdfi` for a documented `rdfi ...` or `cargo run -p rdfi -- ...`, with its arguments.
fn rdfi(command: &str) -> Command {
    let words = words(command);
    let args = match words.iter().position(|word| word == "--") {
        Some(dashes) if words.starts_with(&["cargo".into(), "run".into()]) => &words[dashes + 1..],
        _ => {
            assert_eq!(words[0], "rdfi", "{command}");
            &words[1..]
        }
    };
    let mut rdfi = Command::new(rdfi_binary("rdfi"));
    rdfi.args(args).stdin(Stdio::null());
    rdfi
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn said(output: &Output) -> String {
    format!(
        "{}\nstdout:\n{}\nstderr:\n{}",
        output.status,
        text(&output.stdout),
        text(&output.stderr)
    )
}

fn demo(command: &str) {
    let output = rdfi(command).output().expect("rdfi demo runs");
    assert_eq!(output.status.code(), Some(0), "{}", said(&output));
    let stdout = text(&output.stdout);
    for shown in [
        "FAULT",
        "aws.s3.bucket-public-acl            ml-training-data  missed",
        "1 finding(s):",
    ] {
        assert!(stdout.contains(shown), "{shown:?} not in {stdout}");
    }
}

/// A moto account with the bucket the README's commands are about, opted in and tagged `team: data`.
fn moto_with_my_bucket() -> MotoServer {
    let moto = MotoServer::start();
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    runtime.block_on(async {
        rdfi_tests::aws::clients(&moto.endpoint)
            .await
            .create_bucket("my-bucket", &[("rdfi-target", "true"), ("team", "data")])
            .await;
    });
    moto
}

/// A directory holding the README's experiment as `experiment.yaml`, where the commands run.
fn readme_directory() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a directory");
    std::fs::write(dir.path().join("experiment.yaml"), readme_experiment())
        .expect("experiment.yaml");
    dir
}

/// What a run on `moto` needs in its environment: test credentials, its own state directory and webhook.
fn run_env(moto: &MotoServer, dir: &Path, webhook: u16) -> Vec<(String, String)> {
    let mut env = moto.process_env();
    env.push((
        "XDG_STATE_HOME".into(),
        dir.join("state").display().to_string(),
    ));
    env.push(("RDFI_WEBHOOK_LISTEN".into(), format!("127.0.0.1:{webhook}")));
    env
}

fn report_of(output: &Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|error| panic!("{error}: {}", said(output)))
}

/// `rdfi run experiment.yaml --aws-endpoint http://127.0.0.1:5000 --format json`, moto standing at 5000.
fn run_as_json_on_moto(command: &str) {
    let moto = moto_with_my_bucket();
    let dir = readme_directory();
    let command = command.replace("http://127.0.0.1:5000", &moto.endpoint);
    let output = rdfi(&command)
        .current_dir(dir.path())
        .envs(run_env(&moto, dir.path(), free_port()))
        .output()
        .expect("rdfi run");
    // No detector watches the bucket: the fault is missed, a finding.
    assert_eq!(output.status.code(), Some(1), "{}", said(&output));
    let report = report_of(&output);
    assert_eq!(report["faults"][0]["faultId"], "aws.s3.bucket-public-acl");
    assert_eq!(report["faults"][0]["resourceName"], "my-bucket");
    assert_eq!(report["faults"][0]["verdict"], "missed", "{report}");
    assert_eq!(report["faults"][0]["revertVerified"], true, "{report}");
    assert!(
        !text(&output.stderr).contains('\u{1b}'),
        "colours off a terminal"
    );
}

/// `rdfi run experiment.yaml` through the standard chain (the environment points it at moto), and the
/// README's `curl` to the webhook while the fault is in place, `localhost:8787` standing for the webhook.
fn run_with_a_detector(run: &str) {
    let curl = COMMANDS
        .iter()
        .map(|(command, _)| *command)
        .find(|command| command.starts_with("curl -XPOST localhost:8787"))
        .expect("the README's curl");
    let moto = moto_with_my_bucket();
    let dir = readme_directory();
    let webhook = free_port();
    let mut env = run_env(&moto, dir.path(), webhook);
    env.push(("RDFI_AWS_ENDPOINT".into(), moto.endpoint.clone()));
    let words = words(run);
    let mut process = Process::spawn_in(&rdfi_binary("rdfi"), &words[1..], &env, dir.path());
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let injected = runtime.block_on(wait_until(Duration::from_secs(60), || {
        let log = process.log();
        async move { log.contains("injected   aws.s3.bucket-public-acl on my-bucket") }
    }));
    assert!(injected, "{}", process.log());
    let curl = curl.replace("localhost:8787", &format!("127.0.0.1:{webhook}"));
    let posted = Command::new("sh")
        .args(["-c", &curl])
        .output()
        .expect("sh runs curl");
    assert!(posted.status.success(), "{curl}: {}", said(&posted));
    let answer: serde_json::Value =
        serde_json::from_slice(&posted.stdout).expect("the answer is JSON");
    assert_eq!(answer["correlated"], 1, "{}", said(&posted));
    let exited = runtime.block_on(wait_until(Duration::from_secs(180), || {
        let done = !process.is_running();
        async move { done }
    }));
    assert!(exited, "{}", process.log());
    let log = process.log();
    assert!(
        log.contains("detect met after") && log.contains("by my-detector"),
        "{log}"
    );
    // The README's queries of what that run left in its state directory, `DIR`.
    let state = dir.path().join("state/rdfi").display().to_string();
    for (query, says) in [
        ("rdfi runs --state-dir DIR", "public-bucket-gets-caught"),
        ("rdfi findings --state-dir DIR --since 7days", ""),
        ("rdfi controls --state-dir DIR", "my-detector"),
        (
            "rdfi asset my-bucket --state-dir DIR",
            "aws.s3.bucket-public-acl",
        ),
        ("rdfi audit --state-dir DIR", "revert"),
    ] {
        assert!(
            COMMANDS.iter().any(|(command, _)| *command == query),
            "{query}"
        );
        let query = query.replace("DIR", &state);
        let output = rdfi(&query).output().expect("rdfi runs");
        assert_eq!(output.status.code(), Some(0), "{query}: {}", said(&output));
        assert!(
            text(&output.stdout).contains(says),
            "{query}: {}",
            said(&output)
        );
    }
    // The run's discovery kept the bucket as an asset, its reach read: nothing public on it then.
    let assets = shown("rdfi assets --state-dir DIR").replace("DIR", &state);
    let output = rdfi(&assets).output().expect("rdfi assets");
    assert_eq!(output.status.code(), Some(0), "{assets}: {}", said(&output));
    assert_asset(&output, "my-bucket", "internal");
    // Someone makes the bucket public; a refresh reads it so (and changes nothing).
    let aws = runtime.block_on(rdfi_tests::aws::clients(&moto.endpoint));
    runtime.block_on(make_public(&aws));
    let refresh = shown("rdfi assets --refresh --provider aws --state-dir").replace("DIR", &state);
    let output = rdfi(&refresh)
        .envs(run_env(&moto, dir.path(), free_port()))
        .env("RDFI_AWS_ENDPOINT", &moto.endpoint)
        .output()
        .expect("rdfi assets --refresh");
    assert_eq!(
        output.status.code(),
        Some(0),
        "{refresh}: {}",
        said(&output)
    );
    assert_asset(&output, "my-bucket", "public");
    assert!(
        runtime.block_on(aws.bucket_is_public("my-bucket")),
        "a refresh changes nothing"
    );
}

/// What someone outside rdfi does: a public-read ACL on `my-bucket`.
async fn make_public(aws: &rdfi_tests::aws::Clients) {
    aws.s3
        .put_bucket_acl()
        .bucket("my-bucket")
        .acl(aws_sdk_s3::types::BucketCannedAcl::PublicRead)
        .send()
        .await
        .expect("a public ACL");
}

/// `rdfi assets`'s table has a row for `name` with reach `reach`.
fn assert_asset(output: &Output, name: &str, reach: &str) {
    let stdout = text(&output.stdout);
    assert!(
        stdout.lines().any(|line| {
            let columns: Vec<&str> = line.split_whitespace().collect();
            columns.first() == Some(&name) && columns.contains(&reach)
        }),
        "{name} is not {reach}: {}",
        said(output)
    );
}

/// `rdfi run experiment.yaml --dry-run`: nothing changes, and nothing was tested (exit 4).
fn dry_run(command: &str) {
    let moto = moto_with_my_bucket();
    let dir = readme_directory();
    let mut env = run_env(&moto, dir.path(), free_port());
    env.push(("RDFI_AWS_ENDPOINT".into(), moto.endpoint.clone()));
    let output = rdfi(command)
        .current_dir(dir.path())
        .envs(env)
        .output()
        .expect("rdfi run --dry-run");
    assert_eq!(output.status.code(), Some(4), "{}", said(&output));
    let stdout = text(&output.stdout);
    assert!(stdout.contains("would change my-bucket"), "{stdout}");
    assert!(
        stdout.contains("Nothing was tested: it was a dry run"),
        "{stdout}"
    );
}

/// `rdfi status`, `recover` and `resume --state-dir DIR` on a state directory no run has left anything in.
fn safety_on_a_fresh_state_dir(_: &str) {
    let state = tempfile::tempdir().expect("a state directory");
    for (command, says) in [
        ("rdfi status --state-dir DIR", "no open fault"),
        ("rdfi recover --state-dir DIR", ""),
        ("rdfi resume --state-dir DIR", "injections allowed again"),
    ] {
        let command = command.replace("DIR", &state.path().display().to_string());
        let output = rdfi(&command).output().expect("rdfi runs");
        assert_eq!(
            output.status.code(),
            Some(0),
            "{command}: {}",
            said(&output)
        );
        assert!(
            text(&output.stdout).contains(says),
            "{command}: {}",
            said(&output)
        );
    }
}

/// The example subscriber, from the workspace root, nats-server standing at 4222: it listens once the stream is
/// there (tests/tests/subscriber.rs follows it through a run).
fn subscriber(command: &str) {
    // Installs the venv the command names, when it is missing.
    rdfi_tests::venv_program("python");
    let nats = rdfi_tests::NatsServer::start();
    let command = command.replace("nats://127.0.0.1:4222", &nats.url);
    let words = words(&command);
    let mut process = Process::spawn_in(
        &workspace_root().join(&words[0]),
        &words[1..],
        &[],
        &workspace_root(),
    );
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let waiting = runtime.block_on(wait_until(Duration::from_secs(60), || {
        let log = process.log();
        async move { log.contains("waiting for the RDFI stream") }
    }));
    assert!(waiting, "{}", process.log());
    assert!(process.is_running(), "{}", process.log());
}

/// `rdfi serve` over nats-server (standing at `nats://nats:4222`) on moto, the README's `rdfi submit` to it
/// (its planner and knowledge standing at `planner:50052` and `knowledge:50051`), and, once the fault is in
/// place, the README's `rdfi abort` (its executor at `executor:50053`): the fault is reverted at once and the
/// submitted run ends as aborted.
/// `rdfi serve` as the README shows it, on a nats-server and a moto of its own, every listener on a free port.
struct Served {
    nats: rdfi_tests::NatsServer,
    moto: MotoServer,
    dir: tempfile::TempDir,
    services: Process,
    env: Vec<(String, String)>,
    /// Each documented URL (`http://planner:50052`) and the port it stands for here.
    urls: Vec<(&'static str, u16)>,
}

impl Served {
    fn start(serve: &str) -> Served {
        let nats = rdfi_tests::NatsServer::start();
        let moto = moto_with_my_bucket();
        let dir = readme_directory();
        let [knowledge, planner, executor, webhook] =
            [free_port(), free_port(), free_port(), free_port()];
        let mut env = moto.process_env();
        for (key, port) in [
            ("RDFI_KNOWLEDGE_LISTEN", knowledge),
            ("RDFI_PLANNER_LISTEN", planner),
            ("RDFI_EXECUTOR_LISTEN", executor),
            ("RDFI_WEBHOOK_LISTEN", webhook),
        ] {
            env.push((key.to_owned(), format!("127.0.0.1:{port}")));
        }
        env.push((
            "RDFI_STATE_DIR".into(),
            dir.path().join("state").display().to_string(),
        ));
        env.push(("RDFI_AWS_ENDPOINT".into(), moto.endpoint.clone()));
        env.push((
            "RDFI_KNOWLEDGE_URL".into(),
            format!("http://127.0.0.1:{knowledge}"),
        ));
        let serve = serve.replace("nats://nats:4222", &nats.url);
        let services =
            Process::spawn_in(&rdfi_binary("rdfi"), &words(&serve)[1..], &env, dir.path());
        for port in [knowledge, planner, executor, webhook] {
            assert!(
                rdfi_tests::wait_for_port(port, Duration::from_secs(60)),
                "rdfi serve did not listen on {port}: {}",
                services.log()
            );
        }
        Served {
            nats,
            moto,
            dir,
            services,
            env,
            urls: vec![
                ("http://planner:50052", planner),
                ("http://knowledge:50051", knowledge),
                ("http://executor:50053", executor),
            ],
        }
    }

    /// A documented command with each service's URL, and the NATS server's, replaced by this one's.
    fn substituted(&self, command: &str) -> String {
        self.urls
            .iter()
            .fold(command.to_owned(), |command, (from, port)| {
                command.replace(from, &format!("http://127.0.0.1:{port}"))
            })
            .replace("nats://nats:4222", &self.nats.url)
    }
}

/// The documented command that starts with `start`.
fn shown(start: &str) -> &'static str {
    COMMANDS
        .iter()
        .map(|(command, _)| *command)
        .find(|command| command.starts_with(start))
        .unwrap_or_else(|| panic!("no documented command starts {start:?}"))
}

fn cluster(serve: &str) {
    let served = Served::start(serve);
    let (moto, dir, services, env) = (&served.moto, &served.dir, &served.services, &served.env);
    let submit = served.substituted(shown("rdfi submit experiment.yaml"));
    let mut submitted =
        Process::spawn_in(&rdfi_binary("rdfi"), &words(&submit)[1..], env, dir.path());
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let aws = runtime.block_on(rdfi_tests::aws::clients(&moto.endpoint));
    let public = runtime.block_on(wait_until(Duration::from_secs(60), || {
        aws.bucket_is_public("my-bucket")
    }));
    assert!(
        public,
        "the fault was not injected: {}\n{}",
        submitted.log(),
        services.log()
    );
    let abort = served.substituted(shown("rdfi abort --executor"));
    let aborted = rdfi(&abort).envs(env.clone()).output().expect("rdfi abort");
    assert_eq!(
        aborted.status.code(),
        Some(0),
        "{abort}: {}",
        said(&aborted)
    );
    let reverted = runtime.block_on(wait_until(Duration::from_secs(20), || async {
        !aws.bucket_is_public("my-bucket").await
    }));
    assert!(reverted, "the abort did not revert: {}", services.log());
    let ended = runtime.block_on(wait_until(Duration::from_secs(60), || {
        let done = !submitted.is_running();
        async move { done }
    }));
    assert!(ended, "rdfi submit did not end: {}", submitted.log());
    let log = submitted.log();
    assert!(log.contains("submitted run "), "{log}");
    assert!(log.contains("aws.s3.bucket-public-acl"), "{log}");
    let controls = served.substituted(shown("rdfi controls --knowledge"));
    let output = rdfi(&controls).output().expect("rdfi controls");
    assert_eq!(
        output.status.code(),
        Some(0),
        "{controls}: {}",
        said(&output)
    );
    serde_json::from_slice::<serde_json::Value>(&output.stdout)
        .unwrap_or_else(|error| panic!("{controls}: {error}: {}", said(&output)));
    // Someone makes the bucket public; the cluster's monitor, asked, reads it so into knowledge.
    runtime.block_on(make_public(&aws));
    let refresh = served.substituted(shown("rdfi assets --refresh --provider aws --knowledge"));
    let output = rdfi(&refresh).output().expect("rdfi assets --refresh");
    assert_eq!(
        output.status.code(),
        Some(0),
        "{refresh}: {}\n{}",
        said(&output),
        services.log()
    );
    assert_asset(&output, "my-bucket", "public");
}

/// docs/reports.md's commands, one after the other in one shell from the workspace root as a reader types
/// them: `cargo run -q -p rdfi --` is the built `rdfi` (a `cargo` on the PATH that runs it), and temporary
/// directories stand for `/tmp/rdfi-state` and `/tmp/rdfi-reports`.
fn reports_walkthrough(first: &str) {
    let scratch = tempfile::tempdir().expect("a directory");
    let bin = scratch.path().join("bin");
    std::fs::create_dir(&bin).expect("bin/");
    let cargo = bin.join("cargo");
    std::fs::write(
        &cargo,
        format!(
            "#!/bin/sh\n# cargo run [-q] -p rdfi -- ARGS: the built rdfi\nwhile [ \"$1\" != -- ]; do shift; done\nshift\nexec {} \"$@\"\n",
            rdfi_binary("rdfi").display()
        ),
    )
    .expect("the cargo stand-in");
    std::process::Command::new("chmod")
        .arg("+x")
        .arg(&cargo)
        .status()
        .expect("chmod");
    let state = scratch.path().join("state").display().to_string();
    let reports = scratch.path().join("reports").display().to_string();
    let walk: Vec<String> = COMMANDS
        .iter()
        .map(|(command, _)| *command)
        .skip_while(|command| *command != first)
        .take(4)
        .map(|command| {
            command
                .replace("/tmp/rdfi-state", &state)
                .replace("/tmp/rdfi-reports", &reports)
        })
        .collect();
    assert_eq!(walk.len(), 4, "{walk:?}");
    // Each command's exit code, as the reader sees them one by one.
    let script: String = walk
        .iter()
        .map(|command| format!("{command}\necho \"exit $?\" >&2\n"))
        .collect();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let output = Command::new("sh")
        .args(["-c", &script])
        .current_dir(workspace_root())
        .env("PATH", path)
        .env("RDFI_WEBHOOK_LISTEN", format!("127.0.0.1:{}", free_port()))
        .stdin(Stdio::null())
        .output()
        .expect("sh runs the walk-through");
    let stderr = text(&output.stderr);
    let codes: Vec<&str> = stderr
        .lines()
        .filter_map(|line| line.strip_prefix("exit "))
        .collect();
    // The demo's run exits 1 (a finding), as the page says; the rest 0.
    assert_eq!(codes, ["1", "0", "0", "0"], "{}", said(&output));
    let stdout = text(&output.stdout);
    assert!(stdout.contains("# "), "the markdown report: {stdout}");
    for file in ["report.html", "report.sarif", "report.junit.xml"] {
        let written = Path::new(&reports).join(file);
        assert!(
            written.exists(),
            "{} is missing: {}",
            written.display(),
            said(&output)
        );
    }
    let sarif: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(Path::new(&reports).join("demo.sarif")).expect("demo.sarif"),
    )
    .expect("demo.sarif is JSON");
    assert_eq!(sarif["version"], "2.1.0");
}

#[test]
fn commands_split_and_comments_go_as_the_shell_would() {
    assert_eq!(
        commands(
            "rdfi run x.yaml   # a comment\n# a line of comment\ncurl -XPOST a \\\n  -d '{\"a\": 1}'\n"
        ),
        ["rdfi run x.yaml", "curl -XPOST a -d '{\"a\": 1}'"]
    );
    assert_eq!(
        words(r#"curl -H 'content-type: application/json' -d '{"a":"b"}'"#),
        [
            "curl",
            "-H",
            "content-type: application/json",
            "-d",
            r#"{"a":"b"}"#
        ]
    );
}

/// A documented command run from the workspace root, where its paths are, with DIR a fresh directory.
fn at_root(command: &str, dir: &Path) -> Output {
    let command = command.replace("DIR", &dir.display().to_string());
    rdfi(&command)
        .current_dir(workspace_root())
        .output()
        .unwrap_or_else(|error| panic!("{command}: {error}"))
}

/// docs/campaigns.md's walk-through on the sandbox: plan, run the campaign, plan again.
fn sandbox_campaign(first: &str) {
    let dir = tempfile::tempdir().expect("a directory");
    let before = at_root(first, dir.path());
    assert_eq!(before.status.code(), Some(0), "{}", said(&before));
    let table = text(&before.stdout);
    assert!(
        table.starts_with("strategy risk-ranked (seed 0): 4 of 4 candidates picked"),
        "{table}"
    );
    assert!(
        table.contains("aws.iam.user-admin-policy-attached  ci-deployer"),
        "{table}"
    );
    let run = at_root(
        shown("rdfi run examples/campaigns/sandbox.yaml"),
        dir.path(),
    );
    // A fault went uncaught: 1, as for an experiment.
    assert_eq!(run.status.code(), Some(1), "{}", said(&run));
    let report = text(&run.stdout);
    assert!(
        report.contains("completed (its budget of 8 faults is spent); 8 rounds, 8 faults"),
        "{report}"
    );
    assert!(report.contains("findings, riskiest first:"), "{report}");
    assert!(
        text(&run.stderr).contains("rdfi: round 8 ("),
        "{}",
        said(&run)
    );
    // Asked again once the last miss's cool-down (3 s in the file) has passed, as the docs say.
    std::thread::sleep(Duration::from_secs(3));
    let after = at_root(
        shown(
            "rdfi plan examples/campaigns/sandbox.yaml --explain --picks 4 --state-dir DIR --format",
        ),
        dir.path(),
    );
    assert_eq!(after.status.code(), Some(0), "{}", said(&after));
    let plan: serde_json::Value = serde_json::from_slice(&after.stdout).expect("JSON");
    assert_eq!(
        plan["picks"][0]["resourceName"], "ml-training-data",
        "{plan:#}"
    );
    assert!(
        plan["picks"][0]["inputs"]["missedHere"].as_u64().unwrap() >= 1,
        "{plan:#}"
    );
}

/// docs/campaigns.md's campaign commands against `rdfi serve` as the README runs it: start the nightly
/// campaign (its first round waits for 02:00 UTC), see it, pause, resume and stop it.
fn served_campaign(start: &str) {
    let served = Served::start(shown("rdfi serve --services all"));
    let run = |command: &str, id: &str| {
        let command = served.substituted(command).replace("CAMPAIGN_ID", id);
        let output = rdfi(&command)
            .current_dir(workspace_root())
            .envs(served.env.clone())
            .output()
            .unwrap_or_else(|error| panic!("{command}: {error}"));
        assert_eq!(
            output.status.code(),
            Some(0),
            "{command}: {}\n{}",
            said(&output),
            served.services.log()
        );
        text(&output.stdout)
    };
    let started = run(start, "");
    let id = started
        .split_whitespace()
        .next()
        .expect("the campaign's id")
        .to_owned();
    assert!(
        started.contains("nightly-storage [explore-exploit, seed 42]: running"),
        "{started}"
    );
    let status = run(shown("rdfi campaign status"), "");
    assert!(
        status.starts_with(&format!("{id} nightly-storage")),
        "{status}"
    );
    for (command, state) in [
        ("rdfi campaign pause", "paused"),
        ("rdfi campaign resume", "running"),
        ("rdfi campaign stop", "cancelled"),
    ] {
        let line = run(shown(command), &id);
        assert!(line.contains(&format!(": {state}")), "{command}: {line}");
    }
}

/// docs/experiments.md: both examples are valid.
fn validate_examples(command: &str) {
    let dir = tempfile::tempdir().expect("a directory");
    let output = at_root(command, dir.path());
    assert_eq!(output.status.code(), Some(0), "{}", said(&output));
    let lines: Vec<String> = text(&output.stdout).lines().map(str::to_owned).collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(
        lines.iter().all(|line| line.contains(": valid campaign ")),
        "{lines:?}"
    );
}

/// docs/experiments.md: `rdfi schema > rdfi.schema.json` in a shell, in a fresh directory.
fn schema_to_a_file(command: &str) {
    let dir = tempfile::tempdir().expect("a directory");
    let output = in_a_shell(command, dir.path());
    assert_eq!(output.status.code(), Some(0), "{}", said(&output));
    let schema: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("rdfi.schema.json")).unwrap())
            .unwrap();
    assert!(
        schema["$defs"]["campaign"]["properties"]["budget"].is_object(),
        "{schema:#}"
    );
}

/// `command` in `sh`, in `dir`, with the built `rdfi` first on the PATH.
fn in_a_shell(command: &str, dir: &Path) -> Output {
    let bin = rdfi_binary("rdfi");
    let path = format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    Command::new("sh")
        .arg("-c")
        .arg(command)
        .current_dir(dir)
        .env("PATH", path)
        .output()
        .expect("sh")
}

/// The statement of a policy document with this Sid.
fn statement<'a>(policy: &'a serde_json::Value, sid: &str) -> &'a serde_json::Value {
    policy["Statement"]
        .as_array()
        .and_then(|statements| statements.iter().find(|statement| statement["Sid"] == sid))
        .unwrap_or_else(|| panic!("no statement {sid} in {policy:#}"))
}

/// docs/security.md: `rdfi iam-policy --faults ...` prints the AWS policy under its heading: changes to opted-in
/// roles only, bucket ACL changes, and the canaries.
fn iam_policy_printed(command: &str) {
    let output = rdfi(command).output().expect("rdfi iam-policy runs");
    assert_eq!(output.status.code(), Some(0), "{}", said(&output));
    let stdout = text(&output.stdout);
    let (heading, document) = stdout.split_once('\n').expect("a heading");
    assert_eq!(heading, "# AWS IAM policy (attach to rdfi's user or role)");
    let policy: serde_json::Value = serde_json::from_str(document).expect("the policy document");
    let opted_in = statement(&policy, "RdfiChangeOptedIn");
    assert_eq!(
        opted_in["Action"],
        serde_json::json!(["iam:AttachRolePolicy", "iam:DetachRolePolicy"])
    );
    assert_eq!(
        opted_in["Condition"]["StringEquals"]["aws:ResourceTag/rdfi-target"],
        "true"
    );
    assert_eq!(
        statement(&policy, "RdfiChangeBuckets")["Action"],
        serde_json::json!(["s3:PutBucketAcl"])
    );
    statement(&policy, "RdfiExposureCanaries");
    assert_eq!(statement(&policy, "RdfiNeverProtected")["Effect"], "Deny");
}

/// docs/security.md and docs/deploy.md: the executor's or the monitor's policy as JSON into a file. The
/// executor's has reads, changes and attribution and discovers nothing; the monitor's only reads, discovery
/// among them. Neither has a GCP role.
fn iam_policy_to_a_file(command: &str) {
    let dir = tempfile::tempdir().expect("a directory");
    let output = in_a_shell(command, dir.path());
    assert_eq!(output.status.code(), Some(0), "{}", said(&output));
    let monitor = command.contains("--for monitor");
    let file = if monitor {
        "rdfi-monitor.json"
    } else {
        "rdfi-executor.json"
    };
    let printed: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join(file)).unwrap()).unwrap();
    assert!(printed["gcp"].is_null(), "{printed:#}");
    let reads = statement(&printed["aws"], "RdfiRead")["Action"]
        .as_array()
        .unwrap()
        .clone();
    assert!(reads.contains(&"s3:GetBucketAcl".into()), "{reads:?}");
    assert!(
        reads.contains(&"iam:ListAttachedRolePolicies".into()),
        "{reads:?}"
    );
    assert_eq!(
        reads.contains(&"s3:ListAllMyBuckets".into()),
        monitor,
        "{reads:?}"
    );
    assert_eq!(
        reads.contains(&"iam:GetPolicyVersion".into()),
        !monitor,
        "{reads:?}"
    );
    let statements = printed["aws"]["Statement"].as_array().unwrap().len();
    assert_eq!(statements == 1, monitor, "{printed:#}");
}

/// docs/deploy.md: a custom role's `--permissions` are exactly what `rdfi iam-policy` prints for every Google
/// Cloud fault, for the executor (rdfiExecutor) or the monitor (rdfiMonitor).
fn gcp_role_is_what_iam_policy_prints(command: &str) {
    let words = words(command);
    let given = words
        .iter()
        .position(|word| word == "--permissions")
        .map(|at| {
            words[at + 1]
                .split(',')
                .map(str::to_owned)
                .collect::<BTreeSet<_>>()
        })
        .expect("--permissions");
    let identity = if command.contains("rdfiMonitor") {
        "monitor"
    } else {
        "executor"
    };
    let catalog = rdfi("rdfi catalog --provider gcp --format json")
        .output()
        .expect("rdfi catalog");
    let faults: Vec<String> = serde_json::from_slice::<serde_json::Value>(&catalog.stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .map(|fault| fault["id"].as_str().unwrap().to_owned())
        .collect();
    let output = rdfi(&format!(
        "rdfi iam-policy --faults {} --for {identity} --format json",
        faults.join(",")
    ))
    .output()
    .expect("rdfi iam-policy");
    assert_eq!(output.status.code(), Some(0), "{}", said(&output));
    let printed: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let printed: BTreeSet<String> = printed["gcp"]["includedPermissions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|permission| permission.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(given, printed, "{command}");
}
