//! What rdfi's identities must be allowed to do for a set of faults: the exact AWS IAM actions and Google Cloud
//! permissions the drivers of this crate call, and the least-privilege policy built from them
//! (`rdfi iam-policy`).
//!
//! The tables name, per fault, the calls its driver makes to read (snapshot, verify, poll) and to change
//! (inject, revert) its resource; per resource type, the calls that find resources and read their tags; and
//! the calls every run makes (the exposure canaries, rdfi's look at its own policies after a refusal). A test
//! on moto enforcing IAM runs faults as a user holding only the generated policy.

use std::collections::BTreeSet;

use rdfi_core::catalogue;
use serde_json::{Value, json};

/// The calls one fault's driver makes.
struct Calls {
    /// Snapshot, verification, presence checks and the monitor's polling.
    reads: &'static [&'static str],
    /// Inject and revert.
    writes: &'static [&'static str],
}

const fn calls(reads: &'static [&'static str], writes: &'static [&'static str]) -> Calls {
    Calls { reads, writes }
}

const S3_ACL: Calls = calls(&["s3:GetBucketAcl"], &["s3:PutBucketAcl"]);
const S3_POLICY: Calls = calls(
    &["s3:GetBucketPolicy"],
    &["s3:PutBucketPolicy", "s3:DeleteBucketPolicy"],
);
const IAM_TRUST: Calls = calls(&["iam:GetRole"], &["iam:UpdateAssumeRolePolicy"]);
const EC2_INGRESS: Calls = calls(
    &["ec2:DescribeSecurityGroups"],
    &[
        "ec2:AuthorizeSecurityGroupIngress",
        "ec2:RevokeSecurityGroupIngress",
    ],
);
const TRAIL_SETTINGS: Calls = calls(&["cloudtrail:GetTrail"], &["cloudtrail:UpdateTrail"]);

/// Every AWS fault's calls, as IAM actions (which are not always the API operation's name:
/// `DeletePublicAccessBlock` is `s3:PutBucketPublicAccessBlock`).
const AWS_FAULTS: &[(&str, Calls)] = &[
    ("aws.s3.bucket-public-acl", S3_ACL),
    ("aws.s3.bucket-public-read-write-acl", S3_ACL),
    ("aws.s3.bucket-policy-public", S3_POLICY),
    ("aws.s3.bucket-policy-external-account", S3_POLICY),
    ("aws.s3.bucket-tls-only-statement-removed", S3_POLICY),
    (
        "aws.s3.bucket-public-access-block-removed",
        calls(
            &["s3:GetBucketPublicAccessBlock"],
            &["s3:PutBucketPublicAccessBlock"],
        ),
    ),
    (
        "aws.s3.bucket-default-encryption-removed",
        calls(
            &["s3:GetEncryptionConfiguration"],
            &["s3:PutEncryptionConfiguration"],
        ),
    ),
    (
        "aws.s3.bucket-versioning-suspended",
        calls(&["s3:GetBucketVersioning"], &["s3:PutBucketVersioning"]),
    ),
    (
        "aws.s3.bucket-access-logging-disabled",
        calls(&["s3:GetBucketLogging"], &["s3:PutBucketLogging"]),
    ),
    (
        "aws.s3.bucket-lifecycle-expire-one-day",
        calls(
            &["s3:GetLifecycleConfiguration", "s3:GetBucketVersioning"],
            &["s3:PutLifecycleConfiguration"],
        ),
    ),
    (
        "aws.s3.object-public-acl",
        calls(&["s3:ListBucket", "s3:GetObjectAcl"], &["s3:PutObjectAcl"]),
    ),
    (
        "aws.iam.user-admin-policy-attached",
        calls(
            &["iam:ListAttachedUserPolicies"],
            &["iam:AttachUserPolicy", "iam:DetachUserPolicy"],
        ),
    ),
    (
        "aws.iam.role-admin-policy-attached",
        calls(
            &["iam:ListAttachedRolePolicies"],
            &["iam:AttachRolePolicy", "iam:DetachRolePolicy"],
        ),
    ),
    (
        "aws.iam.user-inline-wildcard-policy",
        calls(
            &["iam:ListUserPolicies", "iam:GetUserPolicy"],
            &["iam:PutUserPolicy", "iam:DeleteUserPolicy"],
        ),
    ),
    (
        "aws.iam.role-inline-wildcard-policy",
        calls(
            &["iam:ListRolePolicies", "iam:GetRolePolicy"],
            &["iam:PutRolePolicy", "iam:DeleteRolePolicy"],
        ),
    ),
    (
        "aws.iam.user-access-key-created",
        // The new key's id is recorded as a tag on the user, so that the revert deletes only rdfi's key.
        calls(
            &["iam:ListAccessKeys", "iam:ListUserTags"],
            &[
                "iam:CreateAccessKey",
                "iam:DeleteAccessKey",
                "iam:TagUser",
                "iam:UntagUser",
            ],
        ),
    ),
    (
        "aws.iam.user-login-profile-created",
        calls(
            &["iam:GetLoginProfile"],
            &["iam:CreateLoginProfile", "iam:DeleteLoginProfile"],
        ),
    ),
    ("aws.iam.role-trust-policy-public", IAM_TRUST),
    ("aws.iam.role-trust-policy-external-account", IAM_TRUST),
    ("aws.ec2.security-group-ssh-open-to-world", EC2_INGRESS),
    ("aws.ec2.security-group-rdp-open-to-world", EC2_INGRESS),
    (
        "aws.ec2.security-group-all-ports-open-to-world",
        EC2_INGRESS,
    ),
    ("aws.ec2.security-group-open-to-world-ipv6", EC2_INGRESS),
    (
        "aws.ec2.snapshot-shared-publicly",
        calls(
            &["ec2:DescribeSnapshotAttribute"],
            &["ec2:ModifySnapshotAttribute"],
        ),
    ),
    (
        "aws.ec2.image-made-public",
        calls(
            &["ec2:DescribeImageAttribute"],
            &["ec2:ModifyImageAttribute"],
        ),
    ),
    (
        "aws.cloudtrail.trail-logging-stopped",
        calls(
            &["cloudtrail:GetTrailStatus"],
            &["cloudtrail:StopLogging", "cloudtrail:StartLogging"],
        ),
    ),
    (
        "aws.cloudtrail.trail-management-events-dropped",
        calls(
            &["cloudtrail:GetEventSelectors"],
            &["cloudtrail:PutEventSelectors"],
        ),
    ),
    (
        "aws.cloudtrail.trail-log-file-validation-disabled",
        TRAIL_SETTINGS,
    ),
    ("aws.cloudtrail.trail-multi-region-disabled", TRAIL_SETTINGS),
    (
        "aws.kms.key-rotation-disabled",
        calls(
            &["kms:GetKeyRotationStatus"],
            &["kms:DisableKeyRotation", "kms:EnableKeyRotation"],
        ),
    ),
    (
        "aws.kms.key-disabled",
        calls(&["kms:DescribeKey"], &["kms:DisableKey", "kms:EnableKey"]),
    ),
    (
        "aws.kms.key-scheduled-for-deletion",
        calls(
            &["kms:DescribeKey"],
            &[
                "kms:ScheduleKeyDeletion",
                "kms:CancelKeyDeletion",
                "kms:EnableKey",
            ],
        ),
    ),
    (
        "aws.iam.account-password-policy-weakened",
        calls(
            &["iam:GetAccountPasswordPolicy"],
            &[
                "iam:UpdateAccountPasswordPolicy",
                "iam:DeleteAccountPasswordPolicy",
            ],
        ),
    ),
    (
        "aws.ec2.ebs-encryption-by-default-disabled",
        calls(
            &["ec2:GetEbsEncryptionByDefault"],
            &[
                "ec2:DisableEbsEncryptionByDefault",
                "ec2:EnableEbsEncryptionByDefault",
            ],
        ),
    ),
    (
        "aws.ec2.instance-imdsv1-enabled",
        calls(
            &["ec2:DescribeInstances"],
            &["ec2:ModifyInstanceMetadataOptions"],
        ),
    ),
    (
        "aws.ec2.subnet-public-ip-on-launch-enabled",
        calls(&["ec2:DescribeSubnets"], &["ec2:ModifySubnetAttribute"]),
    ),
    (
        "aws.s3.bucket-object-lock-retention-shortened",
        calls(
            &["s3:GetBucketObjectLockConfiguration"],
            &["s3:PutBucketObjectLockConfiguration"],
        ),
    ),
    (
        "aws.kms.key-policy-public",
        calls(&["kms:GetKeyPolicy"], &["kms:PutKeyPolicy"]),
    ),
    (
        "aws.kms.key-grant-external-account",
        calls(&["kms:ListGrants"], &["kms:CreateGrant", "kms:RevokeGrant"]),
    ),
    (
        "aws.sqs.queue-policy-public",
        // SQS removes a queue's policy by setting it empty: one action for both.
        calls(&["sqs:GetQueueAttributes"], &["sqs:SetQueueAttributes"]),
    ),
    (
        "aws.sns.topic-policy-public",
        calls(&["sns:GetTopicAttributes"], &["sns:SetTopicAttributes"]),
    ),
    (
        "aws.secretsmanager.secret-policy-public",
        calls(
            &["secretsmanager:GetResourcePolicy"],
            &[
                "secretsmanager:PutResourcePolicy",
                "secretsmanager:DeleteResourcePolicy",
            ],
        ),
    ),
    (
        "aws.ecr.repository-policy-public",
        calls(
            &["ecr:GetRepositoryPolicy"],
            &["ecr:SetRepositoryPolicy", "ecr:DeleteRepositoryPolicy"],
        ),
    ),
    (
        "aws.cloudwatch.alarm-actions-disabled",
        calls(
            &["cloudwatch:DescribeAlarms"],
            &[
                "cloudwatch:DisableAlarmActions",
                "cloudwatch:EnableAlarmActions",
            ],
        ),
    ),
    (
        "aws.logs.audit-log-retention-one-day",
        calls(
            &["logs:DescribeLogGroups"],
            &["logs:PutRetentionPolicy", "logs:DeleteRetentionPolicy"],
        ),
    ),
    (
        "aws.guardduty.detector-disabled",
        calls(&["guardduty:GetDetector"], &["guardduty:UpdateDetector"]),
    ),
    (
        "aws.config.recorder-stopped",
        calls(
            &[
                "config:DescribeConfigurationRecorders",
                "config:DescribeConfigurationRecorderStatus",
            ],
            &[
                "config:StopConfigurationRecorder",
                "config:StartConfigurationRecorder",
            ],
        ),
    ),
    (
        "aws.lambda.function-public-invoke",
        calls(
            &["lambda:GetPolicy"],
            &["lambda:AddPermission", "lambda:RemovePermission"],
        ),
    ),
    (
        "aws.rds.snapshot-shared-publicly",
        calls(
            &["rds:DescribeDBSnapshotAttributes"],
            &["rds:ModifyDBSnapshotAttribute"],
        ),
    ),
    // Re-creating a flow log passes its delivery role (CloudWatch Logs), sets up log delivery (S3, Firehose)
    // and tags it; deleting one to S3 or Firehose removes its log delivery.
    (
        "aws.ec2.vpc-flow-logs-deleted",
        calls(
            &["ec2:DescribeFlowLogs"],
            &[
                "ec2:DeleteFlowLogs",
                "ec2:CreateFlowLogs",
                "ec2:CreateTags",
                "iam:PassRole",
                "logs:CreateLogDelivery",
                "logs:DeleteLogDelivery",
            ],
        ),
    ),
];

/// What finding an account-level setting reads: rdfi's own account, and the tags of its opt-in marker.
const ACCOUNT_MARKER_READS: &[&str] = &["sts:GetCallerIdentity", "iam:ListPolicyTags"];

/// The resource types that are settings of the account, not resources: they carry no tags of their own, so
/// their changes cannot be conditioned on the opt-in tag; rdfi's guard checks the account's marker instead
/// (provider `aws::account`).
const AWS_ACCOUNT_TYPES: &[&str] = &[
    "aws.iam.account-password-policy",
    "aws.ec2.ebs-encryption-default",
    "aws.guardduty.detector",
    "aws.config.recorder",
];

/// The other resource types whose faults' changes a condition on the target's `aws:ResourceTag` cannot guard,
/// and why; like the account's settings, they are allowed unconditioned and rdfi's guard reads the target's
/// opt-in before each injection.
const AWS_UNTAGGED_CHANGES: &[(&str, &str)] = &[(
    "aws.ec2.vpc",
    "the flow logs deleted and created are resources of their own, with tags of their own, and creating one passes a role and sets up log delivery",
)];

/// The service each fault that calls `iam:PassRole` passes a role to: the only service the role may be passed
/// to (`iam:PassedToService`).
const AWS_PASSED_ROLES: &[(&str, &str)] = &[(
    "aws.ec2.vpc-flow-logs-deleted",
    "vpc-flow-logs.amazonaws.com",
)];

/// Per AWS resource type: the calls that list every resource and read its tags (discovery, which must see
/// resources that have not opted in, to know they have not), and the one that reads a target's tags again just
/// before each injection (the executor's opt-in guard).
const AWS_TYPES: &[(&str, &[&str], &str)] = &[
    (
        "aws.s3.bucket",
        &["s3:ListAllMyBuckets", "s3:GetBucketTagging"],
        "s3:GetBucketTagging",
    ),
    (
        "aws.iam.user",
        &["iam:ListUsers", "iam:ListUserTags"],
        "iam:ListUserTags",
    ),
    (
        "aws.iam.role",
        &["iam:ListRoles", "iam:ListRoleTags"],
        "iam:ListRoleTags",
    ),
    (
        "aws.ec2.security-group",
        &["ec2:DescribeSecurityGroups"],
        "ec2:DescribeTags",
    ),
    (
        "aws.ec2.snapshot",
        &["ec2:DescribeSnapshots"],
        "ec2:DescribeTags",
    ),
    ("aws.ec2.image", &["ec2:DescribeImages"], "ec2:DescribeTags"),
    (
        "aws.ec2.instance",
        &["ec2:DescribeInstances"],
        "ec2:DescribeTags",
    ),
    (
        "aws.ec2.subnet",
        &["ec2:DescribeSubnets"],
        "ec2:DescribeTags",
    ),
    // Account-level settings: the account's marker carries their tags (provider `aws::account`).
    ("aws.ec2.vpc", &["ec2:DescribeVpcs"], "ec2:DescribeTags"),
    (
        "aws.lambda.function",
        &["lambda:ListFunctions", "lambda:ListTags"],
        "lambda:ListTags",
    ),
    (
        "aws.rds.snapshot",
        &["rds:DescribeDBSnapshots", "rds:ListTagsForResource"],
        "rds:ListTagsForResource",
    ),
    (
        "aws.cloudwatch.alarm",
        &[
            "cloudwatch:DescribeAlarms",
            "cloudwatch:ListTagsForResource",
        ],
        "cloudwatch:ListTagsForResource",
    ),
    (
        "aws.logs.log-group",
        &["logs:DescribeLogGroups", "logs:ListTagsForResource"],
        "logs:ListTagsForResource",
    ),
    (
        "aws.guardduty.detector",
        &[
            "guardduty:ListDetectors",
            "sts:GetCallerIdentity",
            "iam:ListPolicyTags",
        ],
        "iam:ListPolicyTags",
    ),
    (
        "aws.config.recorder",
        &[
            "config:DescribeConfigurationRecorders",
            "sts:GetCallerIdentity",
            "iam:ListPolicyTags",
        ],
        "iam:ListPolicyTags",
    ),
    (
        "aws.iam.account-password-policy",
        ACCOUNT_MARKER_READS,
        "iam:ListPolicyTags",
    ),
    (
        "aws.ec2.ebs-encryption-default",
        ACCOUNT_MARKER_READS,
        "iam:ListPolicyTags",
    ),
    (
        "aws.cloudtrail.trail",
        &["cloudtrail:ListTrails", "cloudtrail:ListTags"],
        "cloudtrail:ListTags",
    ),
    (
        "aws.kms.key",
        &["kms:ListKeys", "kms:DescribeKey", "kms:ListResourceTags"],
        "kms:ListResourceTags",
    ),
    (
        "aws.sqs.queue",
        &[
            "sqs:ListQueues",
            "sqs:GetQueueAttributes",
            "sqs:ListQueueTags",
        ],
        "sqs:ListQueueTags",
    ),
    (
        "aws.sns.topic",
        &["sns:ListTopics", "sns:ListTagsForResource"],
        "sns:ListTagsForResource",
    ),
    (
        "aws.secretsmanager.secret",
        &["secretsmanager:ListSecrets"],
        "secretsmanager:DescribeSecret",
    ),
    (
        "aws.ecr.repository",
        &["ecr:DescribeRepositories", "ecr:ListTagsForResource"],
        "ecr:ListTagsForResource",
    ),
];

/// What the executor reads when the cloud refuses a change, to name the policy that refused (rdfi's own
/// user or role, its groups and their policies; the bucket's policy).
const AWS_ATTRIBUTION: &[&str] = &[
    "iam:GetUser",
    "iam:GetRole",
    "iam:ListUserPolicies",
    "iam:GetUserPolicy",
    "iam:ListRolePolicies",
    "iam:GetRolePolicy",
    "iam:ListAttachedUserPolicies",
    "iam:ListAttachedRolePolicies",
    "iam:ListGroupsForUser",
    "iam:ListGroupPolicies",
    "iam:GetGroupPolicy",
    "iam:ListAttachedGroupPolicies",
    "iam:GetPolicy",
    "iam:GetPolicyVersion",
    "s3:GetBucketPolicy",
];

/// The canary object that proves a bucket exposure, under [`crate::exposure::CANARY_PREFIX`]: written,
/// found again by version, and deleted with every version.
const AWS_CANARY_OBJECT: &[&str] = &["s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion"];
const AWS_CANARY_BUCKET: &[&str] = &["s3:ListBucketVersions"];

/// Cloud Storage faults read the bucket (`storage.buckets.get` with the full projection, which also needs
/// `storage.buckets.getIamPolicy`).
const GCS_READS: &[&str] = &["storage.buckets.get", "storage.buckets.getIamPolicy"];
const PROJECT_POLICY: Calls = calls(
    &["resourcemanager.projects.getIamPolicy"],
    &["resourcemanager.projects.setIamPolicy"],
);
/// Inserting, patching or deleting a VPC firewall rule also needs `compute.networks.updatePolicy` on its
/// network; each write waits for its operation (`compute.globalOperations.get`).
const FIREWALL_WRITES: &[&str] = &[
    "compute.firewalls.create",
    "compute.firewalls.delete",
    "compute.firewalls.update",
    "compute.globalOperations.get",
    "compute.networks.updatePolicy",
];
const FIREWALL_EXPOSURE: Calls = calls(
    &["compute.firewalls.get", "compute.firewalls.list"],
    FIREWALL_WRITES,
);

/// Every Google Cloud fault's permissions (a custom role's `includedPermissions`).
const GCP_FAULTS: &[(&str, Calls)] = &[
    (
        "gcp.storage.bucket-iam-allusers-viewer",
        calls(GCS_READS, &["storage.buckets.setIamPolicy"]),
    ),
    (
        "gcp.storage.bucket-iam-allauthenticated-viewer",
        calls(GCS_READS, &["storage.buckets.setIamPolicy"]),
    ),
    (
        "gcp.storage.bucket-iam-allusers-admin",
        calls(GCS_READS, &["storage.buckets.setIamPolicy"]),
    ),
    (
        "gcp.storage.bucket-iam-external-admin",
        calls(GCS_READS, &["storage.buckets.setIamPolicy"]),
    ),
    (
        "gcp.storage.bucket-uniform-access-disabled",
        calls(GCS_READS, &["storage.buckets.update"]),
    ),
    (
        "gcp.storage.bucket-public-access-prevention-unenforced",
        calls(GCS_READS, &["storage.buckets.update"]),
    ),
    // Patching a bucket's ACLs needs setIamPolicy as well as update.
    (
        "gcp.storage.bucket-acl-public-read",
        calls(
            GCS_READS,
            &["storage.buckets.update", "storage.buckets.setIamPolicy"],
        ),
    ),
    (
        "gcp.storage.bucket-default-object-acl-public-read",
        calls(
            GCS_READS,
            &["storage.buckets.update", "storage.buckets.setIamPolicy"],
        ),
    ),
    (
        "gcp.storage.bucket-versioning-disabled",
        calls(GCS_READS, &["storage.buckets.update"]),
    ),
    (
        "gcp.storage.bucket-logging-removed",
        calls(GCS_READS, &["storage.buckets.update"]),
    ),
    (
        "gcp.storage.bucket-retention-removed",
        calls(GCS_READS, &["storage.buckets.update"]),
    ),
    (
        "gcp.storage.bucket-default-kms-key-removed",
        calls(GCS_READS, &["storage.buckets.update"]),
    ),
    (
        "gcp.iam.project-owner-granted-to-external-user",
        PROJECT_POLICY,
    ),
    (
        "gcp.iam.project-editor-granted-to-external-user",
        PROJECT_POLICY,
    ),
    (
        "gcp.iam.project-token-creator-granted-broadly",
        PROJECT_POLICY,
    ),
    (
        "gcp.iam.project-service-account-user-granted-broadly",
        PROJECT_POLICY,
    ),
    ("gcp.iam.service-account-made-project-owner", PROJECT_POLICY),
    (
        "gcp.logging.project-data-access-audit-logs-removed",
        PROJECT_POLICY,
    ),
    // The fault's key is marked in the account's description (serviceAccounts.patch needs update).
    (
        "gcp.iam.service-account-key-created",
        calls(
            &["iam.serviceAccountKeys.list", "iam.serviceAccounts.get"],
            &[
                "iam.serviceAccountKeys.create",
                "iam.serviceAccountKeys.delete",
                "iam.serviceAccounts.update",
            ],
        ),
    ),
    (
        "gcp.iam.service-account-enabled",
        calls(
            &["iam.serviceAccounts.get"],
            &["iam.serviceAccounts.disable", "iam.serviceAccounts.enable"],
        ),
    ),
    ("gcp.compute.firewall-ssh-open-to-world", FIREWALL_EXPOSURE),
    ("gcp.compute.firewall-rdp-open-to-world", FIREWALL_EXPOSURE),
    (
        "gcp.compute.firewall-all-ports-open-to-world",
        FIREWALL_EXPOSURE,
    ),
    (
        "gcp.compute.firewall-logging-disabled",
        calls(&["compute.firewalls.get"], FIREWALL_WRITES),
    ),
];

/// Per Google Cloud resource type: the permissions discovery needs (the monitor's), and the one that reads a
/// resource's tags (labels, or the description of what has none) for the executor's guard.
const GCP_TYPES: &[(&str, &[&str], &str)] = &[
    (
        "gcp.storage.bucket",
        &["storage.buckets.list"],
        "storage.buckets.get",
    ),
    (
        "gcp.project",
        &["resourcemanager.projects.get"],
        "resourcemanager.projects.get",
    ),
    (
        "gcp.iam.service-account",
        &["iam.serviceAccounts.list"],
        "iam.serviceAccounts.get",
    ),
    (
        "gcp.compute.firewall",
        &["compute.firewalls.list"],
        "compute.firewalls.get",
    ),
];
const GCP_CANARY: &[&str] = &[
    "storage.objects.create",
    "storage.objects.delete",
    "storage.objects.get",
];

/// Which of rdfi's identities a policy is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Identity {
    /// One identity for everything (`rdfi run`, or `rdfi serve` with every service).
    Both,
    /// The executor: reads, and the changes of inject and revert.
    Executor,
    /// The monitor: reads only (discovery, reach, polling).
    Monitor,
}

/// A request for a policy: the faults, whose identity, and how resources opt in.
#[derive(Clone, Debug)]
pub struct PolicyRequest<'a> {
    pub faults: &'a [&'a str],
    pub identity: Identity,
    pub opt_in_tag: &'a str,
    /// Condition S3 bucket changes on the opt-in tag too. S3 evaluates `aws:ResourceTag` only on buckets with
    /// attribute-based access control turned on; on others such a condition never holds.
    pub s3_abac: bool,
}

/// A fault id with no entry in these tables.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("unknown fault {0:?} (`rdfi catalog` lists them)")]
pub struct UnknownFault(pub String);

/// The faults of `request` that belong to `provider`, after checking every id is known.
fn faults_of<'a>(
    request: &PolicyRequest<'a>,
    provider: &str,
) -> Result<Vec<&'a str>, UnknownFault> {
    let mut found = Vec::new();
    for &id in request.faults {
        // Every fault of the catalogue is in these tables (a test checks it).
        if catalogue::find(id).is_none() {
            return Err(UnknownFault(id.to_owned()));
        }
        if id.starts_with(&format!("{provider}.")) {
            found.push(id);
        }
    }
    Ok(found)
}

fn aws_calls(id: &str) -> &'static Calls {
    &AWS_FAULTS
        .iter()
        .find(|(fault, _)| *fault == id)
        .expect("checked by faults_of")
        .1
}

fn resource_type(id: &str) -> &'static str {
    catalogue::find(id)
        .expect("checked by faults_of")
        .resource_type
}

fn proves_exposure(id: &str) -> bool {
    catalogue::outsider_read(id).is_some()
}

fn sorted(actions: BTreeSet<&str>) -> Value {
    Value::from(actions.into_iter().collect::<Vec<_>>())
}

/// The least-privilege IAM policy document for the request's AWS faults, or `None` when it has none.
///
/// Reads are allowed on every resource: discovery must see resources that have not opted in, to know they
/// have not. Changes are allowed only on resources carrying the opt-in tag (S3 buckets: see
/// [`PolicyRequest::s3_abac`]), and denied on resources tagged `rdfi-protected=true`, whatever else allows
/// them. No action has a wildcard.
pub fn aws_policy(request: &PolicyRequest) -> Result<Option<Value>, UnknownFault> {
    let faults = faults_of(request, "aws")?;
    if faults.is_empty() {
        return Ok(None);
    }
    let executor = request.identity != Identity::Monitor;
    let monitor = request.identity != Identity::Executor;
    let mut reads: BTreeSet<&str> = BTreeSet::new();
    let mut writes: BTreeSet<&str> = BTreeSet::new();
    let mut account_writes: BTreeSet<&str> = BTreeSet::new();
    let mut passed_to: BTreeSet<&str> = BTreeSet::new();
    let mut canary = false;
    for &id in &faults {
        let calls = aws_calls(id);
        reads.extend(calls.reads);
        let resource_type = resource_type(id);
        let (_, discovery, guard) = AWS_TYPES
            .iter()
            .find(|(known, _, _)| *known == resource_type)
            .expect("every AWS resource type of the catalogue has discovery calls");
        if monitor {
            reads.extend(discovery.iter());
            // Discovery reads each resource's reach with the presence checks of the faults that grant access.
            for (probe, _) in catalogue::reach_probes(resource_type) {
                reads.extend(aws_calls(probe).reads);
            }
        }
        if executor {
            reads.insert(*guard);
            if AWS_ACCOUNT_TYPES.contains(&resource_type) {
                reads.extend(ACCOUNT_MARKER_READS);
            }
            let untagged = AWS_ACCOUNT_TYPES.contains(&resource_type)
                || AWS_UNTAGGED_CHANGES
                    .iter()
                    .any(|(kind, _)| *kind == resource_type);
            if untagged {
                account_writes.extend(calls.writes);
            } else {
                writes.extend(calls.writes);
            }
            passed_to.extend(
                AWS_PASSED_ROLES
                    .iter()
                    .filter(|(fault, _)| *fault == id)
                    .map(|(_, service)| *service),
            );
            canary |= proves_exposure(id);
        }
    }
    if executor {
        reads.extend(AWS_ATTRIBUTION);
    }
    let tag_condition = |key: &str| json!({ "StringEquals": { key: "true" } });
    let opted_in = tag_condition(&format!("aws:ResourceTag/{}", request.opt_in_tag));
    let protected = tag_condition(&format!(
        "aws:ResourceTag/{}",
        rdfi_core::targeting::PROTECTED_TAG
    ));
    let mut statements = vec![json!({
        "Sid": "RdfiRead",
        "Effect": "Allow",
        "Action": sorted(reads),
        "Resource": "*",
    })];
    if executor {
        let is = |action: &&str, names: &[&str]| names.contains(action);
        let bucket_writes: BTreeSet<&str> = writes
            .iter()
            .copied()
            .filter(|action| action.starts_with("s3:") && !is(action, &["s3:PutObjectAcl"]))
            .collect();
        // rdfi records the ids of the access keys it creates as tags on the user: only such tag keys.
        let key_tagging: BTreeSet<&str> = writes
            .iter()
            .copied()
            .filter(|action| is(action, &["iam:TagUser", "iam:UntagUser"]))
            .collect();
        let tagged_writes: BTreeSet<&str> = writes
            .iter()
            .copied()
            .filter(|action| {
                !action.starts_with("s3:") && !is(action, &["iam:TagUser", "iam:UntagUser"])
            })
            .collect();
        if !tagged_writes.is_empty() {
            statements.push(json!({
                "Sid": "RdfiChangeOptedIn",
                "Effect": "Allow",
                "Action": sorted(tagged_writes),
                "Resource": "*",
                "Condition": opted_in,
            }));
        }
        // Settings of the account have no tags to condition on (the account's marker opts it in), nor have the
        // resources some faults create (AWS_UNTAGGED_CHANGES). A role rdfi passes goes only to the service that
        // delivers with it.
        let unconditioned: BTreeSet<&str> = account_writes
            .iter()
            .copied()
            .filter(|action| *action != "iam:PassRole")
            .collect();
        if !unconditioned.is_empty() {
            statements.push(json!({
                "Sid": "RdfiChangeWithoutResourceTag",
                "Effect": "Allow",
                "Action": sorted(unconditioned),
                "Resource": "*",
            }));
        }
        if !passed_to.is_empty() {
            statements.push(json!({
                "Sid": "RdfiPassDeliveryRoles",
                "Effect": "Allow",
                "Action": ["iam:PassRole"],
                "Resource": "*",
                "Condition": { "StringEquals": { "iam:PassedToService": sorted(passed_to) } },
            }));
        }
        if !key_tagging.is_empty() {
            let mut condition = opted_in.clone();
            condition["ForAllValues:StringLike"] = json!({ "aws:TagKeys": ["AKIA*", "ASIA*"] });
            statements.push(json!({
                "Sid": "RdfiTagOwnAccessKeys",
                "Effect": "Allow",
                "Action": sorted(key_tagging),
                "Resource": "*",
                "Condition": condition,
            }));
        }
        if !bucket_writes.is_empty() {
            let mut statement = json!({
                "Sid": "RdfiChangeBuckets",
                "Effect": "Allow",
                "Action": sorted(bucket_writes),
                "Resource": "arn:aws:s3:::*",
            });
            if request.s3_abac {
                statement["Condition"] = opted_in.clone();
            }
            statements.push(statement);
        }
        if writes.contains("s3:PutObjectAcl") {
            // The object fault changes only the bucket's own canary objects.
            statements.push(json!({
                "Sid": "RdfiChangeCanaryObjects",
                "Effect": "Allow",
                "Action": ["s3:PutObjectAcl"],
                "Resource": "arn:aws:s3:::*/rdfi-canary/*",
            }));
        }
        if canary {
            statements.push(json!({
                "Sid": "RdfiExposureCanaries",
                "Effect": "Allow",
                "Action": sorted(AWS_CANARY_OBJECT.iter().copied().collect()),
                "Resource": format!("arn:aws:s3:::*/{}*", crate::exposure::CANARY_PREFIX),
            }));
            statements.push(json!({
                "Sid": "RdfiFindExposureCanaries",
                "Effect": "Allow",
                "Action": sorted(AWS_CANARY_BUCKET.iter().copied().collect()),
                "Resource": "arn:aws:s3:::*",
            }));
        }
        // Account settings carry no tags for the Deny to match; they are listed so that every change rdfi may
        // make is in it (the marker's rdfi-protected tag protects them, through rdfi's guard).
        let mut denied: BTreeSet<&str> = writes.union(&account_writes).copied().collect();
        if canary {
            denied.extend(AWS_CANARY_OBJECT);
        }
        statements.push(json!({
            "Sid": "RdfiNeverProtected",
            "Effect": "Deny",
            "Action": sorted(denied),
            "Resource": "*",
            "Condition": protected,
        }));
    }
    Ok(Some(json!({
        "Version": "2012-10-17",
        "Statement": statements,
    })))
}

/// The Google Cloud permissions for the request's GCP faults (a custom role's `includedPermissions`), sorted;
/// empty when it has none. IAM conditions cannot test bucket labels, so grant the role on the opted-in buckets
/// themselves (or the project), and rdfi's own label check does the rest.
pub fn gcp_permissions(request: &PolicyRequest) -> Result<Vec<&'static str>, UnknownFault> {
    let faults = faults_of(request, "gcp")?;
    let mut permissions: BTreeSet<&'static str> = BTreeSet::new();
    for &id in &faults {
        let calls = gcp_calls(id);
        let resource_type = resource_type(id);
        let (_, discovery, guard) = GCP_TYPES
            .iter()
            .find(|(known, _, _)| *known == resource_type)
            .expect("every GCP resource type of the catalogue has discovery calls");
        permissions.extend(calls.reads);
        if request.identity != Identity::Executor {
            permissions.extend(discovery.iter());
            // Discovery reads each resource's reach with the presence checks of the faults that grant access.
            for (probe, _) in catalogue::reach_probes(resource_type) {
                permissions.extend(gcp_calls(probe).reads);
            }
        }
        if request.identity != Identity::Monitor {
            permissions.insert(*guard);
            permissions.extend(calls.writes);
            if proves_exposure(id) {
                permissions.extend(GCP_CANARY);
            }
        }
    }
    Ok(permissions.into_iter().collect())
}

fn gcp_calls(id: &str) -> &'static Calls {
    &GCP_FAULTS
        .iter()
        .find(|(fault, _)| *fault == id)
        .expect("checked by faults_of")
        .1
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn request<'a>(faults: &'a [&'a str], identity: Identity) -> PolicyRequest<'a> {
        PolicyRequest {
            faults,
            identity,
            opt_in_tag: "rdfi-target",
            s3_abac: false,
        }
    }

    fn actions(policy: &Value, sid: &str) -> Vec<String> {
        policy["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .find(|statement| statement["Sid"] == sid)
            .map(|statement| {
                statement["Action"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|action| action.as_str().unwrap().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    }

    fn all_faults() -> Vec<&'static str> {
        catalogue::all().map(|fault| fault.id).collect()
    }

    #[test]
    fn every_fault_of_the_catalogue_has_its_calls_and_no_other_is_listed() {
        let listed: BTreeSet<&str> = AWS_FAULTS
            .iter()
            .map(|(id, _)| *id)
            .chain(GCP_FAULTS.iter().map(|(id, _)| *id))
            .collect();
        let catalogued: BTreeSet<&str> = all_faults()
            .into_iter()
            .filter(|id| !id.starts_with("sandbox."))
            .collect();
        assert_eq!(listed, catalogued);
        for resource_type in catalogue::resource_types("aws") {
            assert!(
                AWS_TYPES
                    .iter()
                    .any(|(known, _, _)| *known == resource_type),
                "{resource_type}"
            );
        }
    }

    #[test]
    fn every_gcp_resource_type_has_its_discovery_and_project_faults_their_policy() {
        for resource_type in catalogue::resource_types("gcp") {
            assert!(
                GCP_TYPES
                    .iter()
                    .any(|(known, _, _)| *known == resource_type),
                "{resource_type}"
            );
        }
        assert_eq!(
            gcp_permissions(&request(
                &["gcp.iam.service-account-made-project-owner"],
                Identity::Executor
            ))
            .unwrap(),
            [
                "iam.serviceAccounts.get",
                "resourcemanager.projects.getIamPolicy",
                "resourcemanager.projects.setIamPolicy"
            ]
        );
        let monitor = gcp_permissions(&request(
            &["gcp.compute.firewall-logging-disabled"],
            Identity::Monitor,
        ))
        .unwrap();
        assert_eq!(monitor, ["compute.firewalls.get", "compute.firewalls.list"]);
    }

    #[test]
    fn a_bucket_acl_fault_changes_only_acls_of_opted_in_buckets_and_places_canaries() {
        let policy = aws_policy(&request(&["aws.s3.bucket-public-acl"], Identity::Both))
            .unwrap()
            .unwrap();
        assert_eq!(actions(&policy, "RdfiChangeBuckets"), ["s3:PutBucketAcl"]);
        assert_eq!(actions(&policy, "RdfiChangeOptedIn"), Vec::<String>::new());
        let reads = actions(&policy, "RdfiRead");
        for read in [
            "s3:GetBucketAcl",
            "s3:ListAllMyBuckets",
            "s3:GetBucketTagging",
            // Reach: the presence checks of the other bucket faults that grant access.
            "s3:GetBucketPolicy",
            "s3:GetObjectAcl",
            "iam:ListAttachedUserPolicies",
        ] {
            assert!(reads.contains(&read.to_owned()), "{read}: {reads:?}");
        }
        assert!(!reads.iter().any(|read| read.starts_with("ec2:")));
        assert_eq!(
            actions(&policy, "RdfiExposureCanaries"),
            ["s3:DeleteObject", "s3:DeleteObjectVersion", "s3:PutObject"]
        );
        let denied = actions(&policy, "RdfiNeverProtected");
        assert!(denied.contains(&"s3:PutBucketAcl".to_owned()));
        assert!(denied.contains(&"s3:PutObject".to_owned()));
    }

    #[test]
    fn changes_outside_s3_hold_only_on_the_opt_in_tag_and_access_keys_tag_only_their_ids() {
        let policy = aws_policy(&PolicyRequest {
            opt_in_tag: "chaos-ok",
            ..request(
                &[
                    "aws.iam.user-access-key-created",
                    "aws.ec2.security-group-ssh-open-to-world",
                ],
                Identity::Executor,
            )
        })
        .unwrap()
        .unwrap();
        let statements = policy["Statement"].as_array().unwrap();
        let opted_in = statements
            .iter()
            .find(|statement| statement["Sid"] == "RdfiChangeOptedIn")
            .unwrap();
        assert_eq!(
            opted_in["Condition"],
            json!({ "StringEquals": { "aws:ResourceTag/chaos-ok": "true" } })
        );
        assert_eq!(
            actions(&policy, "RdfiChangeOptedIn"),
            [
                "ec2:AuthorizeSecurityGroupIngress",
                "ec2:RevokeSecurityGroupIngress",
                "iam:CreateAccessKey",
                "iam:DeleteAccessKey"
            ]
        );
        assert_eq!(
            actions(&policy, "RdfiTagOwnAccessKeys"),
            ["iam:TagUser", "iam:UntagUser"]
        );
        // The executor does not discover: no listing of every user or group.
        let reads = actions(&policy, "RdfiRead");
        assert!(!reads.contains(&"iam:ListUsers".to_owned()));
        assert!(reads.contains(&"ec2:DescribeTags".to_owned()));
        assert!(
            statements
                .iter()
                .all(|statement| statement["Sid"] != "RdfiChangeBuckets")
        );
    }

    /// Settings of the account carry no tags: their changes are allowed unconditioned, in a statement of their
    /// own, still listed in the Deny on protected resources; discovery and the guard read the account's marker.
    /// A log group is taggable: its changes stay conditioned.
    #[test]
    fn account_settings_change_without_a_tag_condition_and_read_the_marker() {
        let policy = aws_policy(&request(
            &[
                "aws.iam.account-password-policy-weakened",
                "aws.guardduty.detector-disabled",
                "aws.config.recorder-stopped",
                "aws.logs.audit-log-retention-one-day",
            ],
            Identity::Both,
        ))
        .unwrap()
        .unwrap();
        let statements = policy["Statement"].as_array().unwrap();
        let account = statements
            .iter()
            .find(|statement| statement["Sid"] == "RdfiChangeWithoutResourceTag")
            .unwrap();
        assert!(account.get("Condition").is_none(), "{account}");
        assert_eq!(
            actions(&policy, "RdfiChangeWithoutResourceTag"),
            [
                "config:StartConfigurationRecorder",
                "config:StopConfigurationRecorder",
                "guardduty:UpdateDetector",
                "iam:DeleteAccountPasswordPolicy",
                "iam:UpdateAccountPasswordPolicy"
            ]
        );
        assert_eq!(
            actions(&policy, "RdfiChangeOptedIn"),
            ["logs:DeleteRetentionPolicy", "logs:PutRetentionPolicy"]
        );
        let denied = actions(&policy, "RdfiNeverProtected");
        assert!(denied.contains(&"guardduty:UpdateDetector".to_owned()));
        let reads = actions(&policy, "RdfiRead");
        for read in [
            "guardduty:ListDetectors",
            "guardduty:GetDetector",
            "config:DescribeConfigurationRecorderStatus",
            "iam:ListPolicyTags",
            "sts:GetCallerIdentity",
        ] {
            assert!(reads.contains(&read.to_owned()), "{read}: {reads:?}");
        }
        assert!(
            statements
                .iter()
                .all(|statement| statement["Sid"] != "RdfiPassDeliveryRoles")
        );

        // Flow logs are resources of their own: their changes cannot hold on the VPC's tag either, and the
        // delivery role goes to the flow log service only.
        let policy = aws_policy(&request(
            &["aws.ec2.vpc-flow-logs-deleted"],
            Identity::Executor,
        ))
        .unwrap()
        .unwrap();
        assert_eq!(
            actions(&policy, "RdfiChangeWithoutResourceTag"),
            [
                "ec2:CreateFlowLogs",
                "ec2:CreateTags",
                "ec2:DeleteFlowLogs",
                "logs:CreateLogDelivery",
                "logs:DeleteLogDelivery"
            ]
        );
        let passed = policy["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .find(|statement| statement["Sid"] == "RdfiPassDeliveryRoles")
            .unwrap();
        assert_eq!(
            passed["Condition"],
            json!({ "StringEquals": { "iam:PassedToService": ["vpc-flow-logs.amazonaws.com"] } })
        );
    }

    #[test]
    fn only_the_faults_that_prove_an_exposure_may_place_canaries() {
        let policy = aws_policy(&request(
            &["aws.s3.bucket-versioning-suspended"],
            Identity::Both,
        ))
        .unwrap()
        .unwrap();
        let sids: Vec<&str> = policy["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .map(|statement| statement["Sid"].as_str().unwrap())
            .collect();
        assert!(!sids.contains(&"RdfiExposureCanaries"), "{sids:?}");
        assert!(!sids.contains(&"RdfiFindExposureCanaries"), "{sids:?}");
        assert_eq!(
            gcp_permissions(&request(
                &["gcp.storage.bucket-logging-removed"],
                Identity::Executor
            ))
            .unwrap(),
            [
                "storage.buckets.get",
                "storage.buckets.getIamPolicy",
                "storage.buckets.update"
            ]
        );
    }

    #[test]
    fn s3_abac_conditions_bucket_changes_too() {
        let policy = aws_policy(&PolicyRequest {
            s3_abac: true,
            ..request(&["aws.s3.bucket-versioning-suspended"], Identity::Both)
        })
        .unwrap()
        .unwrap();
        let buckets = policy["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .find(|statement| statement["Sid"] == "RdfiChangeBuckets")
            .unwrap()
            .clone();
        assert_eq!(
            buckets["Condition"],
            json!({ "StringEquals": { "aws:ResourceTag/rdfi-target": "true" } })
        );
    }

    #[test]
    fn the_monitor_only_reads_and_an_unknown_fault_is_refused() {
        let policy = aws_policy(&request(
            &[
                "aws.kms.key-policy-public",
                "gcp.storage.bucket-logging-removed",
            ],
            Identity::Monitor,
        ))
        .unwrap()
        .unwrap();
        assert_eq!(policy["Statement"].as_array().unwrap().len(), 1);
        assert_eq!(
            actions(&policy, "RdfiRead"),
            [
                "kms:DescribeKey",
                "kms:GetKeyPolicy",
                // Reach: the presence check of the grant fault.
                "kms:ListGrants",
                "kms:ListKeys",
                "kms:ListResourceTags"
            ]
        );
        assert_eq!(
            gcp_permissions(&request(
                &["gcp.storage.bucket-logging-removed"],
                Identity::Monitor
            ))
            .unwrap(),
            [
                "storage.buckets.get",
                "storage.buckets.getIamPolicy",
                "storage.buckets.list"
            ]
        );
        assert_eq!(
            aws_policy(&request(&["aws.s3.bucket-made-up"], Identity::Both)),
            Err(UnknownFault("aws.s3.bucket-made-up".to_owned()))
        );
        assert_eq!(
            aws_policy(&request(
                &["gcp.storage.bucket-logging-removed"],
                Identity::Both
            )),
            Ok(None)
        );
    }

    #[test]
    fn gcp_exposures_need_the_canary_objects_and_acl_patches_need_set_iam_policy() {
        assert_eq!(
            gcp_permissions(&request(
                &["gcp.storage.bucket-acl-public-read"],
                Identity::Executor
            ))
            .unwrap(),
            [
                "storage.buckets.get",
                "storage.buckets.getIamPolicy",
                "storage.buckets.setIamPolicy",
                "storage.buckets.update",
                "storage.objects.create",
                "storage.objects.delete",
                "storage.objects.get"
            ]
        );
    }

    proptest! {
        /// Whatever faults are asked for: no action has a wildcard, every change is denied on protected
        /// resources, the executor's changes are exactly its faults' writes, and more faults never allow less.
        #[test]
        fn policies_are_exact_and_grow_with_the_faults(
            picked in proptest::sample::subsequence(
                AWS_FAULTS.iter().map(|(id, _)| *id).collect::<Vec<_>>(), 1..8),
            extra in proptest::sample::select(AWS_FAULTS.iter().map(|(id, _)| *id).collect::<Vec<_>>()),
        ) {
            let policy = aws_policy(&request(&picked, Identity::Both)).unwrap().unwrap();
            let statements = policy["Statement"].as_array().unwrap();
            let mut allowed_changes = BTreeSet::new();
            for statement in statements {
                for action in statement["Action"].as_array().unwrap() {
                    let action = action.as_str().unwrap();
                    prop_assert!(!action.contains('*'), "{action}");
                    prop_assert!(action.split_once(':').is_some_and(|(service, name)| !service.is_empty() && !name.is_empty()));
                }
                if statement["Effect"] == "Allow" && statement["Sid"] != "RdfiRead" {
                    allowed_changes.extend(statement["Action"].as_array().unwrap().iter().map(|action| action.as_str().unwrap().to_owned()));
                }
            }
            let expected: BTreeSet<String> = picked.iter().flat_map(|id| aws_calls(id).writes.iter().map(|action| (*action).to_owned())).collect();
            let canaries: BTreeSet<String> = AWS_CANARY_OBJECT.iter().chain(AWS_CANARY_BUCKET).map(|action| (*action).to_owned()).collect();
            prop_assert!(expected.is_subset(&allowed_changes));
            prop_assert!(allowed_changes.difference(&expected).all(|action| canaries.contains(action)), "{allowed_changes:?}");
            let denied: BTreeSet<String> = actions(&policy, "RdfiNeverProtected").into_iter().collect();
            prop_assert!(expected.is_subset(&denied));
            let mut more = picked.clone();
            more.push(extra);
            let bigger = aws_policy(&request(&more, Identity::Both)).unwrap().unwrap();
            for sid in ["RdfiRead", "RdfiChangeOptedIn", "RdfiChangeBuckets", "RdfiNeverProtected"] {
                let before: BTreeSet<String> = actions(&policy, sid).into_iter().collect();
                let after: BTreeSet<String> = actions(&bigger, sid).into_iter().collect();
                prop_assert!(before.is_subset(&after), "{sid}");
            }
        }
    }
}
