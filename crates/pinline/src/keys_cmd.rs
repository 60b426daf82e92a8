//! `pinline keys`: create, list and revoke API keys. These talk to the database directly, since
//! they are how API access is bootstrapped in the first place.

use anyhow::{Context, bail};
use clap::Subcommand;
use pinline_core::clock::{Clock, SystemClock};
use pinline_store::Store;

use pinline_server::key_scopes::{KeyScope, KeyScopes};

use crate::config::DataArgs;

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create an API key for a profile (created if new) and print it once.
    Create {
        /// The profile the key acts for.
        #[arg(long, default_value = "default")]
        profile: String,
        /// A name to tell keys apart.
        #[arg(long, default_value = "cli")]
        name: String,
        /// Print only the key (for scripts).
        #[arg(long)]
        quiet: bool,
        /// Limit the key to this scope (repeatable): accounts:read, accounts:write, posts:read,
        /// posts:write, drafts:read, drafts:write, webhooks:read, webhooks:write, pinterest:read,
        /// pinterest:write, token:read. Without it the key may do everything.
        #[arg(long = "scope", value_name = "SCOPE")]
        scopes: Vec<KeyScope>,
        /// Bind the key to this account of the profile (repeatable): through /pinterest/v5 and
        /// the token endpoint it reaches only these, and a key bound to one need not name it.
        #[arg(long = "account", value_name = "ACCOUNT_ID")]
        accounts: Vec<String>,
        #[command(flatten)]
        data: DataArgs,
    },
    /// List a profile's keys (prefixes only; keys are stored hashed).
    List {
        #[arg(long, default_value = "default")]
        profile: String,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        data: DataArgs,
    },
    /// Revoke a key by id.
    Revoke {
        #[arg(long, default_value = "default")]
        profile: String,
        /// The key's id, as `keys list` shows it.
        key_id: String,
        #[command(flatten)]
        data: DataArgs,
    },
}

/// A key's scopes for JSON: every scope's name when it has them all.
fn scope_names(stored: Option<&str>) -> Vec<&'static str> {
    let scopes = KeyScopes::from_stored(stored);
    KeyScope::ALL
        .into_iter()
        .filter(|scope| scopes.allows(*scope))
        .map(KeyScope::as_str)
        .collect()
}

async fn open(data: &DataArgs) -> anyhow::Result<Store> {
    let location = data.database()?;
    Store::open(&location)
        .await
        .with_context(|| format!("while opening the database at {location}"))
}

pub async fn run(command: KeysCommand) -> anyhow::Result<()> {
    let now = SystemClock.now_ms();
    match command {
        KeysCommand::Create {
            profile,
            name,
            quiet,
            scopes,
            accounts,
            data,
        } => {
            let store = open(&data).await?;
            let scopes = if scopes.is_empty() {
                KeyScopes::Every
            } else {
                KeyScopes::Only(scopes)
            };
            let created = pinline_server::api_keys::create_scoped_api_key(
                &store, &profile, &name, &scopes, now,
            )
            .await
            .context("while creating the key")?;
            if !accounts.is_empty() {
                // A key that cannot be bound as asked must not live on unbound (it would reach
                // every account): it is revoked before the error is reported.
                let bound = bind_accounts(&store, &created.row, &accounts).await;
                if let Err(error) = bound {
                    store
                        .revoke_api_key(&created.row.profile_id, &created.row.id, now)
                        .await?;
                    return Err(
                        error.context(format!("the key was not created for profile `{profile}`"))
                    );
                }
            }
            if quiet {
                println!("{}", created.key);
            } else {
                println!("API key for profile `{profile}` (shown once; store it now):\n");
                println!("  {}\n", created.key);
                println!(
                    "Use it as:  Authorization: Bearer {}…",
                    created.row.key_prefix
                );
                println!("It may use {}.", scopes.describe());
            }
            store.close().await;
        }
        KeysCommand::List {
            profile,
            json,
            data,
        } => {
            let store = open(&data).await?;
            let Some(found) = store
                .profiles()
                .await?
                .into_iter()
                .find(|p| p.name == profile)
            else {
                bail!(
                    "no profile named `{profile}`; create a key with `pinline keys create --profile {profile}`"
                );
            };
            let keys = store.api_keys(&found.id).await?;
            if json {
                let items: Vec<_> = keys
                    .iter()
                    .map(|k| {
                        serde_json::json!({
                            "id": k.id, "name": k.name, "prefix": k.key_prefix,
                            "created_at_ms": k.created_at, "last_used_at_ms": k.last_used_at,
                            "revoked": k.revoked_at.is_some(),
                            "scopes": scope_names(k.scopes.as_deref()),
                        })
                    })
                    .collect();
                println!("{}", crate::terminal::json(&items));
            } else {
                println!(
                    "{:<38} {:<12} {:<12} {:<8} {:<26} SCOPES",
                    "ID", "NAME", "PREFIX", "STATUS", "LAST USED"
                );
                for key in keys {
                    let status = if key.revoked_at.is_some() {
                        "revoked"
                    } else {
                        "active"
                    };
                    let last_used = key.last_used_at.map_or_else(
                        || "never".to_owned(),
                        |ms| {
                            time::OffsetDateTime::from_unix_timestamp_nanos(
                                i128::from(ms) * 1_000_000,
                            )
                            .ok()
                            .and_then(|at| {
                                at.format(&time::format_description::well_known::Rfc3339)
                                    .ok()
                            })
                            .unwrap_or_else(|| ms.to_string())
                        },
                    );
                    println!(
                        "{:<38} {:<12} {:<12} {status:<8} {last_used:<26} {}",
                        key.id,
                        key.name,
                        key.key_prefix,
                        KeyScopes::from_stored(key.scopes.as_deref()).describe()
                    );
                }
            }
            store.close().await;
        }
        KeysCommand::Revoke {
            profile,
            key_id,
            data,
        } => {
            let store = open(&data).await?;
            let Some(found) = store
                .profiles()
                .await?
                .into_iter()
                .find(|p| p.name == profile)
            else {
                bail!("no profile named `{profile}`");
            };
            if !store.revoke_api_key(&found.id, &key_id, now).await? {
                bail!(
                    "no active key `{key_id}` in profile `{profile}`; `pinline keys list --profile {profile}` shows them"
                );
            }
            println!("revoked {key_id}");
            store.close().await;
        }
    }
    Ok(())
}

/// Binds a new key to `accounts`, each of which must be an account of the key's profile.
async fn bind_accounts(
    store: &pinline_store::Store,
    key: &pinline_store::ApiKeyRow,
    accounts: &[String],
) -> anyhow::Result<()> {
    for account in accounts {
        store
            .account(&key.profile_id, account)
            .await?
            .with_context(|| format!("no account `{account}` in this profile"))?;
    }
    store
        .bind_api_key_accounts(&key.id, accounts)
        .await
        .context("while binding the key to its accounts")
}
