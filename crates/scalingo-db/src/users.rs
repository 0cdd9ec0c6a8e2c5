//! [`Users`]: list, create, update, reset and delete the users of a database.

use scalingo_db_generated::OperationId;
use scalingo_db_generated::rules::tables;
use scalingo_db_generated::types::{
    CreateUserRequest, UpdateUserPasswordRequest, UserCreation, UserPasswordUpdate,
};

use crate::call::Call;
use crate::database::Database;
use crate::error::Error;
use crate::transport::never;
use crate::validation::{self, Validation, ValidationError};
use crate::{DatabaseUser, Password};

/// The users of a database, from [`Database::users`].
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # use scalingo_db_sandbox::{Sandbox, DEFAULT_DATABASE};
/// # let sandbox = Sandbox::start(Default::default()).await?;
/// # let db = scalingo_db::Client::builder()
/// #     .all_servers_at(sandbox.base_url())
/// #     .database_token(DEFAULT_DATABASE, sandbox.database_token(DEFAULT_DATABASE))
/// #     .build()?
/// #     .database(DEFAULT_DATABASE);
/// use scalingo_db::NewUser;
///
/// let created = db.users().create(NewUser::new("reporting").read_only(true)).await?;
/// let password = created.password.expect("generated when none is given");
/// assert!(password.expose().len() >= 24);
///
/// let names: Vec<String> = db.users().list().await?.into_iter().map(|u| u.name).collect();
/// assert!(names.contains(&"reporting".to_owned()));
///
/// db.users().update_password("reporting", "a-new-password-of-24-chars").await?;
/// let reset = db.users().reset_password("reporting").await?;
/// assert!(reset.password.is_some());
/// db.users().delete("reporting").await?;
/// # Ok(()) }
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Users<'a> {
    db: &'a Database,
}

/// A user to create: a name, an optional password (the service generates one otherwise) and
/// whether it may only read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewUser {
    name: String,
    password: Option<Password>,
    read_only: bool,
}

impl NewUser {
    /// A read-write user named `name` whose password the service generates.
    pub fn new(name: impl Into<String>) -> Self {
        NewUser {
            name: name.into(),
            password: None,
            read_only: false,
        }
    }

    /// Sets the password (its confirmation is filled in for you).
    pub fn password(mut self, password: impl Into<Password>) -> Self {
        self.password = Some(password.into());
        self
    }

    /// Makes the user read-only (or not).
    pub fn read_only(mut self, read_only: bool) -> Self {
        self.read_only = read_only;
        self
    }

    /// Checks the name and the password (when one is set) against the contract's rules, as
    /// [`Users::create`] does before sending: a command-line tool can refuse a bad name before it
    /// asks for a password.
    pub fn check(&self) -> Result<(), ValidationError> {
        // The database is not one of the rules' fields; any id gives the same verdict.
        let verdict = validation::check(
            Validation::Enforce,
            &self.to_request(""),
            tables::CREATE_USER,
        );
        verdict.map_err(|error| error.without_copies(tables::CREATE_USER))
    }

    /// The request body the official clients send for this user.
    pub fn to_request(&self, database_id: &str) -> CreateUserRequest {
        CreateUserRequest {
            database_user: UserCreation {
                database_id: Some(database_id.to_owned()),
                name: self.name.clone(),
                read_only: Some(self.read_only),
                password: self.password.clone(),
                password_confirmation: self.password.clone(),
            },
        }
    }
}

impl<'a> Users<'a> {
    pub(crate) fn new(db: &'a Database) -> Self {
        Users { db }
    }

    /// Every user of the database, including the protected default user.
    pub fn list(&self) -> Call<'a, Vec<DatabaseUser>> {
        let db = self.db;
        Call::new(move |options| {
            Box::pin(async move {
                db.send(
                    OperationId::ListUsers,
                    &[],
                    options,
                    never,
                    |api| async move { api.list_users(db.addon_id()).await },
                )
                .await
            })
        })
    }

    /// Creates a user. Its name and password are checked against the contract's rules first
    /// (unless validation is skipped); when no password is given, the answer carries the one the
    /// service generated, which is shown only this once.
    pub fn create(&self, user: NewUser) -> Call<'a, DatabaseUser> {
        self.create_from_request(user.to_request(self.db.addon_id()))
    }

    /// Creates a user from a request body built by hand. The body is checked like [`Users::create`]
    /// checks its own, including that `password_confirmation` equals `password`.
    pub fn create_from_request(&self, request: CreateUserRequest) -> Call<'a, DatabaseUser> {
        let db = self.db;
        Call::new(move |options| {
            Box::pin(async move {
                validation::check(db.client().validation(), &request, tables::CREATE_USER)?;
                let request = &request;
                db.send(
                    OperationId::CreateUser,
                    &[],
                    options,
                    never,
                    |api| async move { api.create_user(db.addon_id(), request).await },
                )
                .await
            })
        })
    }

    /// Sets the password of an existing user (not the protected one). The password is checked
    /// against the contract's rules first; its confirmation is filled in for you.
    pub fn update_password(
        &self,
        name: impl Into<String>,
        password: impl Into<Password>,
    ) -> Call<'a, DatabaseUser> {
        let request = password_update(Some(self.db.addon_id()), password.into());
        self.update_password_from_request(name, request)
    }

    /// Sets the password of an existing user from a request body built by hand, checked like
    /// [`Users::update_password`] checks its own.
    pub fn update_password_from_request(
        &self,
        name: impl Into<String>,
        request: UpdateUserPasswordRequest,
    ) -> Call<'a, DatabaseUser> {
        let db = self.db;
        let name = name.into();
        Call::new(move |options| {
            Box::pin(async move {
                let table = tables::UPDATE_USER_PASSWORD;
                validation::check(db.client().validation(), &request, table)?;
                let (name, request) = (&name, &request);
                db.send(
                    OperationId::UpdateUserPassword,
                    &[name],
                    options,
                    never,
                    |api| async move {
                        api.update_user_password(db.addon_id(), name, request)
                            .await
                    },
                )
                .await
            })
        })
    }

    /// Replaces the password of an existing user (not the protected one) with one the service
    /// generates; the answer carries it, shown only this once.
    pub fn reset_password(&self, name: impl Into<String>) -> Call<'a, DatabaseUser> {
        let db = self.db;
        let name = name.into();
        Call::new(move |options| {
            Box::pin(async move {
                let name = &name;
                db.send(
                    OperationId::ResetUserPassword,
                    &[name],
                    options,
                    never,
                    |api| async move { api.reset_user_password(db.addon_id(), name).await },
                )
                .await
            })
        })
    }

    /// Deletes a user (not the protected one).
    ///
    /// When an attempt's answer was lost and the retry finds the user gone (404), the first
    /// attempt did the work: the call succeeds.
    pub fn delete(&self, name: impl Into<String>) -> Call<'a, ()> {
        let db = self.db;
        let name = name.into();
        Call::new(move |options| {
            Box::pin(async move {
                let name = &name;
                let gone_after_lost_answer = |error: &Error, maybe_applied: bool| {
                    (maybe_applied && matches!(error, Error::NotFound { .. })).then_some(())
                };
                db.send(
                    OperationId::DeleteUser,
                    &[name],
                    options,
                    gone_after_lost_answer,
                    |api| async move { api.delete_user(db.addon_id(), name).await },
                )
                .await
            })
        })
    }
}

/// Checks a new password against the contract's rules for [`Users::update_password`], without
/// sending anything (for a prompt that asks again).
pub fn check_password(password: &Password) -> Result<(), ValidationError> {
    let table = tables::UPDATE_USER_PASSWORD;
    validation::check(
        Validation::Enforce,
        &password_update(None, password.clone()),
        table,
    )
    .map_err(|error| error.without_copies(table))
}

/// The body that sets `password`, its confirmation filled in.
fn password_update(database_id: Option<&str>, password: Password) -> UpdateUserPasswordRequest {
    UpdateUserPasswordRequest {
        database_user: UserPasswordUpdate {
            database_id: database_id.map(str::to_owned),
            password: password.clone(),
            password_confirmation: password,
        },
    }
}
