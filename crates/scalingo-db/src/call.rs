//! [`Call`]: one API call, set up before it is sent. Awaiting it gives the value; it can first be
//! given its own time limit, or asked for the answer's metadata (status, request id).

use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::FutureExt as _;
use reqwest::header::HeaderValue;

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

/// [`ResponseMeta`] as a call collects it: the request id stays the header's bytes until someone
/// asks for it, which most calls never do.
pub(crate) struct Meta {
    pub(crate) status: u16,
    pub(crate) request_id: Option<HeaderValue>,
    pub(crate) attempts: u32,
}

impl From<Meta> for ResponseMeta {
    fn from(meta: Meta) -> Self {
        ResponseMeta {
            status: meta.status,
            request_id: meta.request_id.as_ref().and_then(crate::error::header_text),
            attempts: meta.attempts,
        }
    }
}

type Run<'a, T> = Box<dyn FnOnce(CallOptions) -> BoxFuture<'a, Result<(T, Meta)>> + Send + 'a>;
type Output<T> = Result<(T, Meta)>;

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
        run: impl FnOnce(CallOptions) -> BoxFuture<'a, Result<(T, Meta)>> + Send + 'a,
    ) -> Self {
        Call {
            options: CallOptions::default(),
            run: Box::new(run),
        }
    }

    /// Limits each of this call's requests (retries included) to `timeout`, instead of the
    /// client's [`request_timeout`](crate::ClientBuilder::request_timeout). A retry still ends
    /// within the retry policy's `max_elapsed` (see [`RetryPolicy`](crate::RetryPolicy)).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.options.timeout = Some(timeout);
        self
    }

    /// The call with the options of another it is part of (a call made by a call).
    pub(crate) fn with_options(mut self, options: CallOptions) -> Self {
        self.options = options;
        self
    }

    /// Sends the call; the value comes with what the service answered besides.
    pub fn with_meta(self) -> impl Future<Output = Result<(T, ResponseMeta)>> + Send + 'a {
        (self.run)(self.options).map(|outcome| outcome.map(|(value, meta)| (value, meta.into())))
    }

    /// The call as a future, for what takes a future rather than something to `.await`
    /// (`Runtime::block_on`, `join!`); `.await` on the call does the same.
    pub fn send(self) -> <Self as IntoFuture>::IntoFuture {
        self.into_future()
    }
}

impl<'a, T: Send + 'a> IntoFuture for Call<'a, T> {
    type Output = Result<T>;
    type IntoFuture = CallFuture<'a, T>;

    fn into_future(self) -> Self::IntoFuture {
        CallFuture {
            inner: (self.run)(self.options),
        }
    }
}

/// A sent [`Call`]: what `.await` on a call, or [`Call::send`], waits for.
#[must_use = "futures do nothing unless polled"]
pub struct CallFuture<'a, T> {
    inner: BoxFuture<'a, Output<T>>,
}

impl<T> std::fmt::Debug for CallFuture<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallFuture").finish_non_exhaustive()
    }
}

impl<T> Future for CallFuture<'_, T> {
    type Output = Result<T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.inner
            .as_mut()
            .poll(cx)
            .map(|outcome| outcome.map(|(value, _)| value))
    }
}
