//! Attributing an AWS refusal from what AWS says in it.
//!
//! AWS names the kind of policy behind an explicit deny in its message ("... with an explicit deny in a service
//! control policy: arn:aws:organizations::...") and S3 names the Block Public Access setting that blocked a
//! public grant. A message that says only that no policy allows the action is rdfi's own missing permission.
//! moto says neither ("Access Denied"): those refusals are left unattributed here.

use aws_sdk_s3::error::ProvideErrorMetadata;
use rdfi_proto::v1::ResourceRef;

use super::evaluate::{self, Policy, Request};
use super::{AwsClients, BUCKET, Service, iam, sdk_error, service_of};
use crate::refusal::{Attribution, ControlType, NamedControl};

/// S3 operations whose IAM action is named differently; every other operation's action is its name.
const S3_ACTIONS: &[(&str, &str)] = &[
    ("PutPublicAccessBlock", "PutBucketPublicAccessBlock"),
    ("DeletePublicAccessBlock", "PutBucketPublicAccessBlock"),
    ("PutBucketEncryption", "PutEncryptionConfiguration"),
    ("DeleteBucketEncryption", "PutEncryptionConfiguration"),
    (
        "PutBucketLifecycleConfiguration",
        "PutLifecycleConfiguration",
    ),
    ("DeleteBucketLifecycle", "PutLifecycleConfiguration"),
    (
        "PutObjectLockConfiguration",
        "PutBucketObjectLockConfiguration",
    ),
    (
        "GetObjectLockConfiguration",
        "GetBucketObjectLockConfiguration",
    ),
];

/// The IAM action an SDK operation on a resource of this type needs (`s3:PutBucketAcl`).
pub fn iam_action(resource_type: &str, operation: &str) -> Option<String> {
    let (prefix, action) = match service_of(resource_type).ok()? {
        Service::S3 => (
            "s3",
            S3_ACTIONS
                .iter()
                .find(|(sdk, _)| *sdk == operation)
                .map_or(operation, |(_, action)| action),
        ),
        Service::Iam => ("iam", operation),
        Service::Ec2 => ("ec2", operation),
        Service::CloudTrail => ("cloudtrail", operation),
        Service::Kms => ("kms", operation),
        Service::Ec2Instances => ("ec2", operation),
        // A setting of the account is changed through the service its type names (`aws.iam.…`, `aws.ec2.…`).
        Service::Account => (resource_type.split('.').nth(1)?, operation),
        Service::Sqs => ("sqs", operation),
        Service::Sns => ("sns", operation),
        Service::SecretsManager => ("secretsmanager", operation),
        Service::Ecr => ("ecr", operation),
        Service::CloudWatch => ("cloudwatch", operation),
        Service::Logs => ("logs", operation),
        Service::GuardDuty => ("guardduty", operation),
        Service::Config => ("config", operation),
        Service::Lambda => ("lambda", operation),
        Service::Rds => ("rds", operation),
    };
    Some(format!("{prefix}:{action}"))
}

/// Attributes a refusal AWS's message did not: reads the caller's own policies (and a bucket's policy) and
/// names the one whose explicit Deny, or the boundary whose missing Allow, refused the action. When nothing
/// read refused it, or the policies cannot be read, the refusal stays unattributed, with the action named.
pub(crate) async fn attribute(
    clients: &AwsClients,
    operation: &str,
    resource: &ResourceRef,
    attribution: Attribution,
) -> Attribution {
    if attribution.control.is_some() {
        return attribution;
    }
    let Some(action) = attribution
        .denied_action
        .clone()
        .or_else(|| iam_action(&resource.resource_type, operation))
    else {
        return attribution;
    };
    let caller = match iam::caller_policies(clients).await {
        Ok(caller) => caller,
        Err(error) => {
            tracing::warn!(%error, "cannot read rdfi's own policies to attribute a refusal");
            return Attribution::unattributed(Some(action));
        }
    };
    let mut policies = caller.policies;
    if resource.resource_type == BUCKET {
        match bucket_policy(clients, &resource.name).await {
            Ok(Some(policy)) => policies.push(policy),
            Ok(None) => {}
            Err(error) => {
                tracing::warn!(%error, "cannot read the bucket policy to attribute a refusal")
            }
        }
    }
    let request = Request {
        action: &action,
        resource: &resource.id,
        caller: &caller.arn,
    };
    let control = evaluate::refusing_control(&policies, caller.boundary.as_ref(), request);
    Attribution {
        control,
        denied_action: Some(action),
    }
}

/// The bucket's policy, if it has one.
async fn bucket_policy(clients: &AwsClients, bucket: &str) -> crate::Result<Option<Policy>> {
    match clients.s3.get_bucket_policy().bucket(bucket).send().await {
        Ok(output) => {
            let document =
                serde_json::from_str(output.policy().unwrap_or("{}")).unwrap_or_default();
            Ok(Some(Policy {
                name: "bucket policy".to_owned(),
                location: format!("bucket {bucket}"),
                control_type: ControlType::ResourcePolicy,
                document,
            }))
        }
        Err(error) if error.code() == Some("NoSuchBucketPolicy") => Ok(None),
        Err(error) => Err(sdk_error("GetBucketPolicy", bucket, error)),
    }
}

/// The kinds of explicit deny AWS names in its messages, and what each is.
const EXPLICIT_DENIES: &[(&str, ControlType)] = &[
    (
        "explicit deny in a service control policy",
        ControlType::Scp,
    ),
    (
        "explicit deny in an identity-based policy",
        ControlType::IdentityPolicy,
    ),
    (
        "explicit deny in a resource-based policy",
        ControlType::ResourcePolicy,
    ),
    (
        "explicit deny in a permissions boundary",
        ControlType::PermissionsBoundary,
    ),
    (
        "explicit deny in a session policy",
        ControlType::IdentityPolicy,
    ),
];

/// The S3 Block Public Access settings, as S3 names them when one blocks a change.
const BLOCK_PUBLIC_ACCESS: &[&str] = &[
    "BlockPublicAcls",
    "BlockPublicPolicy",
    "IgnorePublicAcls",
    "RestrictPublicBuckets",
];

/// Attributes a refusal of `operation` on `resource` from AWS's message; `None` for the control when the message
/// does not name one. The refused action is read from "not authorized to perform: ACTION" when AWS says it.
pub fn from_message(resource: &str, message: &str) -> Attribution {
    let denied_action = refused_action(message);
    let lower = message.to_lowercase();
    for (phrase, control_type) in EXPLICIT_DENIES {
        if let Some(at) = lower.find(phrase) {
            let rest = &message[at + phrase.len()..];
            let name = rest
                .trim_start_matches([':', ' '])
                .split_whitespace()
                .next()
                .map(|name| name.trim_end_matches(['.', ',']))
                .filter(|name| name.starts_with("arn:"))
                .unwrap_or("(not named by AWS)");
            let location = caller(message).unwrap_or_else(|| resource.to_owned());
            return Attribution::to(
                NamedControl {
                    name: name.to_owned(),
                    location,
                    control_type: *control_type,
                },
                denied_action,
            );
        }
    }
    if let Some(setting) = BLOCK_PUBLIC_ACCESS
        .iter()
        .find(|setting| message.contains(*setting))
    {
        return Attribution::to(
            NamedControl {
                name: (*setting).to_owned(),
                location: resource.to_owned(),
                control_type: ControlType::S3BlockPublicAccess,
            },
            denied_action,
        );
    }
    Attribution::unattributed(denied_action)
}

/// `s3:PutBucketAcl` from "... is not authorized to perform: s3:PutBucketAcl on resource ...".
fn refused_action(message: &str) -> Option<String> {
    let at = message.find("to perform: ")? + "to perform: ".len();
    let action = message[at..].split_whitespace().next()?;
    let action = action.trim_end_matches(['.', ',']);
    action.contains(':').then(|| action.to_owned())
}

/// The caller's ARN from "User: arn:aws:iam::1:user/rdfi is not authorized ...".
fn caller(message: &str) -> Option<String> {
    let at = message.find("User: ")? + "User: ".len();
    let arn = message[at..].split_whitespace().next()?;
    arn.starts_with("arn:").then(|| arn.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_operation_needs_the_iam_action_of_its_service() {
        assert_eq!(
            iam_action(BUCKET, "PutBucketAcl").as_deref(),
            Some("s3:PutBucketAcl")
        );
        assert_eq!(
            iam_action(BUCKET, "PutPublicAccessBlock").as_deref(),
            Some("s3:PutBucketPublicAccessBlock")
        );
        assert_eq!(
            iam_action(super::super::USER, "AttachUserPolicy").as_deref(),
            Some("iam:AttachUserPolicy")
        );
        assert_eq!(iam_action("gcp.storage.bucket", "x"), None);
    }

    #[test]
    fn an_explicit_deny_named_by_aws_is_attributed_to_its_policy() {
        let message = "User: arn:aws:iam::123456789012:user/rdfi is not authorized to perform: s3:PutBucketAcl on resource: \"arn:aws:s3:::logs\" with an explicit deny in a service control policy: arn:aws:organizations::123456789012:policy/o-1/service_control_policy/p-deny";
        let attribution = from_message("arn:aws:s3:::logs", message);
        let control = attribution.control.expect("attributed");
        assert_eq!(control.control_type, ControlType::Scp);
        assert_eq!(
            control.name,
            "arn:aws:organizations::123456789012:policy/o-1/service_control_policy/p-deny"
        );
        assert_eq!(control.location, "arn:aws:iam::123456789012:user/rdfi");
        assert_eq!(
            attribution.denied_action.as_deref(),
            Some("s3:PutBucketAcl")
        );
    }

    #[test]
    fn each_kind_of_explicit_deny_has_its_type() {
        for (phrase, control_type) in EXPLICIT_DENIES {
            let message = format!(
                "User: arn:aws:iam::1:role/r is not authorized to perform: iam:CreateAccessKey on resource: u with an {phrase}"
            );
            let control = from_message("u", &message).control.expect("attributed");
            assert_eq!(control.control_type, *control_type, "{phrase}");
            assert_eq!(control.name, "(not named by AWS)");
        }
    }

    #[test]
    fn block_public_access_is_named_by_its_setting() {
        let message = "AccessDenied: User: arn:aws:iam::1:user/rdfi is not authorized to perform: s3:PutBucketPolicy on resource: \"arn:aws:s3:::b\" because public policies are blocked by the BlockPublicPolicy block public access setting.";
        let control = from_message("arn:aws:s3:::b", message)
            .control
            .expect("attributed");
        assert_eq!(control.control_type, ControlType::S3BlockPublicAccess);
        assert_eq!(control.name, "BlockPublicPolicy");
        assert_eq!(control.location, "arn:aws:s3:::b");
    }

    #[test]
    fn a_missing_permission_or_a_bare_access_denied_is_not_attributed() {
        let missing = "User: arn:aws:iam::1:user/rdfi is not authorized to perform: iam:CreateAccessKey on resource: user u because no identity-based policy allows the iam:CreateAccessKey action";
        let attribution = from_message("u", missing);
        assert_eq!(attribution.control, None);
        assert_eq!(
            attribution.denied_action.as_deref(),
            Some("iam:CreateAccessKey")
        );
        let bare = from_message("arn:aws:s3:::b", "AccessDenied: Access Denied");
        assert_eq!(bare, Attribution::unattributed(None));
    }
}
