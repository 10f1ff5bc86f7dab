//! CloudTrail conformance cases.

use super::AwsCase;

pub fn cases() -> Vec<Box<dyn AwsCase>> {
    Vec::new()
}
