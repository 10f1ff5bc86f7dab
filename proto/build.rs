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
