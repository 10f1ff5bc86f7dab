//! CloudWatch Logs faults: an audit log group that keeps its events for one day only.

use std::time::Duration;

use super::{ControlKind, ExpectedControl, FaultModel, SecurityAttribute};

pub(super) static FAULTS: &[FaultModel] = &[FaultModel {
    id: "aws.logs.audit-log-retention-one-day",
    title: "CloudWatch Logs audit log group's retention cut to one day",
    resource_type: "aws.logs.log-group",
    security_attribute: SecurityAttribute::Integrity,
    attack_technique: "T1562.008",
    cis_control: None,
    cvss_vector: "CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:N/I:H/A:L",
    preconditions: "the log group is opted in, which rdfi takes as the team's statement that it holds audit logs that matter (CloudTrail delivery, VPC flow logs, application audit trails), and it keeps its events longer than one day or never expires them. Destructive: while the fault is on, CloudWatch Logs may delete every event older than a day, which the revert (the previous retention back) cannot bring back; run it only on log groups whose events are copied elsewhere (a subscription or export) or can be lost",
    destructive: true,
    expected_controls: &[
        ExpectedControl {
            kind: ControlKind::Preventive,
            example: "an SCP denying logs:PutRetentionPolicy and logs:DeleteRetentionPolicy on audit log groups (aws:ResourceTag) to everyone but the logging pipeline",
            default_deadline: Duration::ZERO,
        },
        ExpectedControl {
            kind: ControlKind::Detective,
            example: "AWS Config rule cw-loggroup-retention-period-check (minimum retention), an EventBridge rule on the CloudTrail event PutRetentionPolicy, Prowler check cloudwatch_log_group_retention_policy_specific_days_enabled",
            default_deadline: Duration::from_secs(15 * 60),
        },
        ExpectedControl {
            kind: ControlKind::Corrective,
            example: "an AWS Config remediation or Cloud Custodian log-group policy (retention action) that restores the required retention",
            default_deadline: Duration::from_secs(5 * 60),
        },
    ],
    intents: &["audit-logging-disabled", "data-retention-weakened"],
    remediation: "Put the required retention back (aws logs put-retention-policy --log-group-name NAME --retention-in-days DAYS, or delete-retention-policy for never expire), recover what was deleted from its copies, deny retention changes on audit log groups, and subscribe audit log groups to durable storage.",
}];
