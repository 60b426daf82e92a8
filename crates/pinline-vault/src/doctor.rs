//! `pinline doctor`: the troubleshooting sequence for one account, run for real.
//!
//! 1. Does the account exist, what is its status, and what was its last failure (a true 401, or
//!    a 403, 429 or something else, with Pinterest's code and message)?
//! 2. Was the credential issued for the configured app and environment?
//! 3. Is the access token expired (by the stored expiry), and the refresh token? Is the refresh
//!    token a continuous one, or a legacy one with a hard end?
//! 4. Does the refresh token still work (refreshed, through the vault, when the access token is
//!    expired or a refresh is asked for)?
//! 5. Which Pinterest user does the token belong to, and is it the stored one?
//! 6. Do the granted scopes suffice to publish (and to secret boards)?
//! 7. Can boards be listed?
//! 8. Optionally: publish one pin and delete it.
//!
//! [`diagnose`] returns a [`Report`]; printing is the caller's business. Every failing check
//! carries the exact fix: the command, the reconnect link, or the variable to set.

use pinline_core::CoreError;
use pinline_pinterest::facts::{Scope, operations};
use pinline_pinterest::{ErrorClass, PinCreate, PinMediaSource, PinterestError};
use pinline_store::Store;
use serde::Serialize;

use crate::VaultError;
use crate::account::{Account, AccountStatus, LastError};
use crate::vault::Vault;

/// The outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Fine.
    Pass,
    /// Works, but something deserves attention.
    Warn,
    /// Broken: the fix says what to do.
    Fail,
    /// Not run (not asked for, or an earlier failure makes it pointless).
    Skip,
}

impl Status {
    /// `pass`, `warn`, `fail` or `skip`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Warn => "warn",
            Status::Fail => "fail",
            Status::Skip => "skip",
        }
    }
}

/// One step of the sequence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// Stable name: `account`, `last_failure`, `app_and_environment`, `access_token`,
    /// `refresh_token_kind`, `refresh`,
    /// `pinterest_user`, `scopes`, `boards`, `test_publish`.
    pub name: &'static str,
    pub status: Status,
    /// What was found.
    pub detail: String,
    /// What to do about it, when something is to be done.
    pub fix: Option<String>,
}

/// What the doctor found.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub account_id: String,
    /// The account as stored after the checks (a refresh may have changed it).
    pub account: Option<Account>,
    pub checks: Vec<Check>,
}

impl Report {
    /// True when no check failed.
    pub fn ok(&self) -> bool {
        !self.checks.iter().any(|c| c.status == Status::Fail)
    }

    /// The failing checks.
    pub fn failures(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| c.status == Status::Fail)
    }
}

/// A test pin to publish and delete.
#[derive(Debug, Clone)]
pub struct TestPublish {
    pub board_id: String,
    pub image_url: String,
}

/// What the doctor may do beyond reading.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Refresh the tokens even when the access token is still valid.
    pub refresh: bool,
    /// Publish one pin to this board and delete it.
    pub test_publish: Option<TestPublish>,
}

/// Which kind of refresh token the account holds. A continuous one is renewed by every refresh;
/// a legacy one (an app created before 25 September 2025 that did not ask for continuous
/// refresh) ends 365 days after the connect, and only a reconnect gets past that day.
fn refresh_token_kind_check(doctor: &Doctor<'_>, account: &Account, now_ms: i64) -> Check {
    match account.refresh_token_kind.as_deref() {
        Some("continuous") => check(
            "refresh_token_kind",
            Status::Pass,
            "continuous refresh token: every refresh renews it",
        ),
        Some("legacy") => {
            let ends = account
                .refresh_expires_at_ms
                .map(|at| format!("ends in {}", human_ms((at - now_ms).max(0))))
                .unwrap_or_else(|| "ends on a fixed day".into());
            with_fix(
                check(
                    "refresh_token_kind",
                    Status::Warn,
                    format!("legacy refresh token: it {ends} and no refresh renews it"),
                ),
                doctor.reconnect_fix(),
            )
        }
        _ => check(
            "refresh_token_kind",
            Status::Skip,
            "the kind of refresh token is not known (connected before pinline recorded it)",
        ),
    }
}

fn check(name: &'static str, status: Status, detail: impl Into<String>) -> Check {
    Check {
        name,
        status,
        detail: detail.into(),
        fix: None,
    }
}

fn with_fix(mut check: Check, fix: impl Into<String>) -> Check {
    check.fix = Some(fix.into());
    check
}

/// A duration for people, exact to its two largest units: `12 s`, `4 min 5 s`, `3 h 20 min`,
/// `29 days 4 h`. Never rounded up: a failure 12 seconds old is not "1 minute" old.
pub fn human_ms(ms: i64) -> String {
    let secs = ms.unsigned_abs() / 1000;
    let (days, hours, mins) = (secs / 86_400, secs / 3_600 % 24, secs / 60 % 60);
    let pair = |big: u64, big_unit: &str, small: u64, small_unit: &str| {
        if small == 0 {
            format!("{big} {big_unit}")
        } else {
            format!("{big} {big_unit} {small} {small_unit}")
        }
    };
    match secs {
        0..60 => format!("{secs} s"),
        60..3_600 => pair(mins, "min", secs % 60, "s"),
        3_600..86_400 => pair(secs / 3_600, "h", mins, "min"),
        _ => pair(days, if days == 1 { "day" } else { "days" }, hours, "h"),
    }
}

/// The HTTP status and Pinterest code inside a recorded error message such as
/// `Pinterest pins/create failed with HTTP 403 (code 29): You are not permitted…`.
pub fn parse_recorded_error(message: &str) -> (Option<u16>, Option<i64>) {
    let status = message.split("HTTP ").nth(1).and_then(|rest| {
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        digits.parse().ok()
    });
    let code = message.split("(code ").nth(1).and_then(|rest| {
        let digits: String = rest
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '-')
            .collect();
        digits.parse().ok()
    });
    (status, code)
}

/// What a failure means, in words: true 401, 403, 429 or something else.
fn kind_of_failure(status: Option<u16>, code: Option<i64>, class: &str) -> String {
    let code = code.map(|c| format!(" code {c}")).unwrap_or_default();
    match status {
        Some(401) => format!("a true 401{code}: Pinterest did not accept the token"),
        Some(403) => format!(
            "a 403{code}, not a 401: the token is valid but not permitted (missing scope, secret board, or an app on Trial access)"
        ),
        Some(429) => format!("a 429{code}, not a 401: rate limited"),
        Some(400) if class == "auth" => format!(
            "HTTP 400{code} from the token endpoint: Pinterest refused the refresh token (revoked, expired or already rotated)"
        ),
        Some(status) => format!("HTTP {status}{code} ({class}), not a 401"),
        None => format!("{class} failure without an HTTP status"),
    }
}

struct Doctor<'a> {
    vault: &'a Vault,
    account: Account,
    /// Set once a network step proved the account unusable: later network steps are skipped.
    blocked: Option<String>,
}

impl Doctor<'_> {
    fn public_url(&self) -> &str {
        &self.vault.settings().public_url
    }

    fn reconnect_fix(&self) -> String {
        format!(
            "reconnect the account: open {}/accounts/{}/reconnect, or run `pinline accounts connect` and approve as @{} with every requested permission",
            self.public_url(),
            self.account.id,
            self.account.username
        )
    }

    fn config_fix(&self) -> String {
        "make pinline's configuration match the credential (PINTEREST_CLIENT_ID, PINTEREST_CLIENT_SECRET, PINTEREST_API_URL, PINTEREST_OAUTH_URL), or reconnect the account under the configured app".to_owned()
    }

    /// Detail and fix for an error of a network step.
    fn explain(&self, error: &VaultError) -> (String, String) {
        match error {
            VaultError::NeedsReauth { reason } => (reason.clone(), self.reconnect_fix()),
            VaultError::Disconnected => (
                "the account was disconnected; its tokens are gone".into(),
                "connect it again: `pinline accounts connect`".into(),
            ),
            VaultError::CredentialMismatch { .. } => (error.to_string(), self.config_fix()),
            VaultError::RefreshFailed { class, message } => {
                let (status, code) = parse_recorded_error(message);
                (
                    format!(
                        "{}: {message}",
                        kind_of_failure(status, code, class.as_str())
                    ),
                    if class == "auth" || class == "scope" {
                        self.reconnect_fix()
                    } else {
                        "a transient failure: run `pinline doctor` again in a minute".into()
                    },
                )
            }
            VaultError::Pinterest(error) => self.explain_pinterest(error),
            VaultError::Store(_) => (
                error.to_string(),
                "check PINLINE_DATABASE_URL and that the database is reachable".into(),
            ),
            VaultError::Cipher(CoreError::UnknownKey(_) | CoreError::Decrypt | CoreError::Malformed(_)) => (
                error.to_string(),
                "run with the master key the account was sealed with (PINLINE_MASTER_KEY, PINLINE_OLD_MASTER_KEYS, or the key file in PINLINE_DATA_DIR)".into(),
            ),
            other => (other.to_string(), self.reconnect_fix()),
        }
    }

    fn explain_pinterest(&self, error: &PinterestError) -> (String, String) {
        let detail = match error.api_error() {
            Some(api) => format!(
                "{}: {}",
                kind_of_failure(Some(api.status), api.code, error.class().as_str()),
                api.message
            ),
            None => error.to_string(),
        };
        let fix = match error.class() {
            ErrorClass::Auth => self.reconnect_fix(),
            ErrorClass::Scope => match error.code() {
                Some(29) => "Pinterest refuses this for the app (code 29): apps on Trial access cannot create pins; apply for Standard access in the Pinterest developer portal, or use Pinterest's sandbox (PINTEREST_API_URL=https://api-sandbox.pinterest.com)".into(),
                _ => format!("{}; if the board is secret, approve the `_secret` scopes too", self.reconnect_fix()),
            },
            ErrorClass::RateLimited => format!(
                "wait{} and run `pinline doctor` again; if it keeps happening, lower the pace with --pinterest-rate (PINLINE_PINTEREST_RATES)",
                error
                    .retry_after()
                    .map(|d| format!(" {} seconds", d.as_secs().max(1)))
                    .unwrap_or_default()
            ),
            ErrorClass::NotFound => format!(
                "use a board of @{}: the `boards` check lists some, and `GET /v1/accounts/{}/boards` lists all",
                self.account.username, self.account.id
            ),
            ErrorClass::Validation => "fix the request (see the message): e.g. an https image URL Pinterest can fetch (--image-url)".into(),
            ErrorClass::Transient => format!(
                "Pinterest could not be reached or failed temporarily; check PINTEREST_API_URL ({}) and the network, then run `pinline doctor` again",
                self.vault.client().environment().api_url()
            ),
            ErrorClass::CredentialMismatch => self.config_fix(),
            ErrorClass::Unknown => "run again with -v for details".into(),
        };
        (detail, fix)
    }

    /// A failed network step: the check, and blocking later ones when the account is unusable.
    fn failed(&mut self, name: &'static str, error: &VaultError) -> Check {
        let (mut detail, fix) = self.explain(error);
        if name != "refresh" && matches!(error, VaultError::NeedsReauth { .. }) {
            // Through `Vault::call`: Pinterest answered 401, pinline refreshed once, and that
            // (or the retry) was refused.
            detail = format!(
                "Pinterest answered a true 401 (the token is not accepted) and the refresh that followed did not help: {detail}"
            );
        }
        if matches!(error.class(), ErrorClass::Auth) {
            self.blocked = Some(format!("skipped: `{name}` failed; fix that first"));
        }
        with_fix(check(name, Status::Fail, detail), fix)
    }

    fn skipped(&self, name: &'static str) -> Option<Check> {
        self.blocked
            .as_ref()
            .map(|why| check(name, Status::Skip, why.clone()))
    }
}

/// Runs the sequence on `account_id` (any profile). `now_ms` is the current time.
pub async fn diagnose(
    vault: &Vault,
    store: &Store,
    account_id: &str,
    options: &Options,
    now_ms: i64,
) -> Report {
    let mut checks = Vec::new();
    // (a) The account, its status and its last failure.
    let row = match store.account_by_id(account_id).await {
        Ok(Some(row)) => row,
        Ok(None) => {
            checks.push(with_fix(
                check("account", Status::Fail, format!("no account with id `{account_id}`")),
                "list accounts with `pinline accounts list` (or GET /v1/accounts) and use an id from there; connect one with `pinline accounts connect`",
            ));
            return Report {
                account_id: account_id.to_owned(),
                account: None,
                checks,
            };
        }
        Err(error) => {
            checks.push(with_fix(
                check("account", Status::Fail, format!("cannot read the database: {error}")),
                "check PINLINE_DATABASE_URL (or PINLINE_DATA_DIR) points at the database `pinline serve` uses",
            ));
            return Report {
                account_id: account_id.to_owned(),
                account: None,
                checks,
            };
        }
    };
    let token_version = row.token_version;
    let account = vault.shown(&row);
    let mut doctor = Doctor {
        vault,
        account: account.clone(),
        blocked: None,
    };
    let who = format!(
        "@{} (Pinterest user {}, {}, app {})",
        account.username, account.pinterest_user_id, account.environment, account.client_id
    );
    checks.push(account_check(&mut doctor, &who));
    checks.push(last_failure(&doctor, account.last_error.as_ref(), now_ms));

    // (d, part) App and environment: no network needed.
    let mismatch = vault.ensure_credentials_match(&account);
    checks.push(match &mismatch {
        Ok(()) => check(
            "app_and_environment",
            Status::Pass,
            format!(
                "connected with the configured app {} on {}",
                account.client_id, account.environment
            ),
        ),
        Err(error) => {
            doctor.blocked =
                Some("skipped: the credential belongs to another app or environment".into());
            with_fix(
                check("app_and_environment", Status::Fail, error.to_string()),
                doctor.config_fix(),
            )
        }
    });

    // (b) Expiry of the access and refresh tokens.
    let access_expired = account.access_expires_at_ms.is_none_or(|at| at <= now_ms);
    let refresh_left = account.refresh_expires_at_ms.map(|at| at - now_ms);
    let refresh_words = match refresh_left {
        Some(left) if left > 0 => format!("the refresh token expires in {}", human_ms(left)),
        Some(left) => format!("the refresh token expired {} ago", human_ms(left)),
        None => "the refresh token's expiry is not known".into(),
    };
    checks.push(match (account.access_expires_at_ms, refresh_left) {
        (_, Some(left)) if left <= 0 => {
            doctor.blocked.get_or_insert_with(|| "skipped: the refresh token expired".into());
            with_fix(
                check(
                    "access_token",
                    Status::Fail,
                    format!("{refresh_words}: only a new connection gives new tokens"),
                ),
                doctor.reconnect_fix(),
            )
        }
        (None, _) => check(
            "access_token",
            Status::Warn,
            format!("no access token expiry is stored; {refresh_words}"),
        ),
        (Some(at), _) if at <= now_ms => check(
            "access_token",
            Status::Warn,
            format!(
                "the access token expired {} ago (pinline refreshes it on next use); {refresh_words}",
                human_ms(now_ms - at)
            ),
        ),
        (Some(at), _) => check(
            "access_token",
            Status::Pass,
            format!(
                "the access token is valid for {}; {refresh_words}",
                human_ms(at - now_ms)
            ),
        ),
    });

    // (b, part) Which kind of refresh token: a legacy one ends on a fixed day whatever happens.
    checks.push(refresh_token_kind_check(&doctor, &account, now_ms));

    // (c) Does the refresh token still work?
    let refresh_check = if let Some(skip) = doctor.skipped("refresh") {
        skip
    } else if access_expired || options.refresh {
        match vault.refresh_from(account_id, token_version).await {
            Ok(grant) => check(
                "refresh",
                Status::Pass,
                format!(
                    "refreshed: Pinterest accepted the refresh token; the new access token is valid for {}",
                    grant
                        .account
                        .access_expires_at_ms
                        .map(|at| human_ms(at - now_ms))
                        .unwrap_or_else(|| "an unknown time".into())
                ),
            ),
            Err(error) => doctor.failed("refresh", &error),
        }
    } else {
        check(
            "refresh",
            Status::Skip,
            "the access token is valid, so it was not refreshed (pass --refresh to test the refresh token)",
        )
    };
    checks.push(refresh_check);

    // (d) Which Pinterest user the token belongs to.
    let user_check = if let Some(skip) = doctor.skipped("pinterest_user") {
        skip
    } else {
        match vault
            .call(account_id, |client, token| async move {
                client.user_account(&token).await
            })
            .await
        {
            Ok(response) => {
                let user = response.value;
                if user.id == account.pinterest_user_id {
                    check(
                        "pinterest_user",
                        Status::Pass,
                        format!(
                            "the token works and belongs to @{} (user {}), as stored",
                            user.username, user.id
                        ),
                    )
                } else {
                    with_fix(
                        check(
                            "pinterest_user",
                            Status::Fail,
                            format!(
                                "the token belongs to @{} (user {}), but the account is stored as @{} (user {})",
                                user.username, user.id, account.username, account.pinterest_user_id
                            ),
                        ),
                        format!(
                            "{} (sign in to Pinterest as @{} first)",
                            doctor.reconnect_fix(),
                            account.username
                        ),
                    )
                }
            }
            Err(error) => doctor.failed("pinterest_user", &error),
        }
    };
    checks.push(user_check);

    // (e) Scopes, as stored now (a refresh may have changed them).
    let current = match store.account_by_id(account_id).await {
        Ok(Some(row)) => Account::from(&row),
        _ => account.clone(),
    };
    let granted: Vec<Scope> = current
        .scopes
        .iter()
        .filter_map(|s| s.parse().ok())
        .collect();
    let missing = operations::PINS_CREATE.missing_scopes(&granted, false);
    let missing_secret = operations::PINS_CREATE.missing_scopes(&granted, true);
    let names = |scopes: &[Scope]| {
        scopes
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    checks.push(if !missing.is_empty() {
        with_fix(
            check(
                "scopes",
                Status::Fail,
                format!(
                    "publishing needs {} which the account did not grant (granted: {})",
                    names(&missing),
                    current.scopes.join(", ")
                ),
            ),
            doctor.reconnect_fix(),
        )
    } else if !missing_secret.is_empty() {
        with_fix(
            check(
                "scopes",
                Status::Warn,
                format!(
                    "enough to publish to public boards; secret boards also need {}",
                    names(&missing_secret)
                ),
            ),
            format!(
                "only if you publish to secret boards: {}",
                doctor.reconnect_fix()
            ),
        )
    } else {
        check(
            "scopes",
            Status::Pass,
            "enough to publish to public and secret boards",
        )
    });

    // (f) Boards.
    let boards_check = if let Some(skip) = doctor.skipped("boards") {
        skip
    } else {
        match vault
            .call(account_id, |client, token| async move {
                client.list_boards(&token, None, Some(25), None).await
            })
            .await
        {
            Ok(response) => {
                let page = response.value;
                if page.items.is_empty() {
                    with_fix(
                        check(
                            "boards",
                            Status::Warn,
                            "boards can be listed, but there are none",
                        ),
                        format!(
                            "create one: POST /v1/accounts/{account_id}/boards {{\"name\": \"…\"}}"
                        ),
                    )
                } else {
                    let shown: Vec<String> = page
                        .items
                        .iter()
                        .take(5)
                        .map(|b| format!("{} ({})", b.name, b.id))
                        .collect();
                    check(
                        "boards",
                        Status::Pass,
                        format!(
                            "boards can be listed ({}{} on the first page): {}",
                            page.items.len(),
                            if page.bookmark.is_some() { "+" } else { "" },
                            shown.join(", ")
                        ),
                    )
                }
            }
            Err(error) => doctor.failed("boards", &error),
        }
    };
    checks.push(boards_check);

    // (g) One test pin, published and deleted.
    if let Some(test) = &options.test_publish {
        let publish_check = if let Some(skip) = doctor.skipped("test_publish") {
            skip
        } else {
            let mut pin = PinCreate::new(
                test.board_id.clone(),
                PinMediaSource::ImageUrl {
                    url: test.image_url.clone(),
                },
            );
            pin.title = Some("pinline doctor test pin".into());
            pin.description =
                Some("Published by `pinline doctor --test-publish`; deleted at once.".into());
            match vault
                .call(account_id, |client, token| {
                    let pin = pin.clone();
                    async move { client.create_pin(&token, &pin).await }
                })
                .await
            {
                Ok(created) => {
                    let pin_id = created.value.id;
                    match vault
                        .call(account_id, |client, token| {
                            let pin_id = pin_id.clone();
                            async move { client.delete_pin(&token, &pin_id).await }
                        })
                        .await
                    {
                        Ok(_) => check(
                            "test_publish",
                            Status::Pass,
                            format!(
                                "published pin {pin_id} on board {} and deleted it",
                                test.board_id
                            ),
                        ),
                        Err(error) => {
                            let (detail, fix) = doctor.explain(&error);
                            with_fix(
                                check(
                                    "test_publish",
                                    Status::Warn,
                                    format!(
                                        "published pin {pin_id}, but deleting it failed: {detail}"
                                    ),
                                ),
                                format!("delete pin {pin_id} by hand on Pinterest; {fix}"),
                            )
                        }
                    }
                }
                Err(error) => doctor.failed("test_publish", &error),
            }
        };
        checks.push(publish_check);
    }

    // The network steps may have changed the account (a refresh refused: needs_reauth). The
    // report states one account: when it changed, its first two checks are made again from the
    // row as it is now, and say so.
    let after = match store.account_by_id(account_id).await {
        Ok(Some(row)) => vault.shown(&row),
        _ => account.clone(),
    };
    if after.status != account.status || after.last_error != account.last_error {
        doctor.account = after.clone();
        let blocked = doctor.blocked.take();
        let again = [
            account_check(&mut doctor, &who),
            last_failure(&doctor, after.last_error.as_ref(), now_ms),
        ];
        doctor.blocked = blocked;
        for mut fresh in again {
            fresh.detail.push_str(" (read again after the steps below)");
            if let Some(old) = checks.iter_mut().find(|c| c.name == fresh.name) {
                *old = fresh;
            }
        }
    }
    Report {
        account_id: account_id.to_owned(),
        account: Some(after),
        checks,
    }
}

/// The `account` check: the account's status, as `doctor.account` has it. An unusable account
/// blocks the network steps that follow.
fn account_check(doctor: &mut Doctor<'_>, who: &str) -> Check {
    match doctor.account.status {
        AccountStatus::Active => check("account", Status::Pass, format!("{who} is active")),
        AccountStatus::Refreshing => check(
            "account",
            Status::Warn,
            format!("{who} is refreshing (or a refresh was interrupted; the next use recovers it)"),
        ),
        AccountStatus::NeedsReauth => {
            doctor.blocked = Some("skipped: the account needs to be reconnected".into());
            with_fix(
                check(
                    "account",
                    Status::Fail,
                    format!(
                        "{who} needs to be reconnected: {}; its posts are held until then",
                        doctor
                            .account
                            .status_reason
                            .as_deref()
                            .unwrap_or("Pinterest refused its tokens")
                            .trim_end_matches('.')
                    ),
                ),
                doctor.reconnect_fix(),
            )
        }
        AccountStatus::Disconnected => {
            doctor.blocked = Some("skipped: the account is disconnected".into());
            with_fix(
                check(
                    "account",
                    Status::Fail,
                    format!("{who} was disconnected; its tokens are erased"),
                ),
                "connect it again: `pinline accounts connect`",
            )
        }
    }
}

fn last_failure(doctor: &Doctor<'_>, last: Option<&LastError>, now_ms: i64) -> Check {
    let Some(last) = last else {
        return check("last_failure", Status::Pass, "no failure recorded");
    };
    let (status, code) = parse_recorded_error(&last.message);
    let when = last
        .at_ms
        .map(|at| format!(" {} ago", human_ms(now_ms - at)))
        .unwrap_or_default();
    let detail = format!(
        "{}{when}: {} (class {})",
        kind_of_failure(status, code, &last.class),
        last.message,
        last.class
    );
    let fix = match last.class.as_str() {
        "auth" => doctor.reconnect_fix(),
        "credential_mismatch" => doctor.config_fix(),
        "scope" if code == Some(29) => {
            "Trial-access apps cannot create pins (code 29): apply for Standard access, or use Pinterest's sandbox".to_owned()
        }
        "scope" => format!(
            "{}; secret boards need the `_secret` scopes",
            doctor.reconnect_fix()
        ),
        "rate_limited" => {
            "nothing to do if it is rare: pinline waits and retries; lower --pinterest-rate if it keeps happening".to_owned()
        }
        _ => "if it repeats, run `pinline doctor --refresh` and check Pinterest's status".to_owned(),
    };
    // A failure the account recovered from is history; one that made it unusable is current.
    let status = if doctor.account.status == AccountStatus::NeedsReauth
        || last.class == ErrorClass::CredentialMismatch.as_str()
    {
        Status::Fail
    } else {
        Status::Warn
    };
    with_fix(check("last_failure", status, detail), fix)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorded_errors_parse() {
        assert_eq!(
            parse_recorded_error(
                "Pinterest pins/create failed with HTTP 403 (code 29): You are not permitted"
            ),
            (Some(403), Some(29))
        );
        assert_eq!(
            parse_recorded_error("Pinterest oauth/token failed with HTTP 400: invalid_grant"),
            (Some(400), None)
        );
        assert_eq!(parse_recorded_error("connection refused"), (None, None));
    }

    #[test]
    fn ages_are_exact() {
        assert_eq!(human_ms(12_400), "12 s");
        assert_eq!(human_ms(-12_400), "12 s");
        assert_eq!(human_ms(60_000), "1 min");
        assert_eq!(human_ms(245_000), "4 min 5 s");
        assert_eq!(human_ms(3 * 3_600_000 + 20 * 60_000 + 7_000), "3 h 20 min");
        assert_eq!(human_ms(86_400_000), "1 day");
        assert_eq!(human_ms(29 * 86_400_000 + 4 * 3_600_000), "29 days 4 h");
    }

    #[test]
    fn failures_are_named() {
        assert!(kind_of_failure(Some(401), Some(2), "auth").starts_with("a true 401 code 2"));
        assert!(kind_of_failure(Some(403), Some(29), "scope").contains("not a 401"));
        assert!(kind_of_failure(Some(429), None, "rate_limited").contains("rate limited"));
    }
}
