//! KMS faults: key hygiene (rotation), key policies opened to everyone, grants to another account.

use std::time::Duration;

use super::{ControlKind, ExpectedControl, FaultModel, SecurityAttribute};

pub(super) static FAULTS: &[FaultModel] = &[
    FaultModel {
        id: "aws.kms.key-rotation-disabled",
        title: "Automatic rotation disabled on a customer managed KMS key",
        resource_type: "aws.kms.key",
        security_attribute: SecurityAttribute::Confidentiality,
        attack_technique: "T1562",
        cis_control: Some("CIS AWS Foundations 3.6"),
        cvss_vector: "CVSS:3.1/AV:N/AC:H/PR:H/UI:N/S:U/C:L/I:N/A:N",
        preconditions: "the key is a symmetric customer managed key with automatic rotation enabled",
        destructive: false,
        expected_controls: &[
            ExpectedControl {
                kind: ControlKind::Preventive,
                example: "an SCP denying kms:DisableKeyRotation",
                default_deadline: Duration::ZERO,
            },
            ExpectedControl {
                kind: ControlKind::Detective,
                example: "AWS Config rule cmk-backing-key-rotation-enabled, Security Hub KMS.4, EventBridge rule on DisableKeyRotation",
                default_deadline: Duration::from_secs(15 * 60),
            },
            ExpectedControl {
                kind: ControlKind::Corrective,
                example: "an AWS Config remediation or Cloud Custodian kms-key policy that re-enables rotation",
                default_deadline: Duration::from_secs(5 * 60),
            },
        ],
        intents: &["encryption-disabled"],
        remediation: "Re-enable automatic rotation on the key (EnableKeyRotation), deny kms:DisableKeyRotation with an SCP, and manage key settings in infrastructure as code.",
    },
    FaultModel {
        id: "aws.kms.key-policy-public",
        title: "KMS key policy lets anyone (*) decrypt with the key",
        resource_type: "aws.kms.key",
        security_attribute: SecurityAttribute::Confidentiality,
        attack_technique: "T1098",
        cis_control: None,
        cvss_vector: "CVSS:3.1/AV:N/AC:H/PR:L/UI:N/S:C/C:H/I:N/A:N",
        preconditions: "the key policy has no unconditioned statement allowing kms:Decrypt to Principal *",
        destructive: false,
        expected_controls: &[
            ExpectedControl {
                kind: ControlKind::Preventive,
                example: "an SCP denying kms:PutKeyPolicy outside the key administrators' pipeline",
                default_deadline: Duration::ZERO,
            },
            ExpectedControl {
                kind: ControlKind::Detective,
                example: "IAM Access Analyzer public access finding on the key, Security Hub KMS.5, EventBridge rule on PutKeyPolicy",
                default_deadline: Duration::from_secs(5 * 60),
            },
            ExpectedControl {
                kind: ControlKind::Corrective,
                example: "a Cloud Custodian kms-key policy that removes statements granting access to *",
                default_deadline: Duration::from_secs(60),
            },
        ],
        intents: &["encryption-disabled", "external-access"],
        remediation: "Restore the key policy without the statement for Principal *, name the exact accounts and roles that may use the key (or condition on aws:PrincipalOrgID or kms:CallerAccount), and review Access Analyzer findings for KMS keys.",
    },
    FaultModel {
        id: "aws.kms.key-grant-external-account",
        title: "KMS grant lets an external account (999999999999) decrypt with the key",
        resource_type: "aws.kms.key",
        security_attribute: SecurityAttribute::Confidentiality,
        attack_technique: "T1098",
        cis_control: None,
        cvss_vector: "CVSS:3.1/AV:N/AC:H/PR:L/UI:N/S:C/C:H/I:N/A:N",
        preconditions: "the key is a customer managed key with no grant to a principal of account 999999999999",
        destructive: false,
        expected_controls: &[
            ExpectedControl {
                kind: ControlKind::Preventive,
                example: "an SCP denying kms:CreateGrant unless kms:GrantIsForAWSResource is true or the grantee is in the organization, a key policy allowing CreateGrant only to service roles",
                default_deadline: Duration::ZERO,
            },
            ExpectedControl {
                kind: ControlKind::Detective,
                example: "IAM Access Analyzer external access finding on the key (it reads grants), EventBridge rule on CreateGrant with a GranteePrincipal outside the organization",
                default_deadline: Duration::from_secs(5 * 60),
            },
            ExpectedControl {
                kind: ControlKind::Corrective,
                example: "an EventBridge rule on CreateGrant invoking a function that revokes grants to principals outside the organization",
                default_deadline: Duration::from_secs(5 * 60),
            },
        ],
        intents: &["encryption-disabled", "external-access"],
        remediation: "Revoke the grant (aws kms revoke-grant), review ListGrants on every key (grants do not show in the key policy), allow kms:CreateGrant only with kms:GrantIsForAWSResource or to the organization's principals, and review Access Analyzer findings for KMS keys.",
    },
    FaultModel {
        id: "aws.kms.key-disabled",
        title: "Customer managed KMS key disabled",
        resource_type: "aws.kms.key",
        security_attribute: SecurityAttribute::Availability,
        attack_technique: "T1485",
        cis_control: None,
        cvss_vector: "CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:C/C:N/I:N/A:H",
        preconditions: "the key is a customer managed key that is enabled; while the fault is on, data encrypted under the key cannot be decrypted (the revert enables it again, nothing is lost)",
        destructive: false,
        expected_controls: &[
            ExpectedControl {
                kind: ControlKind::Preventive,
                example: "an SCP denying kms:DisableKey and kms:ScheduleKeyDeletion outside the key administrators' pipeline",
                default_deadline: Duration::ZERO,
            },
            ExpectedControl {
                kind: ControlKind::Detective,
                example: "an EventBridge rule on DisableKey (the CIS 4.7 metric filter on DisableKey and ScheduleKeyDeletion), Security Hub KMS.3, GuardDuty Impact findings",
                default_deadline: Duration::from_secs(5 * 60),
            },
            ExpectedControl {
                kind: ControlKind::Corrective,
                example: "a Lambda or Cloud Custodian kms-key policy that enables the key again",
                default_deadline: Duration::from_secs(5 * 60),
            },
        ],
        intents: &["encryption-disabled"],
        remediation: "Enable the key (aws kms enable-key), alert on DisableKey and ScheduleKeyDeletion, and let only the key administrators' pipeline change key state.",
    },
    FaultModel {
        id: "aws.kms.key-scheduled-for-deletion",
        title: "Customer managed KMS key scheduled for deletion (7-day waiting period)",
        resource_type: "aws.kms.key",
        security_attribute: SecurityAttribute::Availability,
        attack_technique: "T1485",
        cis_control: None,
        cvss_vector: "CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:C/C:N/I:H/A:H",
        preconditions: "the key is a customer managed key that is enabled; the revert cancels the deletion and enables the key again, and must come within the 7-day waiting period (rdfi's deadline and recovery do), or the key and every piece of data encrypted under it are lost",
        destructive: true,
        expected_controls: &[
            ExpectedControl {
                kind: ControlKind::Preventive,
                example: "an SCP denying kms:ScheduleKeyDeletion, or a key policy allowing it only to a break-glass role",
                default_deadline: Duration::ZERO,
            },
            ExpectedControl {
                kind: ControlKind::Detective,
                example: "an EventBridge rule on ScheduleKeyDeletion (the CIS 4.7 metric filter), Security Hub KMS.3, the CloudWatch alarm on KMS keys pending deletion",
                default_deadline: Duration::from_secs(5 * 60),
            },
            ExpectedControl {
                kind: ControlKind::Corrective,
                example: "a Lambda on the ScheduleKeyDeletion event that cancels the deletion and enables the key",
                default_deadline: Duration::from_secs(5 * 60),
            },
        ],
        intents: &["encryption-disabled", "data-retention-weakened"],
        remediation: "Cancel the deletion (aws kms cancel-key-deletion) and enable the key (aws kms enable-key), then let only a break-glass role schedule key deletion.",
    },
];
