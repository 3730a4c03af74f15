use crm_domain::role::Role;
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

/// Claims of an access token (api-conventions.md: sub, org, role, exp, iat,
/// jti), plus `kind`: a staff `user` or an integration `client`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Claims {
    pub sub: String,
    pub org: String,
    pub role: Role,
    pub kind: String,
    pub exp: i64,
    pub iat: i64,
    pub jti: String,
}

/// The signing key and the keys tokens are accepted with: the current
/// secret and, while a rotation is under way, the previous ones (tokens
/// they signed stay valid until they expire, at most the access-token
/// lifetime). Each token names its key in the `kid` header.
#[derive(Clone)]
pub struct JwtKeys {
    encoding: EncodingKey,
    kid: String,
    decoding: Vec<(String, DecodingKey)>,
    validation: Validation,
}

/// A key's public name: the start of the SHA-256 of the secret.
fn key_id(secret: &[u8]) -> String {
    crate::crypto::sha256_hex(secret)[..12].to_string()
}

impl JwtKeys {
    pub fn new(secret: &[u8]) -> Self {
        JwtKeys::with_previous(secret, &[])
    }

    pub fn with_previous(secret: &[u8], previous: &[Vec<u8>]) -> Self {
        // HS256 only: a token claiming `none` or any other algorithm fails.
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 5;
        validation.set_required_spec_claims(&["exp", "iat", "sub"]);
        let decoding = std::iter::once(secret)
            .chain(previous.iter().map(Vec::as_slice))
            .map(|s| (key_id(s), DecodingKey::from_secret(s)))
            .collect();
        JwtKeys {
            encoding: EncodingKey::from_secret(secret),
            kid: key_id(secret),
            decoding,
            validation,
        }
    }

    pub fn sign(&self, claims: &Claims) -> Result<String, jsonwebtoken::errors::Error> {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(self.kid.clone());
        encode(&header, claims, &self.encoding)
    }

    /// The claims of a token signed by one of the keys: the one its `kid`
    /// names first, then the others (tokens from before key ids).
    pub fn verify(&self, token: &str) -> Result<Claims, jsonwebtoken::errors::Error> {
        use jsonwebtoken::errors::ErrorKind;
        let kid = jsonwebtoken::decode_header(token)?.kid;
        let mut keys: Vec<&DecodingKey> = Vec::with_capacity(self.decoding.len());
        keys.extend(
            self.decoding
                .iter()
                .filter(|(id, _)| Some(id) == kid.as_ref())
                .map(|(_, k)| k),
        );
        keys.extend(
            self.decoding
                .iter()
                .filter(|(id, _)| Some(id) != kid.as_ref())
                .map(|(_, k)| k),
        );
        let mut last = jsonwebtoken::errors::Error::from(ErrorKind::InvalidSignature);
        for key in keys {
            match decode::<Claims>(token, key, &self.validation) {
                Ok(d) => return Ok(d.claims),
                Err(e) if matches!(e.kind(), ErrorKind::InvalidSignature) => last = e,
                Err(e) => return Err(e),
            }
        }
        Err(last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp_in: i64) -> Claims {
        let now = chrono::Utc::now().timestamp();
        Claims {
            sub: "u".into(),
            org: "o".into(),
            role: Role::Admin,
            kind: "user".into(),
            exp: now + exp_in,
            iat: now,
            jti: "j".into(),
        }
    }

    #[test]
    fn tokens_of_the_previous_secret_are_accepted_until_they_expire() {
        let old = JwtKeys::new(b"old secret old secret old secret!");
        let token = old.sign(&claims(600)).unwrap();
        let rotated = JwtKeys::with_previous(
            b"new secret new secret new secret!",
            &[b"old secret old secret old secret!".to_vec()],
        );
        assert_eq!(rotated.verify(&token).unwrap().sub, "u");
        // New tokens are signed with the new secret only.
        let fresh = rotated.sign(&claims(600)).unwrap();
        assert!(old.verify(&fresh).is_err());
        assert!(JwtKeys::new(b"new secret new secret new secret!")
            .verify(&fresh)
            .is_ok());
        // An expired token of the old secret is expired, not "bad signature".
        let expired = old.sign(&claims(-600)).unwrap();
        let err = rotated.verify(&expired).unwrap_err();
        assert!(matches!(
            err.kind(),
            jsonwebtoken::errors::ErrorKind::ExpiredSignature
        ));
        // Once the old secret is dropped, its tokens fail.
        let done = JwtKeys::new(b"new secret new secret new secret!");
        assert!(done.verify(&token).is_err());
    }
}
