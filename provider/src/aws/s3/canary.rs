//! Exposure canaries in S3 buckets ([`crate::exposure`]): placed and removed with rdfi's credentials, read with
//! an S3 client that signs nothing, as an outsider's request.

use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;

use super::super::{AwsClients, errors, sdk_error};
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

/// Deletes the canary, then every version and delete marker of its key that a versioned bucket keeps after
/// the delete. DeleteObject succeeds for a key that is not there.
pub(crate) async fn remove(clients: &AwsClients, bucket: &str, key: &str) -> Result<()> {
    delete(clients, bucket, key, None).await?;
    for version in versions(clients, bucket, key).await? {
        delete(clients, bucket, key, Some(version)).await?;
    }
    Ok(())
}

/// Whether anything of the canary is left: the object, or a version or delete marker of its key.
pub(crate) async fn present(clients: &AwsClients, bucket: &str, key: &str) -> Result<bool> {
    Ok(!versions(clients, bucket, key).await?.is_empty())
}

async fn delete(
    clients: &AwsClients,
    bucket: &str,
    key: &str,
    version: Option<String>,
) -> Result<()> {
    clients
        .s3
        .delete_object()
        .bucket(bucket)
        .key(key)
        .set_version_id(version)
        .send()
        .await
        .map_err(|error| sdk_error("DeleteObject", bucket, error))?;
    Ok(())
}

/// The version ids of the key's versions and delete markers (`null` for the one object of a bucket that was
/// never versioned).
async fn versions(clients: &AwsClients, bucket: &str, key: &str) -> Result<Vec<String>> {
    let listing = clients
        .s3
        .list_object_versions()
        .bucket(bucket)
        .prefix(key)
        .send()
        .await
        .map_err(|error| sdk_error("ListObjectVersions", bucket, error))?;
    let versions = listing
        .versions()
        .iter()
        .filter(|version| version.key() == Some(key))
        .map(|version| version.version_id());
    let markers = listing
        .delete_markers()
        .iter()
        .filter(|marker| marker.key() == Some(key))
        .map(|marker| marker.version_id());
    Ok(versions
        .chain(markers)
        .map(|id| id.unwrap_or("null").to_owned())
        .collect())
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
                    Err(error) => AnonymousAnswer::Unreachable(errors::causes(&error)),
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
        None => AnonymousAnswer::Unreachable(errors::summary(&error)),
    }
}
