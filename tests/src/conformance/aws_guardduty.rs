//! GuardDuty conformance case: the region's detector, enabled with a fifteen-minute publishing frequency and
//! S3 protection, in an account opted in with its marker, read straight through the SDK.

use async_trait::async_trait;
use aws_sdk_guardduty::types::{
    DetectorFeature, DetectorFeatureConfiguration, FeatureStatus, FindingPublishingFrequency,
};
use rdfi_proto::v1::ResourceRef;
use serde_json::{Value, json};

use super::AwsCase;
use crate::aws::{Clients, REGION};

pub fn cases() -> Vec<Box<dyn AwsCase>> {
    vec![Box::new(DetectorDisabled)]
}

/// The account's marker, then the region's detector, enabled with a fifteen-minute publishing frequency and
/// S3 data events on. The resource is named by detector id, identified by detector ARN.
pub async fn prepare_detector(aws: &Clients) -> ResourceRef {
    let account = aws.opt_in_account().await;
    let created = aws
        .guardduty
        .create_detector()
        .enable(true)
        .finding_publishing_frequency(FindingPublishingFrequency::FifteenMinutes)
        .features(
            DetectorFeatureConfiguration::builder()
                .name(DetectorFeature::S3DataEvents)
                .status(FeatureStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .expect("CreateDetector");
    let detector_id = created.detector_id().expect("a detector id").to_owned();
    ResourceRef {
        provider: "aws".to_owned(),
        resource_type: "aws.guardduty.detector".to_owned(),
        id: format!("arn:aws:guardduty:{REGION}:{account}:detector/{detector_id}"),
        name: detector_id,
        region: REGION.to_owned(),
        tags: [("rdfi-target".to_owned(), "true".to_owned())].into(),
        exposure: String::new(),
    }
}

struct DetectorDisabled;

#[async_trait]
impl AwsCase for DetectorDisabled {
    fn fault_id(&self) -> &'static str {
        "aws.guardduty.detector-disabled"
    }

    async fn prepare(&self, aws: &Clients, _name: &str) -> ResourceRef {
        prepare_detector(aws).await
    }

    async fn read(&self, aws: &Clients, resource: &ResourceRef) -> Value {
        let detector = aws
            .guardduty
            .get_detector()
            .detector_id(&resource.name)
            .send()
            .await
            .expect("GetDetector");
        let mut features: Vec<(String, String)> = detector
            .features()
            .iter()
            .map(|feature| {
                (
                    feature
                        .name()
                        .map(|name| name.as_str())
                        .unwrap_or_default()
                        .to_owned(),
                    feature
                        .status()
                        .map(|status| status.as_str())
                        .unwrap_or_default()
                        .to_owned(),
                )
            })
            .collect();
        features.sort();
        json!({
            "status": detector.status().map(|status| status.as_str()),
            "finding_publishing_frequency": detector.finding_publishing_frequency().map(|frequency| frequency.as_str()),
            "features": features,
        })
    }

    fn misconfigured(&self, read: &Value) -> bool {
        read["status"] != "ENABLED"
    }

    /// A person shortens the publishing frequency while the detector is off (UpdateDetector without Enable).
    async fn change_meanwhile(&self, aws: &Clients, resource: &ResourceRef) -> bool {
        aws.guardduty
            .update_detector()
            .detector_id(&resource.name)
            .finding_publishing_frequency(FindingPublishingFrequency::OneHour)
            .send()
            .await
            .expect("UpdateDetector");
        true
    }

    fn kept(&self, read: &Value) -> bool {
        read["finding_publishing_frequency"] == "ONE_HOUR"
    }
}
