//! What a sandbox starts with: its databases, the API tokens it accepts, the timings that make it
//! behave like the real service (or instantly, for tests), and the clock it reads them on.

use std::num::NonZeroU64;
use std::time::Duration;

use crate::archive_source::ArchiveSource;
use crate::clock::Clock;
use crate::public_url::PublicUrl;
use crate::state::SandboxState;

/// The engines a Scalingo database can run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DatabaseType {
    /// PostgreSQL (users carry `dbms_attributes.password_encryption`).
    Postgresql,
    /// MySQL.
    Mysql,
    /// MongoDB.
    Mongodb,
    /// InfluxDB.
    Influxdb,
    /// Redis (no user management).
    Redis,
    /// OpenSearch (no user management).
    Opensearch,
    /// Elasticsearch (no user management).
    Elasticsearch,
}

impl DatabaseType {
    /// Every type, for help texts.
    pub const ALL: [DatabaseType; 7] = [
        DatabaseType::Postgresql,
        DatabaseType::Mysql,
        DatabaseType::Mongodb,
        DatabaseType::Influxdb,
        DatabaseType::Redis,
        DatabaseType::Opensearch,
        DatabaseType::Elasticsearch,
    ];

    /// The type's name as Scalingo spells it.
    pub fn name(self) -> &'static str {
        match self {
            DatabaseType::Postgresql => "postgresql",
            DatabaseType::Mysql => "mysql",
            DatabaseType::Mongodb => "mongodb",
            DatabaseType::Influxdb => "influxdb",
            DatabaseType::Redis => "redis",
            DatabaseType::Opensearch => "opensearch",
            DatabaseType::Elasticsearch => "elasticsearch",
        }
    }

    /// The type's place in [`DatabaseType::ALL`], to index per-type tables.
    pub(crate) fn index(self) -> usize {
        self as usize
    }

    /// Whether the engine has point-in-time recovery (PostgreSQL alone).
    pub fn supports_pitr(self) -> bool {
        self == DatabaseType::Postgresql
    }

    /// Whether the Database API manages this engine's users (the official CLI's allow-list).
    pub fn supports_users(self) -> bool {
        matches!(
            self,
            DatabaseType::Postgresql
                | DatabaseType::Mysql
                | DatabaseType::Mongodb
                | DatabaseType::Influxdb
        )
    }
}

impl std::str::FromStr for DatabaseType {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        DatabaseType::ALL
            .into_iter()
            .find(|kind| kind.name() == name)
            .ok_or_else(|| {
                let known: Vec<_> = DatabaseType::ALL.iter().map(|kind| kind.name()).collect();
                format!(
                    "unknown database type `{name}`; known: {}",
                    known.join(", ")
                )
            })
    }
}

/// As its name, the way a state file keeps it.
impl serde::Serialize for DatabaseType {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl<'de> serde::Deserialize<'de> for DatabaseType {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = std::borrow::Cow::<str>::deserialize(deserializer)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

/// A database the sandbox starts with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DatabaseSeed {
    /// Its addon id, used in paths (`ad-...`).
    pub id: String,
    /// The app it belongs to; the protected default user is named after it (`my-app` →
    /// `my_app_<digits>`).
    pub app: String,
    /// Its engine.
    pub kind: DatabaseType,
}

impl DatabaseSeed {
    /// A database `id` of `kind` attached to `app`.
    pub fn new(id: impl Into<String>, app: impl Into<String>, kind: DatabaseType) -> Self {
        DatabaseSeed {
            id: id.into(),
            app: app.into(),
            kind,
        }
    }
}

impl std::str::FromStr for DatabaseSeed {
    type Err = String;

    /// `id:app:type`, e.g. `ad-1234:my-app:postgresql`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let parts: Vec<&str> = text.split(':').collect();
        match parts.as_slice() {
            [id, app, kind] if !id.is_empty() && !app.is_empty() => {
                Ok(DatabaseSeed::new(*id, *app, kind.parse()?))
            }
            _ => Err(format!(
                "`{text}` is not `id:app:type` (e.g. ad-1234:my-app:postgresql)"
            )),
        }
    }
}

/// Everything a sandbox starts with. [`Default`] gives one PostgreSQL and one Redis database, one
/// API token, instant backups and operations, and a 1 MiB archive.
///
/// Its `Debug` shows how many API tokens there are, never their values.
#[derive(Clone)]
pub struct SandboxConfig {
    /// The databases.
    pub databases: Vec<DatabaseSeed>,
    /// The API tokens `POST /v1/tokens/exchange` accepts.
    pub api_tokens: Vec<String>,
    /// How long a user token (from the exchange) stays valid.
    pub user_token_lifetime: Duration,
    /// How long a database token (from the addon token endpoint) stays valid.
    pub database_token_lifetime: Duration,
    /// How long an archive link stays valid.
    pub archive_link_lifetime: Duration,
    /// How long a new backup stays `scheduled`.
    pub backup_scheduled_for: Duration,
    /// How long a backup then stays `running` before it is `done`.
    pub backup_running_for: Duration,
    /// How long a new operation (a point-in-time restore) stays `pending`.
    pub operation_pending_for: Duration,
    /// How long an operation then stays `running` before it is `finished`.
    pub operation_running_for: Duration,
    /// The size of every generated backup archive, in bytes (the archive is generated, never
    /// stored).
    pub archive_size: u64,
    /// Real dumps that backups serve instead of generated archives (`--archive-from`): at most
    /// one per database type, and one without a type for the types not named. Each is packed
    /// once when the sandbox starts, as the platform packs it, into a temporary file the sandbox
    /// reads ranges from; a database type no source covers keeps generated archives. Empty by
    /// default.
    pub archive_from: Vec<ArchiveSource>,
    /// Serve the control routes under `/_sandbox/` (faults, counters, tokens, clock; off by
    /// default).
    pub control_routes: bool,
    /// Databases, users and backups kept from an earlier run ([`crate::Sandbox::state`]); the
    /// configured databases it lacks start fresh.
    pub state: Option<SandboxState>,
    /// Where the sandbox reads the time ([`Clock::system`] by default); a [`Clock::manual`] one
    /// lets a test move backups and tokens forward without waiting.
    pub clock: Clock,
    /// How many tokens the sandbox keeps (valid ones, and expired ones for the hour they are
    /// still refused as expired); 100,000 by default. At the limit, a new token makes the sandbox
    /// forget the one closest to its expiry, which is then refused as unknown (a warning is
    /// logged). Expired tokens are forgotten an hour after their expiry, a few at each issue.
    pub token_limit: usize,
    /// The base URL of the links the sandbox answers (an archive's `download_url`), for clients
    /// that reach it through a proxy (`"https://proxy.example/sandbox".parse()?`). `None` (the
    /// default) gives `http://<the address it listens on>`. Links are never built from a
    /// request's `Host` header, which any client can set.
    pub public_url: Option<PublicUrl>,
    /// How long a connection may take to send a request's head (line and headers), counted from
    /// when the sandbox waits for it: a new connection, or one kept alive after an answer. Past
    /// it the connection is closed; 10 s by default.
    pub header_read_timeout: Duration,
    /// How long a request's body, or the writing of an answer, may make no progress (the client
    /// sends nothing, or reads nothing) before the connection is closed; 30 s by default. A
    /// stalled body is answered 408 when the sandbox can still answer.
    pub idle_timeout: Duration,
    /// The throughput of the emulated object-storage link that archives come through, in bytes
    /// per second: each archive download request (so each connection, which HTTP/1.1 gives one
    /// request at a time) is sent no faster, and several at once each get this rate, as from
    /// object storage. `None` (the default): no cap. Real time, not [`SandboxConfig::clock`].
    pub link_rate: Option<NonZeroU64>,
    /// The latency of the same link, one way: an archive download request is answered this long
    /// after it arrives, and its answer's head is sent this long after it is ready, so its first
    /// byte comes twice this after the request was sent (a round trip). Zero (the default): none.
    /// Connection set-up is not delayed. Real time, not [`SandboxConfig::clock`].
    pub link_latency: Duration,
}

impl std::fmt::Debug for SandboxConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Written by hand: a derived `Debug` would print every API token. The saved state is
        // summed up too, as it holds password hashes and can be large.
        let mut debug = f.debug_struct("SandboxConfig");
        debug
            .field("databases", &self.databases)
            .field(
                "api_tokens",
                &format_args!("<{} redacted>", self.api_tokens.len()),
            )
            .field("user_token_lifetime", &self.user_token_lifetime)
            .field("database_token_lifetime", &self.database_token_lifetime)
            .field("archive_link_lifetime", &self.archive_link_lifetime)
            .field("backup_scheduled_for", &self.backup_scheduled_for)
            .field("backup_running_for", &self.backup_running_for)
            .field("operation_pending_for", &self.operation_pending_for)
            .field("operation_running_for", &self.operation_running_for)
            .field("archive_size", &self.archive_size)
            .field("archive_from", &self.archive_from)
            .field("control_routes", &self.control_routes)
            .field("clock", &self.clock)
            .field("token_limit", &self.token_limit)
            .field("public_url", &self.public_url)
            .field("header_read_timeout", &self.header_read_timeout)
            .field("idle_timeout", &self.idle_timeout)
            .field("link_rate", &self.link_rate)
            .field("link_latency", &self.link_latency);
        match &self.state {
            Some(state) => debug.field(
                "state",
                &format_args!("Some(<{} saved databases>)", state.databases.len()),
            ),
            None => debug.field("state", &None::<()>),
        };
        debug.finish()
    }
}

/// The database of the default configuration.
pub const DEFAULT_DATABASE: &str = "ad-5a4b0d7e-sandbox-postgresql";
/// A second default database, whose engine has no user management.
pub const DEFAULT_REDIS_DATABASE: &str = "ad-5a4b0d7e-sandbox-redis";
/// The app of the default databases.
pub const DEFAULT_APP: &str = "sandbox-app";
/// The API token of the default configuration.
pub const DEFAULT_API_TOKEN: &str = "tk-us-sandbox-0000000000000000000000000000";

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            databases: vec![
                DatabaseSeed::new(DEFAULT_DATABASE, DEFAULT_APP, DatabaseType::Postgresql),
                DatabaseSeed::new(DEFAULT_REDIS_DATABASE, DEFAULT_APP, DatabaseType::Redis),
            ],
            api_tokens: vec![DEFAULT_API_TOKEN.to_owned()],
            user_token_lifetime: Duration::from_secs(3600),
            database_token_lifetime: Duration::from_secs(3600),
            archive_link_lifetime: Duration::from_secs(600),
            backup_scheduled_for: Duration::ZERO,
            backup_running_for: Duration::ZERO,
            operation_pending_for: Duration::ZERO,
            operation_running_for: Duration::ZERO,
            archive_size: 1024 * 1024,
            archive_from: Vec::new(),
            control_routes: false,
            state: None,
            clock: Clock::system(),
            token_limit: crate::tokens::DEFAULT_LIMIT,
            public_url: None,
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(30),
            link_rate: None,
            link_latency: Duration::ZERO,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_counts_the_api_tokens_without_showing_them() {
        let config = SandboxConfig {
            api_tokens: vec![
                DEFAULT_API_TOKEN.to_owned(),
                "tk-us-operator-secret".to_owned(),
            ],
            ..SandboxConfig::default()
        };
        let debug = format!("{config:?}");
        assert!(debug.contains("api_tokens: <2 redacted>"), "{debug}");
        assert!(!debug.contains("tk-us-"), "{debug}");
        assert!(
            debug.contains(DEFAULT_DATABASE),
            "the rest is shown: {debug}"
        );
    }

    #[test]
    fn debug_shows_the_operation_timings() {
        let config = SandboxConfig {
            operation_pending_for: Duration::from_millis(1500),
            operation_running_for: Duration::from_secs(7),
            ..SandboxConfig::default()
        };
        let debug = format!("{config:?}");
        assert!(debug.contains("operation_pending_for: 1.5s"), "{debug}");
        assert!(debug.contains("operation_running_for: 7s"), "{debug}");
    }
}
