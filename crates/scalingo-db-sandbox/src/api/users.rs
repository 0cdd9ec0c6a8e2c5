//! The `users` operations: list, create, update a password, reset it, delete. Engines without
//! user management (Redis, ...) refuse them all; the platform's default user is protected.
//!
//! Two questions the contract leaves to the service, decided here:
//!
//! - A body's `database_id` that is not the path's is refused, 422 on `database_id`. The
//!   contract defines it as "the database's addon id, as in the path"; the path (to which the
//!   token is bound) decides which database changes, never the body. The real service may well
//!   ignore the field; refusing is the safe side for a test double, since a client the sandbox
//!   accepts is then one the service accepts too, and a client that names one database while
//!   changing another learns it here rather than in production.
//! - A password made of control characters (tabs, escapes, even NUL) is accepted when its length
//!   is within the contract's 24 to 64 characters: the contract sets no other rule, the facade
//!   checks exactly the contract's rules, and the sandbox keeps only a salted hash of it, so
//!   nothing of it is ever printed. Inventing a rule here would refuse what the contract allows.

use scalingo_db_generated::Password;
use scalingo_db_generated::types::{DatabaseUser, UserCreation, UserPasswordUpdate};

use crate::error::ApiError;
use crate::generated_api::{
    CreateUserPath, DeleteUserPath, ListUsersPath, Request, ResetUserPasswordPath,
    UpdateUserPasswordPath, UsersApi,
};
use crate::service::Service;
use crate::store::{User, random_password};

impl UsersApi for Service {
    /// Every user, by name; a list never shows a password.
    async fn list_users(
        &self,
        request: Request<ListUsersPath>,
    ) -> Result<Vec<DatabaseUser>, ApiError> {
        let store = self.store();
        let database = store.users_database(&request.path.database_id)?;
        Ok(database
            .users
            .iter()
            .map(|user| user.view(database.kind, None))
            .collect())
    }

    /// A new user, with the password given or a generated one (answered once, then only its
    /// hash is kept). A taken name is a 422 on `name`, as the service answers it.
    async fn create_user(
        &self,
        request: Request<CreateUserPath, UserCreation>,
    ) -> Result<DatabaseUser, ApiError> {
        let new = request.body;
        same_database(new.database_id.as_deref(), &request.path.database_id)?;
        let mut store = self.store();
        let database = store.users_database_mut(&request.path.database_id)?;
        if database.user(&new.name).is_some() {
            return Err(ApiError::field("name", "has already been taken"));
        }
        let generated = new.password.is_none().then(random_password);
        let password = generated
            .as_deref()
            .or(new.password.as_ref().map(Password::expose))
            .unwrap_or_default();
        let user = User::new(new.name, password, new.read_only.unwrap_or(false), false);
        let view = user.view(database.kind, generated.map(Password::new));
        database.insert_user(user);
        Ok(view)
    }

    /// The caller's new password; it is not answered back.
    async fn update_user_password(
        &self,
        request: Request<UpdateUserPasswordPath, UserPasswordUpdate>,
    ) -> Result<DatabaseUser, ApiError> {
        let path = request.path;
        same_database(request.body.database_id.as_deref(), &path.database_id)?;
        let mut store = self.store();
        let (kind, user) = store.unprotected_user(&path.database_id, &path.username, "updated")?;
        user.set_password(request.body.password.expose());
        Ok(user.view(kind, None))
    }

    /// A generated password, answered once.
    async fn reset_user_password(
        &self,
        request: Request<ResetUserPasswordPath>,
    ) -> Result<DatabaseUser, ApiError> {
        let path = request.path;
        let mut store = self.store();
        let (kind, user) = store.unprotected_user(&path.database_id, &path.username, "reset")?;
        let password = random_password();
        user.set_password(&password);
        Ok(user.view(kind, Some(Password::new(password))))
    }

    async fn delete_user(&self, request: Request<DeleteUserPath>) -> Result<(), ApiError> {
        let path = request.path;
        let mut store = self.store();
        store.unprotected_user(&path.database_id, &path.username, "deleted")?;
        store
            .users_database_mut(&path.database_id)?
            .remove_user(&path.username);
        Ok(())
    }
}

/// Refuses a body whose `database_id` (optional) is not the path's (see the module's comment).
fn same_database(in_body: Option<&str>, in_path: &str) -> Result<(), ApiError> {
    match in_body {
        Some(id) if id != in_path => Err(ApiError::field(
            "database_id",
            format!("is not the database of the request's path ({in_path})"),
        )),
        _ => Ok(()),
    }
}
