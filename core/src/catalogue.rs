//! The fault catalogue: what each fault model is, as data. Providers implement the models (snapshot, inject,
//! revert, probe); the catalogue says what a fault means for security and who should catch it.

use std::time::Duration;

/// The security attribute a fault breaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecurityAttribute {
    Confidentiality,
    Integrity,
    Availability,
}

/// The kinds of security control that may answer a fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ControlKind {
    Preventive,
    Detective,
    Corrective,
}

/// A control the fault is expected to meet, with its default deadline.
#[derive(Clone, Copy, Debug)]
pub struct ExpectedControl {
    pub kind: ControlKind,
    pub example: &'static str,
    pub default_deadline: Duration,
}

/// One fault model.
#[derive(Debug)]
pub struct FaultModel {
    /// `aws.s3.bucket-public-acl`: provider, service, what goes wrong.
    pub id: &'static str,
    pub title: &'static str,
    /// The resource type it is aimed at, e.g. `aws.s3.bucket`.
    pub resource_type: &'static str,
    pub security_attribute: SecurityAttribute,
    /// MITRE ATT&CK technique id.
    pub attack_technique: &'static str,
    /// CIS benchmark control it violates, where one exists.
    pub cis_control: Option<&'static str>,
    pub cvss_vector: &'static str,
    /// Severity of a finding when no control catches this fault.
    pub severity: &'static str,
    pub preconditions: &'static str,
    pub expected_controls: &'static [ExpectedControl],
    pub remediation: &'static str,
}

impl FaultModel {
    /// The cloud the fault is written for: the first segment of its id.
    pub fn provider(&self) -> &'static str {
        self.id.split('.').next().unwrap_or_default()
    }
}

const MINUTE: Duration = Duration::from_secs(60);

static CATALOGUE: &[FaultModel] = &[
    FaultModel {
        id: "aws.s3.bucket-public-acl",
        title: "S3 bucket ACL grants READ to everyone (AllUsers)",
        resource_type: "aws.s3.bucket",
        security_attribute: SecurityAttribute::Confidentiality,
        attack_technique: "T1530",
        cis_control: Some("CIS AWS Foundations 2.1.4"),
        cvss_vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N",
        severity: "high",
        preconditions: "the bucket accepts ACLs (object ownership is not BucketOwnerEnforced) and has no AllUsers READ grant yet",
        expected_controls: &[
            ExpectedControl {
                kind: ControlKind::Preventive,
                example: "S3 Block Public Access (account or bucket), BucketOwnerEnforced object ownership",
                default_deadline: Duration::ZERO,
            },
            ExpectedControl {
                kind: ControlKind::Detective,
                example: "AWS Config s3-bucket-public-read-prohibited, Security Hub S3.2, Prowler",
                default_deadline: Duration::from_secs(5 * 60),
            },
            ExpectedControl {
                kind: ControlKind::Corrective,
                example: "Cloud Custodian delete-global-grants, Config auto-remediation",
                default_deadline: Duration::from_secs(15 * 60),
            },
        ],
        remediation: "Remove the AllUsers grant (aws s3api put-bucket-acl with the previous grants), enable S3 Block Public Access at account and bucket level, and set object ownership to BucketOwnerEnforced so ACLs cannot grant access.",
    },
    FaultModel {
        id: "aws.iam.user-admin-policy-attached",
        title: "AdministratorAccess attached to an IAM user",
        resource_type: "aws.iam.user",
        security_attribute: SecurityAttribute::Integrity,
        attack_technique: "T1098",
        cis_control: Some("CIS AWS Foundations 1.16"),
        cvss_vector: "CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:H/I:H/A:H",
        severity: "critical",
        preconditions: "the user does not already have arn:aws:iam::aws:policy/AdministratorAccess attached",
        expected_controls: &[
            ExpectedControl {
                kind: ControlKind::Preventive,
                example: "an SCP or permission boundary denying iam:AttachUserPolicy for AdministratorAccess",
                default_deadline: Duration::ZERO,
            },
            ExpectedControl {
                kind: ControlKind::Detective,
                example: "EventBridge rule on AttachUserPolicy, GuardDuty, Security Hub IAM.1",
                default_deadline: Duration::from_secs(5 * 60),
            },
            ExpectedControl {
                kind: ControlKind::Corrective,
                example: "an IAM reconciler that detaches unapproved admin policies",
                default_deadline: MINUTE,
            },
        ],
        remediation: "Detach AdministratorAccess from the user, grant least-privilege permissions through roles assumed with MFA, and deny iam:AttachUserPolicy for administrative policies with an SCP or permission boundary.",
    },
];

/// Every fault model.
pub fn all() -> &'static [FaultModel] {
    CATALOGUE
}

/// The fault model with this id.
pub fn find(id: &str) -> Option<&'static FaultModel> {
    CATALOGUE.iter().find(|model| model.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_name_their_provider_and_resource_type() {
        let mut ids: Vec<_> = all().iter().map(|model| model.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), all().len());
        for model in all() {
            assert!(
                model.resource_type.starts_with(model.provider()),
                "{}",
                model.id
            );
            assert!(model.cvss_vector.starts_with("CVSS:3.1/"), "{}", model.id);
            assert!(!model.remediation.is_empty());
        }
    }
}
