//! Time limits on the slow parts of a connection, so that clients that stop half-way (a body that
//! never comes, an answer nobody reads) cannot hold the sandbox's connections and file
//! descriptors for ever. The head of a request has its own limit, hyper's
//! `header_read_timeout`, set in `server.rs`.
//!
//! Both limits here count from the last progress, not from the start: a slow but steady upload or
//! download of any size goes through.

use std::fmt;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::body::Bytes;
use http_body::{Body, Frame, SizeHint};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

/// What a request body ends with when none of it came for the idle time-out; the routes answer it
/// 408 (`crate::http::bad_body` finds it among the causes).
#[derive(Debug)]
pub struct BodyStalled(pub Duration);

impl fmt::Display for BodyStalled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "stopped arriving: no byte of it came for {} ms",
            self.0.as_millis()
        )
    }
}

impl std::error::Error for BodyStalled {}

/// A deadline that moves with progress, armed only once something waits (most bodies and writes
/// never wait, and need no timer).
struct Deadline {
    idle: Duration,
    sleep: Option<Pin<Box<Sleep>>>,
}

impl Deadline {
    fn new(idle: Duration) -> Self {
        Deadline { idle, sleep: None }
    }

    /// Something moved: the time-out counts from now.
    fn progress(&mut self) {
        if let Some(sleep) = &mut self.sleep {
            sleep.as_mut().reset(Instant::now() + self.idle);
        }
    }

    /// Nothing moved: whether the time-out has passed (else `cx` is woken when it does).
    fn passed(&mut self, cx: &mut Context<'_>) -> bool {
        let idle = self.idle;
        self.sleep
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(idle)))
            .as_mut()
            .poll(cx)
            .is_ready()
    }
}

/// A request body that fails with [`BodyStalled`] when none of it comes for `idle`.
pub struct IdleBody<B> {
    inner: B,
    deadline: Deadline,
}

impl<B> IdleBody<B> {
    /// `inner`, failing after `idle` without a byte.
    pub fn new(inner: B, idle: Duration) -> Self {
        IdleBody {
            inner,
            deadline: Deadline::new(idle),
        }
    }
}

impl<B> Body for IdleBody<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<axum::BoxError>,
{
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(frame) => {
                this.deadline.progress();
                Poll::Ready(frame.map(|frame| frame.map_err(Into::into)))
            }
            Poll::Pending if this.deadline.passed(cx) => {
                Poll::Ready(Some(Err(Box::new(BodyStalled(this.deadline.idle)))))
            }
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// A connection whose writes fail (which makes hyper close it) when the client reads nothing of
/// the answer for `idle`: its buffers stay full, and every write waits.
pub struct WriteIdle<T> {
    inner: T,
    deadline: Deadline,
}

impl<T> WriteIdle<T> {
    /// `inner`, whose writes fail after `idle` without progress.
    pub fn new(inner: T, idle: Duration) -> Self {
        WriteIdle {
            inner,
            deadline: Deadline::new(idle),
        }
    }

    /// `outcome` of a write or flush; a wait past the deadline is an error.
    fn watch<R>(
        &mut self,
        cx: &mut Context<'_>,
        outcome: Poll<io::Result<R>>,
    ) -> Poll<io::Result<R>> {
        match outcome {
            Poll::Ready(result) => {
                self.deadline.progress();
                Poll::Ready(result)
            }
            Poll::Pending if self.deadline.passed(cx) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "the client read nothing of the answer for {} ms",
                    self.deadline.idle.as_millis()
                ),
            ))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for WriteIdle<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for WriteIdle<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let outcome = Pin::new(&mut this.inner).poll_write(cx, buf);
        this.watch(cx, outcome)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let outcome = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        this.watch(cx, outcome)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let outcome = Pin::new(&mut this.inner).poll_flush(cx);
        this.watch(cx, outcome)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(Pin::new(&mut this.inner).poll_shutdown(cx))?;
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A body that never sends anything.
    struct Silent;

    impl Body for Silent {
        type Data = Bytes;
        type Error = std::convert::Infallible;

        fn poll_frame(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
            Poll::Pending
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_body_that_stops_arriving_fails_after_the_idle_time() {
        let started = Instant::now();
        let body = axum::body::Body::new(IdleBody::new(Silent, Duration::from_secs(30)));
        let error = axum::body::to_bytes(body, 1024)
            .await
            .expect_err("it never ends");
        assert_eq!(started.elapsed(), Duration::from_secs(30));
        let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(&error);
        let mut found = false;
        while let Some(error) = cause {
            found |= error.downcast_ref::<BodyStalled>().is_some();
            cause = error.source();
        }
        assert!(found, "{error}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_steady_body_is_not_cut_however_long_it_takes() {
        let chunks = futures_util::stream::unfold(0, |sent| async move {
            (sent < 10).then_some(())?;
            tokio::time::sleep(Duration::from_secs(20)).await;
            Some((Ok::<_, std::io::Error>(Bytes::from_static(b"x")), sent + 1))
        });
        let body = axum::body::Body::new(IdleBody::new(
            axum::body::Body::from_stream(chunks),
            Duration::from_secs(30),
        ));
        let bytes = axum::body::to_bytes(body, 1024).await.expect("it ends");
        assert_eq!(bytes.len(), 10, "200 s in all, 20 s between bytes");
    }
}
