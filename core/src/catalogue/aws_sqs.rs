//! SQS faults: queue policies that let anyone send or receive messages.

use std::time::Duration;

use super::{ControlKind, ExpectedControl, FaultModel, SecurityAttribute};

pub(super) static FAULTS: &[FaultModel] = &[FaultModel {
    id: "aws.sqs.queue-policy-public",
    title: "SQS queue policy lets anyone (*) send and receive messages",
    resource_type: "aws.sqs.queue",
    security_attribute: SecurityAttribute::Confidentiality,
    attack_technique: "T1530",
    cis_control: None,
    cvss_vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:L",
    preconditions: "the queue policy (if any) has no unconditioned statement allowing sqs:SendMessage or sqs:ReceiveMessage to Principal *",
    destructive: false,
    expected_controls: &[
        ExpectedControl {
            kind: ControlKind::Preventive,
            example: "an SCP denying sqs:SetQueueAttributes outside the platform pipeline, a permission boundary without it",
            default_deadline: Duration::ZERO,
        },
        ExpectedControl {
            kind: ControlKind::Detective,
            example: "IAM Access Analyzer public access finding on the queue, Prowler sqs_queues_not_publicly_accessible, EventBridge rule on SetQueueAttributes",
            default_deadline: Duration::from_secs(5 * 60),
        },
        ExpectedControl {
            kind: ControlKind::Corrective,
            example: "a Cloud Custodian sqs policy with remove-statements (statement_ids: matched) on the cross-account filter",
            default_deadline: Duration::from_secs(15 * 60),
        },
    ],
    intents: &[
        "external-access",
        "public-storage-read",
        "public-storage-write",
    ],
    remediation: "Remove the statement for Principal * from the queue policy, name the exact roles and services that send and receive (condition service principals on aws:SourceArn), and review Access Analyzer findings for SQS queues.",
}];
