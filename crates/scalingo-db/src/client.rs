//! [`Client`]: one per credential. It holds the HTTP connection pool, the credentials and the
//! tokens they lead to, and the policies every call shares; [`Client::database`] picks the
//! database a call acts on.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use reqwest::header::{ACCEPT, HeaderMap, HeaderValue};
use scalingo_db_generated::{Region, Server};

use crate::Token;
use crate::auth::{Credentials, TokenSource};
use crate::clock::{Clock, SystemClock};
use crate::database::Database;
use crate::error::{Error, Result};
use crate::retry::RetryPolicy;
use crate::validation::Validation;

/// The default time limit to establish a connection.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The default time limit of one attempt of an API call, from sending to the last byte of the
/// answer: a third of [`RetryPolicy::default`]'s `max_elapsed`, so that a request that times out
/// leaves time for retries (see [`RetryPolicy`]).
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// A client of the Scalingo Database API for one credential: an API token (which reaches every
/// database of its account), or one or more database tokens.
///
/// Cheap to clone: clones share the connection pool and the cached tokens. Create one per
/// credential and pick databases with [`Client::database`]:
///
/// ```no_run
/// # async fn run() -> Result<(), scalingo_db::Error> {
/// use scalingo_db::{Client, Region};
///
/// // An API token (what `scalingo login` and the dashboard give): it is exchanged for the tokens
/// // of each database as needed, and they are cached.
/// let client = Client::builder()
///     .region(Region::OscFr1)
///     .api_token(std::env::var("SCALINGO_API_TOKEN").unwrap())
///     .build()?;
/// for (app, addon) in [("shop", "ad-0c8fe5a2-…"), ("blog", "ad-77e1b0c4-…")] {
///     let users = client.database_of(app, addon).users().list().await?;
///     println!("{app}: {} users", users.len());
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<Shared>,
}

struct Shared {
    http: reqwest::Client,
    database_api_url: String,
    auth_url: String,
    main_api_url: String,
    credentials: Credentials,
    /// The app of [`Client::database`]'s databases, for the token flow.
    app: Option<String>,
    request_timeout: Duration,
    validation: Validation,
    retry: RetryPolicy,
    clock: Arc<dyn Clock>,
    /// The generated Database API client of each database's current token, reused while the
    /// token is: it copies the base URL and builds the header once.
    generated: Mutex<HashMap<String, GeneratedFor>>,
}

/// A generated client, and the token it sends.
type GeneratedFor = (Arc<Token>, Arc<scalingo_db_generated::Client>);

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let credentials = match &self.inner.credentials {
            Credentials::DatabaseTokens(tokens) => {
                let mut databases: Vec<&String> = tokens.keys().collect();
                databases.sort();
                format!("database tokens <redacted> for {databases:?}")
            }
            Credentials::ApiToken(_) => "API token <redacted>".to_owned(),
        };
        f.debug_struct("Client")
            .field("database_api_url", &self.inner.database_api_url)
            .field("credentials", &credentials)
            .field("app", &self.inner.app)
            .field("request_timeout", &self.inner.request_timeout)
            .field("validation", &self.inner.validation)
            .field("retry", &self.inner.retry)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A builder: the region (or URLs), the credential, and the policies.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// The database `addon_id` (`ad-…`, the Database API's `database_id`). With an API token, it
    /// belongs to the builder's [`app`](ClientBuilder::app); see [`Client::database_of`] for
    /// others.
    pub fn database(&self, addon_id: impl Into<String>) -> Database {
        Database::new_of(self.clone(), self.inner.app.clone(), addon_id.into())
    }

    /// The database `addon_id` of `app`: the token flow asks the app's addon for its token.
    pub fn database_of(&self, app: impl Into<String>, addon_id: impl Into<String>) -> Database {
        Database::new_of(self.clone(), Some(app.into()), addon_id.into())
    }

    /// The Database API's base URL, with its path prefix.
    pub fn database_api_url(&self) -> &str {
        &self.inner.database_api_url
    }

    /// How failed calls are retried.
    pub fn retry_policy(&self) -> RetryPolicy {
        self.inner.retry
    }

    pub(crate) fn validation(&self) -> Validation {
        self.inner.validation
    }

    pub(crate) fn credentials(&self) -> &Credentials {
        &self.inner.credentials
    }

    pub(crate) fn request_timeout(&self) -> Duration {
        self.inner.request_timeout
    }

    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.inner.http
    }

    pub(crate) fn clock(&self) -> &dyn Clock {
        &*self.inner.clock
    }

    pub(crate) fn auth_url(&self) -> &str {
        &self.inner.auth_url
    }

    pub(crate) fn main_api_url(&self) -> &str {
        &self.inner.main_api_url
    }

    /// The cached generated client of `database` if it was built for `token`.
    pub(crate) fn cached_api(
        &self,
        database: &str,
        token: &Arc<Token>,
    ) -> Option<Arc<scalingo_db_generated::Client>> {
        let cache = self.generated_cache();
        match cache.get(database) {
            // The same shared token, most of the time; an equal one after a refresh by another
            // caller.
            Some((cached, api)) if Arc::ptr_eq(cached, token) || cached == token => {
                Some(Arc::clone(api))
            }
            _ => None,
        }
    }

    /// Keeps `api`, built for `token`, as `database`'s generated client.
    pub(crate) fn cache_api(
        &self,
        database: &str,
        token: &Arc<Token>,
        api: &Arc<scalingo_db_generated::Client>,
    ) {
        self.generated_cache()
            .insert(database.to_owned(), (Arc::clone(token), Arc::clone(api)));
    }

    fn generated_cache(&self) -> std::sync::MutexGuard<'_, HashMap<String, GeneratedFor>> {
        // The cache holds no invariant a panic could break: take it even if poisoned.
        self.inner
            .generated
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// Builds a [`Client`]. Required: a credential, an API token or database tokens. The region
/// defaults to the contract's default (`osc-fr1`).
#[derive(Default)]
pub struct ClientBuilder {
    region: Option<Region>,
    database_api_url: Option<String>,
    auth_url: Option<String>,
    main_api_url: Option<String>,
    database_tokens: HashMap<String, Token>,
    api_token: Option<Token>,
    app: Option<String>,
    connect_timeout: Option<Duration>,
    request_timeout: Option<Duration>,
    validation: Validation,
    retry: RetryPolicy,
    user_agent: Option<String>,
    http: Option<reqwest::Client>,
    clock: Option<Arc<dyn Clock>>,
}

impl std::fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut databases: Vec<&String> = self.database_tokens.keys().collect();
        databases.sort();
        f.debug_struct("ClientBuilder")
            .field("region", &self.region)
            .field("database_api_url", &self.database_api_url)
            .field("auth_url", &self.auth_url)
            .field("main_api_url", &self.main_api_url)
            .field(
                "database_tokens",
                &format_args!("<redacted> for {databases:?}"),
            )
            .field("api_token", &self.api_token.as_ref().map(|_| "<redacted>"))
            .field("app", &self.app)
            .field("connect_timeout", &self.connect_timeout)
            .field("request_timeout", &self.request_timeout)
            .field("validation", &self.validation)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// Calls the APIs of `region` (Database API, main API, authentication).
    pub fn region(mut self, region: Region) -> Self {
        self.region = Some(region);
        self
    }

    /// Calls the Database API at `url`, including its path prefix (e.g.
    /// `http://127.0.0.1:8700/api`), instead of the region's.
    pub fn database_api_url(mut self, url: impl Into<String>) -> Self {
        self.database_api_url = Some(url.into());
        self
    }

    /// Exchanges API tokens at `url` instead of Scalingo's authentication service.
    pub fn auth_url(mut self, url: impl Into<String>) -> Self {
        self.auth_url = Some(url.into());
        self
    }

    /// Asks for database tokens at `url` instead of the region's main API.
    pub fn main_api_url(mut self, url: impl Into<String>) -> Self {
        self.main_api_url = Some(url.into());
        self
    }

    /// Calls every server of the contract at `origin` (e.g. `http://127.0.0.1:8700`), each under
    /// its own path prefix (the Database API under `/api`): what a sandbox serves.
    pub fn all_servers_at(mut self, origin: impl Into<String>) -> Self {
        let origin = origin.into();
        let origin = origin.trim_end_matches('/');
        let at = |server: Server| Some(format!("{origin}{}", server.path_prefix()));
        self.database_api_url = at(Server::DatabaseApi);
        self.auth_url = at(Server::Auth);
        self.main_api_url = at(Server::MainApi);
        self
    }

    /// Authenticates the calls to the database `addon_id` with `token`, a database token (the
    /// addon token the main API issues for it), used as it is: when it expires, calls fail with
    /// [`Error::Unauthorized`]. Call it once per database the client may act on.
    pub fn database_token(mut self, addon_id: impl Into<String>, token: impl Into<Token>) -> Self {
        self.database_tokens.insert(addon_id.into(), token.into());
        self
    }

    /// Authenticates with an API token: it is exchanged for a user token, then for each
    /// database's token, and those are cached and renewed as needed.
    pub fn api_token(mut self, api_token: impl Into<Token>) -> Self {
        self.api_token = Some(api_token.into());
        self
    }

    /// The app of the databases [`Client::database`] picks (the token flow asks an app's addon
    /// for its token).
    pub fn app(mut self, app: impl Into<String>) -> Self {
        self.app = Some(app.into());
        self
    }

    /// The time limit to establish a connection ([`DEFAULT_CONNECT_TIMEOUT`] otherwise). Not
    /// used with [`ClientBuilder::http_client`], whose own settings apply.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// The time limit of each attempt of an API call, and of any pause in a download's flow (a
    /// download as a whole has none: it may take hours) ([`DEFAULT_REQUEST_TIMEOUT`] otherwise).
    /// A retry gets at most what is left of the retry policy's `max_elapsed` (see
    /// [`RetryPolicy`]); keep this limit well under it, or a timed-out request leaves no time to
    /// retry. A call can set its own with [`Call::timeout`](crate::Call::timeout).
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = Some(timeout);
        self
    }

    /// Whether request bodies are checked against the contract's rules before sending
    /// ([`Validation::Enforce`] by default). See [`Validation`] for when to skip it.
    pub fn validation(mut self, validation: Validation) -> Self {
        self.validation = validation;
        self
    }

    /// How failed calls are retried ([`RetryPolicy::default`] otherwise; [`RetryPolicy::none`]
    /// turns retries off).
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Adds a product token in front of this crate's User-Agent (e.g. `my-tool/1.2`). Not used
    /// with [`ClientBuilder::http_client`], whose own User-Agent applies.
    pub fn user_agent(mut self, product: impl Into<String>) -> Self {
        self.user_agent = Some(product.into());
        self
    }

    /// Sends every request with `http` (its proxy, root certificates, pool and time limits)
    /// instead of a client built from this builder's settings.
    ///
    /// Its redirect policy and `Referer` setting are its own, and cannot be changed once it is
    /// built: reqwest's defaults follow up to ten redirects to any host (sending a `307`'s or
    /// `308`'s body, a password, again there) and send `Referer` (with a link's token) when they
    /// do. The client this builder makes follows redirects only within one origin and never
    /// sends `Referer`; to keep that, build `http` with
    /// `.redirect(`[`same_origin_redirects()`](crate::same_origin_redirects)`).referer(false)`.
    pub fn http_client(mut self, http: reqwest::Client) -> Self {
        self.http = Some(http);
        self
    }

    /// Reads the time and waits on `clock` instead of the system's (see [`Clock`]).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Some(Arc::new(clock));
        self
    }

    /// Builds the client; fails if a required setting is missing or invalid.
    pub fn build(self) -> Result<Client> {
        let region = self.region.unwrap_or_default();
        let url = |given: Option<String>, server: Server| {
            checked_url(&given.unwrap_or_else(|| server.url(region).to_owned()))
        };
        let database_api_url = url(self.database_api_url, Server::DatabaseApi)?;
        let auth_url = url(self.auth_url, Server::Auth)?;
        let main_api_url = url(self.main_api_url, Server::MainApi)?;
        let credentials = match (self.api_token, self.database_tokens.is_empty()) {
            (Some(_), false) => {
                return Err(Error::invalid_input(
                    "both an API token and database tokens: give one kind of credential",
                ));
            }
            (Some(api_token), true) => Credentials::ApiToken(TokenSource::new(api_token)),
            (None, false) => Credentials::DatabaseTokens(
                self.database_tokens
                    .into_iter()
                    .map(|(database, token)| (database, Arc::new(token)))
                    .collect(),
            ),
            (None, true) => {
                return Err(Error::invalid_input(
                    "no credentials: call `api_token(..)`, or `database_token(..)` per database",
                ));
            }
        };
        let http = match self.http {
            Some(http) => http,
            None => {
                let mut headers = HeaderMap::new();
                headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
                let user_agent = match self.user_agent {
                    Some(product) => format!("{product} {}", default_user_agent()),
                    None => default_user_agent(),
                };
                reqwest::Client::builder()
                    .user_agent(user_agent)
                    .default_headers(headers)
                    // A redirect elsewhere would take a body (a password) or a link's token
                    // along; a `Referer` would carry the link's token to the next host.
                    .redirect(crate::redirect::same_origin_redirects())
                    .referer(false)
                    .connect_timeout(self.connect_timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT))
                    .build()
                    .map_err(|err| Error::invalid_input(format!("cannot set up HTTP: {err}")))?
            }
        };
        Ok(Client {
            inner: Arc::new(Shared {
                http,
                database_api_url,
                auth_url,
                main_api_url,
                credentials,
                app: self.app,
                request_timeout: self.request_timeout.unwrap_or(DEFAULT_REQUEST_TIMEOUT),
                validation: self.validation,
                retry: self.retry,
                clock: self.clock.unwrap_or_else(|| Arc::new(SystemClock)),
                generated: Mutex::default(),
            }),
        })
    }
}

/// A URL the client can call: http or https, without a trailing slash.
fn checked_url(url: &str) -> Result<String> {
    let parsed = url::Url::parse(url)
        .map_err(|err| Error::invalid_input(format!("base URL `{url}` is not a URL: {err}")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(Error::invalid_input(format!(
            "base URL `{url}` must start with http:// or https://"
        )));
    }
    Ok(url.trim_end_matches('/').to_owned())
}

/// `scalingo-db-rs/<version>`.
pub fn default_user_agent() -> String {
    format!("scalingo-db-rs/{}", env!("CARGO_PKG_VERSION"))
}
