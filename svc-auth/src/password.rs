//! Password hashing with argon2id, off the async runtime (`spawn_blocking`):
//! a hash costs tens of milliseconds of CPU by design.

use std::sync::OnceLock;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use ocomms_runtime::ServiceError;

pub async fn hash(password: String) -> Result<String, ServiceError> {
    tokio::task::spawn_blocking(move || hash_blocking(&password)).await.map_err(ServiceError::internal)?
}

fn hash_blocking(password: &str) -> Result<String, ServiceError> {
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| ServiceError::internal(anyhow::anyhow!("argon2: {e}")))
}

/// Whether `password` matches `stored`. `None` for `stored` (no such user)
/// still spends the same work against a dummy hash, so that answers take
/// about as long whether or not the email exists.
pub async fn verify(password: String, stored: Option<String>) -> Result<bool, ServiceError> {
    tokio::task::spawn_blocking(move || {
        let (hash, real) = match &stored {
            Some(h) => (h.as_str(), true),
            None => (dummy_hash(), false),
        };
        let parsed = PasswordHash::new(hash).map_err(|e| ServiceError::internal(anyhow::anyhow!("stored hash: {e}")))?;
        let ok = Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok();
        Ok(ok && real)
    })
    .await
    .map_err(ServiceError::internal)?
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash_blocking("dummy password for timing").unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_differ() {
        let a = hash("correct horse battery".into()).await.expect("hash");
        let b = hash("correct horse battery".into()).await.expect("hash");
        assert_ne!(a, b, "salted");
        assert!(a.starts_with("$argon2id$"));
        assert!(verify("correct horse battery".into(), Some(a.clone())).await.expect("verify"));
        assert!(!verify("wrong horse battery".into(), Some(a)).await.expect("verify"));
        assert!(!verify("dummy password for timing".into(), None).await.expect("verify"));
    }
}
