//! EC2 flow log faults: a VPC whose traffic is no longer recorded.

use std::time::Duration;

use super::{ControlKind, ExpectedControl, FaultModel, SecurityAttribute};

pub(super) static FAULTS: &[FaultModel] = &[FaultModel {
    id: "aws.ec2.vpc-flow-logs-deleted",
    title: "VPC flow logs deleted",
    resource_type: "aws.ec2.vpc",
    security_attribute: SecurityAttribute::Integrity,
    attack_technique: "T1562.008",
    cis_control: Some("CIS AWS Foundations 3.7"),
    cvss_vector: "CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:N/I:L/A:N",
    preconditions: "the VPC has at least one flow log; the revert re-creates each with its destination, traffic type, log format, aggregation interval, IAM role and tags (under a new id); records already delivered stay where they were delivered",
    destructive: false,
    expected_controls: &[
        ExpectedControl {
            kind: ControlKind::Preventive,
            example: "an SCP denying ec2:DeleteFlowLogs to everyone but the network pipeline",
            default_deadline: Duration::ZERO,
        },
        ExpectedControl {
            kind: ControlKind::Detective,
            example: "AWS Config rule vpc-flow-logs-enabled, Security Hub EC2.6, an EventBridge rule on the CloudTrail event DeleteFlowLogs",
            default_deadline: Duration::from_secs(15 * 60),
        },
        ExpectedControl {
            kind: ControlKind::Corrective,
            example: "an AWS Config remediation (AWS-EnableVPCFlowLogs) or Cloud Custodian vpc policy (set-flow-log) that creates the flow log again",
            default_deadline: Duration::from_secs(10 * 60),
        },
    ],
    intents: &["audit-logging-disabled"],
    remediation: "Create the VPC's flow logs again with their previous destination and format, find who deleted them and why, deny ec2:DeleteFlowLogs with an SCP, and manage flow logs in infrastructure as code.",
}];
