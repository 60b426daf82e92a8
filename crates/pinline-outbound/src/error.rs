//! The one error type of outbound requests.

use std::net::IpAddr;

use crate::reach::REACH_ENV;

/// The switch that lets pinline reach private and loopback addresses.
pub const ALLOW_PRIVATE_ENV: &str = "PINLINE_ALLOW_PRIVATE_TARGETS";

/// Why an outbound request was not sent (or could not find its host).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OutboundError {
    /// The URL is not an absolute http(s) URL with a host.
    #[error("`{url}` cannot be reached: {reason}")]
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The process reaches loopback only (`PINLINE_OUTBOUND=loopback`) and the host is not
    /// loopback. Refused before any DNS query.
    #[error(
        "`{host}` is not a loopback host, and this pinline reaches loopback only ({REACH_ENV}=loopback)"
    )]
    BeyondLoopback {
        /// The host that was refused.
        host: String,
    },
    /// The host is, or resolves to, an address in a special-purpose range (loopback, private,
    /// link-local, …) and private targets are not allowed.
    #[error(
        "`{host}` is {address}, in the {range} range; pinline reaches only public addresses unless {ALLOW_PRIVATE_ENV}=1"
    )]
    NonPublic {
        /// The host from the URL.
        host: String,
        /// The first refused address.
        address: IpAddr,
        /// The range it belongs to, in words.
        range: &'static str,
    },
    /// A reserved name that never resolves (`*.invalid`, RFC 6761 §6.4); answered without a
    /// DNS query.
    #[error("`{host}` is a reserved name that never resolves")]
    ReservedName {
        /// The host from the URL.
        host: String,
    },
    /// The host name did not resolve.
    #[error("could not resolve `{host}` ({reason})")]
    Unresolvable {
        /// The host that failed to resolve.
        host: String,
        /// The resolver's explanation.
        reason: String,
    },
}

impl OutboundError {
    /// A short class for logs a caller can read (a webhook's delivery log): it names the rule
    /// that applied without the resolver's or the socket's own words, which could tell a prober
    /// what lives on the network.
    pub fn class(&self) -> &'static str {
        match self {
            OutboundError::InvalidUrl { .. } => "invalid URL",
            OutboundError::BeyondLoopback { .. } => "refused: this pinline reaches loopback only",
            OutboundError::NonPublic { .. } => "refused: not a public address",
            OutboundError::ReservedName { .. } | OutboundError::Unresolvable { .. } => {
                "the host did not resolve"
            }
        }
    }

    /// True when a policy refused the request (as opposed to a host that does not exist).
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            OutboundError::BeyondLoopback { .. } | OutboundError::NonPublic { .. }
        )
    }

    /// True when trying again later may succeed (only a failed lookup can change).
    pub fn is_transient(&self) -> bool {
        matches!(self, OutboundError::Unresolvable { .. })
    }

    /// The guard's own error inside a failed request, if a guard refused it during resolution.
    pub fn in_request_error(error: &reqwest::Error) -> Option<&OutboundError> {
        let mut source = std::error::Error::source(error);
        while let Some(cause) = source {
            if let Some(found) = cause.downcast_ref::<OutboundError>() {
                return Some(found);
            }
            source = cause.source();
        }
        None
    }
}
