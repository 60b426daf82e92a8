//! The guard every outbound request goes through.
//!
//! A [`Guard`] decides, for one purpose (webhook deliveries, draft fetches, the chat API), which
//! hosts may be reached. It is applied twice:
//! - [`Guard::check_url`] before a request is built: the URL's form, the process's
//!   [`Reach`](crate::Reach), reserved names and address literals, with no DNS query. HTTP clients
//!   skip their resolver for an address literal, so this is where literals are refused.
//! - as the HTTP client's resolver ([`Guard::client_builder`]): every address a name resolves to is
//!   checked, and the connection can only go to the addresses that passed, because they are the
//!   only ones the client ever sees. A DNS answer that changes between a check and a connect (DNS
//!   rebinding) therefore cannot slip a private address through.
//!
//! The client built here ignores system proxies: a proxy would connect on pinline's behalf to an
//! address the guard never saw.

use std::fmt;
use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use url::{Host, Url};

use crate::address::{is_loopback, special_range};
use crate::error::OutboundError;
use crate::reach::{Reach, process_reach, record_refusal};

/// A future returned by a [`Lookup`].
pub type Lookingup = Pin<Box<dyn Future<Output = io::Result<Vec<IpAddr>>> + Send>>;

/// Resolves host names to addresses. The system resolver in production; tests substitute one
/// that counts its calls or answers what a rebinding attacker would.
pub trait Lookup: Send + Sync + fmt::Debug {
    /// The addresses of `host`.
    fn lookup(&self, host: String) -> Lookingup;

    /// True for a lookup that answers from memory and sends no query off the machine. Under a
    /// loopback-only reach such a lookup is still asked about names (the addresses it answers
    /// must then all be loopback), where a real resolver is never asked.
    fn answers_locally(&self) -> bool {
        false
    }
}

/// The operating system's resolver (`getaddrinfo`, on a blocking thread).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemLookup;

impl Lookup for SystemLookup {
    fn lookup(&self, host: String) -> Lookingup {
        Box::pin(async move {
            let found = tokio::net::lookup_host((host.as_str(), 0)).await?;
            Ok(found.map(|address| address.ip()).collect())
        })
    }
}

/// Where refusals beyond loopback are counted.
#[derive(Debug, Clone)]
enum Refusals {
    /// The process-wide count, log and refusals file (see [`crate::reach`]).
    Process,
    /// A count of the caller's own: a test that provokes refusals on purpose must not make a CI
    /// run look as if something had tried to leave the machine.
    Counted(Arc<AtomicU64>),
}

/// Whether a refusal beyond loopback is an attempt to count, or a validation answer.
#[derive(Debug, Clone, Copy)]
enum Record {
    Refusals,
    Nothing,
}

/// Decides which hosts one kind of outbound request may reach. Cheap to clone.
#[derive(Clone)]
pub struct Guard {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    purpose: &'static str,
    allow_private: bool,
    reach: Reach,
    lookup: Arc<dyn Lookup>,
    refusals: Refusals,
}

impl fmt::Debug for Guard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Guard")
            .field("purpose", &self.inner.purpose)
            .field("allow_private", &self.inner.allow_private)
            .field("reach", &self.reach())
            .finish()
    }
}

/// What a URL's host turned out to be, before any DNS query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// Addresses known without a query: an address literal, or `localhost`.
    Addresses(Vec<IpAddr>),
    /// A name the resolver must answer.
    Name(String),
}

impl Guard {
    /// A guard for `purpose` (words for logs: `webhook delivery`, `draft fetch`, …) that allows
    /// private and loopback targets only when `allow_private` is set, under the process's reach.
    pub fn new(purpose: &'static str, allow_private: bool) -> Guard {
        Guard {
            inner: Arc::new(Inner {
                purpose,
                allow_private,
                reach: Reach::Anywhere,
                lookup: Arc::new(SystemLookup),
                refusals: Refusals::Process,
            }),
        }
    }

    /// The same guard resolving through `lookup`.
    pub fn with_lookup(self, lookup: Arc<dyn Lookup>) -> Guard {
        self.rebuild(|inner| inner.lookup = lookup)
    }

    /// The same guard, restricted to loopback whatever the process's reach (it can only tighten
    /// the process's setting, never widen it), counting its refusals beyond loopback in
    /// `refusals` instead of the process-wide count.
    pub fn loopback_only_counting_in(self, refusals: Arc<AtomicU64>) -> Guard {
        self.rebuild(|inner| {
            inner.reach = Reach::LoopbackOnly;
            inner.refusals = Refusals::Counted(refusals);
        })
    }

    fn rebuild(self, change: impl FnOnce(&mut Inner)) -> Guard {
        let mut inner = Inner {
            purpose: self.inner.purpose,
            allow_private: self.inner.allow_private,
            reach: self.inner.reach,
            lookup: self.inner.lookup.clone(),
            refusals: self.inner.refusals.clone(),
        };
        change(&mut inner);
        Guard {
            inner: Arc::new(inner),
        }
    }

    /// Whether private and loopback targets are allowed.
    pub fn allows_private(&self) -> bool {
        self.inner.allow_private
    }

    /// The reach in force: loopback only when either this guard or the process says so.
    pub fn reach(&self) -> Reach {
        if self.inner.reach == Reach::LoopbackOnly || process_reach() == Reach::LoopbackOnly {
            Reach::LoopbackOnly
        } else {
            Reach::Anywhere
        }
    }

    /// Checks a URL without resolving it: http(s) with a host, not a reserved name, within the
    /// reach, and not a refused address literal. A refusal beyond loopback is recorded.
    pub fn check_url(&self, url: &Url) -> Result<Destination, OutboundError> {
        self.check(url, Record::Refusals)
    }

    /// The same checks as [`check_url`](Self::check_url) for a target that is being registered,
    /// not reached: a refusal here is a validation answer, not an attempt, so it is not counted.
    pub fn vet_url(&self, url: &Url) -> Result<Destination, OutboundError> {
        self.check(url, Record::Nothing)
    }

    fn check(&self, url: &Url, record: Record) -> Result<Destination, OutboundError> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(OutboundError::InvalidUrl {
                url: url.to_string(),
                reason: "only http and https are spoken".to_owned(),
            });
        }
        let destination = match url.host() {
            Some(Host::Ipv4(ip)) => Destination::Addresses(vec![IpAddr::V4(ip)]),
            Some(Host::Ipv6(ip)) => Destination::Addresses(vec![IpAddr::V6(ip)]),
            Some(Host::Domain(name)) if !name.is_empty() => self.check_name(name, record)?,
            _ => {
                return Err(OutboundError::InvalidUrl {
                    url: url.to_string(),
                    reason: "it has no host".to_owned(),
                });
            }
        };
        if let Destination::Addresses(addresses) = &destination {
            self.check_addresses(url.host_str().unwrap_or_default(), addresses, record)?;
        }
        Ok(destination)
    }

    /// Resolves a checked URL's host to the addresses a request may connect to; every one of
    /// them passed the checks.
    pub async fn resolve(&self, url: &Url) -> Result<Vec<IpAddr>, OutboundError> {
        match self.check_url(url)? {
            Destination::Addresses(addresses) => Ok(addresses),
            Destination::Name(name) => self.resolve_name(name).await,
        }
    }

    /// An HTTP client builder whose every connection goes through this guard: names resolve
    /// through [`Guard`]'s checks, and system proxies are ignored. Callers still run
    /// [`check_url`](Self::check_url) before each request, for address literals.
    pub fn client_builder(&self) -> reqwest::ClientBuilder {
        reqwest::Client::builder()
            .no_proxy()
            .dns_resolver(GuardedResolver {
                guard: self.clone(),
            })
    }

    /// This guard as an HTTP client's resolver alone, for a client built elsewhere. Such a
    /// client must still call [`check_url`](Self::check_url) for address literals, and should
    /// ignore proxies when [`reach`](Self::reach) is loopback only.
    pub fn resolver(&self) -> impl reqwest::dns::Resolve + 'static {
        GuardedResolver {
            guard: self.clone(),
        }
    }

    fn check_name(&self, name: &str, record: Record) -> Result<Destination, OutboundError> {
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        if name == "invalid" || name.ends_with(".invalid") {
            return Err(OutboundError::ReservedName { host: name });
        }
        // RFC 6761 §6.3: `localhost` names are loopback and are not sent to DNS.
        if name == "localhost" || name.ends_with(".localhost") {
            return Ok(Destination::Addresses(vec![
                IpAddr::V4(Ipv4Addr::LOCALHOST),
                IpAddr::V6(Ipv6Addr::LOCALHOST),
            ]));
        }
        if self.reach() == Reach::LoopbackOnly && !self.inner.lookup.answers_locally() {
            return Err(self.refuse_beyond_loopback(&name, record));
        }
        Ok(Destination::Name(name))
    }

    /// Every address must pass: one private address among public ones is how a rebinding
    /// attacker would get in.
    fn check_addresses(
        &self,
        host: &str,
        addresses: &[IpAddr],
        record: Record,
    ) -> Result<(), OutboundError> {
        if !self.inner.allow_private {
            for &address in addresses {
                if let Some(range) = special_range(address) {
                    return Err(OutboundError::NonPublic {
                        host: host.to_owned(),
                        address,
                        range,
                    });
                }
            }
        }
        if self.reach() == Reach::LoopbackOnly && !addresses.iter().all(|ip| is_loopback(*ip)) {
            return Err(self.refuse_beyond_loopback(host, record));
        }
        Ok(())
    }

    async fn resolve_name(&self, name: String) -> Result<Vec<IpAddr>, OutboundError> {
        let addresses = self
            .inner
            .lookup
            .lookup(name.clone())
            .await
            .map_err(|error| OutboundError::Unresolvable {
                host: name.clone(),
                reason: error.to_string(),
            })?;
        if addresses.is_empty() {
            return Err(OutboundError::Unresolvable {
                host: name,
                reason: "no addresses".to_owned(),
            });
        }
        self.check_addresses(&name, &addresses, Record::Refusals)?;
        Ok(addresses)
    }

    fn refuse_beyond_loopback(&self, host: &str, record: Record) -> OutboundError {
        match (&self.inner.refusals, record) {
            (_, Record::Nothing) => {}
            (Refusals::Process, Record::Refusals) => record_refusal(self.inner.purpose, host),
            (Refusals::Counted(count), Record::Refusals) => {
                count.fetch_add(1, Ordering::Relaxed);
            }
        }
        OutboundError::BeyondLoopback {
            host: host.to_owned(),
        }
    }
}

/// The guard as an HTTP client's resolver.
struct GuardedResolver {
    guard: Guard,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let guard = self.guard.clone();
        let name = name.as_str().to_owned();
        Box::pin(async move {
            let addresses = match guard.check_name(&name, Record::Refusals)? {
                Destination::Addresses(addresses) => {
                    guard.check_addresses(&name, &addresses, Record::Refusals)?;
                    addresses
                }
                Destination::Name(name) => guard.resolve_name(name).await?,
            };
            // Port 0: the client puts the URL's port in.
            let addresses: reqwest::dns::Addrs = Box::new(
                addresses
                    .into_iter()
                    .map(|ip| SocketAddr::new(ip, 0))
                    .collect::<Vec<_>>()
                    .into_iter(),
            );
            Ok(addresses)
        })
    }
}
