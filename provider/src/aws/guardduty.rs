//! GuardDuty detectors: discovery through the account's opt-in marker ([`super::account`]), and the fault
//! that disables the region's detector.
//!
//! A detector is an account-level setting: it carries the marker's tags, not its own. It is addressed by its
//! detector id (`ResourceRef::name`); its ARN, `arn:PARTITION:guardduty:REGION:ACCOUNT:detector/ID`, is the
//! resource id.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_guardduty::types::{DetectorStatus, FindingPublishingFrequency};
use rdfi_proto::v1::ResourceRef;

use super::{AwsClients, account, sdk_error};
use crate::model::guardduty::{self as model, DetectorSettings};
use crate::model::watch::Watch;
use crate::{FaultDriver, Result, StateDriver, Versioned};

/// The resource type of GuardDuty detectors.
pub const DETECTOR: &str = "aws.guardduty.detector";

pub(crate) const RESOURCE_TYPES: &[&str] = &[DETECTOR];

pub(crate) fn drivers() -> Vec<Box<dyn FaultDriver<AwsClients>>> {
    vec![Box::new(DetectorDriver)]
}

/// The detectors of the configured region (GuardDuty allows one per account and region; all pages are read
/// all the same), when the account has opted in with its marker; none otherwise.
pub(crate) async fn discover(
    clients: &AwsClients,
    _resource_type: &str,
) -> Result<Vec<ResourceRef>> {
    account::discover_settings(clients, DETECTOR, true, |account| async move {
        let mut pages = clients.guardduty.list_detectors().into_paginator().send();
        let mut detectors = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|error| sdk_error("ListDetectors", "region", error))?;
            for id in page.detector_ids() {
                let arn = account.arn("guardduty", &clients.region, &format!("detector/{id}"));
                detectors.push((id.clone(), arn));
            }
        }
        Ok(detectors)
    })
    .await
}

/// The marker's tags: a detector has none of its own that rdfi reads.
pub(crate) async fn tags(
    clients: &AwsClients,
    _resource: &ResourceRef,
) -> Result<BTreeMap<String, String>> {
    account::setting_tags(clients).await
}

/// `aws.guardduty.detector-disabled`: UpdateDetector Enable=false, nothing else. The revert sends Enable=true
/// with the target's finding publishing frequency (the one read then: someone may have changed it
/// meanwhile); the features are the target's already, as the fault does not touch them.
pub(crate) struct DetectorDriver;

impl DetectorDriver {
    async fn update(
        &self,
        clients: &AwsClients,
        resource: &ResourceRef,
        enable: bool,
        frequency: Option<&str>,
    ) -> Result<()> {
        clients
            .guardduty
            .update_detector()
            .detector_id(&resource.name)
            .enable(enable)
            .set_finding_publishing_frequency(frequency.map(FindingPublishingFrequency::from))
            .send()
            .await
            .map_err(|error| sdk_error("UpdateDetector", &resource.id, error))?;
        Ok(())
    }
}

#[async_trait]
impl StateDriver<AwsClients> for DetectorDriver {
    type Fault = model::DetectorDisabled;

    async fn read(
        &self,
        clients: &AwsClients,
        resource: &ResourceRef,
    ) -> Result<Watch<DetectorSettings>> {
        let detector = clients
            .guardduty
            .get_detector()
            .detector_id(&resource.name)
            .send()
            .await
            .map_err(|error| sdk_error("GetDetector", &resource.id, error))?;
        Ok(Watch {
            enabled: detector.status() == Some(&DetectorStatus::Enabled),
            settings: DetectorSettings {
                finding_publishing_frequency: detector
                    .finding_publishing_frequency()
                    .map(|frequency| frequency.as_str().to_owned())
                    .unwrap_or_default(),
                features: detector
                    .features()
                    .iter()
                    .filter_map(|feature| {
                        Some((
                            feature.name()?.as_str().to_owned(),
                            feature.status()?.as_str().to_owned(),
                        ))
                    })
                    .collect(),
            },
        })
    }

    async fn inject(
        &self,
        clients: &AwsClients,
        resource: &ResourceRef,
        _before: &Watch<DetectorSettings>,
    ) -> Result<()> {
        self.update(clients, resource, false, None).await
    }

    async fn revert(
        &self,
        clients: &AwsClients,
        resource: &ResourceRef,
        _current: &Versioned<Watch<DetectorSettings>>,
        target: &Watch<DetectorSettings>,
    ) -> Result<()> {
        let frequency = &target.settings.finding_publishing_frequency;
        self.update(
            clients,
            resource,
            target.enabled,
            Some(frequency)
                .filter(|frequency| !frequency.is_empty())
                .map(String::as_str),
        )
        .await
    }
}
