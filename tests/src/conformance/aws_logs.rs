//! CloudWatch Logs conformance case: a tagged audit log group keeping a year of events, with a log stream,
//! read straight through the SDK.

use async_trait::async_trait;
use rdfi_proto::v1::ResourceRef;
use serde_json::{Value, json};

use super::AwsCase;
use crate::aws::{Clients, REGION};

pub fn cases() -> Vec<Box<dyn AwsCase>> {
    vec![Box::new(AuditLogRetentionOneDay)]
}

/// The retention the group starts with, in days.
const PRIOR_RETENTION_DAYS: i32 = 365;
/// The retention a person sets while the fault is on.
const RETENTION_SET_MEANWHILE: i32 = 90;

/// The log group `name` with the SDK's own eyes.
async fn describe(aws: &Clients, name: &str) -> aws_sdk_cloudwatchlogs::types::LogGroup {
    aws.logs
        .describe_log_groups()
        .log_group_name_prefix(name)
        .send()
        .await
        .expect("DescribeLogGroups")
        .log_groups()
        .iter()
        .find(|group| group.log_group_name() == Some(name))
        .cloned()
        .expect("the log group")
}

struct AuditLogRetentionOneDay;

#[async_trait]
impl AwsCase for AuditLogRetentionOneDay {
    fn fault_id(&self) -> &'static str {
        "aws.logs.audit-log-retention-one-day"
    }

    async fn prepare(&self, aws: &Clients, name: &str) -> ResourceRef {
        let group = format!("/audit/{name}");
        aws.logs
            .create_log_group()
            .log_group_name(&group)
            .tags("rdfi-target", "true")
            .tags("data-class", "audit")
            .send()
            .await
            .expect("CreateLogGroup");
        aws.logs
            .put_retention_policy()
            .log_group_name(&group)
            .retention_in_days(PRIOR_RETENTION_DAYS)
            .send()
            .await
            .expect("PutRetentionPolicy");
        aws.logs
            .create_log_stream()
            .log_group_name(&group)
            .log_stream_name("cloudtrail")
            .send()
            .await
            .expect("CreateLogStream");
        let arn = describe(aws, &group)
            .await
            .log_group_arn()
            .expect("a log group arn")
            .to_owned();
        ResourceRef {
            provider: "aws".to_owned(),
            resource_type: "aws.logs.log-group".to_owned(),
            id: arn,
            name: group,
            region: REGION.to_owned(),
            tags: [("rdfi-target".to_owned(), "true".to_owned())].into(),
            exposure: String::new(),
        }
    }

    async fn read(&self, aws: &Clients, resource: &ResourceRef) -> Value {
        let group = describe(aws, &resource.name).await;
        let streams = aws
            .logs
            .describe_log_streams()
            .log_group_name(&resource.name)
            .send()
            .await
            .expect("DescribeLogStreams");
        let mut streams: Vec<&str> = streams
            .log_streams()
            .iter()
            .filter_map(|stream| stream.log_stream_name())
            .collect();
        streams.sort_unstable();
        json!({
            "retention_in_days": group.retention_in_days(),
            "streams": streams,
        })
    }

    /// One day or less: the events of yesterday may already be gone.
    fn misconfigured(&self, read: &Value) -> bool {
        read["retention_in_days"]
            .as_i64()
            .is_some_and(|days| days <= 1)
    }

    /// A person sees the one-day retention and sets 90 days, the retention they think right.
    async fn change_meanwhile(&self, aws: &Clients, resource: &ResourceRef) -> bool {
        aws.logs
            .put_retention_policy()
            .log_group_name(&resource.name)
            .retention_in_days(RETENTION_SET_MEANWHILE)
            .send()
            .await
            .expect("PutRetentionPolicy");
        true
    }

    fn kept(&self, read: &Value) -> bool {
        read["retention_in_days"] == RETENTION_SET_MEANWHILE
    }
}
