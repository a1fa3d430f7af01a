//! A dealership's staff: `/v1/dealerships/{dealership_id}/users[/{user_id}]`.
//!
//! Admins create users with an initial password (at least 12 characters; invitation mail
//! arrives with the email job). Roles below super_admin only; nobody changes their own role or
//! deactivates themselves, so a dealership cannot lock its last admin out by accident. A
//! deactivated user's refresh tokens stop working at once (refresh checks the account) and
//! its access token expires within 15 minutes.

use lambda_http::{Body, Request, Response, http::StatusCode};
use rylie_store::{
    StoreError, audit,
    users::{self, NewUser, UserChanges},
};

use crate::{
    auth::passwords,
    http::{
        ApiError, Ctx, envelope,
        input::{self, Fields},
    },
};

const ASSIGNABLE_ROLES: &[&str] = &["dealership_admin", "manager", "user"];

/// A new user as sent.
#[derive(Debug)]
pub struct NewUserInput {
    email: Option<String>,
    username: Option<String>,
    name: Option<String>,
    role: Option<String>,
    password: Option<String>,
}

pub fn read_new_user(fields: &mut Fields) -> NewUserInput {
    let email = fields.email("email", true);
    let username = fields.string("username", false, 3, 50);
    let name = fields.string("name", false, 1, 200);
    let role = fields.one_of("role", ASSIGNABLE_ROLES);
    let password = fields.string("password", true, 1, 256);
    if let Some(password) = &password
        && let Err(problem) = passwords::check_strength(password)
    {
        fields.error("password", "WEAK_PASSWORD", problem);
    }
    NewUserInput {
        email,
        username,
        name,
        role,
        password,
    }
}

/// The changes to a user as sent; absent fields stay as they are.
#[derive(Debug)]
pub struct UserUpdateInput {
    name: Option<String>,
    role: Option<String>,
    is_active: Option<bool>,
    available_for_handover: Option<bool>,
}

pub fn read_user_update(fields: &mut Fields) -> UserUpdateInput {
    UserUpdateInput {
        name: fields.string("name", false, 1, 200),
        role: fields.one_of("role", ASSIGNABLE_ROLES),
        is_active: fields.boolean("is_active"),
        available_for_handover: fields.boolean("available_for_handover"),
    }
}

fn not_found(id: i64) -> ApiError {
    ApiError::not_found(format!("no user {id}"))
}

pub async fn create(ctx: Ctx<'_>, request: Request) -> Result<Response<Body>, ApiError> {
    let input = input::body(&request, read_new_user)?;
    let hash = passwords::hash(&input.password.unwrap_or_default());
    let dealership = ctx.dealership()?;
    let mut client = ctx.state.db.client().await?;
    let tx = ctx.tenant(&mut client).await?;
    let new = NewUser {
        email: input.email.as_deref().unwrap_or_default(),
        username: input.username.as_deref(),
        name: input.name.as_deref(),
        role: input.role.as_deref().unwrap_or("user"),
        password_hash: &hash,
    };
    let user = users::create(&tx, dealership, &new).await?;
    audit::record(&tx, &ctx.audit("user.create", "user", user.id, None, Some(&user))).await?;
    tx.commit().await.map_err(StoreError::query("creating a user"))?;
    Ok(envelope::ok(&ctx.meta, StatusCode::CREATED, &user))
}

pub async fn list(ctx: Ctx<'_>, request: Request) -> Result<Response<Body>, ApiError> {
    let page = input::page(&request, users::SORTABLE, "email")?;
    let dealership = ctx.dealership()?;
    let mut client = ctx.state.db.client().await?;
    let tx = ctx.tenant(&mut client).await?;
    let (rows, total) = users::list(&tx, dealership, &page).await?;
    tx.commit().await.map_err(StoreError::query("listing users"))?;
    Ok(envelope::ok_page(&ctx.meta, &rows, &page, total))
}

pub async fn get(ctx: Ctx<'_>, request: Request) -> Result<Response<Body>, ApiError> {
    let id = input::path_id(&request, "user_id")?;
    let dealership = ctx.dealership()?;
    let mut client = ctx.state.db.client().await?;
    let tx = ctx.tenant(&mut client).await?;
    let user = users::get(&tx, dealership, id).await?.ok_or_else(|| not_found(id))?;
    tx.commit().await.map_err(StoreError::query("reading a user"))?;
    Ok(envelope::ok(&ctx.meta, StatusCode::OK, &user))
}

pub async fn update(ctx: Ctx<'_>, request: Request) -> Result<Response<Body>, ApiError> {
    let id = input::path_id(&request, "user_id")?;
    let UserUpdateInput {
        name,
        role,
        is_active,
        available_for_handover: available,
    } = input::body(&request, read_user_update)?;
    let myself = ctx.principal()?.user_id == Some(id);
    if myself && (role.is_some() || is_active == Some(false)) {
        return Err(ApiError::forbidden(
            "nobody changes their own role or deactivates themselves",
        ));
    }
    let dealership = ctx.dealership()?;
    let mut client = ctx.state.db.client().await?;
    let tx = ctx.tenant(&mut client).await?;
    let old = users::get(&tx, dealership, id).await?.ok_or_else(|| not_found(id))?;
    let changes = UserChanges {
        name: name.or(old.name.clone()),
        role: role.unwrap_or(old.role.clone()),
        is_active: is_active.unwrap_or(old.is_active),
        available_for_handover: available.unwrap_or(old.available_for_handover),
    };
    let new = users::update(&tx, dealership, id, &changes)
        .await?
        .ok_or_else(|| not_found(id))?;
    audit::record(&tx, &ctx.audit("user.update", "user", id, Some(&old), Some(&new))).await?;
    tx.commit().await.map_err(StoreError::query("updating a user"))?;
    Ok(envelope::ok(&ctx.meta, StatusCode::OK, &new))
}
