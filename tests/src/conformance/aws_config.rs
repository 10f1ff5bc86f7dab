//! AWS Config conformance case: the region's configuration recorder, recording three resource types through
//! a delivery channel to S3, in an account opted in with its marker, read straight through the SDK.

use async_trait::async_trait;
use aws_sdk_config::types::{ConfigurationRecorder, DeliveryChannel, RecordingGroup, ResourceType};
use rdfi_proto::v1::ResourceRef;
use serde_json::{Value, json};

use super::AwsCase;
use crate::aws::{Clients, REGION};

pub fn cases() -> Vec<Box<dyn AwsCase>> {
    vec![Box::new(RecorderStopped)]
}

/// The role the recorder reads resources as.
const RECORDER_ROLE: &str = "arn:aws:iam::123456789012:role/aws-config-recorder";
/// The resource types the recorder starts with.
const RECORDED: [ResourceType; 3] = [
    ResourceType::SecurityGroup,
    ResourceType::Bucket,
    ResourceType::Role,
];

/// Writes the recorder `name` recording these resource types (PutConfigurationRecorder takes it whole and
/// leaves whether it records as it was).
async fn put_recorder(aws: &Clients, name: &str, resource_types: &[ResourceType]) {
    aws.config
        .put_configuration_recorder()
        .configuration_recorder(
            ConfigurationRecorder::builder()
                .name(name)
                .role_arn(RECORDER_ROLE)
                .recording_group(
                    RecordingGroup::builder()
                        .all_supported(false)
                        .include_global_resource_types(false)
                        .set_resource_types(Some(resource_types.to_vec()))
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .expect("PutConfigurationRecorder");
}

struct RecorderStopped;

#[async_trait]
impl AwsCase for RecorderStopped {
    fn fault_id(&self) -> &'static str {
        "aws.config.recorder-stopped"
    }

    /// The marker, the recorder, its delivery channel (Config starts no recorder without one), and the
    /// recorder started.
    async fn prepare(&self, aws: &Clients, name: &str) -> ResourceRef {
        let account = aws.opt_in_account().await;
        put_recorder(aws, name, &RECORDED).await;
        aws.config
            .put_delivery_channel()
            .delivery_channel(
                DeliveryChannel::builder()
                    .name(format!("{name}-channel"))
                    .s3_bucket_name("config-history")
                    .s3_key_prefix(name)
                    .build(),
            )
            .send()
            .await
            .expect("PutDeliveryChannel");
        aws.config
            .start_configuration_recorder()
            .configuration_recorder_name(name)
            .send()
            .await
            .expect("StartConfigurationRecorder");
        ResourceRef {
            provider: "aws".to_owned(),
            resource_type: "aws.config.recorder".to_owned(),
            id: format!("arn:aws:config:{REGION}:{account}:configuration-recorder/{name}"),
            name: name.to_owned(),
            region: REGION.to_owned(),
            tags: [("rdfi-target".to_owned(), "true".to_owned())].into(),
            exposure: String::new(),
        }
    }

    async fn read(&self, aws: &Clients, resource: &ResourceRef) -> Value {
        let recorders = aws
            .config
            .describe_configuration_recorders()
            .configuration_recorder_names(&resource.name)
            .send()
            .await
            .expect("DescribeConfigurationRecorders");
        let recorder = &recorders.configuration_recorders()[0];
        let group = recorder.recording_group().expect("a recording group");
        let mut resource_types: Vec<&str> = group
            .resource_types()
            .iter()
            .map(ResourceType::as_str)
            .collect();
        resource_types.sort_unstable();
        let statuses = aws
            .config
            .describe_configuration_recorder_status()
            .configuration_recorder_names(&resource.name)
            .send()
            .await
            .expect("DescribeConfigurationRecorderStatus");
        let channels = aws
            .config
            .describe_delivery_channels()
            .send()
            .await
            .expect("DescribeDeliveryChannels");
        let mut channels: Vec<&str> = channels
            .delivery_channels()
            .iter()
            .filter_map(|channel| channel.name())
            .collect();
        channels.sort_unstable();
        json!({
            "recording": statuses.configuration_recorders_status()[0].recording(),
            "role_arn": recorder.role_arn(),
            "all_supported": group.all_supported(),
            "resource_types": resource_types,
            "delivery_channels": channels,
        })
    }

    fn misconfigured(&self, read: &Value) -> bool {
        read["recording"] == false
    }

    /// A person adds KMS keys to what the recorder records while it is stopped.
    async fn change_meanwhile(&self, aws: &Clients, resource: &ResourceRef) -> bool {
        let mut more = RECORDED.to_vec();
        more.push(ResourceType::Key);
        put_recorder(aws, &resource.name, &more).await;
        true
    }

    fn kept(&self, read: &Value) -> bool {
        read["resource_types"]
            .as_array()
            .is_some_and(|kinds| kinds.iter().any(|kind| kind == "AWS::KMS::Key"))
    }
}
