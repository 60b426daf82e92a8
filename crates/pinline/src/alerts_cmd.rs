//! Alert channels: the settings `pinline serve` reads for email and chat alerts, and
//! `pinline alerts test`, which sends one message to each configured channel.

use std::time::Duration;

use anyhow::bail;
use clap::{Args, Subcommand};
use pinline_alerts::{AlertSettings, Channels, EmailSettings, SlackWebhook};
use pinline_outbound::Guard;

use crate::config::OutboundArgs;

/// Where account alerts go besides webhooks. `Debug` never shows the SMTP URL or the webhook
/// URL: both may hold credentials.
#[derive(Clone, Args)]
pub struct AlertArgs {
    /// An SMTP server for email alerts: smtp://host:port (plain), smtp://host:587?tls=required
    /// (STARTTLS) or smtps://host:465 (TLS), with user:password@ when it wants a login.
    #[arg(long, env = "PINLINE_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,

    /// Who gets email alerts (comma-separated addresses).
    #[arg(long, env = "PINLINE_ALERT_EMAILS")]
    pub alert_emails: Option<String>,

    /// The sender of email alerts.
    #[arg(
        long,
        env = "PINLINE_ALERT_FROM",
        default_value = "pinline <pinline@localhost>"
    )]
    pub alert_from: String,

    /// A Slack-compatible incoming webhook for chat alerts (Slack, Mattermost, Rocket.Chat).
    #[arg(long, env = "PINLINE_SLACK_WEBHOOK_URL", hide_env_values = true)]
    pub slack_webhook_url: Option<String>,

    /// Hours before an alert whose state lasts is sent again.
    #[arg(
        long,
        env = "PINLINE_ALERT_REMIND_HOURS",
        default_value_t = 24,
        value_parser = clap::value_parser!(u64).range(1..=24 * 365)
    )]
    pub alert_remind_hours: u64,
}

impl std::fmt::Debug for AlertArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlertArgs")
            .field("smtp_url", &self.smtp_url.as_ref().map(|_| "[redacted]"))
            .field("alert_emails", &self.alert_emails)
            .field("alert_from", &self.alert_from)
            .field(
                "slack_webhook_url",
                &self.slack_webhook_url.as_ref().map(|_| "[redacted]"),
            )
            .field("alert_remind_hours", &self.alert_remind_hours)
            .finish()
    }
}

impl AlertArgs {
    /// The alert settings, checked: an SMTP URL needs recipients and the other way round.
    pub fn settings(&self, public_url: &str) -> anyhow::Result<AlertSettings> {
        let mut settings = AlertSettings::new(public_url);
        settings.remind_after = Duration::from_secs(self.alert_remind_hours * 3600);
        let smtp = self.smtp_url.as_deref().filter(|s| !s.is_empty());
        let emails = self
            .alert_emails
            .as_deref()
            .filter(|s| !s.trim().is_empty());
        settings.email = match (smtp, emails) {
            (Some(url), Some(to)) => Some(EmailSettings::parse(url, &self.alert_from, to)?),
            (None, None) => None,
            (Some(_), None) => bail!(
                "PINLINE_SMTP_URL is set but PINLINE_ALERT_EMAILS is not: say who gets the alerts"
            ),
            (None, Some(_)) => bail!(
                "PINLINE_ALERT_EMAILS is set but PINLINE_SMTP_URL is not: say which SMTP server sends them"
            ),
        };
        settings.slack = match self.slack_webhook_url.as_deref().filter(|s| !s.is_empty()) {
            Some(url) => Some(SlackWebhook::parse(url)?),
            None => None,
        };
        Ok(settings)
    }
}

#[derive(Debug, Subcommand)]
pub enum AlertsCommand {
    /// Send one test message to each configured channel (email, chat) and say how each went.
    Test(AlertsTestArgs),
}

#[derive(Debug, Args)]
pub struct AlertsTestArgs {
    #[command(flatten)]
    pub alerts: AlertArgs,

    /// pinline's public URL, shown in the test message.
    #[arg(
        long,
        env = "PINLINE_PUBLIC_URL",
        default_value = "http://127.0.0.1:8080"
    )]
    pub public_url: String,

    #[command(flatten)]
    pub outbound: OutboundArgs,
}

pub async fn run(command: AlertsCommand) -> anyhow::Result<()> {
    match command {
        AlertsCommand::Test(args) => test(args).await,
    }
}

async fn test(args: AlertsTestArgs) -> anyhow::Result<()> {
    args.outbound.apply();
    let settings = args.alerts.settings(&args.public_url)?;
    if !settings.any_channel() {
        bail!(
            "no alert channel is configured: set PINLINE_SMTP_URL and PINLINE_ALERT_EMAILS, or PINLINE_SLACK_WEBHOOK_URL"
        );
    }
    // Sent directly, not queued: the database is not needed.
    let channels = Channels::new(
        &settings,
        Guard::new("alerts", args.outbound.allow_private_targets),
    )?;
    let mut failed = 0;
    for (channel, outcome) in channels.send_test(&settings.public_url).await {
        match outcome {
            Ok(()) => println!("{channel}: sent"),
            Err(error) => {
                failed += 1;
                println!("{channel}: failed: {error}");
            }
        }
    }
    if failed > 0 {
        bail!("{failed} channel(s) failed");
    }
    Ok(())
}
