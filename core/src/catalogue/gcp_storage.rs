//! Google Cloud Storage faults: bucket IAM, ACLs and settings. CIS controls are those of the CIS Google Cloud
//! Platform Foundation Benchmark (v3.0) where one exists.

use std::time::Duration;

use super::{ControlKind, ExpectedControl, FaultModel, SecurityAttribute};

const BUCKET: &str = "gcp.storage.bucket";
const MINUTES: u64 = 60;

/// A preventive control: the change is refused at once.
pub(super) const fn preventive(example: &'static str) -> ExpectedControl {
    ExpectedControl {
        kind: ControlKind::Preventive,
        example,
        default_deadline: Duration::ZERO,
    }
}

pub(super) const fn detective(example: &'static str, minutes: u64) -> ExpectedControl {
    ExpectedControl {
        kind: ControlKind::Detective,
        example,
        default_deadline: Duration::from_secs(minutes * MINUTES),
    }
}

pub(super) const fn corrective(example: &'static str, minutes: u64) -> ExpectedControl {
    ExpectedControl {
        kind: ControlKind::Corrective,
        example,
        default_deadline: Duration::from_secs(minutes * MINUTES),
    }
}

/// The controls every public IAM grant on a bucket should meet.
const PUBLIC_IAM_CONTROLS: &[ExpectedControl] = &[
    preventive(
        "Organization Policy constraints/storage.publicAccessPrevention, bucket public access prevention enforced",
    ),
    detective(
        "Security Command Center Security Health Analytics PUBLIC_BUCKET_ACL, Prowler cloudstorage_bucket_public_access, log-based alert on storage.setIamPolicy",
        5,
    ),
    corrective(
        "Cloud Custodian gcp.bucket set-iam-policy remove-bindings, Terraform/Config Connector drift reconciliation",
        15,
    ),
];

/// The controls every public ACL entry on a bucket should meet.
const PUBLIC_ACL_CONTROLS: &[ExpectedControl] = &[
    preventive(
        "Uniform bucket-level access (constraints/storage.uniformBucketLevelAccess), public access prevention enforced",
    ),
    detective(
        "Security Command Center Security Health Analytics PUBLIC_BUCKET_ACL, Prowler cloudstorage_bucket_public_access",
        5,
    ),
    corrective(
        "Cloud Custodian gcp.bucket policy removing allUsers ACL entries, Config Connector drift reconciliation",
        15,
    ),
];

pub(super) static FAULTS: &[FaultModel] = &[
    FaultModel {
        id: "gcp.storage.bucket-iam-allusers-viewer",
        title: "GCS bucket IAM policy grants roles/storage.objectViewer to allUsers",
        resource_type: BUCKET,
        security_attribute: SecurityAttribute::Confidentiality,
        attack_technique: "T1530",
        cis_control: Some("CIS GCP Foundation 5.1"),
        cvss_vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N",
        preconditions: "public access prevention is not enforced on the bucket or its project, and allUsers holds no roles/storage.objectViewer yet",
        destructive: false,
        expected_controls: PUBLIC_IAM_CONTROLS,
        intents: &["public-storage-read"],
        remediation: "Remove allUsers from the roles/storage.objectViewer binding (gcloud storage buckets remove-iam-policy-binding gs://BUCKET --member=allUsers --role=roles/storage.objectViewer), enforce public access prevention on the bucket and set the constraints/storage.publicAccessPrevention organization policy.",
    },
    FaultModel {
        id: "gcp.storage.bucket-iam-allauthenticated-viewer",
        title: "GCS bucket IAM policy grants roles/storage.objectViewer to allAuthenticatedUsers",
        resource_type: BUCKET,
        security_attribute: SecurityAttribute::Confidentiality,
        attack_technique: "T1530",
        cis_control: Some("CIS GCP Foundation 5.1"),
        cvss_vector: "CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:H/I:N/A:N",
        preconditions: "public access prevention is not enforced on the bucket or its project, and allAuthenticatedUsers holds no roles/storage.objectViewer yet",
        destructive: false,
        expected_controls: PUBLIC_IAM_CONTROLS,
        intents: &["public-storage-read"],
        remediation: "Remove allAuthenticatedUsers from the roles/storage.objectViewer binding (any Google account, not only your organization's), grant the intended groups instead, and enforce public access prevention.",
    },
    FaultModel {
        id: "gcp.storage.bucket-iam-allusers-admin",
        title: "GCS bucket IAM policy grants roles/storage.objectAdmin to allUsers",
        resource_type: BUCKET,
        security_attribute: SecurityAttribute::Integrity,
        attack_technique: "T1530",
        cis_control: Some("CIS GCP Foundation 5.1"),
        cvss_vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
        preconditions: "public access prevention is not enforced on the bucket or its project, and allUsers holds no roles/storage.objectAdmin yet",
        destructive: false,
        expected_controls: PUBLIC_IAM_CONTROLS,
        intents: &["public-storage-read", "public-storage-write"],
        remediation: "Remove allUsers from the roles/storage.objectAdmin binding at once, review the bucket's objects for tampering (object versions, Data Access audit logs), and enforce public access prevention.",
    },
    FaultModel {
        id: "gcp.storage.bucket-iam-external-admin",
        title: "GCS bucket IAM policy grants roles/storage.admin to an account outside the organization",
        resource_type: BUCKET,
        security_attribute: SecurityAttribute::Confidentiality,
        attack_technique: "T1098",
        cis_control: None,
        cvss_vector: "CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:H/I:H/A:H",
        preconditions: "user:attacker@example.com holds no roles/storage.admin on the bucket yet",
        destructive: false,
        expected_controls: &[
            preventive(
                "Organization Policy constraints/iam.allowedPolicyMemberDomains (domain restricted sharing)",
            ),
            detective(
                "Security Command Center Event Threat Detection (IAM anomalous grant: external member), log-based alert on storage.setIamPolicy",
                5,
            ),
            corrective(
                "Cloud Custodian gcp.bucket set-iam-policy remove-bindings, Terraform/Config Connector drift reconciliation",
                15,
            ),
        ],
        intents: &["external-access", "privilege-escalation"],
        remediation: "Remove the external member from the roles/storage.admin binding, check the Admin Activity audit logs for what it did, and set constraints/iam.allowedPolicyMemberDomains to your organization's customer ids.",
    },
    FaultModel {
        id: "gcp.storage.bucket-uniform-access-disabled",
        title: "GCS bucket uniform bucket-level access disabled (ACLs grant access again)",
        resource_type: BUCKET,
        security_attribute: SecurityAttribute::Confidentiality,
        attack_technique: "T1562",
        cis_control: Some("CIS GCP Foundation 5.2"),
        cvss_vector: "CVSS:3.1/AV:N/AC:H/PR:L/UI:N/S:U/C:L/I:L/A:N",
        preconditions: "uniform bucket-level access is enabled and not locked (enabled for less than 90 days)",
        destructive: false,
        expected_controls: &[
            preventive("Organization Policy constraints/storage.uniformBucketLevelAccess"),
            detective(
                "Security Command Center Security Health Analytics BUCKET_POLICY_ONLY_DISABLED, Prowler cloudstorage_bucket_uniform_bucket_level_access",
                15,
            ),
            corrective(
                "Cloud Custodian gcp.bucket set-uniform-access, Config Connector drift reconciliation",
                30,
            ),
        ],
        intents: &["public-storage-read"],
        remediation: "Enable uniform bucket-level access (gcloud storage buckets update gs://BUCKET --uniform-bucket-level-access), move any ACL grants into IAM, and enforce constraints/storage.uniformBucketLevelAccess.",
    },
    FaultModel {
        id: "gcp.storage.bucket-public-access-prevention-unenforced",
        title: "GCS bucket public access prevention no longer enforced",
        resource_type: BUCKET,
        security_attribute: SecurityAttribute::Confidentiality,
        attack_technique: "T1562",
        cis_control: Some("CIS GCP Foundation 5.1"),
        cvss_vector: "CVSS:3.1/AV:N/AC:H/PR:L/UI:N/S:U/C:L/I:N/A:N",
        preconditions: "public access prevention is enforced on the bucket",
        destructive: false,
        expected_controls: &[
            preventive("Organization Policy constraints/storage.publicAccessPrevention"),
            detective(
                "Security Command Center Security Health Analytics, Prowler cloudstorage_bucket_public_access, log-based alert on storage.buckets.update",
                15,
            ),
            corrective(
                "Cloud Custodian gcp.bucket set-public-access-prevention, Config Connector drift reconciliation",
                30,
            ),
        ],
        intents: &["public-storage-read"],
        remediation: "Set public access prevention back to enforced (gcloud storage buckets update gs://BUCKET --public-access-prevention) and enforce constraints/storage.publicAccessPrevention on the project or folder.",
    },
    FaultModel {
        id: "gcp.storage.bucket-acl-public-read",
        title: "GCS bucket ACL grants READER to allUsers",
        resource_type: BUCKET,
        security_attribute: SecurityAttribute::Confidentiality,
        attack_technique: "T1530",
        cis_control: Some("CIS GCP Foundation 5.1"),
        cvss_vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:N/A:N",
        preconditions: "uniform bucket-level access is disabled, public access prevention is not enforced, and the ACL has no allUsers entry yet",
        destructive: false,
        expected_controls: PUBLIC_ACL_CONTROLS,
        intents: &["public-storage-read"],
        remediation: "Remove the allUsers entry from the bucket ACL (gcloud storage buckets update gs://BUCKET --remove-acl-grant=entity=allUsers), then enable uniform bucket-level access so ACLs no longer apply.",
    },
    FaultModel {
        id: "gcp.storage.bucket-default-object-acl-public-read",
        title: "GCS bucket default object ACL grants READER to allUsers (new objects are public)",
        resource_type: BUCKET,
        security_attribute: SecurityAttribute::Confidentiality,
        attack_technique: "T1530",
        cis_control: Some("CIS GCP Foundation 5.1"),
        cvss_vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N",
        preconditions: "uniform bucket-level access is disabled, public access prevention is not enforced, and the default object ACL has no allUsers entry yet",
        destructive: false,
        expected_controls: PUBLIC_ACL_CONTROLS,
        intents: &["public-storage-read"],
        remediation: "Remove the allUsers entry from the default object ACL (gcloud storage buckets update gs://BUCKET --remove-default-object-acl-grant=entity=allUsers), make public any object written meanwhile private again, and enable uniform bucket-level access.",
    },
    FaultModel {
        id: "gcp.storage.bucket-versioning-disabled",
        title: "GCS bucket object versioning disabled",
        resource_type: BUCKET,
        security_attribute: SecurityAttribute::Availability,
        attack_technique: "T1490",
        cis_control: None,
        cvss_vector: "CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:N/I:L/A:H",
        preconditions: "object versioning is enabled",
        destructive: false,
        expected_controls: &[
            preventive("IAM: storage.buckets.update only for the platform's deploy identity"),
            detective(
                "Security Command Center Security Health Analytics OBJECT_VERSIONING_DISABLED, Prowler cloudstorage_bucket_versioning_enabled",
                15,
            ),
            corrective(
                "Cloud Custodian gcp.bucket set-versioning, Terraform/Config Connector drift reconciliation",
                30,
            ),
        ],
        intents: &["data-retention-weakened"],
        remediation: "Enable object versioning again (gcloud storage buckets update gs://BUCKET --versioning) with a lifecycle rule bounding noncurrent versions, and restrict storage.buckets.update.",
    },
    FaultModel {
        id: "gcp.storage.bucket-logging-removed",
        title: "GCS bucket usage and storage logs turned off",
        resource_type: BUCKET,
        security_attribute: SecurityAttribute::Integrity,
        attack_technique: "T1562.008",
        cis_control: None,
        cvss_vector: "CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:N/I:L/A:N",
        preconditions: "usage logs are delivered to a log bucket",
        destructive: false,
        expected_controls: &[
            preventive("IAM: storage.buckets.update only for the platform's deploy identity"),
            detective(
                "Security Command Center Security Health Analytics BUCKET_LOGGING_DISABLED, log-based alert on storage.buckets.update",
                15,
            ),
            corrective(
                "Config Connector/Terraform drift reconciliation of the logging block",
                30,
            ),
        ],
        intents: &["audit-logging-disabled"],
        remediation: "Turn usage logs on again (gcloud storage buckets update gs://BUCKET --log-bucket=gs://LOG_BUCKET --log-object-prefix=PREFIX), and keep Data Access audit logs for Cloud Storage enabled in the project's audit config.",
    },
    FaultModel {
        id: "gcp.storage.bucket-retention-removed",
        title: "GCS bucket retention policy removed",
        resource_type: BUCKET,
        security_attribute: SecurityAttribute::Availability,
        attack_technique: "T1485",
        cis_control: Some("CIS GCP Foundation 2.3"),
        cvss_vector: "CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:N/I:H/A:H",
        preconditions: "the bucket has a retention policy that is not locked (a locked policy cannot be removed)",
        destructive: false,
        expected_controls: &[
            preventive(
                "Bucket Lock (a locked retention policy), Organization Policy constraints/storage.retentionPolicySeconds",
            ),
            detective(
                "Security Command Center Security Health Analytics LOCKED_RETENTION_POLICY_NOT_SET, log-based alert on storage.buckets.update",
                15,
            ),
            corrective(
                "Config Connector/Terraform drift reconciliation of the retention policy",
                30,
            ),
        ],
        intents: &["data-retention-weakened"],
        remediation: "Set the retention policy again (gcloud storage buckets update gs://BUCKET --retention-period=PERIOD) and lock it once verified (Bucket Lock), above all on buckets that keep exported logs.",
    },
    FaultModel {
        id: "gcp.storage.bucket-default-kms-key-removed",
        title: "GCS bucket default Cloud KMS key (CMEK) removed",
        resource_type: BUCKET,
        security_attribute: SecurityAttribute::Confidentiality,
        attack_technique: "T1562",
        cis_control: None,
        cvss_vector: "CVSS:3.1/AV:N/AC:H/PR:H/UI:N/S:U/C:L/I:N/A:N",
        preconditions: "the bucket has a default Cloud KMS key",
        destructive: false,
        expected_controls: &[
            preventive(
                "Organization Policy constraints/gcp.restrictNonCmekServices (storage.googleapis.com)",
            ),
            detective(
                "Security Command Center Security Health Analytics BUCKET_CMEK_DISABLED, log-based alert on storage.buckets.update",
                15,
            ),
            corrective(
                "Config Connector/Terraform drift reconciliation of the encryption block",
                30,
            ),
        ],
        intents: &["encryption-disabled"],
        remediation: "Set the default key again (gcloud storage buckets update gs://BUCKET --default-encryption-key=KEY), rewrite objects written meanwhile with the key, and enforce constraints/gcp.restrictNonCmekServices.",
    },
];
