//! The two ways out: SMTP through `lettre`, and a chat webhook POSTed through the guarded
//! outbound client (`pinline_outbound`), which checks the URL and every address it resolves to
//! (loopback only in tests). Redirects are not followed.

use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use pinline_outbound::Guard;

use crate::AlertError;
use crate::message::slack_payload;
use crate::settings::{AlertSettings, EmailSettings, SlackWebhook};

/// The channel names stored with each queued message.
pub const EMAIL: &str = "email";
pub const SLACK: &str = "slack";

/// How long one send may take before it counts as failed.
const SEND_TIMEOUT: Duration = Duration::from_secs(20);

/// The configured channels, ready to send.
#[derive(Debug, Clone)]
pub struct Channels {
    email: Option<(EmailSettings, AsyncSmtpTransport<Tokio1Executor>)>,
    slack: Option<(SlackWebhook, Guard, reqwest::Client)>,
}

impl Channels {
    /// The channels of `settings`; the chat webhook is reached only where `guard` allows.
    pub fn new(settings: &AlertSettings, guard: Guard) -> Result<Channels, AlertError> {
        let email = match &settings.email {
            Some(email) => {
                let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(email.url())
                    .map_err(|error| AlertError::Setting {
                        setting: "PINLINE_SMTP_URL",
                        reason: error.to_string(),
                    })?
                    .timeout(Some(SEND_TIMEOUT))
                    .build();
                Some((email.clone(), transport))
            }
            None => None,
        };
        let slack = match &settings.slack {
            Some(slack) => {
                let http = guard
                    .client_builder()
                    .redirect(reqwest::redirect::Policy::none())
                    .timeout(SEND_TIMEOUT)
                    .build()
                    .map_err(|error| AlertError::Setting {
                        setting: "PINLINE_SLACK_WEBHOOK_URL",
                        reason: error.to_string(),
                    })?;
                Some((slack.clone(), guard, http))
            }
            None => None,
        };
        Ok(Channels { email, slack })
    }

    /// The names of the configured channels.
    pub fn names(&self) -> Vec<&'static str> {
        let mut names = Vec::new();
        if self.email.is_some() {
            names.push(EMAIL);
        }
        if self.slack.is_some() {
            names.push(SLACK);
        }
        names
    }

    /// Sends one message on `channel`.
    pub async fn send(&self, channel: &str, subject: &str, body: &str) -> Result<(), AlertError> {
        match channel {
            EMAIL => self.send_email(subject, body).await,
            SLACK => self.send_slack(subject, body).await,
            other => Err(AlertError::Setting {
                setting: "channel",
                reason: format!("`{other}` is not configured"),
            }),
        }
    }

    /// Sends a test message to every configured channel; returns each channel's outcome.
    pub async fn send_test(&self, public_url: &str) -> Vec<(&'static str, Result<(), AlertError>)> {
        let subject = "pinline: test alert";
        let body = format!(
            "This is a test of pinline's alerts. Account alerts link to reconnect pages such as \
             {public_url}/accounts/<id>/reconnect.\n"
        );
        let mut outcomes = Vec::new();
        for channel in self.names() {
            outcomes.push((channel, self.send(channel, subject, &body).await));
        }
        outcomes
    }

    async fn send_email(&self, subject: &str, body: &str) -> Result<(), AlertError> {
        let Some((settings, transport)) = &self.email else {
            return Err(AlertError::Email("email is not configured".into()));
        };
        let mut message = Message::builder()
            .from(settings.from.clone())
            .subject(subject)
            .header(ContentType::TEXT_PLAIN);
        for to in &settings.to {
            message = message.to(to.clone());
        }
        let message = message
            .body(body.to_owned())
            .map_err(|error| AlertError::Email(error.to_string()))?;
        transport
            .send(message)
            .await
            .map(|_| ())
            // lettre's errors name the server's answer, not the URL or its credentials.
            .map_err(|error| AlertError::Email(error.to_string()))
    }

    async fn send_slack(&self, subject: &str, body: &str) -> Result<(), AlertError> {
        let Some((webhook, guard, http)) = &self.slack else {
            return Err(AlertError::Slack(
                "the chat webhook is not configured".into(),
            ));
        };
        let url =
            url::Url::parse(webhook.url()).map_err(|error| AlertError::Slack(error.to_string()))?;
        guard
            .check_url(&url)
            .map_err(|error| AlertError::Slack(error.class().to_owned()))?;
        let answer = http
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(slack_payload(subject, body))
            .send()
            .await
            // Without the URL: its path is the webhook's secret.
            .map_err(|error| AlertError::Slack(error.without_url().to_string()))?;
        if answer.status().is_success() {
            Ok(())
        } else {
            Err(AlertError::SlackStatus(answer.status().as_u16()))
        }
    }
}
