//! Inventory imports: `/v1/dealerships/{dealership_id}/inventory/imports[/{import_id}[/confirm]]`.
//!
//! Two ways to send a feed through the API:
//!
//! * the file as the request body (any content type but JSON), up to [`MAX_UPLOAD_BYTES`]:
//!   Lambda refuses request payloads over 6 MB, and a binary body arrives base64-encoded (4/3
//!   larger). `?file_name=` names it, `?full_feed=false` makes it a partial feed (nothing is
//!   deactivated).
//! * a JSON body `{"file_name": ..., "full_feed": ...}` asks for a pre-signed S3 upload URL for
//!   a larger file. The key it hands out lies under `inventory/incoming/`, where the bucket's
//!   notification turns the uploaded object into an import, exactly like a file a dealer's
//!   system drops there (see [`crate::inventory::drop`]).

use std::time::Duration;

use lambda_http::{Body, Request, RequestExt, Response, http::StatusCode};
use rylie_store::{
    StoreError, audit,
    inventory_imports::{self, NewImport, Source},
};

use crate::{
    http::{
        ApiError, Ctx, envelope,
        input::{self, Fields},
    },
    inventory::{
        drop::{clean_file_name, incoming_key},
        job,
    },
};

/// The largest feed accepted in a request body; larger ones go through a pre-signed upload.
pub const MAX_UPLOAD_BYTES: usize = 4 * 1024 * 1024;

/// How long a pre-signed upload URL stays valid.
const UPLOAD_URL_LIFETIME: Duration = Duration::from_secs(15 * 60);

fn job_error(error: job::JobError) -> ApiError {
    match error {
        job::JobError::Store(error) => error.into(),
        job::JobError::NoSuchImport(id) => ApiError::not_found(format!("no inventory import {id}")),
        other => {
            tracing::error!(error = %other, "inventory import could not start");
            ApiError::unavailable("the import could not be started; try again")
        }
    }
}

fn full_feed_param(raw: Option<&str>) -> Result<bool, ApiError> {
    match raw {
        None | Some("true") => Ok(true),
        Some("false") => Ok(false),
        Some(_) => Err(ApiError::validation(vec![envelope::FieldError {
            field: "full_feed".to_owned(),
            message: "must be true or false".to_owned(),
            code: "INVALID_VALUE",
        }])),
    }
}

/// The path's dealership, once the gate has passed it (it exists and is active): checked before
/// anything is stored or signed.
async fn open_dealership(ctx: &Ctx<'_>) -> Result<rylie_domain::DealershipId, ApiError> {
    let mut client = ctx.state.db.client().await?;
    ctx.tenant(&mut client)
        .await?
        .commit()
        .await
        .map_err(StoreError::query("checking the dealership"))?;
    ctx.dealership()
}

pub async fn create(ctx: Ctx<'_>, request: Request) -> Result<Response<Body>, ApiError> {
    let is_json = request
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json {
        upload_url(ctx, request).await
    } else {
        upload(ctx, request).await
    }
}

/// The file in the body: stored, recorded, started.
async fn upload(ctx: Ctx<'_>, request: Request) -> Result<Response<Body>, ApiError> {
    let query = request.query_string_parameters();
    let full_feed = full_feed_param(query.first("full_feed"))?;
    let file_name = clean_file_name(query.first("file_name"));
    let bytes: &[u8] = request.body().as_ref();
    if bytes.is_empty() {
        return Err(ApiError::bad_request(
            "the request body is empty: send the feed file as the body",
        ));
    }
    if bytes.len() > MAX_UPLOAD_BYTES {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "PAYLOAD_TOO_LARGE",
            format!(
                "the file has {} bytes; at most {MAX_UPLOAD_BYTES} can be sent in a request. For a larger file, \
                 POST {{\"file_name\": ...}} as JSON to get a pre-signed upload URL",
                bytes.len()
            ),
        ));
    }
    let dealership = open_dealership(&ctx).await?;
    let key = format!(
        "inventory/{}/{}/{file_name}",
        dealership.0,
        hex::encode(crate::auth::random_bytes::<8>())
    );
    ctx.state
        .files()
        .put(&key, bytes.to_vec(), "text/plain")
        .await
        .map_err(|error| {
            tracing::error!(%error, "storing an uploaded feed");
            ApiError::unavailable("the file could not be stored; try again")
        })?;
    let new = NewImport {
        source: Source::Upload,
        file_name: Some(file_name),
        s3_bucket: ctx.state.files().bucket().map(str::to_owned),
        s3_key: Some(key),
        content_hash: None,
        byte_size: Some(bytes.len() as i64),
        full_feed,
        requested_by: ctx.principal.as_ref().and_then(|p| p.user_id),
        inbound_email_id: None,
        source_ref: None,
    };
    let import = job::submit(ctx.state, dealership, &new).await.map_err(job_error)?;
    {
        let mut client = ctx.state.db.client().await?;
        let tx = ctx.tenant(&mut client).await?;
        audit::record(
            &tx,
            &ctx.audit(
                "inventory_import.create",
                "inventory_import",
                import.id,
                None,
                Some(&import),
            ),
        )
        .await?;
        tx.commit()
            .await
            .map_err(StoreError::query("auditing an inventory import"))?;
    }
    Ok(envelope::ok(&ctx.meta, StatusCode::ACCEPTED, &import))
}

/// `{file_name, full_feed}`: the JSON body that asks for a pre-signed upload.
#[derive(Debug)]
pub struct UploadRequest {
    file_name: Option<String>,
    full_feed: bool,
}

pub fn read_upload_request(fields: &mut Fields) -> UploadRequest {
    UploadRequest {
        file_name: fields.string("file_name", true, 1, 200),
        full_feed: fields.boolean("full_feed").unwrap_or(true),
    }
}

/// The answer to [`UploadRequest`]: where and how to PUT the file.
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct UploadUrl {
    pub upload: PresignedPut,
    /// The object key; the import appears once the object is written.
    pub key: String,
    pub full_feed: bool,
    pub next: &'static str,
}

#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct PresignedPut {
    pub url: String,
    pub method: String,
    /// Headers the PUT must carry, exactly.
    pub headers: std::collections::BTreeMap<String, String>,
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

/// A pre-signed upload for a file too large for a request body.
async fn upload_url(ctx: Ctx<'_>, request: Request) -> Result<Response<Body>, ApiError> {
    let UploadRequest { file_name, full_feed } = input::body(&request, read_upload_request)?;
    let dealership = open_dealership(&ctx).await?;
    let key = incoming_key(dealership, full_feed, &clean_file_name(file_name.as_deref()));
    let upload = ctx
        .state
        .files()
        .presign_put(&key, "text/plain", UPLOAD_URL_LIFETIME)
        .await
        .map_err(|error| match ctx.state.files().bucket() {
            None => ApiError::bad_request(
                "pre-signed uploads need S3, and this installation keeps files locally: send the file as the body",
            ),
            Some(_) => {
                tracing::error!(%error, "pre-signing an upload");
                ApiError::unavailable("no upload URL could be made; try again")
            }
        })?;
    Ok(envelope::ok(
        &ctx.meta,
        StatusCode::CREATED,
        &UploadUrl {
            upload: PresignedPut {
                url: upload.url,
                method: upload.method,
                headers: upload.headers.into_iter().collect(),
                expires_at: chrono::Utc::now() + UPLOAD_URL_LIFETIME,
            },
            key,
            full_feed,
            next: "PUT the file to the URL with these headers; the import then appears in GET .../inventory/imports",
        },
    ))
}

pub async fn list(ctx: Ctx<'_>, request: Request) -> Result<Response<Body>, ApiError> {
    let page = input::page(&request, inventory_imports::SORTABLE, "created_at")?;
    let dealership = ctx.dealership()?;
    let mut client = ctx.state.db.client().await?;
    let tx = ctx.tenant(&mut client).await?;
    let (rows, total) = inventory_imports::list(&tx, dealership, &page).await?;
    tx.commit()
        .await
        .map_err(StoreError::query("listing inventory imports"))?;
    Ok(envelope::ok_page(&ctx.meta, &rows, &page, total))
}

pub async fn get(ctx: Ctx<'_>, request: Request) -> Result<Response<Body>, ApiError> {
    let id = input::path_id(&request, "import_id")?;
    let dealership = ctx.dealership()?;
    let mut client = ctx.state.db.client().await?;
    let tx = ctx.tenant(&mut client).await?;
    let import = inventory_imports::get(&tx, dealership, id).await?;
    tx.commit()
        .await
        .map_err(StoreError::query("reading an inventory import"))?;
    let import = import.ok_or_else(|| ApiError::not_found(format!("no inventory import {id}")))?;
    Ok(envelope::ok(&ctx.meta, StatusCode::OK, &import))
}

/// Applies an import held as `needs_confirmation`.
pub async fn confirm(ctx: Ctx<'_>, request: Request) -> Result<Response<Body>, ApiError> {
    let id = input::path_id(&request, "import_id")?;
    let dealership = ctx.dealership()?;
    {
        let mut client = ctx.state.db.client().await?;
        let tx = ctx.tenant(&mut client).await?;
        let import = inventory_imports::get_for_update(&tx, dealership, id)
            .await?
            .ok_or_else(|| ApiError::not_found(format!("no inventory import {id}")))?;
        if import.status != "needs_confirmation" {
            return Err(ApiError::conflict(format!(
                "inventory import {id} is {}; only an import that needs confirmation can be confirmed",
                import.status
            )));
        }
        let user = ctx.principal.as_ref().and_then(|p| p.user_id);
        inventory_imports::confirm(&tx, dealership, id, user).await?;
        audit::record(
            &tx,
            &ctx.audit("inventory_import.confirm", "inventory_import", id, Some(&import), None),
        )
        .await?;
        tx.commit()
            .await
            .map_err(StoreError::query("confirming an inventory import"))?;
    }
    let import = job::start(ctx.state, dealership, id, "confirmed")
        .await
        .map_err(job_error)?;
    Ok(envelope::ok(&ctx.meta, StatusCode::ACCEPTED, &import))
}
