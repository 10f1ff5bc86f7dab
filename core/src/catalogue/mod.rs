//! The fault catalogue: what each fault model is, as data. Providers implement the models (snapshot, inject,
//! revert, probe); the catalogue says what a fault means for security and who should catch it.

mod aws_cloudtrail;
mod aws_ec2;
mod aws_iam;
mod aws_kms;
mod aws_s3;
mod gcp_storage;

use std::time::Duration;

use crate::cvss;

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
    pub preconditions: &'static str,
    /// Whether the fault itself can destroy data, beyond what its revert restores (a rule that deletes
    /// objects): an experiment must opt in to run it.
    pub destructive: bool,
    pub expected_controls: &'static [ExpectedControl],
    /// What the fault is an instance of, so that experiments can ask for it by intent (see [`INTENTS`]).
    pub intents: &'static [&'static str],
    pub remediation: &'static str,
}

impl FaultModel {
    /// The cloud the fault is written for: the first segment of its id.
    pub fn provider(&self) -> &'static str {
        self.id.split('.').next().unwrap_or_default()
    }

    /// The CVSS v3.1 base score of [`FaultModel::cvss_vector`] (0 for an invalid vector, which a test forbids).
    pub fn cvss_base_score(&self) -> f64 {
        cvss::base_score(self.cvss_vector).unwrap_or(0.0)
    }

    /// The severity of a finding about this fault: the rating of its base score.
    pub fn severity(&self) -> cvss::Severity {
        cvss::Severity::of(self.cvss_base_score())
    }
}

/// Every fault model.
pub fn all() -> impl Iterator<Item = &'static FaultModel> {
    [
        aws_s3::FAULTS,
        aws_iam::FAULTS,
        aws_ec2::FAULTS,
        aws_cloudtrail::FAULTS,
        aws_kms::FAULTS,
        gcp_storage::FAULTS,
    ]
    .into_iter()
    .flatten()
}

/// The fault model with this id.
pub fn find(id: &str) -> Option<&'static FaultModel> {
    all().find(|model| model.id == id)
}

/// The intents faults can be asked for by, with what each means.
pub const INTENTS: &[(&str, &str)] = &[
    (
        "public-storage-read",
        "anyone on the internet can read stored data",
    ),
    (
        "public-storage-write",
        "anyone on the internet can write or delete stored data",
    ),
    (
        "external-access",
        "an identity outside the organization is granted access",
    ),
    (
        "privilege-escalation",
        "an identity gains administrative or wildcard permissions",
    ),
    (
        "credential-sprawl",
        "new long-lived credentials or sign-in paths appear",
    ),
    ("audit-logging-disabled", "actions stop being recorded"),
    (
        "encryption-disabled",
        "data at rest loses its encryption or key hygiene",
    ),
    (
        "network-exposure",
        "services become reachable from the whole internet",
    ),
    (
        "data-retention-weakened",
        "data can be lost: versioning, retention or lifecycle weakened",
    ),
    ("transport-security-weakened", "data may travel unencrypted"),
];

/// The faults with this intent, of one provider (every provider for the sandbox, which implements them all).
pub fn by_intent<'a>(
    intent: &'a str,
    provider: &'a str,
) -> impl Iterator<Item = &'static FaultModel> + 'a {
    all().filter(move |model| {
        model.intents.contains(&intent) && (provider == "sandbox" || model.provider() == provider)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_faults_that_delete_data_are_marked_destructive() {
        let destructive: Vec<&str> = all()
            .filter(|model| model.destructive)
            .map(|model| model.id)
            .collect();
        assert_eq!(destructive, ["aws.s3.bucket-lifecycle-expire-one-day"]);
    }

    #[test]
    fn ids_are_unique_and_every_model_is_complete() {
        let mut ids: Vec<_> = all().map(|model| model.id).collect();
        let count = ids.len();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), count);
        for model in all() {
            assert!(
                model.resource_type.starts_with(model.provider()),
                "{}",
                model.id
            );
            assert!(
                model.cvss_base_score() > 0.0,
                "{}: {}",
                model.id,
                model.cvss_vector
            );
            assert!(
                !model.remediation.is_empty() && !model.title.is_empty(),
                "{}",
                model.id
            );
            assert!(!model.intents.is_empty(), "{} has an intent", model.id);
            for intent in model.intents {
                assert!(
                    INTENTS.iter().any(|(known, _)| known == intent),
                    "{}: unknown intent {intent}",
                    model.id
                );
            }
            assert!(model.attack_technique.starts_with('T'), "{}", model.id);
            assert!(!model.expected_controls.is_empty(), "{}", model.id);
        }
    }
}
