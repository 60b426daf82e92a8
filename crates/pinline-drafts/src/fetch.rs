//! Fetching pages and images from links that strangers send.
//!
//! A link in an idea is untrusted input pointing at someone else's server, so every fetch is
//! bounded: the body stops being read past a size cap, the whole fetch (every redirect hop
//! included) has one deadline, redirects are followed by hand up to a limit with loop detection,
//! and only `http`/`https` are spoken.
//!
//! Server-side request forgery is the main danger: a link (or a redirect) that points at
//! `127.0.0.1`, a cloud metadata address or the office network. Every hop therefore goes through
//! a [`pinline_outbound::Guard`]: the URL is checked before the request, every address its host
//! resolves to is checked, and the connection is pinned to the addresses that passed, so a DNS
//! answer that changes between the check and the connect (DNS rebinding) cannot sneak through.
//! System proxies are ignored for the same reason: a proxy would connect on our behalf to an
//! address we never checked.

use std::collections::HashSet;
use std::time::Duration;

use pinline_outbound::{Guard, OutboundError};
use reqwest::StatusCode;
use reqwest::header::{CONTENT_LENGTH, CONTENT_TYPE, LOCATION};
use url::Url;

use crate::DraftError;

/// What a fetch may do. Built once from configuration; [`Default`] is right for production.
#[derive(Debug, Clone)]
pub struct FetchPolicy {
    /// Allow hosts that resolve to private, loopback and other non-public addresses. Only tests
    /// and fully trusted deployments should set this.
    pub allow_private: bool,
    /// The most redirects followed before giving up.
    pub max_redirects: usize,
    /// The deadline for a whole fetch: resolution, every redirect hop and the body.
    pub total_timeout: Duration,
    /// The most bytes read from an HTML page.
    pub max_html_bytes: u64,
    /// The most bytes read from an image.
    pub max_image_bytes: u64,
    /// The `User-Agent` sent with every request.
    pub user_agent: String,
}

impl Default for FetchPolicy {
    fn default() -> Self {
        Self {
            allow_private: false,
            max_redirects: 5,
            total_timeout: Duration::from_secs(15),
            max_html_bytes: 2 * 1024 * 1024,
            max_image_bytes: 10 * 1024 * 1024,
            user_agent: concat!("pinline-drafts/", env!("CARGO_PKG_VERSION")).to_owned(),
        }
    }
}

/// What the caller expects behind a link; decides which content types are accepted and which
/// size cap applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// An HTML page.
    Page,
    /// An image.
    Image,
    /// Either (an idea's link may point straight at an image).
    PageOrImage,
}

/// What a link turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FetchedKind {
    /// An HTML (or XHTML) page.
    Html,
    /// An image.
    Image,
}

/// A fetched body, read in full and within its cap.
#[derive(Clone)]
pub struct Fetched {
    /// The URL the body came from, after redirects.
    pub final_url: Url,
    /// Every URL visited before the final one, in order.
    pub redirects: Vec<Url>,
    /// Page or image.
    pub kind: FetchedKind,
    /// The declared content type, lowercased, without parameters (may be empty for images).
    pub content_type: String,
    /// The body.
    pub body: Vec<u8>,
}

impl std::fmt::Debug for Fetched {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fetched")
            .field("final_url", &self.final_url.as_str())
            .field("redirects", &self.redirects.len())
            .field("kind", &self.kind)
            .field("content_type", &self.content_type)
            .field("body_len", &self.body.len())
            .finish()
    }
}

/// Fetches pages and images under a [`FetchPolicy`].
#[derive(Debug, Clone)]
pub struct Fetcher {
    policy: FetchPolicy,
    guard: Guard,
    client: Result<reqwest::Client, String>,
}

impl Fetcher {
    /// A fetcher that applies `policy` to every fetch.
    pub fn new(policy: FetchPolicy) -> Self {
        let guard = Guard::new("draft fetch", policy.allow_private);
        Self::with_guard(policy, guard)
    }

    /// A fetcher whose hosts are checked (and resolved) by `guard` rather than by one built from
    /// the policy's `allow_private`.
    pub fn with_guard(policy: FetchPolicy, guard: Guard) -> Self {
        // One client for every fetch: the guard is its resolver, so each connection still goes
        // only to addresses checked at that moment. Building it cannot fail in practice (it
        // loads TLS roots); if it does, every fetch says so instead of the process panicking.
        let client = guard
            .client_builder()
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(policy.user_agent.clone())
            .connect_timeout(policy.total_timeout)
            .build()
            .map_err(|error| format!("could not build the HTTP client: {error}"));
        Self {
            policy,
            guard,
            client,
        }
    }

    /// The policy in force.
    pub fn policy(&self) -> &FetchPolicy {
        &self.policy
    }

    /// Fetches `url`, following redirects, and checks that the answer is what `expect` says.
    pub async fn fetch(&self, url: &str, expect: Expect) -> Result<Fetched, DraftError> {
        let start = parse_web_url(url)?;
        let deadline = self.policy.total_timeout;
        match tokio::time::timeout(deadline, self.fetch_unbounded(start, expect)).await {
            Ok(result) => result,
            Err(_) => Err(DraftError::Timeout {
                url: url.to_owned(),
                after: deadline,
            }),
        }
    }

    async fn fetch_unbounded(&self, start: Url, expect: Expect) -> Result<Fetched, DraftError> {
        let mut current = start.clone();
        let mut visited: Vec<Url> = Vec::new();
        let mut seen: HashSet<String> = HashSet::new();
        seen.insert(without_fragment(&current));
        loop {
            let response = self.send_one(&current, expect).await?;
            let status = response.status();
            if status.is_redirection() && status != StatusCode::NOT_MODIFIED {
                let next = redirect_target(&current, &response)?;
                if !seen.insert(without_fragment(&next)) {
                    return Err(DraftError::RedirectLoop {
                        url: next.to_string(),
                    });
                }
                if visited.len() >= self.policy.max_redirects {
                    return Err(DraftError::TooManyRedirects {
                        url: start.to_string(),
                        limit: self.policy.max_redirects,
                    });
                }
                visited.push(std::mem::replace(&mut current, next));
                continue;
            }
            if !status.is_success() {
                return Err(DraftError::HttpStatus {
                    url: current.to_string(),
                    status: status.as_u16(),
                });
            }
            let content_type = content_type_of(&response);
            let kind = classify(&current, &content_type, expect)?;
            let limit = match kind {
                FetchedKind::Html => self.policy.max_html_bytes,
                FetchedKind::Image => self.policy.max_image_bytes,
            };
            let body = read_capped(&current, response, limit).await?;
            return Ok(Fetched {
                final_url: current,
                redirects: visited,
                kind,
                content_type,
                body,
            });
        }
    }

    /// One request to one URL, connected only to addresses that passed the guard, with no
    /// automatic redirects and no proxy.
    async fn send_one(&self, url: &Url, expect: Expect) -> Result<reqwest::Response, DraftError> {
        self.guard.check_url(url).map_err(from_outbound)?;
        let client = self
            .client
            .as_ref()
            .map_err(|error| DraftError::Internal(error.clone()))?;
        let accept = match expect {
            Expect::Page => "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1",
            Expect::Image => "image/jpeg,image/png,image/webp,image/*;q=0.8",
            Expect::PageOrImage => "text/html,application/xhtml+xml,image/*;q=0.9,*/*;q=0.1",
        };
        let host = url.host_str().unwrap_or_default();
        client
            .get(url.clone())
            .header(reqwest::header::ACCEPT, accept)
            .send()
            .await
            .map_err(|error| match OutboundError::in_request_error(&error) {
                Some(refused) => from_outbound(refused.clone()),
                None => DraftError::Network {
                    url: url.to_string(),
                    reason: describe_reqwest_error(&error, host),
                },
            })
    }
}

/// The guard's verdict in the drafts' own words.
fn from_outbound(error: OutboundError) -> DraftError {
    match error {
        OutboundError::InvalidUrl { url, reason } => DraftError::InvalidUrl { url, reason },
        OutboundError::BeyondLoopback { host } => DraftError::BeyondLoopback { host },
        OutboundError::NonPublic { host, address, .. } => {
            DraftError::PrivateAddress { host, address }
        }
        OutboundError::ReservedName { host } => DraftError::Unresolvable {
            host,
            reason: "a reserved name that never resolves".to_owned(),
        },
        OutboundError::Unresolvable { host, reason } => DraftError::Unresolvable { host, reason },
    }
}

/// Parses a URL from an idea and accepts only `http` and `https`.
pub fn parse_web_url(text: &str) -> Result<Url, DraftError> {
    let url = Url::parse(text.trim()).map_err(|error| DraftError::InvalidUrl {
        url: text.to_owned(),
        reason: error.to_string(),
    })?;
    check_scheme(&url)?;
    Ok(url)
}

fn check_scheme(url: &Url) -> Result<(), DraftError> {
    match url.scheme() {
        "http" | "https" => Ok(()),
        other => Err(DraftError::BadScheme {
            url: url.to_string(),
            scheme: other.to_owned(),
        }),
    }
}

fn without_fragment(url: &Url) -> String {
    let mut url = url.clone();
    url.set_fragment(None);
    url.to_string()
}

fn redirect_target(current: &Url, response: &reqwest::Response) -> Result<Url, DraftError> {
    let bad = || DraftError::BadRedirect {
        url: current.to_string(),
    };
    let location = response
        .headers()
        .get(LOCATION)
        .and_then(|value| value.to_str().ok())
        .ok_or_else(bad)?;
    let next = current.join(location.trim()).map_err(|_| bad())?;
    check_scheme(&next)?;
    Ok(next)
}

fn content_type_of(response: &reqwest::Response) -> String {
    response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .map(|value| {
            value
                .split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_default()
}

fn classify(url: &Url, content_type: &str, expect: Expect) -> Result<FetchedKind, DraftError> {
    let is_html = matches!(content_type, "text/html" | "application/xhtml+xml");
    let is_image = content_type.starts_with("image/");
    // Image hosts often answer with a generic type; the decoder, not the header, has the final
    // word on whether the bytes are an image.
    let maybe_image = content_type.is_empty() || content_type == "application/octet-stream";
    let shown = if content_type.is_empty() {
        "none".to_owned()
    } else {
        content_type.to_owned()
    };
    match expect {
        Expect::Page if is_html => Ok(FetchedKind::Html),
        Expect::Page => Err(DraftError::NotHtml {
            url: url.to_string(),
            content_type: shown,
        }),
        Expect::Image if is_image || maybe_image => Ok(FetchedKind::Image),
        Expect::Image => Err(DraftError::NotImage {
            url: url.to_string(),
            content_type: shown,
        }),
        Expect::PageOrImage if is_html => Ok(FetchedKind::Html),
        Expect::PageOrImage if is_image => Ok(FetchedKind::Image),
        Expect::PageOrImage => Err(DraftError::NotHtml {
            url: url.to_string(),
            content_type: shown,
        }),
    }
}

async fn read_capped(
    url: &Url,
    mut response: reqwest::Response,
    limit: u64,
) -> Result<Vec<u8>, DraftError> {
    let too_big = || DraftError::TooBig {
        what: format!("`{url}`"),
        limit,
    };
    let declared = response
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit) {
        return Err(too_big());
    }
    let capacity = declared.unwrap_or(64 * 1024).min(limit);
    let mut body = Vec::with_capacity(usize::try_from(capacity).unwrap_or(64 * 1024));
    // The declared length may lie (or be absent): the cap is enforced on what actually arrives.
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|error| DraftError::Network {
            url: url.to_string(),
            reason: error.to_string(),
        })?
    {
        if body.len() as u64 + chunk.len() as u64 > limit {
            return Err(too_big());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn describe_reqwest_error(error: &reqwest::Error, host: &str) -> String {
    if error.is_connect() {
        format!("could not connect to {host}")
    } else if error.is_timeout() {
        "the connection timed out".to_owned()
    } else {
        // reqwest's Display carries the URL, which the caller's message already names.
        let mut text = error.to_string();
        if let Some(source) = std::error::Error::source(error) {
            text = format!("{text}: {source}");
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_http_and_https_are_accepted() {
        assert!(parse_web_url("https://example.invalid/a").is_ok());
        assert!(parse_web_url("http://example.invalid/a").is_ok());
        for bad in [
            "file:///etc/passwd",
            "ftp://example.invalid/",
            "gopher://x/",
            "data:text/html,hi",
        ] {
            assert!(
                matches!(parse_web_url(bad), Err(DraftError::BadScheme { .. })),
                "{bad} must be refused by scheme"
            );
        }
        assert!(matches!(
            parse_web_url("not a url"),
            Err(DraftError::InvalidUrl { .. })
        ));
    }
}
