//! The knowledge service on its own, over NATS JetStream: `rdfi serve --services knowledge` as a binary.

fn main() -> std::process::ExitCode {
    rdfi::serve::service_main("knowledge")
}
