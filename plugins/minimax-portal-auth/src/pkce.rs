//! PKCE (RFC 7636, S256) and the OAuth `state`, from random bytes the caller
//! supplies (the host's `wasi:random` in the plugin, fixed bytes in tests).

use sha2::{Digest, Sha256};

/// The characters a code verifier may use (RFC 7636 §4.1 "unreserved").
const UNRESERVED: &[u8; 66] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~";

/// The length of our verifiers (the RFC allows 43 to 128).
pub const VERIFIER_LEN: usize = 64;

/// A code verifier of [`VERIFIER_LEN`] characters, uniformly drawn from the
/// unreserved set. `random(n)` returns `n` random bytes; bytes that would bias
/// the draw (198 and above: 66 × 3 = 198) are skipped, so it may be called
/// more than once.
pub fn verifier(mut random: impl FnMut(usize) -> Vec<u8>) -> String {
    let mut out = String::with_capacity(VERIFIER_LEN);
    while out.len() < VERIFIER_LEN {
        for byte in random(VERIFIER_LEN + VERIFIER_LEN / 2) {
            if out.len() == VERIFIER_LEN {
                break;
            }
            if byte < 198 {
                out.push(UNRESERVED[usize::from(byte) % UNRESERVED.len()] as char);
            }
        }
    }
    out
}

/// The S256 challenge of a verifier: base64url (no padding) of its SHA-256.
pub fn challenge(verifier: &str) -> String {
    base64url(&Sha256::digest(verifier.as_bytes()))
}

/// An OAuth `state` from 16 random bytes: 22 URL-safe characters.
pub fn state(random: &[u8]) -> String {
    base64url(random)
}

/// Base64 with the URL-safe alphabet and no padding (RFC 4648 §5).
pub fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        // 1 byte gives 2 characters, 2 give 3, 3 give 4.
        for i in 0..=chunk.len() {
            out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenge_matches_the_rfc_example() {
        // RFC 7636, Appendix B.
        assert_eq!(
            challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn base64url_has_no_padding_and_the_url_alphabet() {
        assert_eq!(base64url(b""), "");
        assert_eq!(base64url(b"f"), "Zg");
        assert_eq!(base64url(b"fo"), "Zm8");
        assert_eq!(base64url(b"foo"), "Zm9v");
        assert_eq!(base64url(b"foob"), "Zm9vYg");
        assert_eq!(base64url(b"fooba"), "Zm9vYmE");
        assert_eq!(base64url(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64url(&[0xfb, 0xff, 0xbf]), "-_-_");
        assert_eq!(state(&[0u8; 16]).len(), 22);
    }

    #[test]
    fn verifiers_are_64_unreserved_characters() {
        let mut counter = 0u8;
        let v = verifier(|n| {
            (0..n)
                .map(|_| {
                    counter = counter.wrapping_add(7);
                    counter
                })
                .collect()
        });
        assert_eq!(v.len(), VERIFIER_LEN);
        assert!(v.bytes().all(|b| UNRESERVED.contains(&b)), "{v}");
        // Byte b draws character b % 66, so each of the 66 is reachable.
        for b in 0..198u8 {
            let v = verifier(|n| vec![b; n]);
            assert_eq!(v.as_bytes()[0], UNRESERVED[usize::from(b) % 66]);
        }
    }

    #[test]
    fn biased_bytes_are_skipped_and_more_are_drawn() {
        let mut calls = 0;
        let v = verifier(|n| {
            calls += 1;
            // The first batch is all unusable; then the byte 0 ('A') only.
            vec![if calls == 1 { 250 } else { 0 }; n]
        });
        assert_eq!(v, "A".repeat(VERIFIER_LEN));
        assert_eq!(calls, 2);
    }
}
