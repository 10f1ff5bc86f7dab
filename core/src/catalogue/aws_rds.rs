//! RDS faults: manual DB snapshots shared with every AWS account.

use std::time::Duration;

use super::{ControlKind, ExpectedControl, FaultModel, SecurityAttribute};

pub(super) static FAULTS: &[FaultModel] = &[FaultModel {
    id: "aws.rds.snapshot-shared-publicly",
    title: "RDS DB snapshot shared publicly (restore attribute all)",
    resource_type: "aws.rds.snapshot",
    security_attribute: SecurityAttribute::Confidentiality,
    attack_technique: "T1537",
    cis_control: None,
    cvss_vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N",
    preconditions: "the snapshot is a manual DB snapshot, unencrypted (AWS refuses to make encrypted snapshots public), and not public yet",
    destructive: false,
    expected_controls: &[
        ExpectedControl {
            kind: ControlKind::Preventive,
            example: "an SCP denying rds:ModifyDBSnapshotAttribute outside the backup pipeline, encryption of every database (AWS refuses to make encrypted snapshots public)",
            default_deadline: Duration::ZERO,
        },
        ExpectedControl {
            kind: ControlKind::Detective,
            example: "Security Hub RDS.1, AWS Config rds-snapshots-public-prohibited, Prowler rds_snapshots_public_access, EventBridge rule on ModifyDBSnapshotAttribute",
            default_deadline: Duration::from_secs(5 * 60),
        },
        ExpectedControl {
            kind: ControlKind::Corrective,
            example: "an AWS Config remediation (an SSM Automation document removing all from restore), Cloud Custodian rds-snapshot set-permissions with remove: [all]",
            default_deadline: Duration::from_secs(15 * 60),
        },
    ],
    intents: &["external-access", "public-storage-read"],
    remediation: "Remove all from the snapshot's restore attribute (aws rds modify-db-snapshot-attribute --attribute-name restore --values-to-remove all), share with explicit accounts only, and encrypt databases so that their snapshots cannot be made public.",
}];
