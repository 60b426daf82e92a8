//! How far this process may reach: anywhere its other rules allow, or loopback only.
//!
//! Tests, CI, the demo and the benchmarks must never send a packet beyond this machine, even when
//! a generated or documented example URL (`https://example.com/…`) ends up in a webhook or a
//! draft. Rather than trusting every caller to avoid such URLs, the process itself refuses them:
//! with `PINLINE_OUTBOUND=loopback` in the environment (or after [`restrict_to_loopback`]), every
//! outbound request to a host that is not loopback is refused before any DNS query, logged, and
//! counted ([`refused_beyond_loopback`]). When `PINLINE_OUTBOUND_REFUSALS` names a file, each
//! refusal also appends one line to it, so a CI run can check across all the processes it started
//! that nothing even tried.
//!
//! The switch only tightens: nothing in the process can widen it again once it is on.

use std::io::Write;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// The environment variable that sets the process's reach (`loopback` or `any`).
pub const REACH_ENV: &str = "PINLINE_OUTBOUND";
/// The environment variable naming a file that gets one line per refused attempt.
pub const REFUSALS_FILE_ENV: &str = "PINLINE_OUTBOUND_REFUSALS";

/// How far outbound requests may go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// Wherever the caller's own rules allow (the production setting).
    Anywhere,
    /// Loopback addresses (and `localhost`) only; everything else is refused before DNS.
    LoopbackOnly,
}

impl Reach {
    /// Parses the value of `PINLINE_OUTBOUND`: `loopback`, or `any` (also the empty string).
    pub fn parse(text: &str) -> Result<Reach, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "" | "any" => Ok(Reach::Anywhere),
            "loopback" => Ok(Reach::LoopbackOnly),
            other => Err(format!(
                "{REACH_ENV}=`{other}` is not a reach: use `loopback` (tests, demos, benchmarks) or `any`"
            )),
        }
    }
}

static RESTRICTED: AtomicBool = AtomicBool::new(false);
static REFUSED: AtomicU64 = AtomicU64::new(0);

fn from_environment() -> Reach {
    static FROM_ENV: OnceLock<Reach> = OnceLock::new();
    *FROM_ENV.get_or_init(|| {
        let text = std::env::var(REACH_ENV).unwrap_or_default();
        // A value that does not parse fails closed here; `pinline serve` refuses to start on it
        // with the message from `Reach::parse` before anything reaches this point.
        Reach::parse(&text).unwrap_or(Reach::LoopbackOnly)
    })
}

/// The reach in force for this process now.
pub fn process_reach() -> Reach {
    if RESTRICTED.load(Ordering::Relaxed) {
        Reach::LoopbackOnly
    } else {
        from_environment()
    }
}

/// Restricts this process to loopback from now on, whatever the environment says. Tests, the
/// demo and the benchmarks call it before they start anything that could reach outward.
pub fn restrict_to_loopback() {
    RESTRICTED.store(true, Ordering::Relaxed);
}

/// The environment that puts a child `pinline` process under the same rules as a test or
/// benchmark run: loopback only, private targets allowed (its receivers and the sandbox listen
/// on loopback), and refusals appended to this process's refusals file, if it has one. For
/// children started with a cleared environment.
pub fn loopback_child_env() -> Vec<(&'static str, String)> {
    let mut env = vec![
        (REACH_ENV, "loopback".to_owned()),
        (crate::ALLOW_PRIVATE_ENV, "1".to_owned()),
    ];
    if let Some(path) = std::env::var_os(REFUSALS_FILE_ENV).filter(|p| !p.is_empty()) {
        env.push((REFUSALS_FILE_ENV, path.to_string_lossy().into_owned()));
    }
    env
}

/// How many outbound attempts beyond loopback this process has refused so far.
pub fn refused_beyond_loopback() -> u64 {
    REFUSED.load(Ordering::Relaxed)
}

/// Records one refused attempt: counted, logged, and appended to the refusals file if one is
/// named. `what` says which part of pinline tried (`webhook delivery`, `draft fetch`, …); only
/// the host is recorded, never the path or query, which may carry a receiver's own token.
pub(crate) fn record_refusal(what: &str, host: &str) {
    let count = REFUSED.fetch_add(1, Ordering::Relaxed) + 1;
    tracing::warn!(
        event = "outbound.refused",
        what,
        host,
        refused_so_far = count,
        "outbound request refused: {REACH_ENV}=loopback allows loopback hosts only"
    );
    if let Some(path) = std::env::var_os(REFUSALS_FILE_ENV).filter(|p| !p.is_empty()) {
        let line = format!("pid {} refused {what} to {host}\n", std::process::id());
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .and_then(|mut file| file.write_all(line.as_bytes()));
        if let Err(error) = written {
            tracing::warn!(%error, "could not append to {REFUSALS_FILE_ENV}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reach_parses_loopback_and_any() {
        assert_eq!(Reach::parse("loopback"), Ok(Reach::LoopbackOnly));
        assert_eq!(Reach::parse(" Loopback "), Ok(Reach::LoopbackOnly));
        assert_eq!(Reach::parse("any"), Ok(Reach::Anywhere));
        assert_eq!(Reach::parse(""), Ok(Reach::Anywhere));
        let error = Reach::parse("local").expect_err("unknown values are refused");
        assert!(error.contains("PINLINE_OUTBOUND"), "{error}");
    }

    #[test]
    fn restricting_only_tightens() {
        restrict_to_loopback();
        assert_eq!(process_reach(), Reach::LoopbackOnly);
    }
}
