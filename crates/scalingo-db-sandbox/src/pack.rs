//! Packs a dump the way the platform packs a backup (a `.tar.gz` holding the database tool's
//! output) into a temporary file, once at start-up, so that every download of it is a read of
//! that file and never a second packing, nor a GiB held in memory.
//!
//! The bytes depend on the dump alone: every header has mtime 0, uid and gid 0 and mode 0644
//! (0755 for folders), folders are walked in name order, and gzip's mtime is 0. The same dump
//! therefore gives the same archive, hence the same `ETag`, from one run to the next, and a
//! client resuming across a restart keeps its part.

use std::fs::File;
use std::io::{self, BufWriter, Read as _, Write};
use std::path::{Path, PathBuf};

use flate2::{Compression, GzBuilder};
use sha2::{Digest as _, Sha256};

/// A packed archive in an unnamed temporary file: its length and the SHA-256 of its bytes.
pub struct Packed {
    /// The archive. Unnamed, so the OS removes it once the last handle closes, even when the
    /// sandbox is killed: no stale file is left for the next start to find.
    pub file: File,
    /// Its length in bytes.
    pub len: u64,
    /// The SHA-256 of its bytes.
    pub digest: [u8; 32],
}

/// Packs `path` (a dump file, or a folder packed whole under its own name) into a temporary file
/// in the system's temporary folder.
pub fn pack(path: &Path) -> io::Result<Packed> {
    let name = member_name(path)?;
    let file = tempfile::tempfile()?;
    let hashing = Hashing {
        inner: BufWriter::new(file),
        hasher: Sha256::new(),
        len: 0,
    };
    // Level 1: a 1 GiB dump packs in seconds rather than a minute, and `pg_dump -Fc` output is
    // compressed already, so a higher level would gain little.
    let gzip = GzBuilder::new()
        .mtime(0)
        .write(hashing, Compression::fast());
    let mut tar = tar::Builder::new(gzip);
    append(&mut tar, path, &name)?;
    let hashing = tar.into_inner()?.finish()?;
    let file = hashing
        .inner
        .into_inner()
        .map_err(io::IntoInnerError::into_error)?;
    Ok(Packed {
        file,
        len: hashing.len,
        digest: hashing.hasher.finalize().into(),
    })
}

/// The top member's name: the path's last component, or for `.` and the like, the last
/// component of the folder it resolves to.
fn member_name(path: &Path) -> io::Result<PathBuf> {
    if let Some(name) = path.file_name() {
        return Ok(PathBuf::from(name));
    }
    std::fs::canonicalize(path)?
        .file_name()
        .map(PathBuf::from)
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("`{}` has no name to pack it under", path.display()),
            )
        })
}

/// Appends `path` as the member `name`: a file as is, a folder with everything in it, in name
/// order. Links and special files are refused rather than followed or dropped, so the archive
/// holds exactly the dump that was named.
fn append<W: Write>(tar: &mut tar::Builder<W>, path: &Path, name: &Path) -> io::Result<()> {
    let metadata = std::fs::symlink_metadata(path)?;
    if metadata.is_dir() {
        let mut header = header(tar::EntryType::Directory, 0o755, 0);
        tar.append_data(&mut header, name, io::empty())?;
        let mut entries = std::fs::read_dir(path)?
            .map(|entry| entry.map(|entry| entry.file_name()))
            .collect::<io::Result<Vec<_>>>()?;
        entries.sort();
        for entry in entries {
            append(tar, &path.join(&entry), &name.join(&entry))?;
        }
        Ok(())
    } else if metadata.is_file() {
        let file = File::open(path)?;
        let len = file.metadata()?.len();
        let mut header = header(tar::EntryType::Regular, 0o644, len);
        let mut content = file.take(len);
        tar.append_data(&mut header, name, &mut content)?;
        if content.limit() > 0 {
            // The header already promised `len` bytes: the archive would be corrupt.
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("`{}` shrank while it was packed", path.display()),
            ));
        }
        Ok(())
    } else {
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "`{}` is neither a file nor a folder: a dump holds only those",
                path.display()
            ),
        ))
    }
}

/// A header with nothing of the machine it was packed on; the path and checksum are set when it
/// is appended.
fn header(kind: tar::EntryType, mode: u32, len: u64) -> tar::Header {
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(kind);
    header.set_mode(mode);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(0);
    header.set_size(len);
    header
}

/// Hashes and counts what goes through it: the archive's digest and length come from the one
/// pass that writes it.
struct Hashing<W> {
    inner: W,
    hasher: Sha256,
    len: u64,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let written = self.inner.write(buf)?;
        self.hasher.update(&buf[..written]);
        self.len += written as u64;
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    use std::io::Seek as _;

    /// The whole archive in `packed`, for small test dumps.
    pub(crate) fn bytes_of(packed: &Packed) -> Vec<u8> {
        let mut file = packed.file.try_clone().expect("a handle");
        file.rewind().expect("rewind");
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).expect("read");
        bytes
    }

    /// Each member of a `.tar.gz`: its path, type, mode and content.
    pub(crate) fn members(archive: &[u8]) -> Vec<(String, tar::EntryType, u32, Vec<u8>)> {
        let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(archive));
        tar.entries()
            .expect("tar entries")
            .map(|entry| {
                let mut entry = entry.expect("an entry");
                let header = entry.header();
                assert_eq!(header.mtime().expect("mtime"), 0);
                assert_eq!(header.uid().expect("uid"), 0);
                assert_eq!(header.gid().expect("gid"), 0);
                let kind = header.entry_type();
                let mode = header.mode().expect("mode");
                let path = entry.path().expect("a path").display().to_string();
                let mut content = Vec::new();
                entry.read_to_end(&mut content).expect("content");
                (path, kind, mode, content)
            })
            .collect()
    }

    #[test]
    fn a_dump_file_is_one_member_named_after_it_with_its_exact_bytes() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let dump = dir.path().join("shop.pgdump");
        // Bytes that are no text, across several tar blocks.
        let content: Vec<u8> = (0..5000u32).map(|i| (i * 7 % 251) as u8).collect();
        std::fs::write(&dump, &content).expect("write");

        let packed = pack(&dump).expect("packed");
        let bytes = bytes_of(&packed);
        assert_eq!(bytes.len() as u64, packed.len);
        assert_eq!(<[u8; 32]>::from(Sha256::digest(&bytes)), packed.digest);
        assert_eq!(
            members(&bytes),
            [(
                "shop.pgdump".to_owned(),
                tar::EntryType::Regular,
                0o644,
                content
            )]
        );
    }

    #[test]
    fn packing_is_reproducible() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let dump = dir.path().join("dump.sql");
        std::fs::write(&dump, "CREATE TABLE t (id int);\n").expect("write");
        let first = pack(&dump).expect("packed");
        // Another modification time and mode must not show in the archive.
        std::fs::write(&dump, "CREATE TABLE t (id int);\n").expect("write");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&dump, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        }
        let second = pack(&dump).expect("packed");
        assert_eq!(bytes_of(&first), bytes_of(&second));
        assert_eq!(first.digest, second.digest);
        // gzip's own mtime (bytes 4 to 7) is 0 too.
        assert_eq!(&bytes_of(&first)[4..8], &[0, 0, 0, 0]);

        std::fs::write(&dump, "CREATE TABLE u (id int);\n").expect("write");
        assert_ne!(pack(&dump).expect("packed").digest, first.digest);
    }

    #[test]
    fn a_folder_keeps_its_name_and_files_in_name_order() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let dump = dir.path().join("dump");
        std::fs::create_dir_all(dump.join("shop")).expect("mkdir");
        std::fs::write(dump.join("shop/orders.bson"), b"\x05\x00\x00\x00\x00").expect("write");
        std::fs::write(dump.join("shop/orders.metadata.json"), "{}").expect("write");
        std::fs::write(dump.join("admin.bson"), b"").expect("write");

        // A trailing slash names the same folder, as it does for `tar`.
        let packed = pack(&dir.path().join("dump/")).expect("packed");
        let listed: Vec<_> = members(&bytes_of(&packed))
            .into_iter()
            .map(|(path, kind, mode, content)| (path, kind, mode, content.len()))
            .collect();
        use tar::EntryType::{Directory, Regular};
        assert_eq!(
            listed,
            [
                ("dump".to_owned(), Directory, 0o755, 0),
                ("dump/admin.bson".to_owned(), Regular, 0o644, 0),
                ("dump/shop".to_owned(), Directory, 0o755, 0),
                ("dump/shop/orders.bson".to_owned(), Regular, 0o644, 5),
                (
                    "dump/shop/orders.metadata.json".to_owned(),
                    Regular,
                    0o644,
                    2
                ),
            ]
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_link_inside_a_folder_is_refused_not_followed() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let dump = dir.path().join("dump");
        std::fs::create_dir(&dump).expect("mkdir");
        std::os::unix::fs::symlink("/etc/hostname", dump.join("x.bson")).expect("symlink");
        let error = pack(&dump).err().expect("refused");
        assert!(
            error.to_string().contains("neither a file nor a folder"),
            "{error}"
        );
    }
}
