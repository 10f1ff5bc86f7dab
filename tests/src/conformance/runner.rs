//! The conformance check itself, the same for every backend: inject and revert one fault through rdfi's
//! provider, and judge each step by the case's own independent reads.

use std::future::Future;

use rdfi_proto::v1::ResourceRef;
use rdfi_provider::FaultOperations;
use serde_json::Value;

/// Prepared resource in, verdict out: `Err` says which step failed and how.
pub async fn round_trip<R, F>(
    faults: &dyn FaultOperations,
    fault_id: &str,
    resource: &ResourceRef,
    read: R,
    misconfigured: impl Fn(&Value) -> bool,
) -> Result<(), String>
where
    R: Fn() -> F,
    F: Future<Output = Value>,
{
    let before = read().await;
    if misconfigured(&before) {
        return Err("the prepared resource is already misconfigured".into());
    }
    let snapshot = faults
        .snapshot(fault_id, resource)
        .await
        .map_err(|e| format!("snapshot: {e}"))?;
    faults
        .inject(fault_id, resource, &snapshot)
        .await
        .map_err(|e| format!("inject: {e}"))?;
    let during = read().await;
    if !misconfigured(&during) {
        return Err(format!(
            "after inject an independent read shows no misconfiguration: {during}"
        ));
    }
    if !faults
        .is_present(fault_id, resource)
        .await
        .map_err(|e| format!("probe: {e}"))?
    {
        return Err("after inject the provider's probe sees no fault".into());
    }
    let check = faults
        .check_revert(fault_id, resource, &snapshot)
        .await
        .map_err(|e| format!("check_revert: {e}"))?;
    if check.reverted {
        return Err(format!(
            "after inject check_revert says the fault is reverted: {check:?}"
        ));
    }
    faults
        .revert(fault_id, resource, &snapshot)
        .await
        .map_err(|e| format!("revert: {e}"))?;
    let check = faults
        .check_revert(fault_id, resource, &snapshot)
        .await
        .map_err(|e| format!("check_revert: {e}"))?;
    if !check.reverted || check.changed_by_others {
        return Err(format!(
            "after revert check_revert says {check:?}, not reverted and unchanged by others"
        ));
    }
    let after = read().await;
    if after != before {
        return Err(format!(
            "after revert the resource differs:\n  before {before}\n  after  {after}"
        ));
    }
    let again = faults
        .snapshot(fault_id, resource)
        .await
        .map_err(|e| format!("re-read: {e}"))?;
    if again != snapshot {
        return Err(format!(
            "the provider's re-read differs from its snapshot: {again} vs {snapshot}"
        ));
    }
    Ok(())
}

/// A change made by someone else while the fault is on survives its revert: inject, `change` (which says
/// whether it changed anything), revert; then the misconfiguration is gone, `kept` holds of an independent read,
/// and check_revert calls the fault reverted (whether it also reports the change depends on whether the change
/// touched the state the fault changes). `Ok(false)` when `change` made none.
pub async fn revert_keeps_a_change_made_meanwhile<R, F, C>(
    faults: &dyn FaultOperations,
    fault_id: &str,
    resource: &ResourceRef,
    read: R,
    misconfigured: impl Fn(&Value) -> bool,
    change: C,
    kept: impl Fn(&Value) -> bool,
) -> Result<bool, String>
where
    R: Fn() -> F,
    F: Future<Output = Value>,
    C: AsyncFnOnce() -> bool,
{
    let snapshot = faults
        .snapshot(fault_id, resource)
        .await
        .map_err(|e| format!("snapshot: {e}"))?;
    faults
        .inject(fault_id, resource, &snapshot)
        .await
        .map_err(|e| format!("inject: {e}"))?;
    if !change().await {
        faults
            .revert(fault_id, resource, &snapshot)
            .await
            .map_err(|e| format!("revert: {e}"))?;
        return Ok(false);
    }
    faults
        .revert(fault_id, resource, &snapshot)
        .await
        .map_err(|e| format!("revert after a change made meanwhile: {e}"))?;
    let after = read().await;
    if misconfigured(&after) {
        return Err(format!(
            "after a change made meanwhile the revert left the misconfiguration: {after}"
        ));
    }
    if !kept(&after) {
        return Err(format!(
            "the revert undid the change made meanwhile: {after}"
        ));
    }
    let check = faults
        .check_revert(fault_id, resource, &snapshot)
        .await
        .map_err(|e| format!("check_revert: {e}"))?;
    if !check.reverted {
        return Err(format!(
            "after a change made meanwhile check_revert says {check:?}, not reverted"
        ));
    }
    Ok(true)
}

/// The outcomes of a conformance run, reported all at once with its duration.
pub struct Outcomes {
    backend: &'static str,
    started: std::time::Instant,
    total: usize,
    failures: Vec<String>,
}

impl Outcomes {
    pub fn new(backend: &'static str, total: usize) -> Outcomes {
        Outcomes {
            backend,
            started: std::time::Instant::now(),
            total,
            failures: Vec::new(),
        }
    }

    pub fn record(&mut self, fault_id: &str, outcome: Result<(), String>) {
        if let Err(problem) = outcome {
            self.failures.push(format!("{fault_id}: {problem}"));
        }
    }

    /// Prints the run's duration and fails the test when any fault failed, naming each.
    pub fn finish(self) {
        eprintln!(
            "conformance: {} faults on {} in {:.1} s",
            self.total,
            self.backend,
            self.started.elapsed().as_secs_f64()
        );
        assert!(
            self.failures.is_empty(),
            "{} of {} failed:\n{}",
            self.failures.len(),
            self.total,
            self.failures.join("\n")
        );
    }
}

/// Every catalogue fault of `provider` has a conformance case and a driver.
pub fn assert_covered(provider: &str, covered: &[&str], faults: &dyn FaultOperations) {
    for model in rdfi_core::catalogue::all().filter(|model| model.provider() == provider) {
        assert!(
            covered.contains(&model.id),
            "{} has no conformance case",
            model.id
        );
        assert!(
            faults.supports(model.id),
            "{} has no {provider} driver",
            model.id
        );
    }
}
