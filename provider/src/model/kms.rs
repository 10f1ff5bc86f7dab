//! KMS: key rotation and key policies.

use super::register_faults;

register_faults![];
