//! The scorer behind `pinline bench drafts`: saved pages in, a table of checks out.
//!
//! A folder of saved pages with a `manifest.json` (each page's file, original address,
//! language, true title and key terms) is served on loopback exactly as saved, under the
//! pages' own host names: every absolute link in a page is pointed at the same host on this
//! machine's port, and a resolver answers every name with `127.0.0.1`, so nothing leaves the
//! machine and a page still reads as coming from its own site. Any address that is not a page
//! answers with a generated JPEG, standing in for the page's pictures.
//!
//! Each page is drafted through the whole [`Drafter`] pipeline and scored per page:
//!
//! | check | passes when |
//! | --- | --- |
//! | limits | every title ≤ 100, description ≤ 800 and alt text ≤ 500 characters |
//! | title | every title holds at least [`TITLE_RECALL`] of the true title's words |
//! | language | every draft's title and description read as the page's language |
//! | key terms | the drafts mention at least [`KEY_TERM_SHARE`] of the key terms |
//! | filler | no banned phrase ([`crate::quality::BANNED_PHRASES`]) anywhere |
//! | alt text | every alt text names something, none is a placeholder, no two are equal |
//! | variety | every two descriptions overlap under [`MAX_OVERLAP`] |
//! | image | every picture is a 1000×1500 JPEG |

use std::collections::HashMap;
use std::io::Cursor;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::Arc;

use serde::Deserialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::language::Language;
use crate::quality::{MAX_OVERLAP, filler_in, generic_alt, reads_as, word_overlap, word_set};
use crate::text::{ALT_TEXT_MAX_CHARS, DESCRIPTION_MAX_CHARS, TITLE_MAX_CHARS};
use crate::{
    Draft, DraftRequest, DraftSettings, Drafter, FetchPolicy, Fetcher, Generator, GeneratorUsed,
};

/// The share of the true title's words every draft title must hold.
pub const TITLE_RECALL: f64 = 0.5;
/// The share of a page's key terms the drafts together must mention.
pub const KEY_TERM_SHARE: f64 = 0.5;
/// How many drafts are made per page.
pub const DRAFTS_PER_PAGE: usize = 3;

/// The checks, in table order.
pub const CHECKS: [&str; 8] = [
    "limits",
    "title",
    "language",
    "key terms",
    "filler",
    "alt text",
    "variety",
    "image",
];

/// One page of the manifest.
#[derive(Debug, Clone, Deserialize)]
pub struct ExpectedPage {
    /// The saved page's file name.
    pub file: String,
    /// `recipe`, `article`, `product` or `other`.
    #[serde(default)]
    pub kind: String,
    /// The page's language (ISO 639-1).
    pub language: String,
    /// The page's true title.
    pub title: String,
    /// Terms a good description would mention; `a|b` means either.
    pub key_terms: Vec<String>,
    /// Where the page was saved from.
    pub original_url: String,
}

#[derive(Debug, Deserialize)]
struct Manifest {
    pages: Vec<ExpectedPage>,
}

/// How one page scored.
#[derive(Debug, Clone)]
pub struct PageScore {
    /// The page's file name.
    pub file: String,
    /// The page's language.
    pub language: String,
    /// Each of [`CHECKS`], passed or not.
    pub checks: [bool; 8],
    /// Why checks failed, and other notes.
    pub notes: Vec<String>,
    /// Who wrote the copy (`rules`, `chat`, or `rules after chat: <reason>`).
    pub generator: String,
    /// The drafts' copy, for reading beside the table.
    pub copy: Vec<String>,
}

impl PageScore {
    /// Whether every check passed.
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| *c)
    }
}

/// The scores of every page.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// One score per page, in manifest order.
    pub pages: Vec<PageScore>,
}

impl Report {
    /// How many pages passed every check.
    pub fn passed(&self) -> usize {
        self.pages.iter().filter(|p| p.passed()).count()
    }

    /// The table, in Markdown.
    pub fn table(&self) -> String {
        let mut out = String::from("| page | lang |");
        for check in CHECKS {
            out.push_str(&format!(" {check} |"));
        }
        out.push_str(" all | copy by |\n|---|---|");
        for _ in CHECKS {
            out.push_str("---|");
        }
        out.push_str("---|---|\n");
        for page in &self.pages {
            out.push_str(&format!(
                "| {} | {} |",
                page.file.trim_end_matches(".html"),
                page.language
            ));
            for passed in page.checks {
                out.push_str(if passed { " ✓ |" } else { " ✗ |" });
            }
            let generator = if page.generator.len() > 60 {
                format!("{}…", page.generator.chars().take(60).collect::<String>())
            } else {
                page.generator.clone()
            };
            out.push_str(&format!(
                " {} | {} |\n",
                if page.passed() { "pass" } else { "FAIL" },
                generator
            ));
        }
        out.push_str("| **total** | | ");
        for index in 0..CHECKS.len() {
            let count = self.pages.iter().filter(|p| p.checks[index]).count();
            out.push_str(&format!("{count}/{} | ", self.pages.len()));
        }
        out.push_str(&format!("**{}/{}** | |\n", self.passed(), self.pages.len()));
        out
    }

    /// Why each failing page failed, one line per page.
    pub fn failures(&self) -> String {
        self.pages
            .iter()
            .filter(|p| !p.passed())
            .map(|p| format!("- {}: {}\n", p.file, p.notes.join("; ")))
            .collect()
    }
}

/// Reads the manifest of a folder of saved pages.
pub fn read_manifest(dir: &Path) -> Result<Vec<ExpectedPage>, String> {
    let path = dir.join("manifest.json");
    let text = std::fs::read_to_string(&path)
        .map_err(|error| format!("could not read {}: {error}", path.display()))?;
    let manifest: Manifest = serde_json::from_str(&text)
        .map_err(|error| format!("{} is not a pages manifest: {error}", path.display()))?;
    Ok(manifest.pages)
}

/// Scores one page's drafts against what the manifest expects.
pub fn score_page(expected: &ExpectedPage, drafts: &[Draft]) -> PageScore {
    let mut notes = Vec::new();
    let language = Language::from_tag(&expected.language).unwrap_or_else(Language::english);
    let mut checks = [true; 8];

    checks[0] = drafts.iter().all(|d| {
        d.title.chars().count() <= TITLE_MAX_CHARS
            && d.description.chars().count() <= DESCRIPTION_MAX_CHARS
            && d.alt_text.chars().count() <= ALT_TEXT_MAX_CHARS
    });
    if !checks[0] {
        notes.push("over a limit".to_owned());
    }

    let true_words = word_set(&expected.title);
    for draft in drafts {
        let recall = recall(&true_words, &draft.title);
        if recall < TITLE_RECALL {
            checks[1] = false;
            notes.push(format!(
                "title {:?} holds {:.0}% of the true title",
                draft.title,
                recall * 100.0
            ));
        }
    }

    for draft in drafts {
        let text = format!("{} {}", draft.title, draft.description);
        if !reads_as(&text, &language) {
            checks[2] = false;
            let read = crate::language::detect_text(&text).map_or("?".to_owned(), |(l, _)| l.code);
            notes.push(format!(
                "a draft reads as {read}, not {}",
                expected.language
            ));
        }
    }

    let all_text: String = drafts
        .iter()
        .map(|d| format!("{} {} {}", d.title, d.description, d.alt_text))
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase();
    let mentioned: Vec<&String> = expected
        .key_terms
        .iter()
        .filter(|term| {
            term.split('|')
                .any(|t| mentions(&all_text, &t.to_lowercase()))
        })
        .collect();
    let share = mentioned.len() as f64 / expected.key_terms.len().max(1) as f64;
    if share < KEY_TERM_SHARE {
        checks[3] = false;
        let missing: Vec<&String> = expected
            .key_terms
            .iter()
            .filter(|t| !mentioned.contains(t))
            .collect();
        notes.push(format!(
            "key terms {}/{} (missing {missing:?})",
            mentioned.len(),
            expected.key_terms.len()
        ));
    }

    for draft in drafts {
        for text in [&draft.title, &draft.description, &draft.alt_text] {
            if let Some(phrase) = filler_in(text) {
                checks[4] = false;
                notes.push(format!("filler {phrase:?}"));
            }
        }
    }

    let title_and_name = format!(
        "{} {}",
        expected.title,
        drafts.first().map_or("", |d| d.title.as_str())
    );
    let subject_words = word_set(&title_and_name);
    for (index, draft) in drafts.iter().enumerate() {
        // A word of the subject, or one inflected from it ("terrariums" for "terrarium").
        let names_something = word_set(&draft.alt_text).iter().any(|w| {
            subject_words.iter().any(|s| {
                s == w
                    || (s.chars().count() >= 4
                        && w.chars().count() >= 4
                        && (w.starts_with(s.as_str()) || s.starts_with(w.as_str())))
            })
        });
        let repeated = drafts[..index].iter().any(|d| d.alt_text == draft.alt_text);
        if generic_alt(&draft.alt_text) || !names_something || repeated {
            checks[5] = false;
            notes.push(format!("alt text {:?}", draft.alt_text));
        }
    }

    for (i, a) in drafts.iter().enumerate() {
        for b in &drafts[i + 1..] {
            let overlap = word_overlap(&a.description, &b.description);
            if overlap >= MAX_OVERLAP {
                checks[6] = false;
                notes.push(format!("descriptions overlap {overlap:.2}"));
            }
        }
    }

    checks[7] = !drafts.is_empty()
        && drafts.iter().all(|d| {
            (d.image.width, d.image.height) == (1000, 1500)
                && d.image.jpeg.starts_with(&[0xFF, 0xD8])
        });
    if !checks[7] {
        notes.push("no 1000×1500 JPEG".to_owned());
    }

    let generator = match drafts.first().map(|d| &d.generator) {
        Some(GeneratorUsed::Rules) => "rules".to_owned(),
        Some(GeneratorUsed::Chat { model }) => format!("chat ({model})"),
        Some(GeneratorUsed::RulesAfterChatFailed { reason }) => {
            format!("rules after chat: {reason}")
        }
        None => "none".to_owned(),
    };
    PageScore {
        file: expected.file.clone(),
        language: expected.language.clone(),
        checks,
        notes,
        generator,
        copy: drafts
            .iter()
            .map(|d| format!("{}\n  {}\n  alt: {}", d.title, d.description, d.alt_text))
            .collect(),
    }
}

/// The share of `expected`'s words found in `text`.
fn recall(expected: &std::collections::HashSet<String>, text: &str) -> f64 {
    if expected.is_empty() {
        return 1.0;
    }
    let found = word_set(text);
    expected.iter().filter(|w| found.contains(*w)).count() as f64 / expected.len() as f64
}

/// Whether `text` mentions `term`: as a whole word (or words) in spaced scripts, anywhere in
/// unspaced ones; a plural or inflected ending counts ("tomate" in "tomates").
fn mentions(text: &str, term: &str) -> bool {
    if term.chars().any(crate::metadata::is_wide) {
        return text.contains(term);
    }
    let mut from = 0;
    while let Some(at) = text[from..].find(term) {
        let start = from + at;
        let before = text[..start].chars().next_back();
        if before.is_none_or(|c| !c.is_alphanumeric()) {
            return true;
        }
        from = start + term.len();
    }
    false
}

/// Every name resolves to this machine: the saved pages' sites are all served here.
#[derive(Debug)]
struct EverythingHere;

impl pinline_outbound::Lookup for EverythingHere {
    fn lookup(&self, _host: String) -> pinline_outbound::Lookingup {
        Box::pin(async { Ok(vec![IpAddr::V4(Ipv4Addr::LOCALHOST)]) })
    }

    fn answers_locally(&self) -> bool {
        true
    }
}

/// The saved pages, served on one loopback port under their own host names.
#[derive(Debug)]
pub struct SavedSite {
    address: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for SavedSite {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl SavedSite {
    /// Serves `pages` (original address → saved HTML) on `127.0.0.1`.
    pub async fn start(pages: Vec<(url::Url, String)>) -> Result<SavedSite, String> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|error| format!("could not listen on loopback: {error}"))?;
        let address = listener
            .local_addr()
            .map_err(|error| format!("no local address: {error}"))?;
        let port = address.port();
        let mut served: HashMap<(String, String), Arc<Vec<u8>>> = HashMap::new();
        for (url, html) in pages {
            let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
            let path = match url.query() {
                Some(query) => format!("{}?{query}", url.path()),
                None => url.path().to_owned(),
            };
            served.insert(
                (host, path),
                Arc::new(point_links_here(&html, port).into_bytes()),
            );
        }
        let served = Arc::new(served);
        let picture = Arc::new(stand_in_picture());
        let task = serve(listener, move |request: Request| {
            match served.get(&(request.host.clone(), request.path.clone())) {
                Some(page) => ("text/html; charset=utf-8", page.as_ref().clone()),
                None => ("image/jpeg", picture.as_ref().clone()),
            }
        });
        Ok(SavedSite { address, task })
    }

    /// The port the pages are served on.
    pub fn port(&self) -> u16 {
        self.address.port()
    }
}

/// One request as the loopback servers here see it.
#[derive(Debug)]
struct Request {
    /// The `Host` header without its port, lowercased.
    host: String,
    /// The path and query.
    path: String,
    /// The body.
    body: Vec<u8>,
}

/// Serves HTTP/1.1 on `listener`, one request per connection, answering every request with
/// `answer`'s content type and body.
fn serve(
    listener: TcpListener,
    answer: impl Fn(Request) -> (&'static str, Vec<u8>) + Send + Sync + 'static,
) -> tokio::task::JoinHandle<()> {
    let answer = Arc::new(answer);
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let answer = answer.clone();
            tokio::spawn(async move {
                let mut received = Vec::new();
                let mut buffer = [0u8; 8192];
                let head_end = loop {
                    if let Some(at) = received.windows(4).position(|w| w == b"\r\n\r\n") {
                        break at + 4;
                    }
                    if received.len() > 64 * 1024 {
                        return;
                    }
                    match stream.read(&mut buffer).await {
                        Ok(0) | Err(_) => return,
                        Ok(read) => received.extend_from_slice(&buffer[..read]),
                    }
                };
                let head = String::from_utf8_lossy(&received[..head_end]).into_owned();
                let header = |name: &str| {
                    head.lines().skip(1).find_map(|line| {
                        let (key, value) = line.split_once(':')?;
                        key.trim()
                            .eq_ignore_ascii_case(name)
                            .then(|| value.trim().to_owned())
                    })
                };
                let length: usize = header("content-length")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0)
                    .min(4 * 1024 * 1024);
                while received.len() < head_end + length {
                    match stream.read(&mut buffer).await {
                        Ok(0) | Err(_) => return,
                        Ok(read) => received.extend_from_slice(&buffer[..read]),
                    }
                }
                let host = header("host").unwrap_or_default();
                let host = host
                    .rsplit_once(':')
                    .map_or(host.as_str(), |(h, _)| h)
                    .to_ascii_lowercase();
                let path = head
                    .lines()
                    .next()
                    .and_then(|line| line.split_whitespace().nth(1))
                    .unwrap_or("/")
                    .to_owned();
                let body = received[head_end..head_end + length].to_vec();
                let (kind, body) = answer(Request { host, path, body });
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(head.as_bytes()).await;
                let _ = stream.write_all(&body).await;
                let _ = stream.shutdown().await;
            });
        }
    })
}

/// A stand-in for an OpenAI-compatible chat model on loopback, for the model path of the
/// scorer and its tests. It writes the way a careful model would be asked to: each draft from
/// its own share of the page's sentences and its own fact, with the page's name in the title
/// and its picture's description as alt text, so its copy is in the page's language without
/// knowing the language.
#[derive(Debug)]
pub struct ModelStub {
    address: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for ModelStub {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl ModelStub {
    /// Starts the stand-in on `127.0.0.1`.
    pub async fn start() -> Result<ModelStub, String> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|error| format!("could not listen on loopback: {error}"))?;
        let address = listener
            .local_addr()
            .map_err(|error| format!("no local address: {error}"))?;
        let task = serve(listener, |request: Request| {
            let answer = serde_json::from_slice::<serde_json::Value>(&request.body)
                .map(|body| stub_answer(&body))
                .unwrap_or_else(|_| serde_json::json!({"choices": []}));
            ("application/json", answer.to_string().into_bytes())
        });
        Ok(ModelStub { address, task })
    }

    /// The base URL to configure (`…/v1`).
    pub fn base_url(&self) -> url::Url {
        url::Url::parse(&format!("http://{}/v1", self.address))
            .expect("a socket address makes a valid URL")
    }
}

/// The stand-in's completion for one request.
fn stub_answer(body: &serde_json::Value) -> serde_json::Value {
    let request: serde_json::Value = body["messages"][1]["content"]
        .as_str()
        .and_then(|content| serde_json::from_str(content).ok())
        .unwrap_or_default();
    let idea = &request["idea"];
    let count = idea["angles"].as_array().map_or(1, Vec::len).max(1);
    let name = idea["name"].as_str().unwrap_or_default();
    let page_title = idea["page_title"].as_str().unwrap_or(name);
    let sentences: Vec<&str> = idea["page_sentences"]
        .as_array()
        .map(|all| all.iter().filter_map(serde_json::Value::as_str).collect())
        .unwrap_or_default();
    let mut facts: Vec<String> = Vec::new();
    for key in [
        "ingredients",
        "total_time",
        "price",
        "brand",
        "material",
        "venue",
        "performers",
        "author",
        "date",
        "place",
        "category",
        "cuisine",
        "servings",
        "colour",
        "topics",
    ] {
        match &idea["facts"][key] {
            serde_json::Value::String(text) => facts.push(text.clone()),
            serde_json::Value::Array(items) => {
                let items: Vec<&str> = items
                    .iter()
                    .filter_map(serde_json::Value::as_str)
                    .take(4)
                    .collect();
                if !items.is_empty() {
                    facts.push(items.join(", "));
                }
            }
            _ => {}
        }
    }
    let picture = idea["picture"].as_str();
    let drafts: Vec<serde_json::Value> = (0..count)
        .map(|index| {
            let fact = (!facts.is_empty()).then(|| facts[index % facts.len()].clone());
            let mut title = match (&fact, index) {
                (Some(fact), 1..) => format!("{page_title} – {fact}"),
                _ => page_title.to_owned(),
            };
            if title.chars().count() > TITLE_MAX_CHARS {
                title = page_title.to_owned();
            }
            let own: Vec<&str> = sentences
                .iter()
                .enumerate()
                .filter(|(i, _)| i % count == index)
                .map(|(_, s)| *s)
                .take(3)
                .collect();
            let mut parts: Vec<String> = fact.iter().map(|f| format!("{f}.")).collect();
            parts.extend(own.iter().map(|s| (*s).to_owned()));
            let mut description = parts.join(" ");
            if description.is_empty() {
                description = name.to_owned();
            }
            let alt = match (picture, &fact) {
                (Some(picture), _) if index == 0 => picture.to_owned(),
                (_, Some(fact)) => format!("{name} – {fact}"),
                _ => name.to_owned(),
            };
            serde_json::json!({"title": title, "description": description, "alt_text": alt})
        })
        .collect();
    let content = serde_json::json!({ "drafts": drafts }).to_string();
    serde_json::json!({
        "id": "stub",
        "object": "chat.completion",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}]
    })
}

/// Points every absolute `http(s)://host` link (also JSON-escaped `https:\/\/host`, and
/// scheme-relative `"//host`) at plain HTTP on `port` of the same host.
pub fn point_links_here(html: &str, port: u16) -> String {
    let mut out = String::with_capacity(html.len() + html.len() / 20);
    let mut rest = html;
    let patterns: [(&str, &str); 6] = [
        ("https://", "http://"),
        ("http://", "http://"),
        ("https:\\/\\/", "http:\\/\\/"),
        ("http:\\/\\/", "http:\\/\\/"),
        ("=\"//", "=\"http://"),
        ("='//", "='http://"),
    ];
    loop {
        let next = patterns
            .iter()
            .filter_map(|(pattern, replacement)| {
                rest.find(pattern).map(|at| (at, *pattern, *replacement))
            })
            .min_by_key(|(at, pattern, _)| (*at, usize::MAX - pattern.len()));
        let Some((at, pattern, replacement)) = next else {
            out.push_str(rest);
            return out;
        };
        out.push_str(&rest[..at]);
        out.push_str(replacement);
        rest = &rest[at + pattern.len()..];
        let host_len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '-'))
            .unwrap_or(rest.len());
        out.push_str(&rest[..host_len]);
        let has_port = rest[host_len..].starts_with(':')
            && rest[host_len + 1..].starts_with(|c: char| c.is_ascii_digit());
        if host_len > 0 && !has_port {
            out.push_str(&format!(":{port}"));
        }
        rest = &rest[host_len..];
    }
}

/// A 1200×1600 picture with enough detail for the cropper to choose windows.
fn stand_in_picture() -> Vec<u8> {
    let picture = image::RgbImage::from_fn(1200, 1600, |x, y| {
        let ring = ((x as i64 - 600).pow(2) + (y as i64 - 800).pow(2)) / 4000;
        image::Rgb([(x / 5) as u8, (y / 7) as u8, (ring % 256) as u8])
    });
    let mut bytes = Cursor::new(Vec::new());
    // Encoding a picture made here cannot fail; an empty body would only fail the image check.
    let _ = image::DynamicImage::ImageRgb8(picture).write_to(&mut bytes, image::ImageFormat::Jpeg);
    bytes.into_inner()
}

/// A chat generator that asks `stub`, for the model path of the scorer.
pub fn stand_in_generator(stub: &ModelStub) -> Result<crate::ChatGenerator, String> {
    crate::ChatGenerator::new(crate::ChatSettings {
        base_url: stub.base_url(),
        model: "stand-in".to_owned(),
        api_key: secrecy::SecretString::from("stand-in-key".to_owned()),
        timeout: std::time::Duration::from_secs(10),
    })
    .map_err(|error| error.to_string())
}

/// Drafts every page of the folder with `generator` and scores it.
pub async fn score_folder(dir: &Path, generator: Arc<dyn Generator>) -> Result<Report, String> {
    let expected = read_manifest(dir)?;
    score_pages(dir, &expected, generator).await
}

/// Drafts the `expected` pages of the folder with `generator` and scores them.
pub async fn score_pages(
    dir: &Path,
    expected: &[ExpectedPage],
    generator: Arc<dyn Generator>,
) -> Result<Report, String> {
    let mut pages = Vec::new();
    for page in expected {
        let url = url::Url::parse(&page.original_url)
            .map_err(|error| format!("{}: bad original_url: {error}", page.file))?;
        let bytes = std::fs::read(dir.join(&page.file))
            .map_err(|error| format!("could not read {}: {error}", page.file))?;
        pages.push((url, String::from_utf8_lossy(&bytes).into_owned()));
    }
    let site = SavedSite::start(pages).await?;
    let policy = FetchPolicy {
        allow_private: true,
        ..FetchPolicy::default()
    };
    let guard =
        pinline_outbound::Guard::new("saved pages", true).with_lookup(Arc::new(EverythingHere));
    let settings = DraftSettings {
        fetch: policy.clone(),
        ..DraftSettings::default()
    };
    let drafter = Drafter::with_fetcher(settings, Fetcher::with_guard(policy, guard), generator);
    let mut report = Report::default();
    for page in expected {
        let mut url = url::Url::parse(&page.original_url)
            .map_err(|error| format!("{}: bad original_url: {error}", page.file))?;
        let _ = url.set_scheme("http");
        let _ = url.set_port(Some(site.port()));
        let drafts = drafter
            .draft(DraftRequest {
                url: Some(url.to_string()),
                count: DRAFTS_PER_PAGE,
                ..DraftRequest::default()
            })
            .await;
        let score = match drafts {
            Ok(drafts) => score_page(page, &drafts),
            Err(error) => PageScore {
                file: page.file.clone(),
                language: page.language.clone(),
                checks: [false; 8],
                notes: vec![format!("no drafts: {error}")],
                generator: "none".to_owned(),
                copy: Vec::new(),
            },
        };
        report.pages.push(score);
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_point_at_the_local_port() {
        assert_eq!(
            point_links_here(
                r#"<img src="https://img.example/a.jpg"> "https:\/\/x.example\/b" src="//cdn.example/c.png""#,
                8080
            ),
            r#"<img src="http://img.example:8080/a.jpg"> "http:\/\/x.example:8080\/b" src="http://cdn.example:8080/c.png""#
        );
    }

    #[test]
    fn terms_are_found_as_words_or_their_inflections() {
        assert!(mentions("three ripe tomatoes", "tomato"));
        assert!(!mentions("potatoes", "tato"));
        assert!(mentions("簡単な温泉たまご", "温泉たまご"));
    }
}
