//! EC2: a VPC's flow logs deleted.
//!
//! A flow log is known by what it records and where it delivers, not by the id AWS gives it: the state holds
//! each flow log's settings without its id, so that the revert's re-created flow log (which gets a new id)
//! compares equal to the deleted one, and a flow log someone created meanwhile is one more in the set.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::{FaultSemantics, FaultState, register_faults};

register_faults![VpcFlowLogsDeleted];

/// How a flow log delivering to S3 writes its objects.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct S3DeliveryOptions {
    /// `plain-text` or `parquet`.
    pub file_format: String,
    pub hive_compatible_partitions: bool,
    pub per_hour_partition: bool,
}

/// One flow log of a VPC: everything CreateFlowLogs needs to make it again.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct FlowLog {
    /// `ACCEPT`, `REJECT` or `ALL`.
    pub traffic_type: String,
    /// `cloud-watch-logs`, `s3` or `kinesis-data-firehose`.
    pub destination_type: String,
    /// The destination's ARN (log group, bucket with prefix, delivery stream), where AWS reports one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination: Option<String>,
    /// The CloudWatch Logs log group, where the flow log names its destination so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_group_name: Option<String>,
    /// The record format (`${version} ${account-id} ...`).
    pub log_format: String,
    /// Seconds over which records are aggregated: 60 or 600.
    pub max_aggregation_interval: i32,
    /// The IAM role that delivers to CloudWatch Logs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deliver_logs_permission_arn: Option<String>,
    /// The IAM role that delivers to another account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deliver_cross_account_role: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3_options: Option<S3DeliveryOptions>,
    pub tags: BTreeMap<String, String>,
}

/// The flow logs of a VPC.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VpcFlowLogs {
    pub flow_logs: BTreeSet<FlowLog>,
}

impl FaultState for VpcFlowLogs {}

/// EC2's default flow log record format (version 2 fields).
pub const DEFAULT_LOG_FORMAT: &str = "${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${packets} ${bytes} ${start} ${end} ${action} ${log-status}";

/// `aws.ec2.vpc-flow-logs-deleted`: every flow log of the VPC deleted.
pub struct VpcFlowLogsDeleted;

impl FaultSemantics for VpcFlowLogsDeleted {
    const ID: &'static str = "aws.ec2.vpc-flow-logs-deleted";
    const PRESENT: &'static str = "the VPC has no flow logs";
    const ASPECT: &'static str = "ec2.vpc-flow-logs";
    type State = VpcFlowLogs;

    fn is_present(state: &VpcFlowLogs) -> bool {
        state.flow_logs.is_empty()
    }

    fn inject(_before: &VpcFlowLogs) -> VpcFlowLogs {
        VpcFlowLogs {
            flow_logs: BTreeSet::new(),
        }
    }

    /// What AWS Config's AWS-EnableVPCFlowLogs remediation creates by default: rejected and accepted traffic
    /// to a CloudWatch Logs group, in the default format.
    fn remediate(current: &VpcFlowLogs) -> VpcFlowLogs {
        let mut flow_logs = current.flow_logs.clone();
        if flow_logs.is_empty() {
            flow_logs.insert(FlowLog {
                traffic_type: "ALL".to_owned(),
                destination_type: "cloud-watch-logs".to_owned(),
                destination: None,
                log_group_name: Some("vpc-flow-logs".to_owned()),
                log_format: DEFAULT_LOG_FORMAT.to_owned(),
                max_aggregation_interval: 600,
                deliver_logs_permission_arn: None,
                deliver_cross_account_role: None,
                s3_options: None,
                tags: BTreeMap::new(),
            });
        }
        VpcFlowLogs { flow_logs }
    }

    fn describe(before: &VpcFlowLogs) -> String {
        let destinations: BTreeSet<&str> = before
            .flow_logs
            .iter()
            .map(|flow_log| flow_log.destination_type.as_str())
            .collect();
        format!(
            "DeleteFlowLogs: delete the VPC's {} flow log(s) (to {}); the VPC's traffic is no longer recorded",
            before.flow_logs.len(),
            destinations.into_iter().collect::<Vec<_>>().join(", ")
        )
    }

    /// The usual pair: all traffic to CloudWatch Logs for the security team, rejected traffic to the central
    /// S3 archive in Parquet with a custom format.
    fn example() -> VpcFlowLogs {
        VpcFlowLogs {
            flow_logs: BTreeSet::from([
                FlowLog {
                    traffic_type: "ALL".to_owned(),
                    destination_type: "cloud-watch-logs".to_owned(),
                    destination: Some(
                        "arn:aws:logs:us-east-1:123456789012:log-group:/vpc/flow-logs".to_owned(),
                    ),
                    log_group_name: Some("/vpc/flow-logs".to_owned()),
                    log_format: DEFAULT_LOG_FORMAT.to_owned(),
                    max_aggregation_interval: 60,
                    deliver_logs_permission_arn: Some(
                        "arn:aws:iam::123456789012:role/vpc-flow-logs-delivery".to_owned(),
                    ),
                    deliver_cross_account_role: None,
                    s3_options: None,
                    tags: BTreeMap::from([("team".to_owned(), "security".to_owned())]),
                },
                FlowLog {
                    traffic_type: "REJECT".to_owned(),
                    destination_type: "s3".to_owned(),
                    destination: Some("arn:aws:s3:::central-network-logs/vpc/".to_owned()),
                    log_group_name: None,
                    log_format: "${version} ${vpc-id} ${srcaddr} ${dstaddr} ${action}".to_owned(),
                    max_aggregation_interval: 600,
                    deliver_logs_permission_arn: None,
                    deliver_cross_account_role: None,
                    s3_options: Some(S3DeliveryOptions {
                        file_format: "parquet".to_owned(),
                        hive_compatible_partitions: true,
                        per_hour_partition: true,
                    }),
                    tags: BTreeMap::new(),
                },
            ]),
        }
    }
}
