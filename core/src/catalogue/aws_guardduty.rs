//! GuardDuty faults: the region's threat detector suspended.

use std::time::Duration;

use super::{ControlKind, ExpectedControl, FaultModel, SecurityAttribute};

pub(super) static FAULTS: &[FaultModel] = &[FaultModel {
    id: "aws.guardduty.detector-disabled",
    title: "GuardDuty detector of the region disabled",
    resource_type: "aws.guardduty.detector",
    security_attribute: SecurityAttribute::Integrity,
    attack_technique: "T1562.001",
    cis_control: None,
    cvss_vector: "CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:N/I:H/A:N",
    preconditions: "the account has opted in with its marker (the IAM policy rdfi-account-opt-in carries the opt-in tag), and the region's detector is enabled; only Enable changes: the finding publishing frequency and the features stay as they are",
    destructive: false,
    expected_controls: &[
        ExpectedControl {
            kind: ControlKind::Preventive,
            example: "GuardDuty managed by the organization's delegated administrator (member accounts cannot suspend their detector), an SCP denying guardduty:UpdateDetector and guardduty:DeleteDetector",
            default_deadline: Duration::ZERO,
        },
        ExpectedControl {
            kind: ControlKind::Detective,
            example: "Security Hub GuardDuty.1, AWS Config rule guardduty-enabled-centralized, an EventBridge rule on the CloudTrail event UpdateDetector, the delegated administrator seeing the member's status change",
            default_deadline: Duration::from_secs(15 * 60),
        },
        ExpectedControl {
            kind: ControlKind::Corrective,
            example: "the delegated administrator's auto-enable, a Lambda on that EventBridge rule calling UpdateDetector Enable=true",
            default_deadline: Duration::from_secs(5 * 60),
        },
    ],
    intents: &["detection-disabled"],
    remediation: "Enable the detector again (aws guardduty update-detector --detector-id ID --enable), manage GuardDuty from a delegated administrator account with auto-enable for every member and region, and deny guardduty:UpdateDetector and DeleteDetector with an SCP.",
}];
