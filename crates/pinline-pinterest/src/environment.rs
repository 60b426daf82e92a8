//! Which Pinterest a client talks to: production, Pinterest's own sandbox, or a custom base URL
//! (the local `pinline sandbox`).
//!
//! Credentials are only valid in the environment that issued them, so the vault stores
//! [`Environment::as_str`] next to every token and the client refuses to use a token from another
//! environment ([`crate::PinterestClient::ensure_environment`]). The stored name must therefore
//! stay stable: `production`, `pinterest_sandbox`, or `custom:<api base URL>`.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use url::Url;

/// Production API base.
pub const PRODUCTION_API_URL: &str = "https://api.pinterest.com";
/// Pinterest's sandbox API base. Its tokens work only there.
pub const PINTEREST_SANDBOX_API_URL: &str = "https://api-sandbox.pinterest.com";
/// Pinterest's authorize page, for production and Pinterest's sandbox alike.
pub const PRODUCTION_OAUTH_URL: &str = "https://www.pinterest.com/oauth/";

/// A Pinterest deployment: where the API lives and where users authorize.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Environment {
    /// `https://api.pinterest.com`, authorize at `https://www.pinterest.com/oauth/`.
    Production,
    /// `https://api-sandbox.pinterest.com`, authorize at `https://www.pinterest.com/oauth/`.
    PinterestSandbox,
    /// Any other base URL, such as a local `pinline sandbox`.
    Custom {
        /// API base; the client appends `/v5/…` to it.
        api_url: Url,
        /// The authorize page.
        oauth_url: Url,
    },
}

/// A string that names no environment.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidEnvironment {
    /// Not `production`, `pinterest_sandbox` or `custom:<url>`.
    #[error(
        "unknown Pinterest environment `{0}` (expected production, pinterest_sandbox or custom:<url>)"
    )]
    UnknownName(String),
    /// A custom URL that does not parse or is not http(s).
    #[error("invalid Pinterest {what} URL `{url}`: {reason}")]
    InvalidUrl {
        /// Which URL: `API` or `OAuth`.
        what: &'static str,
        /// The rejected URL.
        url: String,
        /// Why it was rejected.
        reason: String,
    },
}

const CUSTOM_PREFIX: &str = "custom:";

impl Environment {
    /// A custom environment from two URLs, both of which must be http or https.
    pub fn custom(api_url: &str, oauth_url: &str) -> Result<Self, InvalidEnvironment> {
        Ok(Environment::Custom {
            api_url: parse_http_url("API", api_url)?,
            oauth_url: parse_http_url("OAuth", oauth_url)?,
        })
    }

    /// The environment that configuration (`PINTEREST_API_URL`, `PINTEREST_OAUTH_URL`) names:
    /// Pinterest's own bases map to their variants, anything else is [`Environment::Custom`].
    pub fn from_urls(api_url: &str, oauth_url: &str) -> Result<Self, InvalidEnvironment> {
        let api_url = parse_http_url("API", api_url)?;
        let oauth_url = parse_http_url("OAuth", oauth_url)?;
        let pinterest_oauth = oauth_url.as_str() == PRODUCTION_OAUTH_URL;
        Ok(match base_name(&api_url).as_str() {
            PRODUCTION_API_URL if pinterest_oauth => Environment::Production,
            PINTEREST_SANDBOX_API_URL if pinterest_oauth => Environment::PinterestSandbox,
            _ => Environment::Custom { api_url, oauth_url },
        })
    }

    /// The stable name stored next to credentials: `production`, `pinterest_sandbox` or
    /// `custom:<api base>` (the OAuth URL is not part of it: tokens belong to the API).
    pub fn as_str(&self) -> Cow<'static, str> {
        match self {
            Environment::Production => Cow::Borrowed("production"),
            Environment::PinterestSandbox => Cow::Borrowed("pinterest_sandbox"),
            Environment::Custom { api_url, .. } => {
                Cow::Owned(format!("{CUSTOM_PREFIX}{}", base_name(api_url)))
            }
        }
    }

    /// The API base, without `/v5`.
    pub fn api_url(&self) -> Url {
        match self {
            Environment::Production => known_url(PRODUCTION_API_URL),
            Environment::PinterestSandbox => known_url(PINTEREST_SANDBOX_API_URL),
            Environment::Custom { api_url, .. } => api_url.clone(),
        }
    }

    /// The authorize page users are sent to.
    pub fn oauth_url(&self) -> Url {
        match self {
            Environment::Production | Environment::PinterestSandbox => {
                known_url(PRODUCTION_OAUTH_URL)
            }
            Environment::Custom { oauth_url, .. } => oauth_url.clone(),
        }
    }

    /// The URL of a v5 path such as `/pins/123`: the API base with any path of its own kept,
    /// then `/v5`, then `path`. Ids in `path` must already be validated (digits only).
    pub fn endpoint(&self, path: &str) -> Url {
        let mut url = self.api_url();
        let joined = format!("{}/v5{path}", url.path().trim_end_matches('/'));
        url.set_path(&joined);
        url
    }

    /// True when tokens issued by `other` are valid here: both talk to the same API base (the
    /// authorize page does not matter to a token).
    pub fn accepts_credentials_of(&self, other: &Environment) -> bool {
        base_name(&self.api_url()) == base_name(&other.api_url())
    }
}

impl fmt::Display for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.as_str())
    }
}

impl FromStr for Environment {
    type Err = InvalidEnvironment;

    /// Parses a stored name. A `custom:<url>` name gets the authorize page the local sandbox
    /// serves, `<url>/oauth/`, since the stored name does not carry one.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "production" => Ok(Environment::Production),
            "pinterest_sandbox" => Ok(Environment::PinterestSandbox),
            _ => {
                let Some(api_url) = s.strip_prefix(CUSTOM_PREFIX) else {
                    return Err(InvalidEnvironment::UnknownName(s.to_owned()));
                };
                let api_url = parse_http_url("API", api_url)?;
                let oauth_url = format!("{}/oauth/", base_name(&api_url));
                Environment::custom(api_url.as_str(), &oauth_url)
            }
        }
    }
}

fn parse_http_url(what: &'static str, raw: &str) -> Result<Url, InvalidEnvironment> {
    let invalid = |reason: String| InvalidEnvironment::InvalidUrl {
        what,
        url: raw.to_owned(),
        reason,
    };
    let url = Url::parse(raw).map_err(|error| invalid(error.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid("the scheme must be http or https".to_owned()));
    }
    if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() {
        return Err(invalid(
            "a base URL carries no query, fragment or credentials".to_owned(),
        ));
    }
    Ok(url)
}

/// The URL without the trailing slash that `Url` adds to an empty path, so that
/// `http://127.0.0.1:8080` and `http://127.0.0.1:8080/` name the same environment.
fn base_name(url: &Url) -> String {
    url.as_str().trim_end_matches('/').to_owned()
}

fn known_url(url: &'static str) -> Url {
    Url::parse(url).expect("the built-in Pinterest URLs are valid")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_name(name: &str, expected: &str) {
        let environment: Environment = name.parse().expect("a valid environment name");
        assert_eq!(environment.as_str(), expected);
        assert_eq!(expected.parse::<Environment>(), Ok(environment));
    }

    #[test]
    fn names_round_trip() {
        check_name("production", "production");
        check_name("pinterest_sandbox", "pinterest_sandbox");
        check_name(
            "custom:http://127.0.0.1:8080",
            "custom:http://127.0.0.1:8080",
        );
        check_name(
            "custom:http://127.0.0.1:8080/",
            "custom:http://127.0.0.1:8080",
        );
        check_name(
            "custom:https://proxy.example/pinterest",
            "custom:https://proxy.example/pinterest",
        );
    }

    #[test]
    fn bad_names_are_rejected() {
        for name in [
            "",
            "prod",
            "Production",
            "custom:",
            "custom:ftp://x",
            "custom:http://x/?a=b",
        ] {
            assert!(name.parse::<Environment>().is_err(), "{name:?}");
        }
    }

    #[test]
    fn endpoints_append_v5() {
        let check = |environment: Environment, expected: &str| {
            assert_eq!(environment.endpoint("/pins/1").as_str(), expected);
        };
        check(
            Environment::Production,
            "https://api.pinterest.com/v5/pins/1",
        );
        check(
            Environment::PinterestSandbox,
            "https://api-sandbox.pinterest.com/v5/pins/1",
        );
        let local: Environment = "custom:http://127.0.0.1:9999".parse().expect("valid");
        check(local, "http://127.0.0.1:9999/v5/pins/1");
        let prefixed: Environment = "custom:http://h/api/".parse().expect("valid");
        check(prefixed, "http://h/api/v5/pins/1");
    }

    #[test]
    fn custom_names_get_the_local_sandbox_authorize_page() {
        let local: Environment = "custom:http://127.0.0.1:9999".parse().expect("valid");
        assert_eq!(local.oauth_url().as_str(), "http://127.0.0.1:9999/oauth/");
        assert_eq!(
            Environment::Production.oauth_url().as_str(),
            PRODUCTION_OAUTH_URL
        );
    }

    #[test]
    fn configuration_urls_map_to_known_environments() {
        let check = |api: &str, oauth: &str, expected: &str| {
            let environment = Environment::from_urls(api, oauth).expect("valid URLs");
            assert_eq!(environment.as_str(), expected);
        };
        check(
            "https://api.pinterest.com",
            PRODUCTION_OAUTH_URL,
            "production",
        );
        check(
            "https://api.pinterest.com/",
            PRODUCTION_OAUTH_URL,
            "production",
        );
        check(
            "https://api-sandbox.pinterest.com",
            PRODUCTION_OAUTH_URL,
            "pinterest_sandbox",
        );
        check(
            "http://127.0.0.1:1",
            "http://127.0.0.1:1/oauth/",
            "custom:http://127.0.0.1:1",
        );
        check(
            "https://api.pinterest.com",
            "http://127.0.0.1:1/oauth/",
            "custom:https://api.pinterest.com",
        );
    }

    #[test]
    fn credentials_stay_in_their_environment() {
        let local: Environment = "custom:http://127.0.0.1:1".parse().expect("valid");
        assert!(Environment::Production.accepts_credentials_of(&Environment::Production));
        assert!(!Environment::Production.accepts_credentials_of(&Environment::PinterestSandbox));
        assert!(!Environment::Production.accepts_credentials_of(&local));
        let production_by_url =
            Environment::custom("https://api.pinterest.com", "http://127.0.0.1:1/oauth/")
                .expect("valid");
        assert!(Environment::Production.accepts_credentials_of(&production_by_url));
    }
}
