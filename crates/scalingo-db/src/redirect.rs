//! Which redirects a request may follow: only those that stay on the origin it was sent to.
//!
//! reqwest's default follows up to ten redirects to any host, and for `307` and `308` it sends the
//! body again: a password would go wherever a `Location` header points, and a pre-signed link's
//! token would go along in a `Referer`. The clients this crate builds follow a redirect only
//! within one origin (scheme, host and port), and stop with [`Error::CrossOriginRedirect`]
//! (through [`refused`]) before anything is sent elsewhere; they never send `Referer` either
//! (see `client.rs`).
//!
//! [`Error::CrossOriginRedirect`]: crate::Error::CrossOriginRedirect

use reqwest::redirect::{Action, Attempt, Policy};
use url::Url;

/// How many redirects one request may follow within its origin (reqwest's own default).
const MAX_REDIRECTS: usize = 10;

/// The redirect policy of the clients this crate builds: a redirect within the origin the request
/// was sent to is followed (a `307` or `308` with its body), up to 10 in a row; one to another
/// origin (scheme, host or port) is not, and the call fails with
/// [`Error::CrossOriginRedirect`](crate::Error::CrossOriginRedirect) before anything is sent
/// there.
///
/// For an HTTP client of your own
/// ([`ClientBuilder::http_client`](crate::ClientBuilder::http_client)), to keep the same
/// guarantees:
///
/// ```
/// let http = scalingo_db::reqwest::Client::builder()
///     .redirect(scalingo_db::same_origin_redirects())
///     .referer(false)
///     .build()?;
/// # Ok::<(), scalingo_db::reqwest::Error>(())
/// ```
pub fn same_origin_redirects() -> Policy {
    Policy::custom(decide)
}

fn decide(attempt: Attempt<'_>) -> Action {
    // `previous` holds every URL requested so far, the one that answered this redirect last.
    let from = attempt.previous().last();
    if from.is_none_or(|from| from.origin() != attempt.url().origin()) {
        let refused = Refused {
            status: attempt.status().as_u16(),
            to: origin_text(attempt.url()),
        };
        return attempt.error(refused);
    }
    if attempt.previous().len() > MAX_REDIRECTS {
        return attempt.error(TooManyRedirects);
    }
    attempt.follow()
}

/// `scheme://host[:port]`: where a redirect pointed, without its path or query (a link's token
/// would be there).
fn origin_text(url: &Url) -> String {
    match url.origin() {
        origin @ url::Origin::Tuple(..) => origin.ascii_serialization(),
        // `data:`, `file:`...: no host to name.
        url::Origin::Opaque(_) => format!("a {}: URL", url.scheme()),
    }
}

/// A redirect this policy did not follow, as reqwest carries it to the caller.
#[derive(Debug)]
pub(crate) struct Refused {
    /// The redirect's status.
    pub(crate) status: u16,
    /// The origin it pointed to, from [`origin_text`].
    pub(crate) to: String,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "redirect ({}) to another origin, {}",
            self.status, self.to
        )
    }
}

impl std::error::Error for Refused {}

/// The refused redirect behind a reqwest error, if that is what it is.
pub(crate) fn refused(error: &reqwest::Error) -> Option<&Refused> {
    if !error.is_redirect() {
        return None;
    }
    // reqwest may wrap the policy's error; look down the chain, which is short.
    let mut cause = std::error::Error::source(error);
    while let Some(current) = cause {
        if let Some(refused) = current.downcast_ref::<Refused>() {
            return Some(refused);
        }
        cause = current.source();
    }
    None
}

#[derive(Debug)]
struct TooManyRedirects;

impl std::fmt::Display for TooManyRedirects {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "more than {MAX_REDIRECTS} redirects")
    }
}

impl std::error::Error for TooManyRedirects {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_origin_is_named_without_path_query_or_credentials() {
        let url = Url::parse("https://user:pw@storage.example:8443/a/b?token=secret#x").unwrap();
        assert_eq!(origin_text(&url), "https://storage.example:8443");
        let default_port = Url::parse("http://storage.example:80/archive?token=secret").unwrap();
        assert_eq!(origin_text(&default_port), "http://storage.example");
        let opaque = Url::parse("data:text/plain,secret").unwrap();
        assert_eq!(origin_text(&opaque), "a data: URL");
    }
}
