//! Facts about Pinterest API v5 that pinline builds on, derived from Pinterest's OpenAPI
//! description: scopes, rate-limit categories, error codes, the operations pinline uses with the
//! scopes each one requires, and field limits.
//!
//! Both the client side (validation at acceptance) and the sandbox (enforcement) read these
//! tables, and a test checks them against the spec file so that neither can drift from Pinterest.

use std::fmt;
use std::str::FromStr;

/// An OAuth scope as Pinterest names it (`boards:read`, `pins:write_secret`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    AdsRead,
    AdsWrite,
    BillingRead,
    BillingWrite,
    BizAccessRead,
    BizAccessWrite,
    BoardsRead,
    BoardsReadSecret,
    BoardsWrite,
    BoardsWriteSecret,
    CatalogsRead,
    CatalogsWrite,
    MsotWrite,
    PinsRead,
    PinsReadSecret,
    PinsWrite,
    PinsWriteSecret,
    UserAccountsRead,
    UserAccountsWrite,
}

impl Scope {
    /// Every scope Pinterest defines, in the order the spec lists them.
    pub const ALL: [Scope; 19] = [
        Scope::AdsRead,
        Scope::AdsWrite,
        Scope::BillingRead,
        Scope::BillingWrite,
        Scope::BizAccessRead,
        Scope::BizAccessWrite,
        Scope::BoardsRead,
        Scope::BoardsReadSecret,
        Scope::BoardsWrite,
        Scope::BoardsWriteSecret,
        Scope::CatalogsRead,
        Scope::CatalogsWrite,
        Scope::MsotWrite,
        Scope::PinsRead,
        Scope::PinsReadSecret,
        Scope::PinsWrite,
        Scope::PinsWriteSecret,
        Scope::UserAccountsRead,
        Scope::UserAccountsWrite,
    ];

    /// The scope's wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::AdsRead => "ads:read",
            Scope::AdsWrite => "ads:write",
            Scope::BillingRead => "billing:read",
            Scope::BillingWrite => "billing:write",
            Scope::BizAccessRead => "biz_access:read",
            Scope::BizAccessWrite => "biz_access:write",
            Scope::BoardsRead => "boards:read",
            Scope::BoardsReadSecret => "boards:read_secret",
            Scope::BoardsWrite => "boards:write",
            Scope::BoardsWriteSecret => "boards:write_secret",
            Scope::CatalogsRead => "catalogs:read",
            Scope::CatalogsWrite => "catalogs:write",
            Scope::MsotWrite => "msot:write",
            Scope::PinsRead => "pins:read",
            Scope::PinsReadSecret => "pins:read_secret",
            Scope::PinsWrite => "pins:write",
            Scope::PinsWriteSecret => "pins:write_secret",
            Scope::UserAccountsRead => "user_accounts:read",
            Scope::UserAccountsWrite => "user_accounts:write",
        }
    }

    /// The `_secret` counterpart a secret board or its pins additionally need, if any.
    pub fn secret_counterpart(self) -> Option<Scope> {
        match self {
            Scope::BoardsRead => Some(Scope::BoardsReadSecret),
            Scope::BoardsWrite => Some(Scope::BoardsWriteSecret),
            Scope::PinsRead => Some(Scope::PinsReadSecret),
            Scope::PinsWrite => Some(Scope::PinsWriteSecret),
            _ => None,
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A scope name that Pinterest does not define.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown Pinterest scope `{0}`")]
pub struct UnknownScope(pub String);

impl FromStr for Scope {
    type Err = UnknownScope;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Scope::ALL
            .into_iter()
            .find(|scope| scope.as_str() == s)
            .ok_or_else(|| UnknownScope(s.to_owned()))
    }
}

/// Parses a scope list as Pinterest writes it: comma- or space-separated names.
pub fn parse_scope_list(list: &str) -> Result<Vec<Scope>, UnknownScope> {
    let mut scopes: Vec<Scope> = list
        .split([',', ' '])
        .filter(|part| !part.is_empty())
        .map(str::parse)
        .collect::<Result<_, _>>()?;
    scopes.sort();
    scopes.dedup();
    Ok(scopes)
}

/// Formats scopes the way Pinterest's token endpoint answers them: comma-separated.
pub fn format_scope_list(scopes: &[Scope]) -> String {
    scopes
        .iter()
        .map(|scope| scope.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

/// The rate-limit category an operation counts against (`x-ratelimit-category`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RateLimitCategory {
    OrgRead,
    OrgWrite,
    OrgAnalytics,
    AdsRead,
    AdsWrite,
    AdsAnalytics,
    AdsConversions,
    CatalogsRead,
    CatalogsWrite,
    TrendsRead,
    MsotWrite,
    AdvancedAuctionRead,
    AdvancedAuctionWrite,
}

impl RateLimitCategory {
    /// Every category the spec uses.
    pub const ALL: [RateLimitCategory; 13] = [
        RateLimitCategory::OrgRead,
        RateLimitCategory::OrgWrite,
        RateLimitCategory::OrgAnalytics,
        RateLimitCategory::AdsRead,
        RateLimitCategory::AdsWrite,
        RateLimitCategory::AdsAnalytics,
        RateLimitCategory::AdsConversions,
        RateLimitCategory::CatalogsRead,
        RateLimitCategory::CatalogsWrite,
        RateLimitCategory::TrendsRead,
        RateLimitCategory::MsotWrite,
        RateLimitCategory::AdvancedAuctionRead,
        RateLimitCategory::AdvancedAuctionWrite,
    ];

    /// The category's wire name, as in the `x-ratelimit-category` header.
    pub fn as_str(self) -> &'static str {
        match self {
            RateLimitCategory::OrgRead => "org_read",
            RateLimitCategory::OrgWrite => "org_write",
            RateLimitCategory::OrgAnalytics => "org_analytics",
            RateLimitCategory::AdsRead => "ads_read",
            RateLimitCategory::AdsWrite => "ads_write",
            RateLimitCategory::AdsAnalytics => "ads_analytics",
            RateLimitCategory::AdsConversions => "ads_conversions",
            RateLimitCategory::CatalogsRead => "catalogs_read",
            RateLimitCategory::CatalogsWrite => "catalogs_write",
            RateLimitCategory::TrendsRead => "trends_read",
            RateLimitCategory::MsotWrite => "msot_write",
            RateLimitCategory::AdvancedAuctionRead => "advanced_auction_read",
            RateLimitCategory::AdvancedAuctionWrite => "advanced_auction_write",
        }
    }
}

impl fmt::Display for RateLimitCategory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A rate-limit category name that the spec does not use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown rate-limit category `{0}`")]
pub struct UnknownCategory(pub String);

impl FromStr for RateLimitCategory {
    type Err = UnknownCategory;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RateLimitCategory::ALL
            .into_iter()
            .find(|category| category.as_str() == s)
            .ok_or_else(|| UnknownCategory(s.to_owned()))
    }
}

/// Pinterest's numeric error codes (the `code` of an error body) that pinline acts on.
pub mod error_code {
    /// Invalid parameters.
    pub const INVALID_PARAMETERS: i64 = 1;
    /// Authentication failed (bad, expired or revoked token).
    pub const AUTHENTICATION_FAILED: i64 = 2;
    /// The token lacks a scope the operation needs.
    pub const MISSING_SCOPES: i64 = 3;
    /// Not authorized to access the board or pin.
    pub const NOT_AUTHORIZED: i64 = 7;
    /// Rate limited.
    pub const RATE_LIMITED: i64 = 8;
    /// Not permitted to access that resource (also what Trial apps get when creating pins).
    pub const NOT_PERMITTED: i64 = 29;
    /// Board not found.
    pub const BOARD_NOT_FOUND: i64 = 40;
    /// Pin not found.
    pub const PIN_NOT_FOUND: i64 = 50;
}

/// Field limits of a pin, from the `PinCreate` schema.
pub mod pin_limits {
    /// Longest title, in characters.
    pub const TITLE_MAX: usize = 100;
    /// Longest description, in characters.
    pub const DESCRIPTION_MAX: usize = 800;
    /// Longest alt text, in characters.
    pub const ALT_TEXT_MAX: usize = 500;
    /// Longest link, in characters.
    pub const LINK_MAX: usize = 2048;
    /// Fewest images in a multiple-image pin.
    pub const MULTIPLE_IMAGES_MIN: usize = 2;
    /// Most images in a multiple-image pin.
    pub const MULTIPLE_IMAGES_MAX: usize = 5;
}

/// Field limits of boards and board sections.
pub mod board_limits {
    /// Longest board section name, in characters.
    pub const SECTION_NAME_MAX: usize = 180;
}

/// True when `id` has the shape of a Pinterest id (a non-empty string of ASCII digits), as board,
/// section, pin and media ids must.
pub fn is_pinterest_id(id: &str) -> bool {
    !id.is_empty() && id.bytes().all(|byte| byte.is_ascii_digit())
}

/// HTTP methods of the operations pinline uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    Get,
    Post,
    Patch,
    Delete,
}

impl Method {
    /// The method in upper case, as on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }
}

/// One Pinterest v5 operation that pinline calls and the sandbox serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Operation {
    /// The spec's `operationId`.
    pub id: &'static str,
    /// HTTP method.
    pub method: Method,
    /// Path template below `/v5`, with `{name}` parameters as in the spec.
    pub path: &'static str,
    /// Scopes the spec's `security` block requires for an OAuth user token (empty for the
    /// token endpoints, which use HTTP Basic client credentials instead).
    pub scopes: &'static [Scope],
    /// The rate-limit category the operation counts against.
    pub category: RateLimitCategory,
}

impl Operation {
    /// True when the operation authenticates with the app's client credentials (HTTP Basic)
    /// rather than a user's bearer token.
    pub fn uses_client_credentials(&self) -> bool {
        self.scopes.is_empty()
    }

    /// The scopes still missing from `granted` for this operation. When `secret` is true the
    /// target is a secret board (or a pin on one), so every read/write scope also needs its
    /// `_secret` counterpart.
    pub fn missing_scopes(&self, granted: &[Scope], secret: bool) -> Vec<Scope> {
        let mut needed: Vec<Scope> = self.scopes.to_vec();
        if secret {
            needed.extend(self.scopes.iter().filter_map(|s| s.secret_counterpart()));
        }
        needed.retain(|scope| !granted.contains(scope));
        needed
    }
}

use RateLimitCategory::{OrgAnalytics, OrgRead, OrgWrite};
use Scope::{BoardsRead, BoardsWrite, PinsRead, PinsWrite, UserAccountsRead};

macro_rules! operations {
    ($($name:ident = $id:literal, $method:ident $path:literal, [$($scope:ident),*], $category:ident;)*) => {
        /// The operations pinline uses, one constant each.
        pub mod operations {
            use super::*;
            $(
                #[doc = concat!("`", $id, "`: ", stringify!($method), " `/v5", $path, "`.")]
                pub const $name: Operation = Operation {
                    id: $id,
                    method: Method::$method,
                    path: $path,
                    scopes: &[$($scope),*],
                    category: $category,
                };
            )*
            /// Every operation in this table.
            pub const ALL: &[Operation] = &[$($name),*];
        }
    };
}

operations! {
    OAUTH_TOKEN = "oauth/token", Post "/oauth/token", [], OrgRead;
    TOKEN_REVOKE = "token/revoke", Post "/oauth/token/revoke", [], OrgWrite;
    USER_ACCOUNT_GET = "user_account/get", Get "/user_account", [UserAccountsRead], OrgRead;
    BOARDS_LIST = "boards/list", Get "/boards", [BoardsRead], OrgRead;
    BOARDS_CREATE = "boards/create", Post "/boards", [BoardsRead, BoardsWrite], OrgWrite;
    BOARDS_GET = "boards/get", Get "/boards/{board_id}", [BoardsRead], OrgRead;
    BOARDS_UPDATE = "boards/update", Patch "/boards/{board_id}", [BoardsRead, BoardsWrite], OrgWrite;
    BOARDS_DELETE = "boards/delete", Delete "/boards/{board_id}", [BoardsRead, BoardsWrite], OrgWrite;
    BOARDS_LIST_PINS = "boards/list_pins", Get "/boards/{board_id}/pins", [BoardsRead, PinsRead], OrgRead;
    BOARD_SECTIONS_LIST = "board_sections/list", Get "/boards/{board_id}/sections", [BoardsRead], OrgRead;
    BOARD_SECTIONS_CREATE = "board_sections/create", Post "/boards/{board_id}/sections", [BoardsRead, BoardsWrite], OrgWrite;
    BOARD_SECTIONS_UPDATE = "board_sections/update", Patch "/boards/{board_id}/sections/{section_id}", [BoardsRead, BoardsWrite], OrgWrite;
    BOARD_SECTIONS_DELETE = "board_sections/delete", Delete "/boards/{board_id}/sections/{section_id}", [BoardsRead, BoardsWrite], OrgWrite;
    BOARD_SECTIONS_LIST_PINS = "board_sections/list_pins", Get "/boards/{board_id}/sections/{section_id}/pins", [BoardsRead, PinsRead], OrgRead;
    PINS_LIST = "pins/list", Get "/pins", [BoardsRead, PinsRead], OrgRead;
    PINS_CREATE = "pins/create", Post "/pins", [BoardsRead, BoardsWrite, PinsRead, PinsWrite], OrgWrite;
    PINS_GET = "pins/get", Get "/pins/{pin_id}", [BoardsRead, PinsRead], OrgRead;
    PINS_UPDATE = "pins/update", Patch "/pins/{pin_id}", [BoardsRead, BoardsWrite, PinsRead, PinsWrite], OrgWrite;
    PINS_DELETE = "pins/delete", Delete "/pins/{pin_id}", [BoardsRead, BoardsWrite, PinsRead, PinsWrite], OrgWrite;
    MEDIA_LIST = "media/list", Get "/media", [PinsRead], OrgRead;
    MEDIA_CREATE = "media/create", Post "/media", [PinsRead, PinsWrite], OrgWrite;
    MEDIA_GET = "media/get", Get "/media/{media_id}", [PinsRead], OrgRead;
    PINS_ANALYTICS = "pins/analytics", Get "/pins/{pin_id}/analytics", [BoardsRead, PinsRead], OrgAnalytics;
    USER_ACCOUNT_ANALYTICS = "user_account/analytics", Get "/user_account/analytics", [UserAccountsRead], OrgAnalytics;
}

/// What the analytics endpoints accept, from their parameters in the spec.
pub mod analytics_limits {
    /// `start_date` may be at most this many days before today (UTC), and `end_date` at most
    /// this many days after `start_date`.
    pub const WINDOW_DAYS: i64 = 90;
    /// The pin metrics pinline reads (`query_pin_analytics_metric_types`, standard pins).
    pub const PIN_METRICS: [&str; 5] = [
        "IMPRESSION",
        "OUTBOUND_CLICK",
        "PIN_CLICK",
        "SAVE",
        "SAVE_RATE",
    ];
    /// The account metrics pinline reads (`query_metric_types`).
    pub const ACCOUNT_METRICS: [&str; 9] = [
        "ENGAGEMENT",
        "ENGAGEMENT_RATE",
        "IMPRESSION",
        "OUTBOUND_CLICK",
        "OUTBOUND_CLICK_RATE",
        "PIN_CLICK",
        "PIN_CLICK_RATE",
        "SAVE",
        "SAVE_RATE",
    ];
}

/// Access-token lifetime Pinterest issues: 30 days.
pub const ACCESS_TOKEN_LIFETIME_SECS: i64 = 30 * 24 * 60 * 60;
/// Continuous refresh-token lifetime: 60 days from issue, renewed by every refresh.
pub const REFRESH_TOKEN_LIFETIME_SECS: i64 = 60 * 24 * 60 * 60;
/// Legacy refresh-token lifetime: 365 days from the connect, a hard end that no refresh moves.
/// Apps created before 25 September 2025 get one unless the code exchange asks for a continuous
/// token (`continuous_refresh=true`).
pub const LEGACY_REFRESH_TOKEN_LIFETIME_SECS: i64 = 365 * 24 * 60 * 60;
/// Authorization codes expire 10 minutes after they are issued.
pub const AUTHORIZATION_CODE_LIFETIME_SECS: i64 = 10 * 60;
/// Prefix of Pinterest access tokens.
pub const ACCESS_TOKEN_PREFIX: &str = "pina_";
/// Prefix of Pinterest refresh tokens.
pub const REFRESH_TOKEN_PREFIX: &str = "pinr_";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_names_round_trip() {
        for scope in Scope::ALL {
            assert_eq!(scope.as_str().parse::<Scope>(), Ok(scope));
        }
        assert!("pins:fly".parse::<Scope>().is_err());
    }

    #[test]
    fn scope_lists_parse_with_commas_or_spaces() {
        let parsed = parse_scope_list("pins:read,boards:read pins:read").expect("valid list");
        assert_eq!(parsed, vec![Scope::BoardsRead, Scope::PinsRead]);
        assert_eq!(format_scope_list(&parsed), "boards:read,pins:read");
    }

    #[test]
    fn secret_boards_need_secret_scopes() {
        let granted = [BoardsRead, BoardsWrite, PinsRead, PinsWrite];
        assert!(
            operations::PINS_CREATE
                .missing_scopes(&granted, false)
                .is_empty()
        );
        assert_eq!(
            operations::PINS_CREATE.missing_scopes(&granted, true),
            vec![
                Scope::BoardsReadSecret,
                Scope::BoardsWriteSecret,
                Scope::PinsReadSecret,
                Scope::PinsWriteSecret
            ]
        );
    }

    #[test]
    fn pinterest_ids_are_digit_strings() {
        assert!(is_pinterest_id("549755885175"));
        assert!(!is_pinterest_id("Summer recipes"));
        assert!(!is_pinterest_id(""));
    }
}
