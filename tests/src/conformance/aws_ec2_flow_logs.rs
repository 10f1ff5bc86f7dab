//! VPC flow log conformance case: a tagged VPC with two flow logs, all traffic to CloudWatch Logs through a
//! delivery role and rejected traffic to S3 in a custom format, read straight through the SDK without the ids
//! AWS gives flow logs.

use async_trait::async_trait;
use aws_sdk_ec2::types::{
    Filter, FlowLogsResourceType, LogDestinationType, ResourceType, Tag, TagSpecification,
    TrafficType,
};
use rdfi_proto::v1::ResourceRef;
use serde_json::{Value, json};

use super::AwsCase;
use crate::aws::{Clients, REGION};

pub fn cases() -> Vec<Box<dyn AwsCase>> {
    vec![Box::new(VpcFlowLogsDeleted)]
}

const DELIVERY_ROLE: &str = "arn:aws:iam::123456789012:role/vpc-flow-logs-delivery";

fn tags(resource_type: ResourceType, pairs: &[(&str, &str)]) -> TagSpecification {
    TagSpecification::builder()
        .resource_type(resource_type)
        .set_tags(Some(
            pairs
                .iter()
                .map(|(key, value)| Tag::builder().key(*key).value(*value).build())
                .collect(),
        ))
        .build()
}

/// A flow log of the VPC to CloudWatch Logs: the log group is created first (moto reports delivery failing to
/// a missing one).
async fn flow_log_to_log_group(aws: &Clients, vpc_id: &str, group: &str, traffic: TrafficType) {
    aws.logs
        .create_log_group()
        .log_group_name(group)
        .send()
        .await
        .expect("CreateLogGroup");
    let created = aws
        .ec2
        .create_flow_logs()
        .resource_type(FlowLogsResourceType::Vpc)
        .resource_ids(vpc_id)
        .traffic_type(traffic)
        .log_destination_type(LogDestinationType::CloudWatchLogs)
        .log_group_name(group)
        .deliver_logs_permission_arn(DELIVERY_ROLE)
        .max_aggregation_interval(60)
        .tag_specifications(tags(ResourceType::VpcFlowLog, &[("team", "security")]))
        .send()
        .await
        .expect("CreateFlowLogs");
    assert!(created.unsuccessful().is_empty(), "{created:?}");
}

struct VpcFlowLogsDeleted;

#[async_trait]
impl AwsCase for VpcFlowLogsDeleted {
    fn fault_id(&self) -> &'static str {
        "aws.ec2.vpc-flow-logs-deleted"
    }

    async fn prepare(&self, aws: &Clients, name: &str) -> ResourceRef {
        let vpc = aws
            .ec2
            .create_vpc()
            .cidr_block("10.40.0.0/16")
            .tag_specifications(tags(
                ResourceType::Vpc,
                &[("rdfi-target", "true"), ("Name", name)],
            ))
            .send()
            .await
            .expect("CreateVpc");
        let vpc = vpc.vpc().expect("a vpc");
        let vpc_id = vpc.vpc_id().expect("a vpc id").to_owned();
        flow_log_to_log_group(aws, &vpc_id, &format!("/vpc/{name}"), TrafficType::All).await;
        let archive = format!("{name}-flow-archive");
        aws.create_bucket(&archive, &[]).await;
        let created = aws
            .ec2
            .create_flow_logs()
            .resource_type(FlowLogsResourceType::Vpc)
            .resource_ids(&vpc_id)
            .traffic_type(TrafficType::Reject)
            .log_destination_type(LogDestinationType::S3)
            .log_destination(format!("arn:aws:s3:::{archive}"))
            .log_format("${version} ${vpc-id} ${srcaddr} ${dstaddr} ${action}")
            .max_aggregation_interval(600)
            .send()
            .await
            .expect("CreateFlowLogs");
        assert!(created.unsuccessful().is_empty(), "{created:?}");
        let resource = ResourceRef {
            provider: "aws".to_owned(),
            resource_type: "aws.ec2.vpc".to_owned(),
            id: format!(
                "arn:aws:ec2:{REGION}:{}:vpc/{vpc_id}",
                vpc.owner_id().expect("an owner")
            ),
            name: vpc_id,
            region: REGION.to_owned(),
            tags: [("rdfi-target".to_owned(), "true".to_owned())].into(),
            exposure: String::new(),
        };
        // The prior state the revert must restore, tags included, as the SDK reads it.
        let prior = self.read(aws, &resource).await;
        assert!(
            prior["flow_logs"]
                .as_array()
                .is_some_and(|flow_logs| flow_logs.len() == 2
                    && flow_logs
                        .iter()
                        .any(|flow_log| flow_log["tags"] == json!([["team", "security"]]))),
            "{prior}"
        );
        resource
    }

    async fn read(&self, aws: &Clients, resource: &ResourceRef) -> Value {
        let answer = aws
            .ec2
            .describe_flow_logs()
            .filter(
                Filter::builder()
                    .name("resource-id")
                    .values(&resource.name)
                    .build(),
            )
            .send()
            .await
            .expect("DescribeFlowLogs");
        let mut flow_logs: Vec<Value> = answer
            .flow_logs()
            .iter()
            .map(|flow_log| {
                let mut tags: Vec<(String, String)> = flow_log
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
                    "traffic_type": flow_log.traffic_type().map(TrafficType::as_str),
                    "destination_type": flow_log.log_destination_type().map(LogDestinationType::as_str),
                    "destination": flow_log.log_destination(),
                    "log_group_name": flow_log.log_group_name(),
                    "log_format": flow_log.log_format(),
                    "max_aggregation_interval": flow_log.max_aggregation_interval(),
                    "deliver_logs_permission_arn": flow_log.deliver_logs_permission_arn(),
                    "tags": tags,
                })
            })
            .collect();
        flow_logs.sort_by_key(Value::to_string);
        json!({ "flow_logs": flow_logs })
    }

    fn misconfigured(&self, read: &Value) -> bool {
        read["flow_logs"].as_array().is_some_and(Vec::is_empty)
    }

    /// A person sees the VPC without flow logs and creates one of their own to another log group.
    async fn change_meanwhile(&self, aws: &Clients, resource: &ResourceRef) -> bool {
        let group = format!("/vpc/{}-incident", resource.name);
        flow_log_to_log_group(aws, &resource.name, &group, TrafficType::Reject).await;
        true
    }

    fn kept(&self, read: &Value) -> bool {
        read["flow_logs"].as_array().is_some_and(|flow_logs| {
            flow_logs.len() == 3
                && flow_logs.iter().any(|flow_log| {
                    flow_log["log_group_name"]
                        .as_str()
                        .is_some_and(|group| group.ends_with("-incident"))
                })
        })
    }
}
