//! rdfi's wire contracts (protobuf package `rdfi.v1`): the events that travel on the bus and the gRPC
//! services. The `.proto` files under `rdfi/v1/` are compiled at build time with protox; this crate also owns
//! the small conversions between wire types and std types, so handlers convert at the edge.

#![allow(clippy::doc_lazy_continuation)]

/// Generated code for package `rdfi.v1`.
pub mod v1 {
    tonic::include_proto!("rdfi.v1");
}

/// The path of every gRPC method of rdfi's services, as a server sees it in a request
/// (`/rdfi.v1.PlannerService/SubmitExperiment`).
pub mod methods {
    include!(concat!(env!("OUT_DIR"), "/methods.rs"));
}

pub use prost;
pub use prost_types::Timestamp;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A protobuf timestamp for a point in time.
pub fn timestamp(time: SystemTime) -> Timestamp {
    let since_epoch = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    Timestamp {
        seconds: since_epoch.as_secs() as i64,
        nanos: since_epoch.subsec_nanos() as i32,
    }
}

/// The point in time a protobuf timestamp names (the epoch for negative ones).
pub fn system_time(timestamp: &Timestamp) -> SystemTime {
    if timestamp.seconds < 0 {
        return UNIX_EPOCH;
    }
    UNIX_EPOCH + Duration::new(timestamp.seconds as u64, timestamp.nanos.max(0) as u32)
}

/// Now, in milliseconds since the epoch.
pub fn now_millis() -> i64 {
    unix_millis(&timestamp(SystemTime::now()))
}

/// Milliseconds since the epoch, the unit rdfi stores and reports. Saturates instead of overflowing on
/// timestamps no clock produces (a hostile or corrupt event), so they cannot crash a service.
pub fn unix_millis(timestamp: &Timestamp) -> i64 {
    timestamp
        .seconds
        .saturating_mul(1000)
        .saturating_add(i64::from(timestamp.nanos) / 1_000_000)
}

/// A protobuf timestamp from milliseconds since the epoch.
pub fn timestamp_from_millis(millis: i64) -> Timestamp {
    Timestamp {
        seconds: millis.div_euclid(1000),
        nanos: (millis.rem_euclid(1000) * 1_000_000) as i32,
    }
}

impl v1::ControlKind {
    /// The expectation's name in experiments and reports: `prevent`, `detect`, `correct`.
    pub fn label(self) -> &'static str {
        match self {
            v1::ControlKind::Unspecified => "unspecified",
            v1::ControlKind::Preventive => "prevent",
            v1::ControlKind::Detective => "detect",
            v1::ControlKind::Corrective => "correct",
        }
    }
}

impl v1::ExpectationOutcome {
    /// The outcome's name in reports and storage: `met`, `late`, `failed`, `inconclusive`.
    pub fn label(self) -> &'static str {
        match self {
            v1::ExpectationOutcome::Unspecified => "pending",
            v1::ExpectationOutcome::Met => "met",
            v1::ExpectationOutcome::Late => "late",
            v1::ExpectationOutcome::Failed => "failed",
            v1::ExpectationOutcome::Inconclusive => "inconclusive",
        }
    }
}

impl v1::Verdict {
    /// The verdict's name in reports and storage: `detected`, `missed`, ...
    pub fn label(self) -> &'static str {
        match self {
            v1::Verdict::Unspecified => "pending",
            v1::Verdict::Prevented => "prevented",
            v1::Verdict::Detected => "detected",
            v1::Verdict::Corrected => "corrected",
            v1::Verdict::Missed => "missed",
            v1::Verdict::Inconclusive => "inconclusive",
        }
    }

    /// Whether the expected controls held (a missed fault is the only failure).
    pub fn hypothesis_held(self) -> bool {
        !matches!(self, v1::Verdict::Missed)
    }
}

impl v1::FaultState {
    /// Every state, in lifecycle order.
    pub const ALL: [v1::FaultState; 8] = [
        v1::FaultState::Planned,
        v1::FaultState::Intended,
        v1::FaultState::Injected,
        v1::FaultState::Reverting,
        v1::FaultState::Reverted,
        v1::FaultState::RevertFailed,
        v1::FaultState::Prevented,
        v1::FaultState::Rejected,
    ];

    /// The state's name in the journal, storage, reports and `fault.*` subjects: `injected`, `revert_failed`, ...
    pub fn label(self) -> &'static str {
        match self {
            v1::FaultState::Unspecified => "unspecified",
            v1::FaultState::Planned => "planned",
            v1::FaultState::Intended => "intended",
            v1::FaultState::Injected => "injected",
            v1::FaultState::Reverting => "reverting",
            v1::FaultState::Reverted => "reverted",
            v1::FaultState::RevertFailed => "revert_failed",
            v1::FaultState::Prevented => "prevented",
            v1::FaultState::Rejected => "rejected",
        }
    }

    /// The state a label names.
    pub fn from_label(label: &str) -> Option<v1::FaultState> {
        Self::ALL.into_iter().find(|state| state.label() == label)
    }

    /// Whether the resource may still carry the fault, so a revert is owed.
    pub fn is_open(self) -> bool {
        matches!(
            self,
            v1::FaultState::Intended
                | v1::FaultState::Injected
                | v1::FaultState::Reverting
                | v1::FaultState::RevertFailed
        )
    }
}

impl v1::ExposureOutcome {
    /// The outcome's name in reports: `exposed`, `neutralized`, `unproven`.
    pub fn label(self) -> &'static str {
        match self {
            v1::ExposureOutcome::Unspecified => "unspecified",
            v1::ExposureOutcome::Exposed => "exposed",
            v1::ExposureOutcome::Neutralized => "neutralized",
            v1::ExposureOutcome::Unproven => "unproven",
        }
    }
}

impl v1::ResourceRef {
    /// Whether a detector naming `reported` means this resource: its id (ARN) or its short name.
    pub fn is_named_by(&self, reported: &str) -> bool {
        !reported.is_empty() && (reported == self.id || reported == self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn millis_round_trip_including_before_the_epoch() {
        assert_eq!(
            unix_millis(&Timestamp {
                seconds: i64::MAX,
                nanos: 999_999_999
            }),
            i64::MAX
        );
        assert_eq!(
            unix_millis(&Timestamp {
                seconds: i64::MIN,
                nanos: 0
            }),
            i64::MIN
        );
        for state in v1::FaultState::ALL {
            assert_eq!(v1::FaultState::from_label(state.label()), Some(state));
        }
        for millis in [0, 1, 999, 1_000, 1_764_000_123_456, -1, -1_001] {
            assert_eq!(unix_millis(&timestamp_from_millis(millis)), millis);
        }
    }

    #[test]
    fn system_time_round_trip() {
        let now = SystemTime::now();
        let back = system_time(&timestamp(now));
        assert_eq!(back, now);
    }
}
