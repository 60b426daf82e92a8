//! Fault injection, set through `POST /_sandbox/faults`: errors, 429s, delays, and a connection
//! dropped after a create succeeded. Rules fire by a seeded random share or for an exact count of
//! matching requests, so a test run repeats.
//!
//! Rules are checked in order for every `/v5` request, the token endpoint (`oauth/token`)
//! included, so a client's refresh path can be tried against Pinterest failing: an `error` rule
//! answers 500 in the spec's `Error` shape (its `default` response), a long `delay` outlasts the
//! client's timeout, and `drop_after_create` rotates the refresh token and then drops the
//! connection, so the client never hears the only refresh token that still works. Delay rules add
//! up and let the request continue; the first error, rate-limit or drop rule that fires decides
//! the outcome.

use std::time::Duration;

use parking_lot::Mutex;
use pinline_pinterest::facts::{Operation, operations};
use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};
use serde::{Deserialize, Serialize};

/// What a fault does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// Answer with an error status and a Pinterest-shaped body instead of running the operation.
    Error,
    /// Answer 429 code 8 with `Retry-After`, as if over the rate limit.
    RateLimit,
    /// Wait `delay_ms`, then run the operation normally.
    Delay,
    /// Run the operation; if it succeeded, drop the connection before the response is sent
    /// (a pin is created, or on `oauth/token` the tokens are issued and the old refresh token
    /// rotated, and the client hears nothing).
    DropAfterCreate,
}

/// One rule, as posted in `{"rules": [...]}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultRule {
    /// Match only this operation (`pins/create`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    /// Match only request paths starting with this (`/v5/pins`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_prefix: Option<String>,
    pub kind: FaultKind,
    /// For `error`: the HTTP status (default 503).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// For `error`: the body's `code` (default: the status).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<i64>,
    /// For `error`: the body's `message`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// For `delay`: milliseconds to wait.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_ms: Option<u64>,
    /// For `rate_limit`: the `Retry-After` seconds (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_secs: Option<u64>,
    /// Probability in [0, 1] that a matching request fires the rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub share: Option<f64>,
    /// Fire for exactly the next `count` matching requests, then never again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
}

/// The body of `POST /_sandbox/faults`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSet {
    pub rules: Vec<FaultRule>,
    /// Reseeds the generator; defaults to the sandbox's `--seed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
}

/// A rule set that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid fault rule {index}: {reason}")]
pub struct InvalidFault {
    pub index: usize,
    pub reason: String,
}

impl FaultRule {
    fn validate(&self, index: usize) -> Result<(), InvalidFault> {
        let fail = |reason: &str| {
            Err(InvalidFault {
                index,
                reason: reason.to_owned(),
            })
        };
        if let Some(operation) = &self.operation
            && !operations::ALL.iter().any(|op| op.id == operation)
        {
            return fail("unknown operation (expected an operationId such as pins/create)");
        }
        if let Some(share) = self.share
            && !(0.0..=1.0).contains(&share)
        {
            return fail("share must be between 0 and 1");
        }
        match self.kind {
            FaultKind::Error => {
                if let Some(status) = self.status
                    && !(400..=599).contains(&status)
                {
                    return fail("status must be 400..=599");
                }
            }
            FaultKind::Delay if self.delay_ms.is_none() => return fail("delay needs delay_ms"),
            _ => {}
        }
        Ok(())
    }

    fn matches(&self, operation: Option<&Operation>, path: &str) -> bool {
        if let Some(wanted) = &self.operation
            && operation.is_none_or(|op| op.id != wanted)
        {
            return false;
        }
        if let Some(prefix) = &self.path_prefix
            && !path.starts_with(prefix.as_str())
        {
            return false;
        }
        true
    }
}

/// The outcome a fired rule imposes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultAction {
    Error {
        status: u16,
        code: i64,
        message: String,
    },
    RateLimit {
        retry_after_secs: u64,
    },
    DropAfterCreate,
}

/// What the faults decided for one request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FaultPlan {
    pub delay: Duration,
    pub action: Option<FaultAction>,
    /// How many rules fired (for `faults_injected`).
    pub fired: u64,
}

#[derive(Debug)]
struct Armed {
    rule: FaultRule,
    remaining: Option<u64>,
}

#[derive(Debug)]
struct Inner {
    rules: Vec<Armed>,
    rng: StdRng,
}

/// The current rules and their seeded generator.
#[derive(Debug)]
pub struct Faults {
    default_seed: u64,
    inner: Mutex<Inner>,
}

impl Faults {
    pub fn new(seed: u64) -> Self {
        Faults {
            default_seed: seed,
            inner: Mutex::new(Inner {
                rules: Vec::new(),
                rng: StdRng::seed_from_u64(seed),
            }),
        }
    }

    /// Replaces all rules and reseeds the generator, so the same rules on the same request
    /// sequence fire on the same requests.
    pub fn set(&self, set: FaultSet) -> Result<(), InvalidFault> {
        for (index, rule) in set.rules.iter().enumerate() {
            rule.validate(index)?;
        }
        let mut inner = self.inner.lock();
        inner.rng = StdRng::seed_from_u64(set.seed.unwrap_or(self.default_seed));
        inner.rules = set
            .rules
            .into_iter()
            .map(|rule| Armed {
                remaining: rule.count,
                rule,
            })
            .collect();
        Ok(())
    }

    pub fn clear(&self) {
        let mut inner = self.inner.lock();
        inner.rules.clear();
        inner.rng = StdRng::seed_from_u64(self.default_seed);
    }

    /// The rules as they stand, with counts consumed so far.
    pub fn rules(&self) -> Vec<FaultRule> {
        self.inner
            .lock()
            .rules
            .iter()
            .map(|armed| FaultRule {
                count: armed.remaining,
                ..armed.rule.clone()
            })
            .collect()
    }

    /// Decides the faults for one request.
    pub fn decide(&self, operation: Option<&Operation>, path: &str) -> FaultPlan {
        let mut plan = FaultPlan::default();
        let mut inner = self.inner.lock();
        if inner.rules.is_empty() {
            return plan;
        }
        let Inner { rules, rng } = &mut *inner;
        for armed in rules.iter_mut() {
            if !armed.rule.matches(operation, path) || armed.remaining == Some(0) {
                continue;
            }
            let fires = match armed.rule.share {
                Some(share) => rng.random::<f64>() < share,
                None => true,
            };
            if !fires {
                continue;
            }
            if let Some(remaining) = armed.remaining.as_mut() {
                *remaining -= 1;
            }
            plan.fired += 1;
            let rule = &armed.rule;
            match rule.kind {
                FaultKind::Delay => {
                    plan.delay += Duration::from_millis(rule.delay_ms.unwrap_or(0));
                }
                FaultKind::Error => {
                    let status = rule.status.unwrap_or(503);
                    plan.action = Some(FaultAction::Error {
                        status,
                        code: rule.code.unwrap_or(i64::from(status)),
                        message: rule
                            .message
                            .clone()
                            .unwrap_or_else(|| "Injected fault: service unavailable.".to_owned()),
                    });
                    break;
                }
                FaultKind::RateLimit => {
                    plan.action = Some(FaultAction::RateLimit {
                        retry_after_secs: rule.retry_after_secs.unwrap_or(1).max(1),
                    });
                    break;
                }
                FaultKind::DropAfterCreate => {
                    plan.action = Some(FaultAction::DropAfterCreate);
                    break;
                }
            }
        }
        plan
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(json: &str) -> FaultRule {
        serde_json::from_str(json).expect("valid rule")
    }

    fn set(rules: Vec<FaultRule>) -> FaultSet {
        FaultSet { rules, seed: None }
    }

    #[test]
    fn count_rules_fire_exactly_n_times() {
        let faults = Faults::new(1);
        faults
            .set(set(vec![rule(
                r#"{"operation":"pins/create","kind":"error","status":503,"count":2}"#,
            )]))
            .expect("valid");
        let op = Some(&operations::PINS_CREATE);
        assert!(faults.decide(op, "/v5/pins").action.is_some());
        assert!(
            faults
                .decide(Some(&operations::PINS_GET), "/v5/pins/1")
                .action
                .is_none()
        );
        assert!(faults.decide(op, "/v5/pins").action.is_some());
        assert!(faults.decide(op, "/v5/pins").action.is_none());
    }

    #[test]
    fn shares_repeat_with_the_seed() {
        let run = || {
            let faults = Faults::new(42);
            faults
                .set(set(vec![rule(r#"{"kind":"error","share":0.3}"#)]))
                .expect("valid");
            (0..200)
                .map(|_| faults.decide(None, "/v5/pins").action.is_some())
                .collect::<Vec<_>>()
        };
        let first = run();
        assert_eq!(first, run());
        let fired = first.iter().filter(|f| **f).count();
        assert!((30..90).contains(&fired), "fired {fired} of 200");
    }

    #[test]
    fn delays_add_up_and_continue() {
        let faults = Faults::new(0);
        faults
            .set(set(vec![
                rule(r#"{"kind":"delay","delay_ms":20}"#),
                rule(r#"{"kind":"delay","delay_ms":30,"path_prefix":"/v5/pins"}"#),
            ]))
            .expect("valid");
        let plan = faults.decide(None, "/v5/pins");
        assert_eq!(plan.delay, Duration::from_millis(50));
        assert_eq!(plan.action, None);
        assert_eq!(plan.fired, 2);
        assert_eq!(
            faults.decide(None, "/v5/boards").delay,
            Duration::from_millis(20)
        );
    }

    #[test]
    fn bad_rules_are_refused() {
        let faults = Faults::new(0);
        assert!(
            faults
                .set(set(vec![rule(r#"{"kind":"error","share":2.0}"#)]))
                .is_err()
        );
        assert!(faults.set(set(vec![rule(r#"{"kind":"delay"}"#)])).is_err());
        assert!(
            faults
                .set(set(vec![rule(
                    r#"{"kind":"error","operation":"pins/fly"}"#
                )]))
                .is_err()
        );
        assert!(serde_json::from_str::<FaultRule>(r#"{"kind":"explode"}"#).is_err());
    }
}
