//! RDS: manual DB snapshots shared with every AWS account.

use super::ec2::{MadePublic, ShareKind};
use super::register_faults;

register_faults![DbSnapshotSharedPublicly];

/// Manual DB snapshots: who may restore them. Their `restore` attribute lists account ids and, for a public
/// snapshot, `all`; the state reads `all` as the group and the accounts as user ids, as EC2's sharing does.
pub struct DbSnapshotShare;
impl ShareKind for DbSnapshotShare {
    const ID: &'static str = "aws.rds.snapshot-shared-publicly";
    const PRESENT: &'static str = "any AWS account may restore the DB snapshot";
    const ASPECT: &'static str = "rds.snapshot-restore-attribute";
    const MODIFY_OPERATION: &'static str = "ModifyDBSnapshotAttribute";
    const PERMISSION: &'static str = "restore";
}
/// `aws.rds.snapshot-shared-publicly`: `all` added to a manual DB snapshot's restore attribute; the revert
/// removes only `all`, keeping accounts shared meanwhile.
pub type DbSnapshotSharedPublicly = MadePublic<DbSnapshotShare>;
