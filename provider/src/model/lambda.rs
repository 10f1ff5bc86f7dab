//! Lambda: function policies that let anyone invoke the function.

use serde_json::{Value, json};

use super::register_faults;
use super::resource_policy::{PolicyOpenedToEveryone, PublicGrant, ResourcePolicy};

register_faults![FunctionPublicInvoke];

/// `aws.lambda.function-public-invoke`: anyone may invoke the function.
pub type FunctionPublicInvoke = PolicyOpenedToEveryone<PublicInvoke>;

/// Everyone allowed lambda:InvokeFunction, through a permission (AddPermission) whose statement id the fault
/// owns.
pub struct PublicInvoke;

impl PublicGrant for PublicInvoke {
    const ID: &'static str = "aws.lambda.function-public-invoke";
    const PRESENT: &'static str = "the function policy lets anyone (*) invoke the function";
    const ASPECT: &'static str = "lambda.function-policy";
    const SID: &'static str = "rdfi-fault-public-invoke";
    const ACTIONS: &'static [&'static str] = &["lambda:InvokeFunction"];
    const OPERATION: &'static str = "AddPermission";
    type State = ResourcePolicy;

    fn statement_resource(policy: &ResourcePolicy) -> Option<Value> {
        Some(json!(policy.arn))
    }

    /// A function invoked by an S3 bucket's notifications and an API Gateway API of the account, each
    /// conditioned on its source, as AddPermission writes them.
    fn example() -> ResourcePolicy {
        let arn = "arn:aws:lambda:us-east-1:123456789012:function:resize-images";
        ResourcePolicy {
            arn: arn.to_owned(),
            document: Some(json!({
                "Version": "2012-10-17",
                "Id": "default",
                "Statement": [
                    {
                        "Sid": "uploads-bucket",
                        "Effect": "Allow",
                        "Principal": {"Service": "s3.amazonaws.com"},
                        "Action": "lambda:InvokeFunction",
                        "Resource": arn,
                        "Condition": {
                            "StringEquals": {"AWS:SourceAccount": "123456789012"},
                            "ArnLike": {"AWS:SourceArn": "arn:aws:s3:::uploads"},
                        },
                    },
                    {
                        "Sid": "images-api",
                        "Effect": "Allow",
                        "Principal": {"Service": "apigateway.amazonaws.com"},
                        "Action": "lambda:InvokeFunction",
                        "Resource": arn,
                        "Condition": {"ArnLike": {"AWS:SourceArn": "arn:aws:execute-api:us-east-1:123456789012:a1b2c3/*/POST/resize"}},
                    },
                ],
            })),
        }
    }
}
