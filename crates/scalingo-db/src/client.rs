//! [`Client`]: where the APIs are, which database, which credentials, and the HTTP settings
//! every call shares.

use std::time::Duration;

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use reqwest::header::{ACCEPT, HeaderMap, HeaderValue};
use secrecy::SecretString;

use crate::auth::{Credentials, TokenSource};
use crate::backups::Backups;
use crate::error::{Error, Result};
use crate::retry::RetryPolicy;
use crate::users::Users;
use crate::validation::Validation;

/// A Scalingo region, i.e. which Database API host to call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Region {
    /// osc-fr1: 3DS Outscale, Paris.
    OscFr1,
    /// osc-secnum-fr1: 3DS Outscale, Paris, SecNumCloud.
    OscSecnumFr1,
}

impl Region {
    /// Every region, in the order of the contract's `servers`.
    pub const ALL: [Region; 2] = [Region::OscFr1, Region::OscSecnumFr1];

    /// The region's name as Scalingo spells it (`osc-fr1`).
    pub fn name(self) -> &'static str {
        match self {
            Region::OscFr1 => "osc-fr1",
            Region::OscSecnumFr1 => "osc-secnum-fr1",
        }
    }

    /// The Database API base URL of the region, with its `/api` prefix.
    pub fn base_url(self) -> &'static str {
        match self {
            Region::OscFr1 => "https://db-api.osc-fr1.scalingo.com/api",
            Region::OscSecnumFr1 => "https://db-api.osc-secnum-fr1.scalingo.com/api",
        }
    }

    /// The region's main API, which issues database tokens.
    pub fn main_api_url(self) -> &'static str {
        match self {
            Region::OscFr1 => "https://api.osc-fr1.scalingo.com",
            Region::OscSecnumFr1 => "https://api.osc-secnum-fr1.scalingo.com",
        }
    }
}

/// Scalingo's authentication service, where API tokens are exchanged (the same for every region).
pub const AUTH_URL: &str = "https://auth.scalingo.com";

impl std::fmt::Display for Region {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Region {
    type Err = Error;

    fn from_str(name: &str) -> Result<Self> {
        Region::ALL
            .into_iter()
            .find(|region| region.name() == name)
            .ok_or_else(|| {
                Error::invalid_input(format!(
                    "unknown region `{name}`; known regions: {}",
                    Region::ALL.map(Region::name).join(", ")
                ))
            })
    }
}

/// The default time limit to establish a connection.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The default time limit of one API call, from sending to the last byte of the answer.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// A client of one database's users and backups.
///
/// Cheap to clone: clones share the connection pool and the cached tokens.
///
/// ```no_run
/// # async fn run() -> Result<(), scalingo_db::Error> {
/// use scalingo_db::{Client, Region};
///
/// // With an API token (what `scalingo login` and the dashboard give): tokens are exchanged and
/// // cached as needed.
/// let client = Client::from_api_token(
///     Region::OscFr1,
///     "my-app",
///     "ad-0c8fe5a2-…",
///     std::env::var("SCALINGO_API_TOKEN").unwrap(),
/// )?;
/// for user in client.users().list().await? {
///     println!("{}", user.name);
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    /// The generated Database API client of the last token used, reused while it is current.
    database_api: Mutex<Option<(SecretString, Arc<scalingo_db_generated::Client>)>>,
    base_url: String,
    database_id: String,
    credentials: Credentials,
    request_timeout: Duration,
    validation: Validation,
    retry: RetryPolicy,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let credentials = match &self.inner.credentials {
            Credentials::DatabaseToken(_) => "database token <redacted>".to_owned(),
            Credentials::ApiToken(source) => format!("API token <redacted> for app {}", source.app),
        };
        f.debug_struct("Client")
            .field("base_url", &self.inner.base_url)
            .field("database_id", &self.inner.database_id)
            .field("credentials", &credentials)
            .field("request_timeout", &self.inner.request_timeout)
            .field("validation", &self.inner.validation)
            .field("retry", &self.inner.retry)
            .finish()
    }
}

impl Client {
    /// A client of `database_id` in `region`, authenticated with a database token.
    pub fn new(
        region: Region,
        database_id: impl Into<String>,
        token: impl Into<SecretString>,
    ) -> Result<Self> {
        Client::builder()
            .region(region)
            .database_id(database_id)
            .token(token)
            .build()
    }

    /// A client of the database `addon_id` of `app` in `region`, authenticated with an API
    /// token: it is exchanged for a user token, then for the database's token, and both are
    /// cached until shortly before they expire.
    pub fn from_api_token(
        region: Region,
        app: impl Into<String>,
        addon_id: impl Into<String>,
        api_token: impl Into<SecretString>,
    ) -> Result<Self> {
        Client::builder()
            .region(region)
            .database_id(addon_id)
            .api_token(api_token, app)
            .build()
    }

    /// A builder, for custom URLs, timeouts, retries or validation.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// The database's users.
    pub fn users(&self) -> Users<'_> {
        Users::new(self)
    }

    /// The database's backups.
    pub fn backups(&self) -> Backups<'_> {
        Backups::new(self)
    }

    /// The database this client manages.
    pub fn database_id(&self) -> &str {
        &self.inner.database_id
    }

    /// The base URL Database API calls go to (with its `/api` prefix).
    pub fn base_url(&self) -> &str {
        &self.inner.base_url
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

    pub(crate) fn database_api_cache(
        &self,
    ) -> MutexGuard<'_, Option<(SecretString, Arc<scalingo_db_generated::Client>)>> {
        // The cache holds no invariant a panic could break: take it even if poisoned.
        self.inner
            .database_api
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// Builds a [`Client`]. Required: a region (or the URLs it stands for), a database id, and a
/// database token or an API token with its app.
#[derive(Default)]
pub struct ClientBuilder {
    region: Option<Region>,
    base_url: Option<String>,
    auth_url: Option<String>,
    main_api_url: Option<String>,
    database_id: Option<String>,
    token: Option<SecretString>,
    api_token: Option<(SecretString, String)>,
    connect_timeout: Option<Duration>,
    request_timeout: Option<Duration>,
    validation: Validation,
    retry: RetryPolicy,
    user_agent: Option<String>,
}

impl std::fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("region", &self.region)
            .field("base_url", &self.base_url)
            .field("auth_url", &self.auth_url)
            .field("main_api_url", &self.main_api_url)
            .field("database_id", &self.database_id)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field(
                "api_token",
                &self
                    .api_token
                    .as_ref()
                    .map(|(_, app)| format!("<redacted> for app {app}")),
            )
            .field("connect_timeout", &self.connect_timeout)
            .field("request_timeout", &self.request_timeout)
            .field("validation", &self.validation)
            .field("retry", &self.retry)
            .finish()
    }
}

impl ClientBuilder {
    /// Calls the APIs of `region` (Database API, main API, authentication).
    pub fn region(mut self, region: Region) -> Self {
        self.region = Some(region);
        self
    }

    /// Calls the Database API at `base_url`, including its path prefix
    /// (e.g. `http://127.0.0.1:8080/api` for a sandbox), instead of the region's.
    pub fn base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = Some(base_url.into());
        self
    }

    /// Exchanges API tokens at `auth_url` instead of Scalingo's authentication service.
    pub fn auth_url(mut self, auth_url: impl Into<String>) -> Self {
        self.auth_url = Some(auth_url.into());
        self
    }

    /// Asks for database tokens at `main_api_url` instead of the region's main API.
    pub fn main_api_url(mut self, main_api_url: impl Into<String>) -> Self {
        self.main_api_url = Some(main_api_url.into());
        self
    }

    /// The database to manage: its addon id (`ad-<uuid>`).
    pub fn database_id(mut self, database_id: impl Into<String>) -> Self {
        self.database_id = Some(database_id.into());
        self
    }

    /// Authenticates with a database token (the addon token the main API issues for this
    /// database), used as it is: when it expires, calls fail with [`Error::Unauthorized`].
    pub fn token(mut self, token: impl Into<SecretString>) -> Self {
        self.token = Some(token.into());
        self.api_token = None;
        self
    }

    /// Authenticates with an API token and the name of the app the database belongs to; the
    /// database token is obtained, cached and renewed as needed.
    pub fn api_token(mut self, api_token: impl Into<SecretString>, app: impl Into<String>) -> Self {
        self.api_token = Some((api_token.into(), app.into()));
        self.token = None;
        self
    }

    /// The time limit to establish a connection ([`DEFAULT_CONNECT_TIMEOUT`] otherwise).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// The time limit of one API call, and of any pause in a download's flow (a download as a
    /// whole has none: it may take hours) ([`DEFAULT_REQUEST_TIMEOUT`] otherwise).
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

    /// Adds a product token in front of this crate's User-Agent (e.g. `my-tool/1.2`).
    pub fn user_agent(mut self, product: impl Into<String>) -> Self {
        self.user_agent = Some(product.into());
        self
    }

    /// Builds the client; fails if a required setting is missing or invalid.
    pub fn build(self) -> Result<Client> {
        let region = self.region;
        let base_url = self
            .base_url
            .or_else(|| region.map(|region| region.base_url().to_owned()))
            .ok_or_else(|| {
                Error::invalid_input("no API location: call `region(..)` or `base_url(..)`")
            })?;
        let base_url = checked_url(&base_url)?;
        let database_id = self
            .database_id
            .filter(|id| !id.is_empty())
            .ok_or_else(|| Error::invalid_input("no database: call `database_id(..)`"))?;
        let credentials = match (self.token, self.api_token) {
            (Some(token), _) => Credentials::DatabaseToken(token),
            (None, Some((api_token, app))) => {
                let auth_url = self.auth_url.unwrap_or_else(|| AUTH_URL.to_owned());
                let main_api_url = self
                    .main_api_url
                    .or_else(|| region.map(|region| region.main_api_url().to_owned()))
                    .ok_or_else(|| {
                        Error::invalid_input(
                            "no main API location for the API token: call `region(..)` or `main_api_url(..)`",
                        )
                    })?;
                Credentials::ApiToken(Box::new(TokenSource::new(
                    api_token,
                    app,
                    checked_url(&auth_url)?,
                    checked_url(&main_api_url)?,
                )))
            }
            (None, None) => {
                return Err(Error::invalid_input(
                    "no credentials: call `token(..)` with a database token or `api_token(..)`",
                ));
            }
        };

        let request_timeout = self.request_timeout.unwrap_or(DEFAULT_REQUEST_TIMEOUT);
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        let user_agent = match self.user_agent {
            Some(product) => format!("{product} {}", default_user_agent()),
            None => default_user_agent(),
        };
        let http = reqwest::Client::builder()
            .user_agent(user_agent)
            .default_headers(headers)
            .connect_timeout(self.connect_timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT))
            .build()
            .map_err(|err| Error::invalid_input(format!("cannot set up HTTP: {err}")))?;

        Ok(Client {
            inner: Arc::new(Inner {
                http,
                database_api: Mutex::new(None),
                base_url,
                database_id,
                credentials,
                request_timeout,
                validation: self.validation,
                retry: self.retry,
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
