//! [`Call`]: one API call, set up before it is sent. Awaiting it gives the value; it can first be
//! given its own time limit, or asked for the answer's metadata (status, request id).

use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::time::Duration;

use futures_util::FutureExt as _;
use futures_util::future::Map;

use crate::error::Result;

/// A boxed, sendable future.
pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What a caller may change about one call.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct CallOptions {
    /// Each request's time limit, instead of the client's.
    pub(crate) timeout: Option<Duration>,
}

/// What the service answered, besides the value.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ResponseMeta {
    /// The HTTP status of the answer.
    pub status: u16,
    /// The service's id of the request (`X-Request-ID`), when it sent one: quote it to Scalingo's
    /// support.
    pub request_id: Option<String>,
    /// How many requests the call made (retries included; token requests not).
    pub attempts: u32,
}

type Run<'a, T> =
    Box<dyn FnOnce(CallOptions) -> BoxFuture<'a, Result<(T, ResponseMeta)>> + Send + 'a>;
type Output<T> = Result<(T, ResponseMeta)>;

/// One API call. `.await` it for its value:
///
/// ```no_run
/// # async fn run(db: scalingo_db::Database) -> Result<(), scalingo_db::Error> {
/// use std::time::Duration;
///
/// let users = db.users().list().await?;
/// let users = db.users().list().timeout(Duration::from_secs(5)).await?;
/// let (users, meta) = db.users().list().with_meta().await?;
/// println!("{} users, request {:?}", users.len(), meta.request_id);
/// # Ok(()) }
/// ```
#[must_use = "a call does nothing until it is awaited"]
pub struct Call<'a, T> {
    options: CallOptions,
    run: Run<'a, T>,
}

impl<T> std::fmt::Debug for Call<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Call")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl<'a, T: Send + 'a> Call<'a, T> {
    pub(crate) fn new(
        run: impl FnOnce(CallOptions) -> BoxFuture<'a, Result<(T, ResponseMeta)>> + Send + 'a,
    ) -> Self {
        Call {
            options: CallOptions::default(),
            run: Box::new(run),
        }
    }

    /// Limits each of this call's requests (retries included) to `timeout`, instead of the
    /// client's [`request_timeout`](crate::ClientBuilder::request_timeout).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.options.timeout = Some(timeout);
        self
    }

    /// Sends the call; the value comes with what the service answered besides.
    pub fn with_meta(self) -> impl Future<Output = Result<(T, ResponseMeta)>> + Send + 'a {
        (self.run)(self.options)
    }

    /// The call as a future, for what takes a future rather than something to `.await`
    /// (`Runtime::block_on`, `join!`); `.await` on the call does the same.
    pub fn send(self) -> <Self as IntoFuture>::IntoFuture {
        self.into_future()
    }
}

impl<'a, T: Send + 'a> IntoFuture for Call<'a, T> {
    type Output = Result<T>;
    type IntoFuture = Map<BoxFuture<'a, Output<T>>, fn(Output<T>) -> Result<T>>;

    fn into_future(self) -> Self::IntoFuture {
        (self.run)(self.options).map(|outcome| outcome.map(|(value, _)| value))
    }
}
