//! The hand-written `ClientHooks` of the generated client: what every request needs and the
//! contract cannot say to progenitor (it ignores security schemes): credentials and time limits.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use progenitor_client::{ClientHooks, OperationInfo};
use reqwest::header::{AUTHORIZATION, HeaderValue};

use crate::{Client, Error, Token};

/// What the caller decides for the requests of one generated [`Client`]: its credentials and
/// its time limit.
///
/// The facade builds one [`Client`] per token and reuses it, so the `Authorization` header is
/// built (and checked) once here, not on every request.
#[derive(Clone, Default)]
pub struct RequestContext {
    /// The `Authorization` header, marked sensitive; `None` for the pre-signed download, which
    /// carries its own token.
    authorization: Option<HeaderValue>,
    /// The whole request's time limit, overriding the HTTP client's.
    timeout: Option<Duration>,
}

impl RequestContext {
    /// A context sending `authorization` (if any) with every request, each limited to `timeout`.
    /// Fails if the credentials hold characters an HTTP header cannot carry.
    pub fn new(
        authorization: Option<&Authorization>,
        timeout: Option<Duration>,
    ) -> Result<Self, InvalidCredentials> {
        let authorization = authorization
            .map(|authorization| {
                let text = match authorization {
                    Authorization::Bearer(token) => format!("Bearer {}", token.expose()),
                    Authorization::Basic { username, password } => {
                        let pair = format!("{username}:{}", password.expose());
                        format!("Basic {}", STANDARD.encode(pair))
                    }
                };
                let mut value = HeaderValue::try_from(text).map_err(|_| InvalidCredentials)?;
                value.set_sensitive(true);
                Ok(value)
            })
            .transpose()?;
        Ok(RequestContext {
            authorization,
            timeout,
        })
    }
}

impl std::fmt::Debug for RequestContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestContext")
            .field(
                "authorization",
                &self.authorization.as_ref().map(|_| "<redacted>"),
            )
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// Credentials with characters an HTTP header cannot carry (a line break, ...).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InvalidCredentials;

impl std::fmt::Display for InvalidCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the credentials have characters an HTTP header cannot carry")
    }
}

impl std::error::Error for InvalidCredentials {}

/// The credentials of one request. `Debug` never shows the secret.
#[derive(Clone)]
pub enum Authorization {
    /// `Authorization: Bearer <token>` (database and user tokens).
    Bearer(Token),
    /// `Authorization: Basic <base64(username:password)>` (the API token exchange).
    Basic {
        /// The user name (empty for the token exchange).
        username: String,
        /// The password (the API token).
        password: Token,
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

impl ClientHooks<RequestContext> for Client {
    async fn pre<E>(
        &self,
        request: &mut reqwest::Request,
        _info: &OperationInfo,
    ) -> Result<(), Error<E>> {
        let context = &self.inner;
        if let Some(authorization) = &context.authorization {
            request
                .headers_mut()
                .insert(AUTHORIZATION, authorization.clone());
        }
        if let Some(timeout) = context.timeout {
            *request.timeout_mut() = Some(timeout);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_credentials() {
        let bearer = Authorization::Bearer(Token::new("eyJ.hunter2.sig"));
        let basic = Authorization::Basic {
            username: String::new(),
            password: Token::new("tk-us-hunter2"),
        };
        let context = RequestContext::new(Some(&bearer), None).expect("a valid token");
        let shown = format!("{bearer:?} {basic:?} {context:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("Bearer(<redacted>)"), "{shown}");
        assert!(shown.contains(r#"password: "<redacted>""#), "{shown}");
        assert!(
            shown.contains(r#"authorization: Some("<redacted>")"#),
            "{shown}"
        );
    }
}
