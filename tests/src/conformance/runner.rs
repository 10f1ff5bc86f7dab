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
    faults
        .revert(fault_id, resource, &snapshot)
        .await
        .map_err(|e| format!("revert: {e}"))?;
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
