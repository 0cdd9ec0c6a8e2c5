//! Opening a download's files without being led elsewhere: a `.part` or its sidecar that is a
//! symbolic link, a FIFO or a device is refused, never followed, and a new one is created
//! exclusively, as tools that write into shared folders do. Otherwise anyone who can write in
//! the folder could point `<path>.part` at a victim file, which the download would truncate and
//! overwrite (and then rename the link into place).
//!
//! On unix the files are opened with `O_NOFOLLOW` (a link at the last component fails the open
//! itself) and `O_NONBLOCK` (a FIFO put there meanwhile does not block the open), then checked
//! through the opened handle. Elsewhere the path is looked at just before it is opened.
//! Everything here blocks: callers run it off the async runtime's threads.

use std::fs::{File, FileType, OpenOptions};
use std::io;
use std::path::Path;

/// What is at a path, links not followed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Found {
    /// Nothing.
    Nothing,
    /// A regular file.
    File,
    /// Something else, as people call it ("a symbolic link").
    Other(&'static str),
}

/// What is at `path`, without following a link.
pub(super) fn look(path: &Path) -> io::Result<Found> {
    match std::fs::symlink_metadata(path) {
        Ok(metadata) if metadata.is_file() => Ok(Found::File),
        Ok(metadata) => Ok(Found::Other(describe(metadata.file_type()))),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(Found::Nothing),
        Err(error) => Err(error),
    }
}

/// A file type as people call it.
fn describe(file_type: FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt as _;
        if file_type.is_char_device() {
            return "a character device";
        }
        if file_type.is_block_device() {
            return "a block device";
        }
        if file_type.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if file_type.is_socket() {
            return "a socket";
        }
    }
    if file_type.is_symlink() {
        "a symbolic link"
    } else if file_type.is_dir() {
        "a directory"
    } else {
        "something other than a file"
    }
}

/// The refusal of `what` (as [`Found::Other`] describes it), saying `why` nothing is done to it.
pub(super) fn refusal(what: &str, why: &str) -> io::Error {
    io::Error::other(format!("{what}, not a regular file: {why}"))
}

/// What a file is opened for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Access {
    /// Reading.
    Read,
    /// Reading, and writing at its end (a part written by one stream).
    Append,
    /// Reading, and writing anywhere (a part written in ranges). Never with `O_APPEND`, which
    /// makes Linux's positioned writes land at the end of the file whatever their offset.
    Positioned,
}

impl Access {
    fn options(self) -> OpenOptions {
        let mut options = OpenOptions::new();
        match self {
            Access::Read => options.read(true),
            Access::Append => options.read(true).append(true),
            Access::Positioned => options.read(true).write(true),
        };
        options
    }
}

/// Opens the existing regular file at `path` for `access`, never through a symbolic link and
/// never waiting on a FIFO. Anything but a regular file is refused with [`refusal`] and `why`.
pub(super) fn open_regular(path: &Path, access: Access, why: &str) -> io::Result<File> {
    let mut options = access.options();
    no_follow(&mut options);
    if !cfg!(unix)
        && let Found::Other(what) = look(path)?
    {
        return Err(refusal(what, why));
    }
    let file = options.open(path).map_err(|error| {
        if is_link_refusal(&error) {
            refusal("a symbolic link", why)
        } else {
            error
        }
    })?;
    let metadata = file.metadata()?;
    if !metadata.is_file() {
        return Err(refusal(describe(metadata.file_type()), why));
    }
    Ok(file)
}

/// Creates a regular file at `path` for `access` (not [`Access::Read`]); whatever is there
/// already, a dangling link included, makes it fail (`AlreadyExists`).
pub(super) fn create_new(path: &Path, access: Access) -> io::Result<File> {
    let mut options = access.options();
    options.create_new(true);
    no_follow(&mut options);
    options.open(path)
}

/// Replaces the small file at `path` (a regular file or nothing; anything else is refused with
/// [`refusal`] and `why`) by one holding `bytes`, all at once: they are written to `<path>.new`,
/// created exclusively (whatever was left there is removed first, a link itself, never what it
/// points to), which is then renamed over `path`. A crash leaves the old file or the new one,
/// never a mix.
pub(super) fn replace_small(path: &Path, bytes: &[u8], why: &str) -> io::Result<()> {
    use std::io::Write as _;
    if let Found::Other(what) = look(path)? {
        return Err(refusal(what, why));
    }
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".new");
    let new = path.with_file_name(name);
    remove(&new)?;
    let written = create_new(&new, Access::Positioned).and_then(|mut file| file.write_all(bytes));
    if let Err(error) = written.and_then(|()| std::fs::rename(&new, path)) {
        let _ = remove(&new);
        return Err(error);
    }
    Ok(())
}

/// Whether `path` (not followed) is still the regular file whose metadata is `of`, as opened
/// earlier: not something put in its place since.
pub(super) fn is_same_file(of: &std::fs::Metadata, path: &Path) -> io::Result<bool> {
    let now = std::fs::symlink_metadata(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt as _;
        Ok(now.is_file() && now.dev() == of.dev() && now.ino() == of.ino())
    }
    #[cfg(not(unix))]
    {
        let _ = of;
        Ok(now.is_file())
    }
}

/// Removes what is at `path`, if anything: a link itself, never what it points to.
pub(super) fn remove(path: &Path) -> io::Result<()> {
    match std::fs::remove_file(path) {
        Err(error) if error.kind() != io::ErrorKind::NotFound => Err(error),
        _ => Ok(()),
    }
}

#[cfg(unix)]
fn no_follow(options: &mut OpenOptions) {
    use std::os::unix::fs::OpenOptionsExt as _;
    // O_NONBLOCK changes nothing for a regular file; for a FIFO, it makes the open return
    // instead of waiting for a reader, and the type check then refuses it.
    options.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
}

#[cfg(not(unix))]
fn no_follow(_: &mut OpenOptions) {}

/// Whether `open` failed because the path is a symbolic link (`O_NOFOLLOW`'s `ELOOP`).
fn is_link_refusal(error: &io::Error) -> bool {
    #[cfg(unix)]
    {
        error.raw_os_error() == Some(libc::ELOOP)
    }
    #[cfg(not(unix))]
    {
        let _ = error;
        false
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn a_link_is_seen_refused_and_removed_without_touching_its_target() {
        let dir = tempfile::tempdir().expect("a directory");
        let victim = dir.path().join("victim");
        std::fs::write(&victim, b"precious").expect("write");
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&victim, &link).expect("symlink");

        assert_eq!(look(&link).expect("look"), Found::Other("a symbolic link"));
        assert_eq!(look(&victim).expect("look"), Found::File);
        assert_eq!(
            look(&dir.path().join("none")).expect("look"),
            Found::Nothing
        );
        assert_eq!(look(dir.path()).expect("look"), Found::Other("a directory"));

        let refused = open_regular(&link, Access::Append, "left alone").expect_err("a link");
        assert_eq!(
            refused.to_string(),
            "a symbolic link, not a regular file: left alone"
        );
        let exists = create_new(&link, Access::Positioned).expect_err("something is there");
        assert_eq!(exists.kind(), io::ErrorKind::AlreadyExists);
        remove(&link).expect("remove the link");
        remove(&link).expect("nothing to remove is fine");
        assert_eq!(std::fs::read(&victim).expect("read"), b"precious");
    }

    #[test]
    fn a_small_file_is_replaced_whole_and_a_link_in_its_way_is_refused() {
        let dir = tempfile::tempdir().expect("a directory");
        let path = dir.path().join("sidecar");
        replace_small(&path, b"one", "left alone").expect("created");
        replace_small(&path, b"two, longer", "left alone").expect("replaced");
        assert_eq!(std::fs::read(&path).expect("read"), b"two, longer");
        // A leftover of a crash in the middle is replaced too; none stays behind.
        std::fs::write(dir.path().join("sidecar.new"), b"half").expect("write");
        replace_small(&path, b"three", "left alone").expect("replaced");
        assert_eq!(std::fs::read(&path).expect("read"), b"three");
        assert!(!dir.path().join("sidecar.new").exists());

        let victim = dir.path().join("victim");
        std::fs::write(&victim, b"precious").expect("write");
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&victim, &link).expect("symlink");
        let refused = replace_small(&link, b"x", "left alone").expect_err("a link");
        assert_eq!(
            refused.to_string(),
            "a symbolic link, not a regular file: left alone"
        );
        // A link put where the new file goes is removed, never followed.
        std::os::unix::fs::symlink(&victim, dir.path().join("sidecar.new")).expect("symlink");
        replace_small(&path, b"four", "left alone").expect("replaced");
        assert_eq!(std::fs::read(&victim).expect("read"), b"precious");
        assert_eq!(std::fs::read(&path).expect("read"), b"four");
    }

    #[test]
    fn a_device_is_refused_without_being_opened_for_long() {
        let refused =
            open_regular(Path::new("/dev/null"), Access::Read, "left alone").expect_err("a device");
        assert!(
            refused
                .to_string()
                .starts_with("a character device, not a regular file"),
            "{refused}"
        );
    }
}
