//! Blob storage for uploaded files (inventory feeds first): S3 when deployed, a folder on disk
//! on one machine.
//!
//! The inventory import is the reason this exists: a route stores the uploaded file (or hands
//! the browser a presigned URL to upload it to), records the bucket and key on the import row,
//! and enqueues a job; the job worker downloads the file and streams it into the database.
//!
//! # Memory
//!
//! A feed can be a gigabyte and a Lambda has little memory, so [`BlobStore::download_to_file`]
//! never holds an object in memory: it writes the S3 body to the file chunk by chunk as it
//! arrives (through a small write buffer), and the worker then reads the file as a stream.
//! Lambda's `/tmp` (ephemeral storage, up to 10 GB) is where such files go.
//!
//! # Keys
//!
//! Keys are relative paths made of `/`-separated segments (`d/1/imports/42.tsv`). The same rules
//! hold for both stores, so a key that works on one machine works deployed and the other way
//! round: not empty, at most 1024 bytes (S3's limit), no leading `/`, no empty, `.` or `..`
//! segment, no `\` and no control character. On the local store this is what keeps a key from
//! ever naming a file outside its folder (symbolic links placed inside the folder by hand are
//! followed; the folder is ours, nothing else writes there). Use [`check_key`] to refuse a bad
//! key early, before an upload is accepted.
//!
//! # Path-style addressing
//!
//! S3 has two URL styles: virtual-hosted (`https://bucket.s3.region.amazonaws.com/key`) and
//! path-style (`https://s3.region.amazonaws.com/bucket/key`). AWS recommends the first and
//! treats the second as legacy, but S3-compatible servers on a single host (moto, MinIO) need
//! path style, because `bucket.127.0.0.1` does not resolve. So [`BlobStore::s3`] forces path
//! style only when an endpoint URL override is configured (`AWS_ENDPOINT_URL`,
//! `AWS_ENDPOINT_URL_S3`, or an `endpoint_url` on the [`aws_config::SdkConfig`]); against real
//! S3 the SDK's default, virtual-hosted style, is kept.
//!
//! # Presigned uploads
//!
//! [`BlobStore::presign_put`] lets a browser upload straight to S3, so a large file never
//! passes through API Gateway (whose payload limit is 10 MB) or a Lambda. The local store has
//! no HTTP endpoint to upload to, and a `file://` URL is of no use to a browser, so there it
//! returns a [`CloudError::Blob`] saying presigned uploads need S3. Callers check
//! [`BlobStore::bucket`] first and, without a bucket, take the file in the request body and
//! [`put`](BlobStore::put) it.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use tokio::io::{AsyncWriteExt, BufWriter};

use crate::{CloudError, describe_sdk_error};

/// The longest key S3 accepts, in bytes.
pub const MAX_KEY_BYTES: usize = 1024;

/// Bytes gathered before each write to the file while downloading: S3 body chunks are small,
/// and every write of a tokio file is a round trip to a blocking thread.
const WRITE_BUFFER: usize = 256 * 1024;

/// What a client needs to upload one object without credentials: send `method` to `url` with
/// exactly these `headers` (they are part of the signature) and the file as the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresignedUpload {
    pub url: String,
    pub method: String,
    pub headers: Vec<(String, String)>,
}

/// Where uploaded files are kept: an S3 bucket, or a folder on disk on one machine.
#[derive(Debug, Clone)]
pub enum BlobStore {
    S3 { client: aws_sdk_s3::Client, bucket: String },
    Local { dir: PathBuf },
}

impl BlobStore {
    /// The bucket `bucket`, through a client built from the shared configuration (path-style
    /// addressing when an endpoint override is set; see the module docs).
    pub fn s3(config: &aws_config::SdkConfig, bucket: String) -> Self {
        let mut s3_config = aws_sdk_s3::config::Builder::from(config);
        if has_endpoint_override(config) {
            s3_config = s3_config.force_path_style(true);
        }
        BlobStore::S3 {
            client: aws_sdk_s3::Client::from_conf(s3_config.build()),
            bucket,
        }
    }

    /// The folder `dir`, created on the first [`put`](Self::put) when it does not exist.
    pub fn local(dir: impl Into<PathBuf>) -> Self {
        BlobStore::Local { dir: dir.into() }
    }

    /// S3 when both the AWS configuration and a bucket are given, else the folder `local_dir`.
    pub fn from_config(aws: Option<&aws_config::SdkConfig>, bucket: Option<String>, local_dir: PathBuf) -> Self {
        match (aws, bucket) {
            (Some(aws), Some(bucket)) => BlobStore::s3(aws, bucket),
            _ => BlobStore::local(local_dir),
        }
    }

    /// The bucket, for recording where an object lives; `None` for the local store.
    pub fn bucket(&self) -> Option<&str> {
        match self {
            BlobStore::S3 { bucket, .. } => Some(bucket),
            BlobStore::Local { .. } => None,
        }
    }

    /// Stores `body` under `key`, replacing any object already there.
    pub async fn put(&self, key: &str, body: Vec<u8>, content_type: &str) -> Result<(), CloudError> {
        check_key(key)?;
        match self {
            BlobStore::S3 { client, bucket } => {
                client
                    .put_object()
                    .bucket(bucket)
                    .key(key)
                    .content_type(content_type)
                    .body(ByteStream::from(body))
                    .send()
                    .await
                    .map_err(|e| blob_error("s3 put", bucket, key, describe_sdk_error(&e)))?;
                Ok(())
            }
            BlobStore::Local { dir } => local_put(dir, key, &body).await,
        }
    }

    /// Writes the object `key` to the file `path` (created or truncated) as it arrives, and
    /// returns the number of bytes written. On failure the partly written file is removed.
    /// A missing object is [`CloudError::BlobNotFound`].
    pub async fn download_to_file(&self, key: &str, path: &Path) -> Result<u64, CloudError> {
        check_key(key)?;
        match self {
            BlobStore::S3 { client, bucket } => {
                let output = get_object(client, bucket, key).await?;
                let expected = output.content_length().and_then(|length| u64::try_from(length).ok());
                let file = tokio::fs::File::create(path)
                    .await
                    .map_err(|e| blob_error("s3 get", bucket, key, format!("creating {}: {e}", path.display())))?;
                let result = write_stream(output.body, file, path, expected).await;
                if result.is_err() {
                    // Best effort: a half-written file must not be mistaken for the object.
                    let _ = tokio::fs::remove_file(path).await;
                }
                result.map_err(|message| blob_error("s3 get", bucket, key, message))
            }
            BlobStore::Local { dir } => local_download(dir, key, path).await,
        }
    }

    /// The whole object `key` in memory, refused with [`CloudError::BlobTooLarge`] when it
    /// has more than `limit` bytes (checked before reading, and again while reading, so a
    /// wrong length header cannot make it read more).
    pub async fn read(&self, key: &str, limit: u64) -> Result<Vec<u8>, CloudError> {
        check_key(key)?;
        let too_large = |location: &str, size: u64| CloudError::BlobTooLarge {
            location: location.to_owned(),
            key: key.to_owned(),
            size,
            limit,
        };
        match self {
            BlobStore::S3 { client, bucket } => {
                let output = get_object(client, bucket, key).await?;
                let size = output.content_length().and_then(|length| u64::try_from(length).ok());
                if let Some(size) = size.filter(|size| *size > limit) {
                    return Err(too_large(bucket, size));
                }
                let mut body = output.body;
                let mut bytes = Vec::with_capacity(size.unwrap_or(0) as usize);
                while let Some(chunk) = body.try_next().await.map_err(|e| {
                    blob_error(
                        "s3 get",
                        bucket,
                        key,
                        format!("reading the body after {} bytes: {}", bytes.len(), error_chain(&e)),
                    )
                })? {
                    bytes.extend_from_slice(&chunk);
                    if bytes.len() as u64 > limit {
                        return Err(too_large(bucket, bytes.len() as u64));
                    }
                }
                Ok(bytes)
            }
            BlobStore::Local { dir } => {
                let location = dir.display().to_string();
                match tokio::fs::metadata(dir.join(key)).await {
                    Ok(metadata) if metadata.is_file() && metadata.len() > limit => {
                        Err(too_large(&location, metadata.len()))
                    }
                    Ok(metadata) if metadata.is_file() => tokio::fs::read(dir.join(key))
                        .await
                        .map_err(|e| local_error("local get", dir, key, e.to_string())),
                    Ok(_) => Err(not_found("local get", &location, key)),
                    Err(e) if e.kind() == ErrorKind::NotFound => Err(not_found("local get", &location, key)),
                    Err(e) => Err(local_error("local get", dir, key, e.to_string())),
                }
            }
        }
    }

    /// The object's size in bytes, or `None` when there is no object under `key`.
    pub async fn size(&self, key: &str) -> Result<Option<u64>, CloudError> {
        check_key(key)?;
        match self {
            BlobStore::S3 { client, bucket } => match client.head_object().bucket(bucket).key(key).send().await {
                Ok(output) => {
                    let length = output.content_length().unwrap_or(0);
                    u64::try_from(length)
                        .map(Some)
                        .map_err(|_| blob_error("s3 head", bucket, key, format!("negative content length {length}")))
                }
                Err(e) if e.as_service_error().is_some_and(|e| e.is_not_found()) => Ok(None),
                Err(e) => Err(blob_error("s3 head", bucket, key, describe_sdk_error(&e))),
            },
            BlobStore::Local { dir } => {
                let path = dir.join(key);
                match tokio::fs::metadata(&path).await {
                    Ok(metadata) if metadata.is_file() => Ok(Some(metadata.len())),
                    Ok(_) => Ok(None),
                    Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
                    Err(e) => Err(local_error("local head", dir, key, e.to_string())),
                }
            }
        }
    }

    /// A URL a client can upload the object `key` to, without credentials, for `expires_in`
    /// (at most a week). The upload must send `Content-Type: content_type`. S3 only: the local
    /// store answers with an error (see the module docs).
    pub async fn presign_put(
        &self,
        key: &str,
        content_type: &str,
        expires_in: Duration,
    ) -> Result<PresignedUpload, CloudError> {
        check_key(key)?;
        match self {
            BlobStore::S3 { client, bucket } => {
                let presigning = PresigningConfig::expires_in(expires_in)
                    .map_err(|e| blob_error("s3 presign put", bucket, key, e.to_string()))?;
                let request = client
                    .put_object()
                    .bucket(bucket)
                    .key(key)
                    .content_type(content_type)
                    .presigned(presigning)
                    .await
                    .map_err(|e| blob_error("s3 presign put", bucket, key, describe_sdk_error(&e)))?;
                let mut headers: Vec<(String, String)> = request
                    .headers()
                    .map(|(name, value)| (name.to_owned(), value.to_owned()))
                    .collect();
                if !headers
                    .iter()
                    .any(|(name, _)| name.eq_ignore_ascii_case("content-type"))
                {
                    headers.push(("content-type".to_owned(), content_type.to_owned()));
                }
                Ok(PresignedUpload {
                    url: request.uri().to_owned(),
                    method: request.method().to_owned(),
                    headers,
                })
            }
            BlobStore::Local { dir } => Err(local_error(
                "local presign put",
                dir,
                key,
                "presigned uploads need S3 and no bucket is configured; send the file in the request \
                 and store it with BlobStore::put"
                    .to_owned(),
            )),
        }
    }
}

/// The object's response, its body not yet read; a missing object is
/// [`CloudError::BlobNotFound`].
async fn get_object(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
) -> Result<aws_sdk_s3::operation::get_object::GetObjectOutput, CloudError> {
    client.get_object().bucket(bucket).key(key).send().await.map_err(|e| {
        if e.as_service_error().is_some_and(|e| e.is_no_such_key()) {
            not_found("s3 get", bucket, key)
        } else {
            blob_error("s3 get", bucket, key, describe_sdk_error(&e))
        }
    })
}

/// Refuses a key that is not a plain relative path (see the module docs for the rules).
pub fn check_key(key: &str) -> Result<(), CloudError> {
    let refuse = |reason| {
        Err(CloudError::InvalidBlobKey {
            key: key.to_owned(),
            reason,
        })
    };
    if key.is_empty() {
        return refuse("the key is empty");
    }
    if key.len() > MAX_KEY_BYTES {
        return refuse("the key is longer than 1024 bytes");
    }
    if key.starts_with('/') {
        return refuse("the key starts with '/'");
    }
    if key.contains('\\') {
        return refuse("the key contains '\\'");
    }
    if key.chars().any(char::is_control) {
        return refuse("the key contains a control character");
    }
    for segment in key.split('/') {
        match segment {
            "" => return refuse("the key has an empty segment ('//' or a trailing '/')"),
            "." | ".." => return refuse("the key has a '.' or '..' segment"),
            _ => {}
        }
    }
    Ok(())
}

/// Whether the configuration sends S3 requests somewhere other than AWS's own endpoints.
fn has_endpoint_override(config: &aws_config::SdkConfig) -> bool {
    config.endpoint_url().is_some() || std::env::var_os("AWS_ENDPOINT_URL_S3").is_some_and(|url| !url.is_empty())
}

/// Writes `body` to `file` (at `path`) chunk by chunk as it arrives; the error names what
/// failed, and a body shorter than its `Content-Length` is an error.
async fn write_stream(
    mut body: ByteStream,
    file: tokio::fs::File,
    path: &Path,
    expected: Option<u64>,
) -> Result<u64, String> {
    let mut file = BufWriter::with_capacity(WRITE_BUFFER, file);
    let mut written: u64 = 0;
    while let Some(chunk) = body
        .try_next()
        .await
        .map_err(|e| format!("reading the body after {written} bytes: {}", error_chain(&e)))?
    {
        file.write_all(&chunk)
            .await
            .map_err(|e| format!("writing {}: {e}", path.display()))?;
        written += chunk.len() as u64;
    }
    file.flush()
        .await
        .map_err(|e| format!("writing {}: {e}", path.display()))?;
    match expected {
        Some(expected) if expected != written => Err(format!(
            "the body ended after {written} of {expected} bytes (Content-Length)"
        )),
        _ => Ok(written),
    }
}

/// Writes to a hidden file beside the target and renames it into place, so a reader never sees
/// half an object and a failed write leaves the previous object as it was.
async fn local_put(dir: &Path, key: &str, body: &[u8]) -> Result<(), CloudError> {
    static PARTIAL: AtomicU64 = AtomicU64::new(0);
    let fail = |message: String| local_error("local put", dir, key, message);
    let path = dir.join(key);
    let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
        return Err(fail("the key names no file".to_owned()));
    };
    tokio::fs::create_dir_all(parent)
        .await
        .map_err(|e| fail(format!("creating {}: {e}", parent.display())))?;
    let partial = parent.join(format!(
        ".{}.partial-{}-{}",
        name.to_string_lossy(),
        std::process::id(),
        PARTIAL.fetch_add(1, Ordering::Relaxed)
    ));
    let written = async {
        tokio::fs::write(&partial, body)
            .await
            .map_err(|e| format!("writing {}: {e}", partial.display()))?;
        tokio::fs::rename(&partial, &path)
            .await
            .map_err(|e| format!("renaming {} to {}: {e}", partial.display(), path.display()))
    }
    .await;
    if written.is_err() {
        let _ = tokio::fs::remove_file(&partial).await;
    }
    written.map_err(fail)
}

async fn local_download(dir: &Path, key: &str, path: &Path) -> Result<u64, CloudError> {
    let source = dir.join(key);
    match tokio::fs::metadata(&source).await {
        Ok(metadata) if metadata.is_file() => {}
        Ok(_) => return Err(not_found("local get", &dir.display().to_string(), key)),
        Err(e) if e.kind() == ErrorKind::NotFound => {
            return Err(not_found("local get", &dir.display().to_string(), key));
        }
        Err(e) => return Err(local_error("local get", dir, key, e.to_string())),
    }
    tokio::fs::copy(&source, path)
        .await
        .map_err(|e| local_error("local get", dir, key, format!("copying to {}: {e}", path.display())))
}

fn blob_error(operation: &'static str, location: &str, key: &str, message: String) -> CloudError {
    CloudError::Blob {
        operation,
        location: location.to_owned(),
        key: key.to_owned(),
        message,
    }
}

fn local_error(operation: &'static str, dir: &Path, key: &str, message: String) -> CloudError {
    blob_error(operation, &dir.display().to_string(), key, message)
}

fn not_found(operation: &'static str, location: &str, key: &str) -> CloudError {
    CloudError::BlobNotFound {
        operation,
        location: location.to_owned(),
        key: key.to_owned(),
    }
}

/// An error and its sources, `: `-separated (the body error alone says only "streaming error").
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_relative_keys_are_accepted() {
        for key in [
            "x.tsv",
            "d/1/imports/42.tsv",
            "d/1/feed..2024.csv",
            ".hidden",
            "a b/ü.csv",
        ] {
            assert!(check_key(key).is_ok(), "{key:?}");
        }
        assert!(check_key(&"k".repeat(MAX_KEY_BYTES)).is_ok());
    }

    #[test]
    fn keys_that_could_escape_or_confuse_are_refused_with_a_reason() {
        let cases = [
            ("", "the key is empty"),
            ("/etc/passwd", "the key starts with '/'"),
            ("..", "the key has a '.' or '..' segment"),
            ("../x", "the key has a '.' or '..' segment"),
            ("d/1/../../x", "the key has a '.' or '..' segment"),
            ("d/./x", "the key has a '.' or '..' segment"),
            ("d//x", "the key has an empty segment ('//' or a trailing '/')"),
            ("d/1/", "the key has an empty segment ('//' or a trailing '/')"),
            ("d\\..\\x", "the key contains '\\'"),
            ("d/x\0", "the key contains a control character"),
        ];
        for (key, expected) in cases {
            match check_key(key) {
                Err(CloudError::InvalidBlobKey { reason, .. }) => assert_eq!(reason, expected, "{key:?}"),
                other => panic!("{key:?}: {other:?}"),
            }
        }
        assert!(check_key(&"k".repeat(MAX_KEY_BYTES + 1)).is_err());
    }

    #[test]
    fn errors_name_the_operation_bucket_and_key() {
        assert_eq!(
            not_found("s3 get", "rylie-imports", "d/1/x.tsv").to_string(),
            "s3 get rylie-imports/d/1/x.tsv: NoSuchKey"
        );
        assert_eq!(
            blob_error("s3 put", "rylie-imports", "d/1/x.tsv", "NoSuchBucket: gone".to_owned()).to_string(),
            "s3 put rylie-imports/d/1/x.tsv: NoSuchBucket: gone"
        );
    }
}
