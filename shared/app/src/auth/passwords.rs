//! Staff passwords: Argon2id with OWASP's minimum parameters (19 MiB, 2 passes, 1 lane),
//! stored as PHC strings so the parameters travel with each hash and can be raised later.
//!
//! Login must not tell an unknown user from a wrong password, by its answer or by its time:
//! for an unknown user we verify against a dummy hash computed once per container.

use std::sync::OnceLock;

use argon2::{
    Algorithm, Argon2, Params, Version,
    password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng},
};

fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("OWASP parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes a new password.
pub fn hash(password: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 hashing cannot fail")
        .to_string()
}

/// Checks `password` against a stored hash; a malformed stored hash never matches.
pub fn verify(password: &str, stored: &str) -> bool {
    match PasswordHash::new(stored) {
        Ok(parsed) => argon2().verify_password(password.as_bytes(), &parsed).is_ok(),
        Err(_) => false,
    }
}

/// Spends the same time as a real verification, for unknown users.
pub fn verify_against_dummy(password: &str) {
    static DUMMY: OnceLock<String> = OnceLock::new();
    let dummy = DUMMY.get_or_init(|| hash("a password nobody has, to spend the time of a real check"));
    let _ = verify(password, dummy);
}

/// The rules a new password must meet (NIST 800-63B: length, not composition).
pub fn check_strength(password: &str) -> Result<(), &'static str> {
    let length = password.chars().count();
    if length < 12 {
        return Err("must have at least 12 characters");
    }
    if length > 256 {
        return Err("must have at most 256 characters");
    }
    Ok(())
}
