//! The hand-written `ClientHooks` of the generated client: what every request needs and the
//! contract cannot say to progenitor (it ignores security schemes).

use std::time::Duration;

use progenitor_client::{ClientHooks, OperationInfo};
use reqwest::header::{AUTHORIZATION, HeaderValue};
use secrecy::{ExposeSecret as _, SecretString};

use crate::{Client, Error};

/// What the caller decides for each request: the bearer token and the time limit.
///
/// The facade builds a [`Client`] with one of these per call, which costs two reference-count
/// increments and lets each call carry a freshly refreshed token.
#[derive(Clone, Default)]
pub struct RequestContext {
    /// `Authorization: Bearer <token>`; `None` for the pre-signed download, which carries its own.
    pub bearer: Option<SecretString>,
    /// The whole request's time limit, overriding the HTTP client's.
    pub timeout: Option<Duration>,
}

impl std::fmt::Debug for RequestContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestContext")
            .field("bearer", &self.bearer.as_ref().map(|_| "<redacted>"))
            .field("timeout", &self.timeout)
            .finish()
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
        if let Some(token) = &context.bearer {
            let mut value = HeaderValue::try_from(format!("Bearer {}", token.expose_secret()))
                .map_err(|_| {
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
