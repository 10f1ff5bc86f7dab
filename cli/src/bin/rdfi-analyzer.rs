//! The analyzer service on its own, over NATS JetStream: `rdfi serve --services analyzer` as a binary.

fn main() -> std::process::ExitCode {
    rdfi::serve::service_main("analyzer")
}
