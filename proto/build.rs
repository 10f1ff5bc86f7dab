//! Compiles `rdfi/v1/*.proto` with protox (pure Rust, no system protoc).

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let files = [
        "rdfi/v1/events.proto",
        "rdfi/v1/knowledge.proto",
        "rdfi/v1/planner.proto",
        "rdfi/v1/executor.proto",
    ];
    for file in files {
        println!("cargo:rerun-if-changed={file}");
    }
    let descriptors = protox::compile(files, ["."])?;
    write_methods(&descriptors)?;
    tonic_prost_build::configure()
        // Executors journal these as JSON.
        .type_attribute(
            "rdfi.v1.ResourceRef",
            "#[derive(serde::Serialize, serde::Deserialize)] #[serde(rename_all = \"camelCase\")]",
        )
        // Journals written before a field existed still read: every missing field takes its default.
        .type_attribute(
            "rdfi.v1.Hypothesis",
            "#[derive(serde::Serialize, serde::Deserialize)] #[serde(rename_all = \"camelCase\", default)]",
        )
        .type_attribute(
            "rdfi.v1.Expectation",
            "#[derive(serde::Serialize, serde::Deserialize)] #[serde(rename_all = \"camelCase\", default)]",
        )
        .compile_fds(descriptors)?;
    Ok(())
}

/// Writes `METHODS`, the path of every gRPC method the services define (`/rdfi.v1.PlannerService/SubmitExperiment`),
/// so that the servers' access rules can be checked against the whole list.
fn write_methods(
    descriptors: &prost_types::FileDescriptorSet,
) -> Result<(), Box<dyn std::error::Error>> {
    let mut methods = Vec::new();
    for file in &descriptors.file {
        for service in &file.service {
            for method in &service.method {
                methods.push(format!(
                    "    \"/{}.{}/{}\",\n",
                    file.package(),
                    service.name(),
                    method.name()
                ));
            }
        }
    }
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR")?).join("methods.rs");
    std::fs::write(
        out,
        format!("pub const METHODS: &[&str] = &[\n{}];\n", methods.concat()),
    )?;
    Ok(())
}
