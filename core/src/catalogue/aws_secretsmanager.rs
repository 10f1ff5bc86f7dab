//! Secrets Manager faults: secret resource policies that let anyone read the secret.

use std::time::Duration;

use super::{ControlKind, ExpectedControl, FaultModel, SecurityAttribute};

pub(super) static FAULTS: &[FaultModel] = &[FaultModel {
    id: "aws.secretsmanager.secret-policy-public",
    title: "Secrets Manager secret policy lets anyone (*) read the secret value",
    resource_type: "aws.secretsmanager.secret",
    security_attribute: SecurityAttribute::Confidentiality,
    attack_technique: "T1555.006",
    cis_control: None,
    cvss_vector: "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:C/C:H/I:N/A:N",
    preconditions: "the secret's resource policy (if any) has no unconditioned statement allowing secretsmanager:GetSecretValue to Principal *; a secret encrypted with the AWS managed key cannot be read from another account, one with a customer managed key can if the key allows it",
    destructive: false,
    expected_controls: &[
        ExpectedControl {
            kind: ControlKind::Preventive,
            example: "an SCP denying secretsmanager:PutResourcePolicy unless secretsmanager:BlockPublicPolicy is true (PutResourcePolicy then refuses public policies)",
            default_deadline: Duration::ZERO,
        },
        ExpectedControl {
            kind: ControlKind::Detective,
            example: "IAM Access Analyzer public access finding on the secret, Prowler secretsmanager_not_publicly_accessible, EventBridge rule on PutResourcePolicy",
            default_deadline: Duration::from_secs(5 * 60),
        },
        ExpectedControl {
            kind: ControlKind::Corrective,
            example: "an EventBridge rule on PutResourcePolicy invoking a function that deletes or rewrites the policy, then rotates the secret",
            default_deadline: Duration::from_secs(15 * 60),
        },
    ],
    intents: &["external-access", "public-storage-read"],
    remediation: "Remove the statement for Principal * from the secret's policy, rotate the secret (its value may have been read), always call PutResourcePolicy with BlockPublicPolicy=true and enforce it with an SCP on secretsmanager:BlockPublicPolicy.",
}];
