//! S3 faults.

use std::time::Duration;

use super::{ControlKind, ExpectedControl, FaultModel, SecurityAttribute};

pub(super) static FAULTS: &[FaultModel] = &[FaultModel {
    id: "aws.s3.bucket-public-acl",
    title: "S3 bucket ACL grants READ to everyone (AllUsers)",
    resource_type: "aws.s3.bucket",
    security_attribute: SecurityAttribute::Confidentiality,
    attack_technique: "T1530",
    cis_control: Some("CIS AWS Foundations 2.1.4"),
    cvss_vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N",
    preconditions: "the bucket accepts ACLs (object ownership is not BucketOwnerEnforced) and has no AllUsers READ grant yet",
    expected_controls: &[
        ExpectedControl {
            kind: ControlKind::Preventive,
            example: "S3 Block Public Access (account or bucket), BucketOwnerEnforced object ownership",
            default_deadline: Duration::ZERO,
        },
        ExpectedControl {
            kind: ControlKind::Detective,
            example: "AWS Config s3-bucket-public-read-prohibited, Security Hub S3.2, Prowler",
            default_deadline: Duration::from_secs(5 * 60),
        },
        ExpectedControl {
            kind: ControlKind::Corrective,
            example: "Cloud Custodian delete-global-grants, Config auto-remediation",
            default_deadline: Duration::from_secs(15 * 60),
        },
    ],
    intents: &["public-storage-read"],
    remediation: "Remove the AllUsers grant (aws s3api put-bucket-acl with the previous grants), enable S3 Block Public Access at account and bucket level, and set object ownership to BucketOwnerEnforced so ACLs cannot grant access.",
}];
