//! SNS: topic policies opened to everyone.

use serde_json::{Value, json};

use super::register_faults;
use super::resource_policy::{PolicyOpenedToEveryone, PublicGrant, ResourcePolicy};

register_faults![TopicPolicyPublic];

/// `aws.sns.topic-policy-public`: anyone may subscribe to the topic and publish to it.
pub type TopicPolicyPublic = PolicyOpenedToEveryone<PublicSubscribeAndPublish>;

/// Everyone allowed sns:Subscribe and sns:Publish on the topic: a subscription of one's own (an HTTPS
/// endpoint, a queue in another account) receives every message; publishing lets anyone send forged
/// notifications to every subscriber.
pub struct PublicSubscribeAndPublish;

impl PublicGrant for PublicSubscribeAndPublish {
    const ID: &'static str = "aws.sns.topic-policy-public";
    const PRESENT: &'static str = "the topic policy lets anyone (*) subscribe or publish";
    const ASPECT: &'static str = "sns.topic-policy";
    const SID: &'static str = "RdfiFaultPublicSubscribePublish";
    const ACTIONS: &'static [&'static str] = &["sns:Subscribe", "sns:Publish"];
    const OPERATION: &'static str = "SetTopicAttributes Policy";
    type State = ResourcePolicy;

    fn statement_resource(policy: &ResourcePolicy) -> Option<Value> {
        Some(json!(policy.arn))
    }

    /// SNS's default topic policy (the owning account's principals, conditioned on the source owner), one
    /// publisher role, and CloudWatch alarms of the account publishing.
    fn example() -> ResourcePolicy {
        let arn = "arn:aws:sns:us-east-1:123456789012:order-events";
        ResourcePolicy {
            arn: arn.to_owned(),
            document: Some(json!({
                "Version": "2008-10-17",
                "Id": "__default_policy_ID",
                "Statement": [
                    {
                        "Sid": "__default_statement_ID",
                        "Effect": "Allow",
                        "Principal": {"AWS": "*"},
                        "Action": [
                            "SNS:GetTopicAttributes", "SNS:SetTopicAttributes", "SNS:AddPermission",
                            "SNS:RemovePermission", "SNS:DeleteTopic", "SNS:Subscribe",
                            "SNS:ListSubscriptionsByTopic", "SNS:Publish",
                        ],
                        "Resource": arn,
                        "Condition": {"StringEquals": {"AWS:SourceOwner": "123456789012"}},
                    },
                    {
                        "Sid": "OrderServicePublishes",
                        "Effect": "Allow",
                        "Principal": {"AWS": "arn:aws:iam::123456789012:role/order-service"},
                        "Action": "sns:Publish",
                        "Resource": arn,
                    },
                    {
                        "Sid": "AlarmsPublish",
                        "Effect": "Allow",
                        "Principal": {"Service": "cloudwatch.amazonaws.com"},
                        "Action": "sns:Publish",
                        "Resource": arn,
                        "Condition": {"StringEquals": {"aws:SourceAccount": "123456789012"}},
                    },
                ],
            })),
        }
    }
}
