//! Conformance cases of the Google Cloud faults beyond storage, against gcplocal: the project's IAM policy,
//! its service accounts and its firewall rules, each prepared with a non-trivial prior state and read back
//! through the test's own client ([`GcpClient`]).

mod compute;
mod iam;

use async_trait::async_trait;
use rdfi_proto::v1::ResourceRef;
use serde_json::Value;

use crate::gcplocal::GcpClient;

/// One Google Cloud fault's conformance case, against gcplocal.
#[async_trait]
pub trait GcpCase: Send + Sync {
    fn fault_id(&self) -> &'static str;

    /// The call gcplocal lacks that the fault's driver needs, when it lacks one: the suite then checks what it
    /// can (the driver reads the prepared state, and its injection fails without changing anything) instead
    /// of a round trip.
    fn unsupported(&self) -> Option<&'static str> {
        None
    }

    /// Prepares a resource named after `name` (unique per case), opted in, with a non-trivial prior state,
    /// and returns it as rdfi names it.
    async fn prepare(&self, gcp: &GcpClient, name: &str) -> ResourceRef;

    /// The resource's state as the test's client reads it, canonical (sorted), independent of rdfi's code.
    async fn read(&self, gcp: &GcpClient, resource: &ResourceRef) -> Value;

    /// Whether an independent read shows the fault's misconfiguration.
    fn misconfigured(&self, read: &Value) -> bool;

    /// Changes the resource while the fault is on, the way a person might and the fault does not; the suite
    /// then reverts and checks the change is kept ([`GcpCase::kept`]).
    async fn change_meanwhile(&self, gcp: &GcpClient, resource: &ResourceRef) -> bool;

    /// Whether an independent read after the revert still shows the change made meanwhile.
    fn kept(&self, read: &Value) -> bool;
}

/// Every case on gcplocal.
pub fn gcplocal_cases() -> Vec<Box<dyn GcpCase>> {
    [iam::cases(), compute::cases()]
        .into_iter()
        .flatten()
        .collect()
}

/// `values` sorted by their JSON text, for reads that must not depend on the emulator's order.
fn sorted(values: &Value) -> Value {
    let mut items = values.as_array().cloned().unwrap_or_default();
    items.sort_by_key(Value::to_string);
    Value::Array(items)
}
