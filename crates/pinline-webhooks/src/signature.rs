//! The `Pinline-Signature` header: `t=<unix seconds>,v1=<hex HMAC-SHA256>`, where the MAC is
//! keyed with the webhook's secret over `"<t>.<raw body>"`. Binding the timestamp into the MAC
//! lets a receiver refuse replays of an old delivery ([`verify`]'s tolerance) without keeping
//! state; hashing the *raw* body means a receiver must verify before parsing the JSON.
//!
//! A header may carry several `v1=` values (for example during a secret rotation); it verifies
//! when any of them matches. Unknown `key=value` parts are ignored, so schemes can be added.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The header that carries the signature.
pub const HEADER: &str = "Pinline-Signature";

/// The default replay window: deliveries signed more than five minutes away from the
/// receiver's clock are refused.
pub const DEFAULT_TOLERANCE_SECS: i64 = 300;

type HmacSha256 = Hmac<Sha256>;

/// Why a signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The header has no usable `t=` timestamp.
    #[error("the signature header has no valid t= timestamp")]
    MissingTimestamp,
    /// The header has no `v1=` signature.
    #[error("the signature header has no v1= signature")]
    MissingSignature,
    /// The timestamp is further from now than the tolerance: a replay, or a badly wrong clock.
    #[error("the signature timestamp is {age_secs} s away from now (tolerance {tolerance_secs} s)")]
    Stale {
        /// Now minus the header's timestamp (negative when it lies in the future).
        age_secs: i64,
        /// The accepted distance.
        tolerance_secs: i64,
    },
    /// No `v1=` value is the MAC of this body under this secret.
    #[error("the signature does not match the body")]
    Mismatch,
}

fn mac(secret: &[u8], timestamp: i64, body: &[u8]) -> HmacSha256 {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = <HmacSha256 as Mac>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The header value signing `body` at `timestamp` (unix seconds) with `secret`.
pub fn sign(secret: impl AsRef<[u8]>, timestamp: i64, body: &[u8]) -> String {
    let tag = mac(secret.as_ref(), timestamp, body)
        .finalize()
        .into_bytes();
    format!("t={timestamp},v1={}", hex::encode(tag))
}

/// The header value signing `body` at `timestamp` with every one of `secrets` (one `v1=` each):
/// during a secret rotation both the new and the old secret sign, and a receiver holding either
/// verifies.
pub fn sign_all<S: AsRef<[u8]>>(
    secrets: impl IntoIterator<Item = S>,
    timestamp: i64,
    body: &[u8],
) -> String {
    let mut header = format!("t={timestamp}");
    for secret in secrets {
        let tag = mac(secret.as_ref(), timestamp, body)
            .finalize()
            .into_bytes();
        header.push_str(",v1=");
        header.push_str(&hex::encode(tag));
    }
    header
}

/// Checks a `Pinline-Signature` header against the raw `body`: the timestamp must lie within
/// `tolerance_secs` of `now_secs`, and one `v1=` value must be the MAC of the body under
/// `secret`. The comparison is constant-time.
pub fn verify(
    secret: impl AsRef<[u8]>,
    header: &str,
    body: &[u8],
    now_secs: i64,
    tolerance_secs: i64,
) -> Result<(), SignatureError> {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", value)) => timestamp = value.parse::<i64>().ok(),
            Some(("v1", value)) => signatures.push(value),
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::MissingTimestamp)?;
    if signatures.is_empty() {
        return Err(SignatureError::MissingSignature);
    }
    let age_secs = now_secs.saturating_sub(timestamp);
    if age_secs.saturating_abs() > tolerance_secs {
        return Err(SignatureError::Stale {
            age_secs,
            tolerance_secs,
        });
    }
    let expected = mac(secret.as_ref(), timestamp, body);
    let matches = signatures.iter().any(|signature| {
        hex::decode(signature).is_ok_and(|tag| expected.clone().verify_slice(&tag).is_ok())
    });
    if matches {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_test";
    const BODY: &[u8] = br#"{"a":1}"#;
    const T: i64 = 1_700_000_000;

    #[test]
    fn signs_like_any_other_hmac_sha256() {
        // Computed independently with Python's hmac/hashlib.
        assert_eq!(
            sign(SECRET, T, BODY),
            "t=1700000000,v1=38877139021993b830af32feea6e18a8da83eb2f6e49ee50bd9e4cf4ca4d3789"
        );
    }

    #[test]
    fn verifies_its_own_signatures_within_the_tolerance() {
        let header = sign(SECRET, T, BODY);
        assert_eq!(verify(SECRET, &header, BODY, T, 300), Ok(()));
        assert_eq!(verify(SECRET, &header, BODY, T + 300, 300), Ok(()));
        assert_eq!(verify(SECRET, &header, BODY, T - 300, 300), Ok(()));
    }

    #[test]
    fn refuses_tampering_wrong_secrets_and_replays() {
        let header = sign(SECRET, T, BODY);
        let check = |secret: &str, header: &str, body: &[u8], now: i64| {
            verify(secret, header, body, now, 300)
        };
        assert_eq!(
            check(SECRET, &header, br#"{"a":2}"#, T),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            check("whsec_other", &header, BODY, T),
            Err(SignatureError::Mismatch)
        );
        assert!(matches!(
            check(SECRET, &header, BODY, T + 301),
            Err(SignatureError::Stale { age_secs: 301, .. })
        ));
        assert!(matches!(
            check(SECRET, &header, BODY, T - 301),
            Err(SignatureError::Stale { age_secs: -301, .. })
        ));
        // A signature moved onto another timestamp no longer matches.
        let moved = header.replace("t=1700000000", "t=1700000001");
        assert_eq!(
            check(SECRET, &moved, BODY, T),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn parses_headers_leniently_but_never_accepts_without_a_match() {
        let good = sign(SECRET, T, BODY);
        let tag = good
            .split_once(",v1=")
            .map(|(_, tag)| tag)
            .expect("v1 part");
        let check = |header: &str| verify(SECRET, header, BODY, T, 300);
        assert_eq!(check(&format!("v1=00,t={T}, v1={tag},v0=x")), Ok(()));
        assert_eq!(
            check(&format!("v1={tag}")),
            Err(SignatureError::MissingTimestamp)
        );
        assert_eq!(
            check(&format!("t=soon,v1={tag}")),
            Err(SignatureError::MissingTimestamp)
        );
        assert_eq!(
            check(&format!("t={T}")),
            Err(SignatureError::MissingSignature)
        );
        assert_eq!(
            check(&format!("t={T},v1=zz")),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(check(&format!("t={T},v1=")), Err(SignatureError::Mismatch));
        assert_eq!(check(""), Err(SignatureError::MissingTimestamp));
    }
}
