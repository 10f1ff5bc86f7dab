//! Secrets Manager: secret resource policies opened to everyone.

use serde_json::{Value, json};

use super::register_faults;
use super::resource_policy::{PolicyOpenedToEveryone, PublicGrant, ResourcePolicy};

register_faults![SecretPolicyPublic];

/// `aws.secretsmanager.secret-policy-public`: anyone may read the secret's value.
///
/// AWS accepts such a policy: PutResourcePolicy blocks public policies only when asked to
/// (`BlockPublicPolicy: true`, which the console sets and the API does not), so the fault's write omits it, as a
/// person calling the API or a template without it does.
pub type SecretPolicyPublic = PolicyOpenedToEveryone<PublicGetSecretValue>;

/// Everyone allowed secretsmanager:GetSecretValue: the secret itself.
pub struct PublicGetSecretValue;

impl PublicGrant for PublicGetSecretValue {
    const ID: &'static str = "aws.secretsmanager.secret-policy-public";
    const PRESENT: &'static str = "the secret's resource policy lets anyone (*) read its value";
    const ASPECT: &'static str = "secretsmanager.secret-policy";
    const SID: &'static str = "RdfiFaultPublicGetSecretValue";
    const ACTIONS: &'static [&'static str] = &["secretsmanager:GetSecretValue"];
    const OPERATION: &'static str = "PutResourcePolicy";
    type State = ResourcePolicy;

    /// In a secret's policy, `"Resource": "*"` is the secret itself.
    fn statement_resource(_policy: &ResourcePolicy) -> Option<Value> {
        Some(json!("*"))
    }

    /// A database credential: the application role reads it, the rotation function rotates it, and the
    /// disaster recovery account's restore role reads it.
    fn example() -> ResourcePolicy {
        ResourcePolicy {
            arn: "arn:aws:secretsmanager:us-east-1:123456789012:secret:orders-db-AbCdEf".to_owned(),
            document: Some(json!({
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "ApplicationReads",
                        "Effect": "Allow",
                        "Principal": {"AWS": "arn:aws:iam::123456789012:role/order-service"},
                        "Action": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
                        "Resource": "*",
                    },
                    {
                        "Sid": "RotationRotates",
                        "Effect": "Allow",
                        "Principal": {"AWS": "arn:aws:iam::123456789012:role/secret-rotation"},
                        "Action": [
                            "secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue",
                            "secretsmanager:UpdateSecretVersionStage", "secretsmanager:DescribeSecret",
                        ],
                        "Resource": "*",
                    },
                    {
                        "Sid": "DisasterRecoveryReads",
                        "Effect": "Allow",
                        "Principal": {"AWS": "arn:aws:iam::210987654321:role/dr-restore"},
                        "Action": "secretsmanager:GetSecretValue",
                        "Resource": "*",
                    },
                ],
            })),
        }
    }
}
