//! How one contract operation is sent: with the right token, through the retry policy, inside a
//! tracing span, with its failure mapped to [`Error`] exactly once.
//!
//! Every operation of the facade goes through [`Client::send`], so authentication, retries and
//! telemetry are decided in one place.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use scalingo_db_generated::operations::{self, Operation};
use scalingo_db_generated::{Authorization, ByteStream, RequestContext, ResponseValue};
use secrecy::{ExposeSecret as _, SecretString};
use tracing::Instrument as _;

use crate::auth::Credentials;
use crate::client::Client;
use crate::error::{Error, Result};
use crate::retry::Repeatable;

type Generated<T> = std::result::Result<ResponseValue<T>, scalingo_db_generated::Error<ByteStream>>;

impl Client {
    /// Sends the Database API operation `operation_id` with `call`, with the database token,
    /// retrying as the policy allows.
    ///
    /// `recover` turns a final error into a success when the operation's intent is met anyway;
    /// its second argument says whether an earlier attempt may have been applied by the server
    /// (its answer was lost).
    pub(crate) async fn send<T, F, Fut>(
        &self,
        operation_id: &'static str,
        recover: impl Fn(&Error, bool) -> Option<T>,
        call: F,
    ) -> Result<T>
    where
        F: Fn(Arc<scalingo_db_generated::Client>) -> Fut,
        Fut: Future<Output = Generated<T>>,
    {
        let operation = operation(operation_id);
        let call = &call;
        self.retrying(operation, recover, |attempt| async move {
            // Token requests have their own retries; their failure is final here.
            let (token, api) = self.database_api().await.map_err(Failed::Final)?;
            let result = exchange(operation, attempt, Box::pin(call(api))).await;
            match (result, self.credentials()) {
                // The token was revoked or expired early: fetch a new one and try again, once.
                // The request was refused, so it was not applied.
                (Err(Error::Unauthorized { .. }), Credentials::ApiToken(source)) => {
                    if let Some(token) = &token {
                        source.forget_database_token(token).await;
                    }
                    let (_, api) = self.database_api().await.map_err(Failed::Final)?;
                    exchange(operation, attempt, Box::pin(call(api)))
                        .await
                        .map_err(Failed::Request)
                }
                (result, _) => result.map_err(Failed::Request),
            }
        })
        .await
    }

    /// The generated Database API client for the current token, and that token when it came from
    /// the token flow (to forget it after a 401). The client is built once per token (it copies
    /// the base URL and the token), not once per call.
    async fn database_api(
        &self,
    ) -> Result<(Option<SecretString>, Arc<scalingo_db_generated::Client>)> {
        match self.credentials() {
            Credentials::DatabaseToken(token) => Ok((None, self.database_api_for(token)?)),
            // Boxed: the token flow's future is large and rarely needed; inline, every call's
            // future would carry it.
            Credentials::ApiToken(source) => {
                let token = Box::pin(source.database_token(self)).await?;
                let api = self.database_api_for(&token)?;
                Ok((Some(token), api))
            }
        }
    }

    /// The cached generated client if it was built for `token`, else a new one, cached.
    fn database_api_for(&self, token: &SecretString) -> Result<Arc<scalingo_db_generated::Client>> {
        let mut cached = self.database_api_cache();
        if let Some((cached_token, api)) = cached.as_ref()
            && cached_token.expose_secret() == token.expose_secret()
        {
            return Ok(Arc::clone(api));
        }
        let api = Arc::new(self.generated(self.base_url(), Authorization::Bearer(token.clone()))?);
        *cached = Some((token.clone(), Arc::clone(&api)));
        Ok(api)
    }

    /// `exchange_api_token`: a user token for the API token.
    pub(crate) async fn exchange_api_token(
        &self,
        auth_url: &str,
        api_token: &SecretString,
    ) -> Result<SecretString> {
        let authorization = Authorization::Basic {
            username: String::new(),
            password: api_token.clone(),
        };
        let api = &self.generated(auth_url, authorization)?;
        let answer = self
            .send_token_request("exchange_api_token", || api.exchange_api_token())
            .await?;
        Ok(SecretString::from(answer.token.expose().to_owned()))
    }

    /// `get_addon_token`: the database token, for a user token.
    pub(crate) async fn fetch_database_token(
        &self,
        main_api_url: &str,
        app: &str,
        user_token: &SecretString,
    ) -> Result<SecretString> {
        let database_id = self.database_id();
        let api = &self.generated(main_api_url, Authorization::Bearer(user_token.clone()))?;
        let answer = self
            .send_token_request("get_addon_token", || api.get_addon_token(app, database_id))
            .await?;
        Ok(SecretString::from(answer.addon.token.expose().to_owned()))
    }

    /// A token-flow operation: retried by the policy like any call, but with the credentials
    /// already in `call`'s client rather than the database token.
    async fn send_token_request<T, Fut>(
        &self,
        operation_id: &'static str,
        call: impl Fn() -> Fut,
    ) -> Result<T>
    where
        Fut: Future<Output = Generated<T>>,
    {
        let operation = operation(operation_id);
        let call = &call;
        self.retrying(operation, never, |attempt| async move {
            exchange(operation, attempt, call())
                .await
                .map_err(Failed::Request)
        })
        .await
    }

    /// Runs `attempt` (numbered from 1) until it succeeds, `recover` accepts its error, or the
    /// retry policy gives up.
    async fn retrying<T, Fut>(
        &self,
        operation: &'static Operation,
        recover: impl Fn(&Error, bool) -> Option<T>,
        mut attempt: impl FnMut(u32) -> Fut,
    ) -> Result<T>
    where
        Fut: Future<Output = std::result::Result<T, Failed>>,
    {
        let class = Repeatable::of(operation);
        let started = Instant::now();
        let mut maybe_applied = false;
        let mut number = 0;
        loop {
            number += 1;
            let error = match attempt(number).await {
                Ok(value) => return Ok(value),
                Err(Failed::Final(error)) => return Err(error),
                Err(Failed::Request(error)) => error,
            };
            if let Some(value) = recover(&error, maybe_applied) {
                return Ok(value);
            }
            maybe_applied |= may_have_been_applied(&error);
            match self
                .retry_policy()
                .next_delay(number, &error, class, started.elapsed())
            {
                Some(delay) => {
                    tracing::debug!(
                        operation = operation.id,
                        attempt = number,
                        delay_ms = delay.as_millis() as u64,
                        "retrying"
                    );
                    tokio::time::sleep(delay).await;
                }
                None => return Err(error),
            }
        }
    }

    fn generated(
        &self,
        base_url: &str,
        authorization: Authorization,
    ) -> Result<scalingo_db_generated::Client> {
        let context = RequestContext::new(Some(&authorization), Some(self.request_timeout()))
            .map_err(|invalid| Error::invalid_input(invalid.to_string()))?;
        Ok(scalingo_db_generated::Client::new_with_client(
            base_url,
            self.http().clone(),
            context,
        ))
    }
}

/// The `recover` of [`Client::send`] for operations whose errors never mean success.
pub(crate) fn never<T>(_: &Error, _: bool) -> Option<T> {
    None
}

/// How an attempt failed.
enum Failed {
    /// The request failed: the retry policy decides.
    Request(Error),
    /// Something it needed failed after its own retries (a token): give up.
    Final(Error),
}

/// One HTTP exchange, in its own span: operation, method, path template, attempt, then status
/// and duration. Never the URL (it may carry a link token) nor any header.
async fn exchange<T>(
    operation: &'static Operation,
    attempt: u32,
    call: impl Future<Output = Generated<T>>,
) -> Result<T> {
    let outcome = |result: Generated<T>| async {
        match result {
            Ok(value) => Ok((value.status().as_u16(), value.into_inner())),
            Err(error) => Err(Error::from_generated(error).await),
        }
    };
    // Nobody listens: skip building and entering the span (measurable at tens of thousands of
    // calls per second).
    if !tracing::enabled!(tracing::Level::DEBUG) {
        return outcome(call.await).await.map(|(_, value)| value);
    }
    let span = request_span(operation, attempt);
    let started = Instant::now();
    let outcome = async { outcome(call.await).await }
        .instrument(span.clone())
        .await;
    let status = match &outcome {
        Ok((status, _)) => Some(*status),
        Err(error) => error.status().map(|status| status.as_u16()),
    };
    record(&span, status, started.elapsed());
    match &outcome {
        Ok(_) => tracing::debug!(parent: &span, "answered"),
        Err(error) => tracing::debug!(parent: &span, error = %error, "failed"),
    }
    outcome.map(|(_, value)| value)
}

/// The span of one HTTP exchange: what is known before it (operation, method, path template,
/// attempt); [`record`] adds its outcome. Never the URL, which may carry a link token.
pub(crate) fn request_span(operation: &Operation, attempt: u32) -> tracing::Span {
    tracing::debug_span!(
        "scalingo_db.request",
        operation = operation.id,
        method = operation.method,
        path = operation.path,
        attempt,
        status = tracing::field::Empty,
        duration_ms = tracing::field::Empty,
    )
}

/// Fills a request span's outcome fields.
pub(crate) fn record(span: &tracing::Span, status: Option<u16>, duration: Duration) {
    if let Some(status) = status {
        span.record("status", status);
    }
    span.record("duration_ms", duration.as_millis() as u64);
}

/// The operation's entry in the contract's table. Every caller names an operation that exists;
/// a typo is caught by the first test that calls it.
pub(crate) fn operation(id: &'static str) -> &'static Operation {
    operations::by_id(id).unwrap_or_else(|| panic!("`{id}` is not an operation of openapi.yaml"))
}

/// Whether the server may have applied a request whose answer is this error.
fn may_have_been_applied(error: &Error) -> bool {
    matches!(
        error,
        Error::Timeout { .. } | Error::Transport { .. } | Error::Server { .. }
    )
}

#[cfg(test)]
mod tests {
    /// A call's future is moved whenever it is spawned or pushed into a set of futures; a large
    /// one costs a copy every time (the token flow once made it 12 KB).
    #[test]
    fn a_call_future_stays_small() {
        let client = crate::Client::builder()
            .region(crate::Region::OscFr1)
            .database_id("ad-1")
            .api_token("tk-us-x", "app")
            .build()
            .expect("client");
        let users = client.users();
        let size = std::mem::size_of_val(&users.list());
        assert!(size <= 2048, "users().list() is a {size}-byte future");
    }
}
