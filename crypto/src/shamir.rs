//! Shamir secret sharing over GF(2^8) as sops uses it (a fork of Vault's):
//! shares are the y-bytes followed by one x byte, and share `i` has x = `i + 1`.

use rand::RngCore;
use zeroize::Zeroizing;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum ShamirError {
    #[error("threshold {threshold} is not between 1 and the number of parts ({parts})")]
    BadThreshold { threshold: usize, parts: usize },
    #[error("at most 255 parts are possible")]
    TooManyParts,
    #[error("need at least one share of at least 2 bytes")]
    NoShares,
    #[error("shares have different lengths")]
    UnevenShares,
    #[error("two shares have the same x coordinate")]
    DuplicateShare,
}

/// Multiplication in GF(2^8) with the AES polynomial x^8+x^4+x^3+x+1, without branches on data.
fn mul(a: u8, b: u8) -> u8 {
    let mut r: u8 = 0;
    for i in (0..8).rev() {
        let bit = (b >> i) & 1;
        let high = r >> 7;
        r = (0u8.wrapping_sub(bit) & a) ^ (0u8.wrapping_sub(high) & 0x1b) ^ r.wrapping_add(r);
    }
    r
}

/// a^254 = a^-1 for a != 0.
fn inverse(a: u8) -> u8 {
    let mut result = 1u8;
    let mut base = a;
    let mut exp = 254u8;
    while exp > 0 {
        if exp & 1 == 1 {
            result = mul(result, base);
        }
        base = mul(base, base);
        exp >>= 1;
    }
    result
}

/// Splits `secret` into `parts` shares, any `threshold` of which recover it.
pub fn split(
    secret: &[u8],
    parts: usize,
    threshold: usize,
) -> Result<Vec<Zeroizing<Vec<u8>>>, ShamirError> {
    if parts > 255 {
        return Err(ShamirError::TooManyParts);
    }
    if threshold == 0 || threshold > parts {
        return Err(ShamirError::BadThreshold { threshold, parts });
    }
    let mut shares: Vec<Zeroizing<Vec<u8>>> = (0..parts)
        .map(|i| {
            let mut s = Zeroizing::new(vec![0u8; secret.len() + 1]);
            s[secret.len()] = (i + 1) as u8;
            s
        })
        .collect();
    let mut coefficients = Zeroizing::new(vec![0u8; threshold]);
    for (byte_index, &secret_byte) in secret.iter().enumerate() {
        coefficients[0] = secret_byte;
        rand::rngs::OsRng.fill_bytes(&mut coefficients[1..]);
        for share in shares.iter_mut() {
            let x = share[secret.len()];
            // Horner's rule from the highest coefficient down.
            let mut y = 0u8;
            for &c in coefficients.iter().rev() {
                y = mul(y, x) ^ c;
            }
            share[byte_index] = y;
        }
    }
    Ok(shares)
}

/// Recovers the secret from shares made by [`split`] (at least `threshold` of them).
pub fn combine(shares: &[&[u8]]) -> Result<Zeroizing<Vec<u8>>, ShamirError> {
    let first = shares.first().ok_or(ShamirError::NoShares)?;
    if first.len() < 2 {
        return Err(ShamirError::NoShares);
    }
    if shares.iter().any(|s| s.len() != first.len()) {
        return Err(ShamirError::UnevenShares);
    }
    let len = first.len() - 1;
    let xs: Vec<u8> = shares.iter().map(|s| s[len]).collect();
    for (i, x) in xs.iter().enumerate() {
        if xs[..i].contains(x) {
            return Err(ShamirError::DuplicateShare);
        }
    }
    // Lagrange basis at x = 0 depends only on the xs: compute once.
    let basis: Vec<u8> = (0..xs.len())
        .map(|i| {
            let mut b = 1u8;
            for (j, &xj) in xs.iter().enumerate() {
                if i != j {
                    b = mul(b, mul(xj, inverse(xs[i] ^ xj)));
                }
            }
            b
        })
        .collect();
    let mut secret = Zeroizing::new(vec![0u8; len]);
    for (k, out) in secret.iter_mut().enumerate() {
        *out = shares
            .iter()
            .zip(&basis)
            .fold(0u8, |acc, (share, &b)| acc ^ mul(share[k], b));
    }
    Ok(secret)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn field_inverse() {
        for a in 1..=255u8 {
            assert_eq!(mul(a, inverse(a)), 1, "a = {a}");
        }
        assert_eq!(mul(0x57, 0x83), 0xc1); // FIPS-197 example
    }

    #[test]
    fn share_layout_is_sops() {
        let shares = split(&[7u8; 32], 3, 2).unwrap();
        for (i, s) in shares.iter().enumerate() {
            assert_eq!(s.len(), 33);
            assert_eq!(s[32], (i + 1) as u8);
        }
    }

    #[test]
    fn bad_thresholds() {
        assert!(split(b"x", 2, 3).is_err());
        assert!(split(b"x", 2, 0).is_err());
        assert_eq!(combine(&[]), Err(ShamirError::NoShares));
    }

    proptest! {
        #[test]
        fn any_threshold_subset_recovers(secret in proptest::collection::vec(any::<u8>(), 1..40),
                                         parts in 1usize..6, pick in any::<u64>()) {
            let threshold = 1 + (pick as usize % parts);
            let shares = split(&secret, parts, threshold).unwrap();
            // take `threshold` shares starting at a rotating offset
            let start = (pick as usize / 7) % parts;
            let chosen: Vec<&[u8]> = (0..threshold).map(|k| shares[(start + k) % parts].as_slice()).collect();
            prop_assert_eq!(combine(&chosen).unwrap().to_vec(), secret.clone());
            if threshold > 1 {
                let too_few: Vec<&[u8]> = chosen[..threshold - 1].to_vec();
                // fewer shares give (almost always) something else; never a panic
                let _ = combine(&too_few);
            }
        }
    }
}
