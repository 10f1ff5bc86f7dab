//! The subject layout: every subject is built here, never inline. Public API, see docs/events.md.

use rdfi_proto::v1::event::Payload;

/// Every rdfi subject starts with this prefix.
pub const PREFIX: &str = "rdfi.v1";
/// The JetStream stream that keeps every rdfi event.
pub const STREAM: &str = "RDFI";
/// The filter that matches every rdfi subject.
pub const ALL: &str = "rdfi.v1.>";

pub const RUN_STARTED: &str = "rdfi.v1.run.started";
pub const RUN_PLANNED: &str = "rdfi.v1.run.planned";
pub const OBSERVATION_INVENTORY: &str = "rdfi.v1.observation.inventory";
pub const OBSERVATION_SIGNAL: &str = "rdfi.v1.observation.signal";
pub const OBSERVATION_RESTORED: &str = "rdfi.v1.observation.restored";
pub const FAULT_PLANNED: &str = "rdfi.v1.fault.planned";
pub const FAULT_INJECTED: &str = "rdfi.v1.fault.injected";
pub const FAULT_PREVENTED: &str = "rdfi.v1.fault.prevented";
pub const FAULT_REJECTED: &str = "rdfi.v1.fault.rejected";
pub const FAULT_REVERTED: &str = "rdfi.v1.fault.reverted";
pub const FAULT_REVERT_FAILED: &str = "rdfi.v1.fault.revert_failed";
pub const FAULT_EXPOSURE: &str = "rdfi.v1.fault.exposure";
pub const FAULTS: &str = "rdfi.v1.fault.*";
pub const OBSERVATIONS: &str = "rdfi.v1.observation.*";
pub const ANALYSIS_VERDICT: &str = "rdfi.v1.analysis.verdict";
pub const ANALYSIS_COMPLETED: &str = "rdfi.v1.analysis.completed";
pub const FINDING_CREATED: &str = "rdfi.v1.finding.created";
pub const SAFETY_ABORT: &str = "rdfi.v1.safety.abort";
pub const ASSETS_OBSERVED: &str = "rdfi.v1.assets.observed";
pub const ASSETS_REFRESH: &str = "rdfi.v1.assets.refresh";

/// The subject an event with this payload travels on.
pub fn for_payload(payload: &Payload) -> &'static str {
    match payload {
        Payload::RunStarted(_) => RUN_STARTED,
        Payload::InventoryObserved(_) => OBSERVATION_INVENTORY,
        Payload::RunPlanned(_) => RUN_PLANNED,
        Payload::FaultPlanned(_) => FAULT_PLANNED,
        Payload::FaultInjected(_) => FAULT_INJECTED,
        Payload::FaultPrevented(_) => FAULT_PREVENTED,
        Payload::FaultRejected(_) => FAULT_REJECTED,
        Payload::FaultReverted(_) => FAULT_REVERTED,
        Payload::FaultRevertFailed(_) => FAULT_REVERT_FAILED,
        Payload::FaultExposureProved(_) => FAULT_EXPOSURE,
        Payload::SignalReceived(_) => OBSERVATION_SIGNAL,
        Payload::StateRestored(_) => OBSERVATION_RESTORED,
        Payload::VerdictReached(_) => ANALYSIS_VERDICT,
        Payload::FindingCreated(_) => FINDING_CREATED,
        Payload::AnalysisCompleted(_) => ANALYSIS_COMPLETED,
        Payload::SafetyAbort(_) => SAFETY_ABORT,
        Payload::AssetsObserved(_) => ASSETS_OBSERVED,
        Payload::AssetsRefreshRequested(_) => ASSETS_REFRESH,
    }
}

/// NATS subject matching: `*` matches one token, `>` one or more trailing tokens.
pub fn matches(pattern: &str, subject: &str) -> bool {
    let mut subject_tokens = subject.split('.');
    for pattern_token in pattern.split('.') {
        match (pattern_token, subject_tokens.next()) {
            (">", Some(_)) => return true,
            ("*", Some(_)) => {}
            (expected, Some(token)) if expected == token => {}
            _ => return false,
        }
    }
    subject_tokens.next().is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_follow_nats_rules() {
        assert!(matches(ALL, FAULT_INJECTED));
        assert!(matches(FAULTS, FAULT_REVERT_FAILED));
        assert!(!matches(FAULTS, OBSERVATION_SIGNAL));
        assert!(!matches("rdfi.v1.>", "rdfi.v1"));
        assert!(!matches("rdfi.v1.fault", FAULT_INJECTED));
        assert!(matches(FAULT_INJECTED, FAULT_INJECTED));
        assert!(!matches(FAULT_INJECTED, "rdfi.v1.fault.injected.extra"));
    }

    #[test]
    fn every_subject_is_under_the_prefix() {
        for subject in [
            RUN_STARTED,
            FAULT_PLANNED,
            ANALYSIS_COMPLETED,
            FINDING_CREATED,
        ] {
            assert!(matches(ALL, subject), "{subject}");
            assert!(subject.starts_with(PREFIX));
        }
    }
}
