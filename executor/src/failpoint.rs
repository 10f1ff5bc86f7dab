//! Crash points for the crash-safety tests: when `RDFI_FAILPOINT` names a point, the process aborts there, as
//! abruptly as `kill -9` (no destructor, no flush). Unset, each point costs one comparison.

use std::sync::OnceLock;

pub(crate) fn failpoint(name: &str) {
    static ARMED: OnceLock<Option<String>> = OnceLock::new();
    let armed = ARMED.get_or_init(|| {
        std::env::var("RDFI_FAILPOINT")
            .ok()
            .filter(|point| !point.is_empty())
    });
    if armed.as_deref() == Some(name) {
        eprintln!("rdfi: failpoint {name}: aborting the process");
        std::process::abort();
    }
}
