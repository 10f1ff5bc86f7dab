//! CloudTrail conformance cases: a logging, multi-region trail with log file validation and two basic event
//! selectors (management events without KMS, S3 object writes of one bucket). Every case reads the whole trail
//! configuration, so a revert that touched another setting shows.

use async_trait::async_trait;
use aws_sdk_cloudtrail::types::{DataResource, EventSelector, ReadWriteType, Tag};
use rdfi_proto::v1::ResourceRef;
use serde_json::{Value, json};

use super::AwsCase;
use crate::aws::{Clients, REGION};

pub fn cases() -> Vec<Box<dyn AwsCase>> {
    vec![
        Box::new(TrailCase {
            fault_id: "aws.cloudtrail.trail-logging-stopped",
            misconfigured: |trail| trail["isLogging"] == false,
        }),
        Box::new(TrailCase {
            fault_id: "aws.cloudtrail.trail-management-events-dropped",
            misconfigured: |trail| {
                trail["eventSelectors"].as_array().is_some_and(|selectors| {
                    !selectors.is_empty()
                        && selectors
                            .iter()
                            .all(|selector| selector["includeManagementEvents"] == false)
                })
            },
        }),
        Box::new(TrailCase {
            fault_id: "aws.cloudtrail.trail-log-file-validation-disabled",
            misconfigured: |trail| trail["logFileValidationEnabled"] == false,
        }),
        Box::new(TrailCase {
            fault_id: "aws.cloudtrail.trail-multi-region-disabled",
            misconfigured: |trail| trail["isMultiRegionTrail"] == false,
        }),
    ]
}

/// A tagged trail named `name`, logging to a new bucket, multi-region, with log file validation and two event
/// selectors; logging started.
pub async fn prepare_trail(aws: &Clients, name: &str) -> ResourceRef {
    let bucket = format!("{name}-cloudtrail-logs");
    aws.create_bucket(&bucket, &[("team", "conformance")]).await;
    let tag = |key: &str, value: &str| Tag::builder().key(key).value(value).build().expect("a tag");
    let trail = aws
        .cloudtrail
        .create_trail()
        .name(name)
        .s3_bucket_name(&bucket)
        .include_global_service_events(true)
        .is_multi_region_trail(true)
        .enable_log_file_validation(true)
        .tags_list(tag("rdfi-target", "true"))
        .tags_list(tag("team", "conformance"))
        .send()
        .await
        .expect("CreateTrail");
    let arn = trail.trail_arn().expect("a trail arn").to_owned();
    aws.cloudtrail
        .put_event_selectors()
        .trail_name(name)
        .event_selectors(
            EventSelector::builder()
                .read_write_type(ReadWriteType::All)
                .include_management_events(true)
                .exclude_management_event_sources("kms.amazonaws.com")
                .build(),
        )
        .event_selectors(
            EventSelector::builder()
                .read_write_type(ReadWriteType::WriteOnly)
                .include_management_events(false)
                .data_resources(
                    DataResource::builder()
                        .r#type("AWS::S3::Object")
                        .values(format!("arn:aws:s3:::{bucket}/"))
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .expect("PutEventSelectors");
    aws.cloudtrail
        .start_logging()
        .name(name)
        .send()
        .await
        .expect("StartLogging");
    ResourceRef {
        provider: "aws".to_owned(),
        resource_type: "aws.cloudtrail.trail".to_owned(),
        id: arn,
        name: name.to_owned(),
        region: REGION.to_owned(),
        tags: [("rdfi-target".to_owned(), "true".to_owned())].into(),
        exposure: String::new(),
    }
}

/// The trail's status, settings and event selectors (each selector's lists sorted, the selectors sorted).
pub async fn trail_configuration(aws: &Clients, name: &str) -> Value {
    let status = aws
        .cloudtrail
        .get_trail_status()
        .name(name)
        .send()
        .await
        .expect("GetTrailStatus");
    let trail = aws
        .cloudtrail
        .get_trail()
        .name(name)
        .send()
        .await
        .expect("GetTrail")
        .trail
        .expect("a trail");
    let selectors = aws
        .cloudtrail
        .get_event_selectors()
        .trail_name(name)
        .send()
        .await
        .expect("GetEventSelectors");
    let sorted = |values: &[String]| {
        let mut values = values.to_vec();
        values.sort();
        values
    };
    let mut event_selectors: Vec<Value> = selectors
        .event_selectors()
        .iter()
        .map(|selector| {
            let mut data_resources: Vec<Value> = selector
                .data_resources()
                .iter()
                .map(|resource| json!({"type": resource.r#type(), "values": sorted(resource.values())}))
                .collect();
            data_resources.sort_by_key(Value::to_string);
            json!({
                "readWriteType": selector.read_write_type().map(|kind| kind.as_str()),
                "includeManagementEvents": selector.include_management_events(),
                "dataResources": data_resources,
                "excludeManagementEventSources": sorted(selector.exclude_management_event_sources()),
            })
        })
        .collect();
    event_selectors.sort_by_key(Value::to_string);
    json!({
        "isLogging": status.is_logging(),
        "isMultiRegionTrail": trail.is_multi_region_trail(),
        "logFileValidationEnabled": trail.log_file_validation_enabled(),
        "includeGlobalServiceEvents": trail.include_global_service_events(),
        "s3BucketName": trail.s3_bucket_name(),
        "eventSelectors": event_selectors,
        "advancedEventSelectors": selectors.advanced_event_selectors().len(),
    })
}

/// A trail fault: the same trail and read for every one, a predicate over the read per fault.
struct TrailCase {
    fault_id: &'static str,
    misconfigured: fn(&Value) -> bool,
}

#[async_trait]
impl AwsCase for TrailCase {
    fn fault_id(&self) -> &'static str {
        self.fault_id
    }

    async fn prepare(&self, aws: &Clients, name: &str) -> ResourceRef {
        prepare_trail(aws, name).await
    }

    async fn read(&self, aws: &Clients, resource: &ResourceRef) -> Value {
        trail_configuration(aws, &resource.name).await
    }

    fn misconfigured(&self, read: &Value) -> bool {
        (self.misconfigured)(read)
    }
}

#[cfg(test)]
mod tests {
    use rdfi_provider::Provider;
    use rdfi_provider::aws::AwsProvider;

    use super::*;
    use crate::MotoServer;
    use crate::aws::{clients, sdk_config};

    /// rdfi's CloudTrail discovery finds the prepared trail under its ARN and name, with its tags, and a fresh
    /// tag read agrees.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn discovery_finds_the_prepared_trail_with_its_tags() {
        let moto = MotoServer::start();
        let aws = clients(&moto.endpoint).await;
        let provider = AwsProvider::from_sdk_config(&sdk_config(&moto.endpoint).await);
        let trail = prepare_trail(&aws, "discovered-trail").await;
        let discovered = provider
            .discover(&trail.resource_type)
            .await
            .expect("discover");
        let found = discovered
            .iter()
            .find(|candidate| candidate.id == trail.id)
            .unwrap_or_else(|| panic!("{} among {discovered:?}", trail.id));
        assert_eq!(found.name, trail.name);
        assert_eq!(
            found.tags.get("team").map(String::as_str),
            Some("conformance")
        );
        let tags = provider.tags(&trail).await.expect("tags");
        assert_eq!(tags.get("rdfi-target").map(String::as_str), Some("true"));
        assert_eq!(tags.len(), found.tags.len());
    }
}
