//! IAM faults: administrative and wildcard permissions, new credentials and sign-in paths, and role trust
//! opened to principals outside the organization.

use std::time::Duration;

use super::{ControlKind, ExpectedControl, FaultModel, SecurityAttribute};

const FIVE_MINUTES: Duration = Duration::from_secs(5 * 60);
const ONE_MINUTE: Duration = Duration::from_secs(60);

pub(super) static FAULTS: &[FaultModel] = &[
    FaultModel {
        id: "aws.iam.user-admin-policy-attached",
        title: "AdministratorAccess attached to an IAM user",
        resource_type: "aws.iam.user",
        security_attribute: SecurityAttribute::Integrity,
        attack_technique: "T1098",
        cis_control: Some("CIS AWS Foundations 1.16"),
        cvss_vector: "CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:H/I:H/A:H",
        preconditions: "the user does not already have arn:aws:iam::aws:policy/AdministratorAccess attached",
        destructive: false,
        expected_controls: &[
            ExpectedControl {
                kind: ControlKind::Preventive,
                example: "an SCP or permission boundary denying iam:AttachUserPolicy for AdministratorAccess",
                default_deadline: Duration::ZERO,
            },
            ExpectedControl {
                kind: ControlKind::Detective,
                example: "EventBridge rule on AttachUserPolicy, GuardDuty, Security Hub IAM.1",
                default_deadline: FIVE_MINUTES,
            },
            ExpectedControl {
                kind: ControlKind::Corrective,
                example: "an IAM reconciler that detaches unapproved admin policies",
                default_deadline: ONE_MINUTE,
            },
        ],
        intents: &["privilege-escalation"],
        remediation: "Detach AdministratorAccess from the user, grant least-privilege permissions through roles assumed with MFA, and deny iam:AttachUserPolicy for administrative policies with an SCP or permission boundary.",
    },
    FaultModel {
        id: "aws.iam.role-admin-policy-attached",
        title: "AdministratorAccess attached to an IAM role",
        resource_type: "aws.iam.role",
        security_attribute: SecurityAttribute::Integrity,
        attack_technique: "T1098.003",
        cis_control: Some("CIS AWS Foundations 1.16"),
        cvss_vector: "CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:H/I:H/A:H",
        preconditions: "the role does not already have arn:aws:iam::aws:policy/AdministratorAccess attached",
        destructive: false,
        expected_controls: &[
            ExpectedControl {
                kind: ControlKind::Preventive,
                example: "an SCP or permission boundary denying iam:AttachRolePolicy for AdministratorAccess outside the break-glass role",
                default_deadline: Duration::ZERO,
            },
            ExpectedControl {
                kind: ControlKind::Detective,
                example: "EventBridge rule on AttachRolePolicy, AWS Config rule iam-policy-no-statements-with-admin-access, Security Hub IAM.1",
                default_deadline: FIVE_MINUTES,
            },
            ExpectedControl {
                kind: ControlKind::Corrective,
                example: "a Cloud Custodian iam-role policy that detaches AdministratorAccess from unapproved roles",
                default_deadline: ONE_MINUTE,
            },
        ],
        intents: &["privilege-escalation"],
        remediation: "Detach AdministratorAccess from the role, give the workload that assumes it only the actions it needs, and deny iam:AttachRolePolicy for administrative policies with an SCP or a permission boundary on role creators.",
    },
    FaultModel {
        id: "aws.iam.user-inline-wildcard-policy",
        title: "Inline policy allowing * on * put on an IAM user",
        resource_type: "aws.iam.user",
        security_attribute: SecurityAttribute::Integrity,
        attack_technique: "T1098",
        cis_control: Some("CIS AWS Foundations 1.16"),
        cvss_vector: "CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:H/I:H/A:H",
        preconditions: "no inline policy of the user already allows * on *",
        destructive: false,
        expected_controls: &[
            ExpectedControl {
                kind: ControlKind::Preventive,
                example: "an SCP or permission boundary denying iam:PutUserPolicy; inline user policies forbidden by policy",
                default_deadline: Duration::ZERO,
            },
            ExpectedControl {
                kind: ControlKind::Detective,
                example: "EventBridge rule on PutUserPolicy, AWS Config rule iam-user-no-policies-check, Prowler iam_inline_policy_no_administrative_privileges",
                default_deadline: FIVE_MINUTES,
            },
            ExpectedControl {
                kind: ControlKind::Corrective,
                example: "an IAM reconciler that deletes inline policies granting * on *",
                default_deadline: ONE_MINUTE,
            },
        ],
        intents: &["privilege-escalation"],
        remediation: "Delete the wildcard inline policy, manage user permissions only through groups and reviewed managed policies, and deny iam:PutUserPolicy with an SCP or permission boundary.",
    },
    FaultModel {
        id: "aws.iam.role-inline-wildcard-policy",
        title: "Inline policy allowing * on * put on an IAM role",
        resource_type: "aws.iam.role",
        security_attribute: SecurityAttribute::Integrity,
        attack_technique: "T1098.003",
        cis_control: Some("CIS AWS Foundations 1.16"),
        cvss_vector: "CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:H/I:H/A:H",
        preconditions: "no inline policy of the role already allows * on *",
        destructive: false,
        expected_controls: &[
            ExpectedControl {
                kind: ControlKind::Preventive,
                example: "an SCP or permission boundary denying iam:PutRolePolicy outside the deployment pipeline",
                default_deadline: Duration::ZERO,
            },
            ExpectedControl {
                kind: ControlKind::Detective,
                example: "EventBridge rule on PutRolePolicy, Prowler iam_inline_policy_no_administrative_privileges, IAM Access Analyzer policy checks",
                default_deadline: FIVE_MINUTES,
            },
            ExpectedControl {
                kind: ControlKind::Corrective,
                example: "a Cloud Custodian iam-role policy that deletes inline policies granting * on *",
                default_deadline: ONE_MINUTE,
            },
        ],
        intents: &["privilege-escalation"],
        remediation: "Delete the wildcard inline policy from the role, define role permissions as reviewed managed policies in infrastructure as code, and deny iam:PutRolePolicy outside the pipeline with an SCP.",
    },
    FaultModel {
        id: "aws.iam.user-access-key-created",
        title: "New long-lived access key created for an IAM user",
        resource_type: "aws.iam.user",
        security_attribute: SecurityAttribute::Confidentiality,
        attack_technique: "T1098.001",
        cis_control: Some("CIS AWS Foundations 1.13"),
        cvss_vector: "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:L",
        preconditions: "the user has fewer than two access keys (the AWS limit) and no key the fault created",
        destructive: false,
        expected_controls: &[
            ExpectedControl {
                kind: ControlKind::Preventive,
                example: "an SCP denying iam:CreateAccessKey (workloads use roles, people use IAM Identity Center)",
                default_deadline: Duration::ZERO,
            },
            ExpectedControl {
                kind: ControlKind::Detective,
                example: "EventBridge rule on CreateAccessKey, GuardDuty Persistence:IAMUser/AnomalousBehavior, Security Hub IAM.3",
                default_deadline: FIVE_MINUTES,
            },
            ExpectedControl {
                kind: ControlKind::Corrective,
                example: "a Cloud Custodian iam-user policy that deactivates and deletes unapproved access keys",
                default_deadline: ONE_MINUTE,
            },
        ],
        intents: &["credential-sprawl"],
        remediation: "Delete the unapproved access key after checking its last use, replace long-lived keys with roles or IAM Identity Center, and deny iam:CreateAccessKey with an SCP except for a reviewed break-glass path.",
    },
    FaultModel {
        id: "aws.iam.user-login-profile-created",
        title: "Console password (login profile) added to an IAM user that had none",
        resource_type: "aws.iam.user",
        security_attribute: SecurityAttribute::Confidentiality,
        attack_technique: "T1098.001",
        cis_control: Some("CIS AWS Foundations 1.10"),
        cvss_vector: "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:N",
        preconditions: "the user has no login profile (no console password) yet",
        destructive: false,
        expected_controls: &[
            ExpectedControl {
                kind: ControlKind::Preventive,
                example: "an SCP denying iam:CreateLoginProfile (console access only through IAM Identity Center)",
                default_deadline: Duration::ZERO,
            },
            ExpectedControl {
                kind: ControlKind::Detective,
                example: "EventBridge rule on CreateLoginProfile, Security Hub IAM.5 (MFA for console users), Prowler iam_user_mfa_enabled_console_access",
                default_deadline: FIVE_MINUTES,
            },
            ExpectedControl {
                kind: ControlKind::Corrective,
                example: "a Cloud Custodian iam-user policy that deletes login profiles of programmatic users",
                default_deadline: ONE_MINUTE,
            },
        ],
        intents: &["credential-sprawl"],
        remediation: "Delete the login profile of a user that should not sign in to the console, require MFA for every console user, and deny iam:CreateLoginProfile with an SCP in favour of IAM Identity Center.",
    },
    FaultModel {
        id: "aws.iam.role-trust-policy-public",
        title: "IAM role trust policy lets any AWS principal (*) assume the role",
        resource_type: "aws.iam.role",
        security_attribute: SecurityAttribute::Confidentiality,
        attack_technique: "T1098",
        cis_control: None,
        cvss_vector: "CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:H/I:H/A:H",
        preconditions: "the role's trust policy does not already allow sts:AssumeRole to Principal {\"AWS\": \"*\"}",
        destructive: false,
        expected_controls: &[
            ExpectedControl {
                kind: ControlKind::Preventive,
                example: "an SCP denying iam:UpdateAssumeRolePolicy outside the pipeline; IAM policy validation rejecting public trust",
                default_deadline: Duration::ZERO,
            },
            ExpectedControl {
                kind: ControlKind::Detective,
                example: "IAM Access Analyzer external access finding on the role, EventBridge rule on UpdateAssumeRolePolicy",
                default_deadline: FIVE_MINUTES,
            },
            ExpectedControl {
                kind: ControlKind::Corrective,
                example: "a Cloud Custodian iam-role policy that removes cross-account trust statements to *",
                default_deadline: ONE_MINUTE,
            },
        ],
        intents: &["external-access", "privilege-escalation"],
        remediation: "Restore the role's trust policy to the reviewed principals, never trust {\"AWS\": \"*\"} (name accounts or roles and add aws:PrincipalOrgID or sts:ExternalId conditions), and keep IAM Access Analyzer enabled for the organization.",
    },
    FaultModel {
        id: "aws.iam.role-trust-policy-external-account",
        title: "IAM role trust policy lets an unknown external account assume the role",
        resource_type: "aws.iam.role",
        security_attribute: SecurityAttribute::Confidentiality,
        attack_technique: "T1098",
        cis_control: None,
        cvss_vector: "CVSS:3.1/AV:N/AC:H/PR:L/UI:N/S:C/C:H/I:H/A:H",
        preconditions: "the role's trust policy does not already trust arn:aws:iam::999999999999:root",
        destructive: false,
        expected_controls: &[
            ExpectedControl {
                kind: ControlKind::Preventive,
                example: "an SCP denying iam:UpdateAssumeRolePolicy outside the pipeline; a permission boundary on role administrators",
                default_deadline: Duration::ZERO,
            },
            ExpectedControl {
                kind: ControlKind::Detective,
                example: "IAM Access Analyzer external access finding (account outside the zone of trust), EventBridge rule on UpdateAssumeRolePolicy",
                default_deadline: FIVE_MINUTES,
            },
            ExpectedControl {
                kind: ControlKind::Corrective,
                example: "a reconciler that rewrites trust policies from infrastructure as code",
                default_deadline: ONE_MINUTE,
            },
        ],
        intents: &["external-access"],
        remediation: "Remove the trust statement for the unknown account, allow cross-account assumption only for reviewed accounts with sts:ExternalId or aws:PrincipalOrgID conditions, and archive only Access Analyzer findings for known partners.",
    },
];
