//! Where alerts go: the SMTP server, sender and recipients, and the chat webhook, parsed once
//! from the operator's settings. The SMTP URL (which may hold a password) and the webhook URL
//! (whose path is its secret) are kept as secrets and never printed.

use std::fmt;
use std::time::Duration;

use lettre::message::Mailbox;
use secrecy::{ExposeSecret, SecretString};

use crate::AlertError;

/// How long an alert stays quiet before its reminder, by default.
pub const DEFAULT_REMIND_AFTER: Duration = Duration::from_secs(24 * 3600);

/// Where alerts go and how often they are repeated.
#[derive(Debug, Clone)]
pub struct AlertSettings {
    pub email: Option<EmailSettings>,
    pub slack: Option<SlackWebhook>,
    /// The server's public URL: reconnect links start with it.
    pub public_url: String,
    /// How long an open alert waits before a reminder.
    pub remind_after: Duration,
}

impl AlertSettings {
    /// Settings with no channel: states are still tracked, nothing is sent.
    pub fn new(public_url: &str) -> AlertSettings {
        AlertSettings {
            email: None,
            slack: None,
            public_url: public_url.trim_end_matches('/').to_owned(),
            remind_after: DEFAULT_REMIND_AFTER,
        }
    }

    /// True when at least one channel is configured.
    pub fn any_channel(&self) -> bool {
        self.email.is_some() || self.slack.is_some()
    }
}

/// Email by SMTP: `smtp://`, `smtps://` (TLS) or `smtp://…?tls=required` (STARTTLS), with
/// optional `user:password@`.
#[derive(Clone)]
pub struct EmailSettings {
    url: SecretString,
    pub from: Mailbox,
    pub to: Vec<Mailbox>,
}

impl EmailSettings {
    /// Parses the SMTP URL, the sender and a comma-separated list of recipients.
    pub fn parse(url: &str, from: &str, to: &str) -> Result<EmailSettings, AlertError> {
        let parsed = url::Url::parse(url).map_err(|error| AlertError::Setting {
            setting: "PINLINE_SMTP_URL",
            reason: error.to_string(),
        })?;
        if !matches!(parsed.scheme(), "smtp" | "smtps") || parsed.host_str().is_none() {
            return Err(AlertError::Setting {
                setting: "PINLINE_SMTP_URL",
                reason: "expected smtp://host[:port] or smtps://host[:port]".into(),
            });
        }
        let from = from.trim().parse().map_err(|error| AlertError::Setting {
            setting: "PINLINE_ALERT_FROM",
            reason: format!("{error}"),
        })?;
        let to = to
            .split(',')
            .map(str::trim)
            .filter(|one| !one.is_empty())
            .map(|one| {
                one.parse().map_err(|error| AlertError::Setting {
                    setting: "PINLINE_ALERT_EMAILS",
                    reason: format!("`{one}`: {error}"),
                })
            })
            .collect::<Result<Vec<Mailbox>, _>>()?;
        if to.is_empty() {
            return Err(AlertError::Setting {
                setting: "PINLINE_ALERT_EMAILS",
                reason: "at least one recipient is needed".into(),
            });
        }
        Ok(EmailSettings {
            url: SecretString::from(url.to_owned()),
            from,
            to,
        })
    }

    pub(crate) fn url(&self) -> &str {
        self.url.expose_secret()
    }
}

impl fmt::Debug for EmailSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmailSettings")
            .field("url", &"[redacted]")
            .field("from", &self.from.to_string())
            .field("to", &self.to.len())
            .finish()
    }
}

/// A Slack-compatible incoming webhook: its URL is the credential.
#[derive(Clone)]
pub struct SlackWebhook(SecretString);

impl SlackWebhook {
    /// Parses an http(s) URL.
    pub fn parse(url: &str) -> Result<SlackWebhook, AlertError> {
        let parsed = url::Url::parse(url).map_err(|error| AlertError::Setting {
            setting: "PINLINE_SLACK_WEBHOOK_URL",
            reason: error.to_string(),
        })?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(AlertError::Setting {
                setting: "PINLINE_SLACK_WEBHOOK_URL",
                reason: "expected an http:// or https:// URL".into(),
            });
        }
        Ok(SlackWebhook(SecretString::from(url.to_owned())))
    }

    pub(crate) fn url(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for SlackWebhook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SlackWebhook([redacted])")
    }
}
