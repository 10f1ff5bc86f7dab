//! Runs on the sandbox account: all five services in one process over the in-process bus, as `rdfi demo` does.

use std::sync::Arc;
use std::time::Duration;

use rdfi::engine::{Engine, EngineConfig};
use rdfi_core::bus::Bus;
use rdfi_core::bus::memory::MemoryBus;
use rdfi_core::{CancellationToken, events, experiment};
use rdfi_proto::v1::{FaultRecord, GetRunResponse};
use rdfi_provider::sandbox::{SandboxAccount, SandboxProvider};

/// Runs the experiment `yaml` on `account` to its end and returns the run as knowledge holds it.
pub async fn run_on(account: Arc<SandboxAccount>, yaml: &str) -> GetRunResponse {
    let spec = experiment::parse(yaml, "experiment.yaml").expect("a valid experiment");
    let bus: Arc<dyn Bus> = Arc::new(MemoryBus::new());
    let state = tempfile::tempdir().unwrap();
    let mut engine = Engine::start(
        EngineConfig::one_process(
            bus,
            Arc::new(SandboxProvider::new(account)),
            state.path().to_path_buf(),
        ),
        CancellationToken::new(),
    )
    .await
    .unwrap();
    let run_id = events::new_id();
    engine
        .planner()
        .submit_as(run_id.clone(), spec)
        .await
        .unwrap();
    let run = engine
        .wait_for_run(&run_id, Duration::from_secs(30))
        .await
        .unwrap();
    engine.stop().await.unwrap();
    run
}

/// The fault of `run` on the resource named `name`.
pub fn fault_on<'a>(run: &'a GetRunResponse, name: &str) -> Option<&'a FaultRecord> {
    run.faults.iter().find(|fault| {
        fault
            .resource
            .as_ref()
            .is_some_and(|resource| resource.name == name)
    })
}
