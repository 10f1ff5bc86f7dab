//! S3 conformance cases.

use async_trait::async_trait;
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    AbortIncompleteMultipartUpload, BucketCannedAcl, BucketLifecycleConfiguration,
    BucketLoggingStatus, BucketLogsPermission, BucketVersioningStatus, ExpirationStatus, Grantee,
    LifecycleExpiration, LifecycleRule, LifecycleRuleFilter, LoggingEnabled,
    PublicAccessBlockConfiguration, ServerSideEncryption, ServerSideEncryptionByDefault,
    ServerSideEncryptionConfiguration, ServerSideEncryptionRule, TargetGrant, Transition,
    TransitionStorageClass, Type, VersioningConfiguration,
};
use rdfi_proto::v1::ResourceRef;
use rdfi_provider::aws::bucket_ref;
use serde_json::{Value, json};

use super::AwsCase;
use crate::aws::{Clients, PARTNER_CANONICAL_ID, REGION, grant_line};

/// moto's account id: the account that owns the buckets the cases create.
const OWNER_ACCOUNT_ID: &str = "123456789012";
const ALL_USERS: &str = "/global/AllUsers";

pub fn cases() -> Vec<Box<dyn AwsCase>> {
    vec![
        Box::new(BucketPublicAclCase {
            fault_id: "aws.s3.bucket-public-acl",
            permissions: &["READ"],
        }),
        Box::new(BucketPublicAclCase {
            fault_id: "aws.s3.bucket-public-read-write-acl",
            permissions: &["READ", "WRITE"],
        }),
        Box::new(BucketPolicyCase {
            fault_id: "aws.s3.bucket-policy-public",
            misconfigured: policy_is_public,
        }),
        Box::new(BucketPolicyCase {
            fault_id: "aws.s3.bucket-policy-external-account",
            misconfigured: policy_lets_in_an_external_account,
        }),
        Box::new(BucketPolicyCase {
            fault_id: "aws.s3.bucket-tls-only-statement-removed",
            misconfigured: policy_allows_insecure_transport,
        }),
        Box::new(BucketPublicAccessBlockRemoved),
        Box::new(BucketDefaultEncryptionRemoved),
        Box::new(BucketVersioningSuspended),
        Box::new(BucketAccessLoggingDisabled),
        Box::new(BucketLifecycleExpireOneDay),
        Box::new(ObjectPublicAcl),
    ]
}

/// A tagged bucket with the harness's non-trivial ACL.
pub async fn prepare_bucket(aws: &Clients, name: &str) -> ResourceRef {
    aws.create_bucket(name, &[("rdfi-target", "true"), ("team", "conformance")])
        .await;
    bucket_ref(
        "aws",
        name,
        REGION,
        [("rdfi-target".to_owned(), "true".to_owned())].into(),
    )
}

/// Whether sorted ACL lines (as [`Clients::acl_lines`] writes them) grant `permission` to everyone.
fn grants_everyone(lines: &Value, permission: &str) -> bool {
    lines.as_array().is_some_and(|lines| {
        lines.iter().any(|line| {
            line.as_str().is_some_and(|line| {
                line.contains(ALL_USERS) && line.ends_with(&format!("-> {permission}"))
            })
        })
    })
}

/// A bucket ACL case (`aws.s3.bucket-public-acl`, `aws.s3.bucket-public-read-write-acl`): misconfigured when
/// the ACL grants each of `permissions` to everyone.
struct BucketPublicAclCase {
    fault_id: &'static str,
    permissions: &'static [&'static str],
}

#[async_trait]
impl AwsCase for BucketPublicAclCase {
    fn fault_id(&self) -> &'static str {
        self.fault_id
    }

    async fn prepare(&self, aws: &Clients, name: &str) -> ResourceRef {
        prepare_bucket(aws, name).await
    }

    async fn read(&self, aws: &Clients, resource: &ResourceRef) -> Value {
        json!(aws.acl_lines(&resource.name).await)
    }

    fn misconfigured(&self, read: &Value) -> bool {
        self.permissions
            .iter()
            .all(|permission| grants_everyone(read, permission))
    }
}

/// A tagged bucket whose policy requires TLS and lets two roles of the owning account read and list.
async fn prepare_policy_bucket(aws: &Clients, name: &str) -> ResourceRef {
    let resource = prepare_bucket(aws, name).await;
    let arn = format!("arn:aws:s3:::{name}");
    let policy = json!({
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [arn, format!("{arn}/*")],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            },
            {
                "Sid": "AnalyticsRead",
                "Effect": "Allow",
                "Principal": {"AWS": format!("arn:aws:iam::{OWNER_ACCOUNT_ID}:role/analytics")},
                "Action": "s3:GetObject",
                "Resource": format!("{arn}/*"),
            },
            {
                "Sid": "DeployList",
                "Effect": "Allow",
                "Principal": {"AWS": format!("arn:aws:iam::{OWNER_ACCOUNT_ID}:role/deploy")},
                "Action": ["s3:ListBucket", "s3:GetBucketLocation"],
                "Resource": arn,
            },
        ],
    });
    aws.s3
        .put_bucket_policy()
        .bucket(name)
        .policy(policy.to_string())
        .send()
        .await
        .expect("PutBucketPolicy");
    resource
}

/// The bucket policy's statements, each as JSON, sorted; `null` without a policy.
async fn read_policy_statements(aws: &Clients, bucket: &str) -> Value {
    match aws.s3.get_bucket_policy().bucket(bucket).send().await {
        Ok(output) => {
            let document: Value =
                serde_json::from_str(output.policy().expect("a policy")).expect("policy JSON");
            let mut statements = match &document["Statement"] {
                Value::Array(statements) => statements.clone(),
                single => vec![single.clone()],
            };
            statements.sort_by_key(Value::to_string);
            Value::Array(statements)
        }
        Err(error) if error.code() == Some("NoSuchBucketPolicy") => Value::Null,
        Err(error) => panic!("GetBucketPolicy: {error:?}"),
    }
}

/// The statements of a policy read that match `predicate`.
fn any_statement(read: &Value, predicate: impl Fn(&Value) -> bool) -> bool {
    read.as_array()
        .is_some_and(|statements| statements.iter().any(predicate))
}

/// A policy field (string or list of strings) as a list of strings.
fn field_strings(value: &Value) -> Vec<String> {
    match value {
        Value::String(single) => vec![single.clone()],
        Value::Array(items) => items
            .iter()
            .filter_map(|item| item.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

/// A bucket policy case: the policy bucket, read as sorted statements, misconfigured as `misconfigured` says.
struct BucketPolicyCase {
    fault_id: &'static str,
    misconfigured: fn(&Value) -> bool,
}

#[async_trait]
impl AwsCase for BucketPolicyCase {
    fn fault_id(&self) -> &'static str {
        self.fault_id
    }

    async fn prepare(&self, aws: &Clients, name: &str) -> ResourceRef {
        prepare_policy_bucket(aws, name).await
    }

    async fn read(&self, aws: &Clients, resource: &ResourceRef) -> Value {
        read_policy_statements(aws, &resource.name).await
    }

    fn misconfigured(&self, read: &Value) -> bool {
        (self.misconfigured)(read)
    }
}

/// `aws.s3.bucket-policy-public`: some statement lets everyone get objects.
fn policy_is_public(read: &Value) -> bool {
    any_statement(read, |statement| {
        let everyone = statement["Principal"] == json!("*")
            || field_strings(&statement["Principal"]["AWS"]).contains(&"*".to_owned());
        statement["Effect"] == "Allow"
            && everyone
            && field_strings(&statement["Action"]).contains(&"s3:GetObject".to_owned())
    })
}

/// `aws.s3.bucket-policy-external-account`: some statement allows an account other than the owner's.
fn policy_lets_in_an_external_account(read: &Value) -> bool {
    any_statement(read, |statement| {
        statement["Effect"] == "Allow"
            && field_strings(&statement["Principal"]["AWS"])
                .iter()
                .any(|principal| {
                    principal.starts_with("arn:aws:iam::")
                        && !principal.starts_with(&format!("arn:aws:iam::{OWNER_ACCOUNT_ID}:"))
                })
    })
}

/// `aws.s3.bucket-tls-only-statement-removed`: no statement denies insecure transport.
fn policy_allows_insecure_transport(read: &Value) -> bool {
    !any_statement(read, |statement| {
        statement["Effect"] == "Deny"
            && statement["Condition"]["Bool"]["aws:SecureTransport"] == "false"
    })
}

struct BucketPublicAccessBlockRemoved;

#[async_trait]
impl AwsCase for BucketPublicAccessBlockRemoved {
    fn fault_id(&self) -> &'static str {
        "aws.s3.bucket-public-access-block-removed"
    }

    /// A bucket blocking public ACLs and policies but not restricting public buckets: three flags of four.
    async fn prepare(&self, aws: &Clients, name: &str) -> ResourceRef {
        let resource = prepare_bucket(aws, name).await;
        aws.s3
            .put_public_access_block()
            .bucket(name)
            .public_access_block_configuration(
                PublicAccessBlockConfiguration::builder()
                    .block_public_acls(true)
                    .ignore_public_acls(true)
                    .block_public_policy(true)
                    .restrict_public_buckets(false)
                    .build(),
            )
            .send()
            .await
            .expect("PutPublicAccessBlock");
        resource
    }

    async fn read(&self, aws: &Clients, resource: &ResourceRef) -> Value {
        match aws
            .s3
            .get_public_access_block()
            .bucket(&resource.name)
            .send()
            .await
        {
            Ok(output) => {
                let flags = output
                    .public_access_block_configuration()
                    .expect("a configuration");
                json!({
                    "blockPublicAcls": flags.block_public_acls().unwrap_or_default(),
                    "ignorePublicAcls": flags.ignore_public_acls().unwrap_or_default(),
                    "blockPublicPolicy": flags.block_public_policy().unwrap_or_default(),
                    "restrictPublicBuckets": flags.restrict_public_buckets().unwrap_or_default(),
                })
            }
            Err(error) if error.code() == Some("NoSuchPublicAccessBlockConfiguration") => {
                Value::Null
            }
            Err(error) => panic!("GetPublicAccessBlock: {error:?}"),
        }
    }

    fn misconfigured(&self, read: &Value) -> bool {
        read.as_object()
            .is_none_or(|flags| flags.values().all(|flag| flag == false))
    }
}

struct BucketDefaultEncryptionRemoved;

#[async_trait]
impl AwsCase for BucketDefaultEncryptionRemoved {
    fn fault_id(&self) -> &'static str {
        "aws.s3.bucket-default-encryption-removed"
    }

    /// A bucket encrypted by default with a customer-managed KMS key and an S3 bucket key.
    async fn prepare(&self, aws: &Clients, name: &str) -> ResourceRef {
        let resource = prepare_bucket(aws, name).await;
        let key = aws
            .kms
            .create_key()
            .description(format!("{name} default encryption"))
            .send()
            .await
            .expect("CreateKey");
        let key_arn = key
            .key_metadata()
            .and_then(|metadata| metadata.arn())
            .expect("a key arn");
        let by_default = ServerSideEncryptionByDefault::builder()
            .sse_algorithm(ServerSideEncryption::AwsKms)
            .kms_master_key_id(key_arn)
            .build()
            .expect("encryption by default");
        aws.s3
            .put_bucket_encryption()
            .bucket(name)
            .server_side_encryption_configuration(
                ServerSideEncryptionConfiguration::builder()
                    .rules(
                        ServerSideEncryptionRule::builder()
                            .apply_server_side_encryption_by_default(by_default)
                            .bucket_key_enabled(true)
                            .build(),
                    )
                    .build()
                    .expect("an encryption configuration"),
            )
            .send()
            .await
            .expect("PutBucketEncryption");
        resource
    }

    /// Each rule as `algorithm key bucket-key`, sorted; empty without default encryption.
    async fn read(&self, aws: &Clients, resource: &ResourceRef) -> Value {
        match aws
            .s3
            .get_bucket_encryption()
            .bucket(&resource.name)
            .send()
            .await
        {
            Ok(output) => {
                let mut rules: Vec<String> = output
                    .server_side_encryption_configuration()
                    .map(|configuration| configuration.rules())
                    .unwrap_or_default()
                    .iter()
                    .map(|rule| {
                        let by_default = rule.apply_server_side_encryption_by_default();
                        format!(
                            "{} {} {:?}",
                            by_default
                                .map(|default| default.sse_algorithm().as_str())
                                .unwrap_or_default(),
                            by_default
                                .and_then(|default| default.kms_master_key_id())
                                .unwrap_or_default(),
                            rule.bucket_key_enabled()
                        )
                    })
                    .collect();
                rules.sort();
                json!(rules)
            }
            Err(error)
                if error.code() == Some("ServerSideEncryptionConfigurationNotFoundError") =>
            {
                json!([])
            }
            Err(error) => panic!("GetBucketEncryption: {error:?}"),
        }
    }

    fn misconfigured(&self, read: &Value) -> bool {
        !read.as_array().is_some_and(|rules| {
            rules.iter().any(|rule| {
                rule.as_str()
                    .is_some_and(|rule| rule.starts_with("aws:kms"))
            })
        })
    }
}

struct BucketVersioningSuspended;

#[async_trait]
impl AwsCase for BucketVersioningSuspended {
    fn fault_id(&self) -> &'static str {
        "aws.s3.bucket-versioning-suspended"
    }

    async fn prepare(&self, aws: &Clients, name: &str) -> ResourceRef {
        let resource = prepare_bucket(aws, name).await;
        aws.s3
            .put_bucket_versioning()
            .bucket(name)
            .versioning_configuration(
                VersioningConfiguration::builder()
                    .status(BucketVersioningStatus::Enabled)
                    .build(),
            )
            .send()
            .await
            .expect("PutBucketVersioning");
        resource
    }

    /// The versioning status. moto 5.2.x answers with a root element the SDK rejects; then the status is
    /// taken from the `Status` element of the raw answer the SDK error keeps.
    async fn read(&self, aws: &Clients, resource: &ResourceRef) -> Value {
        match aws
            .s3
            .get_bucket_versioning()
            .bucket(&resource.name)
            .send()
            .await
        {
            Ok(output) => json!(output.status().map(|status| status.as_str())),
            Err(error) => {
                let response = error.raw_response().expect("a response");
                assert!(
                    response.status().is_success(),
                    "GetBucketVersioning: {error:?}"
                );
                let body = std::str::from_utf8(response.body().bytes().expect("a body"))
                    .expect("UTF-8 XML");
                let status = body
                    .split_once("<Status>")
                    .and_then(|(_, rest)| rest.split_once("</Status>"))
                    .map(|(status, _)| status);
                json!(status)
            }
        }
    }

    fn misconfigured(&self, read: &Value) -> bool {
        read != "Enabled"
    }
}

struct BucketAccessLoggingDisabled;

#[async_trait]
impl AwsCase for BucketAccessLoggingDisabled {
    fn fault_id(&self) -> &'static str {
        "aws.s3.bucket-access-logging-disabled"
    }

    /// A bucket logging to an untagged target bucket (which has the log-delivery-write ACL) under a prefix,
    /// with READ on the logs for a partner account.
    async fn prepare(&self, aws: &Clients, name: &str) -> ResourceRef {
        let resource = prepare_bucket(aws, name).await;
        let target = format!("{name}-access-logs");
        aws.s3
            .create_bucket()
            .bucket(&target)
            .send()
            .await
            .expect("CreateBucket (log target)");
        aws.s3
            .put_bucket_acl()
            .bucket(&target)
            .acl(BucketCannedAcl::from("log-delivery-write"))
            .send()
            .await
            .expect("PutBucketAcl log-delivery-write");
        let partner = Grantee::builder()
            .r#type(Type::CanonicalUser)
            .id(PARTNER_CANONICAL_ID)
            .build()
            .expect("a grantee");
        aws.s3
            .put_bucket_logging()
            .bucket(name)
            .bucket_logging_status(
                BucketLoggingStatus::builder()
                    .logging_enabled(
                        LoggingEnabled::builder()
                            .target_bucket(&target)
                            .target_prefix(format!("{name}/"))
                            .target_grants(
                                TargetGrant::builder()
                                    .grantee(partner)
                                    .permission(BucketLogsPermission::Read)
                                    .build(),
                            )
                            .build()
                            .expect("logging enabled"),
                    )
                    .build(),
            )
            .send()
            .await
            .expect("PutBucketLogging");
        resource
    }

    /// The target bucket, prefix and grants; `null` when logging is off.
    async fn read(&self, aws: &Clients, resource: &ResourceRef) -> Value {
        let output = aws
            .s3
            .get_bucket_logging()
            .bucket(&resource.name)
            .send()
            .await
            .expect("GetBucketLogging");
        let Some(enabled) = output.logging_enabled() else {
            return Value::Null;
        };
        let mut grants: Vec<String> = enabled
            .target_grants()
            .iter()
            .map(|grant| grant_line(grant.grantee(), grant.permission().map(|p| p.as_str())))
            .collect();
        grants.sort();
        json!({
            "targetBucket": enabled.target_bucket(),
            "targetPrefix": enabled.target_prefix(),
            "targetGrants": grants,
        })
    }

    fn misconfigured(&self, read: &Value) -> bool {
        read.is_null()
    }
}

struct BucketLifecycleExpireOneDay;

#[async_trait]
impl AwsCase for BucketLifecycleExpireOneDay {
    fn fault_id(&self) -> &'static str {
        "aws.s3.bucket-lifecycle-expire-one-day"
    }

    /// A versioned bucket (the fault refuses others, where it would delete data for good) with two rules:
    /// logs/ move to STANDARD_IA after 30 days and expire after 365; tmp/ expire after 7 days and abandoned
    /// multipart uploads are aborted after 2.
    async fn prepare(&self, aws: &Clients, name: &str) -> ResourceRef {
        let resource = prepare_bucket(aws, name).await;
        aws.s3
            .put_bucket_versioning()
            .bucket(name)
            .versioning_configuration(
                VersioningConfiguration::builder()
                    .status(BucketVersioningStatus::Enabled)
                    .build(),
            )
            .send()
            .await
            .expect("PutBucketVersioning");
        let archive_logs = LifecycleRule::builder()
            .id("archive-logs")
            .status(ExpirationStatus::Enabled)
            .filter(LifecycleRuleFilter::builder().prefix("logs/").build())
            .transitions(
                Transition::builder()
                    .days(30)
                    .storage_class(TransitionStorageClass::StandardIa)
                    .build(),
            )
            .expiration(LifecycleExpiration::builder().days(365).build())
            .build()
            .expect("a lifecycle rule");
        let clean_tmp = LifecycleRule::builder()
            .id("clean-tmp")
            .status(ExpirationStatus::Enabled)
            .filter(LifecycleRuleFilter::builder().prefix("tmp/").build())
            .expiration(LifecycleExpiration::builder().days(7).build())
            .abort_incomplete_multipart_upload(
                AbortIncompleteMultipartUpload::builder()
                    .days_after_initiation(2)
                    .build(),
            )
            .build()
            .expect("a lifecycle rule");
        aws.s3
            .put_bucket_lifecycle_configuration()
            .bucket(name)
            .lifecycle_configuration(
                BucketLifecycleConfiguration::builder()
                    .rules(archive_logs)
                    .rules(clean_tmp)
                    .build()
                    .expect("a lifecycle configuration"),
            )
            .send()
            .await
            .expect("PutBucketLifecycleConfiguration");
        resource
    }

    /// Each rule as the SDK reports it (its debug form), sorted, with whether it expires every object within
    /// a day.
    async fn read(&self, aws: &Clients, resource: &ResourceRef) -> Value {
        let rules = match aws
            .s3
            .get_bucket_lifecycle_configuration()
            .bucket(&resource.name)
            .send()
            .await
        {
            Ok(output) => output.rules().to_vec(),
            Err(error) if error.code() == Some("NoSuchLifecycleConfiguration") => Vec::new(),
            Err(error) => panic!("GetBucketLifecycleConfiguration: {error:?}"),
        };
        let mut rules: Vec<Value> = rules
            .iter()
            .map(|rule| {
                let filter = rule.filter();
                let whole_bucket = filter.is_none_or(|filter| {
                    filter.prefix().unwrap_or_default().is_empty()
                        && filter.tag().is_none()
                        && filter.and().is_none()
                });
                let within_a_day = rule
                    .expiration()
                    .and_then(|expiration| expiration.days())
                    .is_some_and(|days| days <= 1);
                json!({
                    "rule": format!("{rule:?}"),
                    "expiresEverythingWithinADay":
                        rule.status() == &ExpirationStatus::Enabled && whole_bucket && within_a_day,
                })
            })
            .collect();
        rules.sort_by_key(Value::to_string);
        Value::Array(rules)
    }

    fn misconfigured(&self, read: &Value) -> bool {
        any_statement(read, |rule| rule["expiresEverythingWithinADay"] == true)
    }
}

const CANARY_KEY: &str = "rdfi-canary/canary.txt";
const DATA_KEY: &str = "data/report.csv";

struct ObjectPublicAcl;

#[async_trait]
impl AwsCase for ObjectPublicAcl {
    fn fault_id(&self) -> &'static str {
        "aws.s3.object-public-acl"
    }

    /// A bucket holding a data object and a canary object under `rdfi-canary/`, whose ACL gives the owner
    /// FULL_CONTROL and a partner account READ_ACP.
    async fn prepare(&self, aws: &Clients, name: &str) -> ResourceRef {
        let resource = prepare_bucket(aws, name).await;
        for (key, body) in [
            (DATA_KEY, "id,amount\n1,100\n"),
            (CANARY_KEY, "rdfi canary\n"),
        ] {
            aws.s3
                .put_object()
                .bucket(name)
                .key(key)
                .body(ByteStream::from_static(body.as_bytes()))
                .send()
                .await
                .expect("PutObject");
        }
        let current = aws
            .s3
            .get_object_acl()
            .bucket(name)
            .key(CANARY_KEY)
            .send()
            .await
            .expect("GetObjectAcl");
        let owner_id = current
            .owner()
            .and_then(|owner| owner.id())
            .expect("an owner id");
        // Through the grant headers: moto ignores an AccessControlPolicy body on PutObjectAcl. And moto
        // reports only the first grantee of a header, so no permission is given twice here (the partner gets
        // READ_ACP, not READ, which the fault adds for everyone).
        aws.s3
            .put_object_acl()
            .bucket(name)
            .key(CANARY_KEY)
            .grant_full_control(format!("id=\"{owner_id}\""))
            .grant_read_acp(format!("id=\"{PARTNER_CANONICAL_ID}\""))
            .send()
            .await
            .expect("PutObjectAcl");
        resource
    }

    /// Both objects' ACLs: the canary's, and the data object's (which the fault must never touch).
    async fn read(&self, aws: &Clients, resource: &ResourceRef) -> Value {
        json!({
            "canary": aws.object_acl_lines(&resource.name, CANARY_KEY).await,
            "data": aws.object_acl_lines(&resource.name, DATA_KEY).await,
        })
    }

    fn misconfigured(&self, read: &Value) -> bool {
        grants_everyone(&read["canary"], "READ")
    }
}
