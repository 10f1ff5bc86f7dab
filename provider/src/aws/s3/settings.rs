//! Bucket settings: default encryption, versioning (and moto's misnamed answer to it) and access logging.

use async_trait::async_trait;
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::types::{
    BucketLoggingStatus, BucketLogsPermission, BucketVersioningStatus, LoggingEnabled,
    ServerSideEncryption, ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration,
    ServerSideEncryptionRule, TargetGrant, VersioningConfiguration,
};

use super::acl::{grant_from_sdk, grantee_to_sdk};
use super::{BucketState, not_restorable, unwritable};
use crate::Result;
use crate::aws::{AwsClients, sdk_error};
use crate::model::s3::{
    BucketEncryption, BucketLogging, BucketVersioning, EncryptionRule, Grant, LoggingTarget,
};

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
pub(super) fn xml_element_text<'a>(xml: &'a str, element: &str) -> Option<&'a str> {
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
pub(super) async fn read_versioning(
    clients: &AwsClients,
    bucket: &str,
) -> Result<BucketVersioning> {
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
