//! The executor service on its own, over NATS JetStream: `rdfi serve --services executor` as a binary.

fn main() -> std::process::ExitCode {
    rdfi::serve::service_main("executor")
}
