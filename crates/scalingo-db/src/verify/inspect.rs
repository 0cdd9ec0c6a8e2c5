//! The verification itself, in one pass over the archive's bytes as they come: inflate the gzip
//! stream (its CRC-32 and length are checked at its end), walk the tar stream reading every
//! member to its end, hand the dump's bytes to the readers of its kind as they pass, then judge.
//! Nothing is kept but counts, so a 40 GiB archive verifies in the memory of a small one.

use std::io::{self, BufReader, Read};
use std::time::Instant;

use flate2::bufread::GzDecoder;

use super::VerifyOptions;
use super::classify::{self, MemberKind};
use super::judge::{self, Findings, Found, Restored};
use super::mongo::MongoScan;
use super::mysql::MysqlScan;
use super::postgres::PgReader;
use super::report::{DumpKind, Member, Report};
use super::target::RestoreTarget;
use crate::error::{Error, Result};

/// Members listed in a report at most (an archive of a million files is counted, not listed).
const LISTED_MEMBERS: usize = 1000;
/// How much of the archive is read at once.
const CHUNK: usize = 256 * 1024;

/// Verifies the archive `source` yields. A failure of `source` itself (the file or the download
/// it reads from) is an `Err`; anything wrong with the archive is in the report.
pub(super) fn inspect(source: impl Read, options: &VerifyOptions) -> Result<Report> {
    let started = Instant::now();
    let mut compressed = Counted::new(source);
    let mut findings = Findings::default();
    let walked = walk(&mut compressed, options, &mut findings);
    if let Some(error) = compressed.failed.take() {
        return Err(Error::Io {
            path: None,
            source: error,
        });
    }
    walked?;
    findings.archive.compressed_bytes = compressed.bytes;
    if let Some(target) = &options.restore_into {
        findings.restored = restored_rows(&findings, options, target)?;
    }
    Ok(judge::judge(findings, options, started.elapsed()))
}

/// Reads the whole archive into `findings`; an `Err` only for what cannot be judged (a tool that
/// cannot be started).
fn walk<R: Read>(
    source: &mut Counted<R>,
    options: &VerifyOptions,
    findings: &mut Findings,
) -> Result<()> {
    let mut buffered = BufReader::with_capacity(CHUNK, source);
    let mut gzip = Counted::new(GzDecoder::new(&mut buffered));
    let mut dump = DumpState::default();
    let mut stopped = None;
    let walked = walk_tar(&mut gzip, options, findings, &mut dump, &mut stopped);
    if let Some(error) = stopped {
        // Not the archive's fault: nothing can be judged.
        return Err(error);
    }
    // The tar stream ends before the gzip stream does (records are padded): read the rest, which
    // checks the trailer, then count what follows the gzip stream, which nothing should.
    let drained = walked.and_then(|()| io::copy(&mut gzip, &mut io::sink()).map(drop));
    findings.archive.tar_bytes = gzip.bytes;
    match drained {
        Ok(()) => {
            drop(gzip);
            // Zeros after the stream are padding, which gzip ignores; anything else (a second
            // member, which Scalingo's archives never have, or garbage) is not the archive.
            let after = not_zeros(&mut buffered);
            if after > 0 {
                findings.gzip = Some(format!(
                    "{after} bytes that are not padding follow the end of the gzip stream"
                ));
            }
        }
        Err(error) => {
            // Where it broke, in the archive's bytes, for the message.
            let inflated = gzip.inner.get_ref();
            let at = inflated.get_ref().bytes - inflated.buffer().len() as u64;
            let inside = if findings.dump_started {
                " (inside the dump)"
            } else {
                ""
            };
            let cut = if error.kind() == io::ErrorKind::UnexpectedEof
                || error.to_string().contains("incomplete")
            {
                "the archive is cut short: "
            } else {
                ""
            };
            let problem = format!("{cut}{error}, after {at} bytes of the archive{inside}");
            if gzip.failed.is_some() {
                findings.gzip = Some(problem);
            } else {
                findings.tar = Some(problem);
                // The tar stream is broken; whether the gzip stream around it is whole is still
                // worth knowing (a tar written wrong, or a transfer that damaged it).
                if let Err(error) = io::copy(&mut gzip, &mut io::sink()) {
                    findings.gzip =
                        Some(format!("{error}, in the bytes after the tar stream broke"));
                }
            }
            // The source is read to its end so that whoever writes it (a download) is not left
            // blocked.
            drop(gzip);
            let _ = io::copy(&mut buffered, &mut io::sink());
        }
    }
    dump.finish(findings);
    Ok(())
}

/// The dump being read, whichever kind it is.
#[derive(Default)]
enum DumpState {
    #[default]
    None,
    Postgres(Box<PgReader>),
    Mysql(MysqlScan),
    Mongo(MongoScan),
}

impl DumpState {
    fn feed(&mut self, bytes: &[u8]) {
        match self {
            DumpState::None => {}
            DumpState::Postgres(reader) => reader.feed(bytes),
            DumpState::Mysql(scan) => scan.feed(bytes),
            DumpState::Mongo(scan) => scan.feed(bytes),
        }
    }

    fn finish(self, findings: &mut Findings) {
        findings.found = match self {
            DumpState::None => findings.found.take(),
            DumpState::Postgres(reader) => findings.found.take().map(|found| Found {
                pg: Some(reader.finish()),
                ..found
            }),
            DumpState::Mysql(scan) => findings.found.take().map(|found| Found {
                mysql: Some(scan.finish()),
                ..found
            }),
            DumpState::Mongo(scan) => {
                let found = findings.found.take().filter(|_| !scan.is_empty());
                found.map(|found| Found {
                    mongo: Some(scan.finish()),
                    ..found
                })
            }
        };
    }
}

fn walk_tar(
    gzip: &mut impl Read,
    options: &VerifyOptions,
    findings: &mut Findings,
    dump: &mut DumpState,
    stopped: &mut Option<Error>,
) -> io::Result<()> {
    let mut tar = tar::Archive::new(gzip);
    let mut chunk = vec![0; CHUNK];
    for entry in tar.entries()? {
        let mut entry = entry?;
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let bytes = entry.size();
        findings.archive.member_count += 1;
        if findings.archive.members.len() < LISTED_MEMBERS {
            findings.archive.members.push(Member {
                name: name.clone(),
                bytes,
            });
        }
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let head = read_head(&mut entry, &mut chunk)?;
        let reading = match start_member(&name, &chunk[..head], bytes, options, findings, dump) {
            Ok(reading) => reading,
            Err(error) => {
                *stopped = Some(error);
                return Err(io::Error::other(
                    "a reader of the dump could not be started",
                ));
            }
        };
        let mut feed = |bytes: &[u8]| {
            if reading {
                dump.feed(bytes);
            }
        };
        feed(&chunk[..head]);
        loop {
            let read = entry.read(&mut chunk)?;
            if read == 0 {
                break;
            }
            feed(&chunk[..read]);
        }
        if reading && let DumpState::Mongo(scan) = dump {
            scan.end_member();
        }
    }
    Ok(())
}

/// Reads `reader` to its end: how many of its bytes are not zeros.
fn not_zeros(reader: &mut impl Read) -> u64 {
    let mut buffer = vec![0; CHUNK];
    let mut count = 0;
    while let Ok(read) = reader.read(&mut buffer) {
        if read == 0 {
            break;
        }
        count += buffer[..read].iter().filter(|&&byte| byte != 0).count() as u64;
    }
    count
}

/// Decides what to do with a member from its first bytes: `true` when its bytes are the dump's
/// (and the dump's readers have been started).
fn start_member(
    name: &str,
    head: &[u8],
    bytes: u64,
    options: &VerifyOptions,
    findings: &mut Findings,
    dump: &mut DumpState,
) -> Result<bool> {
    let kind = classify::classify(name, head);
    let dump_kind = match kind {
        MemberKind::Dump(kind) => kind,
        MemberKind::MongoCollection | MemberKind::MongoMetadata => DumpKind::Mongodb,
        MemberKind::Other => return Ok(false),
    };
    match (&mut *dump, kind) {
        (DumpState::Mongo(scan), MemberKind::MongoCollection) => {
            scan.start_collection(name);
            if let Some(found) = &mut findings.found {
                found.bytes += bytes;
            }
            return Ok(true);
        }
        (DumpState::Mongo(scan), MemberKind::MongoMetadata) => {
            scan.start_metadata(name);
            if let Some(found) = &mut findings.found {
                found.bytes += bytes;
            }
            return Ok(true);
        }
        (DumpState::None, _) => {}
        // One dump per archive: a second one is only read through.
        _ => return Ok(false),
    }
    if findings.found.is_some() {
        return Ok(false);
    }
    findings.found = Some(Found::new(dump_kind, dump_member(name, kind), bytes));
    // A dump of another kind than expected is not read: the verdict is already that it is not
    // the database's dump.
    if options.expect.is_some_and(|expected| expected != dump_kind) {
        return Ok(false);
    }
    findings.dump_started = true;
    *dump = match kind {
        MemberKind::Dump(DumpKind::Postgresql) => DumpState::Postgres(Box::new(PgReader::start(
            &options.programs,
            options.restore_into.as_ref(),
        )?)),
        MemberKind::Dump(DumpKind::Mysql) => DumpState::Mysql(MysqlScan::default()),
        _ => {
            let mut scan = MongoScan::default();
            if kind == MemberKind::MongoCollection {
                scan.start_collection(name);
            } else {
                scan.start_metadata(name);
            }
            DumpState::Mongo(scan)
        }
    };
    Ok(true)
}

/// The member a report names as the dump: the file, or for a `mongodump` folder the folder
/// (`dump/shop/orders.bson` → `dump`).
fn dump_member(name: &str, kind: MemberKind) -> String {
    match kind {
        MemberKind::Dump(_) => name.to_owned(),
        _ => name.split('/').next().unwrap_or(name).to_owned(),
    }
}

/// Fills as much of `buffer`'s first [`classify::HEAD`] bytes as the member has.
fn read_head(member: &mut impl Read, buffer: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < classify::HEAD {
        let read = member.read(&mut buffer[filled..classify::HEAD])?;
        if read == 0 {
            break;
        }
        filled += read;
    }
    Ok(filled)
}

/// A reader that counts its bytes and keeps the error its source gave, to tell the source's own
/// failures (a download that failed) from what the layers above make of its bytes.
struct Counted<R> {
    inner: R,
    bytes: u64,
    failed: Option<io::Error>,
}

impl<R> Counted<R> {
    fn new(inner: R) -> Self {
        Counted {
            inner,
            bytes: 0,
            failed: None,
        }
    }
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        match self.inner.read(buffer) {
            Ok(read) => {
                self.bytes += read as u64;
                Ok(read)
            }
            Err(error) => {
                let kind = error.kind();
                let message = error.to_string();
                self.failed = Some(error);
                Err(io::Error::new(kind, message))
            }
        }
    }
}

/// After a restore that went well, the rows of every table with data in the dump, counted in the
/// database: `(table, rows in the dump, rows restored)`.
fn restored_rows(
    findings: &Findings,
    options: &VerifyOptions,
    target: &RestoreTarget,
) -> Result<Option<Restored>> {
    let Some(pg) = findings.found.as_ref().and_then(|found| found.pg.as_ref()) else {
        return Ok(None);
    };
    let (Ok(rows), Some((Ok(()), _))) = (&pg.rows, &pg.restore) else {
        return Ok(None);
    };
    let tables: Vec<&String> = rows.keys().collect();
    let counted = super::postgres::count_restored(&options.programs, target, &tables)?;
    Ok(Some(counted.map(|counts| {
        rows.iter()
            .zip(counts)
            .map(|((table, dumped), restored)| (table.clone(), *dumped, restored))
            .collect()
    })))
}
