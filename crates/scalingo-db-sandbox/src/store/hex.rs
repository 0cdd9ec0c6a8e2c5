//! Fixed-size byte arrays (salts, hashes) as lower-case hex strings in a state file, so the file
//! stays readable and its format the one earlier versions wrote.

use serde::de::Error as _;
use serde::{Deserialize as _, Deserializer, Serializer};

/// Writes `bytes` as lower-case hex.
pub fn serialize<S: Serializer, const N: usize>(
    bytes: &[u8; N],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    let text: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
    serializer.serialize_str(&text)
}

/// Reads hex (either case) of exactly `N` bytes.
pub fn deserialize<'de, D: Deserializer<'de>, const N: usize>(
    deserializer: D,
) -> Result<[u8; N], D::Error> {
    let text = std::borrow::Cow::<str>::deserialize(deserializer)?;
    unhex(&text).ok_or_else(|| D::Error::custom(format!("expected the hex of {N} bytes")))
}

fn unhex<const N: usize>(text: &str) -> Option<[u8; N]> {
    if text.len() != 2 * N || !text.bytes().all(|byte| byte.is_ascii_hexdigit()) {
        return None;
    }
    let mut bytes = [0; N];
    for (byte, pair) in bytes.iter_mut().zip(text.as_bytes().chunks(2)) {
        *byte = u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()?;
    }
    Some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_hex_of_the_exact_length_reads() {
        assert_eq!(unhex::<2>("0aFf"), Some([0x0a, 0xff]));
        assert_eq!(unhex::<2>("0aF"), None);
        assert_eq!(unhex::<2>("0aFfee"), None);
        assert_eq!(unhex::<2>("0g00"), None);
        assert_eq!(
            unhex::<2>("+a00"),
            None,
            "from_str_radix accepts a sign; hex does not"
        );
    }
}
