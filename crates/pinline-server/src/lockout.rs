//! Locking out addresses that keep presenting wrong credentials.
//!
//! API keys and dashboard sessions are long random values, so guessing one is hopeless; what an
//! address that keeps failing does cost is a database lookup per attempt and noise in the logs,
//! and a leaked key prefix or a weak proxy setup should not turn into an oracle. After
//! [`Lockout::MAX_FAILURES`] failed API-key lookups or sign-ins within a window, an address is
//! answered 429 (with `Retry-After`) *before* any lookup until the window ends, whatever key it
//! sends then.
//!
//! The address is the TCP peer's, unless the peer is a proxy the operator trusts
//! (`PINLINE_TRUSTED_PROXIES`): then it is the last address in `X-Forwarded-For` that is not a
//! trusted proxy. Without that setting behind a proxy, every client shares the proxy's address,
//! so one client's failures would lock out everyone: trust the proxy explicitly.
//!
//! The window is fixed per address and counted in memory per process; with several replicas an
//! address gets that many failures at each. The table holds at most [`Lockout::MAX_ADDRESSES`]
//! addresses: past that, expired windows are dropped, and if all are live the table is cleared
//! (failing open, with a warning) rather than growing.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use parking_lot::Mutex;

/// Where a request came from: its TCP peer (when the server was started with connection info)
/// and the addresses its `X-Forwarded-For` names, for [`Lockout::client_address`].
#[derive(Debug, Clone, Default)]
pub struct Peer {
    peer: Option<IpAddr>,
    forwarded: Vec<IpAddr>,
}

impl Peer {
    /// Reads the peer and `X-Forwarded-For` of a request.
    pub fn from_parts(parts: &Parts) -> Peer {
        Peer {
            peer: parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|info| info.0.ip()),
            forwarded: parts
                .headers
                .get_all("x-forwarded-for")
                .iter()
                .filter_map(|value| value.to_str().ok())
                .flat_map(|value| value.split(','))
                .filter_map(|hop| hop.trim().parse::<IpAddr>().ok())
                .collect(),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Peer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Peer, Self::Rejection> {
        Ok(Peer::from_parts(parts))
    }
}

/// Failed attempts per address and window.
#[derive(Debug)]
pub struct Lockout {
    windows: Mutex<HashMap<IpAddr, Window>>,
    trusted_proxies: Vec<IpAddr>,
}

#[derive(Debug, Clone, Copy)]
struct Window {
    started_at: i64,
    failures: u32,
}

impl Lockout {
    /// Failures an address may have in one window before it is locked out.
    pub const MAX_FAILURES: u32 = 10;
    /// The window's length.
    pub const WINDOW_MS: i64 = 5 * 60 * 1000;
    /// The most addresses remembered at once.
    pub const MAX_ADDRESSES: usize = 100_000;

    /// A lockout that reads the client's address from `X-Forwarded-For` only when the peer is
    /// one of `trusted_proxies`.
    pub fn new(trusted_proxies: Vec<IpAddr>) -> Lockout {
        Lockout {
            windows: Mutex::new(HashMap::new()),
            trusted_proxies,
        }
    }

    /// The client's address for a request, if the server knows its peer.
    pub fn client_address(&self, from: &Peer) -> Option<IpAddr> {
        let peer = from.peer?;
        if !self.trusted_proxies.contains(&peer) {
            return Some(peer);
        }
        // Right to left: each trusted proxy appended the address it got the request from.
        Some(
            from.forwarded
                .iter()
                .rev()
                .find(|hop| !self.trusted_proxies.contains(hop))
                .copied()
                .unwrap_or(peer),
        )
    }

    /// `Err(seconds)` while the request's client is locked out; `Ok` with its address (when
    /// known) otherwise, to pass to [`fail`](Self::fail) if its credentials are wrong.
    pub fn admit(&self, from: &Peer, now_ms: i64) -> Result<Option<IpAddr>, u64> {
        match self.client_address(from) {
            Some(address) => self.check(address, now_ms).map(|()| Some(address)),
            None => Ok(None),
        }
    }

    /// `Err(seconds)` while `address` is locked out: how long until it may try again.
    pub fn check(&self, address: IpAddr, now_ms: i64) -> Result<(), u64> {
        let windows = self.windows.lock();
        match windows.get(&address) {
            Some(window)
                if window.failures >= Self::MAX_FAILURES
                    && now_ms < window.started_at + Self::WINDOW_MS =>
            {
                let left_ms = window.started_at + Self::WINDOW_MS - now_ms;
                Err(u64::try_from((left_ms + 999) / 1000).unwrap_or(1).max(1))
            }
            _ => Ok(()),
        }
    }

    /// Counts one failed attempt from `address`.
    pub fn fail(&self, address: IpAddr, now_ms: i64) {
        let mut windows = self.windows.lock();
        if windows.len() >= Self::MAX_ADDRESSES && !windows.contains_key(&address) {
            windows.retain(|_, window| now_ms < window.started_at + Self::WINDOW_MS);
            if windows.len() >= Self::MAX_ADDRESSES {
                tracing::warn!(
                    addresses = windows.len(),
                    "too many addresses with failed sign-ins to remember; forgetting them all"
                );
                windows.clear();
            }
        }
        let window = windows.entry(address).or_insert(Window {
            started_at: now_ms,
            failures: 0,
        });
        if now_ms >= window.started_at + Self::WINDOW_MS {
            *window = Window {
                started_at: now_ms,
                failures: 0,
            };
        }
        window.failures = window.failures.saturating_add(1);
        if window.failures == Self::MAX_FAILURES {
            tracing::warn!(%address, "locked out after repeated failed credentials");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Request;

    fn parts(peer: &str, forwarded: Option<&str>) -> Peer {
        let mut request = Request::builder().uri("/v1/posts");
        if let Some(forwarded) = forwarded {
            request = request.header("x-forwarded-for", forwarded);
        }
        let (mut parts, ()) = request.body(()).expect("request").into_parts();
        let peer: SocketAddr = format!("{peer}:40000").parse().expect("peer");
        parts.extensions.insert(ConnectInfo(peer));
        Peer::from_parts(&parts)
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("ip")
    }

    #[test]
    fn an_address_is_locked_out_for_the_rest_of_its_window() {
        let lockout = Lockout::new(Vec::new());
        let address = ip("203.0.113.9");
        for _ in 0..Lockout::MAX_FAILURES - 1 {
            lockout.fail(address, 1_000);
        }
        assert_eq!(lockout.check(address, 1_000), Ok(()));
        lockout.fail(address, 1_000);
        assert_eq!(lockout.check(address, 1_000), Err(300));
        assert_eq!(lockout.check(address, 1_000 + 299_500), Err(1));
        assert_eq!(
            lockout.check(ip("203.0.113.10"), 1_000),
            Ok(()),
            "others are not"
        );
        assert_eq!(lockout.check(address, 1_000 + Lockout::WINDOW_MS), Ok(()));
        lockout.fail(address, 1_000 + Lockout::WINDOW_MS);
        assert_eq!(lockout.check(address, 1_000 + Lockout::WINDOW_MS), Ok(()));
    }

    #[test]
    fn forwarded_addresses_count_only_behind_a_trusted_proxy() {
        let untrusted = Lockout::new(Vec::new());
        assert_eq!(
            untrusted.client_address(&parts("198.51.100.1", Some("203.0.113.7"))),
            Some(ip("198.51.100.1")),
            "anyone can write the header: without a trusted proxy it is ignored"
        );
        let behind = Lockout::new(vec![ip("10.0.0.2"), ip("10.0.0.3")]);
        assert_eq!(
            behind.client_address(&parts(
                "10.0.0.2",
                Some("198.18.0.1, 203.0.113.7, 10.0.0.3")
            )),
            Some(ip("203.0.113.7")),
            "the last hop that is not a trusted proxy; what the client wrote before it is ignored"
        );
        assert_eq!(
            behind.client_address(&parts("10.0.0.2", None)),
            Some(ip("10.0.0.2"))
        );
        assert_eq!(behind.client_address(&Peer::default()), None);
    }

    #[test]
    fn the_table_stays_bounded() {
        let lockout = Lockout::new(Vec::new());
        for n in 0..(Lockout::MAX_ADDRESSES as u32 + 10) {
            lockout.fail(IpAddr::from(n.to_be_bytes()), 0);
        }
        assert!(lockout.windows.lock().len() <= Lockout::MAX_ADDRESSES);
    }
}
