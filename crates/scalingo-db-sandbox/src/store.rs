//! The sandbox's state and rules: databases, their users and backups, and the tokens that open
//! them. Handlers translate HTTP to calls here; everything the service decides is decided here.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use chrono::{DateTime, SubsecRound as _, Utc};
use rand::Rng as _;
use rand::distr::Alphanumeric;
use scalingo_db_generated::rules::{self, tables};
use scalingo_db_generated::types;
use scalingo_db_generated::{BackupMethod, BackupStatus, Password, PasswordEncryption, Token};
use serde_json::Value;
use sha2::{Digest as _, Sha256};

use crate::archive::Archive;
use crate::config::{DatabaseSeed, DatabaseType, SandboxConfig};
use crate::error::ApiError;
use crate::state::{self, BackupState, DatabaseState, SandboxState, UserState};
use crate::tokens::{Grant, Refusal, Tokens};

/// The length of the passwords the sandbox generates (the contract allows 24 to 64).
const GENERATED_PASSWORD_LEN: usize = 32;

/// Everything the sandbox knows.
pub struct Store {
    config: SandboxConfig,
    databases: HashMap<String, Database>,
    tokens: Tokens,
}

struct Database {
    seed: DatabaseSeed,
    /// The database's internal id, which backups report as `database_id`.
    internal_id: String,
    users: BTreeMap<String, User>,
    /// Oldest first; listed newest first.
    backups: Vec<Backup>,
}

struct User {
    read_only: bool,
    protected: bool,
    /// Salted SHA-256 of the password: nothing reads it back, and nothing should be able to.
    password_hash: [u8; 32],
    salt: [u8; 16],
}

struct Backup {
    id: String,
    name: String,
    created_at: DateTime<Utc>,
    method: BackupMethod,
    archive: Archive,
}

impl Store {
    /// A store holding the configured databases, each with its protected default user and one
    /// periodic backup from the night before.
    pub fn new(config: SandboxConfig) -> Self {
        let mut databases = HashMap::new();
        for seed in &config.databases {
            let default_user = default_user_name(seed);
            let mut database = Database {
                internal_id: hex_id(&seed.id),
                seed: seed.clone(),
                users: BTreeMap::new(),
                backups: Vec::new(),
            };
            if seed.kind.supports_users() {
                database.users.insert(
                    default_user.clone(),
                    User::new(&random_password(), false, true),
                );
            }
            let created_at = Utc::now().trunc_subsecs(3) - chrono::Duration::hours(20);
            database.backups.push(Backup::new(
                &default_user,
                created_at,
                BackupMethod::Periodic,
                config.archive_size,
            ));
            databases.insert(seed.id.clone(), database);
        }
        Store {
            config,
            databases,
            tokens: Tokens::default(),
        }
    }

    /// The state to keep between runs: databases, users (passwords hashed) and backups.
    pub fn snapshot(&self) -> SandboxState {
        let mut databases: Vec<DatabaseState> = self
            .databases
            .values()
            .map(|database| DatabaseState {
                id: database.seed.id.clone(),
                app: database.seed.app.clone(),
                kind: database.seed.kind.name().to_owned(),
                users: database
                    .users
                    .iter()
                    .map(|(name, user)| UserState {
                        name: name.clone(),
                        read_only: user.read_only,
                        protected: user.protected,
                        salt: state::hex(&user.salt),
                        password_sha256: state::hex(&user.password_hash),
                    })
                    .collect(),
                backups: database
                    .backups
                    .iter()
                    .map(|backup| BackupState {
                        id: backup.id.clone(),
                        name: backup.name.clone(),
                        created_at: backup.created_at,
                        method: backup.method.to_string(),
                    })
                    .collect(),
            })
            .collect();
        databases.sort_by(|a, b| a.id.cmp(&b.id));
        SandboxState::new(databases)
    }

    /// A store holding `state`'s databases; those the configuration names but the state lacks
    /// start fresh. Fails on a database type or a password hash it cannot read.
    pub fn with_state(config: SandboxConfig, state: &SandboxState) -> Result<Self, String> {
        let mut store = Store::new(config);
        for saved in &state.databases {
            let kind = saved.kind.parse()?;
            let seed = DatabaseSeed::new(saved.id.clone(), saved.app.clone(), kind);
            let mut users = BTreeMap::new();
            for user in &saved.users {
                let unreadable = || {
                    format!(
                        "user {} of {} has an unreadable password hash",
                        user.name, saved.id
                    )
                };
                users.insert(
                    user.name.clone(),
                    User {
                        read_only: user.read_only,
                        protected: user.protected,
                        salt: state::unhex(&user.salt).ok_or_else(unreadable)?,
                        password_hash: state::unhex(&user.password_sha256)
                            .ok_or_else(unreadable)?,
                    },
                );
            }
            let backups = saved
                .backups
                .iter()
                .map(|backup| Backup {
                    archive: Archive::new(store.config.archive_size, fnv(&backup.id)),
                    id: backup.id.clone(),
                    name: backup.name.clone(),
                    created_at: backup.created_at,
                    method: BackupMethod::from(backup.method.as_str()),
                })
                .collect();
            store.databases.insert(
                seed.id.clone(),
                Database {
                    internal_id: hex_id(&seed.id),
                    seed,
                    users,
                    backups,
                },
            );
        }
        Ok(store)
    }

    /// The configuration the store was built with.
    pub fn config(&self) -> &SandboxConfig {
        &self.config
    }

    // --- authentication -------------------------------------------------------------------

    /// `POST /v1/tokens/exchange`: a user token for a known API token.
    pub fn exchange_api_token(&mut self, api_token: Option<&str>) -> Result<String, ApiError> {
        match api_token {
            Some(token) if self.config.api_tokens.iter().any(|known| known == token) => Ok(self
                .tokens
                .issue(Grant::User, self.config.user_token_lifetime)),
            Some(_) => Err(ApiError::Unauthorized("invalid API token".to_owned())),
            None => Err(ApiError::Unauthorized(
                "an API token is required as the HTTP Basic password".to_owned(),
            )),
        }
    }

    /// `POST /v1/apps/{app}/addons/{addon_id}/token`: a database token for a user token.
    pub fn addon_token(
        &mut self,
        user_token: Option<&str>,
        app: &str,
        addon_id: &str,
    ) -> Result<types::AddonWithToken, ApiError> {
        self.check_token(user_token, &Grant::User)?;
        let database = self
            .databases
            .get(addon_id)
            .filter(|database| database.seed.app == app)
            .ok_or(ApiError::NotFound("addon"))?;
        let resource_id = default_user_name(&database.seed);
        let token = self.tokens.issue(
            Grant::Database(addon_id.to_owned()),
            self.config.database_token_lifetime,
        );
        Ok(types::AddonWithToken {
            id: addon_id.to_owned(),
            app_id: Some(hex_id(app)),
            resource_id: Some(resource_id),
            status: Some("running".to_owned()),
            token: Token::new(token),
        })
    }

    /// A database token, as the addon token endpoint would issue it (for tests and the binary).
    pub fn issue_database_token(&mut self, database: &str) -> String {
        self.tokens.issue(
            Grant::Database(database.to_owned()),
            self.config.database_token_lifetime,
        )
    }

    /// Makes every token issued so far expire now.
    pub fn expire_tokens(&mut self) {
        self.tokens.expire_all();
    }

    /// Checks a Database API call's bearer token for `database`.
    pub fn authorize(&self, bearer: Option<&str>, database: &str) -> Result<(), ApiError> {
        self.check_token(bearer, &Grant::Database(database.to_owned()))
    }

    fn check_token(&self, token: Option<&str>, grant: &Grant) -> Result<(), ApiError> {
        let token =
            token.ok_or_else(|| ApiError::Unauthorized("a bearer token is required".to_owned()))?;
        self.tokens.check(token, grant).map_err(|refusal| {
            ApiError::Unauthorized(
                match refusal {
                    Refusal::Unknown => "invalid token",
                    Refusal::Expired => "token expired",
                    Refusal::WrongGrant => "this token is not valid for this resource",
                }
                .to_owned(),
            )
        })
    }

    // --- users ----------------------------------------------------------------------------

    /// Every user of the database.
    pub fn list_users(&self, database: &str) -> Result<Vec<types::DatabaseUser>, ApiError> {
        let database = self.users_database(database)?;
        Ok(database
            .users
            .iter()
            .map(|(name, user)| user.view(name, database.seed.kind, None))
            .collect())
    }

    /// Creates a user from a `create_user` body.
    pub fn create_user(
        &mut self,
        database: &str,
        body: &Value,
    ) -> Result<types::DatabaseUser, ApiError> {
        let request: types::CreateUserRequest = parse(body, tables::CREATE_USER)?;
        let new = request.database_user;
        let database = self.users_database_mut(database)?;
        if database.users.contains_key(&new.name) {
            return Err(ApiError::field("name", "has already been taken"));
        }
        let generated = new.password.is_none().then(random_password);
        let password = generated
            .as_deref()
            .or(new.password.as_ref().map(Password::expose))
            .unwrap_or_default();
        let user = User::new(password, new.read_only, false);
        let view = user.view(&new.name, database.seed.kind, generated.map(Password::new));
        database.users.insert(new.name, user);
        Ok(view)
    }

    /// Sets a user's password from an `update_user_password` body.
    pub fn update_user_password(
        &mut self,
        database: &str,
        name: &str,
        body: &Value,
    ) -> Result<types::DatabaseUser, ApiError> {
        let request: types::UpdateUserPasswordRequest = parse(body, tables::UPDATE_USER_PASSWORD)?;
        let password = request.database_user.password;
        let (kind, user) = self.unprotected_user(database, name, "updated")?;
        user.set_password(password.expose());
        Ok(user.view(name, kind, None))
    }

    /// Replaces a user's password with a generated one, answered once.
    pub fn reset_user_password(
        &mut self,
        database: &str,
        name: &str,
    ) -> Result<types::DatabaseUser, ApiError> {
        let (kind, user) = self.unprotected_user(database, name, "reset")?;
        let password = random_password();
        user.set_password(&password);
        Ok(user.view(name, kind, Some(Password::new(password))))
    }

    /// Deletes a user.
    pub fn delete_user(&mut self, database: &str, name: &str) -> Result<(), ApiError> {
        self.unprotected_user(database, name, "deleted")?;
        self.users_database_mut(database)?.users.remove(name);
        Ok(())
    }

    fn unprotected_user(
        &mut self,
        database: &str,
        name: &str,
        action: &str,
    ) -> Result<(DatabaseType, &mut User), ApiError> {
        let database = self.users_database_mut(database)?;
        let kind = database.seed.kind;
        let user = database
            .users
            .get_mut(name)
            .ok_or(ApiError::NotFound("database_user"))?;
        if user.protected {
            return Err(ApiError::BadRequest(format!(
                "the user {name} is protected: it is managed by the platform and cannot be {action}"
            )));
        }
        Ok((kind, user))
    }

    fn users_database(&self, id: &str) -> Result<&Database, ApiError> {
        let database = self
            .databases
            .get(id)
            .ok_or(ApiError::NotFound("database"))?;
        supports_users(database)?;
        Ok(database)
    }

    fn users_database_mut(&mut self, id: &str) -> Result<&mut Database, ApiError> {
        let database = self
            .databases
            .get_mut(id)
            .ok_or(ApiError::NotFound("database"))?;
        supports_users(database)?;
        Ok(database)
    }

    // --- backups --------------------------------------------------------------------------

    /// Every backup, newest first.
    pub fn list_backups(&self, database: &str) -> Result<Vec<types::Backup>, ApiError> {
        let database = self.database(database)?;
        let now = Utc::now();
        Ok(database
            .backups
            .iter()
            .rev()
            .map(|backup| backup.view(&database.internal_id, &self.config, now))
            .collect())
    }

    /// Schedules a manual backup, unless one is already under way.
    pub fn create_backup(&mut self, database: &str) -> Result<types::Backup, ApiError> {
        // The service reports milliseconds.
        let now = Utc::now().trunc_subsecs(3);
        let config = &self.config;
        let database = self
            .databases
            .get_mut(database)
            .ok_or(ApiError::NotFound("database"))?;
        let busy = database.backups.iter().any(|backup| {
            let status = backup.status(config, now);
            status == BackupStatus::Scheduled || status == BackupStatus::Running
        });
        if busy {
            return Err(ApiError::BadRequest("A backup is running".to_owned()));
        }
        let backup = Backup::new(
            &default_user_name(&database.seed),
            now,
            BackupMethod::Manual,
            config.archive_size,
        );
        // The answer always says `scheduled`, even when the configured delays are zero and the
        // backup is already done by the time anyone asks again.
        let mut view = backup.view(&database.internal_id, config, now);
        view.status = BackupStatus::Scheduled;
        view.started_at = None;
        view.size = None;
        database.backups.push(backup);
        Ok(view)
    }

    /// One backup.
    pub fn backup(&self, database: &str, backup: &str) -> Result<types::Backup, ApiError> {
        let database = self.database(database)?;
        let found = find_backup(database, backup)?;
        Ok(found.view(&database.internal_id, &self.config, Utc::now()))
    }

    /// A link to a done backup's archive, on `public_base` (the sandbox's own URL as the client
    /// reached it), carrying a token bound to that backup.
    pub fn archive_link(
        &mut self,
        database_id: &str,
        backup_id: &str,
        public_base: &str,
    ) -> Result<String, ApiError> {
        let database = self.database(database_id)?;
        let backup = find_backup(database, backup_id)?;
        let status = backup.status(&self.config, Utc::now());
        if status != BackupStatus::Done {
            return Err(ApiError::BadRequest(format!(
                "the backup is {status}: only a done backup can be downloaded"
            )));
        }
        let token = self.tokens.issue(
            Grant::Archive {
                database: database_id.to_owned(),
                backup: backup_id.to_owned(),
            },
            self.config.archive_link_lifetime,
        );
        Ok(format!(
            "{public_base}/api/databases/{database_id}/backups/{backup_id}/download?token={token}"
        ))
    }

    /// The archive a download link opens.
    pub fn archive(
        &self,
        database_id: &str,
        backup_id: &str,
        token: Option<&str>,
    ) -> Result<Archive, ApiError> {
        let grant = Grant::Archive {
            database: database_id.to_owned(),
            backup: backup_id.to_owned(),
        };
        self.check_token(token, &grant)?;
        let database = self.database(database_id)?;
        Ok(find_backup(database, backup_id)?.archive.clone())
    }

    fn database(&self, id: &str) -> Result<&Database, ApiError> {
        self.databases.get(id).ok_or(ApiError::NotFound("database"))
    }
}

impl User {
    fn new(password: &str, read_only: bool, protected: bool) -> Self {
        let mut user = User {
            read_only,
            protected,
            password_hash: [0; 32],
            salt: [0; 16],
        };
        user.set_password(password);
        user
    }

    fn set_password(&mut self, password: &str) {
        rand::rng().fill(&mut self.salt);
        let mut hasher = Sha256::new();
        hasher.update(self.salt);
        hasher.update(password.as_bytes());
        self.password_hash = hasher.finalize().into();
    }

    /// Whether `candidate` is the user's password (for tests: nothing in the API reveals it).
    #[cfg_attr(not(test), allow(dead_code))]
    fn has_password(&self, candidate: &str) -> bool {
        let mut hasher = Sha256::new();
        hasher.update(self.salt);
        hasher.update(candidate.as_bytes());
        <[u8; 32]>::from(hasher.finalize()) == self.password_hash
    }

    fn view(
        &self,
        name: &str,
        kind: DatabaseType,
        password: Option<Password>,
    ) -> types::DatabaseUser {
        types::DatabaseUser {
            name: name.to_owned(),
            read_only: self.read_only,
            protected: self.protected,
            password,
            dbms_attributes: (kind == DatabaseType::Postgresql).then_some(types::DbmsAttributes {
                password_encryption: Some(PasswordEncryption::ScramSha256),
                anonymizer_enabled: None,
            }),
        }
    }
}

impl Backup {
    fn new(resource: &str, created_at: DateTime<Utc>, method: BackupMethod, size: u64) -> Self {
        let id: String = (0..24)
            .map(|_| char::from_digit(rand::rng().random_range(0..16), 16).unwrap_or('0'))
            .collect();
        let seed = fnv(&id);
        Backup {
            name: format!("{}_{resource}", created_at.format("%Y%m%d%H%M%S")),
            id,
            created_at,
            method,
            archive: Archive::new(size, seed),
        }
    }

    /// Where the backup is at `now`: scheduled, then running, then done, after the configured
    /// delays.
    fn status(&self, config: &SandboxConfig, now: DateTime<Utc>) -> BackupStatus {
        let elapsed = (now - self.created_at).to_std().unwrap_or(Duration::ZERO);
        if elapsed < config.backup_scheduled_for {
            BackupStatus::Scheduled
        } else if elapsed < config.backup_scheduled_for + config.backup_running_for {
            BackupStatus::Running
        } else {
            BackupStatus::Done
        }
    }

    fn view(&self, internal_id: &str, config: &SandboxConfig, now: DateTime<Utc>) -> types::Backup {
        let status = self.status(config, now);
        let started_at = (status != BackupStatus::Scheduled)
            .then(|| self.created_at + config.backup_scheduled_for);
        let size = (status == BackupStatus::Done).then(|| self.archive.len() as i64);
        types::Backup {
            id: self.id.clone(),
            created_at: self.created_at,
            started_at,
            name: self.name.clone(),
            size,
            status,
            database_id: Some(internal_id.to_owned()),
            method: Some(self.method.clone()),
            type_: None,
        }
    }
}

fn find_backup<'a>(database: &'a Database, id: &str) -> Result<&'a Backup, ApiError> {
    database
        .backups
        .iter()
        .find(|backup| backup.id == id)
        .ok_or(ApiError::NotFound("database_backup"))
}

fn supports_users(database: &Database) -> Result<(), ApiError> {
    if database.seed.kind.supports_users() {
        Ok(())
    } else {
        Err(ApiError::BadRequest(format!(
            "user management is not supported for {} databases",
            database.seed.kind.name()
        )))
    }
}

/// Checks a body against the contract's rules (422 per field), then reads it as `T` (400, naming
/// the field that has the wrong type). The rules go first: a body that breaks both is a 422.
fn parse<T: serde::de::DeserializeOwned>(
    body: &Value,
    table: &[rules::FieldRule],
) -> Result<T, ApiError> {
    let violations = rules::check(body, table);
    if !violations.is_empty() {
        let mut errors: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for violation in violations {
            errors
                .entry(violation.field.to_owned())
                .or_default()
                .push(format!("{} (rule: {})", violation.problem, violation.rule));
        }
        return Err(ApiError::Unprocessable(errors));
    }
    serde_path_to_error::deserialize(body).map_err(crate::http::bad_json)
}

fn random_password() -> String {
    rand::rng()
        .sample_iter(Alphanumeric)
        .take(GENERATED_PASSWORD_LEN)
        .map(char::from)
        .collect()
}

/// `my-app` → `my_app_4553`: the platform names default users after the app, with digits.
fn default_user_name(seed: &DatabaseSeed) -> String {
    let digits = fnv(&seed.id) % 9000 + 1000;
    format!("{}_{digits}", seed.app.replace('-', "_"))
}

/// A stable 24-hex-digit id derived from `text`, like the service's internal ids.
fn hex_id(text: &str) -> String {
    format!("{:016x}{:08x}", fnv(text), fnv(text) as u32 ^ 0x5ca1_1190)
}

fn fnv(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{DEFAULT_DATABASE, DEFAULT_REDIS_DATABASE};
    use serde_json::json;

    fn store() -> Store {
        Store::new(SandboxConfig::default())
    }

    #[test]
    fn passwords_are_stored_hashed_and_updates_take_effect() {
        let mut store = store();
        let password = "a-password-of-24-chars!!";
        store
            .create_user(
                DEFAULT_DATABASE,
                &json!({"database_user": {"name": "reporting",
                "password": password, "password_confirmation": password}}),
            )
            .expect("create");
        let user = &store.databases[DEFAULT_DATABASE].users["reporting"];
        assert!(user.has_password(password));

        let reset = store
            .reset_user_password(DEFAULT_DATABASE, "reporting")
            .expect("reset");
        let generated = reset.password.expect("generated");
        assert_eq!(generated.expose().len(), GENERATED_PASSWORD_LEN);
        let user = &store.databases[DEFAULT_DATABASE].users["reporting"];
        assert!(user.has_password(generated.expose()) && !user.has_password(password));
    }

    #[test]
    fn a_field_of_the_wrong_type_is_a_400_that_names_it() {
        let mut store = store();
        let refused = store.create_user(
            DEFAULT_DATABASE,
            &json!({"database_user": {"name": "abcdefg", "read_only": "yes"}}),
        );
        let Err(ApiError::BadRequest(message)) = refused else {
            panic!("expected a 400, got {refused:?}");
        };
        assert_eq!(
            message,
            "There was a problem in the JSON you submitted: database_user.read_only: \
             invalid type: string \"yes\", expected a boolean"
        );
        // A body that breaks a rule too is still a 422 about that rule.
        let refused = store.create_user(
            DEFAULT_DATABASE,
            &json!({"database_user": {"name": "a", "read_only": "yes"}}),
        );
        assert!(
            matches!(&refused, Err(ApiError::Unprocessable(errors)) if errors.contains_key("name")),
            "{refused:?}"
        );
    }

    #[test]
    fn the_default_user_is_named_after_the_app_and_protected() {
        let store = store();
        let users = store.list_users(DEFAULT_DATABASE).expect("list");
        assert_eq!(users.len(), 1);
        let name = &users[0].name;
        assert!(
            name.starts_with("sandbox_app_") && name.len() == "sandbox_app_1234".len(),
            "{name}"
        );
        assert!(users[0].protected);
        assert_eq!(
            store.list_users(DEFAULT_REDIS_DATABASE),
            Err(ApiError::BadRequest(
                "user management is not supported for redis databases".to_owned()
            ))
        );
    }
}
