//! The monitor service on its own, over NATS JetStream: `rdfi serve --services monitor` as a binary.

fn main() -> std::process::ExitCode {
    rdfi::serve::service_main("monitor")
}
