//! Lambda conformance case: a tagged function whose policy has two conditioned service permissions, read
//! straight through the SDK. moto creates functions without running them (invoking would need Docker).

use async_trait::async_trait;
use aws_sdk_lambda::error::ProvideErrorMetadata;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{FunctionCode, Runtime};
use rdfi_proto::v1::ResourceRef;
use serde_json::{Value, json};

use super::AwsCase;
use super::resource_policy::{keeps_partner, lets_everyone, sorted_policy};
use crate::aws::{Clients, REGION};

pub fn cases() -> Vec<Box<dyn AwsCase>> {
    vec![Box::new(FunctionPublicInvoke)]
}

/// An empty zip archive (its end-of-central-directory record alone): moto stores the code without unpacking
/// it, and the case never invokes the function.
const EMPTY_ZIP: [u8; 22] = [
    0x50, 0x4b, 0x05, 0x06, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
];

/// The function's policy, as GetPolicy answers it (`null` for none).
async fn function_policy(aws: &Clients, name: &str) -> Value {
    match aws.lambda.get_policy().function_name(name).send().await {
        Ok(output) => sorted_policy(output.policy()),
        Err(error) if error.code() == Some("ResourceNotFoundException") => Value::Null,
        Err(error) => panic!("GetPolicy: {error:?}"),
    }
}

struct FunctionPublicInvoke;

#[async_trait]
impl AwsCase for FunctionPublicInvoke {
    fn fault_id(&self) -> &'static str {
        "aws.lambda.function-public-invoke"
    }

    /// A function tagged opted-in, with an execution role, that an S3 bucket of the account (conditioned on
    /// its account and ARN) and an API Gateway API (conditioned on its ARN) may invoke.
    async fn prepare(&self, aws: &Clients, name: &str) -> ResourceRef {
        let role = aws
            .iam
            .create_role()
            .role_name(format!("{name}-execution"))
            .assume_role_policy_document(
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#,
            )
            .send()
            .await
            .expect("CreateRole");
        let role_arn = role.role().expect("a role").arn().to_owned();
        let created = aws
            .lambda
            .create_function()
            .function_name(name)
            .runtime(Runtime::Python312)
            .handler("index.handler")
            .role(role_arn)
            .code(
                FunctionCode::builder()
                    .zip_file(Blob::new(EMPTY_ZIP.to_vec()))
                    .build(),
            )
            .tags("rdfi-target", "true")
            .tags("name", name)
            .send()
            .await
            .expect("CreateFunction");
        let arn = created.function_arn().expect("a function arn").to_owned();
        aws.lambda
            .add_permission()
            .function_name(name)
            .statement_id("uploads-bucket")
            .action("lambda:InvokeFunction")
            .principal("s3.amazonaws.com")
            .source_account("123456789012")
            .source_arn("arn:aws:s3:::uploads")
            .send()
            .await
            .expect("AddPermission uploads-bucket");
        aws.lambda
            .add_permission()
            .function_name(name)
            .statement_id("images-api")
            .action("lambda:InvokeFunction")
            .principal("apigateway.amazonaws.com")
            .source_arn("arn:aws:execute-api:us-east-1:123456789012:a1b2c3/*/POST/resize")
            .send()
            .await
            .expect("AddPermission images-api");
        ResourceRef {
            provider: "aws".to_owned(),
            resource_type: "aws.lambda.function".to_owned(),
            id: arn,
            name: name.to_owned(),
            region: REGION.to_owned(),
            tags: [("rdfi-target".to_owned(), "true".to_owned())].into(),
            exposure: String::new(),
        }
    }

    async fn read(&self, aws: &Clients, resource: &ResourceRef) -> Value {
        json!({"policy": function_policy(aws, &resource.name).await})
    }

    fn misconfigured(&self, read: &Value) -> bool {
        lets_everyone(&read["policy"], &["lambda:InvokeFunction"])
    }

    /// A partner account gets a permission of its own to invoke the function.
    async fn change_meanwhile(&self, aws: &Clients, resource: &ResourceRef) -> bool {
        aws.lambda
            .add_permission()
            .function_name(&resource.name)
            .statement_id("PartnerAddedMeanwhile")
            .action("lambda:InvokeFunction")
            .principal("arn:aws:iam::111122223333:root")
            .send()
            .await
            .expect("AddPermission PartnerAddedMeanwhile");
        true
    }

    fn kept(&self, read: &Value) -> bool {
        keeps_partner(&read["policy"])
    }
}
