//! The `auth` operations, the token flow of the real platform: an API token is exchanged for a
//! user token, which gets a database token for one addon. The credentials they take were
//! checked before (the `apiToken` and `userToken` schemes); these issue what they grant.

use scalingo_db_generated::Token;
use scalingo_db_generated::types::AddonWithToken;

use crate::error::ApiError;
use crate::generated_api::{AuthApi, GetAddonTokenPath, Request};
use crate::service::Service;
use crate::store::hex_id;
use crate::tokens::Grant;

impl AuthApi for Service {
    /// A user token, for the configured lifetime.
    async fn exchange_api_token(&self, _request: Request<()>) -> Result<Token, ApiError> {
        Ok(Token::new(self.store().issue(Grant::User)))
    }

    /// A database token for the addon, when it is a database of that app (else 404 `addon`).
    async fn get_addon_token(
        &self,
        request: Request<GetAddonTokenPath>,
    ) -> Result<AddonWithToken, ApiError> {
        let GetAddonTokenPath { app, addon_id } = request.path;
        let mut store = self.store();
        let resource_id = store
            .database(&addon_id)
            .ok()
            .filter(|database| database.app == app)
            .ok_or(ApiError::NotFound("addon"))?
            .default_user_name();
        let token = store.issue(Grant::Database(addon_id.clone()));
        Ok(AddonWithToken {
            id: addon_id,
            app_id: Some(hex_id(&app)),
            resource_id: Some(resource_id),
            status: Some("running".to_owned()),
            token: Token::new(token),
        })
    }
}
