//! Exposure canaries in S3 buckets ([`crate::exposure`]): placed and removed with rdfi's credentials, read with
//! an S3 client that signs nothing, as an outsider's request.

use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;

use super::super::{AwsClients, sdk_error};
use crate::Result;
use crate::exposure::{AnonymousAnswer, Canary, OutsiderRead};

pub(crate) async fn place(clients: &AwsClients, bucket: &str, canary: &Canary) -> Result<()> {
    clients
        .s3
        .put_object()
        .bucket(bucket)
        .key(&canary.key)
        .content_type("text/plain")
        .body(ByteStream::from(canary.content.clone().into_bytes()))
        .send()
        .await
        .map_err(|error| sdk_error("PutObject", bucket, error))?;
    Ok(())
}

/// DeleteObject succeeds for a key that is not there.
pub(crate) async fn remove(clients: &AwsClients, bucket: &str, key: &str) -> Result<()> {
    clients
        .s3
        .delete_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(|error| sdk_error("DeleteObject", bucket, error))?;
    Ok(())
}

pub(crate) async fn present(clients: &AwsClients, bucket: &str, key: &str) -> Result<bool> {
    let listing = clients
        .s3
        .list_objects_v2()
        .bucket(bucket)
        .prefix(key)
        .send()
        .await
        .map_err(|error| sdk_error("ListObjectsV2", bucket, error))?;
    Ok(listing
        .contents()
        .iter()
        .any(|object| object.key() == Some(key)))
}

pub(crate) async fn read_anonymously(
    clients: &AwsClients,
    bucket: &str,
    read: OutsiderRead,
    key: &str,
) -> AnonymousAnswer {
    let anonymous = &clients.s3_anonymous;
    match read {
        OutsiderRead::GetObject => {
            match anonymous.get_object().bucket(bucket).key(key).send().await {
                Ok(object) => match object.body.collect().await {
                    Ok(content) => AnonymousAnswer::Object(content.into_bytes().to_vec()),
                    Err(error) => AnonymousAnswer::Unreachable(error.to_string()),
                },
                Err(error) => refusal(error),
            }
        }
        OutsiderRead::ListObjects => {
            match anonymous
                .list_objects_v2()
                .bucket(bucket)
                .prefix(key)
                .send()
                .await
            {
                Ok(listing) => AnonymousAnswer::Listing(
                    listing
                        .contents()
                        .iter()
                        .filter_map(|object| object.key().map(str::to_owned))
                        .collect(),
                ),
                Err(error) => refusal(error),
            }
        }
    }
}

/// An error answer as its status and code; no answer at all as unreachable.
fn refusal<E>(error: SdkError<E, aws_sdk_s3::config::http::HttpResponse>) -> AnonymousAnswer
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match error.raw_response() {
        Some(response) => AnonymousAnswer::Status {
            status: response.status().as_u16(),
            code: error.code().unwrap_or_default().to_owned(),
        },
        None => {
            AnonymousAnswer::Unreachable(aws_sdk_s3::error::DisplayErrorContext(&error).to_string())
        }
    }
}
