//! AWS Config: the region's configuration recorder stopped.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::register_faults;
use super::watch::{SwitchedOff, Watcher};

register_faults![RecorderStopped];

/// What a configuration recorder records and as whom, which stopping it leaves alone.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecorderSettings {
    /// The IAM role the recorder reads resources as.
    pub role_arn: String,
    /// Whether it records every supported resource type of the region.
    pub all_supported: bool,
    /// Whether it records global resources (IAM) too.
    pub include_global_resource_types: bool,
    /// The resource types it records when not all (`AWS::EC2::SecurityGroup`, ...).
    pub resource_types: BTreeSet<String>,
    /// The resource types it leaves out of all the others (recording strategy EXCLUSION_BY_RESOURCE_TYPES).
    pub excluded_resource_types: BTreeSet<String>,
}

/// An AWS Config configuration recorder.
pub struct Recorder;

impl Watcher for Recorder {
    const ID: &'static str = "aws.config.recorder-stopped";
    const PRESENT: &'static str = "the configuration recorder is not recording";
    const ASPECT: &'static str = "config.recorder";
    type Settings = RecorderSettings;

    fn describe(settings: &RecorderSettings) -> String {
        let scope = if settings.all_supported {
            "every supported resource type".to_owned()
        } else if !settings.excluded_resource_types.is_empty() {
            format!(
                "every supported resource type but {}",
                settings.excluded_resource_types.len()
            )
        } else {
            format!("{} resource type(s)", settings.resource_types.len())
        };
        format!(
            "StopConfigurationRecorder: AWS Config stops recording changes to {scope}, and its rules stop seeing them"
        )
    }

    fn example() -> RecorderSettings {
        RecorderSettings {
            role_arn: "arn:aws:iam::123456789012:role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig".to_owned(),
            all_supported: false,
            include_global_resource_types: false,
            resource_types: BTreeSet::from([
                "AWS::EC2::SecurityGroup".to_owned(),
                "AWS::IAM::Role".to_owned(),
                "AWS::S3::Bucket".to_owned(),
            ]),
            excluded_resource_types: BTreeSet::new(),
        }
    }
}

/// `aws.config.recorder-stopped`.
pub type RecorderStopped = SwitchedOff<Recorder>;
