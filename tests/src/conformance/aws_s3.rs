//! S3 conformance cases.

use async_trait::async_trait;
use rdfi_proto::v1::ResourceRef;
use rdfi_provider::aws::bucket_ref;
use serde_json::{Value, json};

use super::AwsCase;
use crate::aws::{Clients, REGION};

pub fn cases() -> Vec<Box<dyn AwsCase>> {
    vec![Box::new(BucketPublicAcl)]
}

/// A tagged bucket with the harness's non-trivial ACL.
pub async fn prepare_bucket(aws: &Clients, name: &str) -> ResourceRef {
    aws.create_bucket(name, &[("rdfi-target", "true"), ("team", "conformance")])
        .await;
    bucket_ref(
        "aws",
        name,
        REGION,
        [("rdfi-target".to_owned(), "true".to_owned())].into(),
    )
}

struct BucketPublicAcl;

#[async_trait]
impl AwsCase for BucketPublicAcl {
    fn fault_id(&self) -> &'static str {
        "aws.s3.bucket-public-acl"
    }

    async fn prepare(&self, aws: &Clients, name: &str) -> ResourceRef {
        prepare_bucket(aws, name).await
    }

    async fn read(&self, aws: &Clients, resource: &ResourceRef) -> Value {
        json!(aws.acl_lines(&resource.name).await)
    }

    fn misconfigured(&self, read: &Value) -> bool {
        read.as_array().is_some_and(|lines| {
            lines.iter().any(|line| {
                line.as_str()
                    .is_some_and(|line| line.contains("/global/AllUsers") && line.ends_with("READ"))
            })
        })
    }
}
