//! AWS Config faults: the region's configuration recorder stopped.

use std::time::Duration;

use super::{ControlKind, ExpectedControl, FaultModel, SecurityAttribute};

pub(super) static FAULTS: &[FaultModel] = &[FaultModel {
    id: "aws.config.recorder-stopped",
    title: "AWS Config configuration recorder stopped",
    resource_type: "aws.config.recorder",
    security_attribute: SecurityAttribute::Integrity,
    attack_technique: "T1562.008",
    cis_control: Some("CIS AWS Foundations 3.3"),
    cvss_vector: "CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:N/I:L/A:N",
    preconditions: "the account has opted in with its marker (the IAM policy rdfi-account-opt-in carries the opt-in tag), and the region's configuration recorder is recording; its role, recording group and delivery channel stay as they are",
    destructive: false,
    expected_controls: &[
        ExpectedControl {
            kind: ControlKind::Preventive,
            example: "an SCP denying config:StopConfigurationRecorder and config:DeleteConfigurationRecorder (AWS Control Tower's guardrails do)",
            default_deadline: Duration::ZERO,
        },
        ExpectedControl {
            kind: ControlKind::Detective,
            example: "Security Hub Config.1, an EventBridge rule on the CloudTrail event StopConfigurationRecorder, the CIS 4.9 metric filter and alarm on AWS Config changes",
            default_deadline: Duration::from_secs(15 * 60),
        },
        ExpectedControl {
            kind: ControlKind::Corrective,
            example: "a Lambda or SSM automation on that EventBridge rule calling StartConfigurationRecorder",
            default_deadline: Duration::from_secs(5 * 60),
        },
    ],
    intents: &["detection-disabled"],
    remediation: "Start the recorder again (aws configservice start-configuration-recorder --configuration-recorder-name NAME), find who stopped it and why, and deny config:StopConfigurationRecorder with an SCP; record every region.",
}];
