//! `pinline campaign IDEA` (one idea turned into pins over boards and days) and
//! `pinline campaign show|cancel ID`, through a running pinline's API.

use anyhow::bail;
use clap::{Args, Subcommand};
use reqwest::Method;
use serde_json::{Value, json};

use crate::api_client::{ApiArgs, ApiClient};

/// Settings of `pinline campaign`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct CampaignArgs {
    #[command(subcommand)]
    pub command: Option<CampaignCommand>,
    /// A page (product, article, recipe) the pins come from; or --text.
    #[arg(value_name = "URL")]
    pub link: Option<String>,
    /// A line of text describing the idea.
    #[arg(long)]
    pub text: Option<String>,
    /// The account that publishes (`pinline accounts list`); it needs time slots.
    #[arg(long)]
    pub account: Option<String>,
    /// A board by name or id; repeat it to take boards in turn.
    #[arg(long = "board", value_name = "BOARD")]
    pub boards: Vec<String>,
    /// How many pins (1–30).
    #[arg(long, default_value_t = 7)]
    pub pins: u32,
    /// Over how many days (1–90; default: as many as pins).
    #[arg(long)]
    pub days: Option<u32>,
    /// When the first day starts, RFC 3339 with an offset (default: now).
    #[arg(long)]
    pub start: Option<String>,
    #[command(flatten)]
    pub api: ApiArgs,
}

#[derive(Debug, Subcommand)]
pub enum CampaignCommand {
    /// Show a campaign's pins and when each goes.
    Show {
        campaign_id: String,
        #[command(flatten)]
        api: ApiArgs,
    },
    /// Cancel every pin of a campaign that has not published.
    Cancel {
        campaign_id: String,
        #[command(flatten)]
        api: ApiArgs,
    },
}

pub const CAMPAIGN_EXAMPLES: &str = "\
Examples:
  pinline campaign https://shop.example/lemon-tart --account 0192… --board Recipes --board Desserts
  pinline campaign https://shop.example/lemon-tart --account 0192… --board Recipes --pins 14 --days 7
  pinline campaign show 0193…
  pinline campaign cancel 0193…";

/// One line per pin: when it goes, where, and its title (or why it was refused).
fn print_campaign(campaign: &Value) {
    let campaign = crate::terminal::clean_value(campaign);
    println!(
        "campaign {} ({}): {} of {} pins queued",
        campaign["id"].as_str().unwrap_or(""),
        campaign["status"].as_str().unwrap_or(""),
        campaign["accepted"],
        campaign["pins_requested"],
    );
    println!(
        "{:>3}  {:<25} {:<10} {:<20}  TITLE",
        "#", "GOES", "STATUS", "BOARD"
    );
    for pin in campaign["pins"].as_array().into_iter().flatten() {
        let post = &pin["post"];
        if post.is_object() {
            println!(
                "{:>3}  {:<25} {:<10} {:<20}  {}",
                pin["position"],
                post["expected_publish_at"]
                    .as_str()
                    .or(post["publish_at"].as_str())
                    .unwrap_or("—"),
                post["status"].as_str().unwrap_or(""),
                pin["board_id"].as_str().unwrap_or(""),
                crate::posts_cmd::cut(post["title"].as_str().unwrap_or(""), 60),
            );
        } else {
            println!(
                "{:>3}  refused: {} ({})",
                pin["position"],
                pin["error"]["message"].as_str().unwrap_or(""),
                pin["error"]["code"].as_str().unwrap_or(""),
            );
        }
    }
}

fn answer(api: &ApiArgs, campaign: &Value) {
    if api.json {
        println!("{}", crate::terminal::json(campaign));
    } else {
        print_campaign(campaign);
    }
}

/// `pinline campaign …`.
pub async fn run(args: CampaignArgs) -> anyhow::Result<()> {
    match args.command {
        Some(CampaignCommand::Show { campaign_id, api }) => {
            let client = ApiClient::new(&api)?;
            let shown = client
                .send(Method::GET, &format!("/v1/campaigns/{campaign_id}"), None)
                .await?;
            answer(&api, &shown);
            return Ok(());
        }
        Some(CampaignCommand::Cancel { campaign_id, api }) => {
            let client = ApiClient::new(&api)?;
            let canceled = client
                .send(
                    Method::DELETE,
                    &format!("/v1/campaigns/{campaign_id}"),
                    None,
                )
                .await?;
            answer(&api, &canceled);
            return Ok(());
        }
        None => {}
    }
    if args.link.is_none() && args.text.is_none() {
        bail!("nothing to make pins from: give a page link, or --text");
    }
    let Some(account) = &args.account else {
        bail!("--account is required: the id from `pinline accounts list`");
    };
    if args.boards.is_empty() {
        bail!("--board is required (repeat it for several boards)");
    }
    let mut body = json!({
        "account_id": account,
        "boards": args.boards,
        "pins": args.pins,
    });
    for (name, value) in [
        ("url", &args.link),
        ("text", &args.text),
        ("start", &args.start),
    ] {
        if let Some(value) = value {
            body[name] = json!(value);
        }
    }
    if let Some(days) = args.days {
        body["days"] = json!(days);
    }
    let client = ApiClient::new(&args.api)?;
    let made = client
        .send(Method::POST, "/v1/campaigns", Some(&body))
        .await?;
    answer(&args.api, &made);
    Ok(())
}
