//! SNS faults: topic policies that let anyone subscribe or publish.

use std::time::Duration;

use super::{ControlKind, ExpectedControl, FaultModel, SecurityAttribute};

pub(super) static FAULTS: &[FaultModel] = &[FaultModel {
    id: "aws.sns.topic-policy-public",
    title: "SNS topic policy lets anyone (*) subscribe and publish",
    resource_type: "aws.sns.topic",
    security_attribute: SecurityAttribute::Confidentiality,
    attack_technique: "T1537",
    cis_control: None,
    cvss_vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:N",
    preconditions: "the topic policy has no unconditioned statement allowing sns:Subscribe or sns:Publish to Principal *",
    destructive: false,
    expected_controls: &[
        ExpectedControl {
            kind: ControlKind::Preventive,
            example: "an SCP denying sns:SetTopicAttributes and sns:AddPermission outside the platform pipeline",
            default_deadline: Duration::ZERO,
        },
        ExpectedControl {
            kind: ControlKind::Detective,
            example: "IAM Access Analyzer public access finding on the topic, Prowler sns_topics_not_publicly_accessible, EventBridge rule on SetTopicAttributes",
            default_deadline: Duration::from_secs(5 * 60),
        },
        ExpectedControl {
            kind: ControlKind::Corrective,
            example: "a Cloud Custodian sns policy with remove-statements (statement_ids: matched) on the cross-account filter",
            default_deadline: Duration::from_secs(15 * 60),
        },
    ],
    intents: &["external-access"],
    remediation: "Remove the statement for Principal * from the topic policy, keep the default statement conditioned on AWS:SourceOwner, name the exact publishers and condition service principals on aws:SourceArn or aws:SourceAccount.",
}];
