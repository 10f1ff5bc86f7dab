//! Detective controls that watch or do not: a GuardDuty detector (enabled), an AWS Config recorder
//! (recording), a CloudWatch alarm (actions enabled). Each such fault switches one off ([`SwitchedOff`] over a
//! [`Watcher`]) and leaves the settings it watches with alone: the revert switches it back on with whatever
//! settings it has then, so a change someone made to them meanwhile stays.

use std::fmt::Debug;
use std::marker::PhantomData;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::{FaultSemantics, FaultState};

/// A detective control: whether it watches, and how.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Watch<S> {
    /// Whether it watches: the detector enabled, the recorder recording, the alarm's actions enabled.
    pub enabled: bool,
    /// How it watches (frequency, scope, whom it notifies), which the fault does not change; kept in the
    /// state so that a revert is seen to leave them as they were.
    #[serde(flatten)]
    pub settings: S,
}

impl<S: Serialize + DeserializeOwned + PartialEq + Clone + Send + Sync> FaultState for Watch<S> {}

/// One kind of detective control a fault switches off.
pub trait Watcher: Send + Sync + 'static {
    const ID: &'static str;
    const PRESENT: &'static str;
    const ASPECT: &'static str;
    /// Its settings, in canonical form by construction (sets and maps, not lists).
    type Settings: Serialize + DeserializeOwned + PartialEq + Clone + Send + Sync + Debug;

    /// Why it must not be switched off with these settings, if it must not.
    fn precondition(settings: &Self::Settings) -> Option<String> {
        let _ = settings;
        None
    }

    /// What switching it off does, for people.
    fn describe(settings: &Self::Settings) -> String;

    /// The settings of a typical, well configured control.
    fn example() -> Self::Settings;
}

/// A detective control ([`Watcher`]) switched off; the revert switches it on again.
pub struct SwitchedOff<W>(PhantomData<W>);

impl<W: Watcher> FaultSemantics for SwitchedOff<W> {
    const ID: &'static str = W::ID;
    const PRESENT: &'static str = W::PRESENT;
    const ASPECT: &'static str = W::ASPECT;
    type State = Watch<W::Settings>;

    fn is_present(watch: &Self::State) -> bool {
        !watch.enabled
    }

    fn precondition(before: &Self::State) -> Option<String> {
        W::precondition(&before.settings)
    }

    fn inject(before: &Self::State) -> Self::State {
        Watch {
            enabled: false,
            settings: before.settings.clone(),
        }
    }

    fn remediate(current: &Self::State) -> Self::State {
        Watch {
            enabled: true,
            settings: current.settings.clone(),
        }
    }

    fn describe(before: &Self::State) -> String {
        W::describe(&before.settings)
    }

    fn example() -> Self::State {
        Watch {
            enabled: true,
            settings: W::example(),
        }
    }
}
