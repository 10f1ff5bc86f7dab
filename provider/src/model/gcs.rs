//! Google Cloud Storage: bucket IAM, ACLs and settings.

use super::register_faults;

register_faults![];
