//! Lambda faults: function policies that let anyone invoke the function.

use std::time::Duration;

use super::{ControlKind, ExpectedControl, FaultModel, SecurityAttribute};

pub(super) static FAULTS: &[FaultModel] = &[FaultModel {
    id: "aws.lambda.function-public-invoke",
    title: "Lambda function policy lets anyone (*) invoke the function",
    resource_type: "aws.lambda.function",
    security_attribute: SecurityAttribute::Integrity,
    attack_technique: "T1648",
    cis_control: None,
    cvss_vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:H/A:L",
    preconditions: "the function policy (if any) has no unconditioned statement allowing lambda:InvokeFunction to Principal *",
    destructive: false,
    expected_controls: &[
        ExpectedControl {
            kind: ControlKind::Preventive,
            example: "an SCP denying lambda:AddPermission when lambda:Principal is *",
            default_deadline: Duration::ZERO,
        },
        ExpectedControl {
            kind: ControlKind::Detective,
            example: "Security Hub Lambda.1, AWS Config lambda-function-public-access-prohibited, IAM Access Analyzer public access finding, EventBridge rule on AddPermission",
            default_deadline: Duration::from_secs(5 * 60),
        },
        ExpectedControl {
            kind: ControlKind::Corrective,
            example: "a Cloud Custodian lambda policy with remove-statements (statement_ids: matched) on the cross-account filter",
            default_deadline: Duration::from_secs(15 * 60),
        },
    ],
    intents: &["external-access"],
    remediation: "Remove the permission for Principal * (aws lambda remove-permission), grant invocation to the exact service principals conditioned on aws:SourceArn and aws:SourceAccount, and deny lambda:AddPermission for Principal * with an SCP.",
}];
