//! `pinline post` (one pin from flags) and `pinline posts list|show|cancel`, through a running
//! pinline's API.

use std::time::Duration;

use anyhow::bail;
use clap::{Args, Subcommand};
use reqwest::Method;
use serde_json::{Value, json};

use crate::api_client::{ApiArgs, ApiClient};

#[derive(Debug, Subcommand)]
pub enum PostsCommand {
    /// List posts, newest first, with filters.
    #[command(after_help = LIST_EXAMPLES)]
    List {
        /// Only posts in this status: queued, publishing, published, failed, held, canceled.
        #[arg(long)]
        status: Option<String>,
        /// Only posts of this account.
        #[arg(long)]
        account: Option<String>,
        /// Only posts created at or after this time (RFC 3339).
        #[arg(long)]
        from: Option<String>,
        /// Only posts created before this time (RFC 3339).
        #[arg(long)]
        to: Option<String>,
        /// At most this many posts (1–500 per page).
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// Follow the cursor through every page.
        #[arg(long)]
        all: bool,
        #[command(flatten)]
        api: ApiArgs,
    },
    /// Show one post with its publishing attempts.
    Show {
        post_id: String,
        #[command(flatten)]
        api: ApiArgs,
    },
    /// Cancel a post that has not published (a published one has its pin deleted).
    Cancel {
        post_id: String,
        #[command(flatten)]
        api: ApiArgs,
    },
}

const LIST_EXAMPLES: &str = "\
Examples:
  pinline posts list
  pinline posts list --status failed --account 0192…
  pinline posts list --all --json | jq '.[].id'";

/// Settings of `pinline post`.
#[derive(Debug, Args)]
pub struct PostArgs {
    /// The account to publish as (`pinline accounts list`).
    #[arg(long)]
    pub account: String,
    /// The board's name (resolved once, now).
    #[arg(
        long,
        conflicts_with = "board_id",
        required_unless_present = "board_id"
    )]
    pub board: Option<String>,
    /// The board's id (digits).
    #[arg(long)]
    pub board_id: Option<String>,
    /// Title (≤ 100 characters).
    #[arg(long)]
    pub title: Option<String>,
    /// Description (≤ 800 characters).
    #[arg(long)]
    pub description: Option<String>,
    /// Destination link (http(s), ≤ 2048 characters).
    #[arg(long)]
    pub link: Option<String>,
    /// Alt text (≤ 500 characters).
    #[arg(long)]
    pub alt_text: Option<String>,
    /// The image, an http(s) URL Pinterest fetches.
    #[arg(long)]
    pub image_url: String,
    /// When to publish, RFC 3339 with an offset (default: now).
    #[arg(long)]
    pub publish_at: Option<String>,
    /// Wait (up to 2 minutes) until the post is published or fails.
    #[arg(long)]
    pub wait: bool,
    #[command(flatten)]
    pub api: ApiArgs,
}

/// `text` cut to `width` characters with an ellipsis.
pub fn cut(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        text.to_owned()
    } else {
        let mut out: String = text.chars().take(width.saturating_sub(1)).collect();
        out.push('…');
        out
    }
}

/// A table of posts, for people.
pub fn print_table(posts: &[Value]) {
    let posts: Vec<Value> = posts.iter().map(crate::terminal::clean_value).collect();
    println!(
        "{:<38} {:<10} {:<38} {:<20} {:<25}  PIN / ERROR",
        "ID", "STATUS", "ACCOUNT", "BOARD", "PUBLISH AT"
    );
    for post in &posts {
        let error = classed(&post["last_error"]["class"], &post["last_error"]["message"]);
        let note = post["pin"]["url"]
            .as_str()
            .or(post["pin"]["id"].as_str())
            .or(error.as_deref())
            .or(post["held_reason"].as_str())
            .or(post["title"].as_str())
            .unwrap_or("");
        println!(
            "{:<38} {:<10} {:<38} {:<20} {:<25}  {}",
            post["id"].as_str().unwrap_or(""),
            post["status"].as_str().unwrap_or(""),
            post["account_id"].as_str().unwrap_or(""),
            post["board_id"].as_str().unwrap_or(""),
            post["publish_at"].as_str().unwrap_or("now"),
            cut(note, 60),
        );
    }
}

fn print_post(post: &Value, json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", crate::terminal::json(post));
        return Ok(());
    }
    print_table(std::slice::from_ref(post));
    let post = crate::terminal::clean_value(post);
    if let Some(attempts) = post["attempt_log"].as_array()
        && !attempts.is_empty()
    {
        println!("\nAttempts:");
        for attempt in attempts {
            println!(
                "  #{} {} {} {}",
                attempt["attempt"],
                attempt["started_at"].as_str().unwrap_or(""),
                attempt["outcome"].as_str().unwrap_or("in progress"),
                classed(&attempt["error_class"], &attempt["error_message"]).unwrap_or_default(),
            );
        }
    }
    Ok(())
}

/// A post's analytics totals, one metric a line.
fn print_analytics(analytics: &Value) {
    let analytics = crate::terminal::clean_value(analytics);
    println!(
        "\nAnalytics {} to {}:",
        analytics["start_date"].as_str().unwrap_or("?"),
        analytics["end_date"].as_str().unwrap_or("?")
    );
    if let Some(totals) = analytics["totals"].as_object() {
        for (metric, value) in totals {
            println!("  {metric:<16} {value}");
        }
    }
}

/// `class: message` of a recorded error, for people; `None` when there is none.
pub fn classed(class: &Value, message: &Value) -> Option<String> {
    match (class.as_str(), message.as_str()) {
        (Some(class), Some(message)) => Some(format!("{class}: {message}")),
        (Some(class), None) => Some(class.to_owned()),
        (None, message) => message.map(str::to_owned),
    }
}

/// Percent-encodes a query value.
fn url_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(byte));
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

pub async fn run(command: PostsCommand) -> anyhow::Result<()> {
    match command {
        PostsCommand::List {
            status,
            account,
            from,
            to,
            limit,
            all,
            api,
        } => {
            let client = ApiClient::new(&api)?;
            let mut query = vec![format!("limit={}", limit.clamp(1, 500))];
            for (name, value) in [
                ("status", &status),
                ("account_id", &account),
                ("from", &from),
                ("to", &to),
            ] {
                if let Some(value) = value {
                    query.push(format!("{name}={}", url_encode(value)));
                }
            }
            let mut items = Vec::new();
            let mut cursor: Option<String> = None;
            loop {
                let mut path = format!("/v1/posts?{}", query.join("&"));
                if let Some(cursor) = &cursor {
                    path.push_str(&format!("&cursor={}", url_encode(cursor)));
                }
                let page = client.send(Method::GET, &path, None).await?;
                items.extend(page["items"].as_array().cloned().unwrap_or_default());
                cursor = page["next_cursor"].as_str().map(str::to_owned);
                if !all || cursor.is_none() {
                    break;
                }
            }
            if api.json {
                println!("{}", crate::terminal::json(&items));
            } else if items.is_empty() {
                println!("No posts. Send one with `pinline post` or `pinline import FILE.csv`.");
            } else {
                print_table(&items);
                if cursor.is_some() {
                    println!("\n(more posts: pass --all, or a higher --limit)");
                }
            }
        }
        PostsCommand::Show { post_id, api } => {
            let client = ApiClient::new(&api)?;
            let post = client
                .send(
                    Method::GET,
                    &format!("/v1/posts/{}", url_encode(&post_id)),
                    None,
                )
                .await?;
            print_post(&post, api.json)?;
            if !api.json && post["status"] == "published" {
                // The pin's last 30 days, from pinline's snapshots when it has them. Analytics
                // are an extra: a failure to read them is said, not fatal.
                let path = format!(
                    "/v1/posts/{}/analytics?granularity=total",
                    url_encode(&post_id)
                );
                match client.send(Method::GET, &path, None).await {
                    Ok(analytics) => print_analytics(&analytics),
                    Err(error) => println!("\nAnalytics: not available ({error})"),
                }
            }
        }
        PostsCommand::Cancel { post_id, api } => {
            let client = ApiClient::new(&api)?;
            let post = client
                .send(
                    Method::DELETE,
                    &format!("/v1/posts/{}", url_encode(&post_id)),
                    None,
                )
                .await?;
            print_post(&post, api.json)?;
        }
    }
    Ok(())
}

/// `pinline post`.
pub async fn run_post(args: PostArgs) -> anyhow::Result<()> {
    let client = ApiClient::new(&args.api)?;
    let mut body = json!({
        "account_id": args.account,
        "image_url": args.image_url,
    });
    for (name, value) in [
        ("board", &args.board),
        ("board_id", &args.board_id),
        ("title", &args.title),
        ("description", &args.description),
        ("link", &args.link),
        ("alt_text", &args.alt_text),
        ("publish_at", &args.publish_at),
    ] {
        if let Some(value) = value {
            body[name] = json!(value);
        }
    }
    let mut post = client.send(Method::POST, "/v1/posts", Some(&body)).await?;
    if args.wait {
        let id = post["id"].as_str().unwrap_or_default().to_owned();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
        loop {
            match post["status"].as_str() {
                Some("published") => break,
                Some("failed" | "canceled" | "held") => {
                    print_post(&post, args.api.json)?;
                    bail!(
                        "the post is {}: {}",
                        post["status"].as_str().unwrap_or(""),
                        post["last_error"]["message"]
                            .as_str()
                            .or(post["held_reason"].as_str())
                            .unwrap_or("no reason recorded")
                    );
                }
                _ if tokio::time::Instant::now() > deadline => {
                    bail!(
                        "post {id} was not published within 2 minutes; `pinline posts show {id}` tells where it is"
                    )
                }
                _ => {}
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
            post = client
                .send(Method::GET, &format!("/v1/posts/{id}"), None)
                .await?;
        }
    }
    print_post(&post, args.api.json)
}

#[cfg(test)]
mod tests {
    #[test]
    fn query_values_are_encoded() {
        assert_eq!(
            super::url_encode("2026-01-01T00:00:00+01:00"),
            "2026-01-01T00%3A00%3A00%2B01%3A00"
        );
    }
}
