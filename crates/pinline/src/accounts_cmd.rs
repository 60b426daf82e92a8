//! `pinline accounts`: list, inspect, connect, refresh and disconnect Pinterest accounts through
//! a running pinline's API.

use std::time::Duration;

use anyhow::bail;
use clap::Subcommand;
use reqwest::Method;
use serde_json::Value;

use crate::api_client::{ApiArgs, ApiClient};

#[derive(Debug, Subcommand)]
pub enum AccountsCommand {
    /// List the profile's accounts with their health.
    List {
        #[command(flatten)]
        api: ApiArgs,
    },
    /// Show one account.
    Show {
        account_id: String,
        #[command(flatten)]
        api: ApiArgs,
    },
    /// Start connecting an account: prints the Pinterest consent link to open.
    Connect {
        /// Wait (up to 10 minutes) until the account is connected.
        #[arg(long)]
        wait: bool,
        #[command(flatten)]
        api: ApiArgs,
    },
    /// Refresh an account's tokens now.
    Refresh {
        account_id: String,
        #[command(flatten)]
        api: ApiArgs,
    },
    /// Erase an account's tokens here and ask Pinterest to revoke them (Pinterest revokes only
    /// system users' tokens; the account's history says which happened).
    Disconnect {
        account_id: String,
        #[command(flatten)]
        api: ApiArgs,
    },
}

fn expires_in(account: &Value, field: &str) -> String {
    match account[field].as_i64() {
        None => "-".into(),
        Some(secs) if secs >= 2 * 86_400 => format!("{}d", secs / 86_400),
        Some(secs) if secs >= 3_600 => format!("{}h", secs / 3_600),
        Some(secs) => format!("{}m", secs / 60),
    }
}

fn print_table(accounts: &[Value]) {
    let accounts: Vec<Value> = accounts.iter().map(crate::terminal::clean_value).collect();
    println!(
        "{:<38} {:<20} {:<13} {:>7} {:>8}  LAST ERROR",
        "ID", "USERNAME", "STATUS", "ACCESS", "REFRESH"
    );
    for account in &accounts {
        let error = crate::posts_cmd::classed(
            &account["last_error"]["class"],
            &account["last_error"]["message"],
        )
        .unwrap_or_default();
        println!(
            "{:<38} {:<20} {:<13} {:>7} {:>8}  {}",
            account["id"].as_str().unwrap_or(""),
            account["username"].as_str().unwrap_or(""),
            account["status"].as_str().unwrap_or(""),
            expires_in(account, "access_token_expires_in_secs"),
            expires_in(account, "refresh_token_expires_in_secs"),
            error.chars().take(60).collect::<String>(),
        );
    }
}

fn print_account(account: &Value, json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", crate::terminal::json(account));
    } else {
        print_table(std::slice::from_ref(account));
        if let Some(reason) = account["status_reason"].as_str() {
            println!("\n{}", crate::terminal::clean(reason));
        }
    }
    Ok(())
}

pub async fn run(command: AccountsCommand) -> anyhow::Result<()> {
    match command {
        AccountsCommand::List { api } => {
            let client = ApiClient::new(&api)?;
            let listed = client.send(Method::GET, "/v1/accounts", None).await?;
            let items = listed["items"].as_array().cloned().unwrap_or_default();
            if api.json {
                println!("{}", crate::terminal::json(&items));
            } else if items.is_empty() {
                println!("No accounts yet. Connect one with `pinline accounts connect`.");
            } else {
                print_table(&items);
            }
        }
        AccountsCommand::Show { account_id, api } => {
            let client = ApiClient::new(&api)?;
            let account = client
                .send(Method::GET, &format!("/v1/accounts/{account_id}"), None)
                .await?;
            print_account(&account, api.json)?;
        }
        AccountsCommand::Connect { wait, api } => {
            let client = ApiClient::new(&api)?;
            let before = client.send(Method::GET, "/v1/accounts", None).await?;
            let started = client
                .send(Method::POST, "/v1/accounts/connect", None)
                .await?;
            let url = crate::terminal::clean(started["authorize_url"].as_str().unwrap_or_default());
            if api.json {
                println!("{}", crate::terminal::json(&started));
            } else {
                println!(
                    "Open this link, sign in to Pinterest and approve (valid 10 minutes):\n\n  {url}\n"
                );
            }
            if wait {
                let seen: Vec<(String, String)> = before["items"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|a| {
                        (
                            a["id"].as_str().unwrap_or("").to_owned(),
                            a["updated_at"].as_str().unwrap_or("").to_owned(),
                        )
                    })
                    .collect();
                let deadline = tokio::time::Instant::now() + Duration::from_secs(600);
                loop {
                    let now = client.send(Method::GET, "/v1/accounts", None).await?;
                    let fresh = now["items"].as_array().into_iter().flatten().find(|a| {
                        a["status"] == "active"
                            && !seen.iter().any(|(id, updated)| {
                                a["id"].as_str() == Some(id)
                                    && a["updated_at"].as_str() == Some(updated)
                            })
                    });
                    if let Some(account) = fresh {
                        println!(
                            "Connected @{}.",
                            crate::terminal::clean(account["username"].as_str().unwrap_or(""))
                        );
                        break;
                    }
                    if tokio::time::Instant::now() > deadline {
                        bail!(
                            "no account was connected within 10 minutes; run `pinline accounts connect` again"
                        );
                    }
                    tokio::time::sleep(Duration::from_secs(2)).await;
                }
            }
        }
        AccountsCommand::Refresh { account_id, api } => {
            let client = ApiClient::new(&api)?;
            let account = client
                .send(
                    Method::POST,
                    &format!("/v1/accounts/{account_id}/refresh"),
                    None,
                )
                .await?;
            print_account(&account, api.json)?;
        }
        AccountsCommand::Disconnect { account_id, api } => {
            let client = ApiClient::new(&api)?;
            let account = client
                .send(Method::DELETE, &format!("/v1/accounts/{account_id}"), None)
                .await?;
            print_account(&account, api.json)?;
        }
    }
    Ok(())
}
