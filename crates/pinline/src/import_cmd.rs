//! `pinline import FILE.csv`: schedule many pins at once, all or none.
//!
//! 1. Every row is checked locally (required fields, Pinterest's length limits, URLs, times);
//!    any bad row is reported as `line N: reason` and nothing is sent.
//! 2. Unless `--dry-run`: the accounts and boards the rows name are checked against the running
//!    pinline; again, any bad row means nothing is sent.
//! 3. The rows go to `POST /v1/posts/batch` in chunks of at most 500, each with an
//!    `Idempotency-Key` derived from the chunk's content, so running the same import again
//!    (after a network failure, say) does not post twice.

use std::collections::{HashMap, HashSet};
use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;
use pinline_pinterest::PinText;
use pinline_pinterest::facts::is_pinterest_id;
use pinline_pinterest::pin_text::is_http_url;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::api_client::ApiArgs;

/// Most posts per batch request (the API's limit).
pub const CHUNK_MAX: usize = 500;

const COLUMNS: [&str; 9] = [
    "account_id",
    "board",
    "board_id",
    "title",
    "description",
    "link",
    "alt_text",
    "image_url",
    "publish_at",
];

/// Optional columns: the board section by name, and a carousel of 2–5 images, image N with its
/// own title, description and link (a row gives `image_url` or `image_url_1`, `image_url_2`, …).
const MORE_COLUMNS: [&str; 21] = [
    "board_section",
    "image_url_1",
    "image_title_1",
    "image_description_1",
    "image_link_1",
    "image_url_2",
    "image_title_2",
    "image_description_2",
    "image_link_2",
    "image_url_3",
    "image_title_3",
    "image_description_3",
    "image_link_3",
    "image_url_4",
    "image_title_4",
    "image_description_4",
    "image_link_4",
    "image_url_5",
    "image_title_5",
    "image_description_5",
    "image_link_5",
];

/// Images a carousel row may have.
const CAROUSEL_MAX: usize = 5;

/// Settings of `pinline import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The CSV file. Header row with the columns account_id, board or board_id, title,
    /// description, link, alt_text, image_url, publish_at (RFC 3339; empty means now), and
    /// optionally board_section (a name) and, for a carousel instead of image_url,
    /// image_url_N, image_title_N, image_description_N, image_link_N for N = 1…5.
    pub file: PathBuf,
    /// Check every row (locally only) and report; send nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Posts per batch request (1–500).
    #[arg(long, default_value_t = CHUNK_MAX)]
    pub chunk_size: usize,
    #[command(flatten)]
    pub api: ApiArgs,
}

/// One valid row: its line in the file and the post to send.
#[derive(Debug, Clone)]
struct Row {
    line: u64,
    post: Value,
}

/// A row that cannot be sent, and why.
#[derive(Debug, Clone)]
struct BadRow {
    line: u64,
    reason: String,
}

fn field<'a>(
    record: &'a csv::StringRecord,
    columns: &HashMap<&str, usize>,
    name: &str,
) -> Option<&'a str> {
    columns
        .get(name)
        .and_then(|&i| record.get(i))
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// Checks one row; returns the post to send.
fn validate_row(
    record: &csv::StringRecord,
    columns: &HashMap<&str, usize>,
) -> Result<Value, String> {
    let get = |name: &str| field(record, columns, name);
    let account_id = get("account_id").ok_or("account_id is empty")?;
    let mut post = json!({"account_id": account_id});
    match (get("board_id"), get("board")) {
        (Some(_), Some(_)) => return Err("give board_id or board, not both".into()),
        (Some(id), None) if is_pinterest_id(id) => post["board_id"] = json!(id),
        (Some(id), None) => {
            return Err(format!(
                "board_id `{id}` is not a board id (digits); put a board name in the board column"
            ));
        }
        (None, Some(name)) => post["board"] = json!(name),
        (None, None) => return Err("board_id (or board, a board name) is empty".into()),
    }
    // The same check as the API's, so a file that passes here passes there.
    for text in PinText::ALL {
        if let Some(value) = text.check(get(text.field())).map_err(|e| e.message)? {
            post[text.field()] = json!(value);
        }
    }
    if let Some(section) = get("board_section") {
        post["board_section"] = json!(section);
    }
    let images = carousel(&get)?;
    match (get("image_url"), images.is_empty()) {
        (Some(_), false) => {
            return Err(
                "give image_url or image_url_1, image_url_2, … (a carousel), not both".into(),
            );
        }
        (Some(image), true) => {
            if !is_http_url(image) {
                return Err(format!("image_url `{image}` is not an http(s) URL"));
            }
            post["image_url"] = json!(image);
        }
        (None, false) => post["images"] = json!(images),
        (None, true) => return Err("image_url is empty".into()),
    }
    if let Some(at) = get("publish_at") {
        time::OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339).map_err(
            |_| {
                format!(
                    "publish_at `{at}` is not an RFC 3339 time with an offset, such as 2026-12-01T09:30:00+01:00"
                )
            },
        )?;
        post["publish_at"] = json!(at);
    }
    Ok(post)
}

/// The carousel a row gives in its `image_*_N` columns (empty when it gives none), checked as
/// the API checks it.
fn carousel<'a>(get: &impl Fn(&str) -> Option<&'a str>) -> Result<Vec<Value>, String> {
    let mut images = Vec::new();
    for n in 1..=CAROUSEL_MAX {
        let copy = [
            (PinText::Title, format!("image_title_{n}")),
            (PinText::Description, format!("image_description_{n}")),
            (PinText::Link, format!("image_link_{n}")),
        ];
        let Some(url) = get(&format!("image_url_{n}")) else {
            if let Some((_, column)) = copy.iter().find(|(_, column)| get(column).is_some()) {
                return Err(format!("{column} is given but image_url_{n} is empty"));
            }
            continue;
        };
        if images.len() + 1 != n {
            return Err(format!(
                "image_url_{n} is given but image_url_{} is empty",
                images.len() + 1
            ));
        }
        if !is_http_url(url) {
            return Err(format!("image_url_{n} `{url}` is not an http(s) URL"));
        }
        let mut image = json!({"url": url});
        for (text, column) in copy {
            if let Some(value) = text
                .check(get(&column))
                .map_err(|e| format!("{column}: {}", e.message))?
            {
                image[text.field()] = json!(value);
            }
        }
        images.push(image);
    }
    if images.len() == 1 {
        return Err("a carousel needs at least image_url_1 and image_url_2".into());
    }
    Ok(images)
}

/// Reads and checks the whole file.
fn read_rows(file: &PathBuf) -> anyhow::Result<(Vec<Row>, Vec<BadRow>)> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(file)
        .with_context(|| format!("cannot read {}", file.display()))?;
    let headers = reader
        .headers()
        .with_context(|| format!("{}: cannot read the header row", file.display()))?
        .clone();
    let mut columns = HashMap::new();
    for (index, name) in headers.iter().enumerate() {
        let name = name
            .trim()
            .trim_start_matches('\u{feff}')
            .to_ascii_lowercase();
        let Some(known) = COLUMNS.iter().chain(&MORE_COLUMNS).find(|c| **c == name) else {
            bail!(
                "{}: line 1: unknown column `{name}`; the columns are {}, and optionally board_section and image_url_N, image_title_N, image_description_N, image_link_N (N = 1…5) for a carousel",
                file.display(),
                COLUMNS.join(", ")
            );
        };
        if columns.insert(*known, index).is_some() {
            bail!("{}: line 1: column `{name}` appears twice", file.display());
        }
    }
    if !columns.contains_key("image_url") && !columns.contains_key("image_url_1") {
        bail!(
            "{}: line 1: the header has no `image_url` column (nor `image_url_1`, … for carousels)",
            file.display()
        );
    }
    for required in ["account_id"] {
        if !columns.contains_key(required) {
            bail!(
                "{}: line 1: the header has no `{required}` column",
                file.display()
            );
        }
    }
    if !columns.contains_key("board") && !columns.contains_key("board_id") {
        bail!(
            "{}: line 1: the header needs a `board_id` or a `board` column",
            file.display()
        );
    }
    let (mut rows, mut bad) = (Vec::new(), Vec::new());
    for result in reader.records() {
        match result {
            Ok(record) => {
                let line = record.position().map_or(0, csv::Position::line);
                if record.len() != headers.len() {
                    bad.push(BadRow {
                        line,
                        reason: format!(
                            "{} fields, but the header has {}",
                            record.len(),
                            headers.len()
                        ),
                    });
                    continue;
                }
                match validate_row(&record, &columns) {
                    Ok(post) => rows.push(Row { line, post }),
                    Err(reason) => bad.push(BadRow { line, reason }),
                }
            }
            Err(error) => {
                let line = error.position().map_or(0, csv::Position::line);
                bad.push(BadRow {
                    line,
                    reason: format!("not valid CSV: {error}"),
                });
            }
        }
    }
    Ok((rows, bad))
}

/// pinline's API with the headers an import needs.
struct Api {
    http: reqwest::Client,
    base: String,
    key: String,
}

impl Api {
    fn new(args: &ApiArgs) -> anyhow::Result<Api> {
        let Some(key) = args.api_key.clone().filter(|k| !k.is_empty()) else {
            bail!(
                "no API key: pass --api-key or set PINLINE_API_KEY (create one with `pinline keys create --profile NAME`)"
            );
        };
        Ok(Api {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(300))
                .build()
                .context("while setting up the HTTP client")?,
            base: args.url.trim_end_matches('/').to_owned(),
            key,
        })
    }

    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
        idempotency_key: Option<&str>,
    ) -> anyhow::Result<Value> {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.key);
        if let Some(body) = body {
            request = request.json(body);
        }
        if let Some(key) = idempotency_key {
            request = request.header("Idempotency-Key", key);
        }
        let response = request.send().await.with_context(|| {
            format!(
                "cannot reach pinline at {} (is `pinline serve` running? set --url or PINLINE_URL)",
                self.base
            )
        })?;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        let json: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if status.is_success() {
            return Ok(json);
        }
        bail!(
            "{} ({}, HTTP {})",
            json["error"]["message"].as_str().unwrap_or(text.as_str()),
            json["error"]["code"].as_str().unwrap_or("error"),
            status.as_u16()
        )
    }
}

/// Checks the rows' accounts and boards against the running pinline.
async fn check_remote(api: &Api, rows: &[Row]) -> anyhow::Result<Vec<BadRow>> {
    let accounts = api
        .send(reqwest::Method::GET, "/v1/accounts", None, None)
        .await?;
    let statuses: HashMap<String, String> = accounts["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|a| {
            (
                a["id"].as_str().unwrap_or("").to_owned(),
                a["status"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    let mut boards: HashMap<String, Result<BoardSet, String>> = HashMap::new();
    let mut bad = Vec::new();
    for row in rows {
        let account = row.post["account_id"].as_str().unwrap_or("");
        let Some(status) = statuses.get(account) else {
            bad.push(BadRow {
                line: row.line,
                reason: format!(
                    "no account `{account}` in this profile (`pinline accounts list` shows them)"
                ),
            });
            continue;
        };
        if status != "active" && status != "refreshing" {
            // Posts for an account that needs reconnecting are held by the server; only an id
            // can be checked then, and the server does that.
            if row.post["board"].is_string() {
                bad.push(BadRow {
                    line: row.line,
                    reason: format!(
                        "account `{account}` is {status}: a board name cannot be resolved until it is reconnected; use board_id"
                    ),
                });
            }
            continue;
        }
        if !boards.contains_key(account) {
            let listed = list_boards(api, account).await;
            boards.insert(account.to_owned(), listed);
        }
        match boards.get(account) {
            Some(Ok((ids, names))) => {
                if let Some(id) = row.post["board_id"].as_str()
                    && !ids.contains(id)
                {
                    bad.push(BadRow {
                        line: row.line,
                        reason: format!("account `{account}` has no board with id {id}"),
                    });
                }
                if let Some(name) = row.post["board"].as_str()
                    && !names.contains(name)
                {
                    bad.push(BadRow {
                        line: row.line,
                        reason: format!("account `{account}` has no board named `{name}`"),
                    });
                }
            }
            Some(Err(error)) => bad.push(BadRow {
                line: row.line,
                reason: format!("cannot list the boards of account `{account}`: {error}"),
            }),
            None => {}
        }
    }
    Ok(bad)
}

/// A user's board ids and names.
type BoardSet = (HashSet<String>, HashSet<String>);

async fn list_boards(api: &Api, account: &str) -> Result<BoardSet, String> {
    let (mut ids, mut names) = (HashSet::new(), HashSet::new());
    let mut bookmark: Option<String> = None;
    loop {
        let mut path = format!("/v1/accounts/{account}/boards?page_size=250");
        if let Some(bookmark) = &bookmark {
            path.push_str(&format!("&bookmark={bookmark}"));
        }
        let page = api
            .send(reqwest::Method::GET, &path, None, None)
            .await
            .map_err(|e| format!("{e:#}"))?;
        for board in page["items"].as_array().into_iter().flatten() {
            ids.insert(board["id"].as_str().unwrap_or("").to_owned());
            names.insert(board["name"].as_str().unwrap_or("").to_owned());
        }
        bookmark = page["bookmark"]
            .as_str()
            .filter(|b| !b.is_empty())
            .map(str::to_owned);
        if bookmark.is_none() {
            return Ok((ids, names));
        }
    }
}

fn report_bad(
    file: &std::path::Path,
    bad: &[BadRow],
    total: usize,
    json: bool,
) -> anyhow::Result<()> {
    if json {
        let items: Vec<Value> = bad
            .iter()
            .map(|b| json!({"line": b.line, "reason": b.reason}))
            .collect();
        println!(
            "{}",
            crate::terminal::json(&json!({"submitted": 0, "invalid": items}))
        );
    }
    for row in bad {
        eprintln!(
            "{}: line {}: {}",
            file.display(),
            row.line,
            crate::terminal::clean(&row.reason)
        );
    }
    bail!(
        "{} of {total} rows are invalid; nothing was submitted (fix them and run the import again)",
        bad.len()
    )
}

pub async fn run(args: ImportArgs) -> anyhow::Result<()> {
    if !(1..=CHUNK_MAX).contains(&args.chunk_size) {
        bail!("--chunk-size must be between 1 and {CHUNK_MAX}");
    }
    let (rows, mut bad) = read_rows(&args.file)?;
    let total = rows.len() + bad.len();
    if total == 0 {
        bail!("{}: no rows below the header", args.file.display());
    }
    if !bad.is_empty() {
        bad.sort_by_key(|b| b.line);
        return report_bad(&args.file, &bad, total, args.api.json);
    }
    if args.dry_run {
        if args.api.json {
            println!(
                "{}",
                serde_json::to_string_pretty(
                    &json!({"valid": rows.len(), "invalid": [], "submitted": 0})
                )?
            );
        } else {
            println!(
                "All {} rows are valid (checked locally; accounts and boards are checked when you import). Nothing was submitted (--dry-run).",
                rows.len()
            );
        }
        return Ok(());
    }
    let api = Api::new(&args.api)?;
    let mut bad = check_remote(&api, &rows).await?;
    if !bad.is_empty() {
        bad.sort_by_key(|b| b.line);
        return report_bad(&args.file, &bad, total, args.api.json);
    }

    let progress = if std::io::stderr().is_terminal() && !args.api.json {
        let bar = indicatif::ProgressBar::new(rows.len() as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} [{bar:40}] {pos}/{len} posts ({eta})",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        Some(bar)
    } else {
        None
    };
    let (mut created, mut existing) = (0usize, 0usize);
    let mut refused = Vec::new();
    let mut ids = Vec::new();
    for chunk in rows.chunks(args.chunk_size) {
        let body = json!({"posts": chunk.iter().map(|r| r.post.clone()).collect::<Vec<_>>()});
        let key = format!(
            "import-{}",
            &hex::encode(Sha256::digest(body.to_string().as_bytes()))[..40]
        );
        let answer = match api
            .send(
                reqwest::Method::POST,
                "/v1/posts/batch",
                Some(&body),
                Some(&key),
            )
            .await
        {
            Ok(answer) => answer,
            Err(error) => {
                if let Some(bar) = &progress {
                    bar.abandon();
                }
                return Err(error.context(format!(
                    "while submitting rows from line {} ({created} posts were accepted before; running the same import again does not duplicate them)",
                    chunk.first().map_or(0, |r| r.line)
                )));
            }
        };
        for result in answer["results"].as_array().into_iter().flatten() {
            let index = result["index"].as_u64().unwrap_or(0) as usize;
            let line = chunk.get(index).map_or(0, |r| r.line);
            match result["status"].as_u64() {
                Some(202) => created += 1,
                Some(200) => existing += 1,
                _ => {
                    refused.push(BadRow {
                        line,
                        reason: result["error"]["message"]
                            .as_str()
                            .unwrap_or("refused")
                            .to_owned(),
                    });
                    continue;
                }
            }
            if let Some(id) = result["post"]["id"].as_str() {
                ids.push(id.to_owned());
            }
        }
        if let Some(bar) = &progress {
            bar.inc(chunk.len() as u64);
        }
    }
    if let Some(bar) = &progress {
        bar.finish_and_clear();
    }
    if args.api.json {
        let refused_json: Vec<Value> = refused
            .iter()
            .map(|b| json!({"line": b.line, "reason": b.reason}))
            .collect();
        println!(
            "{}",
            crate::terminal::json(&json!({
                "submitted": rows.len(),
                "created": created,
                "already_imported": existing,
                "refused": refused_json,
                "post_ids": ids,
            }))
        );
    } else {
        println!(
            "Imported {} posts from {} ({created} new, {existing} already imported before).",
            created + existing,
            args.file.display()
        );
    }
    if !refused.is_empty() {
        for row in &refused {
            eprintln!(
                "{}: line {}: refused: {}",
                args.file.display(),
                row.line,
                crate::terminal::clean(&row.reason)
            );
        }
        bail!(
            "{} rows were refused by pinline (see above); the others were accepted",
            refused.len()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn columns() -> HashMap<&'static str, usize> {
        COLUMNS.iter().enumerate().map(|(i, c)| (*c, i)).collect()
    }

    fn record(values: [&str; 9]) -> csv::StringRecord {
        csv::StringRecord::from(values.to_vec())
    }

    #[test]
    fn a_good_row_becomes_a_post() {
        let post = validate_row(
            &record([
                "acc",
                "",
                "123",
                "Title",
                "",
                "https://e.com",
                "",
                "https://e.com/i.jpg",
                "2030-01-01T00:00:00Z",
            ]),
            &columns(),
        )
        .expect("valid");
        assert_eq!(post["board_id"], json!("123"));
        assert_eq!(post["publish_at"], json!("2030-01-01T00:00:00Z"));
        assert!(post.get("description").is_none());
    }

    #[test]
    fn carousel_columns_become_images() {
        let names = [
            "account_id",
            "board_id",
            "board_section",
            "image_url_1",
            "image_title_1",
            "image_url_2",
            "image_link_2",
            "image_description_3",
        ];
        let columns: HashMap<&str, usize> = names
            .iter()
            .map(|n| {
                *COLUMNS
                    .iter()
                    .chain(&MORE_COLUMNS)
                    .find(|c| *c == n)
                    .expect("known")
            })
            .enumerate()
            .map(|(i, c)| (c, i))
            .collect();
        let row = |values: [&str; 8]| csv::StringRecord::from(values.to_vec());
        let post = validate_row(
            &row([
                "a",
                "1",
                "Desserts",
                "https://e.com/1.jpg",
                "One",
                "https://e.com/2.jpg",
                "https://e.com/two",
                "",
            ]),
            &columns,
        )
        .expect("valid");
        assert_eq!(post["board_section"], json!("Desserts"));
        assert_eq!(
            post["images"],
            json!([
                {"url": "https://e.com/1.jpg", "title": "One"},
                {"url": "https://e.com/2.jpg", "link": "https://e.com/two"},
            ])
        );
        for (values, reason) in [
            (
                ["a", "1", "", "https://e.com/1.jpg", "", "", "", ""],
                "at least",
            ),
            (
                ["a", "1", "", "", "", "https://e.com/2.jpg", "", ""],
                "image_url_1 is empty",
            ),
            (
                [
                    "a",
                    "1",
                    "",
                    "https://e.com/1.jpg",
                    "",
                    "https://e.com/2.jpg",
                    "",
                    "Three",
                ],
                "image_description_3",
            ),
            (
                [
                    "a",
                    "1",
                    "",
                    "https://e.com/1.jpg",
                    "",
                    "https://e.com/2.jpg",
                    "two",
                    "",
                ],
                "image_link_2",
            ),
        ] {
            let error = validate_row(&row(values), &columns).expect_err("invalid");
            assert!(error.contains(reason), "{error} should mention {reason}");
        }
    }

    #[test]
    fn bad_rows_say_why() {
        let long = "x".repeat(101);
        for (row, reason) in [
            (
                ["", "", "1", "", "", "", "", "https://e.com/i.jpg", ""],
                "account_id",
            ),
            (
                ["a", "b", "1", "", "", "", "", "https://e.com/i.jpg", ""],
                "not both",
            ),
            (
                ["a", "", "abc", "", "", "", "", "https://e.com/i.jpg", ""],
                "digits",
            ),
            (
                ["a", "", "1", &long, "", "", "", "https://e.com/i.jpg", ""],
                "at most 100",
            ),
            (
                [
                    "a",
                    "",
                    "1",
                    "",
                    "",
                    "ftp://x",
                    "",
                    "https://e.com/i.jpg",
                    "",
                ],
                "link",
            ),
            (["a", "", "1", "", "", "", "", "", ""], "image_url"),
            (
                [
                    "a",
                    "",
                    "1",
                    "",
                    "",
                    "",
                    "",
                    "https://e.com/i.jpg",
                    "tomorrow",
                ],
                "RFC 3339",
            ),
        ] {
            let error = validate_row(&record(row), &columns()).expect_err("invalid");
            assert!(error.contains(reason), "{error} should mention {reason}");
        }
    }

    mod properties {
        use std::io::Write;

        use proptest::prelude::*;

        use super::*;

        fn read(content: &[u8]) -> anyhow::Result<(Vec<Row>, Vec<BadRow>)> {
            let mut file = tempfile::NamedTempFile::new().expect("temp file");
            file.write_all(content).expect("write");
            read_rows(&file.path().to_path_buf())
        }

        /// A valid row: account, board id, a title and an image.
        fn good_row() -> impl Strategy<Value = [String; 4]> {
            (
                "[a-z0-9-]{1,20}",
                "[0-9]{1,18}",
                "[^\\x00-\\x1f\\x7f]{0,100}",
                "[a-z0-9]{1,20}",
            )
                .prop_map(|(account, board, title, image)| {
                    [
                        account,
                        board,
                        title,
                        format!("https://cdn.example/{image}.jpg"),
                    ]
                })
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]

            /// Any bytes at all: an answer (rows, bad rows with their lines, or a message),
            /// never a panic.
            #[test]
            fn any_file_is_answered(content in prop::collection::vec(any::<u8>(), 0..4096)) {
                if let Ok((rows, bad)) = read(&content) {
                    for row in &rows {
                        prop_assert!(row.line >= 2);
                    }
                    for row in &bad {
                        prop_assert!(!row.reason.is_empty());
                    }
                }
            }

            /// A file of valid rows with one row spoiled: exactly that row is reported, with
            /// its line number, and every other row is accepted as written.
            #[test]
            fn one_bad_row_is_found_by_its_line(
                rows in prop::collection::vec(good_row(), 1..30),
                spoil in any::<prop::sample::Index>(),
                how in 0usize..4,
            ) {
                let spoiled = spoil.index(rows.len());
                let mut writer = csv::Writer::from_writer(Vec::new());
                writer
                    .write_record(["account_id", "board_id", "title", "image_url"])
                    .expect("header");
                for (i, row) in rows.iter().enumerate() {
                    let mut row = row.clone();
                    if i == spoiled {
                        match how {
                            0 => row[0].clear(),
                            1 => row[1] = "Recipes".into(),
                            2 => row[2] = "x".repeat(101),
                            _ => row[3] = "ftp://cdn.example/a.jpg".into(),
                        }
                    }
                    writer.write_record(&row).expect("row");
                }
                let content = writer.into_inner().expect("csv");
                let (good, bad) = read(&content).expect("a readable file");
                prop_assert_eq!(bad.len(), 1, "{:?}", bad);
                prop_assert_eq!(good.len(), rows.len() - 1);
                // Line 1 is the header; titles hold no newlines, so row i is on line i + 2.
                prop_assert_eq!(bad[0].line, spoiled as u64 + 2);
                for row in &good {
                    let source = &rows[row.line as usize - 2];
                    prop_assert_eq!(row.post["account_id"].as_str(), Some(source[0].trim()));
                    prop_assert_eq!(row.post["board_id"].as_str(), Some(source[1].as_str()));
                }
            }
        }
    }
}
