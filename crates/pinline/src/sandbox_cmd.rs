//! `pinline sandbox`: runs the Pinterest stand-in until Ctrl-C.

use anyhow::Context;
use pinline_sandbox::{
    Latency, Rate, STANDARD_UNIVERSAL_RATE, SandboxConfig, TRIAL_UNIVERSAL_RATE,
};

use crate::cli::SandboxArgs;
use crate::config::SecretArg;

/// What is registered when no `--redirect-uri` is given: the callback of a `pinline serve` at its
/// default address (`--listen 127.0.0.1:8080`, public URL `http://127.0.0.1:8080`), under both
/// names a browser on this machine may use. Pinterest redirects only to registered URIs, so the
/// sandbox never falls back to accepting any.
pub const DEFAULT_REDIRECT_URIS: [&str; 2] = [
    "http://127.0.0.1:8080/oauth/callback",
    "http://localhost:8080/oauth/callback",
];

impl SandboxArgs {
    /// The sandbox's configuration from the flags; values were validated while parsing.
    pub fn sandbox_config(&self) -> SandboxConfig {
        let defaults = SandboxConfig::default();
        let redirect_uris = if self.redirect_uris.is_empty() {
            DEFAULT_REDIRECT_URIS.map(str::to_owned).to_vec()
        } else {
            self.redirect_uris.clone()
        };
        SandboxConfig {
            client_id: self.client_id.clone().unwrap_or(defaults.client_id),
            client_secret: self
                .client_secret
                .clone()
                .map(SecretArg::into_inner)
                .unwrap_or(defaults.client_secret),
            redirect_uris,
            auto_approve: self.auto_approve,
            access_token_lifetime_secs: self.access_token_ttl,
            refresh_token_lifetime_secs: self.refresh_token_ttl,
            refresh_tokens: defaults.refresh_tokens,
            code_lifetime_secs: self.code_ttl,
            refresh_reuse_grace_secs: self.refresh_reuse_grace,
            rates: self.rates.clone(),
            universal_rate: self.universal_rate(),
            seed: self.seed,
            state_file: self.state.clone(),
            trial: self.trial,
            media_processing_secs: self.media_processing_secs,
            latency: Latency::from_millis(self.latency_ms, self.latency_jitter_ms),
        }
    }

    /// Pinterest's universal limit for the app's access tier, unless turned off. The library
    /// leaves it off so tests run unthrottled; someone trying pinline against the sandbox should
    /// meet the limit Pinterest will hold them to.
    fn universal_rate(&self) -> Option<Rate> {
        match (self.no_universal_limit, self.trial) {
            (true, _) => None,
            (false, true) => Some(TRIAL_UNIVERSAL_RATE),
            (false, false) => Some(STANDARD_UNIVERSAL_RATE),
        }
    }
}

pub async fn run(args: SandboxArgs) -> anyhow::Result<()> {
    let config = args.sandbox_config();
    config
        .latency
        .check()
        .map_err(|error| anyhow::anyhow!("--latency-ms/--latency-jitter-ms: {error}"))?;
    let handle = pinline_sandbox::spawn(config.clone(), args.listen)
        .await
        .with_context(|| format!("while starting the sandbox on {}", args.listen))?;
    println!("{}", pinline_sandbox::startup_banner(&handle, &config));
    if args.redirect_uris.is_empty() {
        println!(
            "No --redirect-uri given: registered pinline's default callback. A pinline at another \
             address needs --redirect-uri PUBLIC_URL/oauth/callback.\n"
        );
    }
    tokio::signal::ctrl_c()
        .await
        .context("while waiting for Ctrl-C")?;
    eprintln!("stopping the sandbox…");
    handle.shutdown().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory as _, Parser as _};
    use pinline_pinterest::facts;

    use super::*;
    use crate::cli::{Cli, Command};

    fn parse(args: &[&str]) -> Result<SandboxArgs, clap::Error> {
        let mut argv = vec!["pinline", "sandbox"];
        argv.extend_from_slice(args);
        match Cli::try_parse_from(argv)?.command {
            Command::Sandbox(args) => Ok(args),
            other => panic!("parsed as another command: {other:?}"),
        }
    }

    #[test]
    fn defaults_are_pinterests_lifetimes_and_pinlines_own_callback() {
        let config = parse(&[]).expect("no flags").sandbox_config();
        assert_eq!(
            config.access_token_lifetime_secs,
            facts::ACCESS_TOKEN_LIFETIME_SECS
        );
        assert_eq!(
            config.refresh_token_lifetime_secs,
            facts::REFRESH_TOKEN_LIFETIME_SECS
        );
        assert_eq!(
            config.code_lifetime_secs,
            facts::AUTHORIZATION_CODE_LIFETIME_SECS
        );
        assert_eq!(config.refresh_reuse_grace_secs, 0);
        assert_eq!(config.redirect_uris, DEFAULT_REDIRECT_URIS);
        assert_eq!(config.media_processing_secs, 5);
        assert_eq!(config.validate(), Ok(()));
    }

    #[test]
    fn the_default_callback_is_where_pinline_serve_listens_by_default() {
        let serve = Cli::command();
        let listen = serve
            .find_subcommand("serve")
            .and_then(|serve| serve.get_arguments().find(|arg| arg.get_id() == "listen"))
            .and_then(|arg| arg.get_default_values().first())
            .and_then(|value| value.to_str())
            .expect("serve has a default --listen")
            .to_owned();
        let port = listen.rsplit(':').next().expect("a port");
        assert_eq!(
            DEFAULT_REDIRECT_URIS[0],
            format!("http://{listen}/oauth/callback")
        );
        assert_eq!(
            DEFAULT_REDIRECT_URIS[1],
            format!("http://localhost:{port}/oauth/callback")
        );
    }

    #[test]
    fn flags_set_lifetimes_and_redirect_uris() {
        let config = parse(&[
            "--access-token-ttl",
            "60",
            "--refresh-token-ttl",
            "3600",
            "--code-ttl",
            "30",
            "--refresh-reuse-grace",
            "5",
            "--redirect-uri",
            "https://pins.example.invalid/oauth/callback",
            "--media-processing-secs",
            "0",
        ])
        .expect("valid flags")
        .sandbox_config();
        assert_eq!(config.access_token_lifetime_secs, 60);
        assert_eq!(config.refresh_token_lifetime_secs, 3600);
        assert_eq!(config.code_lifetime_secs, 30);
        assert_eq!(config.refresh_reuse_grace_secs, 5);
        assert_eq!(config.media_processing_secs, 0);
        assert_eq!(
            config.redirect_uris,
            ["https://pins.example.invalid/oauth/callback"]
        );
    }

    #[test]
    fn the_universal_limit_is_on_by_default_for_the_access_tier() {
        for (flags, expected) in [
            (&[][..], Some("100/s")),
            (&["--trial"][..], Some("1000/day")),
            (&["--no-universal-limit"][..], None),
            (&["--trial", "--no-universal-limit"][..], None),
            (&["--rate", "org_write=10/s"][..], Some("100/s")),
        ] {
            let config = parse(flags).expect("valid flags").sandbox_config();
            assert_eq!(
                config
                    .universal_rate
                    .map(|rate| rate.to_string())
                    .as_deref(),
                expected,
                "{flags:?}"
            );
            assert_eq!(config.validate(), Ok(()), "{flags:?}");
        }
        let config = parse(&["--rate", "org_write=10/s"])
            .expect("valid flags")
            .sandbox_config();
        assert_eq!(config.rates.len(), 1, "category limits stay separate");
        assert!(parse(&["--no-universal-limit=yes"]).is_err());
    }

    #[test]
    fn latency_flags_set_the_delay() {
        assert!(
            parse(&[])
                .expect("no flags")
                .sandbox_config()
                .latency
                .is_zero()
        );
        let config = parse(&["--latency-ms", "150", "--latency-jitter-ms", "50"])
            .expect("valid flags")
            .sandbox_config();
        assert_eq!(config.latency, Latency::from_millis(150, 50));
        assert_eq!(config.validate(), Ok(()));
        let config = parse(&["--latency-ms", "10", "--latency-jitter-ms", "50"])
            .expect("parses")
            .sandbox_config();
        assert!(config.validate().is_err(), "jitter beyond the base");
        assert!(parse(&["--latency-ms", "-5"]).is_err());
    }

    #[test]
    fn bad_values_are_refused_with_a_reason() {
        for (flags, reason) in [
            (["--access-token-ttl", "0"], "at least 1 second"),
            (["--refresh-token-ttl", "-5"], "at least 1 second"),
            (["--code-ttl", "10m"], "whole number of seconds"),
            (["--code-ttl", "99999999999999"], "at most"),
            (["--refresh-reuse-grace", "-1"], "between 0 and"),
            (["--media-processing-secs", "-1"], "between 0 and"),
            (["--media-processing-secs", "5s"], "whole number of seconds"),
            (
                ["--redirect-uri", "ftp://example.invalid/cb"],
                "http:// or https://",
            ),
            (["--redirect-uri", "/oauth/callback"], "is not a URL"),
        ] {
            let error = parse(&flags).expect_err("refused").to_string();
            assert!(error.contains(reason), "{flags:?}: {error}");
            assert!(
                error.contains(flags[0]),
                "{flags:?} names the flag: {error}"
            );
        }
    }
}
