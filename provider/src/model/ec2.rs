//! EC2: security group rules, snapshot and image sharing.

use super::register_faults;

register_faults![];
