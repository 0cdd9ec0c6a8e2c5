//! The sha256 of a downloaded file, by which the benchmarks prove two downloads byte-identical
//! (a resumed one against an uninterrupted one, ours against curl's) without holding either.

use std::path::Path;

/// The sha256 of a file, in hex; the error says why not. Read in large blocks: it hashes
/// hundreds of MiB, or GiB.
pub fn sha256sum(path: &Path) -> Result<String, String> {
    use sha2::Digest as _;
    use std::io::Read as _;

    let failed = |error: std::io::Error| format!("cannot hash {}: {error}", path.display());
    let mut file = std::fs::File::open(path).map_err(failed)?;
    let mut hasher = sha2::Sha256::new();
    let mut block = vec![0; 1 << 20];
    loop {
        let read = file.read(&mut block).map_err(failed)?;
        if read == 0 {
            break;
        }
        hasher.update(&block[..read]);
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_a_file_as_sha256sum_does() {
        let path = std::env::temp_dir().join(format!("bench-sha256-{}", std::process::id()));
        std::fs::write(&path, b"abc").unwrap();
        let digest = sha256sum(&path);
        std::fs::remove_file(&path).ok();
        // FIPS 180-2's example for "abc".
        assert_eq!(
            digest.unwrap(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(sha256sum(&path).unwrap_err().contains("cannot hash"));
    }
}
