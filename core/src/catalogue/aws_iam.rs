//! IAM faults.

use std::time::Duration;

use super::{ControlKind, ExpectedControl, FaultModel, SecurityAttribute};

pub(super) static FAULTS: &[FaultModel] = &[FaultModel {
    id: "aws.iam.user-admin-policy-attached",
    title: "AdministratorAccess attached to an IAM user",
    resource_type: "aws.iam.user",
    security_attribute: SecurityAttribute::Integrity,
    attack_technique: "T1098",
    cis_control: Some("CIS AWS Foundations 1.16"),
    cvss_vector: "CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:H/I:H/A:H",
    preconditions: "the user does not already have arn:aws:iam::aws:policy/AdministratorAccess attached",
    expected_controls: &[
        ExpectedControl {
            kind: ControlKind::Preventive,
            example: "an SCP or permission boundary denying iam:AttachUserPolicy for AdministratorAccess",
            default_deadline: Duration::ZERO,
        },
        ExpectedControl {
            kind: ControlKind::Detective,
            example: "EventBridge rule on AttachUserPolicy, GuardDuty, Security Hub IAM.1",
            default_deadline: Duration::from_secs(5 * 60),
        },
        ExpectedControl {
            kind: ControlKind::Corrective,
            example: "an IAM reconciler that detaches unapproved admin policies",
            default_deadline: Duration::from_secs(60),
        },
    ],
    intents: &["privilege-escalation"],
    remediation: "Detach AdministratorAccess from the user, grant least-privilege permissions through roles assumed with MFA, and deny iam:AttachUserPolicy for administrative policies with an SCP or permission boundary.",
}];
