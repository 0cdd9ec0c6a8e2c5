//! The `users` operations: list, create, update a password, reset it, delete. Engines without
//! user management (Redis, ...) refuse them all; the platform's default user is protected.

use scalingo_db_generated::Password;
use scalingo_db_generated::types::{DatabaseUser, NewDatabaseUser, UserPasswordUpdate};

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
        request: Request<CreateUserPath, NewDatabaseUser>,
    ) -> Result<DatabaseUser, ApiError> {
        let new = request.body;
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
        let user = User::new(new.name, password, new.read_only, false);
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
