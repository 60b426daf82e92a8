//! The sandbox's configuration: the fake app credentials it accepts, token lifetimes, rate limits
//! and where state is persisted. Built by the CLI (or tests) and validated once at `spawn`.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use pinline_pinterest::facts::{
    self, AUTHORIZATION_CODE_LIFETIME_SECS, REFRESH_TOKEN_LIFETIME_SECS, RateLimitCategory,
};

/// Everything the sandbox needs to know before it starts.
#[derive(Clone)]
pub struct SandboxConfig {
    /// The app id the token endpoint and consent page accept.
    pub client_id: String,
    /// The app secret the token endpoint accepts (HTTP Basic).
    pub client_secret: String,
    /// Registered redirect URIs; the consent page redirects only to one of these, compared
    /// exactly, as Pinterest does. Empty means any `http(s)` URI is accepted: a convenience for
    /// tests that bind pinline to a random port, never what `pinline sandbox` runs with. A code is
    /// bound to the exact URI it was issued for either way.
    pub redirect_uris: Vec<String>,
    /// When true, `GET /oauth/` approves at once instead of showing the consent page.
    pub auto_approve: bool,
    /// Lifetime of issued access tokens.
    pub access_token_lifetime_secs: i64,
    /// Lifetime of (continuous) refresh tokens, renewed by every refresh.
    pub refresh_token_lifetime_secs: i64,
    /// Which kind of refresh token the code exchange issues (Pinterest's rule depends on when
    /// the app was created).
    pub refresh_tokens: RefreshTokenPolicy,
    /// Lifetime of authorization codes.
    pub code_lifetime_secs: i64,
    /// How long a rotated refresh token still works after its successor was issued. Pinterest
    /// gives none, so the default is 0.
    pub refresh_reuse_grace_secs: i64,
    /// Rate limits per user per category. Categories not listed are unlimited.
    pub rates: Vec<(RateLimitCategory, Rate)>,
    /// Pinterest's universal limit: one budget per user that every request spends, whatever its
    /// category, on top of the category's own. None (the default, so that tests and benchmarks
    /// run unthrottled) means no such limit; `pinline sandbox` sets [`STANDARD_UNIVERSAL_RATE`]
    /// or [`TRIAL_UNIVERSAL_RATE`].
    pub universal_rate: Option<Rate>,
    /// Seed of the fault-injection random generator, so a run can be repeated.
    pub seed: u64,
    /// Where state is loaded from at start and saved to while running and at shutdown.
    pub state_file: Option<PathBuf>,
    /// A Trial-tier app: Pinterest refuses `pins/create` with 403 code 29.
    pub trial: bool,
    /// How long an uploaded video stays `processing` before it is `succeeded`, on the sandbox
    /// clock. Pinterest takes a while, so clients must poll; the default 0 makes an upload
    /// succeed at once so tests need not move the clock, and `pinline sandbox` sets a few seconds.
    pub media_processing_secs: i64,
    /// How long every `/v5` request (the token endpoint's included) waits before it is handled,
    /// as a network round trip to Pinterest would: none by default, so tests and benchmarks run
    /// at full speed. The wait is a timer, not a blocked thread, so any number of requests can
    /// be waiting at once.
    pub latency: Latency,
}

/// Which refresh token a code exchange gets. Pinterest's `/oauth/token` description: an app
/// created on or after 25 September 2025 always gets a continuous one (60 days, renewed by every
/// refresh); an app created before gets the legacy one (365 days from the connect, a hard end)
/// unless the exchange sends `continuous_refresh=true`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefreshTokenPolicy {
    /// An app created on or after 25 September 2025.
    #[default]
    Continuous,
    /// An app created before: legacy tokens unless the exchange asks for continuous ones.
    LegacyApp,
    /// Legacy tokens whatever the exchange asks, to see how a client copes with an account that
    /// holds one (one connected before the client asked, say).
    LegacyOnly,
}

impl RefreshTokenPolicy {
    /// True when an exchange that did (or did not) send `continuous_refresh=true` gets a legacy
    /// refresh token.
    pub fn issues_legacy(self, continuous_requested: bool) -> bool {
        match self {
            RefreshTokenPolicy::Continuous => false,
            RefreshTokenPolicy::LegacyApp => !continuous_requested,
            RefreshTokenPolicy::LegacyOnly => true,
        }
    }
}

/// A simulated response time: `base` plus a uniform jitter of at most `jitter` either way, drawn
/// afresh for every request (`150 ms ± 50 ms` answers in 100 to 200 ms).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Latency {
    /// The middle of the range.
    pub base: Duration,
    /// The most a request's delay differs from `base`, either way; at most `base`.
    pub jitter: Duration,
}

/// The longest latency accepted: a minute is far beyond any real API's answer, and short enough
/// that a mistyped value does not hang a client for hours.
pub const MAX_LATENCY: Duration = Duration::from_secs(60);

impl Latency {
    /// No delay (the default).
    pub const NONE: Latency = Latency {
        base: Duration::ZERO,
        jitter: Duration::ZERO,
    };

    /// `base_ms ± jitter_ms` milliseconds.
    pub const fn from_millis(base_ms: u64, jitter_ms: u64) -> Latency {
        Latency {
            base: Duration::from_millis(base_ms),
            jitter: Duration::from_millis(jitter_ms),
        }
    }

    /// True when requests are not delayed at all.
    pub fn is_zero(&self) -> bool {
        self.base.is_zero() && self.jitter.is_zero()
    }

    /// The shortest and longest delay a request can get.
    pub fn range(&self) -> (Duration, Duration) {
        (
            self.base.saturating_sub(self.jitter),
            self.base.saturating_add(self.jitter),
        )
    }

    /// One request's delay, uniform over [`Latency::range`].
    pub fn sample(&self, rng: &mut impl rand::Rng) -> Duration {
        let (low, high) = self.range();
        if high <= low {
            return low;
        }
        let nanos = rng.random_range(low.as_nanos()..=high.as_nanos());
        Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    }

    /// A latency that can be configured: jitter no larger than the base (a delay is never
    /// negative), and at most [`MAX_LATENCY`] either way.
    pub fn check(&self) -> Result<(), String> {
        if self.jitter > self.base {
            return Err(format!(
                "latency {self}: the jitter must not be larger than the base latency"
            ));
        }
        if self.range().1 > MAX_LATENCY {
            return Err(format!(
                "latency {self}: at most {} ms in all is accepted",
                MAX_LATENCY.as_millis()
            ));
        }
        Ok(())
    }
}

impl fmt::Display for Latency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ms ± {} ms",
            self.base.as_millis(),
            self.jitter.as_millis()
        )
    }
}

/// The longest token or code lifetime (and reuse grace) accepted: a century is far beyond any
/// real token, and small enough that adding it to a timestamp can never overflow.
pub const MAX_LIFETIME_SECS: i64 = 100 * 365 * 24 * 60 * 60;

/// The default client secret. The sandbox is a fake Pinterest on loopback, so a fixed, printed
/// secret is intended.
pub const DEFAULT_CLIENT_SECRET: &str = "sandbox-secret";
/// The default client id.
pub const DEFAULT_CLIENT_ID: &str = "1000001";

/// Pinterest's universal limit for apps with Standard access: 100 requests per second per user
/// per app, across all API requests (Pinterest's rate-limit documentation).
pub const STANDARD_UNIVERSAL_RATE: Rate = Rate {
    count: 100,
    per: Duration::from_secs(1),
};

/// Pinterest's universal limit for apps with Trial access: 1,000 requests per day per user.
pub const TRIAL_UNIVERSAL_RATE: Rate = Rate {
    count: 1000,
    per: Duration::from_secs(86_400),
};

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            client_id: DEFAULT_CLIENT_ID.to_owned(),
            client_secret: DEFAULT_CLIENT_SECRET.to_owned(),
            redirect_uris: Vec::new(),
            auto_approve: false,
            access_token_lifetime_secs: facts::ACCESS_TOKEN_LIFETIME_SECS,
            refresh_token_lifetime_secs: REFRESH_TOKEN_LIFETIME_SECS,
            refresh_tokens: RefreshTokenPolicy::Continuous,
            code_lifetime_secs: AUTHORIZATION_CODE_LIFETIME_SECS,
            refresh_reuse_grace_secs: 0,
            rates: Vec::new(),
            universal_rate: None,
            seed: 0,
            state_file: None,
            trial: false,
            media_processing_secs: 0,
            latency: Latency::NONE,
        }
    }
}

impl SandboxConfig {
    /// This configuration with every `/v5` request delayed by `latency`.
    pub fn with_latency(mut self, latency: Latency) -> Self {
        self.latency = latency;
        self
    }

    /// What makes a configuration unusable, checked once when the sandbox starts.
    pub fn validate(&self) -> Result<(), String> {
        if self.client_id.is_empty() || self.client_secret.is_empty() {
            return Err("client id and client secret must not be empty".to_owned());
        }
        for (name, secs) in [
            ("access token lifetime", self.access_token_lifetime_secs),
            ("refresh token lifetime", self.refresh_token_lifetime_secs),
            ("authorization code lifetime", self.code_lifetime_secs),
        ] {
            check_lifetime_secs(secs).map_err(|error| format!("{name}: {error}"))?;
        }
        check_grace_secs(self.refresh_reuse_grace_secs)
            .map_err(|error| format!("refresh reuse grace: {error}"))?;
        check_processing_secs(self.media_processing_secs)
            .map_err(|error| format!("media processing time: {error}"))?;
        self.latency.check()?;
        for uri in &self.redirect_uris {
            check_redirect_uri(uri)?;
        }
        let rates = self
            .rates
            .iter()
            .map(|(category, rate)| (category.as_str(), rate));
        for (name, rate) in rates.chain(self.universal_rate.iter().map(|rate| ("universal", rate)))
        {
            // A rate built in code rather than parsed could still say "0 per second".
            if rate.count == 0 || rate.per.is_zero() {
                return Err(format!(
                    "rate limit {name}: {rate} admits nothing; a rate needs a count of at least 1 and a period longer than zero"
                ));
            }
        }
        Ok(())
    }
}

/// A token or code lifetime: at least one second, at most [`MAX_LIFETIME_SECS`].
pub fn check_lifetime_secs(secs: i64) -> Result<(), String> {
    if secs < 1 {
        return Err(format!(
            "{secs} seconds: a lifetime must be at least 1 second"
        ));
    }
    if secs > MAX_LIFETIME_SECS {
        return Err(format!(
            "{secs} seconds: a lifetime must be at most {MAX_LIFETIME_SECS} seconds (100 years)"
        ));
    }
    Ok(())
}

/// The refresh-token reuse grace: 0 (Pinterest's behaviour) up to [`MAX_LIFETIME_SECS`].
pub fn check_grace_secs(secs: i64) -> Result<(), String> {
    if !(0..=MAX_LIFETIME_SECS).contains(&secs) {
        return Err(format!(
            "{secs} seconds: the grace must be between 0 and {MAX_LIFETIME_SECS} seconds"
        ));
    }
    Ok(())
}

/// The media processing time: 0 (an upload succeeds at once) up to [`MAX_LIFETIME_SECS`].
pub fn check_processing_secs(secs: i64) -> Result<(), String> {
    if !(0..=MAX_LIFETIME_SECS).contains(&secs) {
        return Err(format!(
            "{secs} seconds: the processing time must be between 0 and {MAX_LIFETIME_SECS} seconds"
        ));
    }
    Ok(())
}

/// A redirect URI that can be registered: an absolute `http` or `https` URL with a host and no
/// fragment (RFC 6749 §3.1.2). Registered URIs are compared as written, so none is normalised.
pub fn check_redirect_uri(uri: &str) -> Result<(), String> {
    let invalid = |why: &str| format!("redirect URI `{uri}` {why}");
    let url = url::Url::parse(uri).map_err(|error| invalid(&format!("is not a URL ({error})")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid("must start with http:// or https://"));
    }
    if !url.has_host() {
        return Err(invalid("has no host"));
    }
    if url.fragment().is_some() {
        return Err(invalid("must not have a #fragment"));
    }
    Ok(())
}

// The secret is the sandbox's own fake credential, but keeping it out of `Debug` output means a
// config printed into logs never teaches anyone to print real secrets.
impl fmt::Debug for SandboxConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SandboxConfig")
            .field("client_id", &self.client_id)
            .field("client_secret", &"[REDACTED]")
            .field("redirect_uris", &self.redirect_uris)
            .field("auto_approve", &self.auto_approve)
            .field(
                "access_token_lifetime_secs",
                &self.access_token_lifetime_secs,
            )
            .field(
                "refresh_token_lifetime_secs",
                &self.refresh_token_lifetime_secs,
            )
            .field("refresh_tokens", &self.refresh_tokens)
            .field("code_lifetime_secs", &self.code_lifetime_secs)
            .field("refresh_reuse_grace_secs", &self.refresh_reuse_grace_secs)
            .field("rates", &self.rates)
            .field("universal_rate", &self.universal_rate)
            .field("seed", &self.seed)
            .field("state_file", &self.state_file)
            .field("trial", &self.trial)
            .field("media_processing_secs", &self.media_processing_secs)
            .field("latency", &self.latency)
            .finish()
    }
}

/// A rate: `count` requests per `per`, written `50/s`, `1000/min`, `10/h` or `1000/day`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// Requests allowed per period (also the burst size).
    pub count: u32,
    /// The period.
    pub per: Duration,
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.per.as_secs() {
            1 => write!(f, "{}/s", self.count),
            60 => write!(f, "{}/min", self.count),
            3600 => write!(f, "{}/h", self.count),
            86_400 => write!(f, "{}/day", self.count),
            _ => write!(f, "{}/{}ms", self.count, self.per.as_millis()),
        }
    }
}

/// A rate string that is not `COUNT/UNIT`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid rate `{0}`: expected COUNT/UNIT such as 50/s, 1000/min, 10/h or 1000/day")]
pub struct InvalidRate(pub String);

impl FromStr for Rate {
    type Err = InvalidRate;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = || InvalidRate(s.to_owned());
        let (count, unit) = s.trim().split_once('/').ok_or_else(invalid)?;
        let count: u32 = count.trim().parse().map_err(|_| invalid())?;
        if count == 0 {
            return Err(invalid());
        }
        let per = match unit.trim() {
            "s" | "sec" | "second" => Duration::from_secs(1),
            "m" | "min" | "minute" => Duration::from_secs(60),
            "h" | "hour" => Duration::from_secs(3600),
            "d" | "day" => Duration::from_secs(86_400),
            _ => return Err(invalid()),
        };
        Ok(Rate { count, per })
    }
}

/// Parses `category=rate` as the CLI's `--rate org_write=50/s` flag writes it.
pub fn parse_category_rate(s: &str) -> Result<(RateLimitCategory, Rate), String> {
    let (category, rate) = s
        .split_once('=')
        .ok_or_else(|| format!("invalid rate `{s}`: expected CATEGORY=COUNT/UNIT"))?;
    let category: RateLimitCategory = category.trim().parse().map_err(|e| format!("{e}"))?;
    let rate: Rate = rate.parse().map_err(|e| format!("{e}"))?;
    Ok((category, rate))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_parse_with_units() {
        assert_eq!(
            "50/s".parse(),
            Ok(Rate {
                count: 50,
                per: Duration::from_secs(1)
            })
        );
        assert_eq!(
            "1000/min".parse(),
            Ok(Rate {
                count: 1000,
                per: Duration::from_secs(60)
            })
        );
        assert_eq!(
            "10/h".parse(),
            Ok(Rate {
                count: 10,
                per: Duration::from_secs(3600)
            })
        );
        assert_eq!("1000/day".parse(), Ok(TRIAL_UNIVERSAL_RATE));
        assert_eq!("100/s".parse(), Ok(STANDARD_UNIVERSAL_RATE));
        assert!("0/s".parse::<Rate>().is_err());
        assert!("5/fortnight".parse::<Rate>().is_err());
        assert!("five/s".parse::<Rate>().is_err());
    }

    #[test]
    fn rates_print_as_they_are_written() {
        for written in ["50/s", "1000/min", "10/h", "1000/day"] {
            let rate: Rate = written.parse().expect("valid");
            assert_eq!(rate.to_string(), written);
        }
    }

    #[test]
    fn category_rates_parse() {
        let (category, rate) = parse_category_rate("org_write=5/s").expect("valid");
        assert_eq!(category, RateLimitCategory::OrgWrite);
        assert_eq!(rate.count, 5);
        assert!(parse_category_rate("org_fly=5/s").is_err());
    }

    #[test]
    fn lifetimes_and_redirect_uris_are_validated() {
        assert_eq!(SandboxConfig::default().validate(), Ok(()));
        assert_eq!(SandboxConfig::default().universal_rate, None);
        for broken in [
            SandboxConfig {
                access_token_lifetime_secs: 0,
                ..SandboxConfig::default()
            },
            SandboxConfig {
                code_lifetime_secs: MAX_LIFETIME_SECS + 1,
                ..SandboxConfig::default()
            },
            SandboxConfig {
                refresh_reuse_grace_secs: -1,
                ..SandboxConfig::default()
            },
            SandboxConfig {
                redirect_uris: vec!["ftp://example.invalid/cb".to_owned()],
                ..SandboxConfig::default()
            },
            SandboxConfig {
                redirect_uris: vec!["http://example.invalid/cb#top".to_owned()],
                ..SandboxConfig::default()
            },
            SandboxConfig {
                redirect_uris: vec!["/oauth/callback".to_owned()],
                ..SandboxConfig::default()
            },
            SandboxConfig {
                media_processing_secs: -1,
                ..SandboxConfig::default()
            },
            SandboxConfig {
                universal_rate: Some(Rate {
                    count: 0,
                    per: Duration::from_secs(1),
                }),
                ..SandboxConfig::default()
            },
            SandboxConfig {
                rates: vec![(
                    RateLimitCategory::OrgRead,
                    Rate {
                        count: 5,
                        per: Duration::ZERO,
                    },
                )],
                ..SandboxConfig::default()
            },
        ] {
            assert!(broken.validate().is_err(), "{broken:?}");
        }
        assert!(check_redirect_uri("http://127.0.0.1:8080/oauth/callback").is_ok());
        assert!(check_grace_secs(0).is_ok());
    }

    #[test]
    fn latency_is_drawn_from_its_range_and_validated() {
        let latency = Latency::from_millis(150, 50);
        assert_eq!(
            latency.range(),
            (Duration::from_millis(100), Duration::from_millis(200))
        );
        let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(7);
        let (mut lowest, mut highest) = (Duration::MAX, Duration::ZERO);
        for _ in 0..1000 {
            let delay = latency.sample(&mut rng);
            assert!(
                (Duration::from_millis(100)..=Duration::from_millis(200)).contains(&delay),
                "{delay:?}"
            );
            lowest = lowest.min(delay);
            highest = highest.max(delay);
        }
        // Spread over the range, not stuck at one value.
        assert!(lowest < Duration::from_millis(110), "{lowest:?}");
        assert!(highest > Duration::from_millis(190), "{highest:?}");
        let fixed = Latency::from_millis(20, 0);
        assert_eq!(fixed.sample(&mut rng), Duration::from_millis(20));
        assert_eq!(Latency::NONE.sample(&mut rng), Duration::ZERO);
        assert!(Latency::NONE.is_zero());

        assert_eq!(latency.check(), Ok(()));
        assert!(Latency::from_millis(10, 20).check().is_err());
        assert!(Latency::from_millis(59_990, 20).check().is_err());
        let config = SandboxConfig {
            latency: Latency::from_millis(10, 20),
            ..SandboxConfig::default()
        };
        assert!(config.validate().is_err());
        assert_eq!(latency.to_string(), "150 ms ± 50 ms");
    }

    #[test]
    fn debug_hides_the_secret() {
        let printed = format!("{:?}", SandboxConfig::default());
        assert!(!printed.contains(DEFAULT_CLIENT_SECRET));
    }
}
