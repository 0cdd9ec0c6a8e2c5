//! [`Users`]: list, create, update, reset and delete the users of a database.

use scalingo_db_generated::rules::tables;
use scalingo_db_generated::types::{
    CreateUserRequest, DatabaseUserResponse, NewDatabaseUser, UpdateUserPasswordRequest,
    UserPasswordUpdate,
};

use crate::error::{Error, Result};
use crate::transport::never;
use crate::validation::{self, Validation, ValidationError};
use crate::{Client, DatabaseUser, Password};

/// The users of the client's database, from [`Client::users`].
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # use scalingo_db_sandbox::{Sandbox, DEFAULT_DATABASE};
/// # let sandbox = Sandbox::start(Default::default()).await?;
/// # let client = scalingo_db::Client::builder()
/// #     .base_url(sandbox.database_api_url())
/// #     .database_id(DEFAULT_DATABASE)
/// #     .token(sandbox.database_token(DEFAULT_DATABASE))
/// #     .build()?;
/// use scalingo_db::NewUser;
///
/// let created = client.users().create(NewUser::new("reporting").read_only(true)).await?;
/// let password = created.password.expect("generated when none is given");
/// assert!(password.expose().len() >= 24);
///
/// let names: Vec<String> = client.users().list().await?.into_iter().map(|u| u.name).collect();
/// assert!(names.contains(&"reporting".to_owned()));
///
/// client.users().update_password("reporting", "a-new-password-of-24-chars").await?;
/// let reset = client.users().reset_password("reporting").await?;
/// assert!(reset.password.is_some());
/// client.users().delete("reporting").await?;
/// # Ok(()) }
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Users<'a> {
    client: &'a Client,
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
        verdict.map_err(ValidationError::without_copied_confirmation)
    }

    /// The request body the official clients send for this user.
    pub fn to_request(&self, database_id: &str) -> CreateUserRequest {
        CreateUserRequest {
            database_user: NewDatabaseUser {
                database_id: Some(database_id.to_owned()),
                name: self.name.clone(),
                read_only: self.read_only,
                password: self.password.clone(),
                password_confirmation: self.password.clone(),
            },
        }
    }
}

impl<'a> Users<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        Users { client }
    }

    /// Every user of the database, including the protected default user.
    pub async fn list(&self) -> Result<Vec<DatabaseUser>> {
        let database = self.client.database_id();
        let users = self
            .client
            .send("list_users", never, |api| async move {
                api.list_users(database).await
            })
            .await?;
        Ok(users.database_users)
    }

    /// Creates a user. Its name and password are checked against the contract's rules first
    /// (unless validation is skipped); when no password is given, the answer carries the one the
    /// service generated, which is shown only this once.
    pub async fn create(&self, user: NewUser) -> Result<DatabaseUser> {
        self.create_from_request(&user.to_request(self.client.database_id()))
            .await
    }

    /// Creates a user from a request body built by hand. The body is checked like [`Users::create`]
    /// checks its own, including that `password_confirmation` equals `password`.
    pub async fn create_from_request(&self, request: &CreateUserRequest) -> Result<DatabaseUser> {
        validation::check(self.client.validation(), request, tables::CREATE_USER)?;
        let database = self.client.database_id();
        let user = self
            .client
            .send("create_user", never, |api| async move {
                api.create_user(database, request).await
            })
            .await?;
        Ok(unwrap(user))
    }

    /// Sets the password of an existing user (not the protected one). The password is checked
    /// against the contract's rules first; its confirmation is filled in for you.
    pub async fn update_password(
        &self,
        name: &str,
        password: impl Into<Password>,
    ) -> Result<DatabaseUser> {
        let request = password_update(Some(self.client.database_id()), password.into());
        self.update_password_from_request(name, &request).await
    }

    /// Sets the password of an existing user from a request body built by hand, checked like
    /// [`Users::update_password`] checks its own.
    pub async fn update_password_from_request(
        &self,
        name: &str,
        request: &UpdateUserPasswordRequest,
    ) -> Result<DatabaseUser> {
        validation::check(
            self.client.validation(),
            request,
            tables::UPDATE_USER_PASSWORD,
        )?;
        let database = self.client.database_id();
        let user = self
            .client
            .send("update_user_password", never, |api| async move {
                api.update_user_password(database, name, request).await
            })
            .await?;
        Ok(unwrap(user))
    }

    /// Replaces the password of an existing user (not the protected one) with one the service
    /// generates; the answer carries it, shown only this once.
    pub async fn reset_password(&self, name: &str) -> Result<DatabaseUser> {
        let database = self.client.database_id();
        let user = self
            .client
            .send("reset_user_password", never, |api| async move {
                api.reset_user_password(database, name).await
            })
            .await?;
        Ok(unwrap(user))
    }

    /// Deletes a user (not the protected one).
    ///
    /// When an attempt's answer was lost and the retry finds the user gone (404), the first
    /// attempt did the work: the call succeeds.
    pub async fn delete(&self, name: &str) -> Result<()> {
        let database = self.client.database_id();
        let gone_after_lost_answer = |error: &Error, maybe_applied: bool| {
            (maybe_applied && matches!(error, Error::NotFound { .. })).then_some(())
        };
        self.client
            .send("delete_user", gone_after_lost_answer, |api| async move {
                api.delete_user(database, name).await
            })
            .await
    }
}

/// Checks a new password against the contract's rules for [`Users::update_password`], without
/// sending anything (for a prompt that asks again).
pub fn check_password(password: &Password) -> Result<(), ValidationError> {
    validation::check(
        Validation::Enforce,
        &password_update(None, password.clone()),
        tables::UPDATE_USER_PASSWORD,
    )
    .map_err(ValidationError::without_copied_confirmation)
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

/// The service wraps users in `database_user`; its documentation shows them bare.
fn unwrap(response: DatabaseUserResponse) -> DatabaseUser {
    match response {
        DatabaseUserResponse::Variant0(envelope) => envelope.database_user,
        DatabaseUserResponse::Variant1(user) => user,
    }
}
