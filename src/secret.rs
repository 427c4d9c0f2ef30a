//! Salted, slow hashes for passwords and keys (Argon2id with the argon2
//! crate's default parameters: 19 MiB of memory, 2 passes).

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

use crate::error::{Error, ErrorKind, Result};

/// Hashes a secret into a PHC string that embeds its salt and parameters.
pub fn hash(secret: &str) -> Result<String> {
    let mut bytes = [0u8; 16];
    rand::fill(&mut bytes);
    let salt = SaltString::encode_b64(&bytes)
        .map_err(|e| Error::new(ErrorKind::Storage, format!("could not salt a credential: {e}")))?;
    Argon2::default()
        .hash_password(secret.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::new(ErrorKind::Storage, format!("could not hash a credential: {e}")))
}

/// Checks a secret against a stored hash. A malformed hash never matches.
pub fn verify(secret: &str, stored: &str) -> bool {
    match PasswordHash::new(stored) {
        Ok(parsed) => Argon2::default()
            .verify_password(secret.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_verifies_and_is_salted() {
        let first = hash("correct horse").unwrap();
        let second = hash("correct horse").unwrap();
        assert!(first.starts_with("$argon2id$"), "{first}");
        assert_ne!(first, second);
        assert!(verify("correct horse", &first));
        assert!(!verify("wrong horse", &first));
        assert!(!first.contains("correct horse"));
    }

    #[test]
    fn malformed_hash_never_matches() {
        assert!(!verify("x", "not a hash"));
    }
}
