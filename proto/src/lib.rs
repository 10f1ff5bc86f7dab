//! rdfi's wire contracts (protobuf package `rdfi.v1`): the events that travel on the bus and the gRPC
//! services. The `.proto` files under `rdfi/v1/` are compiled at build time with protox; this crate also owns
//! the small conversions between wire types and std types, so handlers convert at the edge.

#![allow(clippy::doc_lazy_continuation)]

/// Generated code for package `rdfi.v1`.
pub mod v1 {
    tonic::include_proto!("rdfi.v1");
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

/// Milliseconds since the epoch, the unit rdfi stores and reports.
pub fn unix_millis(timestamp: &Timestamp) -> i64 {
    timestamp.seconds * 1000 + i64::from(timestamp.nanos) / 1_000_000
}

/// A protobuf timestamp from milliseconds since the epoch.
pub fn timestamp_from_millis(millis: i64) -> Timestamp {
    Timestamp {
        seconds: millis.div_euclid(1000),
        nanos: (millis.rem_euclid(1000) * 1_000_000) as i32,
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
