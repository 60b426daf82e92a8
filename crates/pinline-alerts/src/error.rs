//! What can go wrong while configuring or sending alerts. Messages name the setting or the
//! channel, never the SMTP credentials or the webhook URL (which holds a secret).

use pinline_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AlertError {
    #[error("{setting} is not valid: {reason}")]
    Setting {
        setting: &'static str,
        reason: String,
    },
    #[error("the email could not be sent: {0}")]
    Email(String),
    #[error("the chat webhook could not be reached: {0}")]
    Slack(String),
    #[error("the chat webhook answered {0}")]
    SlackStatus(u16),
    #[error(transparent)]
    Store(#[from] StoreError),
}
