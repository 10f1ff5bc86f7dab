//! Which active faults a detection signal is about, and the bounded memory of signals that named none yet.
//! Pure: the monitor only feeds them what it holds.

use std::collections::VecDeque;

use rdfi_proto::v1::ResourceRef;

use crate::shapes::Signal;

/// A signal this much older than the injection can still be about it (clock skew between hosts).
pub const SIGNAL_SLACK_MS: i64 = 1_000;

/// Whether `signal` (received at `received_at_ms`) detects the fault injected into `fault` at
/// `injected_at_ms`:
/// - a stop-condition source never counts as a detection (it aborts instead);
/// - it must have been observed (by the detector's own clock when it says, else on receipt) no earlier than
///   the injection, less [`SIGNAL_SLACK_MS`];
/// - when both types are known they must agree (a bucket is never an IAM user of the same name);
/// - a full identity (an ARN or other id) matches only the fault's id; a bare name matches the fault's name;
/// - when the detector reports the caller's correlation id (the `rdfi-<id>` on the mutating call), it must be
///   this fault's (`fault_instance_id`): a finding about another fault's call on the same resource is not
///   this one's.
pub fn detects(
    fault: &ResourceRef,
    fault_instance_id: &str,
    injected_at_ms: i64,
    signal: &Signal,
    received_at_ms: i64,
    stop_sources: &[String],
) -> bool {
    if is_stop_source(&signal.source, stop_sources) {
        return false;
    }
    if !signal.correlation_id.is_empty() && signal.correlation_id != fault_instance_id {
        return false;
    }
    let observed_at_ms = signal.observed_at_ms.unwrap_or(received_at_ms);
    if observed_at_ms < injected_at_ms.saturating_sub(SIGNAL_SLACK_MS) {
        return false;
    }
    if !signal.resource_type.is_empty()
        && !fault.resource_type.is_empty()
        && signal.resource_type != fault.resource_type
    {
        return false;
    }
    names(fault, &signal.resource)
}

/// Whether a detector naming `reported` means `fault`: its full id, or (for a bare name) its short name.
pub fn names(fault: &ResourceRef, reported: &str) -> bool {
    if reported.is_empty() {
        return false;
    }
    if reported == fault.id {
        return true;
    }
    !is_full_identity(reported) && reported == fault.name
}

/// An ARN, or a provider's other qualified id (`sandbox:aws.s3.bucket/x`, `//storage.googleapis.com/...`,
/// `projects/p/...`): a string that names one resource on its own.
pub fn is_full_identity(reported: &str) -> bool {
    reported.starts_with("arn:") || reported.contains(':') || reported.starts_with("//")
}

pub fn is_stop_source(source: &str, stop_sources: &[String]) -> bool {
    stop_sources.iter().any(|stop| stop == source)
}

/// Limits on the signals kept while they name no active fault (a fast detector can beat the fault's
/// injected event over the bus).
#[derive(Clone, Copy, Debug)]
pub struct EarlyLimits {
    pub max_age_ms: i64,
    pub max_count: usize,
    pub max_bytes: usize,
}

/// Uncorrelated signals, oldest first, bounded by age, count and bytes.
#[derive(Debug, Default)]
pub struct EarlySignals {
    kept: VecDeque<(i64, Signal)>,
    bytes: usize,
}

impl EarlySignals {
    /// Keeps `signal` received at `now_ms`, first forgetting those older than the age limit, then the oldest
    /// until count and bytes fit. A signal larger than the byte limit on its own is not kept.
    pub fn keep(&mut self, now_ms: i64, signal: Signal, limits: EarlyLimits) {
        self.expire(now_ms, limits);
        let size = signal.size_bytes();
        if size > limits.max_bytes || limits.max_count == 0 {
            return;
        }
        while self.kept.len() >= limits.max_count || self.bytes + size > limits.max_bytes {
            self.pop_oldest();
        }
        self.bytes += size;
        self.kept.push_back((now_ms, signal));
    }

    /// Forgets signals older than the age limit.
    pub fn expire(&mut self, now_ms: i64, limits: EarlyLimits) {
        while self
            .kept
            .front()
            .is_some_and(|(at, _)| now_ms - at >= limits.max_age_ms)
        {
            self.pop_oldest();
        }
    }

    fn pop_oldest(&mut self) {
        if let Some((_, signal)) = self.kept.pop_front() {
            self.bytes -= signal.size_bytes();
        }
    }

    /// The kept signals with when each was received.
    pub fn iter(&self) -> impl Iterator<Item = &(i64, Signal)> {
        self.kept.iter()
    }

    pub fn len(&self) -> usize {
        self.kept.len()
    }

    pub fn is_empty(&self) -> bool {
        self.kept.is_empty()
    }

    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The fault instance the signals are tested against.
    const ID: &str = "0193a1b2-fault";

    fn resource(resource_type: &str, id: &str, name: &str) -> ResourceRef {
        ResourceRef {
            provider: "aws".into(),
            resource_type: resource_type.into(),
            id: id.into(),
            name: name.into(),
            ..Default::default()
        }
    }

    fn bucket() -> ResourceRef {
        resource("aws.s3.bucket", "arn:aws:s3:::payments", "payments")
    }

    fn user() -> ResourceRef {
        resource(
            "aws.iam.user",
            "arn:aws:iam::123456789012:user/payments",
            "payments",
        )
    }

    fn signal(resource: &str, resource_type: &str) -> Signal {
        Signal {
            format: "json".into(),
            resource: resource.into(),
            resource_type: resource_type.into(),
            source: "detector".into(),
            title: String::new(),
            severity: String::new(),
            observed_at_ms: None,
            correlation_id: String::new(),
        }
    }

    const T: i64 = 1_796_582_753_000;

    #[test]
    fn a_bucket_name_never_matches_a_user_of_the_same_name() {
        let named_bucket = signal("payments", "aws.s3.bucket");
        assert!(detects(&bucket(), ID, T, &named_bucket, T, &[]));
        assert!(!detects(&user(), ID, T, &named_bucket, T, &[]));
        let untyped = signal("payments", "");
        assert!(detects(&bucket(), ID, T, &untyped, T, &[]));
        assert!(
            detects(&user(), ID, T, &untyped, T, &[]),
            "unknown type, same name"
        );
    }

    #[test]
    fn an_arn_matches_only_its_resource() {
        let arn = signal("arn:aws:s3:::payments", "aws.s3.bucket");
        assert!(detects(&bucket(), ID, T, &arn, T, &[]));
        assert!(!detects(&user(), ID, T, &arn, T, &[]));
        let untyped_arn = signal("arn:aws:iam::123456789012:user/payments", "");
        assert!(detects(&user(), ID, T, &untyped_arn, T, &[]));
        assert!(!detects(&bucket(), ID, T, &untyped_arn, T, &[]));
        let other_bucket = signal("arn:aws:s3:::payments-old", "");
        assert!(!detects(&bucket(), ID, T, &other_bucket, T, &[]));
    }

    #[test]
    fn a_correlation_id_names_its_own_fault_only() {
        let mine = Signal {
            correlation_id: ID.into(),
            ..signal("payments", "")
        };
        assert!(detects(&bucket(), ID, T, &mine, T, &[]));
        let another_faults = Signal {
            correlation_id: "0193ffff-other".into(),
            ..signal("payments", "")
        };
        assert!(!detects(&bucket(), ID, T, &another_faults, T, &[]));
    }

    #[test]
    fn signals_observed_before_the_injection_do_not_count() {
        let mut early = signal("payments", "aws.s3.bucket");
        early.observed_at_ms = Some(T - SIGNAL_SLACK_MS - 1);
        assert!(!detects(&bucket(), ID, T, &early, T + 5_000, &[]));
        early.observed_at_ms = Some(T - SIGNAL_SLACK_MS);
        assert!(detects(&bucket(), ID, T, &early, T + 5_000, &[]));
        let unstated = signal("payments", "aws.s3.bucket");
        assert!(!detects(&bucket(), ID, T, &unstated, T - 60_000, &[]));
    }

    #[test]
    fn stop_sources_never_detect() {
        let slo = Signal {
            source: "checkout-slo-alarm".into(),
            ..signal("payments", "")
        };
        assert!(!detects(
            &bucket(),
            ID,
            T,
            &slo,
            T,
            &["checkout-slo-alarm".into()]
        ));
        assert!(detects(&bucket(), ID, T, &slo, T, &["other".into()]));
    }

    const LIMITS: EarlyLimits = EarlyLimits {
        max_age_ms: 300_000,
        max_count: 3,
        max_bytes: 100_000,
    };

    #[test]
    fn early_signals_are_bounded_by_age_count_and_bytes() {
        let mut early = EarlySignals::default();
        for at in 0..5 {
            early.keep(at, signal(&format!("b{at}"), ""), LIMITS);
        }
        assert_eq!(early.len(), 3);
        assert_eq!(early.iter().next().unwrap().1.resource, "b2");
        early.expire(300_003, LIMITS);
        assert_eq!(early.len(), 1);
        let big = Signal {
            title: "t".repeat(1024),
            ..signal("big", "")
        };
        let small_budget = EarlyLimits {
            max_bytes: big.size_bytes() + 10,
            ..LIMITS
        };
        early.keep(300_004, big.clone(), small_budget);
        assert_eq!(early.len(), 1, "the older signal made room");
        assert_eq!(early.bytes(), big.size_bytes());
        let tiny = EarlyLimits {
            max_bytes: 10,
            ..LIMITS
        };
        early.keep(
            300_005,
            Signal {
                resource: "bigger".into(),
                ..big
            },
            tiny,
        );
        assert_eq!(early.len(), 1, "a signal over the whole budget is not kept");
        assert_eq!(early.iter().next().unwrap().1.resource, "big");
    }

    fn arb_resource() -> impl Strategy<Value = ResourceRef> {
        (
            prop::sample::select(vec!["aws.s3.bucket", "aws.iam.user", "aws.iam.role"]),
            "[a-c]{1,3}",
        )
            .prop_map(|(resource_type, name)| {
                let id = match resource_type {
                    "aws.s3.bucket" => format!("arn:aws:s3:::{name}"),
                    "aws.iam.user" => format!("arn:aws:iam::1:user/{name}"),
                    _ => format!("arn:aws:iam::1:role/{name}"),
                };
                resource(resource_type, &id, &name)
            })
    }

    proptest! {
        #[test]
        fn typed_signals_never_cross_types(
            fault in arb_resource(),
            other in arb_resource(),
            by_arn: bool,
            injected in 0i64..1_000_000,
            observed in 0i64..1_000_000,
        ) {
            let reported = if by_arn { other.id.clone() } else { other.name.clone() };
            let mut s = signal(&reported, &other.resource_type);
            s.observed_at_ms = Some(observed);
            let detected = detects(&fault, ID, injected, &s, observed, &[]);
            if detected {
                prop_assert_eq!(&fault.resource_type, &other.resource_type);
                prop_assert_eq!(&fault.name, &other.name);
                prop_assert!(observed >= injected - SIGNAL_SLACK_MS);
            }
            if fault == other && observed >= injected {
                prop_assert!(detected);
            }
        }

        #[test]
        fn arns_match_only_their_own_resource(fault in arb_resource(), other in arb_resource()) {
            let s = signal(&other.id, "");
            prop_assert_eq!(detects(&fault, ID, 0, &s, 0, &[]), fault.id == other.id);
        }

        #[test]
        fn stop_sources_never_count(fault in arb_resource(), source in "[a-z]{1,8}") {
            let s = Signal { source: source.clone(), ..signal(&fault.id, &fault.resource_type) };
            prop_assert!(!detects(&fault, ID, 0, &s, 0, &[source]));
        }

        #[test]
        fn the_early_buffer_keeps_its_bounds(
            sizes in prop::collection::vec(0usize..2_000, 0..60),
            max_count in 0usize..10,
            max_bytes in 0usize..8_000,
        ) {
            let limits = EarlyLimits { max_age_ms: 50, max_count, max_bytes };
            let mut early = EarlySignals::default();
            for (at, size) in sizes.iter().enumerate() {
                let s = Signal { title: "t".repeat(*size), ..signal("b", "") };
                early.keep(at as i64, s, limits);
                prop_assert!(early.len() <= max_count);
                prop_assert!(early.bytes() <= max_bytes);
                prop_assert_eq!(early.bytes(), early.iter().map(|(_, s)| s.size_bytes()).sum::<usize>());
                prop_assert!(early.iter().all(|(kept_at, _)| at as i64 - kept_at < 50));
            }
        }
    }
}
