//! AWS Config configuration recorders: discovery through the account's opt-in marker ([`super::account`]),
//! and the fault that stops the region's recorder.
//!
//! A recorder is an account-level setting: it carries the marker's tags. It is addressed by name
//! (`ResourceRef::name`); its ARN is the resource id (as Config reports it, or
//! `arn:PARTITION:config:REGION:ACCOUNT:configuration-recorder/NAME` where it reports none). Service-linked
//! recorders belong to the AWS service that made them and are left out.

use std::collections::BTreeMap;

use async_trait::async_trait;
use rdfi_proto::v1::ResourceRef;

use super::{AwsClients, account, sdk_error};
use crate::model::config::{self as model, RecorderSettings};
use crate::model::watch::Watch;
use crate::{FaultDriver, ProviderError, Result, StateDriver, Versioned};

/// The resource type of AWS Config configuration recorders.
pub const RECORDER: &str = "aws.config.recorder";

pub(crate) const RESOURCE_TYPES: &[&str] = &[RECORDER];

pub(crate) fn drivers() -> Vec<Box<dyn FaultDriver<AwsClients>>> {
    vec![Box::new(RecorderDriver)]
}

/// The customer managed recorders of the configured region (Config allows one), when the account has opted
/// in with its marker; none otherwise. DescribeConfigurationRecorders has no pages.
pub(crate) async fn discover(
    clients: &AwsClients,
    _resource_type: &str,
) -> Result<Vec<ResourceRef>> {
    account::discover_settings(clients, RECORDER, true, |account| async move {
        let answer = clients
            .config
            .describe_configuration_recorders()
            .send()
            .await
            .map_err(|error| sdk_error("DescribeConfigurationRecorders", "region", error))?;
        Ok(answer
            .configuration_recorders()
            .iter()
            .filter(|recorder| recorder.service_principal().is_none())
            .filter_map(|recorder| {
                let name = recorder.name()?;
                let arn = recorder.arn().map(str::to_owned).unwrap_or_else(|| {
                    account.arn(
                        "config",
                        &clients.region,
                        &format!("configuration-recorder/{name}"),
                    )
                });
                Some((name.to_owned(), arn))
            })
            .collect())
    })
    .await
}

/// The marker's tags: rdfi reads none of a recorder's own.
pub(crate) async fn tags(
    clients: &AwsClients,
    _resource: &ResourceRef,
) -> Result<BTreeMap<String, String>> {
    account::setting_tags(clients).await
}

/// A recorder that is not there, as the error its read reports.
fn no_recorder(resource: &ResourceRef, operation: &str) -> ProviderError {
    ProviderError::Api {
        operation: operation.to_owned(),
        resource: resource.id.clone(),
        reason: "no such configuration recorder".to_owned(),
        retryable: false,
        throttled: false,
    }
}

/// `aws.config.recorder-stopped`: StopConfigurationRecorder; the revert calls StartConfigurationRecorder,
/// which leaves the recorder's role and recording group as they are then (the target's: the fault does not
/// touch them), and needs the region's delivery channel, which the fault leaves alone too.
pub(crate) struct RecorderDriver;

impl RecorderDriver {
    async fn switch(&self, clients: &AwsClients, resource: &ResourceRef, on: bool) -> Result<()> {
        if on {
            clients
                .config
                .start_configuration_recorder()
                .configuration_recorder_name(&resource.name)
                .send()
                .await
                .map_err(|error| sdk_error("StartConfigurationRecorder", &resource.id, error))?;
        } else {
            clients
                .config
                .stop_configuration_recorder()
                .configuration_recorder_name(&resource.name)
                .send()
                .await
                .map_err(|error| sdk_error("StopConfigurationRecorder", &resource.id, error))?;
        }
        Ok(())
    }
}

#[async_trait]
impl StateDriver<AwsClients> for RecorderDriver {
    type Fault = model::RecorderStopped;

    async fn read(
        &self,
        clients: &AwsClients,
        resource: &ResourceRef,
    ) -> Result<Watch<RecorderSettings>> {
        let recorders = clients
            .config
            .describe_configuration_recorders()
            .configuration_recorder_names(&resource.name)
            .send()
            .await
            .map_err(|error| sdk_error("DescribeConfigurationRecorders", &resource.id, error))?;
        let recorder = recorders
            .configuration_recorders()
            .first()
            .ok_or_else(|| no_recorder(resource, "DescribeConfigurationRecorders"))?;
        let statuses = clients
            .config
            .describe_configuration_recorder_status()
            .configuration_recorder_names(&resource.name)
            .send()
            .await
            .map_err(|error| {
                sdk_error("DescribeConfigurationRecorderStatus", &resource.id, error)
            })?;
        let status = statuses
            .configuration_recorders_status()
            .first()
            .ok_or_else(|| no_recorder(resource, "DescribeConfigurationRecorderStatus"))?;
        let group = recorder.recording_group();
        Ok(Watch {
            enabled: status.recording(),
            settings: RecorderSettings {
                role_arn: recorder.role_arn().unwrap_or_default().to_owned(),
                all_supported: group.is_none_or(|group| group.all_supported()),
                include_global_resource_types: group
                    .is_some_and(|group| group.include_global_resource_types()),
                resource_types: group
                    .map(|group| {
                        group
                            .resource_types()
                            .iter()
                            .map(|kind| kind.as_str().to_owned())
                            .collect()
                    })
                    .unwrap_or_default(),
                excluded_resource_types: group
                    .and_then(|group| group.exclusion_by_resource_types())
                    .map(|excluded| {
                        excluded
                            .resource_types()
                            .iter()
                            .map(|kind| kind.as_str().to_owned())
                            .collect()
                    })
                    .unwrap_or_default(),
            },
        })
    }

    async fn inject(
        &self,
        clients: &AwsClients,
        resource: &ResourceRef,
        _before: &Watch<RecorderSettings>,
    ) -> Result<()> {
        self.switch(clients, resource, false).await
    }

    async fn revert(
        &self,
        clients: &AwsClients,
        resource: &ResourceRef,
        _current: &Versioned<Watch<RecorderSettings>>,
        target: &Watch<RecorderSettings>,
    ) -> Result<()> {
        self.switch(clients, resource, target.enabled).await
    }
}
