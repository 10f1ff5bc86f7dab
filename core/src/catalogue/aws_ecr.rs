//! ECR faults: repository policies that let anyone pull images.

use std::time::Duration;

use super::{ControlKind, ExpectedControl, FaultModel, SecurityAttribute};

pub(super) static FAULTS: &[FaultModel] = &[FaultModel {
    id: "aws.ecr.repository-policy-public",
    title: "ECR repository policy lets anyone (*) pull its images",
    resource_type: "aws.ecr.repository",
    security_attribute: SecurityAttribute::Confidentiality,
    attack_technique: "T1530",
    cis_control: None,
    cvss_vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N",
    preconditions: "the repository policy (if any) has no unconditioned statement allowing ecr:BatchGetImage or ecr:GetDownloadUrlForLayer to Principal *",
    destructive: false,
    expected_controls: &[
        ExpectedControl {
            kind: ControlKind::Preventive,
            example: "an SCP denying ecr:SetRepositoryPolicy outside the platform pipeline",
            default_deadline: Duration::ZERO,
        },
        ExpectedControl {
            kind: ControlKind::Detective,
            example: "IAM Access Analyzer public access finding on the repository, Prowler ecr_repositories_not_publicly_accessible, EventBridge rule on SetRepositoryPolicy",
            default_deadline: Duration::from_secs(5 * 60),
        },
        ExpectedControl {
            kind: ControlKind::Corrective,
            example: "a Cloud Custodian ecr policy with remove-statements (statement_ids: matched) on the cross-account filter",
            default_deadline: Duration::from_secs(15 * 60),
        },
    ],
    intents: &["external-access", "public-storage-read"],
    remediation: "Remove the statement for Principal * from the repository policy, name the accounts that pull (or condition on aws:PrincipalOrgID), and publish images meant for everyone through ECR Public instead.",
}];
