//! Protections that are on or off (a trail's logging, EBS encryption by default, a detector, a recorder, an
//! alarm's actions): the fault switches one off, the revert switches it back on when it was on. One semantics
//! for all of them; each protection names itself with [`Protection`].

use std::marker::PhantomData;

use serde::{Deserialize, Serialize};

use super::{FaultSemantics, FaultState};

/// One protection that is on or off.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Switch {
    pub enabled: bool,
}

impl FaultState for Switch {}

/// A protection a fault switches off: its catalogue id and how the misconfiguration reads.
pub trait Protection: Send + Sync + 'static {
    const ID: &'static str;
    const PRESENT: &'static str;
    const ASPECT: &'static str;
    /// The call that switches it off, for people.
    const OPERATION: &'static str;
}

/// A [`Protection`] switched off; the revert switches it back on when it was on.
pub struct SwitchedOff<P>(PhantomData<P>);

impl<P: Protection> FaultSemantics for SwitchedOff<P> {
    const ID: &'static str = P::ID;
    const PRESENT: &'static str = P::PRESENT;
    const ASPECT: &'static str = P::ASPECT;
    type State = Switch;

    fn is_present(setting: &Switch) -> bool {
        !setting.enabled
    }

    fn inject(_before: &Switch) -> Switch {
        Switch { enabled: false }
    }

    fn remediate(_current: &Switch) -> Switch {
        Switch { enabled: true }
    }

    fn describe(_before: &Switch) -> String {
        P::OPERATION.to_owned()
    }

    fn example() -> Switch {
        Switch { enabled: true }
    }
}
