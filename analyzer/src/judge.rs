//! Pure verdicts: from what was observed about one fault to its verdict, time to detect and time to correct.

use rdfi_proto::v1::Verdict;

/// What is known about one injected fault when its revert is done.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Observed {
    pub injected_at_ms: i64,
    pub detect_within_ms: Option<u64>,
    pub correct_within_ms: Option<u64>,
    /// The first detection signal: when and from whom.
    pub first_signal: Option<(i64, String)>,
    /// When the monitor saw the misconfiguration gone before rdfi reverted it.
    pub restored_at_ms: Option<i64>,
    pub revert_started_at_ms: i64,
    /// The executor found the fault gone when it came to revert it.
    pub already_restored: bool,
    pub dry_run: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Judgement {
    pub verdict: Verdict,
    pub time_to_detect_ms: Option<u64>,
    pub time_to_correct_ms: Option<u64>,
    pub detected_by: String,
    pub reason: String,
}

fn within(elapsed: u64, deadline: Option<u64>) -> bool {
    deadline.is_none_or(|deadline| elapsed <= deadline)
}

/// The verdict for an injected fault: `corrected` when a corrective control restored the secure state within
/// its deadline, else `detected` when a detective control signalled within its deadline, else `missed`.
pub fn judge(observed: &Observed) -> Judgement {
    let since_injection = |at: i64| (at - observed.injected_at_ms).max(0) as u64;
    let time_to_detect_ms = observed
        .first_signal
        .as_ref()
        .map(|(at, _)| since_injection(*at));
    let detected_by = observed
        .first_signal
        .as_ref()
        .map(|(_, source)| source.clone())
        .unwrap_or_default();
    // A correction counts only if it came before rdfi's own revert; when only the executor noticed it, the
    // revert's start bounds its time.
    let time_to_correct_ms = observed
        .restored_at_ms
        .filter(|at| *at <= observed.revert_started_at_ms)
        .or(observed
            .already_restored
            .then_some(observed.revert_started_at_ms))
        .map(since_injection);
    let mut judgement = Judgement {
        verdict: Verdict::Missed,
        time_to_detect_ms,
        time_to_correct_ms,
        detected_by,
        reason: String::new(),
    };
    if observed.dry_run {
        judgement.verdict = Verdict::Inconclusive;
        judgement.reason = "dry run: nothing was injected".to_owned();
        return judgement;
    }
    if time_to_correct_ms.is_some_and(|ttc| within(ttc, observed.correct_within_ms)) {
        judgement.verdict = Verdict::Corrected;
    } else if time_to_detect_ms.is_some_and(|ttd| within(ttd, observed.detect_within_ms)) {
        judgement.verdict = Verdict::Detected;
    } else {
        judgement.reason = missed_reason(observed, time_to_detect_ms, time_to_correct_ms);
    }
    judgement
}

fn missed_reason(observed: &Observed, ttd: Option<u64>, ttc: Option<u64>) -> String {
    let deadline = |deadline: Option<u64>| match deadline {
        Some(ms) => format!("within {ms} ms"),
        None => "before the revert".to_owned(),
    };
    let detection = match ttd {
        Some(ttd) => format!("detected only after {ttd} ms"),
        None => "no detection signal".to_owned(),
    };
    let correction = match ttc {
        Some(ttc) => format!("corrected only after {ttc} ms"),
        None => "no correction".to_owned(),
    };
    format!(
        "{detection} (expected {}) and {correction} (expected {})",
        deadline(observed.detect_within_ms),
        deadline(observed.correct_within_ms)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Observed {
        Observed {
            injected_at_ms: 1_000,
            detect_within_ms: Some(500),
            correct_within_ms: Some(2_000),
            revert_started_at_ms: 4_000,
            ..Default::default()
        }
    }

    #[test]
    fn a_signal_in_time_is_detected() {
        let judgement = judge(&Observed {
            first_signal: Some((1_300, "guard".into())),
            ..base()
        });
        assert_eq!(judgement.verdict, Verdict::Detected);
        assert_eq!(judgement.time_to_detect_ms, Some(300));
        assert_eq!(judgement.detected_by, "guard");
    }

    #[test]
    fn a_late_signal_is_missed_but_its_time_is_kept() {
        let judgement = judge(&Observed {
            first_signal: Some((1_600, "guard".into())),
            ..base()
        });
        assert_eq!(judgement.verdict, Verdict::Missed);
        assert_eq!(judgement.time_to_detect_ms, Some(600));
        assert!(
            judgement.reason.contains("detected only after 600 ms"),
            "{}",
            judgement.reason
        );
    }

    #[test]
    fn a_correction_before_the_revert_wins_over_detection() {
        let judgement = judge(&Observed {
            first_signal: Some((1_100, "guard".into())),
            restored_at_ms: Some(2_500),
            ..base()
        });
        assert_eq!(judgement.verdict, Verdict::Corrected);
        assert_eq!(judgement.time_to_correct_ms, Some(1_500));
    }

    #[test]
    fn rdfis_own_revert_is_not_a_correction() {
        let judgement = judge(&Observed {
            restored_at_ms: Some(4_100),
            ..base()
        });
        assert_eq!(judgement.verdict, Verdict::Missed);
        assert_eq!(judgement.time_to_correct_ms, None);
    }

    #[test]
    fn a_correction_only_the_executor_saw_is_bounded_by_the_revert_start() {
        let judgement = judge(&Observed {
            already_restored: true,
            ..base()
        });
        assert_eq!(judgement.time_to_correct_ms, Some(3_000));
        assert_eq!(
            judgement.verdict,
            Verdict::Missed,
            "3000 ms is past the 2000 ms deadline"
        );
    }

    #[test]
    fn nothing_observed_is_missed_and_dry_runs_are_inconclusive() {
        assert_eq!(judge(&base()).verdict, Verdict::Missed);
        assert_eq!(
            judge(&Observed {
                dry_run: true,
                ..base()
            })
            .verdict,
            Verdict::Inconclusive
        );
    }
}
