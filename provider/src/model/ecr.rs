//! ECR: repository policies opened to everyone.

use serde_json::{Value, json};

use super::register_faults;
use super::resource_policy::{PolicyOpenedToEveryone, PublicGrant, ResourcePolicy};

register_faults![RepositoryPolicyPublic];

/// `aws.ecr.repository-policy-public`: anyone with an AWS account may pull the repository's images.
pub type RepositoryPolicyPublic = PolicyOpenedToEveryone<PublicPull>;

/// Everyone allowed the two calls a pull makes: ecr:BatchGetImage (the manifest) and
/// ecr:GetDownloadUrlForLayer (the layers). Pulling also needs ecr:GetAuthorizationToken, which is not a
/// repository permission: any AWS account's own identities have it.
pub struct PublicPull;

impl PublicGrant for PublicPull {
    const ID: &'static str = "aws.ecr.repository-policy-public";
    const PRESENT: &'static str = "the repository policy lets anyone (*) pull its images";
    const ASPECT: &'static str = "ecr.repository-policy";
    const SID: &'static str = "RdfiFaultPublicPull";
    const ACTIONS: &'static [&'static str] = &["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"];
    const OPERATION: &'static str = "SetRepositoryPolicy";
    type State = ResourcePolicy;

    /// Repository policies name no resource: the repository is implied.
    fn statement_resource(_policy: &ResourcePolicy) -> Option<Value> {
        None
    }

    /// A service image: CI pushes, the production account's deploy role and Lambda (for container images)
    /// pull.
    fn example() -> ResourcePolicy {
        ResourcePolicy {
            arn: "arn:aws:ecr:us-east-1:123456789012:repository/order-service".to_owned(),
            document: Some(json!({
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "CiPushes",
                        "Effect": "Allow",
                        "Principal": {"AWS": "arn:aws:iam::123456789012:role/ci"},
                        "Action": [
                            "ecr:BatchCheckLayerAvailability", "ecr:InitiateLayerUpload", "ecr:UploadLayerPart",
                            "ecr:CompleteLayerUpload", "ecr:PutImage",
                        ],
                    },
                    {
                        "Sid": "ProductionPulls",
                        "Effect": "Allow",
                        "Principal": {"AWS": "arn:aws:iam::210987654321:role/deploy"},
                        "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
                    },
                    {
                        "Sid": "LambdaPulls",
                        "Effect": "Allow",
                        "Principal": {"Service": "lambda.amazonaws.com"},
                        "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
                        "Condition": {"StringLike": {"aws:sourceArn": "arn:aws:lambda:us-east-1:123456789012:function:*"}},
                    },
                ],
            })),
        }
    }
}
