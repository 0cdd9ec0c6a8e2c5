//! The sandbox's state as a file: what a later run (of the binary with `--state-file`, or of a
//! command-line tool using an embedded sandbox) needs to find the same databases, users and
//! backups. Tokens are not kept: they are short-lived and reissued.
//!
//! Passwords are kept as the store keeps them, salted SHA-256, never in clear.

use std::io::Write as _;
use std::path::Path;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The version of the file format, checked on load.
const FORMAT: u32 = 1;

/// Everything a sandbox holds, but its tokens.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SandboxState {
    format: u32,
    pub(crate) databases: Vec<DatabaseState>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct DatabaseState {
    pub(crate) id: String,
    pub(crate) app: String,
    #[serde(rename = "type")]
    pub(crate) kind: String,
    pub(crate) users: Vec<UserState>,
    /// Oldest first.
    pub(crate) backups: Vec<BackupState>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct UserState {
    pub(crate) name: String,
    pub(crate) read_only: bool,
    pub(crate) protected: bool,
    /// Hex of the salt, then of the salted SHA-256 of the password.
    pub(crate) salt: String,
    pub(crate) password_sha256: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct BackupState {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) method: String,
}

impl SandboxState {
    pub(crate) fn new(databases: Vec<DatabaseState>) -> Self {
        SandboxState {
            format: FORMAT,
            databases,
        }
    }

    /// Reads a state file; `Ok(None)` when there is none yet.
    pub fn load(path: &Path) -> std::io::Result<Option<SandboxState>> {
        let text = match std::fs::read(path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(error),
        };
        let state: SandboxState = serde_json::from_slice(&text).map_err(|error| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("{} is not a sandbox state file: {error}", path.display()),
            )
        })?;
        if state.format != FORMAT {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!(
                    "{} has state format {}, this sandbox reads {FORMAT}",
                    path.display(),
                    state.format
                ),
            ));
        }
        Ok(Some(state))
    }

    /// Writes the state to `path` atomically: to a temporary file beside it, synced, then renamed
    /// over it, so a crash leaves either the old state or the new one.
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        let mut name = path.file_name().unwrap_or_default().to_os_string();
        name.push(format!(".{}.tmp", std::process::id()));
        let temporary = path.with_file_name(name);
        let write = || -> std::io::Result<()> {
            let mut file = std::fs::File::create(&temporary)?;
            file.write_all(&serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?)?;
            file.sync_all()?;
            std::fs::rename(&temporary, path)
        };
        write().inspect_err(|_| {
            let _ = std::fs::remove_file(&temporary);
        })
    }
}

/// Lower-case hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// The bytes of lower-case or upper-case hex, if it is that, of exactly `N` bytes.
pub(crate) fn unhex<const N: usize>(text: &str) -> Option<[u8; N]> {
    let mut bytes = [0; N];
    if text.len() != 2 * N {
        return None;
    }
    for (byte, pair) in bytes.iter_mut().zip(text.as_bytes().chunks(2)) {
        *byte = u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()?;
    }
    Some(bytes)
}
