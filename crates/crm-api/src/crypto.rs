//! Field encryption for identity documents: AES-256-GCM for the value and
//! a keyed hash (HMAC-SHA256) for exact-match search. Both keys are derived
//! from `HOTEL_CRM_DATA_KEY`, so one secret is all an operator manages.
//!
//! Rotation: the old master key goes into `HOTEL_CRM_DATA_KEY_PREVIOUS`.
//! Values encrypted under it still decrypt, searches look for the hashes of
//! every key, and `hotel-crm jobs run reencrypt` rewrites each value and
//! hash under the current key; then the old key can go.

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

#[derive(Clone)]
pub struct DataCipher {
    aead: Aes256Gcm,
    index_key: [u8; 32],
    /// The keys of earlier master keys, newest first.
    previous: Vec<(Aes256Gcm, [u8; 32])>,
}

fn keys_of(master: &[u8]) -> (Aes256Gcm, [u8; 32]) {
    let enc_key = derive(master, "hotel-crm/field-encryption/aes-256-gcm/v1");
    (
        Aes256Gcm::new(&enc_key.into()),
        derive(master, "hotel-crm/blind-index/hmac-sha256/v1"),
    )
}

fn open(aead: &Aes256Gcm, bytes: &[u8]) -> Option<String> {
    if bytes.len() < 12 {
        return None;
    }
    let (nonce, ciphertext) = bytes.split_at(12);
    let plain = aead.decrypt(Nonce::from_slice(nonce), ciphertext).ok()?;
    String::from_utf8(plain).ok()
}

fn keyed_hash(key: &[u8; 32], value: &str) -> String {
    let mut mac = <HmacSha256 as Mac>::new_from_slice(key).expect("HMAC accepts any key length");
    mac.update(value.as_bytes());
    hex(&mac.finalize().into_bytes())
}

fn derive(master: &[u8], label: &str) -> [u8; 32] {
    let mut mac = <HmacSha256 as Mac>::new_from_slice(master).expect("HMAC accepts any key length");
    mac.update(label.as_bytes());
    mac.finalize().into_bytes().into()
}

#[derive(Debug, thiserror::Error)]
#[error("cannot decrypt a stored value (wrong HOTEL_CRM_DATA_KEY?)")]
pub struct DecryptError;

impl DataCipher {
    pub fn new(master_key: &[u8]) -> Self {
        DataCipher::with_previous(master_key, &[])
    }

    /// The current master key and those it replaced (still read, never
    /// written).
    pub fn with_previous(master_key: &[u8], previous: &[Vec<u8>]) -> Self {
        let (aead, index_key) = keys_of(master_key);
        DataCipher {
            aead,
            index_key,
            previous: previous.iter().map(|k| keys_of(k)).collect(),
        }
    }

    /// base64(nonce ‖ ciphertext ‖ tag), with a fresh random 96-bit nonce.
    pub fn encrypt(&self, plaintext: &str) -> String {
        let mut nonce = [0u8; 12];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let ciphertext = self
            .aead
            .encrypt(Nonce::from_slice(&nonce), plaintext.as_bytes())
            .expect("AES-GCM encryption of a short value cannot fail");
        let mut out = nonce.to_vec();
        out.extend(ciphertext);
        base64::engine::general_purpose::STANDARD.encode(out)
    }

    pub fn decrypt(&self, stored: &str) -> Result<String, DecryptError> {
        self.decrypt_keyed(stored).map(|(plain, _)| plain)
    }

    /// The plaintext and whether it was encrypted under the current key
    /// (`true`) or a previous one.
    pub fn decrypt_keyed(&self, stored: &str) -> Result<(String, bool), DecryptError> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(stored)
            .map_err(|_| DecryptError)?;
        if let Some(plain) = open(&self.aead, &bytes) {
            return Ok((plain, true));
        }
        self.previous
            .iter()
            .find_map(|(aead, _)| open(aead, &bytes))
            .map(|plain| (plain, false))
            .ok_or(DecryptError)
    }

    /// Deterministic keyed hash: equal inputs give equal hashes, and without
    /// the key nobody can test guesses against the stored hashes.
    pub fn blind_index(&self, value: &str) -> String {
        keyed_hash(&self.index_key, value)
    }

    /// The value's hash under the current key, then under each previous
    /// one: what a search looks for while a rotation is under way.
    pub fn blind_indexes(&self, value: &str) -> Vec<String> {
        std::iter::once(&self.index_key)
            .chain(self.previous.iter().map(|(_, k)| k))
            .map(|k| keyed_hash(k, value))
            .collect()
    }

    /// Whether a rotation is under way (previous keys are configured).
    pub fn rotating(&self) -> bool {
        !self.previous.is_empty()
    }
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

/// A random URL-safe token of `bytes` bytes of entropy.
pub fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut buf);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encryption_round_trips_and_is_randomised() {
        let c = DataCipher::new(&[7u8; 32]);
        let a = c.encrypt("11010519491231002X");
        let b = c.encrypt("11010519491231002X");
        assert_ne!(a, b, "fresh nonce per value");
        assert_eq!(c.decrypt(&a).unwrap(), "11010519491231002X");
        assert!(!a.contains("110105"));
    }

    #[test]
    fn another_key_cannot_decrypt_or_match() {
        let c1 = DataCipher::new(&[1u8; 32]);
        let c2 = DataCipher::new(&[2u8; 32]);
        assert!(c2.decrypt(&c1.encrypt("E12345678")).is_err());
        assert_ne!(c1.blind_index("E12345678"), c2.blind_index("E12345678"));
        assert_eq!(c1.blind_index("E12345678"), c1.blind_index("E12345678"));
    }

    #[test]
    fn a_rotating_cipher_reads_old_values_and_writes_new_ones() {
        let old = DataCipher::new(&[1u8; 32]);
        let rotating = DataCipher::with_previous(&[2u8; 32], &[vec![1u8; 32]]);
        let stored = old.encrypt("E12345678");
        assert_eq!(
            rotating.decrypt_keyed(&stored).unwrap(),
            ("E12345678".to_string(), false)
        );
        let fresh = rotating.encrypt("E12345678");
        assert_eq!(
            rotating.decrypt_keyed(&fresh).unwrap(),
            ("E12345678".to_string(), true)
        );
        assert!(
            old.decrypt(&fresh).is_err(),
            "new values use the new key only"
        );
        assert_eq!(
            rotating.blind_indexes("E12345678"),
            vec![
                DataCipher::new(&[2u8; 32]).blind_index("E12345678"),
                old.blind_index("E12345678")
            ]
        );
        assert!(rotating.rotating() && !old.rotating());
    }
}
