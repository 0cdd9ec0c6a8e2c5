//! [`Client`]: where the API is, which database, which token, and the HTTP settings every call
//! shares.

use std::time::Duration;

use reqwest::header::{ACCEPT, HeaderMap, HeaderValue};
use scalingo_db_generated::RequestContext;
use secrecy::SecretString;

use crate::backups::Backups;
use crate::error::{Error, Result};
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
}

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
/// Cheap to clone: clones share the connection pool.
///
/// ```no_run
/// # async fn run() -> Result<(), scalingo_db::Error> {
/// use scalingo_db::{Client, Region};
///
/// let client = Client::new(Region::OscFr1, "ad-0c8fe5a2-…", std::env::var("DB_TOKEN").unwrap())?;
/// for user in client.users().list().await? {
///     println!("{}", user.name);
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base_url: String,
    database_id: String,
    token: SecretString,
    request_timeout: Duration,
    validation: Validation,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.base_url)
            .field("database_id", &self.database_id)
            .field("token", &"<redacted>")
            .field("request_timeout", &self.request_timeout)
            .field("validation", &self.validation)
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

    /// A builder, for a custom base URL, timeouts or validation.
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
        &self.database_id
    }

    /// The base URL calls go to (with its `/api` prefix).
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    pub(crate) fn validation(&self) -> Validation {
        self.validation
    }

    /// The generated client for one authenticated call.
    pub(crate) fn api(&self) -> scalingo_db_generated::Client {
        self.generated(RequestContext {
            bearer: Some(self.token.clone()),
            timeout: Some(self.request_timeout),
        })
    }

    pub(crate) fn generated(&self, context: RequestContext) -> scalingo_db_generated::Client {
        scalingo_db_generated::Client::new_with_client(&self.base_url, self.http.clone(), context)
    }

    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.http
    }
}

/// Builds a [`Client`]. A region (or base URL), a database id and a token are required.
#[derive(Default)]
pub struct ClientBuilder {
    base_url: Option<String>,
    database_id: Option<String>,
    token: Option<SecretString>,
    connect_timeout: Option<Duration>,
    request_timeout: Option<Duration>,
    validation: Validation,
    user_agent: Option<String>,
}

impl std::fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("base_url", &self.base_url)
            .field("database_id", &self.database_id)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("connect_timeout", &self.connect_timeout)
            .field("request_timeout", &self.request_timeout)
            .field("validation", &self.validation)
            .finish()
    }
}

impl ClientBuilder {
    /// Calls the Database API of `region`.
    pub fn region(mut self, region: Region) -> Self {
        self.base_url = Some(region.base_url().to_owned());
        self
    }

    /// Calls the Database API at `base_url`, including its path prefix
    /// (e.g. `http://127.0.0.1:8080/api` for a sandbox).
    pub fn base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = Some(base_url.into());
        self
    }

    /// The database to manage: its addon id (`ad-<uuid>`).
    pub fn database_id(mut self, database_id: impl Into<String>) -> Self {
        self.database_id = Some(database_id.into());
        self
    }

    /// The database token (the addon token the main API issues for this database).
    pub fn token(mut self, token: impl Into<SecretString>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// The time limit to establish a connection ([`DEFAULT_CONNECT_TIMEOUT`] otherwise).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// The time limit of one API call ([`DEFAULT_REQUEST_TIMEOUT`] otherwise).
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

    /// Adds a product token in front of this crate's User-Agent (e.g. `my-tool/1.2`).
    pub fn user_agent(mut self, product: impl Into<String>) -> Self {
        self.user_agent = Some(product.into());
        self
    }

    /// Builds the client; fails if a required setting is missing or invalid.
    pub fn build(self) -> Result<Client> {
        let base_url = self.base_url.ok_or_else(|| {
            Error::invalid_input("no API location: call `region(..)` or `base_url(..)`")
        })?;
        let parsed = url::Url::parse(&base_url).map_err(|err| {
            Error::invalid_input(format!("base URL `{base_url}` is not a URL: {err}"))
        })?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(Error::invalid_input(format!(
                "base URL `{base_url}` must start with http:// or https://"
            )));
        }
        let database_id = self
            .database_id
            .filter(|id| !id.is_empty())
            .ok_or_else(|| Error::invalid_input("no database: call `database_id(..)`"))?;
        let token = self.token.ok_or_else(|| {
            Error::invalid_input("no token: call `token(..)` with a database token")
        })?;

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
            http,
            base_url: base_url.trim_end_matches('/').to_owned(),
            database_id,
            token,
            request_timeout: self.request_timeout.unwrap_or(DEFAULT_REQUEST_TIMEOUT),
            validation: self.validation,
        })
    }
}

/// `scalingo-db-rs/<version>`.
pub fn default_user_agent() -> String {
    format!("scalingo-db-rs/{}", env!("CARGO_PKG_VERSION"))
}
