//! CloudWatch faults: a metric alarm that still evaluates but no longer tells anyone.

use std::time::Duration;

use super::{ControlKind, ExpectedControl, FaultModel, SecurityAttribute};

pub(super) static FAULTS: &[FaultModel] = &[FaultModel {
    id: "aws.cloudwatch.alarm-actions-disabled",
    title: "CloudWatch metric alarm's actions disabled",
    resource_type: "aws.cloudwatch.alarm",
    security_attribute: SecurityAttribute::Integrity,
    attack_technique: "T1562.001",
    cis_control: None,
    cvss_vector: "CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:N/I:L/A:N",
    preconditions: "the metric alarm has its actions enabled and at least one alarm, OK or insufficient-data action (an alarm without actions notifies no one anyway)",
    destructive: false,
    expected_controls: &[
        ExpectedControl {
            kind: ControlKind::Preventive,
            example: "an SCP denying cloudwatch:DisableAlarmActions on alarms tagged as security alarms (aws:ResourceTag) to everyone but the monitoring pipeline",
            default_deadline: Duration::ZERO,
        },
        ExpectedControl {
            kind: ControlKind::Detective,
            example: "an EventBridge rule on the CloudTrail event DisableAlarmActions, AWS Config rule cloudwatch-alarm-action-enabled-check, Security Hub CloudWatch.17",
            default_deadline: Duration::from_secs(15 * 60),
        },
        ExpectedControl {
            kind: ControlKind::Corrective,
            example: "a Lambda or SSM automation on that EventBridge rule calling EnableAlarmActions, the alarms managed in infrastructure as code with drift correction",
            default_deadline: Duration::from_secs(5 * 60),
        },
    ],
    intents: &["detection-disabled"],
    remediation: "Enable the alarm's actions again (aws cloudwatch enable-alarm-actions --alarm-names NAME), find who disabled them and why, alert on DisableAlarmActions, and keep the CIS section 4 security alarms in infrastructure as code.",
}];
