//! What the queue does with a failed attempt, decided from the error's class alone.
//!
//! | the error | decision | why |
//! |---|---|---|
//! | outcome unknown (a create was sent, no answer) | [`Decision::Unknown`] | the pin may exist: search the board before sending again |
//! | `auth` | [`Decision::Hold`] | the account must be reconnected; only *its* posts wait |
//! | `credential_mismatch` | [`Decision::Hold`] | the account was connected under another app or environment: its posts wait for the configuration or a reconnect, never for a retry |
//! | `validation`, `not_found`, `scope` | [`Decision::Fail`] | sending the same request again cannot succeed |
//! | `rate_limited`, `transient`, `unknown` | [`Decision::Retry`] | backoff (never sooner than `Retry-After`), until attempts run out → [`Decision::Fail`] |
//!
//! A vault error that is not Pinterest's (a token that no longer decrypts, a missing master key)
//! has class `unknown` but is about the account's credentials, not the post: it holds the post
//! like `auth` does, so nothing is lost while an operator fixes it.

use std::time::Duration;

use pinline_pinterest::{ErrorClass, PinterestError};
use pinline_vault::VaultError;

use crate::retry::RetryPolicy;

/// What to do with a post whose attempt failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Queue it again for `at` (unix ms).
    Retry {
        at: i64,
        class: ErrorClass,
        message: String,
    },
    /// Hold it (and the account's other queued posts) until the account is usable again. The
    /// class and message are recorded on the attempt and on the post, so "why did this not
    /// publish?" has an answer where an operator looks.
    Hold { class: ErrorClass, message: String },
    /// Give up.
    Fail { class: ErrorClass, message: String },
    /// The create may have happened: reconcile (search the board) before any new attempt.
    Unknown { message: String },
}

/// Decides for a Pinterest error after `attempts` attempts (this one included), at `now_ms`,
/// with `jitter` uniform in `[0, 1)`.
pub fn decide(
    error: &PinterestError,
    attempts: u32,
    policy: &RetryPolicy,
    now_ms: i64,
    jitter: f64,
) -> Decision {
    if error.outcome_unknown() {
        return Decision::Unknown {
            message: error.to_string(),
        };
    }
    decide_class(
        error.class(),
        error.to_string(),
        error.retry_after(),
        attempts,
        policy,
        now_ms,
        jitter,
    )
}

/// Decides for an error from the vault (which wraps Pinterest's errors and adds its own, such as
/// an account that needs reconnecting).
pub fn decide_vault(
    error: &VaultError,
    attempts: u32,
    policy: &RetryPolicy,
    now_ms: i64,
    jitter: f64,
) -> Decision {
    match error {
        VaultError::Pinterest(error) => decide(error, attempts, policy, now_ms, jitter),
        other => match other.class() {
            ErrorClass::Unknown => Decision::Hold {
                class: ErrorClass::Unknown,
                message: other.to_string(),
            },
            class => decide_class(
                class,
                other.to_string(),
                None,
                attempts,
                policy,
                now_ms,
                jitter,
            ),
        },
    }
}

/// Decides from a class alone (for errors already reduced to one).
pub fn decide_class(
    class: ErrorClass,
    message: String,
    retry_after: Option<Duration>,
    attempts: u32,
    policy: &RetryPolicy,
    now_ms: i64,
    jitter: f64,
) -> Decision {
    match class {
        ErrorClass::Auth | ErrorClass::CredentialMismatch => Decision::Hold { class, message },
        ErrorClass::Validation | ErrorClass::NotFound | ErrorClass::Scope => {
            Decision::Fail { class, message }
        }
        ErrorClass::RateLimited | ErrorClass::Transient | ErrorClass::Unknown => {
            match policy.next_delay(attempts, retry_after, jitter) {
                Some(delay) => Decision::Retry {
                    at: now_ms.saturating_add(delay.as_millis() as i64),
                    class,
                    message,
                },
                None => Decision::Fail {
                    class,
                    message: format!("gave up after {attempts} attempts: {message}"),
                },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use pinline_core::CoreError;
    use pinline_pinterest::{ApiError, RateLimitInfo};

    use super::*;

    const NOW: i64 = 1_700_000_000_000;

    fn api(
        status: u16,
        code: Option<i64>,
        mutating: bool,
        retry_after: Option<u64>,
    ) -> PinterestError {
        ApiError {
            operation: "pins/create",
            mutating,
            status,
            code,
            message: "message".into(),
            oauth_error: None,
            rate_limit: RateLimitInfo {
                retry_after: retry_after.map(Duration::from_secs),
                ..RateLimitInfo::default()
            },
        }
        .into()
    }

    fn policy() -> RetryPolicy {
        RetryPolicy {
            base: Duration::from_secs(2),
            cap: Duration::from_secs(60),
            max_attempts: 3,
        }
    }

    fn check(error: PinterestError, attempts: u32) -> Decision {
        decide(&error, attempts, &policy(), NOW, 0.5)
    }

    #[test]
    fn each_class_gets_its_decision() {
        assert!(matches!(
            check(api(401, Some(2), true, None), 1),
            Decision::Hold { .. }
        ));
        assert!(matches!(
            check(api(400, Some(1), true, None), 1),
            Decision::Fail {
                class: ErrorClass::Validation,
                ..
            }
        ));
        assert!(matches!(
            check(api(404, Some(40), true, None), 1),
            Decision::Fail {
                class: ErrorClass::NotFound,
                ..
            }
        ));
        assert!(matches!(
            check(api(403, Some(3), true, None), 1),
            Decision::Fail {
                class: ErrorClass::Scope,
                ..
            }
        ));
        // 503 on a create: Pinterest did not take it, so a plain retry (1 s of a 2 s ceiling).
        assert_eq!(
            check(api(503, None, true, None), 1),
            Decision::Retry {
                at: NOW + 1_000,
                class: ErrorClass::Transient,
                message: api(503, None, true, None).to_string(),
            }
        );
    }

    #[test]
    fn a_maybe_created_pin_is_unknown_not_retried() {
        for status in [500, 502, 504] {
            assert!(matches!(
                check(api(status, None, true, None), 1),
                Decision::Unknown { .. }
            ));
        }
        // The same status on a read is just transient.
        assert!(matches!(
            check(api(500, None, false, None), 1),
            Decision::Retry { .. }
        ));
    }

    #[test]
    fn rate_limits_wait_at_least_retry_after_and_attempts_run_out() {
        let Decision::Retry { at, class, .. } = check(api(429, Some(8), true, Some(40)), 1) else {
            panic!("a 429 is retried");
        };
        assert_eq!(class, ErrorClass::RateLimited);
        assert_eq!(at, NOW + 40_000);
        assert!(matches!(
            check(api(429, None, true, None), 3),
            Decision::Fail {
                class: ErrorClass::RateLimited,
                ..
            }
        ));
    }

    #[test]
    fn vault_errors_hold_or_retry() {
        let reauth = VaultError::NeedsReauth {
            reason: "refresh token revoked".into(),
        };
        assert!(matches!(
            decide_vault(&reauth, 1, &policy(), NOW, 0.5),
            Decision::Hold { class: ErrorClass::Auth, message } if message.contains("refresh token revoked")
        ));
        assert!(matches!(
            decide_vault(
                &VaultError::Cipher(CoreError::Decrypt),
                1,
                &policy(),
                NOW,
                0.5
            ),
            Decision::Hold {
                class: ErrorClass::Unknown,
                ..
            }
        ));
        let mismatch = VaultError::CredentialMismatch {
            stored: "production (app 1)".into(),
            configured: "pinterest_sandbox (app 2)".into(),
        };
        assert!(matches!(
            decide_vault(&mismatch, 1, &policy(), NOW, 0.5),
            Decision::Hold {
                class: ErrorClass::CredentialMismatch,
                ..
            }
        ));
        let refresh = VaultError::RefreshFailed {
            class: "transient".into(),
            message: "503".into(),
        };
        assert!(matches!(
            decide_vault(&refresh, 1, &policy(), NOW, 0.5),
            Decision::Retry {
                class: ErrorClass::Transient,
                ..
            }
        ));
        let wrapped = VaultError::Pinterest(api(400, Some(1), true, None));
        assert!(matches!(
            decide_vault(&wrapped, 1, &policy(), NOW, 0.5),
            Decision::Fail {
                class: ErrorClass::Validation,
                ..
            }
        ));
    }
}
