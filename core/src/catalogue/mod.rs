//! The fault catalogue: what each fault model is, as data. Providers implement the models (snapshot, inject,
//! revert, probe); the catalogue says what a fault means for security and who should catch it.

mod aws_account;
mod aws_cloudtrail;
mod aws_cloudwatch;
mod aws_config;
mod aws_ec2;
mod aws_ec2_flow_logs;
mod aws_ecr;
mod aws_guardduty;
mod aws_iam;
mod aws_kms;
mod aws_lambda;
mod aws_logs;
mod aws_rds;
mod aws_s3;
mod aws_secretsmanager;
mod aws_sns;
mod aws_sqs;
mod gcp_compute;
mod gcp_iam;
mod gcp_storage;

use std::time::Duration;

use crate::cvss;
use crate::risk::Reach;

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
        aws_account::FAULTS,
        gcp_storage::FAULTS,
        gcp_iam::FAULTS,
        gcp_compute::FAULTS,
        aws_sqs::FAULTS,
        aws_sns::FAULTS,
        aws_secretsmanager::FAULTS,
        aws_ecr::FAULTS,
        aws_cloudwatch::FAULTS,
        aws_logs::FAULTS,
        aws_guardduty::FAULTS,
        aws_config::FAULTS,
        aws_lambda::FAULTS,
        aws_rds::FAULTS,
        aws_ec2_flow_logs::FAULTS,
    ]
    .into_iter()
    .flatten()
}

/// The fault model with this id.
pub fn find(id: &str) -> Option<&'static FaultModel> {
    all().find(|model| model.id == id)
}

/// How an outsider reads what a fault makes public: an anonymous (unsigned) request for a canary object rdfi
/// places in the resource for the fault, the read the fault's grant actually allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutsiderRead {
    /// GET the canary object: the grant lets anyone read the bucket's objects.
    GetObject,
    /// List the bucket and find the canary's key: the grant lets anyone list the bucket, not read its objects.
    ListObjects,
}

impl OutsiderRead {
    /// `get-object`, `list-objects`.
    pub fn label(self) -> &'static str {
        match self {
            OutsiderRead::GetObject => "get-object",
            OutsiderRead::ListObjects => "list-objects",
        }
    }
}

/// The faults whose exposure rdfi proves, with the outsider's read that proves it.
const EXPOSURE_PROOFS: &[(&str, OutsiderRead)] = &[
    // READ on the bucket ACL lets anyone list the bucket; object ACLs still guard the objects.
    ("aws.s3.bucket-public-acl", OutsiderRead::ListObjects),
    (
        "aws.s3.bucket-public-read-write-acl",
        OutsiderRead::ListObjects,
    ),
    // The statement allows s3:GetObject on every object to Principal *.
    ("aws.s3.bucket-policy-public", OutsiderRead::GetObject),
    // roles/storage.objectViewer and objectAdmin include storage.objects.get.
    (
        "gcp.storage.bucket-iam-allusers-viewer",
        OutsiderRead::GetObject,
    ),
    (
        "gcp.storage.bucket-iam-allusers-admin",
        OutsiderRead::GetObject,
    ),
    // READER on the bucket ACL grants storage.objects.list, not the objects.
    (
        "gcp.storage.bucket-acl-public-read",
        OutsiderRead::ListObjects,
    ),
    // A canary written after the injection gets the default object ACL: allUsers READER on itself.
    (
        "gcp.storage.bucket-default-object-acl-public-read",
        OutsiderRead::GetObject,
    ),
];

/// Faults that make storage public but whose exposure an anonymous read cannot prove, and why.
pub const EXPOSURE_UNPROVABLE: &[(&str, &str)] = &[
    (
        "aws.s3.bucket-public-access-block-removed",
        "it removes a preventive control and grants no one access by itself",
    ),
    (
        "aws.s3.object-public-acl",
        "it exposes the bucket's own canary object under rdfi-canary/, which rdfi did not place and must not remove",
    ),
    (
        "aws.ec2.snapshot-shared-publicly",
        "a public snapshot is read with an AWS account of one's own, not by an anonymous request",
    ),
    (
        "aws.ec2.image-made-public",
        "a public image is launched with an AWS account of one's own, not read by an anonymous request",
    ),
    (
        "gcp.storage.bucket-iam-allauthenticated-viewer",
        "it opens the bucket to any signed-in Google account, not to anonymous requests",
    ),
    (
        "gcp.storage.bucket-uniform-access-disabled",
        "it removes a preventive control and grants no one access by itself",
    ),
    (
        "gcp.storage.bucket-public-access-prevention-unenforced",
        "it removes a preventive control and grants no one access by itself",
    ),
    (
        "aws.sqs.queue-policy-public",
        "a public queue is read with an AWS identity of one's own, and canaries are bucket objects",
    ),
    (
        "aws.secretsmanager.secret-policy-public",
        "a public secret is read with an AWS identity of one's own, and canaries are bucket objects",
    ),
    (
        "aws.ecr.repository-policy-public",
        "a public repository is pulled with an AWS identity of one's own, and canaries are bucket objects",
    ),
    (
        "aws.rds.snapshot-shared-publicly",
        "a public DB snapshot is restored with an AWS account of one's own, not read by an anonymous request",
    ),
];

/// The outsider's read that proves this fault's exposure; `None` for a fault that exposes no stored data to
/// anonymous requests.
pub fn outsider_read(fault_id: &str) -> Option<OutsiderRead> {
    EXPOSURE_PROOFS
        .iter()
        .find(|(id, _)| *id == fault_id)
        .map(|(_, read)| *read)
}

/// The faults whose misconfiguration, found already present on a resource, says how reachable the resource
/// is ([`Reach`]): discovery reads each (never changes anything) to fill `ResourceRef.exposure`. The faults that
/// only remove a guard (Block Public Access, uniform access, public access prevention) grant no one access by
/// themselves and tell nothing.
const REACH_WHEN_PRESENT: &[(&str, Reach)] = &[
    ("aws.s3.bucket-public-acl", Reach::Public),
    ("aws.s3.bucket-public-read-write-acl", Reach::Public),
    ("aws.s3.bucket-policy-public", Reach::Public),
    ("aws.s3.object-public-acl", Reach::Public),
    ("aws.s3.bucket-policy-external-account", Reach::CrossAccount),
    ("aws.ec2.security-group-ssh-open-to-world", Reach::Public),
    ("aws.ec2.security-group-rdp-open-to-world", Reach::Public),
    (
        "aws.ec2.security-group-all-ports-open-to-world",
        Reach::Public,
    ),
    ("aws.ec2.security-group-open-to-world-ipv6", Reach::Public),
    ("aws.ec2.snapshot-shared-publicly", Reach::Public),
    ("aws.ec2.image-made-public", Reach::Public),
    // Every instance launched in such a subnet gets an address the internet can reach.
    ("aws.ec2.subnet-public-ip-on-launch-enabled", Reach::Public),
    ("aws.iam.role-trust-policy-public", Reach::Public),
    (
        "aws.iam.role-trust-policy-external-account",
        Reach::CrossAccount,
    ),
    ("aws.kms.key-policy-public", Reach::Public),
    ("gcp.storage.bucket-iam-allusers-viewer", Reach::Public),
    (
        "gcp.storage.bucket-iam-allauthenticated-viewer",
        Reach::Public,
    ),
    ("gcp.storage.bucket-iam-allusers-admin", Reach::Public),
    ("gcp.storage.bucket-acl-public-read", Reach::Public),
    (
        "gcp.storage.bucket-default-object-acl-public-read",
        Reach::Public,
    ),
    ("gcp.storage.bucket-iam-external-admin", Reach::CrossAccount),
    (
        "gcp.iam.project-owner-granted-to-external-user",
        Reach::CrossAccount,
    ),
    (
        "gcp.iam.project-editor-granted-to-external-user",
        Reach::CrossAccount,
    ),
    (
        "gcp.iam.project-token-creator-granted-broadly",
        Reach::CrossAccount,
    ),
    (
        "gcp.iam.project-service-account-user-granted-broadly",
        Reach::CrossAccount,
    ),
    ("gcp.compute.firewall-ssh-open-to-world", Reach::Public),
    ("gcp.compute.firewall-rdp-open-to-world", Reach::Public),
    (
        "gcp.compute.firewall-all-ports-open-to-world",
        Reach::Public,
    ),
    ("aws.sqs.queue-policy-public", Reach::Public),
    ("aws.sns.topic-policy-public", Reach::Public),
    ("aws.secretsmanager.secret-policy-public", Reach::Public),
    ("aws.ecr.repository-policy-public", Reach::Public),
    ("aws.kms.key-grant-external-account", Reach::CrossAccount),
    ("aws.lambda.function-public-invoke", Reach::Public),
    ("aws.rds.snapshot-shared-publicly", Reach::Public),
];

/// How reachable a resource is when this fault's misconfiguration is already present on it; `None` for a
/// fault whose presence tells nothing about who can reach the resource.
pub fn reach_when_present(fault_id: &str) -> Option<Reach> {
    REACH_WHEN_PRESENT
        .iter()
        .find(|(id, _)| *id == fault_id)
        .map(|(_, reach)| *reach)
}

/// The faults of `resource_type` whose presence discovery reads to tell the resource's reach, with the reach
/// each means.
pub fn reach_probes(resource_type: &str) -> impl Iterator<Item = (&'static str, Reach)> + '_ {
    REACH_WHEN_PRESENT
        .iter()
        .filter(move |(id, _)| find(id).is_some_and(|model| model.resource_type == resource_type))
        .copied()
}

/// The resource types the faults of `provider` are aimed at (every type for the sandbox), sorted.
pub fn resource_types(provider: &str) -> Vec<&'static str> {
    let mut types: Vec<&str> = all()
        .filter(|model| provider == "sandbox" || model.provider() == provider)
        .map(|model| model.resource_type)
        .collect();
    types.sort_unstable();
    types.dedup();
    types
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
    (
        "authentication-weakened",
        "passwords, sign-in or credential protections get easier to defeat",
    ),
    ("detection-disabled", "a detective control stops watching"),
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
        assert_eq!(
            destructive,
            [
                "aws.s3.bucket-lifecycle-expire-one-day",
                "aws.kms.key-scheduled-for-deletion",
                "aws.logs.audit-log-retention-one-day"
            ]
        );
    }

    #[test]
    fn every_fault_that_makes_storage_public_is_proved_or_says_why_not() {
        for model in all().filter(|model| model.intents.contains(&"public-storage-read")) {
            let proved = outsider_read(model.id).is_some();
            let unprovable = EXPOSURE_UNPROVABLE.iter().any(|(id, _)| *id == model.id);
            assert!(
                proved != unprovable,
                "{}: proved {proved}, unprovable {unprovable}",
                model.id
            );
        }
        let listed = EXPOSURE_PROOFS.iter().map(|(id, _)| id);
        for id in listed.chain(EXPOSURE_UNPROVABLE.iter().map(|(id, _)| id)) {
            let model = find(id).unwrap_or_else(|| panic!("{id} is not in the catalogue"));
            assert!(model.intents.contains(&"public-storage-read"), "{id}");
        }
        assert_eq!(
            outsider_read("aws.s3.bucket-public-acl"),
            Some(OutsiderRead::ListObjects)
        );
        assert_eq!(
            outsider_read("aws.s3.bucket-policy-public"),
            Some(OutsiderRead::GetObject)
        );
        assert_eq!(outsider_read("aws.iam.user-admin-policy-attached"), None);
    }

    #[test]
    fn every_fault_that_grants_access_tells_the_reach_and_no_guard_removal_does() {
        let granting = [
            "public-storage-write",
            "external-access",
            "network-exposure",
        ];
        for model in all() {
            let reach = reach_when_present(model.id);
            let removes_a_guard = EXPOSURE_UNPROVABLE
                .iter()
                .any(|(id, why)| *id == model.id && why.contains("grants no one access"));
            let grants = outsider_read(model.id).is_some()
                || model.intents.iter().any(|intent| granting.contains(intent))
                || (model.intents.contains(&"public-storage-read") && !removes_a_guard);
            assert_eq!(reach.is_some(), grants, "{}", model.id);
            if removes_a_guard {
                assert_eq!(reach, None, "{}", model.id);
            }
        }
        for (id, _) in REACH_WHEN_PRESENT {
            assert!(find(id).is_some(), "{id} is not in the catalogue");
        }
        assert_eq!(
            reach_when_present("aws.iam.role-trust-policy-external-account"),
            Some(Reach::CrossAccount)
        );
        assert_eq!(
            reach_when_present("aws.s3.bucket-public-access-block-removed"),
            None
        );
        let bucket_probes: Vec<(&str, Reach)> = reach_probes("aws.s3.bucket").collect();
        assert_eq!(
            bucket_probes,
            [
                ("aws.s3.bucket-public-acl", Reach::Public),
                ("aws.s3.bucket-public-read-write-acl", Reach::Public),
                ("aws.s3.bucket-policy-public", Reach::Public),
                ("aws.s3.object-public-acl", Reach::Public),
                ("aws.s3.bucket-policy-external-account", Reach::CrossAccount),
            ]
        );
        assert_eq!(reach_probes("aws.cloudtrail.trail").count(), 0);
    }

    /// The catalogue is as broad as its peers' on both clouds, and asking by intent reaches the faults on
    /// identity, networks and the detectors themselves on each.
    #[test]
    fn both_clouds_are_broad_and_intents_pick_faults_on_each() {
        let count = |provider: &str| all().filter(|model| model.provider() == provider).count();
        assert!(count("aws") >= 50, "{} AWS faults", count("aws"));
        assert!(count("gcp") >= 22, "{} GCP faults", count("gcp"));
        let picks = |intent: &str, provider: &str| -> Vec<&str> {
            by_intent(intent, provider).map(|model| model.id).collect()
        };
        for (intent, aws, gcp) in [
            (
                "audit-logging-disabled",
                "aws.logs.audit-log-retention-one-day",
                "gcp.logging.project-data-access-audit-logs-removed",
            ),
            (
                "external-access",
                "aws.sqs.queue-policy-public",
                "gcp.iam.project-owner-granted-to-external-user",
            ),
            (
                "network-exposure",
                "aws.ec2.subnet-public-ip-on-launch-enabled",
                "gcp.compute.firewall-ssh-open-to-world",
            ),
            (
                "privilege-escalation",
                "aws.iam.role-admin-policy-attached",
                "gcp.iam.service-account-made-project-owner",
            ),
        ] {
            assert!(
                picks(intent, "aws").contains(&aws),
                "{intent}: {:?}",
                picks(intent, "aws")
            );
            assert!(
                picks(intent, "gcp").contains(&gcp),
                "{intent}: {:?}",
                picks(intent, "gcp")
            );
        }
    }

    #[test]
    fn resource_types_are_those_of_the_provider_s_faults() {
        let gcp = resource_types("gcp");
        assert_eq!(
            gcp,
            [
                "gcp.compute.firewall",
                "gcp.iam.service-account",
                "gcp.project",
                "gcp.storage.bucket"
            ]
        );
        let aws = resource_types("aws");
        assert!(aws.contains(&"aws.s3.bucket") && aws.contains(&"aws.iam.role"));
        assert!(aws.iter().all(|kind| kind.starts_with("aws.")));
        let sandbox = resource_types("sandbox");
        assert_eq!(sandbox.len(), aws.len() + gcp.len());
        assert!(resource_types("azure").is_empty());
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
