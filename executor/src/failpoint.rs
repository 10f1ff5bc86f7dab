//! Crash points for the crash-safety tests: when `RDFI_FAILPOINT` names a point, the process aborts there, as
//! abruptly as `kill -9` (no destructor, no flush), or the operation it guards fails. Unset, each point costs
//! one comparison.

use std::sync::OnceLock;

fn armed() -> Option<&'static str> {
    static ARMED: OnceLock<Option<String>> = OnceLock::new();
    ARMED
        .get_or_init(|| {
            std::env::var("RDFI_FAILPOINT")
                .ok()
                .filter(|point| !point.is_empty())
        })
        .as_deref()
}

/// Aborts the process here when armed.
pub(crate) fn failpoint(name: &str) {
    if armed() == Some(name) {
        eprintln!("rdfi: failpoint {name}: aborting the process");
        std::process::abort();
    }
}

/// Whether this point is armed: the caller then fails the operation it guards (tests of error paths that must
/// not abort the process).
pub(crate) fn fails(name: &str) -> bool {
    armed() == Some(name)
}
