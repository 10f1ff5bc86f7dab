//! Google Cloud Storage faults.

use super::FaultModel;

pub(super) static FAULTS: &[FaultModel] = &[];
