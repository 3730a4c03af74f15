//! Argon2id for staff passwords and client secrets.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

pub const MIN_PASSWORD_CHARS: usize = 10;
pub const MAX_PASSWORD_CHARS: usize = 256;

pub fn hash(secret: &str) -> Result<String, argon2::password_hash::Error> {
    let salt = SaltString::generate(&mut OsRng);
    Ok(Argon2::default()
        .hash_password(secret.as_bytes(), &salt)?
        .to_string())
}

pub fn verify(secret: &str, stored_hash: &str) -> bool {
    PasswordHash::new(stored_hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(secret.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A hash of a random password, verified against when the account does not
/// exist, so a login takes as long for an unknown e-mail as for a known one.
pub fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash(&crate::crypto::random_token(16)).unwrap_or_default())
}

/// Password policy: length only (NIST SP 800-63B), plus not the e-mail.
pub fn check_policy(password: &str, email: &str) -> Result<(), &'static str> {
    let n = password.chars().count();
    if n < MIN_PASSWORD_CHARS {
        return Err("at least 10 characters");
    }
    if n > MAX_PASSWORD_CHARS {
        return Err("at most 256 characters");
    }
    if password.eq_ignore_ascii_case(email) {
        return Err("must not be the e-mail address");
    }
    Ok(())
}

/// A generated password for bootstrap and resets: 20 URL-safe characters.
pub fn generate() -> String {
    crate::crypto::random_token(15)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_only_the_right_secret() {
        let h = hash("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify("correct horse battery", &h));
        assert!(!verify("wrong horse battery", &h));
        assert!(!verify("anything", "not a hash"));
    }

    #[test]
    fn policy_wants_length() {
        assert!(check_policy("short", "a@b.cn").is_err());
        assert!(check_policy("a@b.cn.long", "a@b.cn.long").is_err());
        assert!(check_policy("long enough pass", "a@b.cn").is_ok());
    }
}
