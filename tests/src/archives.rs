//! Backup archives made in tests: a `.tar.gz` of given members, as the platform packs a dump.

use std::io::Write as _;

/// A `.tar.gz` of `members` (path, content), packed as the platform packs a backup.
pub fn tar_gz(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut tar = tar::Builder::new(Vec::new());
    for (path, content) in members {
        let mut header = tar::Header::new_gnu();
        header.set_size(content.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        tar.append_data(&mut header, path, *content)
            .expect("in memory");
    }
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gzip.write_all(&tar.into_inner().expect("in memory"))
        .expect("in memory");
    gzip.finish().expect("in memory")
}
