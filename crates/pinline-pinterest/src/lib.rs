//! Pinterest API v5 as pinline sees it.
//!
//! * [`facts`]: the fact tables (scopes, rate-limit categories, error codes, operations, limits)
//!   shared by the gateway and the sandbox.
//! * [`secret`]: credentials in types that print `[REDACTED]` and never serialize.
//! * [`environment`]: production, Pinterest's sandbox, or a custom base URL.
//! * [`oauth`] and [`pkce`]: the authorize URL, `state` and PKCE S256.
//! * [`models`]: serde wire types.
//! * [`ratelimit`]: rate-limit headers.
//! * [`error`]: the crate's one error type and the classification of every failure.
//! * [`client`]: the typed HTTP client.
//!
//! **Invariant:** no token, secret or verifier is ever logged, displayed or serialized by this
//! crate; it is exposed only where it goes on the wire.

pub mod client;
pub mod environment;
pub mod error;
pub mod facts;
pub mod models;
pub mod oauth;
pub mod pin_text;
pub mod pkce;
pub mod ratelimit;
pub mod secret;

pub use client::{PinterestClient, Response, RevocableToken, iso_date};
pub use environment::{Environment, InvalidEnvironment};
pub use error::{ApiError, ErrorClass, PinterestError, Refusal, TransportKind};
pub use models::{
    AccountType, AnalyticsDay, AnalyticsMetrics, AnalyticsReport, Base64Data, Board, BoardCreate,
    BoardMedia, BoardOwner, BoardPrivacy, BoardPrivacyFilter, BoardSection, BoardUpdate,
    BoardUpdatePrivacy, ImageBase64Item, ImageContentType, ImageUrlItem, Media, MediaStatus,
    MediaType, MediaUpload, MediaUploadCreate, Page, Pin, PinCreate, PinMedia, PinMediaSource,
    PinUpdate, TokenResponse, TokenTypeHint, UserAccount,
};
pub use oauth::{Authorization, OAuthState, authorize_url, begin_authorization};
pub use pin_text::{FieldError, PinText};
pub use pkce::{InvalidVerifier, PkceChallenge};
pub use ratelimit::RateLimitInfo;
pub use secret::{
    AccessToken, AuthorizationCode, ClientId, ClientSecret, PkceVerifier, RefreshToken,
};
