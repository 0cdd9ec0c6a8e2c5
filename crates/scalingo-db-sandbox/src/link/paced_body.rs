//! An answer's body sent no faster than a [`TokenBucket`] allows: the emulated link's throughput
//! cap on one connection.
//!
//! The chunks of the body it wraps are cut into pieces of about [`PIECE_TIME`] at the rate, so
//! that a slow link delivers a steady flow rather than a large chunk, then nothing for a long
//! while. Cutting a [`Bytes`] shares its memory: nothing is copied.

use std::num::NonZeroU64;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::BoxError;
use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use tokio::time::{Instant, Sleep};

use super::token_bucket::TokenBucket;

/// A piece's time at the rate: small enough for a steady flow, large enough that a fast link
/// does not wake a timer for every few bytes.
const PIECE_TIME: Duration = Duration::from_millis(5);
/// The largest piece, whatever the rate: the size of the archive's own chunks.
const MAX_PIECE: usize = 64 * 1024;

/// `inner`, paced.
pub struct PacedBody<B> {
    inner: B,
    bucket: TokenBucket,
    /// The size pieces are cut to.
    piece: usize,
    /// What was read from `inner` and not sent yet.
    held: Bytes,
    /// Armed while the next piece waits for its time; kept to be reset, not allocated each time.
    sleep: Pin<Box<Sleep>>,
    waiting: bool,
}

impl<B> PacedBody<B> {
    /// `inner`, sent at no more than `rate` bytes per second, from now.
    pub fn new(inner: B, rate: NonZeroU64) -> Self {
        let now = Instant::now();
        let piece = (rate.get() as f64 * PIECE_TIME.as_secs_f64()) as usize;
        PacedBody {
            inner,
            bucket: TokenBucket::new(rate, now),
            piece: piece.clamp(1, MAX_PIECE),
            held: Bytes::new(),
            sleep: Box::pin(tokio::time::sleep_until(now)),
            waiting: false,
        }
    }
}

impl<B> Body for PacedBody<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        loop {
            if this.waiting {
                ready!(this.sleep.as_mut().poll(cx));
                this.waiting = false;
                let piece = this.held.split_to(this.piece.min(this.held.len()));
                return Poll::Ready(Some(Ok(Frame::data(piece))));
            }
            if this.held.is_empty() {
                match ready!(Pin::new(&mut this.inner).poll_frame(cx)) {
                    Some(Ok(frame)) => match frame.into_data() {
                        Ok(data) => this.held = data,
                        // Trailers cost the link nothing worth emulating.
                        Err(frame) => return Poll::Ready(Some(Ok(frame))),
                    },
                    // An error (a truncating fault) comes once the bytes before it are sent.
                    Some(Err(error)) => return Poll::Ready(Some(Err(error.into()))),
                    None => return Poll::Ready(None),
                }
                continue;
            }
            let now = Instant::now();
            let len = this.piece.min(this.held.len());
            let at = this.bucket.take(len, now);
            if at <= now {
                return Poll::Ready(Some(Ok(Frame::data(this.held.split_to(len)))));
            }
            // The same piece is cut when the time comes: nothing is added to `held` meanwhile.
            this.sleep.as_mut().reset(at);
            this.waiting = true;
        }
    }

    fn is_end_stream(&self) -> bool {
        self.held.is_empty() && self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        let held = self.held.len() as u64;
        let inner = self.inner.size_hint();
        let mut hint = SizeHint::new();
        hint.set_lower(inner.lower().saturating_add(held));
        if let Some(upper) = inner.upper() {
            hint.set_upper(upper.saturating_add(held));
        }
        hint
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use super::*;

    /// The next frame of `body`.
    async fn next_frame<B: Body + Unpin>(body: &mut B) -> Option<Result<Frame<B::Data>, B::Error>> {
        std::future::poll_fn(|cx| Pin::new(&mut *body).poll_frame(cx)).await
    }

    fn rate(bytes_per_second: u64) -> NonZeroU64 {
        NonZeroU64::new(bytes_per_second).expect("not zero")
    }

    /// A body of `chunks` chunks of `size` bytes, byte `i` of the whole being `i % 251`.
    fn numbered(chunks: usize, size: usize) -> axum::body::Body {
        let stream = futures_util::stream::iter((0..chunks).map(move |chunk| {
            let bytes: Vec<u8> = (chunk * size..(chunk + 1) * size)
                .map(|i| (i % 251) as u8)
                .collect();
            Ok::<_, Infallible>(Bytes::from(bytes))
        }));
        axum::body::Body::from_stream(stream)
    }

    #[tokio::test(start_paused = true)]
    async fn a_body_takes_its_size_over_the_rate_less_the_burst_and_keeps_its_bytes() {
        // 1 MiB at 128 KiB/s: 8 s, less the 20 ms burst the full bucket lets through at once.
        let started = Instant::now();
        let mut body = PacedBody::new(numbered(16, 64 * 1024), rate(128 * 1024));
        let mut received = Vec::new();
        let mut largest = 0;
        while let Some(frame) = next_frame(&mut body).await {
            let data = frame
                .expect("no error")
                .into_data()
                .expect("only data frames");
            largest = largest.max(data.len());
            received.extend_from_slice(&data);
        }
        let elapsed = started.elapsed();
        assert_eq!(received.len(), 1024 * 1024);
        assert!(
            received
                .iter()
                .enumerate()
                .all(|(i, &byte)| byte == (i % 251) as u8),
            "the bytes, in order"
        );
        let expected = Duration::from_secs(8) - Duration::from_millis(20);
        let difference = elapsed.abs_diff(expected);
        assert!(
            difference < Duration::from_millis(5),
            "{elapsed:?} instead of {expected:?}"
        );
        // 5 ms at 128 KiB/s: pieces of 655 bytes, not the 64 KiB chunks.
        assert_eq!(largest, 655);
    }

    #[tokio::test(start_paused = true)]
    async fn an_error_comes_after_the_bytes_before_it() {
        let chunks = futures_util::stream::iter([
            Ok(Bytes::from(vec![7; 4096])),
            Err(std::io::Error::other("cut")),
        ]);
        let mut body = PacedBody::new(axum::body::Body::from_stream(chunks), rate(1024));
        let started = Instant::now();
        let mut received = 0;
        let error = loop {
            match next_frame(&mut body).await {
                Some(Ok(frame)) => received += frame.into_data().map_or(0, |data| data.len()),
                Some(Err(error)) => break error,
                None => panic!("the error was lost"),
            }
        };
        assert_eq!(received, 4096);
        assert!(error.to_string().contains("cut"), "{error}");
        // 4 KiB at 1 KiB/s, less a burst of 20 bytes.
        assert!(
            started.elapsed() > Duration::from_millis(3900),
            "{:?}",
            started.elapsed()
        );
    }

    #[tokio::test]
    async fn the_size_hint_counts_what_is_held() {
        let mut body = PacedBody::new(axum::body::Body::from(vec![0; 100]), rate(1));
        assert_eq!(body.size_hint().exact(), Some(100));
        body.held = Bytes::from_static(b"held");
        assert_eq!(body.size_hint().lower(), 104);
    }
}
