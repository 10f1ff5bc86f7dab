//! Account-level faults: settings that belong to the account (and region), not to a taggable resource. An
//! account opts in to them through its marker (provider `aws::account`: the IAM policy `rdfi-account-opt-in`
//! carrying the opt-in tag), whose tags stand for the account's.

use std::time::Duration;

use super::{ControlKind, ExpectedControl, FaultModel, SecurityAttribute};

pub(super) static FAULTS: &[FaultModel] = &[
    FaultModel {
        id: "aws.iam.account-password-policy-weakened",
        title: "Account password policy weakened to 6 characters, no character classes, no reuse prevention",
        resource_type: "aws.iam.account-password-policy",
        security_attribute: SecurityAttribute::Confidentiality,
        attack_technique: "T1556",
        cis_control: Some("CIS AWS Foundations 1.8, 1.9"),
        cvss_vector: "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:L/I:L/A:N",
        preconditions: "the account opted in (its marker policy carries the opt-in tag) and has a password policy of its own that requires more than 6 characters, a character class or reuse prevention",
        destructive: false,
        expected_controls: &[
            ExpectedControl {
                kind: ControlKind::Preventive,
                example: "an SCP denying iam:UpdateAccountPasswordPolicy and iam:DeleteAccountPasswordPolicy outside the identity team's pipeline",
                default_deadline: Duration::ZERO,
            },
            ExpectedControl {
                kind: ControlKind::Detective,
                example: "AWS Config iam-password-policy, Security Hub IAM.15 and IAM.16, Prowler iam_password_policy_minimum_length_14, EventBridge rule on UpdateAccountPasswordPolicy",
                default_deadline: Duration::from_secs(30 * 60),
            },
            ExpectedControl {
                kind: ControlKind::Corrective,
                example: "an AWS Config remediation or a Cloud Custodian account policy that restores the password policy",
                default_deadline: Duration::from_secs(10 * 60),
            },
        ],
        intents: &["authentication-weakened"],
        remediation: "Restore the password policy (aws iam update-account-password-policy with at least 14 characters, every character class and a reuse prevention of 24), and manage it in infrastructure as code with an SCP denying changes outside it.",
    },
    FaultModel {
        id: "aws.ec2.ebs-encryption-by-default-disabled",
        title: "EBS encryption by default disabled in the region",
        resource_type: "aws.ec2.ebs-encryption-default",
        security_attribute: SecurityAttribute::Confidentiality,
        attack_technique: "T1562",
        cis_control: Some("CIS AWS Foundations 2.2.1"),
        cvss_vector: "CVSS:3.1/AV:N/AC:H/PR:H/UI:N/S:U/C:L/I:N/A:N",
        preconditions: "the account opted in (its marker policy carries the opt-in tag) and encrypts new EBS volumes by default in the region",
        destructive: false,
        expected_controls: &[
            ExpectedControl {
                kind: ControlKind::Preventive,
                example: "an SCP denying ec2:DisableEbsEncryptionByDefault",
                default_deadline: Duration::ZERO,
            },
            ExpectedControl {
                kind: ControlKind::Detective,
                example: "AWS Config ec2-ebs-encryption-by-default, Security Hub EC2.7, Prowler ec2_ebs_default_encryption, EventBridge rule on DisableEbsEncryptionByDefault",
                default_deadline: Duration::from_secs(30 * 60),
            },
            ExpectedControl {
                kind: ControlKind::Corrective,
                example: "an AWS Config remediation or a Cloud Custodian account policy that enables EBS encryption by default again",
                default_deadline: Duration::from_secs(10 * 60),
            },
        ],
        intents: &["encryption-disabled"],
        remediation: "Enable EBS encryption by default in every region (aws ec2 enable-ebs-encryption-by-default), deny ec2:DisableEbsEncryptionByDefault with an SCP, and check the volumes created while it was off.",
    },
];
