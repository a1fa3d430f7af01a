//! Access tokens: short-lived JWTs signed with HMAC-SHA256.
//!
//! The algorithm is pinned: a token whose header names any other algorithm (`none`, RS256
//! with our secret as a "public key", ...) is refused before its signature is looked at.
//! Keys carry a `kid`; the signing key set holds the active key and the previous ones, so a
//! rotation (a new active key in Secrets Manager) logs nobody out: tokens signed with an older
//! key stay valid until they expire, at most fifteen minutes later.

use std::collections::HashMap;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rylie_domain::{DealershipId, Principal, Role};
use serde::{Deserialize, Serialize};

/// Access tokens live this long; refresh tokens renew them.
pub const ACCESS_TOKEN_SECONDS: i64 = 15 * 60;
const ISSUER: &str = "rylie";

/// The claims of an access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The user id.
    pub sub: String,
    pub role: Role,
    /// The user's dealership; absent for super_admin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dealership_id: Option<i64>,
    pub iat: i64,
    pub exp: i64,
    pub iss: String,
}

impl Claims {
    pub fn principal(&self) -> Option<Principal> {
        Some(Principal {
            role: self.role,
            user_id: Some(self.sub.parse().ok()?),
            api_key_id: None,
            dealership_id: self.dealership_id.map(DealershipId),
            scopes: Vec::new(),
            key_tier: None,
        })
    }
}

/// The signing key set, as stored in Secrets Manager (`JWT_KEYS_SECRET_ARN`) or, locally,
/// in `JWT_KEYS`: a flat JSON object, `{"active": "k2", "k2": "<≥ 32 bytes>", "k1": "…"}`.
/// Flat so that CloudFormation can generate it (GenerateSecretString with a template of
/// `{"active": "k1"}` and the generated key `k1`); rotating adds a key and moves `active`.
#[derive(Debug, Deserialize)]
pub struct KeySetDocument {
    pub active: String,
    #[serde(flatten)]
    pub keys: HashMap<String, String>,
}

/// Why a token was refused. The HTTP layer answers all of them with the same 401.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the token key set is invalid: {0}")]
    KeySet(String),
    #[error("the token is malformed")]
    Malformed,
    #[error("the token names an unknown key")]
    UnknownKey,
    #[error("the token was not signed with HS256")]
    WrongAlgorithm,
    #[error("the token's signature does not verify")]
    BadSignature,
    #[error("the token has expired")]
    Expired,
    #[error("the token's claims are invalid")]
    InvalidClaims,
}

/// Signs and verifies access tokens.
pub struct TokenKeys {
    active_kid: String,
    encoding: EncodingKey,
    decoding: HashMap<String, DecodingKey>,
    validation: Validation,
}

impl std::fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut kids: Vec<&String> = self.decoding.keys().collect();
        kids.sort();
        f.debug_struct("TokenKeys")
            .field("active_kid", &self.active_kid)
            .field("kids", &kids)
            .finish()
    }
}

impl TokenKeys {
    pub fn from_json(document: &str) -> Result<Self, TokenError> {
        let document: KeySetDocument = serde_json::from_str(document).map_err(|e| TokenError::KeySet(e.to_string()))?;
        let active = document
            .keys
            .get(&document.active)
            .ok_or_else(|| TokenError::KeySet(format!("the active key {:?} is not in keys", document.active)))?;
        for (kid, secret) in &document.keys {
            if secret.len() < 32 {
                return Err(TokenError::KeySet(format!("key {kid:?} is shorter than 32 bytes")));
            }
        }
        let mut validation = Validation::new(Algorithm::HS256);
        validation.algorithms = vec![Algorithm::HS256];
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "sub"]);
        validation.leeway = 30;
        Ok(Self {
            encoding: EncodingKey::from_secret(active.as_bytes()),
            decoding: document
                .keys
                .iter()
                .map(|(kid, secret)| (kid.clone(), DecodingKey::from_secret(secret.as_bytes())))
                .collect(),
            active_kid: document.active,
            validation,
        })
    }

    /// Signs an access token for `principal` (a staff member) issued at `now` (unix seconds).
    pub fn issue(&self, user_id: i64, role: Role, dealership_id: Option<DealershipId>, now: i64) -> String {
        let claims = Claims {
            sub: user_id.to_string(),
            role,
            dealership_id: dealership_id.map(|d| d.0),
            iat: now,
            exp: now + ACCESS_TOKEN_SECONDS,
            iss: ISSUER.to_owned(),
        };
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(self.active_kid.clone());
        jsonwebtoken::encode(&header, &claims, &self.encoding).expect("HS256 signing cannot fail")
    }

    /// Verifies signature, algorithm, issuer and expiry, and returns the claims.
    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        let header = jsonwebtoken::decode_header(token).map_err(|error| match error.kind() {
            jsonwebtoken::errors::ErrorKind::InvalidAlgorithmName => TokenError::WrongAlgorithm,
            _ => TokenError::Malformed,
        })?;
        if header.alg != Algorithm::HS256 {
            return Err(TokenError::WrongAlgorithm);
        }
        let key = header
            .kid
            .as_ref()
            .and_then(|kid| self.decoding.get(kid))
            .ok_or(TokenError::UnknownKey)?;
        jsonwebtoken::decode::<Claims>(token, key, &self.validation)
            .map(|data| data.claims)
            .map_err(|error| {
                use jsonwebtoken::errors::ErrorKind;
                match error.kind() {
                    ErrorKind::InvalidSignature => TokenError::BadSignature,
                    ErrorKind::ExpiredSignature => TokenError::Expired,
                    ErrorKind::InvalidAlgorithm => TokenError::WrongAlgorithm,
                    ErrorKind::InvalidToken | ErrorKind::Base64(_) | ErrorKind::Json(_) | ErrorKind::Utf8(_) => {
                        TokenError::Malformed
                    }
                    _ => TokenError::InvalidClaims,
                }
            })
    }
}
