//! The token flow of the real platform: `POST /v1/tokens/exchange` (API token → user token) and
//! `POST /v1/apps/{app}/addons/{addon_id}/token` (user token → database token).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use scalingo_db_generated::Token;
use scalingo_db_generated::types::{AddonTokenResponse, UserToken};

use crate::error::ApiError;
use crate::http::{basic_password, bearer};
use crate::server::AppState;

/// `exchange_api_token`.
pub async fn exchange(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<UserToken>, ApiError> {
    let api_token = basic_password(&headers);
    let token = state.store().exchange_api_token(api_token.as_deref())?;
    Ok(Json(UserToken {
        token: Token::new(token),
    }))
}

/// `get_addon_token`.
pub async fn addon_token(
    State(state): State<AppState>,
    Path((app, addon)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Json<AddonTokenResponse>, ApiError> {
    let addon = state.store().addon_token(bearer(&headers), &app, &addon)?;
    Ok(Json(AddonTokenResponse { addon }))
}
