//! SQS: queue policies opened to everyone.

use serde_json::{Value, json};

use super::register_faults;
use super::resource_policy::{PolicyOpenedToEveryone, PublicGrant, ResourcePolicy};

register_faults![QueuePolicyPublic];

/// `aws.sqs.queue-policy-public`: anyone may send messages to the queue and receive (read and delete) them.
pub type QueuePolicyPublic = PolicyOpenedToEveryone<PublicSendAndReceive>;

/// Everyone allowed sqs:SendMessage and sqs:ReceiveMessage on the queue: the two halves of a queue's data
/// path. Receiving is what leaks the data (and, with the visibility timeout, hides messages from their real
/// consumers); sending is what lets anyone inject forged work into the consumers.
pub struct PublicSendAndReceive;

impl PublicGrant for PublicSendAndReceive {
    const ID: &'static str = "aws.sqs.queue-policy-public";
    const PRESENT: &'static str = "the queue policy lets anyone (*) send or receive messages";
    const ASPECT: &'static str = "sqs.queue-policy";
    const SID: &'static str = "RdfiFaultPublicSendReceive";
    const ACTIONS: &'static [&'static str] = &["sqs:SendMessage", "sqs:ReceiveMessage"];
    const OPERATION: &'static str = "SetQueueAttributes Policy";
    type State = ResourcePolicy;

    fn statement_resource(policy: &ResourcePolicy) -> Option<Value> {
        Some(json!(policy.arn))
    }

    /// An order queue: the account's order service sends, its fulfilment role receives, and an SNS topic of
    /// the same account may deliver to it.
    fn example() -> ResourcePolicy {
        let arn = "arn:aws:sqs:us-east-1:123456789012:orders";
        ResourcePolicy {
            arn: arn.to_owned(),
            document: Some(json!({
                "Version": "2012-10-17",
                "Id": "orders-policy",
                "Statement": [
                    {
                        "Sid": "OrderServiceSends",
                        "Effect": "Allow",
                        "Principal": {"AWS": "arn:aws:iam::123456789012:role/order-service"},
                        "Action": "sqs:SendMessage",
                        "Resource": arn,
                    },
                    {
                        "Sid": "FulfilmentReceives",
                        "Effect": "Allow",
                        "Principal": {"AWS": "arn:aws:iam::123456789012:role/fulfilment"},
                        "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"],
                        "Resource": arn,
                    },
                    {
                        "Sid": "OrderEventsTopicDelivers",
                        "Effect": "Allow",
                        "Principal": {"Service": "sns.amazonaws.com"},
                        "Action": "sqs:SendMessage",
                        "Resource": arn,
                        "Condition": {"ArnEquals": {"aws:SourceArn": "arn:aws:sns:us-east-1:123456789012:order-events"}},
                    },
                ],
            })),
        }
    }
}
