//! EC2 faults.

use super::FaultModel;

pub(super) static FAULTS: &[FaultModel] = &[];
