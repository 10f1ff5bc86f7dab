//! CloudTrail faults: a trail that stops recording, records less, or whose logs can be tampered with unseen.

use std::time::Duration;

use super::{ControlKind, ExpectedControl, FaultModel, SecurityAttribute};

/// What refuses a change to a trail.
const TRAIL_PREVENTIVE: ExpectedControl = ExpectedControl {
    kind: ControlKind::Preventive,
    example: "an SCP denying cloudtrail:StopLogging, cloudtrail:UpdateTrail and cloudtrail:PutEventSelectors; an organization trail member accounts cannot change",
    default_deadline: Duration::ZERO,
};

/// What restores a trail's configuration.
const TRAIL_CORRECTIVE: ExpectedControl = ExpectedControl {
    kind: ControlKind::Corrective,
    example: "an EventBridge rule on the CloudTrail API call triggering a Lambda or SSM automation that restores the trail, Cloud Custodian cloudtrail actions",
    default_deadline: Duration::from_secs(5 * 60),
};

pub(super) static FAULTS: &[FaultModel] = &[
    FaultModel {
        id: "aws.cloudtrail.trail-logging-stopped",
        title: "CloudTrail trail stopped logging",
        resource_type: "aws.cloudtrail.trail",
        security_attribute: SecurityAttribute::Integrity,
        attack_technique: "T1562.008",
        cis_control: Some("CIS AWS Foundations 3.1"),
        cvss_vector: "CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:N/I:H/A:N",
        preconditions: "the trail is logging and lives in the target region",
        destructive: false,
        expected_controls: &[
            TRAIL_PREVENTIVE,
            ExpectedControl {
                kind: ControlKind::Detective,
                example: "GuardDuty Stealth:IAMUser/CloudTrailLoggingDisabled, AWS Config cloudtrail-enabled, Security Hub CloudTrail.1, CIS 4.5 metric filter and alarm on trail changes",
                default_deadline: Duration::from_secs(5 * 60),
            },
            TRAIL_CORRECTIVE,
        ],
        intents: &["audit-logging-disabled"],
        remediation: "Start logging again (aws cloudtrail start-logging --name TRAIL), find who called StopLogging and why, and deny cloudtrail:StopLogging to everyone but a break-glass role with an SCP; prefer an organization trail.",
    },
    FaultModel {
        id: "aws.cloudtrail.trail-management-events-dropped",
        title: "CloudTrail trail no longer records management events",
        resource_type: "aws.cloudtrail.trail",
        security_attribute: SecurityAttribute::Integrity,
        attack_technique: "T1562.008",
        cis_control: Some("CIS AWS Foundations 3.1"),
        cvss_vector: "CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:N/I:H/A:N",
        preconditions: "the trail records management events (a basic selector with IncludeManagementEvents, an advanced eventCategory Management selector, or the default)",
        destructive: false,
        expected_controls: &[
            TRAIL_PREVENTIVE,
            ExpectedControl {
                kind: ControlKind::Detective,
                example: "Security Hub CloudTrail.1 (multi-region trail with read and write management events), AWS Config multi-region-cloudtrail-enabled, an EventBridge rule on PutEventSelectors",
                default_deadline: Duration::from_secs(5 * 60),
            },
            TRAIL_CORRECTIVE,
        ],
        intents: &["audit-logging-disabled"],
        remediation: "Put back an event selector with ReadWriteType All and IncludeManagementEvents true (aws cloudtrail put-event-selectors), and deny cloudtrail:PutEventSelectors outside the logging pipeline's role with an SCP.",
    },
    FaultModel {
        id: "aws.cloudtrail.trail-log-file-validation-disabled",
        title: "CloudTrail log file integrity validation disabled",
        resource_type: "aws.cloudtrail.trail",
        security_attribute: SecurityAttribute::Integrity,
        attack_technique: "T1562.008",
        cis_control: Some("CIS AWS Foundations 3.2"),
        cvss_vector: "CVSS:3.1/AV:N/AC:H/PR:H/UI:N/S:U/C:N/I:H/A:N",
        preconditions: "the trail has log file validation enabled",
        destructive: false,
        expected_controls: &[
            TRAIL_PREVENTIVE,
            ExpectedControl {
                kind: ControlKind::Detective,
                example: "AWS Config cloud-trail-log-file-validation-enabled, Security Hub CloudTrail.4, Prowler cloudtrail_log_file_validation_enabled",
                default_deadline: Duration::from_secs(10 * 60),
            },
            TRAIL_CORRECTIVE,
        ],
        intents: &["audit-logging-disabled"],
        remediation: "Enable log file validation again (aws cloudtrail update-trail --name TRAIL --enable-log-file-validation), check the digest chain for the gap with aws cloudtrail validate-logs, and deny cloudtrail:UpdateTrail with an SCP.",
    },
    FaultModel {
        id: "aws.cloudtrail.trail-multi-region-disabled",
        title: "CloudTrail trail narrowed to its home region",
        resource_type: "aws.cloudtrail.trail",
        security_attribute: SecurityAttribute::Integrity,
        attack_technique: "T1562.008",
        cis_control: Some("CIS AWS Foundations 3.1"),
        cvss_vector: "CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:N/I:H/A:N",
        preconditions: "the trail is a multi-region trail managed from its home region",
        destructive: false,
        expected_controls: &[
            TRAIL_PREVENTIVE,
            ExpectedControl {
                kind: ControlKind::Detective,
                example: "AWS Config multi-region-cloudtrail-enabled, Security Hub CloudTrail.1, Prowler cloudtrail_multi_region_enabled",
                default_deadline: Duration::from_secs(10 * 60),
            },
            TRAIL_CORRECTIVE,
        ],
        intents: &["audit-logging-disabled"],
        remediation: "Make the trail multi-region again (aws cloudtrail update-trail --name TRAIL --is-multi-region-trail --include-global-service-events), review activity in other regions during the gap, and deny cloudtrail:UpdateTrail with an SCP.",
    },
];
