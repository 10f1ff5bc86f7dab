//! CloudWatch conformance case: a tagged metric alarm on a CIS-style security metric that pages two SNS topics
//! and tells one when it is OK again, read straight through the SDK.

use async_trait::async_trait;
use aws_sdk_cloudwatch::types::{ComparisonOperator, Statistic, Tag};
use rdfi_proto::v1::ResourceRef;
use serde_json::{Value, json};

use super::AwsCase;
use crate::aws::{Clients, REGION};

pub fn cases() -> Vec<Box<dyn AwsCase>> {
    vec![Box::new(AlarmActionsDisabled)]
}

const ONCALL_TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:security-oncall";
const TICKETS_TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:security-tickets";
/// The topic a person adds to the alarm while the fault is on.
const AUDIT_TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:security-audit";

/// Creates or replaces the alarm `name` with these alarm actions (PutMetricAlarm takes the whole alarm).
async fn put_alarm(aws: &Clients, name: &str, alarm_actions: &[&str], actions_enabled: bool) {
    let tags = [("rdfi-target", "true"), ("team", "security")]
        .map(|(key, value)| Tag::builder().key(key).value(value).build());
    aws.cloudwatch
        .put_metric_alarm()
        .alarm_name(name)
        .alarm_description("CIS 4.3: root account used")
        .namespace("CISBenchmark")
        .metric_name("RootAccountUsage")
        .statistic(Statistic::Sum)
        .period(300)
        .evaluation_periods(1)
        .threshold(1.0)
        .comparison_operator(ComparisonOperator::GreaterThanOrEqualToThreshold)
        .actions_enabled(actions_enabled)
        .set_alarm_actions(Some(
            alarm_actions.iter().map(|arn| (*arn).to_owned()).collect(),
        ))
        .ok_actions(TICKETS_TOPIC)
        .set_tags(Some(tags.to_vec()))
        .send()
        .await
        .expect("PutMetricAlarm");
}

/// The alarm, straight from DescribeAlarms.
async fn describe(aws: &Clients, name: &str) -> aws_sdk_cloudwatch::types::MetricAlarm {
    aws.cloudwatch
        .describe_alarms()
        .alarm_names(name)
        .send()
        .await
        .expect("DescribeAlarms")
        .metric_alarms()
        .first()
        .cloned()
        .expect("the alarm")
}

struct AlarmActionsDisabled;

#[async_trait]
impl AwsCase for AlarmActionsDisabled {
    fn fault_id(&self) -> &'static str {
        "aws.cloudwatch.alarm-actions-disabled"
    }

    async fn prepare(&self, aws: &Clients, name: &str) -> ResourceRef {
        put_alarm(aws, name, &[ONCALL_TOPIC, TICKETS_TOPIC], true).await;
        ResourceRef {
            provider: "aws".to_owned(),
            resource_type: "aws.cloudwatch.alarm".to_owned(),
            id: describe(aws, name)
                .await
                .alarm_arn()
                .expect("an alarm arn")
                .to_owned(),
            name: name.to_owned(),
            region: REGION.to_owned(),
            tags: [("rdfi-target".to_owned(), "true".to_owned())].into(),
            exposure: String::new(),
        }
    }

    async fn read(&self, aws: &Clients, resource: &ResourceRef) -> Value {
        let alarm = describe(aws, &resource.name).await;
        let sorted = |actions: &[String]| {
            let mut actions = actions.to_vec();
            actions.sort();
            actions
        };
        let tags = aws
            .cloudwatch
            .list_tags_for_resource()
            .resource_arn(&resource.id)
            .send()
            .await
            .expect("ListTagsForResource");
        let mut tags: Vec<(String, String)> = tags
            .tags()
            .iter()
            .map(|tag| {
                (
                    tag.key().unwrap_or_default().to_owned(),
                    tag.value().unwrap_or_default().to_owned(),
                )
            })
            .collect();
        tags.sort();
        json!({
            "actions_enabled": alarm.actions_enabled(),
            "alarm_actions": sorted(alarm.alarm_actions()),
            "ok_actions": sorted(alarm.ok_actions()),
            "insufficient_data_actions": sorted(alarm.insufficient_data_actions()),
            "threshold": alarm.threshold(),
            "metric": alarm.metric_name(),
            "tags": tags,
        })
    }

    fn misconfigured(&self, read: &Value) -> bool {
        read["actions_enabled"] == false
    }

    /// A person adds the audit topic to the alarm's actions, editing the alarm as they found it (actions
    /// still disabled).
    async fn change_meanwhile(&self, aws: &Clients, resource: &ResourceRef) -> bool {
        put_alarm(
            aws,
            &resource.name,
            &[ONCALL_TOPIC, TICKETS_TOPIC, AUDIT_TOPIC],
            false,
        )
        .await;
        true
    }

    fn kept(&self, read: &Value) -> bool {
        read["alarm_actions"]
            .as_array()
            .is_some_and(|actions| actions.iter().any(|action| action == AUDIT_TOPIC))
    }
}
