//! Two-factor authentication pieces without IO: TOTP (RFC 6238: HMAC-SHA1,
//! 30-second steps, 6 digits), base32 for authenticator apps, backup codes,
//! and the encryption of secrets at rest (ChaCha20-Poly1305, key from
//! configuration).

use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use hmac::{Hmac, Mac};
use rand::RngCore;

pub const STEP_SECS: u64 = 30;
pub const BACKUP_CODES: usize = 10;

/// The TOTP code for a time step.
pub fn code_at_step(secret: &[u8], step: u64) -> u32 {
    let Ok(mut mac) = <Hmac<sha1::Sha1> as Mac>::new_from_slice(secret) else { return 0 };
    mac.update(&step.to_be_bytes());
    let h = mac.finalize().into_bytes();
    let offset = usize::from(h[19] & 0x0f);
    let bin =
        (u32::from(h[offset] & 0x7f) << 24) | (u32::from(h[offset + 1]) << 16) | (u32::from(h[offset + 2]) << 8) | u32::from(h[offset + 3]);
    bin % 1_000_000
}

/// The step a code matches within ±1 step of `now` (clock drift), if any,
/// and only when it is later than `last_used` (a code works once).
pub fn verify(secret: &[u8], code: &str, now_unix: u64, last_used: u64) -> Option<u64> {
    let code = code.trim().replace(' ', "");
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let given: u32 = code.parse().ok()?;
    let now = now_unix / STEP_SECS;
    [now.saturating_sub(1), now, now + 1].into_iter().find(|s| *s > last_used && code_at_step(secret, *s) == given)
}

/// RFC 4648 base32 without padding, as authenticator apps expect.
pub fn base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::new();
    let (mut buf, mut bits) = (0u32, 0u32);
    for b in bytes {
        buf = (buf << 8) | u32::from(*b);
        bits += 8;
        while bits >= 5 {
            out.push(char::from(ALPHABET[((buf >> (bits - 5)) & 31) as usize]));
            bits -= 5;
        }
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((buf << (5 - bits)) & 31) as usize]));
    }
    out
}

/// Decodes RFC 4648 base32 (no padding, case-insensitive).
pub fn base32_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let (mut buf, mut bits) = (0u32, 0u32);
    for c in text.trim_end_matches('=').chars() {
        let v = match c.to_ascii_uppercase() {
            c @ 'A'..='Z' => c as u32 - 'A' as u32,
            c @ '2'..='7' => c as u32 - '2' as u32 + 26,
            _ => return None,
        };
        buf = (buf << 5) | v;
        bits += 5;
        if bits >= 8 {
            out.push(((buf >> (bits - 8)) & 0xff) as u8);
            bits -= 8;
        }
    }
    Some(out)
}

pub fn new_secret() -> [u8; 20] {
    let mut s = [0u8; 20];
    rand::rng().fill_bytes(&mut s);
    s
}

/// Ten backup codes like `7f3a-92c1`; only their hashes are stored.
pub fn new_backup_codes() -> Vec<String> {
    (0..BACKUP_CODES)
        .map(|_| {
            let mut b = [0u8; 4];
            rand::rng().fill_bytes(&mut b);
            let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
            format!("{}-{}", &hex[..4], &hex[4..])
        })
        .collect()
}

/// Normalizes a backup code as typed (case, spaces, missing dash).
pub fn normalize_backup_code(code: &str) -> String {
    let c: String = code.trim().to_ascii_lowercase().chars().filter(|c| c.is_ascii_hexdigit()).collect();
    if c.len() == 8 { format!("{}-{}", &c[..4], &c[4..]) } else { c }
}

/// Encrypts a secret: a random nonce, then the ciphertext.
pub fn seal(key: &[u8; 32], secret: &[u8]) -> Option<Vec<u8>> {
    let cipher = ChaCha20Poly1305::new(Key::from_slice(key));
    let mut nonce = [0u8; 12];
    rand::rng().fill_bytes(&mut nonce);
    let mut out = nonce.to_vec();
    out.extend(cipher.encrypt(Nonce::from_slice(&nonce), secret).ok()?);
    Some(out)
}

pub fn open(key: &[u8; 32], sealed: &[u8]) -> Option<Vec<u8>> {
    if sealed.len() < 12 {
        return None;
    }
    let cipher = ChaCha20Poly1305::new(Key::from_slice(key));
    cipher.decrypt(Nonce::from_slice(&sealed[..12]), &sealed[12..]).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc6238_sha1_vectors() {
        // RFC 6238 appendix B (8 digits there; the last 6 are ours).
        let secret = b"12345678901234567890";
        for (t, expected) in [(59u64, 94_287_082u32), (1_111_111_109, 7_081_804), (1_234_567_890, 89_005_924), (2_000_000_000, 69_279_037)]
        {
            assert_eq!(code_at_step(secret, t / STEP_SECS), expected % 1_000_000, "t={t}");
        }
    }

    #[test]
    fn codes_verify_once_within_one_step_of_drift() {
        let s = new_secret();
        let now = 1_700_000_000;
        let step = now / STEP_SECS;
        let code = format!("{:06}", code_at_step(&s, step - 1));
        assert_eq!(verify(&s, &code, now, 0), Some(step - 1));
        assert_eq!(verify(&s, &code, now, step - 1), None, "replayed");
        let old = format!("{:06}", code_at_step(&s, step - 3));
        assert_eq!(verify(&s, &old, now, 0), None, "too old");
        assert_eq!(verify(&s, "12345", now, 0), None);
    }

    #[test]
    fn base32_matches_rfc4648() {
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
        assert_eq!(base32(b"f"), "MY");
        let s = new_secret();
        assert_eq!(base32_decode(&base32(&s)).as_deref(), Some(&s[..]));
    }

    #[test]
    fn sealed_secrets_open_only_with_their_key() {
        let key = [7u8; 32];
        let sealed = seal(&key, b"secret").expect("seal");
        assert_eq!(open(&key, &sealed).as_deref(), Some(&b"secret"[..]));
        assert!(open(&[8u8; 32], &sealed).is_none());
        assert_ne!(seal(&key, b"secret"), Some(sealed), "fresh nonce each time");
    }

    #[test]
    fn backup_codes_are_distinct_and_normalize() {
        let codes = new_backup_codes();
        assert_eq!(codes.len(), 10);
        assert_eq!(normalize_backup_code(" 7F3A 92C1 "), "7f3a-92c1");
    }
}
