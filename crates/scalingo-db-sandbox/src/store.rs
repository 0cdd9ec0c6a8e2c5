//! What the sandbox knows: its databases (each with its users, backups, backup schedule and
//! operations, in [`crate::SandboxState`], which is also what a state file holds), the tokens it
//! issued, and the configuration they follow. The operations (in `api/`) decide; the store holds the data and the
//! lookups they share, and answers its own refusals (404 for what does not exist).

mod auth;
mod backups;
mod databases;
mod hex;
mod operations;
pub mod pitr;
mod schedule;
mod users;

use chrono::{DateTime, SubsecRound as _, TimeDelta, Utc};
use scalingo_db_generated::BackupMethod;
use serde::{Deserialize, Serialize};

pub use backups::{Backup, Lifecycle};
pub use operations::{Operation, OperationLifecycle};
pub use schedule::Schedule;
#[cfg(test)]
pub use users::GENERATED_PASSWORD_LEN;
pub use users::{User, random_password};

use crate::archive::Archive;
use crate::config::{DatabaseSeed, DatabaseType, SandboxConfig};
use crate::error::ApiError;
use crate::packed::PackedArchives;
use crate::served::ServedArchive;
use crate::state::SandboxState;
use crate::tokens::Tokens;

/// How long before the sandbox starts its seeded periodic backup was taken ("last night").
const SEEDED_BACKUP_AGE: TimeDelta = TimeDelta::hours(20);
/// How long before the sandbox starts a seeded database was created: it has been in use a while.
const SEEDED_DATABASE_AGE: TimeDelta = TimeDelta::days(30);

/// Everything the sandbox knows.
pub struct Store {
    config: SandboxConfig,
    /// The databases, by id; the part of the store that outlives a run.
    data: SandboxState,
    tokens: Tokens,
    /// The archives packed from `config.archive_from`: kept here, not in the state, so that a
    /// backup serves what the current configuration names, whatever run made it.
    packed: PackedArchives,
}

/// A database, as the store holds it and a state file keeps it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Database {
    /// Its addon id, used in paths.
    pub id: String,
    /// The app it belongs to.
    pub app: String,
    /// Its engine.
    #[serde(rename = "type")]
    pub kind: DatabaseType,
    /// When it was created (absent from state files written before the sandbox kept it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<DateTime<Utc>>,
    /// Its users, by name.
    pub users: Vec<User>,
    /// Its backups, oldest first (listed newest first).
    pub backups: Vec<Backup>,
    /// Its periodic backups' schedule, and up to when they were made (the default, on at
    /// midnight UTC, for state files written before the sandbox kept it).
    #[serde(default)]
    pub schedule: Schedule,
    /// Its long operations (point-in-time restores), oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub operations: Vec<Operation>,
}

impl Store {
    /// A store holding the configured databases, each with its protected default user and one
    /// periodic backup from the night before.
    pub fn new(config: SandboxConfig) -> Self {
        let now = config.clock.now();
        let mut databases: Vec<Database> = config
            .databases
            .iter()
            .map(|seed| Database::seeded(seed, now))
            .collect();
        databases.sort_by(|a, b| a.id.cmp(&b.id));
        databases.dedup_by(|later, earlier| later.id == earlier.id);
        Store {
            tokens: Tokens::with_limit(config.token_limit),
            config,
            data: SandboxState::new(databases),
            packed: PackedArchives::default(),
        }
    }

    /// The store, with its backups serving the archives `packed` from the configuration's
    /// `archive_from` (until then, generated ones).
    pub fn with_packed(mut self, packed: PackedArchives) -> Self {
        self.packed = packed;
        self
    }

    /// A store holding `state`'s databases; those the configuration names but the state lacks
    /// start fresh.
    pub fn with_state(config: SandboxConfig, state: SandboxState) -> Self {
        let mut store = Store::new(config);
        for mut saved in state.databases {
            // Lookups search users by name; a file edited by hand may list them in any order.
            saved.users.sort_by(|a, b| a.name.cmp(&b.name));
            saved
                .users
                .dedup_by(|later, earlier| later.name == earlier.name);
            match store.position(&saved.id) {
                Ok(at) => store.data.databases[at] = saved,
                Err(at) => store.data.databases.insert(at, saved),
            }
        }
        store
    }

    /// The databases, users and backups as they are now.
    pub fn state(&self) -> &SandboxState {
        &self.data
    }

    /// The configuration the store was built with.
    pub fn config(&self) -> &SandboxConfig {
        &self.config
    }

    /// The time now, on the sandbox's clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.config.clock.now()
    }

    /// The phases of every backup, and the length of every archive.
    pub fn lifecycle(&self) -> Lifecycle {
        Lifecycle::of(&self.config, &self.packed)
    }

    /// The phases of every operation.
    pub fn operation_lifecycle(&self) -> OperationLifecycle {
        OperationLifecycle::of(&self.config)
    }

    /// The archive of `backup`, a backup of a `kind` database: the dump packed for `kind`, else
    /// one generated from the backup's id, never stored.
    pub fn archive(&self, kind: DatabaseType, backup: &Backup) -> ServedArchive {
        match self.packed.for_kind(kind) {
            Some(packed) => ServedArchive::Packed(packed.clone()),
            None => {
                ServedArchive::Generated(Archive::new(self.config.archive_size, fnv(&backup.id)))
            }
        }
    }

    /// A database, or the 404 of the service.
    pub fn database(&self, id: &str) -> Result<&Database, ApiError> {
        let at = self
            .position(id)
            .map_err(|_| ApiError::NotFound("database"))?;
        Ok(&self.data.databases[at])
    }

    /// A database to change, or the 404 of the service.
    pub fn database_mut(&mut self, id: &str) -> Result<&mut Database, ApiError> {
        let at = self
            .position(id)
            .map_err(|_| ApiError::NotFound("database"))?;
        Ok(&mut self.data.databases[at])
    }

    /// Where the database `id` is in the list sorted by id, or would be.
    fn position(&self, id: &str) -> Result<usize, usize> {
        self.data
            .databases
            .binary_search_by(|database| database.id.as_str().cmp(id))
    }
}

impl Database {
    /// A fresh database from `seed`, at `now`: its protected default user (when the engine has
    /// users) and one periodic backup from the night before.
    fn seeded(seed: &DatabaseSeed, now: DateTime<Utc>) -> Self {
        let mut database = Database {
            id: seed.id.clone(),
            app: seed.app.clone(),
            kind: seed.kind,
            created_at: Some(now.trunc_subsecs(3) - SEEDED_DATABASE_AGE),
            users: Vec::new(),
            backups: Vec::new(),
            schedule: Schedule::starting(now),
            operations: Vec::new(),
        };
        let default_user = database.default_user_name();
        if seed.kind.supports_users() {
            database.insert_user(User::new(
                default_user.clone(),
                &random_password(),
                false,
                true,
            ));
        }
        // The service reports milliseconds.
        let taken_at = now.trunc_subsecs(3) - SEEDED_BACKUP_AGE;
        database
            .backups
            .push(Backup::new(&default_user, taken_at, BackupMethod::Periodic));
        database
    }

    /// The internal id the service reports as a backup's `database_id`: stable, derived from the
    /// addon id.
    pub fn internal_id(&self) -> String {
        hex_id(&self.id)
    }

    /// `my-app` → `my_app_4553`: the platform names default users after the app, with digits.
    pub fn default_user_name(&self) -> String {
        let digits = fnv(&self.id) % 9000 + 1000;
        format!("{}_{digits}", self.app.replace('-', "_"))
    }
}

/// A random 24-hex-digit id, like the service's ids of backups and operations.
pub fn random_id() -> String {
    use rand::Rng as _;
    let mut rng = rand::rng();
    (0..24)
        .map(|_| char::from_digit(rng.random_range(0..16), 16).unwrap_or('0'))
        .collect()
}

/// A stable 24-hex-digit id derived from `text`, like the service's internal ids.
pub fn hex_id(text: &str) -> String {
    format!("{:016x}{:08x}", fnv(text), fnv(text) as u32 ^ 0x5ca1_1190)
}

/// FNV-1a: stable across runs and platforms, unlike `std`'s hasher, so that ids and archives
/// derived from it are the same in every run.
fn fnv(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{DEFAULT_DATABASE, DEFAULT_REDIS_DATABASE};

    #[test]
    fn seeded_databases_have_a_default_user_named_after_the_app_and_a_periodic_backup() {
        // A clock that stands still: on the system's, a millisecond may pass between the seeding
        // and the check below.
        let store = Store::new(SandboxConfig {
            clock: crate::clock::Clock::manual(Utc::now()),
            ..SandboxConfig::default()
        });
        let database = store.database(DEFAULT_DATABASE).expect("seeded");
        let [user] = database.users.as_slice() else {
            panic!("one user: {:?}", database.users);
        };
        assert!(
            user.name.starts_with("sandbox_app_") && user.name.len() == "sandbox_app_1234".len(),
            "{}",
            user.name
        );
        assert!(user.protected);
        assert_eq!(database.default_user_name(), user.name);

        let redis = store.database(DEFAULT_REDIS_DATABASE).expect("seeded");
        assert!(redis.users.is_empty());
        for database in [database, redis] {
            let [backup] = database.backups.as_slice() else {
                panic!("one backup: {:?}", database.backups);
            };
            assert_eq!(backup.method, BackupMethod::Periodic);
            assert_eq!(
                backup.created_at,
                store.now().trunc_subsecs(3) - SEEDED_BACKUP_AGE
            );
        }
        assert_eq!(
            store.database("ad-nope").map(drop),
            Err(ApiError::NotFound("database"))
        );
    }

    #[test]
    fn a_saved_state_replaces_the_seeded_databases_it_names_and_adds_the_others() {
        let mut saved = Store::new(SandboxConfig::default()).state().clone();
        saved.databases[0].users.clear();
        let mut extra = saved.databases[0].clone();
        extra.id = "ad-0-extra".to_owned();
        saved.databases.push(extra);

        let store = Store::with_state(SandboxConfig::default(), saved.clone());
        let ids: Vec<&str> = store
            .state()
            .databases
            .iter()
            .map(|db| db.id.as_str())
            .collect();
        assert_eq!(
            ids,
            ["ad-0-extra", DEFAULT_DATABASE, DEFAULT_REDIS_DATABASE]
        );
        assert!(
            store
                .database(DEFAULT_DATABASE)
                .expect("kept")
                .users
                .is_empty()
        );
    }
}
