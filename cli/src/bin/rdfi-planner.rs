//! The planner service on its own, over NATS JetStream: `rdfi serve --services planner` as a binary.

fn main() -> std::process::ExitCode {
    rdfi::serve::service_main("planner")
}
