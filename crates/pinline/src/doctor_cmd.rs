//! `pinline doctor ACCOUNT_ID`: runs the troubleshooting sequence on one account against the
//! same configuration as `pinline serve` (database, master key, Pinterest app) and prints each
//! step with its fix. The diagnosis itself lives in `pinline_vault::doctor`.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::Args;
use pinline_core::clock::{SharedClock, SystemClock};
use pinline_pinterest::PinterestClient;
use pinline_store::Store;
use pinline_vault::doctor::{self, Options, Report, Status, TestPublish};
use pinline_vault::{Vault, VaultSettings};

use crate::config::{DataArgs, PinterestArgs};

/// A placeholder image for `--test-publish` when `--image-url` is not given.
pub const DEFAULT_TEST_IMAGE: &str = "https://i.pinimg.com/originals/pinline-doctor-test.png";

/// Settings of `pinline doctor`.
#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// The account's id (`pinline accounts list` shows it).
    pub account_id: String,

    /// Refresh the tokens even if the access token is still valid (tests the refresh token).
    #[arg(long)]
    pub refresh: bool,

    /// Publish one test pin to this board (id, digits) and delete it again.
    #[arg(long, value_name = "BOARD_ID")]
    pub test_publish: Option<String>,

    /// Image of the test pin (an https URL Pinterest can fetch).
    #[arg(long, default_value = DEFAULT_TEST_IMAGE, requires = "test_publish")]
    pub image_url: String,

    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,

    /// URL people reach pinline at, for reconnect links (default http://PINLINE_LISTEN).
    #[arg(long, env = "PINLINE_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// pinline's listen address, used for reconnect links when no public URL is set.
    #[arg(long, env = "PINLINE_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    #[command(flatten)]
    pub data: DataArgs,

    #[command(flatten)]
    pub pinterest: PinterestArgs,
}

pub async fn run(args: DoctorArgs) -> anyhow::Result<()> {
    let app = args.pinterest.app()?;
    let public_url = args
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", args.listen))
        .trim_end_matches('/')
        .to_owned();
    let location = args.data.database()?;
    let keys = args.data.key_ring()?;
    let store = Store::open(&location)
        .await
        .with_context(|| format!("while opening the database at {location}"))?;
    let clock: SharedClock = Arc::new(SystemClock);
    let client = PinterestClient::new(app.environment, app.client_id, app.client_secret)
        .context("while setting up the Pinterest client")?;
    let vault = Vault::new(
        store.clone(),
        keys,
        clock.clone(),
        client,
        VaultSettings::new(&public_url),
    );
    let options = Options {
        refresh: args.refresh,
        test_publish: args.test_publish.clone().map(|board_id| TestPublish {
            board_id,
            image_url: args.image_url.clone(),
        }),
    };
    let report = doctor::diagnose(&vault, &store, &args.account_id, &options, clock.now_ms()).await;
    store.close().await;
    if args.json {
        println!("{}", crate::terminal::json(&report));
    } else {
        print_report(&report);
    }
    let failures: Vec<&str> = report.failures().map(|c| c.name).collect();
    if !failures.is_empty() {
        bail!(
            "{} check(s) failed: {} (the fixes are above)",
            failures.len(),
            failures.join(", ")
        );
    }
    Ok(())
}

fn print_report(report: &Report) {
    match &report.account {
        Some(account) => println!(
            "pinline doctor: account {} (@{}, {})\n",
            report.account_id,
            account.username,
            account.status.as_str()
        ),
        None => println!("pinline doctor: account {}\n", report.account_id),
    }
    for check in &report.checks {
        let mark = match check.status {
            Status::Pass => "PASS",
            Status::Warn => "WARN",
            Status::Fail => "FAIL",
            Status::Skip => "SKIP",
        };
        println!("[{mark}] {:<20} {}", check.name, check.detail);
        if let Some(fix) = &check.fix
            && check.status != Status::Pass
        {
            println!("       {:<20} fix: {fix}", "");
        }
    }
    println!();
    if report.ok() {
        println!("All checks passed.");
    }
}
