//! [`PositionedWriter`]: writes one range of an archive at its place in the part file, beside
//! the other ranges' writers, with positioned writes (`pwrite`) on a shared handle: no seek, so
//! writers never move each other's position.
//!
//! Bytes are gathered into a buffer of [`BUFFER`] bytes, whatever the network's chunk size, and
//! written on the runtime's blocking pool while the next buffer fills: one write in flight and
//! one buffer filling, so a range holds at most two buffers (memory is connections x 2 x
//! [`BUFFER`], whatever the archive's size) and the network waits for the disk only when the
//! disk is the slower.

use std::fs::File;
use std::io;
use std::sync::Arc;

use tokio::task::JoinHandle;

/// Writes reach the file in pieces of this size.
pub(super) const BUFFER: usize = 256 * 1024;

/// A write on the blocking pool: its buffer comes back with the outcome, to be filled again.
type Pending = JoinHandle<(Vec<u8>, io::Result<()>)>;

/// The writer of one range, from a given offset on.
pub(super) struct PositionedWriter {
    file: Arc<File>,
    /// Where the first byte of `buffer` goes.
    at: u64,
    buffer: Vec<u8>,
    /// The other buffer, back from its write.
    spare: Vec<u8>,
    pending: Option<(Pending, u64)>,
    /// Every byte before this offset (from where the writer started) is in the file.
    written: u64,
}

impl PositionedWriter {
    /// A writer of bytes from offset `at` on.
    pub(super) fn new(file: Arc<File>, at: u64) -> Self {
        PositionedWriter {
            file,
            at,
            buffer: Vec::new(),
            spare: Vec::new(),
            pending: None,
            written: at,
        }
    }

    /// The offset before which every byte given is in the file (not necessarily on disk: that
    /// takes a sync).
    pub(super) fn written(&self) -> u64 {
        self.written
    }

    /// Takes the next bytes; they reach the file later, or at [`PositionedWriter::flush`].
    pub(super) async fn write(&mut self, mut bytes: &[u8]) -> io::Result<()> {
        while !bytes.is_empty() {
            if self.buffer.capacity() == 0 {
                self.buffer.reserve_exact(BUFFER);
            }
            let taken = (BUFFER - self.buffer.len()).min(bytes.len());
            self.buffer.extend_from_slice(&bytes[..taken]);
            bytes = &bytes[taken..];
            if self.buffer.len() == BUFFER {
                self.submit().await?;
            }
        }
        Ok(())
    }

    /// Writes everything taken and waits for it: answers [`PositionedWriter::written`].
    pub(super) async fn flush(&mut self) -> io::Result<u64> {
        self.submit().await?;
        self.wait().await?;
        Ok(self.written)
    }

    /// Waits for the write in flight, then starts writing the buffer.
    async fn submit(&mut self) -> io::Result<()> {
        self.wait().await?;
        if self.buffer.is_empty() {
            return Ok(());
        }
        let buffer = std::mem::replace(&mut self.buffer, std::mem::take(&mut self.spare));
        let file = Arc::clone(&self.file);
        let at = self.at;
        self.at += buffer.len() as u64;
        let room = room();
        let job = tokio::task::spawn_blocking(move || {
            let outcome = write_within(&file, &buffer, at, room);
            (buffer, outcome)
        });
        self.pending = Some((job, self.at));
        Ok(())
    }

    /// Waits for the write in flight, if any.
    async fn wait(&mut self) -> io::Result<()> {
        if let Some((job, end)) = self.pending.take() {
            let (mut buffer, outcome) = job.await.map_err(io::Error::other)?;
            outcome?;
            buffer.clear();
            self.spare = buffer;
            self.written = end;
        }
        Ok(())
    }
}

/// Writes all of `bytes` at `offset`, in a file that cannot grow past `room` bytes (when said):
/// what fits is written, then the write fails as on a full disk.
fn write_within(file: &File, bytes: &[u8], offset: u64, room: Option<u64>) -> io::Result<()> {
    let Some(room) = room.filter(|room| offset + bytes.len() as u64 > *room) else {
        return write_all_at(file, bytes, offset);
    };
    let fits = usize::try_from(room.saturating_sub(offset))
        .map_or(bytes.len(), |fits| fits.min(bytes.len()));
    write_all_at(file, &bytes[..fits], offset)?;
    Err(io::Error::new(
        io::ErrorKind::StorageFull,
        "No space left on device",
    ))
}

/// How large the part file may grow: no bound but the disk's.
#[cfg(not(test))]
fn room() -> Option<u64> {
    None
}

#[cfg(test)]
tokio::task_local! {
    /// Test seam: a download run in this scope writes its ranges on a disk that is full past
    /// this offset of the part file, for want of a small file system to fill in a test.
    pub(super) static DISK_FULL_PAST: u64;
}

/// How large the part file may grow: as [`DISK_FULL_PAST`] says in its scope.
#[cfg(test)]
fn room() -> Option<u64> {
    DISK_FULL_PAST.try_with(|past| *past).ok()
}

/// Writes all of `bytes` at `offset`.
#[cfg(unix)]
pub(super) fn write_all_at(file: &File, bytes: &[u8], offset: u64) -> io::Result<()> {
    std::os::unix::fs::FileExt::write_all_at(file, bytes, offset)
}

/// Writes all of `bytes` at `offset`.
#[cfg(windows)]
pub(super) fn write_all_at(file: &File, mut bytes: &[u8], mut offset: u64) -> io::Result<()> {
    while !bytes.is_empty() {
        match std::os::windows::fs::FileExt::seek_write(file, bytes, offset) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => {
                bytes = &bytes[n..];
                offset += n as u64;
            }
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(())
}

/// Fills `buffer` from `offset`.
#[cfg(unix)]
pub(super) fn read_exact_at(file: &File, buffer: &mut [u8], offset: u64) -> io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buffer, offset)
}

/// Fills `buffer` from `offset`.
#[cfg(windows)]
pub(super) fn read_exact_at(file: &File, mut buffer: &mut [u8], mut offset: u64) -> io::Result<()> {
    while !buffer.is_empty() {
        match std::os::windows::fs::FileExt::seek_read(file, buffer, offset) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => {
                buffer = &mut buffer[n..];
                offset += n as u64;
            }
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "current_thread")]
    async fn ranges_written_side_by_side_land_at_their_places() {
        let dir = tempfile::tempdir().expect("a directory");
        let file = Arc::new(File::create_new(dir.path().join("part")).expect("created"));
        let content: Vec<u8> = (0..3 * BUFFER + 123).map(|i| (i % 251) as u8).collect();
        let middle = content.len() / 2;
        let mut second = PositionedWriter::new(Arc::clone(&file), middle as u64);
        let mut first = PositionedWriter::new(Arc::clone(&file), 0);
        // Interleaved, in chunks of odd sizes, the second range first.
        let mut seconds = content[middle..].chunks(10_007);
        let mut firsts = content[..middle].chunks(9_973);
        // Bounded: each turn takes a chunk of one side at least.
        for _ in 0..content.len() {
            let (a, b) = (seconds.next(), firsts.next());
            if a.is_none() && b.is_none() {
                break;
            }
            if let Some(a) = a {
                second.write(a).await.expect("write");
            }
            if let Some(b) = b {
                first.write(b).await.expect("write");
            }
            assert!(first.written() <= middle as u64);
        }
        assert_eq!(second.flush().await.expect("flush"), content.len() as u64);
        assert_eq!(first.flush().await.expect("flush"), middle as u64);
        assert_eq!(
            std::fs::read(dir.path().join("part")).expect("read"),
            content
        );
        let mut back = vec![0; 1000];
        read_exact_at(&file, &mut back, 5).expect("read back");
        assert_eq!(back, content[5..1005]);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_failed_write_is_an_error_and_what_it_held_is_not_written() {
        let dir = tempfile::tempdir().expect("a directory");
        let path = dir.path().join("part");
        std::fs::write(&path, b"").expect("created");
        // Opened for reading only: every write fails.
        let file = Arc::new(File::open(&path).expect("opened"));
        let mut writer = PositionedWriter::new(file, 10);
        writer
            .write(&[1; BUFFER])
            .await
            .expect("taken, written later");
        writer.flush().await.expect_err("the write failed");
        assert_eq!(writer.written(), 10, "nothing counts as written");
    }
}
