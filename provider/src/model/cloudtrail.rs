//! CloudTrail: trail logging, selectors, validation, scope.

use super::register_faults;

register_faults![];
