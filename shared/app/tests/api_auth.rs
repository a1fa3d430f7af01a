//! Staff authentication end to end: login, refresh rotation and reuse, logout, tokens.

mod support;

use rylie_app::{http::Access, routes};
use rylie_domain::Action;
use serde_json::json;
use support::{PASSWORD, World, bearer, call, request};

async fn login(world: &World, login: &str, password: &str) -> support::Answer {
    let body = json!({ "login": login, "password": password });
    call(
        &world.state,
        Access::Public,
        routes::auth::login,
        request("POST", "/v1/auth/login", &[], None, Some(body)),
    )
    .await
}

async fn refresh(world: &World, token: &str) -> support::Answer {
    let body = json!({ "refresh_token": token });
    call(
        &world.state,
        Access::Public,
        routes::auth::refresh,
        request("POST", "/v1/auth/refresh", &[], None, Some(body)),
    )
    .await
}

const LIST: Access = Access::Caller {
    resource: "personas",
    action: Action::Read,
};

async fn list_personas(world: &World, auth: Option<(&str, String)>) -> support::Answer {
    let path = format!("/v1/dealerships/{}/personas", world.dealer_a);
    let params = [("dealership_id", world.dealer_a.to_string())];
    call(
        &world.state,
        LIST,
        routes::personas::list,
        request("GET", &path, &params, auth, None),
    )
    .await
}

#[tokio::test]
async fn login_issues_tokens_that_open_the_api() {
    let world = World::new().await;
    let answer = login(&world, "ADMIN@alpha.test", PASSWORD).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let data = &answer.body["data"];
    assert_eq!(data["token_type"], "Bearer");
    assert_eq!(data["expires_in"], 900);
    assert_eq!(data["user"]["role"], "dealership_admin");
    let access = data["access_token"].as_str().unwrap().to_owned();
    assert_eq!(list_personas(&world, bearer(access)).await.status, 200);
}

#[tokio::test]
async fn an_unknown_user_and_a_wrong_password_get_the_same_answer() {
    let world = World::new().await;
    let unknown = login(&world, "nobody@alpha.test", PASSWORD).await;
    let wrong = login(&world, "admin@alpha.test", "not the password at all").await;
    assert_eq!((unknown.status, wrong.status), (401, 401));
    assert_eq!(unknown.body["error"], wrong.body["error"]);
    // The refusal for a known user is in the audit trail; the unknown login leaves no user to name.
    let owner = support::owner(&world.db).await;
    let refused: i64 = owner
        .query_typed(
            "SELECT count(*) FROM audit_logs WHERE action = 'auth.login_refused'",
            &[],
        )
        .await
        .unwrap()[0]
        .get(0);
    assert_eq!(refused, 1);
}

#[tokio::test]
async fn repeated_failures_lock_the_account_even_for_the_right_password() {
    let world = World::new().await;
    for _ in 0..5 {
        assert_eq!(
            login(&world, "manager@alpha.test", "wrong password, again")
                .await
                .status,
            401
        );
    }
    let locked = login(&world, "manager@alpha.test", PASSWORD).await;
    assert_eq!(locked.status, 401, "{}", locked.body);
    assert_eq!(locked.body["error"]["code"], "INVALID_CREDENTIALS");
    // Another account is unaffected.
    assert_eq!(login(&world, "admin@alpha.test", PASSWORD).await.status, 200);
}

#[tokio::test]
async fn a_deactivated_dealership_cannot_log_in_and_its_routes_refuse_clearly() {
    let world = World::new().await;
    let token = world.token(world.admin_a);
    world
        .owner_sql(&format!(
            "UPDATE dealerships SET active = false WHERE id = {}",
            world.dealer_a
        ))
        .await;
    assert_eq!(login(&world, "admin@alpha.test", PASSWORD).await.status, 401);
    let answer = list_personas(&world, bearer(token)).await;
    assert_eq!(
        (answer.status, answer.code()),
        (403, "DEALERSHIP_INACTIVE"),
        "{}",
        answer.body
    );
}

#[tokio::test]
async fn refresh_rotates_and_a_reused_token_revokes_its_family() {
    let world = World::new().await;
    let first = login(&world, "admin@alpha.test", PASSWORD).await.body["data"]["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let second = refresh(&world, &first).await;
    assert_eq!(second.status, 200, "{}", second.body);
    let second = second.body["data"]["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(first, second);

    // The first token was spent: presenting it again revokes the family, the second included.
    assert_eq!(refresh(&world, &first).await.status, 401);
    assert_eq!(refresh(&world, &second).await.status, 401);
}

#[tokio::test]
async fn logout_revokes_the_refresh_token() {
    let world = World::new().await;
    let token = login(&world, "admin@alpha.test", PASSWORD).await.body["data"]["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let body = json!({ "refresh_token": token });
    let out = call(
        &world.state,
        Access::Public,
        routes::auth::logout,
        request("POST", "/v1/auth/logout", &[], None, Some(body)),
    )
    .await;
    assert_eq!(out.status, 200);
    assert_eq!(refresh(&world, &token).await.status, 401);
}

#[tokio::test]
async fn tampered_expired_and_foreign_tokens_are_refused() {
    let world = World::new().await;
    let good = world.token(world.admin_a);
    let (header, rest) = good.split_once('.').unwrap();
    let (_payload, signature) = rest.split_once('.').unwrap();
    use base64_url as b64;
    let forged_payload = b64::encode(
        &json!({"sub": world.admin_a.to_string(), "role": "super_admin", "iat": 0,
        "exp": 4_000_000_000i64, "iss": "rylie"})
        .to_string(),
    );
    let none_header = b64::encode(r#"{"alg":"none","typ":"JWT","kid":"local-1"}"#);
    let other_keys = rylie_app::auth::tokens::TokenKeys::from_json(
        r#"{"active":"local-1","local-1":"some other secret of at least thirty-two bytes"}"#,
    )
    .unwrap();
    let now = chrono::Utc::now().timestamp();
    let cases = [
        ("tampered payload", format!("{header}.{forged_payload}.{signature}")),
        ("alg none", format!("{none_header}.{forged_payload}.")),
        (
            "wrong key",
            other_keys.issue(world.admin_a, rylie_domain::Role::SuperAdmin, None, now),
        ),
        (
            "expired",
            world.state.tokens.as_ref().unwrap().issue(
                world.admin_a,
                rylie_domain::Role::DealershipAdmin,
                None,
                now - 3600,
            ),
        ),
        ("garbage", "not-a-token".to_owned()),
    ];
    for (what, token) in cases {
        let answer = list_personas(&world, bearer(token)).await;
        assert_eq!(
            (answer.status, answer.code()),
            (401, "UNAUTHENTICATED"),
            "{what}: {}",
            answer.body
        );
    }
    assert_eq!(list_personas(&world, None).await.status, 401, "no credentials");
}

mod base64_url {
    /// Unpadded base64url, as JWTs use.
    pub fn encode(text: &str) -> String {
        const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let bytes = text.as_bytes();
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let n = chunk
                .iter()
                .enumerate()
                .fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
            for i in 0..=chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            }
        }
        out
    }
}
