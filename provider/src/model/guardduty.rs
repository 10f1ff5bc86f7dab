//! GuardDuty: the region's detector disabled.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::register_faults;
use super::watch::{SwitchedOff, Watcher};

register_faults![DetectorDisabled];

/// How a detector watches, which disabling it leaves alone.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DetectorSettings {
    /// `FIFTEEN_MINUTES`, `ONE_HOUR` or `SIX_HOURS`.
    pub finding_publishing_frequency: String,
    /// Each protection plan (feature) by name, with its status (`ENABLED`, `DISABLED`).
    pub features: BTreeMap<String, String>,
}

/// A GuardDuty detector.
pub struct Detector;

impl Watcher for Detector {
    const ID: &'static str = "aws.guardduty.detector-disabled";
    const PRESENT: &'static str = "the GuardDuty detector is disabled";
    const ASPECT: &'static str = "guardduty.detector";
    type Settings = DetectorSettings;

    fn describe(settings: &DetectorSettings) -> String {
        let enabled = settings
            .features
            .values()
            .filter(|status| *status == "ENABLED")
            .count();
        format!(
            "UpdateDetector Enable=false: GuardDuty stops analysing the region, {enabled} protection plan(s) with it"
        )
    }

    fn example() -> DetectorSettings {
        DetectorSettings {
            finding_publishing_frequency: "FIFTEEN_MINUTES".to_owned(),
            features: [
                ("CLOUD_TRAIL", "ENABLED"),
                ("DNS_LOGS", "ENABLED"),
                ("FLOW_LOGS", "ENABLED"),
                ("S3_DATA_EVENTS", "ENABLED"),
                ("EKS_AUDIT_LOGS", "DISABLED"),
            ]
            .map(|(name, status)| (name.to_owned(), status.to_owned()))
            .into(),
        }
    }
}

/// `aws.guardduty.detector-disabled`.
pub type DetectorDisabled = SwitchedOff<Detector>;
