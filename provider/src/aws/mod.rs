//! AWS through the official SDK: the standard configuration and credential chain (environment, profiles, SSO,
//! assume-role), with an optional endpoint override for moto or LocalStack.

pub mod account;
pub mod attribution;
mod cloudtrail;
mod cloudwatch;
mod config;
mod ec2;
mod ec2_instances;
mod ecr;
mod errors;
pub mod evaluate;
mod guardduty;
mod iam;
mod kms;
mod lambda;
mod logs;
mod rds;
mod resource_policy;
mod s3;
mod secretsmanager;
mod securityhub;
mod sns;
mod sqs;
mod switch;

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use rdfi_proto::v1::ResourceRef;
use serde_json::Value;

use crate::exposure::{AnonymousAnswer, Canary, OutsiderRead};
use crate::marking::MarkAwsCalls;
use crate::{DriverSet, FaultOperations, Provider, ProviderError, Result};

pub const BUCKET: &str = "aws.s3.bucket";
pub const USER: &str = "aws.iam.user";

/// A bucket as a resource reference; `provider` is `aws`, or `sandbox` for its in-memory twin.
pub fn bucket_ref(
    provider: &str,
    name: &str,
    region: &str,
    tags: BTreeMap<String, String>,
) -> ResourceRef {
    ResourceRef {
        exposure: String::new(),
        provider: provider.to_owned(),
        resource_type: BUCKET.to_owned(),
        id: format!("arn:aws:s3:::{name}"),
        name: name.to_owned(),
        region: region.to_owned(),
        tags: tags.into_iter().collect(),
    }
}

/// An IAM user as a resource reference.
pub fn user_ref(
    provider: &str,
    arn: &str,
    name: &str,
    tags: BTreeMap<String, String>,
) -> ResourceRef {
    ResourceRef {
        exposure: String::new(),
        provider: provider.to_owned(),
        resource_type: USER.to_owned(),
        id: arn.to_owned(),
        name: name.to_owned(),
        region: String::new(),
        tags: tags.into_iter().collect(),
    }
}

/// Error codes that mean the call was refused for its rate and had no effect.
const THROTTLING_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "RequestLimitExceeded",
    "RequestThrottled",
    "SlowDown",
    "TooManyRequestsException",
];

/// Error codes that mean the cloud refused the change on purpose: a preventive control.
const REFUSAL_CODES: &[&str] = &[
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "AccessControlListNotSupported",
    "ExplicitDeny",
];

/// How many attempts the SDK makes of one AWS call that fails with throttling, a server error or a transport
/// failure (its standard retry mode: exponential backoff with jitter). The SDK is the one retry layer for
/// AWS: its errors reach rdfi as not retryable, so [`crate::with_retry`] does not multiply the attempts.
pub const ATTEMPTS: u32 = 5;
/// How long one AWS call may take in all, from the first attempt to the answer.
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(30);
/// How long one attempt of an AWS call may take, answer included.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long connecting to an AWS endpoint (TCP and TLS) may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The timeouts every AWS call of rdfi runs under.
fn timeout_config() -> TimeoutConfig {
    TimeoutConfig::builder()
        .operation_timeout(OPERATION_TIMEOUT)
        .operation_attempt_timeout(ATTEMPT_TIMEOUT)
        .connect_timeout(CONNECT_TIMEOUT)
        .build()
}

/// How to reach AWS.
#[derive(Clone, Debug, Default)]
pub struct AwsSettings {
    pub region: String,
    /// Endpoint override (moto, LocalStack); the SDK's own resolution when `None`.
    pub endpoint: Option<String>,
}

/// The SDK clients the fault drivers use.
pub struct AwsClients {
    pub s3: aws_sdk_s3::Client,
    /// S3 as an outsider reaches it: no credentials, unsigned requests (exposure proofs).
    pub s3_anonymous: aws_sdk_s3::Client,
    pub iam: aws_sdk_iam::Client,
    pub sts: aws_sdk_sts::Client,
    pub ec2: aws_sdk_ec2::Client,
    pub cloudtrail: aws_sdk_cloudtrail::Client,
    pub kms: aws_sdk_kms::Client,
    pub securityhub: aws_sdk_securityhub::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub sns: aws_sdk_sns::Client,
    pub secretsmanager: aws_sdk_secretsmanager::Client,
    pub ecr: aws_sdk_ecr::Client,
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    pub logs: aws_sdk_cloudwatchlogs::Client,
    pub guardduty: aws_sdk_guardduty::Client,
    pub config: aws_sdk_config::Client,
    pub lambda: aws_sdk_lambda::Client,
    pub rds: aws_sdk_rds::Client,
    pub region: String,
    /// The caller's ARN, read from STS once: the credentials a process is given name one identity for its
    /// life, and every bucket policy read and guard asks for it.
    caller: tokio::sync::OnceCell<String>,
}

pub struct AwsProvider {
    faults: DriverSet<AwsClients>,
}

impl AwsProvider {
    pub async fn connect(settings: &AwsSettings) -> Result<Self> {
        if settings.region.is_empty() {
            return Err(ProviderError::Config(
                "an AWS region is required".to_owned(),
            ));
        }
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .region(aws_config::Region::new(settings.region.clone()));
        if let Some(endpoint) = &settings.endpoint {
            loader = loader.endpoint_url(endpoint);
        }
        let shared = loader.load().await;
        Ok(Self::from_sdk_config(&shared))
    }

    /// A provider over an SDK configuration built elsewhere (region, credentials, endpoint already set). S3 uses
    /// path-style addressing when the endpoint is overridden, as emulators need. Whatever timeouts and retries
    /// `shared` sets are replaced by rdfi's: every call times out ([`OPERATION_TIMEOUT`], [`ATTEMPT_TIMEOUT`],
    /// [`CONNECT_TIMEOUT`]) and the SDK retries each call ([`ATTEMPTS`]); its errors reach rdfi as not
    /// retryable, so that no second layer multiplies the attempts. Per call, because one operation (a snapshot,
    /// a discovery) is often many calls, and retrying the whole would repeat the ones that succeeded.
    pub fn from_sdk_config(shared: &aws_config::SdkConfig) -> Self {
        let shared = shared
            .to_builder()
            .timeout_config(timeout_config())
            .retry_config(RetryConfig::standard().with_max_attempts(ATTEMPTS))
            .build();
        AwsProvider {
            faults: DriverSet::new(
                "aws",
                Self::clients(&shared),
                [
                    s3::drivers(),
                    iam::drivers(),
                    ec2::drivers(),
                    cloudtrail::drivers(),
                    kms::drivers(),
                    account::drivers(),
                    ec2_instances::drivers(),
                    sqs::drivers(),
                    sns::drivers(),
                    secretsmanager::drivers(),
                    ecr::drivers(),
                    cloudwatch::drivers(),
                    logs::drivers(),
                    guardduty::drivers(),
                    config::drivers(),
                    lambda::drivers(),
                    rds::drivers(),
                ]
                .into_iter()
                .flatten()
                .collect(),
            ),
        }
    }

    fn clients(shared: &aws_config::SdkConfig) -> AwsClients {
        // Every client marks the calls made for a fault with its instance id (crate::marking).
        let s3_config = aws_sdk_s3::config::Builder::from(shared)
            .force_path_style(shared.endpoint_url().is_some())
            .interceptor(MarkAwsCalls);
        // An outsider has no credentials: its requests are unsigned, and carry no mark of rdfi's.
        let mut outsider = shared.to_builder();
        outsider.set_credentials_provider(None);
        let s3_anonymous = aws_sdk_s3::config::Builder::from(&outsider.build())
            .force_path_style(shared.endpoint_url().is_some())
            .allow_no_auth()
            .build();
        let iam = aws_sdk_iam::config::Builder::from(shared).interceptor(MarkAwsCalls);
        let sts = aws_sdk_sts::config::Builder::from(shared).interceptor(MarkAwsCalls);
        let ec2 = aws_sdk_ec2::config::Builder::from(shared).interceptor(MarkAwsCalls);
        let cloudtrail =
            aws_sdk_cloudtrail::config::Builder::from(shared).interceptor(MarkAwsCalls);
        let kms = aws_sdk_kms::config::Builder::from(shared).interceptor(MarkAwsCalls);
        let securityhub = aws_sdk_securityhub::config::Builder::from(shared);
        let sqs = aws_sdk_sqs::config::Builder::from(shared).interceptor(MarkAwsCalls);
        let sns = aws_sdk_sns::config::Builder::from(shared).interceptor(MarkAwsCalls);
        let secretsmanager =
            aws_sdk_secretsmanager::config::Builder::from(shared).interceptor(MarkAwsCalls);
        let ecr = aws_sdk_ecr::config::Builder::from(shared).interceptor(MarkAwsCalls);
        let cloudwatch =
            aws_sdk_cloudwatch::config::Builder::from(shared).interceptor(MarkAwsCalls);
        let logs = aws_sdk_cloudwatchlogs::config::Builder::from(shared).interceptor(MarkAwsCalls);
        let guardduty = aws_sdk_guardduty::config::Builder::from(shared).interceptor(MarkAwsCalls);
        let config = aws_sdk_config::config::Builder::from(shared).interceptor(MarkAwsCalls);
        let lambda = aws_sdk_lambda::config::Builder::from(shared).interceptor(MarkAwsCalls);
        let rds = aws_sdk_rds::config::Builder::from(shared).interceptor(MarkAwsCalls);
        AwsClients {
            s3: aws_sdk_s3::Client::from_conf(s3_config.build()),
            s3_anonymous: aws_sdk_s3::Client::from_conf(s3_anonymous),
            iam: aws_sdk_iam::Client::from_conf(iam.build()),
            sts: aws_sdk_sts::Client::from_conf(sts.build()),
            ec2: aws_sdk_ec2::Client::from_conf(ec2.build()),
            cloudtrail: aws_sdk_cloudtrail::Client::from_conf(cloudtrail.build()),
            kms: aws_sdk_kms::Client::from_conf(kms.build()),
            securityhub: aws_sdk_securityhub::Client::from_conf(securityhub.build()),
            sqs: aws_sdk_sqs::Client::from_conf(sqs.build()),
            sns: aws_sdk_sns::Client::from_conf(sns.build()),
            secretsmanager: aws_sdk_secretsmanager::Client::from_conf(secretsmanager.build()),
            ecr: aws_sdk_ecr::Client::from_conf(ecr.build()),
            cloudwatch: aws_sdk_cloudwatch::Client::from_conf(cloudwatch.build()),
            logs: aws_sdk_cloudwatchlogs::Client::from_conf(logs.build()),
            guardduty: aws_sdk_guardduty::Client::from_conf(guardduty.build()),
            config: aws_sdk_config::Client::from_conf(config.build()),
            lambda: aws_sdk_lambda::Client::from_conf(lambda.build()),
            rds: aws_sdk_rds::Client::from_conf(rds.build()),
            region: shared
                .region()
                .map(|region| region.to_string())
                .unwrap_or_default(),
            caller: tokio::sync::OnceCell::new(),
        }
    }
}

#[async_trait]
impl Provider for AwsProvider {
    fn name(&self) -> &'static str {
        "aws"
    }

    fn faults(&self) -> &dyn FaultOperations {
        &self.faults
    }

    async fn discover(&self, resource_type: &str) -> Result<Vec<ResourceRef>> {
        let clients = self.faults.clients();
        match service_of(resource_type)? {
            Service::S3 => s3::discover(clients, resource_type).await,
            Service::Iam => iam::discover(clients, resource_type).await,
            Service::Ec2 => ec2::discover(clients, resource_type).await,
            Service::CloudTrail => cloudtrail::discover(clients, resource_type).await,
            Service::Kms => kms::discover(clients, resource_type).await,
            Service::Account => account::discover(clients, resource_type).await,
            Service::Ec2Instances => ec2_instances::discover(clients, resource_type).await,
            Service::Sqs => sqs::discover(clients, resource_type).await,
            Service::Sns => sns::discover(clients, resource_type).await,
            Service::SecretsManager => secretsmanager::discover(clients, resource_type).await,
            Service::Ecr => ecr::discover(clients, resource_type).await,
            Service::CloudWatch => cloudwatch::discover(clients, resource_type).await,
            Service::Logs => logs::discover(clients, resource_type).await,
            Service::GuardDuty => guardduty::discover(clients, resource_type).await,
            Service::Config => config::discover(clients, resource_type).await,
            Service::Lambda => lambda::discover(clients, resource_type).await,
            Service::Rds => rds::discover(clients, resource_type).await,
        }
    }

    async fn attribute_refusal(
        &self,
        operation: &str,
        resource: &ResourceRef,
        attribution: crate::Attribution,
    ) -> crate::Attribution {
        attribution::attribute(self.faults.clients(), operation, resource, attribution).await
    }

    async fn security_findings(&self, resources: &[String], since: &str) -> Result<Vec<Value>> {
        securityhub::findings(self.faults.clients(), resources, since).await
    }

    /// The caller's ARN as STS names it and, for an assumed role, the role's IAM ARN with its path (read with
    /// IAM GetRole: the session ARN does not carry the path). Fails, rather than answer in part, when STS or
    /// GetRole fails: without its own identity the executor must not start.
    async fn caller_identity(&self) -> Result<Vec<String>> {
        let clients = self.faults.clients();
        let arn = caller_arn(clients).await?;
        let arn = arn.as_str();
        let mut identities = vec![arn.to_owned()];
        if let Some(role) = assumed_role_name(arn) {
            let answer = clients
                .iam
                .get_role()
                .role_name(role)
                .send()
                .await
                .map_err(|error| sdk_error("GetRole", role, error))?;
            let path = answer.role().map(|role| role.path()).unwrap_or("/");
            identities.extend(role_arn(arn, path, role));
        }
        Ok(identities)
    }

    async fn place_canary(&self, resource: &ResourceRef, canary: &Canary) -> Result<()> {
        s3::canary::place(self.faults.clients(), bucket_name(resource)?, canary).await
    }

    async fn read_anonymously(
        &self,
        resource: &ResourceRef,
        read: OutsiderRead,
        canary_key: &str,
    ) -> AnonymousAnswer {
        match bucket_name(resource) {
            Ok(bucket) => {
                s3::canary::read_anonymously(self.faults.clients(), bucket, read, canary_key).await
            }
            Err(error) => AnonymousAnswer::Unreachable(error.to_string()),
        }
    }

    async fn remove_canary(&self, resource: &ResourceRef, canary_key: &str) -> Result<()> {
        s3::canary::remove(self.faults.clients(), bucket_name(resource)?, canary_key).await
    }

    async fn has_canary(&self, resource: &ResourceRef, canary_key: &str) -> Result<bool> {
        s3::canary::present(self.faults.clients(), bucket_name(resource)?, canary_key).await
    }

    async fn tags(&self, resource: &ResourceRef) -> Result<BTreeMap<String, String>> {
        let clients = self.faults.clients();
        match service_of(&resource.resource_type)? {
            Service::S3 => s3::tags(clients, resource).await,
            Service::Iam => iam::tags(clients, resource).await,
            Service::Ec2 => ec2::tags(clients, resource).await,
            Service::CloudTrail => cloudtrail::tags(clients, resource).await,
            Service::Kms => kms::tags(clients, resource).await,
            Service::Account => account::tags(clients, resource).await,
            Service::Ec2Instances => ec2::tags(clients, resource).await,
            Service::Sqs => sqs::tags(clients, resource).await,
            Service::Sns => sns::tags(clients, resource).await,
            Service::SecretsManager => secretsmanager::tags(clients, resource).await,
            Service::Ecr => ecr::tags(clients, resource).await,
            Service::CloudWatch => cloudwatch::tags(clients, resource).await,
            Service::Logs => logs::tags(clients, resource).await,
            Service::GuardDuty => guardduty::tags(clients, resource).await,
            Service::Config => config::tags(clients, resource).await,
            Service::Lambda => lambda::tags(clients, resource).await,
            Service::Rds => rds::tags(clients, resource).await,
        }
    }
}

/// The caller's ARN as STS names it (read once per set of clients).
pub(crate) async fn caller_arn(clients: &AwsClients) -> Result<String> {
    clients
        .caller
        .get_or_try_init(|| async {
            let identity = clients
                .sts
                .get_caller_identity()
                .send()
                .await
                .map_err(|error| sdk_error("GetCallerIdentity", "caller", error))?;
            identity
                .arn()
                .map(str::to_owned)
                .ok_or_else(|| ProviderError::Api {
                    operation: "GetCallerIdentity".to_owned(),
                    resource: "caller".to_owned(),
                    reason: "the answer names no ARN".to_owned(),
                    retryable: false,
                    throttled: false,
                })
        })
        .await
        .cloned()
}

/// The account of an ARN (`arn:PARTITION:SERVICE:REGION:ACCOUNT:...`).
pub(crate) fn account_of(arn: &str) -> Option<&str> {
    arn.split(':').nth(4).filter(|account| !account.is_empty())
}

/// The role an assumed-role session ARN (`arn:PARTITION:sts::ACCOUNT:assumed-role/ROLE/SESSION`) acts as.
pub(crate) fn assumed_role_name(sts_arn: &str) -> Option<&str> {
    let (_, rest) = sts_arn.split_once(":assumed-role/")?;
    let (role, _session) = rest.split_once('/')?;
    Some(role).filter(|role| !role.is_empty())
}

/// The IAM ARN of the role `name` with path `path` (`/` or `/a/b/`) in the partition and account of an
/// assumed-role session ARN: `arn:PARTITION:iam::ACCOUNT:role/PATH/NAME`.
fn role_arn(sts_arn: &str, path: &str, name: &str) -> Option<String> {
    let (prefix, _) = sts_arn.split_once(":assumed-role/")?;
    let iam = prefix.replacen(":sts:", ":iam:", 1);
    let path = path.trim_matches('/');
    Some(if path.is_empty() {
        format!("{iam}:role/{name}")
    } else {
        format!("{iam}:role/{path}/{name}")
    })
}

/// The AWS services rdfi drives; each module lists the resource types it owns in `RESOURCE_TYPES`.
pub(crate) enum Service {
    S3,
    Iam,
    Ec2,
    CloudTrail,
    Kms,
    /// Settings of the account (and region) rather than of a resource: `account`.
    Account,
    /// EC2 instances and subnets: `ec2_instances`.
    Ec2Instances,
    Sqs,
    Sns,
    SecretsManager,
    Ecr,
    CloudWatch,
    Logs,
    GuardDuty,
    Config,
    Lambda,
    Rds,
}

pub(crate) fn service_of(resource_type: &str) -> Result<Service> {
    let owned_by = |types: &[&str]| types.contains(&resource_type);
    if owned_by(s3::RESOURCE_TYPES) {
        Ok(Service::S3)
    } else if owned_by(iam::RESOURCE_TYPES) {
        Ok(Service::Iam)
    } else if owned_by(ec2::RESOURCE_TYPES) {
        Ok(Service::Ec2)
    } else if owned_by(cloudtrail::RESOURCE_TYPES) {
        Ok(Service::CloudTrail)
    } else if owned_by(kms::RESOURCE_TYPES) {
        Ok(Service::Kms)
    } else if owned_by(account::RESOURCE_TYPES) {
        Ok(Service::Account)
    } else if owned_by(ec2_instances::RESOURCE_TYPES) {
        Ok(Service::Ec2Instances)
    } else if owned_by(sqs::RESOURCE_TYPES) {
        Ok(Service::Sqs)
    } else if owned_by(sns::RESOURCE_TYPES) {
        Ok(Service::Sns)
    } else if owned_by(secretsmanager::RESOURCE_TYPES) {
        Ok(Service::SecretsManager)
    } else if owned_by(ecr::RESOURCE_TYPES) {
        Ok(Service::Ecr)
    } else if owned_by(cloudwatch::RESOURCE_TYPES) {
        Ok(Service::CloudWatch)
    } else if owned_by(logs::RESOURCE_TYPES) {
        Ok(Service::Logs)
    } else if owned_by(guardduty::RESOURCE_TYPES) {
        Ok(Service::GuardDuty)
    } else if owned_by(config::RESOURCE_TYPES) {
        Ok(Service::Config)
    } else if owned_by(lambda::RESOURCE_TYPES) {
        Ok(Service::Lambda)
    } else if owned_by(rds::RESOURCE_TYPES) {
        Ok(Service::Rds)
    } else {
        Err(ProviderError::Config(format!(
            "aws has no resource type {resource_type:?}"
        )))
    }
}

/// The name of a bucket, for the calls only buckets answer (exposure canaries).
fn bucket_name(resource: &ResourceRef) -> Result<&str> {
    if resource.resource_type == BUCKET {
        Ok(&resource.name)
    } else {
        Err(ProviderError::Config(format!(
            "exposure canaries live in buckets, not in a {}",
            resource.resource_type
        )))
    }
}

/// Maps an SDK error: refusals become [`ProviderError::Refused`], everything else [`ProviderError::Api`]; its
/// reason reads `Code: message` on one line ([`errors::summary`]).
pub(crate) fn sdk_error<E>(
    operation: &str,
    resource: &str,
    error: SdkError<E, HttpResponse>,
) -> ProviderError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let (code, _) = errors::code_and_message(&error);
    let reason = errors::summary(&error);
    if code
        .as_deref()
        .is_some_and(|code| REFUSAL_CODES.contains(&code))
    {
        ProviderError::Refused {
            operation: operation.to_owned(),
            resource: resource.to_owned(),
            attribution: Box::new(attribution::from_message(resource, &reason)),
            reason,
        }
    } else {
        // The SDK has already retried what was worth retrying (ATTEMPTS): the one retry layer for AWS.
        let retryable = false;
        let throttled = code
            .as_deref()
            .is_some_and(|code| THROTTLING_CODES.contains(&code));
        ProviderError::Api {
            operation: operation.to_owned(),
            resource: resource.to_owned(),
            reason,
            retryable,
            throttled,
        }
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_s3::config::{Credentials, SharedCredentialsProvider};
    use aws_sdk_s3::operation::get_bucket_acl::GetBucketAclError;

    use super::*;

    /// The head of the first request the provider sends, answered with a refusal (which the SDK does not retry).
    async fn first_request_head(calls: impl AsyncFnOnce(AwsProvider)) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let shared = aws_config::SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(aws_config::Region::new("eu-west-1"))
            .endpoint_url(endpoint)
            .credentials_provider(SharedCredentialsProvider::new(Credentials::for_tests()))
            .build();
        let answer = tokio::spawn(crate::marking::refuse_first_request(listener));
        calls(AwsProvider::from_sdk_config(&shared)).await;
        answer.await.unwrap()
    }

    #[tokio::test]
    async fn calls_made_for_a_fault_carry_its_instance_id_in_the_user_agent() {
        let marked = first_request_head(async |provider| {
            let refused = crate::marking::for_fault("f-42", provider.discover(BUCKET)).await;
            assert!(refused.is_err());
        })
        .await;
        let user_agent = marked
            .lines()
            .find(|line| line.starts_with("user-agent:"))
            .unwrap_or_default()
            .to_owned();
        assert!(user_agent.contains("app/rdfi-f-42"), "{marked}");
        let unmarked = first_request_head(async |provider| {
            assert!(provider.discover(BUCKET).await.is_err());
        })
        .await;
        assert!(!unmarked.contains("app/rdfi-"), "{unmarked}");
    }

    #[tokio::test]
    async fn an_outsiders_read_is_unsigned_and_a_refusal_is_its_status_and_code() {
        let bucket = bucket_ref("aws", "exports", "eu-west-1", BTreeMap::new());
        let mut answer = None;
        let head = first_request_head(async |provider| {
            answer = Some(
                provider
                    .read_anonymously(&bucket, OutsiderRead::GetObject, "rdfi-exposure/f.txt")
                    .await,
            );
        })
        .await;
        assert!(
            head.starts_with("get /exports/rdfi-exposure/f.txt"),
            "{head}"
        );
        assert!(!head.contains("authorization:"), "signed: {head}");
        assert!(!head.contains("x-amz-security-token"), "{head}");
        assert_eq!(
            answer,
            Some(AnonymousAnswer::Status {
                status: 403,
                code: "AccessDenied".to_owned()
            })
        );
        // rdfi's own calls are signed.
        let signed = first_request_head(async |provider| {
            assert!(provider.has_canary(&bucket, "k").await.is_err());
        })
        .await;
        assert!(
            signed.contains("authorization: aws4-hmac-sha256"),
            "{signed}"
        );
    }

    #[test]
    fn an_arn_names_its_account() {
        assert_eq!(
            account_of("arn:aws:sts::123456789012:assumed-role/rdfi/session"),
            Some("123456789012")
        );
        assert_eq!(
            account_of("arn:aws:iam::aws:policy/ReadOnlyAccess"),
            Some("aws")
        );
        assert_eq!(account_of("arn:aws:s3:::bucket"), None);
        assert_eq!(account_of("not an arn"), None);
    }

    #[test]
    fn an_assumed_role_acts_as_its_role_with_its_path() {
        let session = "arn:aws:sts::123456789012:assumed-role/rdfi-executor/session-1";
        assert_eq!(assumed_role_name(session), Some("rdfi-executor"));
        assert_eq!(
            role_arn(session, "/", "rdfi-executor").as_deref(),
            Some("arn:aws:iam::123456789012:role/rdfi-executor")
        );
        assert_eq!(
            role_arn(session, "/platform/chaos/", "rdfi-executor").as_deref(),
            Some("arn:aws:iam::123456789012:role/platform/chaos/rdfi-executor")
        );
        let china = "arn:aws-cn:sts::123456789012:assumed-role/r/s";
        assert_eq!(
            role_arn(china, "/x/", "r").as_deref(),
            Some("arn:aws-cn:iam::123456789012:role/x/r")
        );
        for not_a_session in [
            "arn:aws:iam::123456789012:user/ci/deployer",
            "arn:aws:iam::123456789012:root",
            "arn:aws:sts::123456789012:assumed-role/no-session",
        ] {
            assert_eq!(assumed_role_name(not_a_session), None, "{not_a_session}");
        }
    }

    #[test]
    fn a_timeout_after_the_sdks_retries_is_not_retried_again() {
        let error: SdkError<GetBucketAclError, HttpResponse> =
            SdkError::timeout_error("operation timed out after 30s");
        let mapped = sdk_error("GetBucketAcl", "bucket", error);
        assert!(
            matches!(
                mapped,
                ProviderError::Api {
                    retryable: false,
                    throttled: false,
                    ..
                }
            ),
            "{mapped:?}"
        );
    }

    #[test]
    fn every_call_has_timeouts_and_the_sdk_is_the_one_retry_layer() {
        let shared = aws_config::SdkConfig::builder()
            .region(aws_config::Region::new("us-east-1"))
            .behavior_version(BehaviorVersion::latest())
            .build();
        let provider = AwsProvider::from_sdk_config(&shared);
        let config = provider.faults.clients().iam.config();
        let timeouts = config.timeout_config().expect("timeouts");
        assert_eq!(timeouts.operation_timeout(), Some(OPERATION_TIMEOUT));
        assert_eq!(timeouts.operation_attempt_timeout(), Some(ATTEMPT_TIMEOUT));
        assert_eq!(
            config.retry_config().map(RetryConfig::max_attempts),
            Some(ATTEMPTS)
        );
        let s3 = provider.faults.clients().s3.config();
        assert_eq!(
            s3.timeout_config()
                .and_then(|timeouts| timeouts.operation_timeout()),
            Some(OPERATION_TIMEOUT)
        );
    }
}
