//! `pinline draft IDEA` (drafts from a link, a line of text or an image) and
//! `pinline drafts list|show|publish|delete`, through a running pinline's API.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use clap::{Args, Subcommand};
use reqwest::Method;
use serde_json::{Value, json};

use crate::api_client::{ApiArgs, ApiClient};

/// Settings of `pinline draft`.
#[derive(Debug, Args)]
pub struct DraftArgs {
    /// A page (product, article, recipe) or image link; or, with --text, leave it out.
    #[arg(value_name = "URL")]
    pub link: Option<String>,
    /// A line of text describing the idea (alone, or beside the link).
    #[arg(long)]
    pub text: Option<String>,
    /// A title to use instead of the page's.
    #[arg(long)]
    pub title: Option<String>,
    /// The image to use instead of the page's: an http(s) link or a local file.
    #[arg(long)]
    pub image: Option<String>,
    /// How many variants to make (1–5).
    #[arg(long, default_value_t = 3)]
    pub count: u32,
    /// Save each draft's 1000×1500 JPEG in this directory (as DRAFT_ID.jpg).
    #[arg(long)]
    pub save_images: Option<PathBuf>,
    #[command(flatten)]
    pub api: ApiArgs,
}

#[derive(Debug, Subcommand)]
pub enum DraftsCommand {
    /// List drafts, newest first.
    List {
        /// At most this many drafts (1–100).
        #[arg(long, default_value_t = 20)]
        limit: u32,
        #[command(flatten)]
        api: ApiArgs,
    },
    /// Show one draft in full.
    Show {
        draft_id: String,
        #[command(flatten)]
        api: ApiArgs,
    },
    /// Publish a draft now, or schedule it with --publish-at.
    #[command(after_help = PUBLISH_EXAMPLES)]
    Publish {
        draft_id: String,
        /// The account to publish as (`pinline accounts list`).
        #[arg(long)]
        account: String,
        /// The board's name (resolved once, now).
        #[arg(
            long,
            conflicts_with = "board_id",
            required_unless_present = "board_id"
        )]
        board: Option<String>,
        /// The board's id (digits).
        #[arg(long)]
        board_id: Option<String>,
        /// When to publish, RFC 3339 with an offset (default: now).
        #[arg(long)]
        publish_at: Option<String>,
        #[command(flatten)]
        api: ApiArgs,
    },
    /// Delete a draft (a post made from it stays).
    Delete {
        draft_id: String,
        #[command(flatten)]
        api: ApiArgs,
    },
}

pub const DRAFT_EXAMPLES: &str = "\
Examples:
  pinline draft https://shop.example/lemon-tart
  pinline draft https://shop.example/lemon-tart --count 5 --save-images ./drafts
  pinline draft --text \"Lemon tart for a spring brunch\" --image ./tart.jpg
  pinline draft https://blog.example/post --title \"10 spring tarts\" --json";

const PUBLISH_EXAMPLES: &str = "\
Examples:
  pinline drafts publish 0193… --account 0192… --board Recipes
  pinline drafts publish 0193… --account 0192… --board-id 5512… --publish-at 2026-12-01T09:30:00+01:00";

/// A table of drafts, for people.
fn print_table(drafts: &[Value]) {
    let drafts: Vec<Value> = drafts.iter().map(crate::terminal::clean_value).collect();
    println!(
        "{:<38} {:<9} {:>3}  {:<60}  KEYWORDS",
        "ID", "STATUS", "#", "TITLE"
    );
    for draft in &drafts {
        let keywords: Vec<&str> = draft["keywords"]
            .as_array()
            .map(|k| k.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        println!(
            "{:<38} {:<9} {:>3}  {:<60}  {}",
            draft["id"].as_str().unwrap_or(""),
            draft["status"].as_str().unwrap_or(""),
            draft["variant"],
            crate::posts_cmd::cut(draft["title"].as_str().unwrap_or(""), 60),
            keywords.join(", "),
        );
    }
}

fn print_draft(draft: &Value) {
    let draft = &crate::terminal::clean_value(draft);
    let text = |name: &str| draft[name].as_str().unwrap_or("").to_owned();
    println!(
        "{}  ({}, variant {})",
        text("id"),
        text("status"),
        draft["variant"]
    );
    println!("Title:       {}", text("title"));
    println!("Description: {}", text("description"));
    println!("Alt text:    {}", text("alt_text"));
    println!("Link:        {}", draft["link"].as_str().unwrap_or("—"));
    println!("Keywords:    {}", draft["keywords"]);
    println!(
        "Image:       {}×{} from crop {}",
        draft["image"]["width"], draft["image"]["height"], draft["image"]["crop"]
    );
    println!("Source:      {}", draft["source"]);
    println!("Written by:  {}", draft["generator"]);
    if let Some(post) = draft["post_id"].as_str() {
        println!("Post:        {post} (`pinline posts show {post}`)");
    }
}

/// The `image_url` or `image_base64` field for `--image`.
fn image_field(image: &str) -> anyhow::Result<(&'static str, String)> {
    if image.starts_with("http://") || image.starts_with("https://") {
        return Ok(("image_url", image.to_owned()));
    }
    let bytes = std::fs::read(image).with_context(|| {
        format!("--image `{image}` is neither an http(s) link nor a readable file")
    })?;
    Ok(("image_base64", STANDARD.encode(bytes)))
}

async fn save_images(client: &ApiClient, drafts: &[Value], dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create --save-images directory {}", dir.display()))?;
    for draft in drafts {
        let id = draft["id"].as_str().unwrap_or_default();
        // The id names a file: only an id's characters, so no answer can write elsewhere.
        if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            bail!(
                "the API answered a draft id that is not an id: {}",
                crate::terminal::clean(id)
            );
        }
        let bytes = client.get_bytes(&format!("/v1/drafts/{id}/image")).await?;
        let path = dir.join(format!("{id}.jpg"));
        std::fs::write(&path, bytes).with_context(|| format!("cannot write {}", path.display()))?;
        eprintln!("saved {}", path.display());
    }
    Ok(())
}

/// `pinline draft`.
pub async fn draft(args: DraftArgs) -> anyhow::Result<()> {
    if args.link.is_none() && args.text.is_none() && args.title.is_none() && args.image.is_none() {
        bail!("nothing to draft from: give a link, or --text, --title or --image");
    }
    if !(1..=5).contains(&args.count) {
        bail!("--count must be between 1 and 5");
    }
    let client = ApiClient::new(&args.api)?;
    let mut body = json!({ "count": args.count });
    for (name, value) in [
        ("url", &args.link),
        ("text", &args.text),
        ("title", &args.title),
    ] {
        if let Some(value) = value {
            body[name] = json!(value);
        }
    }
    if let Some(image) = &args.image {
        let (name, value) = image_field(image)?;
        body[name] = json!(value);
    }
    let made = client.send(Method::POST, "/v1/drafts", Some(&body)).await?;
    let drafts = made["items"].as_array().cloned().unwrap_or_default();
    if let Some(dir) = &args.save_images {
        save_images(&client, &drafts, dir).await?;
    }
    if args.api.json {
        println!("{}", crate::terminal::json(&made));
    } else {
        for (i, draft) in drafts.iter().enumerate() {
            if i > 0 {
                println!();
            }
            print_draft(draft);
        }
        eprintln!(
            "\npublish one with `pinline drafts publish DRAFT_ID --account ACCOUNT_ID --board NAME`"
        );
    }
    Ok(())
}

/// `pinline drafts …`.
pub async fn run(command: DraftsCommand) -> anyhow::Result<()> {
    match command {
        DraftsCommand::List { limit, api } => {
            let client = ApiClient::new(&api)?;
            let page = client
                .send(
                    Method::GET,
                    &format!("/v1/drafts?limit={}", limit.clamp(1, 100)),
                    None,
                )
                .await?;
            let items = page["items"].as_array().cloned().unwrap_or_default();
            if api.json {
                println!("{}", crate::terminal::json(&items));
            } else {
                print_table(&items);
            }
        }
        DraftsCommand::Show { draft_id, api } => {
            let client = ApiClient::new(&api)?;
            let draft = client
                .send(Method::GET, &format!("/v1/drafts/{draft_id}"), None)
                .await?;
            if api.json {
                println!("{}", crate::terminal::json(&draft));
            } else {
                print_draft(&draft);
            }
        }
        DraftsCommand::Publish {
            draft_id,
            account,
            board,
            board_id,
            publish_at,
            api,
        } => {
            let client = ApiClient::new(&api)?;
            let mut body = json!({ "account_id": account });
            for (name, value) in [
                ("board", &board),
                ("board_id", &board_id),
                ("publish_at", &publish_at),
            ] {
                if let Some(value) = value {
                    body[name] = json!(value);
                }
            }
            let post = client
                .send(
                    Method::POST,
                    &format!("/v1/drafts/{draft_id}/publish"),
                    Some(&body),
                )
                .await?;
            if api.json {
                println!("{}", crate::terminal::json(&post));
            } else {
                crate::posts_cmd::print_table(std::slice::from_ref(&post));
            }
        }
        DraftsCommand::Delete { draft_id, api } => {
            let client = ApiClient::new(&api)?;
            client
                .send(Method::DELETE, &format!("/v1/drafts/{draft_id}"), None)
                .await?;
            if !api.json {
                println!("deleted draft {draft_id}");
            }
        }
    }
    Ok(())
}
