//! Webhook signature verification, checked before anything else about a delivery.
//!
//! [Standard Webhooks](https://www.standardwebhooks.com/): the signed content is
//! `"{webhook-id}.{webhook-timestamp}.{body}"`, signed with HMAC-SHA256 under the secret (`whsec_`
//! followed by base64); `webhook-signature` carries one or more space-separated `v1,<base64>`
//! signatures. Several secrets may be active at once so they can be rotated without dropping
//! deliveries.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Deliveries whose timestamp is further than this from now are refused (replays, clock skew).
pub const TOLERANCE_SECONDS: u64 = 5 * 60;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureError {
    /// A required header is absent.
    Missing(&'static str),
    /// The timestamp is not a number or is outside the tolerance.
    Stale,
    /// No signature matches any active secret.
    Mismatch,
    /// A configured secret is not valid base64.
    BadSecret,
}

impl std::fmt::Display for SignatureError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SignatureError::Missing(header) => write!(f, "the {header} header is missing"),
            SignatureError::Stale => {
                write!(f, "webhook-timestamp is more than {TOLERANCE_SECONDS} seconds from now")
            }
            SignatureError::Mismatch => f.write_str("no signature matches"),
            SignatureError::BadSecret => {
                f.write_str("a configured webhook secret is not valid base64")
            }
        }
    }
}

/// The headers of a Standard Webhooks delivery.
pub struct StandardWebhook<'a> {
    pub id: Option<&'a str>,
    pub timestamp: Option<&'a str>,
    pub signature: Option<&'a str>,
}

/// Verifies a Standard Webhooks delivery against any of `secrets`, at time `now_seconds`.
pub fn verify_standard_webhook(
    headers: &StandardWebhook<'_>, body: &[u8], secrets: &[String], now_seconds: u64,
) -> Result<(), SignatureError> {
    let id = headers.id.ok_or(SignatureError::Missing("webhook-id"))?;
    let timestamp = headers.timestamp.ok_or(SignatureError::Missing("webhook-timestamp"))?;
    let signatures = headers.signature.ok_or(SignatureError::Missing("webhook-signature"))?;
    let sent: u64 = timestamp.trim().parse().map_err(|_| SignatureError::Stale)?;
    if sent.abs_diff(now_seconds) > TOLERANCE_SECONDS {
        return Err(SignatureError::Stale);
    }
    let presented: Vec<Vec<u8>> = signatures
        .split_whitespace()
        .filter_map(|s| s.strip_prefix("v1,"))
        .filter_map(|s| STANDARD.decode(s).ok())
        .collect();
    for secret in secrets {
        let key = STANDARD
            .decode(secret.trim().strip_prefix("whsec_").unwrap_or(secret.trim()))
            .map_err(|_| SignatureError::BadSecret)?;
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&key).map_err(|_| SignatureError::BadSecret)?;
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.as_bytes());
        mac.update(b".");
        mac.update(body);
        let expected = mac.finalize().into_bytes();
        // Compared in constant time by `ct_eq`, so timing does not reveal how much of a guess was
        // right.
        if presented.iter().any(|p| ct_eq(p, &expected)) {
            return Ok(());
        }
    }
    Err(SignatureError::Mismatch)
}

/// Verifies GitHub's `X-Hub-Signature-256: sha256=<hex>`: HMAC-SHA256 of the raw body under any of
/// `secrets`. GitHub signs no timestamp; replays are caught by remembering `X-GitHub-Delivery` ids.
pub fn verify_github(
    signature: Option<&str>, body: &[u8], secrets: &[String],
) -> Result<(), SignatureError> {
    verify_hex_hmac(signature.ok_or(SignatureError::Missing("x-hub-signature-256"))?, body, secrets)
}

/// Verifies a generic `sha256=<hex>` (or bare hex) HMAC-SHA256 of the raw body.
pub fn verify_hex_hmac(
    signature: &str, body: &[u8], secrets: &[String],
) -> Result<(), SignatureError> {
    let hex = signature.trim().strip_prefix("sha256=").unwrap_or(signature.trim());
    let presented = decode_hex(hex).ok_or(SignatureError::Mismatch)?;
    for secret in secrets {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
            .map_err(|_| SignatureError::BadSecret)?;
        mac.update(body);
        if ct_eq(&presented, &mac.finalize().into_bytes()) {
            return Ok(());
        }
    }
    Err(SignatureError::Mismatch)
}

/// `sha256=<hex>` signature of `body` (for tests and senders).
pub fn sign_hex_hmac(secret: &str, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(body);
    format!(
        "sha256={}",
        mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect::<String>()
    )
}

fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok()).collect()
}

/// Constant-time equality of byte strings of public length.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Signs like a Standard Webhooks sender (for tests and for operators' tooling).
pub fn sign_standard_webhook(
    secret: &str, id: &str, timestamp: u64, body: &[u8],
) -> Result<String, SignatureError> {
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap_or(secret))
        .map_err(|_| SignatureError::BadSecret)?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).map_err(|_| SignatureError::BadSecret)?;
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    Ok(format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;

    // The public test vector of the Standard Webhooks specification.
    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const TIMESTAMP: &str = "1614265330";
    const BODY: &[u8] = br#"{"test": 2432232314}"#;
    const SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
    const NOW: u64 = 1_614_265_330;

    fn verify(
        signature: &str, body: &[u8], secrets: &[&str], now: u64,
    ) -> Result<(), SignatureError> {
        let headers = StandardWebhook {
            id: Some(ID),
            timestamp: Some(TIMESTAMP),
            signature: Some(signature),
        };
        let secrets: Vec<String> = secrets.iter().map(|s| s.to_string()).collect();
        verify_standard_webhook(&headers, body, &secrets, now)
    }

    #[test]
    fn the_specification_vector_verifies() {
        assert_eq!(verify(SIGNATURE, BODY, &[SECRET], NOW), Ok(()));
        assert_eq!(sign_standard_webhook(SECRET, ID, NOW, BODY).unwrap(), SIGNATURE);
    }

    #[test]
    fn several_signatures_and_rotated_secrets() {
        let other = "whsec_dGhpcyBpcyBhbm90aGVyIHNlY3JldA==";
        assert_eq!(verify(&format!("v1,bm90IGl0 {SIGNATURE}"), BODY, &[SECRET], NOW), Ok(()));
        assert_eq!(
            verify(SIGNATURE, BODY, &[other, SECRET], NOW),
            Ok(()),
            "the old secret still verifies during rotation"
        );
        assert_eq!(verify(SIGNATURE, BODY, &[other], NOW), Err(SignatureError::Mismatch));
    }

    #[test]
    fn the_github_documentation_vector_verifies() {
        let secret = vec!["It's a Secret to Everybody".to_string()];
        let signature = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
        assert_eq!(verify_github(Some(signature), b"Hello, World!", &secret), Ok(()));
        assert_eq!(sign_hex_hmac(&secret[0], b"Hello, World!"), signature);
        assert_eq!(
            verify_github(Some(signature), b"Hello, World?", &secret),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_github(Some("sha256=zz"), b"Hello, World!", &secret),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_github(None, b"Hello, World!", &secret),
            Err(SignatureError::Missing("x-hub-signature-256"))
        );
        assert_eq!(
            verify_hex_hmac(&signature[7..], b"Hello, World!", &secret),
            Ok(()),
            "bare hex is accepted"
        );
    }

    #[test]
    fn tampering_staleness_and_missing_headers_fail() {
        assert_eq!(
            verify(SIGNATURE, br#"{"test": 2432232315}"#, &[SECRET], NOW),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify("v2,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", BODY, &[SECRET], NOW),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(SIGNATURE, BODY, &[SECRET], NOW + TOLERANCE_SECONDS + 1),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify(SIGNATURE, BODY, &[SECRET], NOW - TOLERANCE_SECONDS - 1),
            Err(SignatureError::Stale)
        );
        assert_eq!(verify(SIGNATURE, BODY, &[SECRET], NOW + TOLERANCE_SECONDS), Ok(()));
        let headers = StandardWebhook { id: Some(ID), timestamp: None, signature: Some(SIGNATURE) };
        assert_eq!(
            verify_standard_webhook(&headers, BODY, &[SECRET.into()], NOW),
            Err(SignatureError::Missing("webhook-timestamp"))
        );
        assert_eq!(verify(SIGNATURE, BODY, &["whsec_!!!"], NOW), Err(SignatureError::BadSecret));
    }
}
