//! The blob store: S3 against moto server (one bucket per test), and the local folder.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rylie_cloud::{BlobStore, CloudError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A folder removed when the test ends.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(rylie_testkit::unique_name("rylie-blob-test"));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `len` bytes that are not a repeating pattern, so a chunk written twice or out of order shows.
fn body(len: usize) -> Vec<u8> {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state.to_le_bytes()[0]
        })
        .collect()
}

/// An S3 store on a new bucket in moto.
async fn s3_store() -> (BlobStore, String) {
    let config = rylie_testkit::moto_config().await;
    let bucket = rylie_testkit::unique_name("rylie-imports");
    let store = BlobStore::s3(&config, bucket.clone());
    let BlobStore::S3 { client, .. } = &store else {
        panic!("BlobStore::s3 built {store:?}");
    };
    client
        .create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .unwrap_or_else(|e| panic!("creating bucket {bucket}: {e:?}"));
    (store, bucket)
}

/// Sends a plain HTTP/1.1 request (no SDK, no signing) and returns the status code: what a
/// browser does with a presigned URL.
async fn http_request(method: &str, url: &str, headers: &[(String, String)], body: &[u8]) -> u16 {
    let rest = url.strip_prefix("http://").expect("moto serves plain http");
    let (host, path) = rest.split_at(rest.find('/').expect("the URL has a path"));
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));

    let mut stream = tokio::net::TcpStream::connect(host).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let response = String::from_utf8_lossy(&response);
    let status = response
        .split(' ')
        .nth(1)
        .unwrap_or_else(|| panic!("no status line: {response}"));
    status.parse().unwrap_or_else(|_| panic!("bad status line: {response}"))
}

#[tokio::test]
async fn s3_put_then_download_to_file_gives_identical_bytes() {
    let (store, bucket) = s3_store().await;
    assert_eq!(store.bucket(), Some(bucket.as_str()));
    let content = body(5 * 1024 * 1024 + 17);
    store
        .put("d/1/imports/feed.tsv", content.clone(), "text/tab-separated-values")
        .await
        .unwrap();

    let dir = TempDir::new();
    let file = dir.path().join("feed.tsv");
    let written = store.download_to_file("d/1/imports/feed.tsv", &file).await.unwrap();
    assert_eq!(written, content.len() as u64);
    assert!(
        std::fs::read(&file).unwrap() == content,
        "the downloaded bytes differ from the stored ones"
    );
}

#[tokio::test]
async fn s3_put_replaces_the_object_and_a_download_truncates_the_file() {
    let (store, _) = s3_store().await;
    store.put("d/1/x.tsv", body(4096), "text/plain").await.unwrap();
    store.put("d/1/x.tsv", b"short".to_vec(), "text/plain").await.unwrap();

    let dir = TempDir::new();
    let file = dir.path().join("x.tsv");
    std::fs::write(&file, body(10_000)).unwrap();
    assert_eq!(store.download_to_file("d/1/x.tsv", &file).await.unwrap(), 5);
    assert_eq!(std::fs::read(&file).unwrap(), b"short");
}

#[tokio::test]
async fn s3_size_is_the_object_length_and_none_for_a_missing_key() {
    let (store, _) = s3_store().await;
    store.put("d/1/x.tsv", body(1234), "text/plain").await.unwrap();
    assert_eq!(store.size("d/1/x.tsv").await.unwrap(), Some(1234));
    assert_eq!(store.size("d/1/missing.tsv").await.unwrap(), None);
}

#[tokio::test]
async fn s3_download_of_a_missing_key_is_not_found_and_leaves_no_file() {
    let (store, bucket) = s3_store().await;
    let dir = TempDir::new();
    let file = dir.path().join("x.tsv");
    let error = store.download_to_file("d/1/x.tsv", &file).await.unwrap_err();
    assert!(matches!(error, CloudError::BlobNotFound { .. }), "{error:?}");
    assert_eq!(error.to_string(), format!("s3 get {bucket}/d/1/x.tsv: NoSuchKey"));
    assert!(!file.exists());
}

#[tokio::test]
async fn s3_errors_name_the_operation_bucket_key_and_service_error() {
    let config = rylie_testkit::moto_config().await;
    let bucket = rylie_testkit::unique_name("no-such-bucket");
    let store = BlobStore::s3(&config, bucket.clone());
    let error = store.put("d/1/x.tsv", b"x".to_vec(), "text/plain").await.unwrap_err();
    let message = error.to_string();
    assert!(
        message.starts_with(&format!("s3 put {bucket}/d/1/x.tsv: NoSuchBucket")),
        "{message}"
    );
}

#[tokio::test]
async fn s3_presigned_put_carries_key_signature_and_expiry_and_takes_a_plain_http_upload() {
    let (store, bucket) = s3_store().await;
    let upload = store
        .presign_put("d/1/imports/feed.csv", "text/csv", Duration::from_secs(900))
        .await
        .unwrap();
    assert_eq!(upload.method, "PUT");
    assert!(
        upload.url.contains(&format!("/{bucket}/d/1/imports/feed.csv?")),
        "path-style URL with the key: {}",
        upload.url
    );
    for part in [
        "X-Amz-Signature=",
        "X-Amz-Expires=900",
        "X-Amz-Credential=",
        "X-Amz-Date=",
    ] {
        assert!(upload.url.contains(part), "{part} in {}", upload.url);
    }
    assert!(
        upload
            .headers
            .iter()
            .any(|(name, value)| name.eq_ignore_ascii_case("content-type") && value == "text/csv"),
        "{:?}",
        upload.headers
    );

    let content = body(70_000);
    let status = http_request(&upload.method, &upload.url, &upload.headers, &content).await;
    assert_eq!(status, 200);
    assert_eq!(store.size("d/1/imports/feed.csv").await.unwrap(), Some(70_000));
}

#[tokio::test]
async fn s3_presign_longer_than_a_week_is_refused() {
    let (store, _) = s3_store().await;
    let error = store
        .presign_put("d/1/x.csv", "text/csv", Duration::from_secs(8 * 24 * 3600))
        .await
        .unwrap_err();
    assert!(error.to_string().contains("one week"), "{error}");
}

#[tokio::test]
async fn s3_refuses_an_escaping_key_before_any_request() {
    let (store, _) = s3_store().await;
    let error = store.put("../x", b"x".to_vec(), "text/plain").await.unwrap_err();
    assert!(matches!(error, CloudError::InvalidBlobKey { .. }), "{error:?}");
}

#[tokio::test]
async fn local_put_then_download_to_file_and_size() {
    let dir = TempDir::new();
    let store = BlobStore::local(dir.path().join("blobs"));
    assert_eq!(store.bucket(), None);
    let content = body(3 * 1024 * 1024 + 5);
    store
        .put("d/1/imports/feed.tsv", content.clone(), "text/plain")
        .await
        .unwrap();
    assert_eq!(
        store.size("d/1/imports/feed.tsv").await.unwrap(),
        Some(content.len() as u64)
    );

    let file = dir.path().join("downloaded.tsv");
    let written = store.download_to_file("d/1/imports/feed.tsv", &file).await.unwrap();
    assert_eq!(written, content.len() as u64);
    assert!(
        std::fs::read(&file).unwrap() == content,
        "the downloaded bytes differ from the stored ones"
    );

    store
        .put("d/1/imports/feed.tsv", b"v2".to_vec(), "text/plain")
        .await
        .unwrap();
    assert_eq!(store.size("d/1/imports/feed.tsv").await.unwrap(), Some(2));
    let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("blobs/d/1/imports"))
        .unwrap()
        .collect();
    assert_eq!(leftovers.len(), 1, "no partial files are left beside the object");
}

#[tokio::test]
async fn local_missing_key_has_no_size_and_is_not_found_on_download() {
    let dir = TempDir::new();
    let store = BlobStore::local(dir.path());
    store.put("d/1/x.tsv", b"x".to_vec(), "text/plain").await.unwrap();
    assert_eq!(store.size("d/1/missing.tsv").await.unwrap(), None);
    assert_eq!(store.size("d/1").await.unwrap(), None, "a folder is not an object");

    let error = store
        .download_to_file("d/1/missing.tsv", &dir.path().join("out"))
        .await
        .unwrap_err();
    assert!(matches!(error, CloudError::BlobNotFound { .. }), "{error:?}");
    assert_eq!(
        error.to_string(),
        format!("local get {}/d/1/missing.tsv: NoSuchKey", dir.path().display())
    );
}

#[tokio::test]
async fn local_keys_cannot_escape_the_folder() {
    let outer = TempDir::new();
    let store = BlobStore::local(outer.path().join("blobs"));
    std::fs::write(outer.path().join("secret"), "outside").unwrap();

    for key in [
        "../escaped",
        "d/../../escaped",
        "/tmp/escaped",
        "d//x",
        "./x",
        "d\\..\\..\\escaped",
        "",
    ] {
        let refused = store.put(key, b"x".to_vec(), "text/plain").await.unwrap_err();
        assert!(
            matches!(refused, CloudError::InvalidBlobKey { .. }),
            "{key:?}: {refused:?}"
        );
    }
    assert!(!outer.path().join("escaped").exists());
    assert!(matches!(
        store.size("../secret").await,
        Err(CloudError::InvalidBlobKey { .. })
    ));
    assert!(matches!(
        store.download_to_file("../secret", &outer.path().join("copy")).await,
        Err(CloudError::InvalidBlobKey { .. })
    ));
    assert!(!outer.path().join("copy").exists());
}

#[tokio::test]
async fn local_presign_is_refused_saying_presigned_uploads_need_s3() {
    let dir = TempDir::new();
    let store = BlobStore::local(dir.path());
    let error = store
        .presign_put("d/1/x.csv", "text/csv", Duration::from_secs(60))
        .await
        .unwrap_err();
    assert!(error.to_string().contains("presigned uploads need S3"), "{error}");
}

#[tokio::test]
async fn from_config_uses_s3_only_with_both_a_config_and_a_bucket() {
    let config = rylie_testkit::moto_config().await;
    let dir = TempDir::new();
    let s3 = BlobStore::from_config(Some(&config), Some("rylie-imports".to_owned()), dir.path().to_owned());
    assert_eq!(s3.bucket(), Some("rylie-imports"));
    let local = BlobStore::from_config(Some(&config), None, dir.path().to_owned());
    assert!(matches!(local, BlobStore::Local { .. }));
    let local = BlobStore::from_config(None, Some("rylie-imports".to_owned()), dir.path().to_owned());
    assert!(matches!(local, BlobStore::Local { .. }));
}
