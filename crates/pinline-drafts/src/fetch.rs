//! Fetching pages and images from links that strangers send.
//!
//! A link in an idea is untrusted input pointing at someone else's server, so every fetch is
//! bounded: the body stops being read past a size cap, the whole fetch (every redirect hop
//! included) has one deadline, redirects are followed by hand up to a limit with loop detection,
//! and only `http`/`https` are spoken.
//!
//! Server-side request forgery is the main danger: a link (or a redirect) that points at
//! `127.0.0.1`, a cloud metadata address or the office network. Every hop's host is therefore
//! resolved here, *all* of its addresses are checked ([`is_public_address`]), and the connection is
//! pinned to exactly the addresses that were checked (`ClientBuilder::resolve_to_addrs`), so a DNS
//! answer that changes between the check and the connect (DNS rebinding) cannot sneak through.
//! System proxies are ignored for the same reason: a proxy would connect on our behalf to an
//! address we never checked.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

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
}

impl Fetcher {
    /// A fetcher that applies `policy` to every fetch.
    pub fn new(policy: FetchPolicy) -> Self {
        Self { policy }
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

    /// One request to one URL, connected to the addresses that passed the check, with no
    /// automatic redirects and no proxy.
    async fn send_one(&self, url: &Url, expect: Expect) -> Result<reqwest::Response, DraftError> {
        let host = url.host_str().ok_or_else(|| DraftError::InvalidUrl {
            url: url.to_string(),
            reason: "it has no host".to_owned(),
        })?;
        let port = url.port_or_known_default().unwrap_or(80);
        let addresses = self.checked_addresses(url, port).await?;

        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .user_agent(self.policy.user_agent.clone())
            .connect_timeout(self.policy.total_timeout);
        if let Some(url::Host::Domain(domain)) = url.host() {
            builder = builder.resolve_to_addrs(domain, &addresses);
        }
        let client = builder.build().map_err(|error| {
            DraftError::Internal(format!("could not build the HTTP client: {error}"))
        })?;
        let accept = match expect {
            Expect::Page => "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1",
            Expect::Image => "image/jpeg,image/png,image/webp,image/*;q=0.8",
            Expect::PageOrImage => "text/html,application/xhtml+xml,image/*;q=0.9,*/*;q=0.1",
        };
        client
            .get(url.clone())
            .header(reqwest::header::ACCEPT, accept)
            .send()
            .await
            .map_err(|error| DraftError::Network {
                url: url.to_string(),
                reason: describe_reqwest_error(&error, host),
            })
    }

    /// Resolves the URL's host and refuses it when any address is not public (unless the policy
    /// allows private addresses).
    async fn checked_addresses(&self, url: &Url, port: u16) -> Result<Vec<SocketAddr>, DraftError> {
        let addresses: Vec<SocketAddr> = match url.host() {
            Some(url::Host::Ipv4(ip)) => vec![SocketAddr::new(IpAddr::V4(ip), port)],
            Some(url::Host::Ipv6(ip)) => vec![SocketAddr::new(IpAddr::V6(ip), port)],
            Some(url::Host::Domain(domain)) => {
                let resolved = tokio::net::lookup_host((domain, port))
                    .await
                    .map_err(|error| DraftError::Unresolvable {
                        host: domain.to_owned(),
                        reason: error.to_string(),
                    })?;
                resolved.collect()
            }
            None => Vec::new(),
        };
        let host = url.host_str().unwrap_or_default().to_owned();
        if addresses.is_empty() {
            return Err(DraftError::Unresolvable {
                host,
                reason: "no addresses".to_owned(),
            });
        }
        if !self.policy.allow_private
            && let Some(refused) = addresses.iter().find(|a| !is_public_address(a.ip()))
        {
            return Err(DraftError::PrivateAddress {
                host,
                address: refused.ip(),
            });
        }
        Ok(addresses)
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

/// Whether an address is on the public internet. Everything a server should never be tricked
/// into calling is refused: unspecified, loopback, private (RFC 1918), shared/CGNAT
/// (RFC 6598), link-local, multicast, broadcast, reserved and documentation ranges, benchmarking
/// (RFC 2544), IETF protocol assignments, IPv6 unique-local (RFC 4193), site-local, discard-only,
/// and IPv6 forms that embed an IPv4 address (mapped, compatible, NAT64, 6to4) when the embedded
/// address is itself not public. Teredo is refused outright: its server and client are hidden.
pub fn is_public_address(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    let refused = a == 0 // "this network", including 0.0.0.0
        || a == 10
        || a == 127
        || (a == 100 && (64..=127).contains(&b)) // shared address space (CGNAT)
        || (a == 169 && b == 254)
        || (a == 172 && (16..=31).contains(&b))
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 192 && b == 0 && c == 2) // TEST-NET-1
        || (a == 192 && b == 88 && c == 99) // 6to4 relay anycast (deprecated)
        || (a == 192 && b == 168)
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || (a == 198 && b == 51 && c == 100) // TEST-NET-2
        || (a == 203 && b == 0 && c == 113) // TEST-NET-3
        || a >= 224; // multicast, reserved, broadcast
    !refused
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let segments = ip.segments();
    if ip.is_unspecified() || ip.is_loopback() {
        return false;
    }
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    // IPv4-compatible (::a.b.c.d, deprecated) and NAT64 (64:ff9b::/96) embed an IPv4 address.
    let embedded =
        |s: &[u16; 8]| Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    if segments[..6] == [0, 0, 0, 0, 0, 0] {
        return is_public_v4(embedded(&segments));
    }
    if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return is_public_v4(embedded(&segments));
    }
    if segments[0] == 0x2002 {
        // 6to4 carries the IPv4 address in the second and third segments.
        let v4 = Ipv4Addr::new(
            (segments[1] >> 8) as u8,
            segments[1] as u8,
            (segments[2] >> 8) as u8,
            segments[2] as u8,
        );
        return is_public_v4(v4);
    }
    let refused = (segments[0] & 0xfe00) == 0xfc00 // unique local fc00::/7
        || (segments[0] & 0xffc0) == 0xfe80 // link-local fe80::/10
        || (segments[0] & 0xffc0) == 0xfec0 // site-local fec0::/10 (deprecated)
        || (segments[0] & 0xff00) == 0xff00 // multicast
        || (segments[0] == 0x2001 && segments[1] == 0x0db8) // documentation
        || (segments[0] == 0x2001 && segments[1] == 0) // Teredo
        || (segments[0] == 0x0100 && segments[1..4] == [0, 0, 0]) // discard-only 100::/64
        || (segments[0] == 0x3fff && segments[1] < 0x1000); // documentation 3fff::/20
    !refused
}

#[cfg(test)]
mod tests {
    use super::*;

    fn public(text: &str) -> bool {
        is_public_address(text.parse().expect("test addresses parse"))
    }

    #[test]
    fn refuses_non_public_ipv4() {
        for address in [
            "0.0.0.0",
            "127.0.0.1",
            "127.8.9.10",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "100.127.255.254",
            "224.0.0.1",
            "239.255.255.250",
            "255.255.255.255",
            "240.0.0.1",
            "192.0.2.10",
            "198.18.0.1",
            "192.0.0.8",
        ] {
            assert!(!public(address), "{address} must be refused");
        }
    }

    #[test]
    fn accepts_public_ipv4() {
        for address in [
            "8.8.8.8",
            "1.1.1.1",
            "172.15.0.1",
            "172.32.0.1",
            "100.63.0.1",
            "100.128.0.1",
        ] {
            assert!(public(address), "{address} must be allowed");
        }
    }

    #[test]
    fn refuses_non_public_ipv6() {
        for address in [
            "::",
            "::1",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "ff02::1",
            "2001:db8::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "2002:c0a8:0101::1",
            "2001:0:4136:e378::1",
        ] {
            assert!(!public(address), "{address} must be refused");
        }
    }

    #[test]
    fn accepts_public_ipv6() {
        for address in [
            "2606:4700:4700::1111",
            "2a00:1450:4001::1",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
        ] {
            assert!(public(address), "{address} must be allowed");
        }
    }

    #[test]
    fn only_http_and_https_are_accepted() {
        assert!(parse_web_url("https://example.com/a").is_ok());
        assert!(parse_web_url("http://example.com/a").is_ok());
        for bad in [
            "file:///etc/passwd",
            "ftp://example.com/",
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
