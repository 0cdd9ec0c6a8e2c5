//! The hand-written `ClientHooks` of the generated client: what every request needs and the
//! contract cannot say to progenitor (it ignores security schemes): credentials and time limits.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use progenitor_client::{ClientHooks, OperationInfo};
use reqwest::header::{AUTHORIZATION, HeaderValue};
use secrecy::{ExposeSecret as _, SecretString};

use crate::{Client, Error};

/// What the caller decides for each request: its credentials and its time limit.
///
/// The facade builds a [`Client`] with one of these per call, which costs a few reference-count
/// increments and lets each call carry a freshly refreshed token.
#[derive(Clone, Debug, Default)]
pub struct RequestContext {
    /// The `Authorization` header; `None` for the pre-signed download, which carries its own.
    pub authorization: Option<Authorization>,
    /// The whole request's time limit, overriding the HTTP client's.
    pub timeout: Option<Duration>,
}

/// The credentials of one request. `Debug` never shows the secret.
#[derive(Clone)]
pub enum Authorization {
    /// `Authorization: Bearer <token>` (database and user tokens).
    Bearer(SecretString),
    /// `Authorization: Basic <base64(username:password)>` (the API token exchange).
    Basic {
        /// The user name (empty for the token exchange).
        username: String,
        /// The password (the API token).
        password: SecretString,
    },
}

impl std::fmt::Debug for Authorization {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Authorization::Bearer(_) => f.write_str("Bearer(<redacted>)"),
            Authorization::Basic { username, .. } => f
                .debug_struct("Basic")
                .field("username", username)
                .field("password", &"<redacted>")
                .finish(),
        }
    }
}

/// progenitor stamps every request with `api-version: <info.version>`; the service has no such
/// header and the contract does not list it, so it is removed.
const PROGENITOR_API_VERSION: &str = "api-version";

impl ClientHooks<RequestContext> for Client {
    async fn pre<E>(
        &self,
        request: &mut reqwest::Request,
        _info: &OperationInfo,
    ) -> Result<(), Error<E>> {
        let context = &self.inner;
        request.headers_mut().remove(PROGENITOR_API_VERSION);
        if let Some(authorization) = &context.authorization {
            let text = match authorization {
                Authorization::Bearer(token) => format!("Bearer {}", token.expose_secret()),
                Authorization::Basic { username, password } => {
                    let pair = format!("{username}:{}", password.expose_secret());
                    format!("Basic {}", STANDARD.encode(pair))
                }
            };
            let mut value = HeaderValue::try_from(text).map_err(|_| {
                Error::InvalidRequest(
                    "the token has characters an HTTP header cannot carry".to_owned(),
                )
            })?;
            value.set_sensitive(true);
            request.headers_mut().insert(AUTHORIZATION, value);
        }
        if let Some(timeout) = context.timeout {
            *request.timeout_mut() = Some(timeout);
        }
        Ok(())
    }
}
