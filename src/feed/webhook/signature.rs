//! The signature every POST carries,
//! `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, t + "." + body)>`, made by [`sign`] and
//! checked as a receiver would by [`verify`].

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::secret::Secret;

/// The signature header's value for `body` sent at `timestamp` (unix seconds).
pub fn sign(secret: &Secret, timestamp: u64, body: &[u8]) -> String {
    let mut mac = new_mac(secret);
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("t={timestamp},v1={hex}")
}

/// The signature header's value for `body` sent now.
pub(crate) fn sign_now(secret: &Secret, body: &[u8]) -> String {
    let timestamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    sign(secret, timestamp, body)
}

fn new_mac(secret: &Secret) -> Hmac<Sha256> {
    // HMAC takes a key of any length; this cannot fail.
    match Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes()) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC accepts keys of every length"),
    }
}

/// Why a signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// The header is not `t=...,v1=...`.
    #[error("malformed signature header {0:?}")]
    Malformed(String),
    /// The timestamp is too far from now.
    #[error("signature timestamp {timestamp} is {skew_secs} s away from now (replay?)")]
    Stale {
        /// The header's timestamp.
        timestamp: u64,
        /// How far from now.
        skew_secs: u64,
    },
    /// The MAC does not match.
    #[error("signature does not match the body")]
    Mismatch,
}

/// Checks a signature header against `body` as a receiver would: the MAC (constant time)
/// and that the timestamp is within `tolerance` of `now`.
pub fn verify(
    secret: &Secret,
    header: &str,
    body: &[u8],
    now: SystemTime,
    tolerance: Duration,
) -> Result<(), VerifyError> {
    let malformed = || VerifyError::Malformed(header.chars().take(200).collect());
    let mut timestamp = None;
    let mut mac_hex = None;
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = t.parse::<u64>().ok(),
            Some(("v1", v)) => mac_hex = Some(v),
            _ => {}
        }
    }
    let (Some(timestamp), Some(mac_hex)) = (timestamp, mac_hex) else {
        return Err(malformed());
    };
    let expected = decode_hex(mac_hex).ok_or_else(malformed)?;
    let now = now.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
    let skew_secs = now.abs_diff(timestamp);
    if skew_secs > tolerance.as_secs() {
        return Err(VerifyError::Stale {
            timestamp,
            skew_secs,
        });
    }
    let mut mac = new_mac(secret);
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.verify_slice(&expected)
        .map_err(|_| VerifyError::Mismatch)
}

fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) || !hex.is_ascii() {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_verify_and_refuse_tampering_and_replays() {
        let secret = Secret::new("whsec");
        let now = SystemTime::now();
        let t = now.duration_since(UNIX_EPOCH).unwrap().as_secs();
        let header = sign(&secret, t, b"{\"a\":1}");
        let tolerance = Duration::from_secs(300);
        assert_eq!(
            verify(&secret, &header, b"{\"a\":1}", now, tolerance),
            Ok(())
        );
        assert_eq!(
            verify(&secret, &header, b"{\"a\":2}", now, tolerance),
            Err(VerifyError::Mismatch)
        );
        assert_eq!(
            verify(&Secret::new("other"), &header, b"{\"a\":1}", now, tolerance),
            Err(VerifyError::Mismatch)
        );
        let later = now + Duration::from_secs(301);
        assert!(matches!(
            verify(&secret, &header, b"{\"a\":1}", later, tolerance),
            Err(VerifyError::Stale { .. })
        ));
        for bad in ["", "t=1", "v1=00", "t=x,v1=00", "t=1,v1=zz"] {
            assert!(matches!(
                verify(&secret, bad, b"", now, tolerance),
                Err(VerifyError::Malformed(_))
            ));
        }
    }

    #[test]
    fn the_mac_is_hmac_sha256() {
        // The classic HMAC-SHA256 test vector.
        let mut mac = new_mac(&Secret::new("key"));
        mac.update(b"The quick brown fox jumps over the lazy dog");
        let hex: String = mac
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(
            hex,
            "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
        );
    }
}
