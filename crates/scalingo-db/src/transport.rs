//! How one contract operation is sent: with the right token, through the retry policy, inside a
//! tracing span, with its envelope opened and its failure mapped to [`Error`] exactly once.
//!
//! Every operation of the facade goes through [`Database::send`] (or, for the token flow,
//! `Client::send_token_request`), so authentication, retries and telemetry are decided in one
//! place, and operations are named by [`OperationId`], never by a string.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::header::HeaderValue;
use scalingo_db_generated::{
    Authorization, ByteStream, Envelope, OperationId, RequestContext, ResponseValue,
};
use tracing::Instrument as _;

use crate::call::{CallOptions, Meta};
use crate::clock::since;
use crate::database::Database;
use crate::error::{Error, Result};
use crate::retry::Repeatable;
use crate::validation;
use crate::{Client, Token};

type Generated<T> = std::result::Result<ResponseValue<T>, scalingo_db_generated::Error<ByteStream>>;

/// A success: its value, the status and the request id.
struct Answer<T> {
    value: T,
    status: u16,
    request_id: Option<HeaderValue>,
}

impl<T: Envelope> Answer<T> {
    /// The answer with what its body carries.
    fn opened(self) -> Answer<T::Inner> {
        Answer {
            value: self.value.into_inner(),
            status: self.status,
            request_id: self.request_id,
        }
    }
}

impl Database {
    /// Sends the Database API operation `operation` with `call`, with the database's token,
    /// retrying as the policy allows, and answers what the body carries.
    ///
    /// `path` holds the operation's path parameters after the database's id (when the path names
    /// the database), in the path's order (a user's name, a backup's id): each is checked to be
    /// one a URL can carry, the database's id included, before anything is sent.
    ///
    /// `recover` turns a final error into a success when the operation's intent is met anyway;
    /// its second argument says whether an earlier attempt may have been applied by the server
    /// (its answer was lost).
    pub(crate) async fn send<T, F, Fut>(
        &self,
        operation: OperationId,
        path: &[&str],
        options: CallOptions,
        recover: impl Fn(&Error, bool) -> Option<T::Inner>,
        call: F,
    ) -> Result<(T::Inner, Meta)>
    where
        T: Envelope,
        F: Fn(Arc<scalingo_db_generated::Client>) -> Fut,
        Fut: Future<Output = Generated<T>>,
    {
        // A path that names no database (`get_backup_by_id`) takes it from the token.
        let database = operation
            .path()
            .contains("{database_id}")
            .then(|| self.addon_id());
        let parameters = database.into_iter().chain(path.iter().copied());
        validation::path_parameters(operation, parameters)?;
        let client = self.client();
        let call = &call;
        let recover = |error: &Error, maybe_applied| {
            recover(error, maybe_applied).map(|value| Answer {
                value,
                status: error.status().unwrap_or_default(),
                request_id: error
                    .request_id()
                    .and_then(|id| HeaderValue::from_str(id).ok()),
            })
        };
        let limit = options.timeout.unwrap_or(client.request_timeout());
        let (answer, attempts) = client
            .retrying(operation, limit, recover, |attempt, limit| async move {
                // Token requests have their own retries; their failure is final here.
                let credentials = client.credentials();
                let token = credentials
                    .database_token(self)
                    .await
                    .map_err(Failed::Final)?;
                let api = self.api(&token, limit).map_err(Failed::Final)?;
                let result = exchange(client, operation, attempt, Box::pin(call(api)))
                    .await
                    .map(Answer::opened);
                // The token was revoked or expired early: fetch a new one and try again, once.
                // The request was refused, so it was not applied.
                if matches!(result, Err(Error::Unauthorized { .. }))
                    && credentials.forget(self, &token).await
                {
                    let token = credentials
                        .database_token(self)
                        .await
                        .map_err(Failed::Final)?;
                    let api = self.api(&token, limit).map_err(Failed::Final)?;
                    return exchange(client, operation, attempt, Box::pin(call(api)))
                        .await
                        .map(Answer::opened)
                        .map_err(Failed::Request);
                }
                result.map_err(Failed::Request)
            })
            .await?;
        let meta = Meta {
            status: answer.status,
            request_id: answer.request_id,
            attempts,
        };
        Ok((answer.value, meta))
    }

    /// The generated Database API client for `token`, each request limited to `limit`: the
    /// cached one when `limit` is the client's (most calls), otherwise one for this attempt
    /// alone (a call's own limit, a retry cut to the budget left).
    fn api(
        &self,
        token: &Arc<Token>,
        limit: Duration,
    ) -> Result<Arc<scalingo_db_generated::Client>> {
        let client = self.client();
        let usual = limit == client.request_timeout();
        if usual && let Some(api) = client.cached_api(self.addon_id(), token) {
            return Ok(api);
        }
        let api = Arc::new(client.generated(
            client.database_api_url(),
            &Authorization::Bearer(Token::clone(token)),
            limit,
        )?);
        if usual {
            client.cache_api(self.addon_id(), token, &api);
        }
        Ok(api)
    }
}

impl Client {
    /// `exchange_api_token`: a user token for the API token.
    pub(crate) async fn exchange_api_token(&self, api_token: &Token) -> Result<Token> {
        let authorization = Authorization::Basic {
            username: String::new(),
            password: api_token.clone(),
        };
        self.send_token_request(
            OperationId::ExchangeApiToken,
            self.auth_url(),
            &authorization,
            |api| async move { api.exchange_api_token().await },
        )
        .await
    }

    /// `get_addon_token`: the database token of `addon_id` of `app`, for a user token.
    pub(crate) async fn fetch_database_token(
        &self,
        app: &str,
        addon_id: &str,
        user_token: &Token,
    ) -> Result<Token> {
        validation::path_parameters(OperationId::GetAddonToken, [app, addon_id])?;
        let authorization = Authorization::Bearer(Token::clone(user_token));
        let addon = self
            .send_token_request(
                OperationId::GetAddonToken,
                self.main_api_url(),
                &authorization,
                |api| async move { api.get_addon_token(app, addon_id).await },
            )
            .await?;
        Ok(addon.token)
    }

    /// A token-flow operation: retried by the policy like any call, but with `authorization`
    /// (the credential it exchanges) rather than a database token, at `base_url`.
    async fn send_token_request<T: Envelope, F, Fut>(
        &self,
        operation: OperationId,
        base_url: &str,
        authorization: &Authorization,
        call: F,
    ) -> Result<T::Inner>
    where
        F: Fn(Arc<scalingo_db_generated::Client>) -> Fut,
        Fut: Future<Output = Generated<T>>,
    {
        let call = &call;
        let limit = self.request_timeout();
        let (answer, _) = self
            .retrying(operation, limit, never, |attempt, limit| async move {
                // Built per attempt: a retry's time limit may be cut to the budget left. Token
                // requests are rare (once per token lifetime), so this costs nothing that shows.
                let api = self
                    .generated(base_url, authorization, limit)
                    .map_err(Failed::Final)?;
                exchange(self, operation, attempt, call(Arc::new(api)))
                    .await
                    .map_err(Failed::Request)
            })
            .await?;
        Ok(answer.value.into_inner())
    }

    /// Runs `attempt` (numbered from 1, with its time limit) until it succeeds, `recover`
    /// accepts its error, or the retry policy gives up; answers the value and how many attempts
    /// it took. Each request is limited to `limit`, a retry to no more than what is left of the
    /// policy's `max_elapsed` (see [`RetryPolicy`](crate::RetryPolicy)).
    async fn retrying<T, Fut>(
        &self,
        operation: OperationId,
        limit: Duration,
        recover: impl Fn(&Error, bool) -> Option<T>,
        mut attempt: impl FnMut(u32, Duration) -> Fut,
    ) -> Result<(T, u32)>
    where
        Fut: Future<Output = std::result::Result<T, Failed>>,
    {
        let class = Repeatable::of(operation);
        let policy = self.retry_policy();
        let started = self.clock().now();
        let mut maybe_applied = false;
        let mut number = 0;
        loop {
            number += 1;
            let elapsed = since(started, self.clock().now());
            let limit = policy.attempt_limit(limit, number, elapsed);
            let error = match attempt(number, limit).await {
                Ok(value) => return Ok((value, number)),
                Err(Failed::Final(error)) => return Err(error),
                Err(Failed::Request(error)) => error,
            };
            if let Some(value) = recover(&error, maybe_applied) {
                return Ok((value, number));
            }
            maybe_applied |= may_have_been_applied(&error);
            let elapsed = since(started, self.clock().now());
            match policy.next_delay(number, &error, class, elapsed) {
                Some(delay) => {
                    tracing::debug!(
                        operation = operation.name(),
                        attempt = number,
                        delay_ms = delay.as_millis() as u64,
                        "retrying"
                    );
                    self.clock().sleep(delay).await;
                }
                None => return Err(error),
            }
        }
    }

    /// A generated client calling `base_url` with `authorization`, each request limited to
    /// `timeout`.
    pub(crate) fn generated(
        &self,
        base_url: &str,
        authorization: &Authorization,
        timeout: Duration,
    ) -> Result<scalingo_db_generated::Client> {
        let context = RequestContext::new(Some(authorization), Some(timeout))
            .map_err(|invalid| Error::invalid_input(invalid.to_string()))?;
        Ok(scalingo_db_generated::Client::new_with_client(
            base_url,
            self.http().clone(),
            context,
        ))
    }
}

/// The `recover` of an operation whose errors never mean success.
pub(crate) fn never<T>(_: &Error, _: bool) -> Option<T> {
    None
}

/// How an attempt failed.
enum Failed {
    /// The request failed: the retry policy decides.
    Request(Error),
    /// Something it needed failed after its own retries (a token), or cannot work: give up.
    Final(Error),
}

/// One HTTP exchange, in its own span: operation, method, path template, attempt, then status
/// and duration. Never the URL (it may carry a link token) nor any header.
async fn exchange<T>(
    client: &Client,
    operation: OperationId,
    attempt: u32,
    call: impl Future<Output = Generated<T>>,
) -> Result<Answer<T>> {
    let outcome = |result: Generated<T>| async {
        match result {
            Ok(value) => Ok(Answer {
                status: value.status().as_u16(),
                request_id: value.headers().get(crate::error::REQUEST_ID).cloned(),
                value: value.into_inner(),
            }),
            Err(error) => Err(Error::from_generated(error, client.clock().now()).await),
        }
    };
    // Nobody listens: skip building and entering the span (measurable at tens of thousands of
    // calls per second).
    if !tracing::enabled!(tracing::Level::DEBUG) {
        return outcome(call.await).await;
    }
    let span = request_span(operation, attempt);
    let started = Instant::now();
    let outcome = async { outcome(call.await).await }
        .instrument(span.clone())
        .await;
    let status = match &outcome {
        Ok(answer) => Some(answer.status),
        Err(error) => error.status(),
    };
    record(&span, status, started.elapsed());
    match &outcome {
        Ok(_) => tracing::debug!(parent: &span, "answered"),
        Err(error) => tracing::debug!(parent: &span, error = %error, "failed"),
    }
    outcome
}

/// The span of one HTTP exchange: what is known before it (operation, method, path template,
/// attempt); [`record`] adds its outcome. Never the URL, which may carry a link token.
pub(crate) fn request_span(operation: OperationId, attempt: u32) -> tracing::Span {
    tracing::debug_span!(
        "scalingo_db.request",
        operation = operation.name(),
        method = operation.method(),
        path = operation.path(),
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

/// Whether the server may have applied a request whose answer is this error.
fn may_have_been_applied(error: &Error) -> bool {
    matches!(
        error,
        Error::Timeout { .. } | Error::Transport { .. } | Error::Server { .. }
    )
}
