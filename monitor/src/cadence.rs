//! When the monitor reads a faulted resource next, to see whether a corrective control restored it (pure).
//!
//! Corrective controls that answer events (a Config remediation, a Custodian policy in event mode, a
//! reconciler) act within seconds; scheduled ones within minutes. So the first reads come fast, for a precise
//! time to correct, and the pace halves after every read down to the configured interval, so that a fault held
//! for an hour costs few API calls. When a corrective deadline falls before the next read, the read is made at
//! the deadline ([`DEADLINE_LEAD`] before it), so that met and late are told apart by the read itself and not
//! by the pace. A failed read
//! (throttling, an outage) backs off, doubling, up to [`MAX_BACKOFF`] intervals.

use std::time::Duration;

/// The first read comes this long after the injection (or the configured interval, if shorter); the pace
/// doubles from it.
pub const FIRST: Duration = Duration::from_millis(100);
/// After failed reads, at most this many intervals pass before the next.
pub const MAX_BACKOFF: u32 = 8;
/// A read made for a deadline begins this long before it, so that its answer, the time a restore is observed
/// at, comes before the deadline.
pub const DEADLINE_LEAD: Duration = Duration::from_millis(100);

/// The delay before the next read.
///
/// - `interval`: the configured pace (`--poll-interval`), the slowest while reads succeed;
/// - `reads`: how many reads were made so far;
/// - `failures`: how many reads in a row failed;
/// - `until_deadline`: the time left to the next corrective deadline, if one is ahead.
pub fn next_read(
    interval: Duration,
    reads: u32,
    failures: u32,
    until_deadline: Option<Duration>,
) -> Duration {
    let paced = FIRST
        .min(interval)
        .saturating_mul(1u32 << reads.min(31))
        .min(interval);
    // No failure: the pace itself (never above the interval, so never above the cap).
    let delay = paced
        .saturating_mul(1u32 << failures.min(31))
        .min(interval.saturating_mul(MAX_BACKOFF));
    match until_deadline {
        Some(left) if left > DEADLINE_LEAD => delay.min(left - DEADLINE_LEAD),
        _ => delay,
    }
}

/// The corrective deadlines of a hypothesis, in milliseconds after the injection, soonest first.
pub fn corrective_deadlines(hypothesis: &rdfi_proto::v1::Hypothesis) -> Vec<u64> {
    let mut deadlines: Vec<u64> = rdfi_core::experiment::expectations_of(hypothesis)
        .iter()
        .filter(|expectation| expectation.kind == rdfi_proto::v1::ControlKind::Corrective as i32)
        .filter_map(|expectation| expectation.within_ms)
        .collect();
    deadlines.sort_unstable();
    deadlines.dedup();
    deadlines
}

/// The time left, `elapsed_ms` after the injection, to the next of `deadlines` whose read is still ahead (more
/// than [`DEADLINE_LEAD`] away).
pub fn until_next_deadline(deadlines: &[u64], elapsed_ms: u64) -> Option<Duration> {
    let lead = DEADLINE_LEAD.as_millis() as u64;
    deadlines
        .iter()
        .find(|deadline| **deadline > elapsed_ms.saturating_add(lead))
        .map(|deadline| Duration::from_millis(deadline - elapsed_ms))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rdfi_proto::v1::{ControlKind, Expectation, Hypothesis};

    const SECOND: Duration = Duration::from_secs(1);

    #[test]
    fn reads_start_fast_and_slow_down_to_the_interval() {
        let delays: Vec<u128> = (0..8)
            .map(|reads| next_read(SECOND, reads, 0, None).as_millis())
            .collect();
        assert_eq!(delays, [100, 200, 400, 800, 1000, 1000, 1000, 1000]);
        assert_eq!(
            next_read(Duration::from_millis(50), 0, 0, None),
            Duration::from_millis(50)
        );
    }

    #[test]
    fn a_deadline_before_the_next_read_is_read_at() {
        assert_eq!(
            next_read(SECOND, 6, 0, Some(Duration::from_millis(300))),
            Duration::from_millis(200)
        );
        assert_eq!(next_read(SECOND, 6, 0, Some(5 * SECOND)), SECOND);
        assert_eq!(
            next_read(SECOND, 6, 0, Some(Duration::from_millis(1_050))),
            Duration::from_millis(950)
        );
        // Too close to lead it: the pace holds.
        assert_eq!(
            next_read(SECOND, 6, 0, Some(Duration::from_millis(100))),
            SECOND
        );
        assert_eq!(next_read(SECOND, 6, 0, Some(Duration::ZERO)), SECOND);
    }

    #[test]
    fn failures_back_off_doubling_the_pace_up_to_the_cap_but_not_past_a_deadline() {
        let delays: Vec<u64> = (1..6)
            .map(|failures| next_read(SECOND, 6, failures, None).as_secs())
            .collect();
        assert_eq!(delays, [2, 4, 8, 8, 8]);
        assert_eq!(
            next_read(SECOND, 0, 1, None),
            Duration::from_millis(200),
            "early on, from the early pace"
        );
        assert_eq!(
            next_read(SECOND, 6, 3, Some(Duration::from_secs(3))),
            Duration::from_millis(2_900)
        );
    }

    #[test]
    fn deadlines_are_the_corrective_ones_soonest_first() {
        let typed = Hypothesis {
            expectations: vec![
                Expectation {
                    kind: ControlKind::Corrective as i32,
                    within_ms: Some(60_000),
                    ..Default::default()
                },
                Expectation {
                    kind: ControlKind::Detective as i32,
                    within_ms: Some(5_000),
                    ..Default::default()
                },
                Expectation {
                    kind: ControlKind::Corrective as i32,
                    within_ms: Some(10_000),
                    ..Default::default()
                },
            ],
            ..Default::default()
        };
        assert_eq!(corrective_deadlines(&typed), [10_000, 60_000]);
        let legacy = Hypothesis {
            detect_within_ms: Some(1_000),
            correct_within_ms: Some(3_000),
            ..Default::default()
        };
        assert_eq!(corrective_deadlines(&legacy), [3_000]);
        assert_eq!(
            until_next_deadline(&[10_000, 60_000], 10_000),
            Some(Duration::from_secs(50))
        );
        assert_eq!(until_next_deadline(&[10_000], 10_001), None);
        // A deadline whose lead has begun is read already: the next one counts.
        assert_eq!(until_next_deadline(&[10_000, 10_050], 9_950), None);
        assert_eq!(
            until_next_deadline(&[10_000, 11_000], 9_950),
            Some(Duration::from_millis(1_050))
        );
    }

    proptest! {
        #[test]
        fn delays_are_bounded_and_never_pass_a_deadline(
            interval_ms in 1u64..120_000,
            reads in 0u32..100,
            failures in 0u32..100,
            left_ms in proptest::option::of(0u64..200_000),
        ) {
            let interval = Duration::from_millis(interval_ms);
            let left = left_ms.map(Duration::from_millis);
            let delay = next_read(interval, reads, failures, left);
            prop_assert!(delay > Duration::ZERO);
            prop_assert!(delay <= interval * MAX_BACKOFF);
            if let Some(left) = left.filter(|left| *left > DEADLINE_LEAD) {
                prop_assert!(delay <= left - DEADLINE_LEAD);
            }
            prop_assert!(delay <= next_read(interval, reads + 1, failures, None));
            prop_assert!(delay <= next_read(interval, reads, failures + 1, left));
            if failures == 0 {
                prop_assert!(delay <= interval);
            }
        }
    }
}
