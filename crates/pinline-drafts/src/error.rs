//! The one error type of the drafts pipeline.
//!
//! Every message says what went wrong *and* what the person who sent the idea can do about it,
//! because these messages travel unchanged to API callers and the CLI. Whether retrying can help
//! is a property of the error ([`DraftError::is_transient`]), not something callers guess.

use std::time::Duration;

/// Everything that can stop an idea from becoming drafts.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DraftError {
    /// The request itself is unusable (for example a draft count outside 1..=5).
    #[error("invalid draft request: {0}")]
    InvalidRequest(String),

    /// The request carries no idea at all.
    #[error("nothing to draft from: give a link, a line of text, a title or an image")]
    EmptyIdea,

    /// A URL could not be parsed.
    #[error("`{url}` is not a valid URL ({reason}); give a full http:// or https:// address")]
    InvalidUrl {
        /// The text that was given as a URL.
        url: String,
        /// Why the parser refused it.
        reason: String,
    },

    /// A URL (given, or reached by a redirect) uses a scheme other than http or https.
    #[error("`{url}` uses the `{scheme}` scheme; only http and https links can be fetched")]
    BadScheme {
        /// The refused URL.
        url: String,
        /// Its scheme.
        scheme: String,
    },

    /// A host resolved to an address inside a private, loopback, link-local or otherwise
    /// non-public range, and the fetch policy does not allow those.
    #[error(
        "`{host}` resolves to {address}, which is not a public address; only public web pages \
         and images can be fetched"
    )]
    PrivateAddress {
        /// The host name or address literal from the URL.
        host: String,
        /// The first refused address.
        address: std::net::IpAddr,
    },

    /// The process reaches loopback only (`PINLINE_OUTBOUND=loopback`: a test, demo or benchmark
    /// run) and the link's host is not loopback; refused before any DNS query.
    #[error(
        "`{host}` is not on this machine, and this pinline fetches from loopback only \
         (PINLINE_OUTBOUND=loopback)"
    )]
    BeyondLoopback {
        /// The refused host.
        host: String,
    },

    /// A host name could not be resolved.
    #[error("could not resolve `{host}` ({reason}); check the link's spelling")]
    Unresolvable {
        /// The host that failed to resolve.
        host: String,
        /// The resolver's explanation.
        reason: String,
    },

    /// The connection failed or broke before the whole response arrived.
    #[error("could not fetch `{url}`: {reason}; the site may be down, try again later")]
    Network {
        /// The URL being fetched.
        url: String,
        /// The underlying failure.
        reason: String,
    },

    /// A fetch did not finish within the allowed total time (all redirects included).
    #[error("fetching `{url}` took longer than {}s; the site is too slow, try again later", .after.as_secs_f32())]
    Timeout {
        /// The URL given (not the redirect hop that was slow).
        url: String,
        /// The time limit that ran out.
        after: Duration,
    },

    /// The whole drafts request did not finish within its deadline (slow sites, or other drafts
    /// ahead of it waiting for image work).
    #[error(
        "the drafts took longer than {}s to make (a slow site, or many drafts being made at \
         once); try again later",
        .after.as_secs()
    )]
    Deadline {
        /// The deadline that passed.
        after: Duration,
    },

    /// More redirects than the policy allows.
    #[error("`{url}` redirected more than {limit} times; link to the final page instead")]
    TooManyRedirects {
        /// The URL given.
        url: String,
        /// The redirect limit.
        limit: usize,
    },

    /// A redirect led back to a URL already visited.
    #[error("`{url}` redirects in a loop; the site is misconfigured, link to another page")]
    RedirectLoop {
        /// The URL that was reached a second time.
        url: String,
    },

    /// A redirect response without a usable `Location` header.
    #[error("`{url}` answered with a redirect but no valid Location; link to the final page")]
    BadRedirect {
        /// The URL that answered.
        url: String,
    },

    /// The server answered with a non-success status.
    #[error("`{url}` answered HTTP {status}; check that the link works in a browser")]
    HttpStatus {
        /// The URL that answered.
        url: String,
        /// The status code.
        status: u16,
    },

    /// A page was expected, but the response is not HTML.
    #[error(
        "`{url}` is not a web page (content type `{content_type}`); link to an HTML page or an image"
    )]
    NotHtml {
        /// The URL that answered.
        url: String,
        /// The content type it declared.
        content_type: String,
    },

    /// An image was expected, but the response is not an image.
    #[error(
        "`{url}` is not an image (content type `{content_type}`); link to a JPEG, PNG or WebP file"
    )]
    NotImage {
        /// The URL that answered.
        url: String,
        /// The content type it declared.
        content_type: String,
    },

    /// A response or an uploaded image is larger than allowed.
    #[error("{what} is larger than the {limit}-byte limit; use a smaller file or page")]
    TooBig {
        /// What was too big (a URL, or "the uploaded image").
        what: String,
        /// The limit in bytes.
        limit: u64,
    },

    /// The image bytes could not be decoded.
    #[error("the image could not be read ({reason}); use a JPEG, PNG or WebP file")]
    ImageUndecodable {
        /// The decoder's explanation.
        reason: String,
    },

    /// The image's header declares a picture too large to decode within the limits (checked
    /// before anything is allocated).
    #[error(
        "the image is {width}×{height} pixels, {why}; send a smaller version (a pin is \
         1000×1500 pixels)"
    )]
    ImageTooLarge {
        /// Width the header declares.
        width: u32,
        /// Height the header declares.
        height: u32,
        /// Which limit it exceeds, in words.
        why: String,
    },

    /// The image is in a format that is not read (GIF, BMP, TIFF, …).
    #[error(
        "the image is a {format} file, which pinline does not read; use a JPEG, PNG or WebP file"
    )]
    ImageFormatUnsupported {
        /// The format its signature shows.
        format: String,
    },

    /// The image is too small to make a pin image from.
    #[error(
        "the image is only {width}×{height} pixels; use one whose shorter side is at least {min} \
         pixels"
    )]
    ImageTooSmall {
        /// Width of the decoded image.
        width: u32,
        /// Height of the decoded image.
        height: u32,
        /// The minimum shorter side.
        min: u32,
    },

    /// Even the lowest JPEG quality did not bring the pin image under the size cap.
    #[error(
        "the pin image is still {smallest} bytes at the lowest quality, over the {cap}-byte cap; \
         raise the cap or use a less detailed image"
    )]
    ImageOverSizeCap {
        /// The configured cap in bytes.
        cap: usize,
        /// The smallest encoding reached.
        smallest: usize,
    },

    /// Neither the request nor the page offers an image.
    #[error(
        "no image to make a pin from: send an image or an image link with the idea (a linked \
         page offers none in og:image, twitter:image or its structured data)"
    )]
    NoImage,

    /// A text generator failed and had nothing to fall back to.
    #[error("the text generator failed: {0}")]
    Generator(String),

    /// An internal task failed (a bug or a shutdown, not the idea's fault).
    #[error("internal error while drafting: {0}")]
    Internal(String),
}

impl DraftError {
    /// Whether the same request may succeed later without any change (slow or failing sites,
    /// network trouble). Everything else needs a different input or setting.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Network { .. }
            | Self::Timeout { .. }
            | Self::Deadline { .. }
            | Self::Unresolvable { .. } => true,
            Self::HttpStatus { status, .. } => *status == 429 || *status >= 500,
            _ => false,
        }
    }
}
