//! S3 buckets: discovery, tags, and the S3 faults: bucket and object ACLs, bucket policies, Block Public
//! Access, default encryption, versioning, access logging and lifecycle rules.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::types::{
    self as s3_types, AbortIncompleteMultipartUpload, AccessControlPolicy,
    BucketLifecycleConfiguration, BucketLoggingStatus, BucketLogsPermission,
    BucketVersioningStatus, ExpirationStatus, LifecycleExpiration, LifecycleRuleAndOperator,
    LifecycleRuleFilter, LoggingEnabled, NoncurrentVersionExpiration, NoncurrentVersionTransition,
    Owner, Permission, PublicAccessBlockConfiguration, ServerSideEncryption,
    ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration, ServerSideEncryptionRule,
    TargetGrant, Transition, TransitionStorageClass, Type, VersioningConfiguration,
};
use rdfi_proto::v1::ResourceRef;

use super::{AwsClients, bucket_ref, sdk_error};
use crate::model::FaultSemantics;
use crate::model::s3::{
    self as model, BucketAcl, BucketEncryption, BucketLifecycle, BucketLogging, BucketPolicy,
    BucketVersioning, CanaryObjectAcl, EncryptionRule, Grant, Grantee, LifecycleRule,
    LoggingTarget, PublicAccessBlock, PublicAccessBlockFlags,
};
use crate::{FaultDriver, ProviderError, Result, StateDriver};

pub(crate) const RESOURCE_TYPES: &[&str] = &[super::BUCKET];

pub(crate) fn drivers() -> Vec<Box<dyn FaultDriver<AwsClients>>> {
    vec![
        Box::new(BucketStateDriver::<model::BucketPublicAcl>::new()),
        Box::new(BucketStateDriver::<model::BucketPublicReadWriteAcl>::new()),
        Box::new(BucketStateDriver::<model::BucketPolicyPublic>::new()),
        Box::new(BucketStateDriver::<model::BucketPolicyExternalAccount>::new()),
        Box::new(BucketStateDriver::<model::BucketTlsOnlyStatementRemoved>::new()),
        Box::new(BucketStateDriver::<model::BucketPublicAccessBlockRemoved>::new()),
        Box::new(BucketStateDriver::<model::BucketDefaultEncryptionRemoved>::new()),
        Box::new(BucketStateDriver::<model::BucketVersioningSuspended>::new()),
        Box::new(BucketStateDriver::<model::BucketAccessLoggingDisabled>::new()),
        Box::new(BucketStateDriver::<model::BucketLifecycleExpireOneDay>::new()),
        Box::new(BucketStateDriver::<model::ObjectPublicAcl>::new()),
    ]
}

/// A bucket configuration an S3 fault changes, read and written whole.
#[async_trait]
trait BucketState: Sized + Send + Sync {
    async fn read(clients: &AwsClients, bucket: &str) -> Result<Self>;
    async fn write(&self, clients: &AwsClients, bucket: &str) -> Result<()>;
}

/// Every S3 fault: reads its state, writes the state its semantics derive from the snapshot, and the revert
/// writes back the exact snapshot (which, for a configuration that was absent, deletes it).
pub(crate) struct BucketStateDriver<F>(std::marker::PhantomData<F>);

impl<F> BucketStateDriver<F> {
    fn new() -> Self {
        BucketStateDriver(std::marker::PhantomData)
    }
}

#[async_trait]
impl<F: FaultSemantics> StateDriver<AwsClients> for BucketStateDriver<F>
where
    F::State: BucketState,
{
    type Fault = F;

    async fn read(&self, clients: &AwsClients, resource: &ResourceRef) -> Result<F::State> {
        F::State::read(clients, &resource.name).await
    }

    async fn inject(
        &self,
        clients: &AwsClients,
        resource: &ResourceRef,
        before: &F::State,
    ) -> Result<()> {
        F::inject(before).write(clients, &resource.name).await
    }

    async fn revert(
        &self,
        clients: &AwsClients,
        resource: &ResourceRef,
        before: &F::State,
    ) -> Result<()> {
        before.write(clients, &resource.name).await
    }
}

pub(crate) async fn tags(
    clients: &AwsClients,
    resource: &ResourceRef,
) -> Result<BTreeMap<String, String>> {
    bucket_tags(clients, &resource.name).await
}

/// Every bucket in the configured region, with its tags.
pub(crate) async fn discover(
    clients: &AwsClients,
    _resource_type: &str,
) -> Result<Vec<ResourceRef>> {
    let mut pages = clients.s3.list_buckets().into_paginator().send();
    let mut buckets = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|error| sdk_error("ListBuckets", "account", error))?;
        for bucket in page.buckets() {
            let Some(name) = bucket.name() else { continue };
            // ListBuckets answers for every region; a bucket elsewhere is another region's target.
            if bucket
                .bucket_region()
                .is_some_and(|region| region != clients.region)
            {
                continue;
            }
            let tags = bucket_tags(clients, name).await?;
            buckets.push(bucket_ref("aws", name, &clients.region, tags));
        }
    }
    Ok(buckets)
}

pub(crate) async fn bucket_tags(
    clients: &AwsClients,
    name: &str,
) -> Result<BTreeMap<String, String>> {
    match clients.s3.get_bucket_tagging().bucket(name).send().await {
        Ok(output) => Ok(output
            .tag_set()
            .iter()
            .map(|tag| (tag.key().to_owned(), tag.value().to_owned()))
            .collect()),
        Err(error) if error.code() == Some("NoSuchTagSet") => Ok(BTreeMap::new()),
        Err(error) => Err(sdk_error("GetBucketTagging", name, error)),
    }
}

/// A grantee as S3 reports it, in the model. An empty field (moto reports `<URI></URI>` on canonical users of
/// logging grants) is no field: S3 means the same, and a write of it would not read back the same.
fn grantee_from_sdk(grantee: &s3_types::Grantee) -> Grantee {
    let field = |value: Option<&str>| value.filter(|value| !value.is_empty()).map(str::to_owned);
    Grantee {
        grantee_type: grantee.r#type().as_str().to_owned(),
        id: field(grantee.id()),
        uri: field(grantee.uri()),
        email_address: field(grantee.email_address()),
        display_name: field(grantee.display_name()),
    }
}

/// A model grantee as the SDK writes it.
fn grantee_to_sdk(bucket: &str, grantee: &Grantee) -> Result<s3_types::Grantee> {
    s3_types::Grantee::builder()
        .r#type(Type::from(grantee.grantee_type.as_str()))
        .set_id(grantee.id.clone())
        .set_uri(grantee.uri.clone())
        .set_email_address(grantee.email_address.clone())
        .set_display_name(grantee.display_name.clone())
        .build()
        .map_err(|error| unwritable(bucket, error))
}

/// A snapshot the SDK refuses to build a request from.
fn unwritable(bucket: &str, error: aws_sdk_s3::error::BuildError) -> ProviderError {
    ProviderError::Snapshot {
        resource: bucket.to_owned(),
        reason: error.to_string(),
    }
}

/// A bucket whose configuration rdfi could not write back exactly: not a target of the fault.
fn not_restorable(bucket: &str, what: &str) -> ProviderError {
    ProviderError::Precondition {
        resource: bucket.to_owned(),
        reason: format!("{what}, which rdfi cannot restore exactly"),
    }
}

/// A grant (of an ACL or of access logging) as S3 reports it, in the model; none without grantee or permission.
fn grant_from_sdk(grantee: Option<&s3_types::Grantee>, permission: Option<&str>) -> Option<Grant> {
    Some(Grant {
        grantee: grantee_from_sdk(grantee?),
        permission: permission?.to_owned(),
    })
}

/// An ACL (bucket or object) as S3 reports it, in the model.
fn acl_from_sdk(owner: Option<&Owner>, grants: &[s3_types::Grant]) -> BucketAcl {
    let grants = grants
        .iter()
        .filter_map(|grant| {
            grant_from_sdk(grant.grantee(), grant.permission().map(Permission::as_str))
        })
        .collect();
    BucketAcl::new(
        owner.and_then(Owner::id).unwrap_or_default().to_owned(),
        owner.and_then(Owner::display_name).map(str::to_owned),
        grants,
    )
}

/// A model ACL as the SDK writes it (PutBucketAcl, PutObjectAcl).
fn acl_to_sdk(bucket: &str, acl: &BucketAcl) -> Result<AccessControlPolicy> {
    let mut grants = Vec::with_capacity(acl.grants.len());
    for grant in &acl.grants {
        grants.push(
            s3_types::Grant::builder()
                .grantee(grantee_to_sdk(bucket, &grant.grantee)?)
                .permission(Permission::from(grant.permission.as_str()))
                .build(),
        );
    }
    Ok(AccessControlPolicy::builder()
        .owner(
            Owner::builder()
                .id(&acl.owner_id)
                .set_display_name(acl.owner_display_name.clone())
                .build(),
        )
        .set_grants(Some(grants))
        .build())
}

/// The bucket ACL (`aws.s3.bucket-public-acl`, `aws.s3.bucket-public-read-write-acl`).
#[async_trait]
impl BucketState for BucketAcl {
    async fn read(clients: &AwsClients, bucket: &str) -> Result<BucketAcl> {
        let output = clients
            .s3
            .get_bucket_acl()
            .bucket(bucket)
            .send()
            .await
            .map_err(|error| sdk_error("GetBucketAcl", bucket, error))?;
        Ok(acl_from_sdk(output.owner(), output.grants()))
    }

    async fn write(&self, clients: &AwsClients, bucket: &str) -> Result<()> {
        clients
            .s3
            .put_bucket_acl()
            .bucket(bucket)
            .access_control_policy(acl_to_sdk(bucket, self)?)
            .send()
            .await
            .map_err(|error| sdk_error("PutBucketAcl", bucket, error))?;
        Ok(())
    }
}

/// The bucket policy, canonical, with the bucket's name and owning account (the caller's account: rdfi runs in
/// the account whose buckets it targets) (`aws.s3.bucket-policy-public`, `aws.s3.bucket-policy-external-account`,
/// `aws.s3.bucket-tls-only-statement-removed`).
#[async_trait]
impl BucketState for BucketPolicy {
    async fn read(clients: &AwsClients, bucket: &str) -> Result<BucketPolicy> {
        let identity = clients
            .sts
            .get_caller_identity()
            .send()
            .await
            .map_err(|error| sdk_error("GetCallerIdentity", bucket, error))?;
        let document = match clients.s3.get_bucket_policy().bucket(bucket).send().await {
            Ok(output) => output
                .policy()
                .map(|text| {
                    serde_json::from_str(text).map_err(|error| ProviderError::Api {
                        operation: "GetBucketPolicy".to_owned(),
                        resource: bucket.to_owned(),
                        reason: format!("the policy is not JSON: {error}"),
                        retryable: false,
                    })
                })
                .transpose()?
                .map(model::canonical_policy),
            Err(error) if error.code() == Some("NoSuchBucketPolicy") => None,
            Err(error) => return Err(sdk_error("GetBucketPolicy", bucket, error)),
        };
        Ok(BucketPolicy {
            bucket: bucket.to_owned(),
            account_id: identity.account().unwrap_or_default().to_owned(),
            document,
        })
    }

    /// Writes the policy document, or deletes the bucket policy when the state has none.
    async fn write(&self, clients: &AwsClients, _bucket: &str) -> Result<()> {
        let bucket = self.bucket.as_str();
        match &self.document {
            Some(document) => clients
                .s3
                .put_bucket_policy()
                .bucket(bucket)
                .policy(document.to_string())
                .send()
                .await
                .map(drop)
                .map_err(|error| sdk_error("PutBucketPolicy", bucket, error)),
            None => clients
                .s3
                .delete_bucket_policy()
                .bucket(bucket)
                .send()
                .await
                .map(drop)
                .map_err(|error| sdk_error("DeleteBucketPolicy", bucket, error)),
        }
    }
}

/// The Block Public Access flags (`aws.s3.bucket-public-access-block-removed`: DeleteBucketPublicAccessBlock;
/// the revert puts the exact previous four flags back).
#[async_trait]
impl BucketState for PublicAccessBlock {
    async fn read(clients: &AwsClients, bucket: &str) -> Result<PublicAccessBlock> {
        let configuration = match clients
            .s3
            .get_public_access_block()
            .bucket(bucket)
            .send()
            .await
        {
            Ok(output) => {
                output
                    .public_access_block_configuration()
                    .map(|flags| PublicAccessBlockFlags {
                        block_public_acls: flags.block_public_acls().unwrap_or_default(),
                        ignore_public_acls: flags.ignore_public_acls().unwrap_or_default(),
                        block_public_policy: flags.block_public_policy().unwrap_or_default(),
                        restrict_public_buckets: flags
                            .restrict_public_buckets()
                            .unwrap_or_default(),
                    })
            }
            Err(error) if error.code() == Some("NoSuchPublicAccessBlockConfiguration") => None,
            Err(error) => return Err(sdk_error("GetPublicAccessBlock", bucket, error)),
        };
        Ok(PublicAccessBlock { configuration })
    }

    /// Puts the flags, or deletes the configuration when the state has none.
    async fn write(&self, clients: &AwsClients, bucket: &str) -> Result<()> {
        let Some(flags) = self.configuration else {
            return clients
                .s3
                .delete_public_access_block()
                .bucket(bucket)
                .send()
                .await
                .map(drop)
                .map_err(|error| sdk_error("DeletePublicAccessBlock", bucket, error));
        };
        clients
            .s3
            .put_public_access_block()
            .bucket(bucket)
            .public_access_block_configuration(
                PublicAccessBlockConfiguration::builder()
                    .block_public_acls(flags.block_public_acls)
                    .ignore_public_acls(flags.ignore_public_acls)
                    .block_public_policy(flags.block_public_policy)
                    .restrict_public_buckets(flags.restrict_public_buckets)
                    .build(),
            )
            .send()
            .await
            .map_err(|error| sdk_error("PutPublicAccessBlock", bucket, error))?;
        Ok(())
    }
}

/// The default encryption rules (`aws.s3.bucket-default-encryption-removed`: DeleteBucketEncryption; the
/// revert puts the exact previous rules back: algorithm, KMS key id, bucket key).
#[async_trait]
impl BucketState for BucketEncryption {
    async fn read(clients: &AwsClients, bucket: &str) -> Result<BucketEncryption> {
        let output = match clients
            .s3
            .get_bucket_encryption()
            .bucket(bucket)
            .send()
            .await
        {
            Ok(output) => output,
            Err(error)
                if error.code() == Some("ServerSideEncryptionConfigurationNotFoundError") =>
            {
                return Ok(BucketEncryption::default());
            }
            Err(error) => return Err(sdk_error("GetBucketEncryption", bucket, error)),
        };
        let mut rules = Vec::new();
        for rule in output
            .server_side_encryption_configuration()
            .map(ServerSideEncryptionConfiguration::rules)
            .unwrap_or_default()
        {
            if rule.blocked_encryption_types().is_some() {
                return Err(not_restorable(
                    bucket,
                    "a default encryption rule blocks encryption types",
                ));
            }
            let Some(default) = rule.apply_server_side_encryption_by_default() else {
                continue;
            };
            rules.push(EncryptionRule {
                sse_algorithm: default.sse_algorithm().as_str().to_owned(),
                kms_master_key_id: default.kms_master_key_id().map(str::to_owned),
                bucket_key_enabled: rule.bucket_key_enabled(),
            });
        }
        Ok(BucketEncryption::new(rules))
    }

    /// Puts the rules, or deletes the configuration when there are none.
    async fn write(&self, clients: &AwsClients, bucket: &str) -> Result<()> {
        if self.rules.is_empty() {
            return clients
                .s3
                .delete_bucket_encryption()
                .bucket(bucket)
                .send()
                .await
                .map(drop)
                .map_err(|error| sdk_error("DeleteBucketEncryption", bucket, error));
        }
        let mut rules = Vec::with_capacity(self.rules.len());
        for rule in &self.rules {
            let default = ServerSideEncryptionByDefault::builder()
                .sse_algorithm(ServerSideEncryption::from(rule.sse_algorithm.as_str()))
                .set_kms_master_key_id(rule.kms_master_key_id.clone())
                .build()
                .map_err(|error| unwritable(bucket, error))?;
            rules.push(
                ServerSideEncryptionRule::builder()
                    .apply_server_side_encryption_by_default(default)
                    .set_bucket_key_enabled(rule.bucket_key_enabled)
                    .build(),
            );
        }
        let configuration = ServerSideEncryptionConfiguration::builder()
            .set_rules(Some(rules))
            .build()
            .map_err(|error| unwritable(bucket, error))?;
        clients
            .s3
            .put_bucket_encryption()
            .bucket(bucket)
            .server_side_encryption_configuration(configuration)
            .send()
            .await
            .map_err(|error| sdk_error("PutBucketEncryption", bucket, error))?;
        Ok(())
    }
}

/// The text of the first `<element>...</element>` in an XML document, if any.
fn xml_element_text<'a>(xml: &'a str, element: &str) -> Option<&'a str> {
    let open = format!("<{element}>");
    let start = xml.find(&open)? + open.len();
    let length = xml[start..].find(&format!("</{element}>"))?;
    Some(xml[start..start + length].trim())
}

/// The wrong root element moto 5.2.x answers GetBucketVersioning with.
const MOTO_VERSIONING_ROOT: &str = "<GetBucketVersioningResponse";

/// Reads a bucket's versioning configuration.
///
/// moto 5.2.x answers GetBucketVersioning with the root element `GetBucketVersioningResponse` instead of
/// `VersioningConfiguration`, and the SDK rejects that document even though the request succeeded. Only in
/// that case — the SDK failed on a 2xx answer with that root, whose body the SDK error keeps — this reads the
/// `Status` and `MfaDelete` elements of that same answer itself: no second request, no signing of its own,
/// and the SDK's own result whenever it parses (real S3 always answers with the right root, so there the
/// workaround never runs). A failed request (4xx, 5xx, transport) is reported as usual.
async fn read_versioning(clients: &AwsClients, bucket: &str) -> Result<BucketVersioning> {
    match clients
        .s3
        .get_bucket_versioning()
        .bucket(bucket)
        .send()
        .await
    {
        Ok(output) => Ok(BucketVersioning {
            status: output.status().map(|status| status.as_str().to_owned()),
            mfa_delete: output.mfa_delete().map(|status| status.as_str().to_owned()),
        }),
        Err(error) => {
            let unparsed_success = error
                .raw_response()
                .filter(|response| response.status().is_success())
                .and_then(|response| response.body().bytes())
                .and_then(|body| std::str::from_utf8(body).ok())
                .filter(|xml| xml.contains(MOTO_VERSIONING_ROOT));
            match unparsed_success {
                Some(xml) => Ok(BucketVersioning {
                    status: xml_element_text(xml, "Status").map(str::to_owned),
                    mfa_delete: xml_element_text(xml, "MfaDelete").map(str::to_owned),
                }),
                None => Err(sdk_error("GetBucketVersioning", bucket, error)),
            }
        }
    }
}

/// The versioning status (`aws.s3.bucket-versioning-suspended`: PutBucketVersioning Suspended; the revert puts
/// the previous status (Enabled) back). MFA delete is read but never written (that needs the root user's MFA
/// device).
#[async_trait]
impl BucketState for BucketVersioning {
    async fn read(clients: &AwsClients, bucket: &str) -> Result<BucketVersioning> {
        read_versioning(clients, bucket).await
    }

    async fn write(&self, clients: &AwsClients, bucket: &str) -> Result<()> {
        // A bucket that was never versioned cannot return to "never set"; such a bucket is no target (its
        // versioning is not Enabled), so a snapshot without a status only happens for a fault never injected.
        let Some(status) = &self.status else {
            return Ok(());
        };
        clients
            .s3
            .put_bucket_versioning()
            .bucket(bucket)
            .versioning_configuration(
                VersioningConfiguration::builder()
                    .status(BucketVersioningStatus::from(status.as_str()))
                    .build(),
            )
            .send()
            .await
            .map_err(|error| sdk_error("PutBucketVersioning", bucket, error))?;
        Ok(())
    }
}

/// The access logging target (`aws.s3.bucket-access-logging-disabled`: PutBucketLogging with an empty
/// BucketLoggingStatus; the revert puts the exact previous target bucket, prefix and grants back).
#[async_trait]
impl BucketState for BucketLogging {
    async fn read(clients: &AwsClients, bucket: &str) -> Result<BucketLogging> {
        read_logging(clients, bucket).await
    }

    async fn write(&self, clients: &AwsClients, bucket: &str) -> Result<()> {
        write_logging(clients, bucket, self).await
    }
}

async fn write_logging(clients: &AwsClients, bucket: &str, logging: &BucketLogging) -> Result<()> {
    let logging_enabled = match &logging.target {
        Some(target) => {
            let mut grants = Vec::with_capacity(target.grants.len());
            for grant in &target.grants {
                grants.push(
                    TargetGrant::builder()
                        .grantee(grantee_to_sdk(bucket, &grant.grantee)?)
                        .permission(BucketLogsPermission::from(grant.permission.as_str()))
                        .build(),
                );
            }
            Some(
                LoggingEnabled::builder()
                    .target_bucket(&target.bucket)
                    .target_prefix(&target.prefix)
                    .set_target_grants((!grants.is_empty()).then_some(grants))
                    .build()
                    .map_err(|error| unwritable(bucket, error))?,
            )
        }
        None => None,
    };
    clients
        .s3
        .put_bucket_logging()
        .bucket(bucket)
        .bucket_logging_status(
            BucketLoggingStatus::builder()
                .set_logging_enabled(logging_enabled)
                .build(),
        )
        .send()
        .await
        .map_err(|error| sdk_error("PutBucketLogging", bucket, error))?;
    Ok(())
}

async fn read_logging(clients: &AwsClients, bucket: &str) -> Result<BucketLogging> {
    let output = clients
        .s3
        .get_bucket_logging()
        .bucket(bucket)
        .send()
        .await
        .map_err(|error| sdk_error("GetBucketLogging", bucket, error))?;
    let Some(enabled) = output.logging_enabled() else {
        return Ok(BucketLogging { target: None });
    };
    if enabled.target_object_key_format().is_some() {
        return Err(not_restorable(
            bucket,
            "access logging sets a target object key format",
        ));
    }
    let mut grants: Vec<Grant> = enabled
        .target_grants()
        .iter()
        .filter_map(|grant| {
            grant_from_sdk(
                grant.grantee(),
                grant.permission().map(BucketLogsPermission::as_str),
            )
        })
        .collect();
    grants.sort();
    Ok(BucketLogging {
        target: Some(LoggingTarget {
            bucket: enabled.target_bucket().to_owned(),
            prefix: enabled.target_prefix().to_owned(),
            grants,
        }),
    })
}

/// One SDK lifecycle rule in the model, or a precondition error when it uses what the model cannot hold.
fn lifecycle_rule_from_sdk(bucket: &str, rule: &s3_types::LifecycleRule) -> Result<LifecycleRule> {
    let id = rule.id().unwrap_or_default().to_owned();
    let unsupported =
        |what: &str| not_restorable(bucket, &format!("lifecycle rule {id:?} uses {what}"));
    let filter = rule.filter();
    let and = filter.and_then(LifecycleRuleFilter::and);
    if filter.is_some_and(|filter| {
        filter.object_size_greater_than().is_some() || filter.object_size_less_than().is_some()
    }) || and.is_some_and(|and| {
        and.object_size_greater_than().is_some() || and.object_size_less_than().is_some()
    }) {
        return Err(unsupported("an object size filter"));
    }
    let expiration = rule.expiration();
    if expiration.is_some_and(|expiration| expiration.date().is_some())
        || rule
            .transitions()
            .iter()
            .any(|transition| transition.date().is_some())
    {
        return Err(unsupported("a date"));
    }
    if rule
        .noncurrent_version_expiration()
        .is_some_and(|expiration| expiration.newer_noncurrent_versions().is_some())
        || rule
            .noncurrent_version_transitions()
            .iter()
            .any(|transition| transition.newer_noncurrent_versions().is_some())
    {
        return Err(unsupported("newer noncurrent versions"));
    }
    let tags = filter
        .and_then(|filter| filter.tag())
        .into_iter()
        .chain(and.map(LifecycleRuleAndOperator::tags).unwrap_or_default())
        .map(|tag| (tag.key().to_owned(), tag.value().to_owned()))
        .collect();
    #[allow(deprecated)]
    let legacy_prefix = rule.prefix();
    let prefix = filter
        .and_then(LifecycleRuleFilter::prefix)
        .or_else(|| and.and_then(LifecycleRuleAndOperator::prefix))
        .or(legacy_prefix)
        .filter(|prefix| !prefix.is_empty())
        .map(str::to_owned);
    let storage_class = |class: Option<&TransitionStorageClass>| {
        class
            .map(|class| class.as_str().to_owned())
            .unwrap_or_default()
    };
    let mut transitions: Vec<(i32, String)> = rule
        .transitions()
        .iter()
        .map(|transition| {
            (
                transition.days().unwrap_or_default(),
                storage_class(transition.storage_class()),
            )
        })
        .collect();
    transitions.sort();
    let mut noncurrent_version_transitions: Vec<(i32, String)> = rule
        .noncurrent_version_transitions()
        .iter()
        .map(|transition| {
            (
                transition.noncurrent_days().unwrap_or_default(),
                storage_class(transition.storage_class()),
            )
        })
        .collect();
    noncurrent_version_transitions.sort();
    Ok(LifecycleRule {
        id,
        status: rule.status().as_str().to_owned(),
        prefix,
        tags,
        expiration_days: expiration.and_then(LifecycleExpiration::days),
        expired_object_delete_marker: expiration
            .and_then(LifecycleExpiration::expired_object_delete_marker),
        transitions,
        noncurrent_version_expiration_days: rule
            .noncurrent_version_expiration()
            .and_then(NoncurrentVersionExpiration::noncurrent_days),
        noncurrent_version_transitions,
        abort_incomplete_multipart_upload_days: rule
            .abort_incomplete_multipart_upload()
            .and_then(AbortIncompleteMultipartUpload::days_after_initiation),
    })
}

/// One model lifecycle rule as the SDK writes it: a prefix filter, a single tag, or an And of both.
fn lifecycle_rule_to_sdk(bucket: &str, rule: &LifecycleRule) -> Result<s3_types::LifecycleRule> {
    let mut tags = Vec::with_capacity(rule.tags.len());
    for (key, value) in &rule.tags {
        tags.push(
            s3_types::Tag::builder()
                .key(key)
                .value(value)
                .build()
                .map_err(|error| unwritable(bucket, error))?,
        );
    }
    let filter = match (rule.prefix.as_deref(), tags.len()) {
        (prefix, 0) => LifecycleRuleFilter::builder()
            .prefix(prefix.unwrap_or_default())
            .build(),
        (None, 1) => LifecycleRuleFilter::builder().set_tag(tags.pop()).build(),
        (prefix, _) => LifecycleRuleFilter::builder()
            .and(
                LifecycleRuleAndOperator::builder()
                    .set_prefix(prefix.map(str::to_owned))
                    .set_tags(Some(tags))
                    .build(),
            )
            .build(),
    };
    let expiration = (rule.expiration_days.is_some()
        || rule.expired_object_delete_marker.is_some())
    .then(|| {
        LifecycleExpiration::builder()
            .set_days(rule.expiration_days)
            .set_expired_object_delete_marker(rule.expired_object_delete_marker)
            .build()
    });
    let transitions = rule
        .transitions
        .iter()
        .map(|(days, class)| {
            Transition::builder()
                .days(*days)
                .storage_class(TransitionStorageClass::from(class.as_str()))
                .build()
        })
        .collect();
    let noncurrent_version_transitions = rule
        .noncurrent_version_transitions
        .iter()
        .map(|(days, class)| {
            NoncurrentVersionTransition::builder()
                .noncurrent_days(*days)
                .storage_class(TransitionStorageClass::from(class.as_str()))
                .build()
        })
        .collect();
    s3_types::LifecycleRule::builder()
        .id(&rule.id)
        .status(ExpirationStatus::from(rule.status.as_str()))
        .filter(filter)
        .set_expiration(expiration)
        .set_transitions(Some(transitions))
        .set_noncurrent_version_transitions(Some(noncurrent_version_transitions))
        .set_noncurrent_version_expiration(rule.noncurrent_version_expiration_days.map(|days| {
            NoncurrentVersionExpiration::builder()
                .noncurrent_days(days)
                .build()
        }))
        .set_abort_incomplete_multipart_upload(rule.abort_incomplete_multipart_upload_days.map(
            |days| {
                AbortIncompleteMultipartUpload::builder()
                    .days_after_initiation(days)
                    .build()
            },
        ))
        .build()
        .map_err(|error| unwritable(bucket, error))
}

/// Writes lifecycle rules, or deletes the lifecycle configuration when there are none (S3 refuses an empty
/// configuration).
async fn write_lifecycle(
    clients: &AwsClients,
    bucket: &str,
    lifecycle: &BucketLifecycle,
) -> Result<()> {
    if lifecycle.rules.is_empty() {
        return clients
            .s3
            .delete_bucket_lifecycle()
            .bucket(bucket)
            .send()
            .await
            .map(drop)
            .map_err(|error| sdk_error("DeleteBucketLifecycle", bucket, error));
    }
    let mut rules = Vec::with_capacity(lifecycle.rules.len());
    for rule in &lifecycle.rules {
        rules.push(lifecycle_rule_to_sdk(bucket, rule)?);
    }
    let configuration = BucketLifecycleConfiguration::builder()
        .set_rules(Some(rules))
        .build()
        .map_err(|error| unwritable(bucket, error))?;
    clients
        .s3
        .put_bucket_lifecycle_configuration()
        .bucket(bucket)
        .lifecycle_configuration(configuration)
        .send()
        .await
        .map_err(|error| sdk_error("PutBucketLifecycleConfiguration", bucket, error))?;
    Ok(())
}

/// The lifecycle rules (`aws.s3.bucket-lifecycle-expire-one-day`: adds a rule expiring every object after one
/// day, keeping the other rules; the revert writes back the exact previous rules, or deletes the configuration
/// if there was none).
#[async_trait]
impl BucketState for BucketLifecycle {
    async fn read(clients: &AwsClients, bucket: &str) -> Result<BucketLifecycle> {
        let output = match clients
            .s3
            .get_bucket_lifecycle_configuration()
            .bucket(bucket)
            .send()
            .await
        {
            Ok(output) => output,
            Err(error) if error.code() == Some("NoSuchLifecycleConfiguration") => {
                return Ok(BucketLifecycle::default());
            }
            Err(error) => return Err(sdk_error("GetBucketLifecycleConfiguration", bucket, error)),
        };
        let mut rules = Vec::with_capacity(output.rules().len());
        for rule in output.rules() {
            rules.push(lifecycle_rule_from_sdk(bucket, rule)?);
        }
        Ok(BucketLifecycle::new(rules))
    }

    async fn write(&self, clients: &AwsClients, bucket: &str) -> Result<()> {
        write_lifecycle(clients, bucket, self).await
    }
}

/// `aws.s3.object-public-acl`: adds READ for AllUsers to the bucket's canary object, the first key under
/// [`model::CANARY_PREFIX`]; the revert writes back the object's exact previous ACL. A bucket without a canary
/// object fails the precondition: rdfi never makes any other object public.
#[async_trait]
impl BucketState for CanaryObjectAcl {
    async fn read(clients: &AwsClients, bucket: &str) -> Result<CanaryObjectAcl> {
        read_object_acl(clients, bucket).await
    }

    async fn write(&self, clients: &AwsClients, bucket: &str) -> Result<()> {
        write_object_acl(clients, bucket, self).await
    }
}

/// The `x-amz-grant-*` header value of each permission of an ACL: `id="..."`, `uri="..."` or
/// `emailAddress="..."` per grantee, comma-separated.
fn grant_headers(acl: &BucketAcl) -> BTreeMap<&str, String> {
    let mut headers: BTreeMap<&str, String> = BTreeMap::new();
    for grant in &acl.grants {
        let grantee = &grant.grantee;
        let Some(named) = (grantee.id.as_ref().map(|id| format!("id=\"{id}\"")))
            .or_else(|| grantee.uri.as_ref().map(|uri| format!("uri=\"{uri}\"")))
            .or_else(|| {
                grantee
                    .email_address
                    .as_ref()
                    .map(|email| format!("emailAddress=\"{email}\""))
            })
        else {
            continue;
        };
        headers
            .entry(grant.permission.as_str())
            .and_modify(|value| {
                value.push_str(", ");
                value.push_str(&named);
            })
            .or_insert(named);
    }
    headers
}

/// Writes an object's ACL through the `x-amz-grant-*` headers rather than an AccessControlPolicy body: S3
/// means the same by both (the object's owner stays its owner), and moto only reads the headers (it answers a
/// body with the bucket's ACL).
async fn write_object_acl(
    clients: &AwsClients,
    bucket: &str,
    object: &CanaryObjectAcl,
) -> Result<()> {
    let mut headers = grant_headers(&object.acl);
    clients
        .s3
        .put_object_acl()
        .bucket(bucket)
        .key(&object.key)
        .set_grant_full_control(headers.remove("FULL_CONTROL"))
        .set_grant_read(headers.remove("READ"))
        .set_grant_read_acp(headers.remove("READ_ACP"))
        .set_grant_write(headers.remove("WRITE"))
        .set_grant_write_acp(headers.remove("WRITE_ACP"))
        .send()
        .await
        .map_err(|error| sdk_error("PutObjectAcl", bucket, error))?;
    Ok(())
}

/// The canary object (the first key under [`model::CANARY_PREFIX`]) and its ACL.
async fn read_object_acl(clients: &AwsClients, bucket: &str) -> Result<CanaryObjectAcl> {
    let listing = clients
        .s3
        .list_objects_v2()
        .bucket(bucket)
        .prefix(model::CANARY_PREFIX)
        .max_keys(1)
        .send()
        .await
        .map_err(|error| sdk_error("ListObjectsV2", bucket, error))?;
    let Some(key) = listing.contents().iter().find_map(|object| object.key()) else {
        return Err(ProviderError::Precondition {
            resource: bucket.to_owned(),
            reason: format!(
                "the bucket has no canary object under {}",
                model::CANARY_PREFIX
            ),
        });
    };
    let output = clients
        .s3
        .get_object_acl()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(|error| sdk_error("GetObjectAcl", bucket, error))?;
    Ok(CanaryObjectAcl {
        key: key.to_owned(),
        acl: acl_from_sdk(output.owner(), output.grants()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_versioning_status_is_read_from_moto_s_answer() {
        let xml = r#"<?xml version="1.0"?><GetBucketVersioningResponse xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Status>Enabled</Status></GetBucketVersioningResponse>"#;
        assert_eq!(xml_element_text(xml, "Status"), Some("Enabled"));
        assert_eq!(xml_element_text(xml, "MfaDelete"), None);
    }

    #[test]
    fn grant_headers_name_every_grantee_of_a_permission() {
        let acl = BucketAcl::new(
            "owner".to_owned(),
            None,
            vec![
                Grant::canonical_user("owner", "FULL_CONTROL"),
                Grant::canonical_user("partner", "READ"),
            ],
        )
        .with_public_read();
        let headers = grant_headers(&acl);
        assert_eq!(headers["FULL_CONTROL"], r#"id="owner""#);
        assert_eq!(
            headers["READ"],
            format!(r#"id="partner", uri="{}""#, model::ALL_USERS_URI)
        );
        assert_eq!(headers.len(), 2);
    }
}
