//! Pin drafts: one idea in, Pinterest-native pin drafts out.
//!
//! An idea is a link, a line of text (with or without a title), or an image — uploaded bytes or
//! an image link — or any mix of these. [`Drafter::draft`] turns it into one to five
//! [`Draft`]s, each a complete pin ready for review: title, description, alt text, keywords,
//! link, and a 1000×1500 JPEG.
//!
//! # Pipeline
//!
//! 1. **Fetch** ([`fetch`]): a link is fetched under a [`FetchPolicy`] — size caps, one
//!    deadline, hand-followed redirects with loop detection, http(s) only, and every hop's
//!    addresses checked and pinned so that private networks cannot be reached.
//! 2. **Read** ([`metadata`]): OpenGraph (with its product and article tags), Twitter card,
//!    `<title>`, meta description and keywords, canonical link, the document's language,
//!    schema.org entities from JSON-LD and microdata (the most specific one is what the page is
//!    about), and the pictures and paragraphs of the main content become one
//!    [`PageMetadata`], its text decoded once. A text-only idea becomes metadata too.
//! 3. **Picture** ([`image_prep`]): the image given, or else the page's best image that
//!    fetches and decodes (only once its header shows it fits the decoding limits), is shrunk
//!    when far larger than needed, turned upright, cropped to 2:3 around its most detailed region
//!    (a different window per draft when the picture allows), resized to 1000×1500 and encoded
//!    as a JPEG under a size cap.
//! 4. **Write** ([`text`]): a [`Generator`] writes one piece of copy per draft, each from a
//!    different angle and in the page's [`language`], cut to Pinterest's limits at word
//!    boundaries. [`RuleGenerator`] is built in; [`ChatGenerator`] asks an OpenAI-compatible
//!    model and uses its answer only when it passes the [`quality`] rules, falling back to the
//!    rules otherwise.
//!
//! Steps 3 and 4 run concurrently. Parsing a page and preparing an image run on the drafter's
//! own work threads, so that they do not stall the async runtime, and take a turn from one small
//! semaphore per [`Drafter`] ([`DraftSettings::parallel_work`] turns and threads, one by
//! default), so that however many drafts are asked for at once, the memory and cores they use
//! stay bounded. The whole of
//! [`Drafter::draft`] has one deadline ([`DraftSettings::request_timeout`]): fetches, waiting
//! for a turn and writing the copy all count against it. The crate stores nothing and knows no
//! HTTP handlers: callers decide what to do with the drafts.
//!
//! ```no_run
//! # async fn example() -> Result<(), pinline_drafts::DraftError> {
//! use std::sync::Arc;
//! use pinline_drafts::{DraftRequest, DraftSettings, Drafter, RuleGenerator};
//!
//! let drafter = Drafter::new(DraftSettings::default(), Arc::new(RuleGenerator));
//! let drafts = drafter
//!     .draft(DraftRequest {
//!         url: Some("https://example.invalid/lemon-tart".to_owned()),
//!         count: 3,
//!         ..DraftRequest::default()
//!     })
//!     .await?;
//! for draft in &drafts {
//!     println!("{} ({} bytes of JPEG)", draft.title, draft.image.jpeg.len());
//! }
//! # Ok(())
//! # }
//! ```

mod decode_cost;
mod error;
pub mod fetch;
pub mod image_prep;
pub mod language;
pub mod metadata;
pub mod quality;
pub mod scorecard;
pub mod text;

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::sync::Semaphore;
use url::Url;

pub use error::DraftError;
pub use fetch::{Expect, FetchPolicy, Fetched, FetchedKind, Fetcher};
pub use image_prep::{CropRect, ImageSettings, PreparedImage};
pub use metadata::{PageMetadata, StructuredData};
pub use text::{
    ChatGenerator, ChatSettings, Generator, GeneratorUsed, Hints, PinCopy, RuleGenerator,
};

/// The most drafts one request may ask for.
pub const MAX_DRAFTS: usize = 5;

/// Everything a [`Drafter`] needs to know, built once from configuration.
#[derive(Debug, Clone)]
pub struct DraftSettings {
    /// Limits on fetching links.
    pub fetch: FetchPolicy,
    /// How pin images are made.
    pub image: ImageSettings,
    /// How many of a page's images are tried before giving up on it.
    pub max_image_candidates: usize,
    /// How many images are prepared (or pages parsed) at once by one drafter, each on a work
    /// thread of its own. Image work needs up to [`ImageSettings::max_decode_bytes`] plus a
    /// working copy, so this bounds the memory drafting can take; the others wait their turn.
    pub parallel_work: usize,
    /// The deadline for one whole [`Drafter::draft`] call.
    pub request_timeout: Duration,
}

impl Default for DraftSettings {
    fn default() -> Self {
        Self {
            fetch: FetchPolicy::default(),
            image: ImageSettings::default(),
            max_image_candidates: 3,
            // One: drafting never takes more than one core and one picture's memory from the
            // process that publishes for everyone.
            parallel_work: 1,
            // A slow page and a slow image (15 s each at most) still leave room to fail over to
            // the next image; a chat model has 20 s.
            request_timeout: Duration::from_secs(30),
        }
    }
}

/// One idea to draft from. At least one of the idea fields must be set.
#[derive(Clone, Default)]
pub struct DraftRequest {
    /// A page (or image) link.
    pub url: Option<String>,
    /// A line of text describing the idea.
    pub text: Option<String>,
    /// A title the person chose.
    pub title: Option<String>,
    /// A link to the image to use.
    pub image_url: Option<String>,
    /// The image to use, uploaded (wins over `image_url`).
    pub image_bytes: Option<Vec<u8>>,
    /// How many drafts to make, 1 to [`MAX_DRAFTS`].
    pub count: usize,
}

impl std::fmt::Debug for DraftRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DraftRequest")
            .field("url", &self.url)
            .field("text", &self.text)
            .field("title", &self.title)
            .field("image_url", &self.image_url)
            .field("image_bytes", &self.image_bytes.as_ref().map(Vec::len))
            .field("count", &self.count)
            .finish()
    }
}

/// Where an idea came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// A web page.
    Page,
    /// A link straight to an image.
    ImageLink,
    /// Text (and maybe a title) only.
    Text,
    /// An image only, uploaded or linked through `image_url`.
    Image,
}

/// A short account of what a draft was made from, for people reviewing it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SourceSummary {
    /// What the idea was.
    pub kind: SourceKind,
    /// The page or image link after redirects.
    pub url: Option<Url>,
    /// The site's name.
    pub site_name: Option<String>,
    /// The page's best title.
    pub title: Option<String>,
    /// The page's best description.
    pub description: Option<String>,
    /// `product`, `recipe`, `event`, `work` or `article`: what the page is about, when its
    /// structured data says so.
    pub structured_type: Option<String>,
    /// Where the image came from, when it was fetched.
    pub image_url: Option<Url>,
}

/// One finished pin draft.
#[derive(Debug, Clone, Serialize)]
pub struct Draft {
    /// At most 100 characters.
    pub title: String,
    /// At most 800 characters.
    pub description: String,
    /// At most 500 characters.
    pub alt_text: String,
    /// Most relevant first.
    pub keywords: Vec<String>,
    /// The pin's destination, when the idea has one.
    pub link: Option<Url>,
    /// The 1000×1500 JPEG and the crop it shows.
    pub image: PreparedImage,
    /// What the draft was made from.
    pub source: SourceSummary,
    /// Who wrote the copy, and whether a fallback happened.
    pub generator: GeneratorUsed,
}

/// Turns ideas into drafts. Cheap to share: wrap it in an `Arc` or clone it.
#[derive(Debug, Clone)]
pub struct Drafter {
    settings: DraftSettings,
    fetcher: Fetcher,
    generator: Arc<dyn Generator>,
    /// Turns at CPU- and memory-heavy work (images, HTML), shared by every clone.
    work: Arc<Semaphore>,
    /// Where that work runs.
    workers: Arc<Workers>,
}

/// The image a request names, before it is fetched.
enum GivenImage {
    Bytes(Vec<u8>),
    Link(String),
    Fetched(Vec<u8>, Url),
}

impl Drafter {
    /// A drafter with these settings and this copy generator.
    pub fn new(settings: DraftSettings, generator: Arc<dyn Generator>) -> Self {
        let fetcher = Fetcher::new(settings.fetch.clone());
        Self::with_fetcher(settings, fetcher, generator)
    }

    /// A drafter that fetches through `fetcher` (one built with its own guard, such as one
    /// whose resolver serves saved pages on loopback) rather than one built from the settings.
    pub fn with_fetcher(
        settings: DraftSettings,
        fetcher: Fetcher,
        generator: Arc<dyn Generator>,
    ) -> Self {
        let turns = settings.parallel_work.max(1);
        Self {
            settings,
            fetcher,
            generator,
            work: Arc::new(Semaphore::new(turns)),
            workers: Arc::new(Workers::start(turns)),
        }
    }

    /// The settings in force.
    pub fn settings(&self) -> &DraftSettings {
        &self.settings
    }

    /// Makes `request.count` drafts from one idea, within [`DraftSettings::request_timeout`].
    pub async fn draft(&self, request: DraftRequest) -> Result<Vec<Draft>, DraftError> {
        let after = self.settings.request_timeout;
        tokio::time::timeout(after, self.draft_now(request))
            .await
            .unwrap_or(Err(DraftError::Deadline { after }))
    }

    async fn draft_now(&self, request: DraftRequest) -> Result<Vec<Draft>, DraftError> {
        let count = request.count;
        if !(1..=MAX_DRAFTS).contains(&count) {
            return Err(DraftError::InvalidRequest(format!(
                "count must be between 1 and {MAX_DRAFTS}, not {count}"
            )));
        }
        let url = request.url.filter(|link| !link.trim().is_empty());
        let image_url = request.image_url.filter(|link| !link.trim().is_empty());
        let mut hints = Hints {
            title: request.title.as_deref().and_then(metadata::clean_text),
            text: request.text.as_deref().and_then(metadata::clean_text),
        };
        if url.is_none()
            && image_url.is_none()
            && request.image_bytes.is_none()
            && hints == Hints::default()
        {
            return Err(DraftError::EmptyIdea);
        }
        // Check every link before any network traffic, so a bad second link fails fast.
        if let Some(link) = &url {
            fetch::parse_web_url(link)?;
        }
        if let Some(link) = &image_url {
            fetch::parse_web_url(link)?;
        }

        let mut given_image = match (request.image_bytes, image_url) {
            (Some(bytes), _) => Some(GivenImage::Bytes(bytes)),
            (None, Some(link)) => Some(GivenImage::Link(link)),
            (None, None) => None,
        };
        let (meta, kind, source_url) = match &url {
            Some(link) => {
                let fetched = self.fetcher.fetch(link, Expect::PageOrImage).await?;
                match fetched.kind {
                    FetchedKind::Html => {
                        let page_url = fetched.final_url.clone();
                        let meta = self
                            .heavy(move || {
                                let html = String::from_utf8_lossy(&fetched.body);
                                PageMetadata::from_html(&html, Some(&page_url))
                            })
                            .await?;
                        (meta, SourceKind::Page, Some(fetched.final_url))
                    }
                    FetchedKind::Image => {
                        // A link to a bare image is a poor pin destination: the pin gets no
                        // link, and the file name stands in for a title.
                        if hints == Hints::default() {
                            hints.title = title_from_file_name(&fetched.final_url);
                        }
                        let source_url = fetched.final_url.clone();
                        if given_image.is_none() {
                            given_image =
                                Some(GivenImage::Fetched(fetched.body, fetched.final_url));
                        }
                        (
                            PageMetadata::default(),
                            SourceKind::ImageLink,
                            Some(source_url),
                        )
                    }
                }
            }
            None => {
                let kind = if hints == Hints::default() {
                    SourceKind::Image
                } else {
                    SourceKind::Text
                };
                if hints == Hints::default()
                    && let Some(GivenImage::Link(link)) = &given_image
                    && let Ok(parsed) = fetch::parse_web_url(link)
                {
                    hints.title = title_from_file_name(&parsed);
                }
                (PageMetadata::default(), kind, None)
            }
        };

        let candidates: Vec<Url> = meta
            .image_candidates()
            .into_iter()
            .take(self.settings.max_image_candidates)
            .collect();
        let images = self.images(given_image, candidates, count);
        let copies = self.generator.generate(&meta, &hints, count);
        let (images, copies) = tokio::join!(images, copies);
        let (images, image_url) = images?;
        let copies = copies?;
        if copies.len() < count {
            return Err(DraftError::Generator(format!(
                "the generator wrote {} pieces of copy, {count} were asked for",
                copies.len()
            )));
        }

        let source = SourceSummary {
            kind,
            url: source_url,
            site_name: meta.site_name(),
            title: meta.clean_title(),
            description: meta
                .best_description()
                .map(|d| text::cut_at_word_boundary(d, 300)),
            structured_type: meta.main_entity().map(|item| item.kind_name().to_owned()),
            image_url,
        };
        Ok(copies
            .into_iter()
            .zip(images)
            .map(|(copy, image)| Draft {
                title: copy.title,
                description: copy.description,
                alt_text: copy.alt_text,
                keywords: copy.keywords,
                link: copy.link,
                image,
                source: source.clone(),
                generator: copy.generator,
            })
            .collect())
    }

    /// Prepares `count` pin images from the given image, or else from the first page image
    /// that fetches and decodes.
    async fn images(
        &self,
        given: Option<GivenImage>,
        candidates: Vec<Url>,
        count: usize,
    ) -> Result<(Vec<PreparedImage>, Option<Url>), DraftError> {
        match given {
            Some(GivenImage::Bytes(bytes)) => {
                let limit = self.settings.fetch.max_image_bytes;
                if bytes.len() as u64 > limit {
                    return Err(DraftError::TooBig {
                        what: "the uploaded image".to_owned(),
                        limit,
                    });
                }
                Ok((self.prepare(bytes, count).await?, None))
            }
            Some(GivenImage::Fetched(bytes, url)) => {
                Ok((self.prepare(bytes, count).await?, Some(url)))
            }
            Some(GivenImage::Link(link)) => {
                let fetched = self.fetcher.fetch(&link, Expect::Image).await?;
                Ok((
                    self.prepare(fetched.body, count).await?,
                    Some(fetched.final_url),
                ))
            }
            None => {
                let mut first_error = None;
                for candidate in candidates {
                    let attempt = async {
                        let fetched = self
                            .fetcher
                            .fetch(candidate.as_str(), Expect::Image)
                            .await?;
                        self.prepare(fetched.body, count).await
                    };
                    match attempt.await {
                        Ok(images) => return Ok((images, Some(candidate))),
                        Err(error) => {
                            tracing::debug!(%candidate, %error, "page image unusable; trying the next");
                            first_error.get_or_insert(error);
                        }
                    }
                }
                Err(first_error.unwrap_or(DraftError::NoImage))
            }
        }
    }

    async fn prepare(
        &self,
        bytes: Vec<u8>,
        count: usize,
    ) -> Result<Vec<PreparedImage>, DraftError> {
        let settings = self.settings.image.clone();
        self.heavy(move || image_prep::prepare_variants(&bytes, &settings, count))
            .await?
    }

    /// Runs `work` on one of the drafter's work threads once a turn is free. The turn goes
    /// with the work, so a caller that gives up (its deadline passed) does not free it before
    /// the work is done.
    async fn heavy<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, DraftError> {
        let turn = self
            .work
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| DraftError::Internal("the drafter was shut down".to_owned()))?;
        let (done, result) = tokio::sync::oneshot::channel();
        self.workers.run(Box::new(move || {
            let result = work();
            // The turn is free before the caller hears of the result, so whoever is told the
            // work is done finds the turn free too; on a panic it is freed while unwinding.
            drop(turn);
            let _ = done.send(result);
        }))?;
        result.await.map_err(|_| {
            DraftError::Internal("a drafting task failed before it finished".to_owned())
        })
    }
}

/// A job for a work thread.
type Job = Box<dyn FnOnce() + Send>;

/// The threads that prepare images and parse pages, as many as there are turns, fed by one
/// queue; they end when the last clone of the drafter is dropped.
///
/// Dedicated threads rather than the runtime's blocking pool: a picture's buffers are freed on
/// the thread that allocated them, so the allocator reuses the same memory for the next
/// picture. On the blocking pool each job may land on another thread, with an allocator arena
/// of its own keeping what the last job freed, and the process's peak grew by tens of MB with a
/// few requests at once.
#[derive(Debug)]
struct Workers {
    queue: std::sync::mpsc::Sender<Job>,
}

impl Workers {
    fn start(count: usize) -> Workers {
        let (queue, jobs) = std::sync::mpsc::channel::<Job>();
        let jobs = Arc::new(std::sync::Mutex::new(jobs));
        for index in 0..count {
            let jobs = jobs.clone();
            let started = std::thread::Builder::new()
                .name(format!("drafts-work-{index}"))
                .spawn(move || {
                    loop {
                        let job = match jobs.lock() {
                            Ok(jobs) => jobs.recv(),
                            Err(_) => return,
                        };
                        let Ok(job) = job else { return };
                        // A panic drops the job's answer channel, which its caller reports;
                        // the thread lives on for the next job.
                        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                    }
                });
            if let Err(error) = started {
                tracing::error!(%error, "could not start a drafts work thread");
            }
        }
        Workers { queue }
    }

    fn run(&self, job: Job) -> Result<(), DraftError> {
        self.queue
            .send(job)
            .map_err(|_| DraftError::Internal("no drafts work thread is running".to_owned()))
    }
}

/// `blue-ceramic_vase.jpg` → "Blue ceramic vase": a title for an idea that is only an image
/// link. Names without letters (`IMG_0042.jpg` has some, `12345.png` has none) give nothing.
fn title_from_file_name(url: &Url) -> Option<String> {
    let name = url.path_segments()?.next_back()?;
    let name = percent_decode(name);
    let stem = name
        .rsplit_once('.')
        .map_or(name.as_str(), |(stem, _)| stem);
    let words: Vec<&str> = stem
        .split(|c: char| c == '-' || c == '_' || c == '+' || c.is_whitespace())
        .filter(|word| !word.is_empty())
        .collect();
    let letters = words
        .iter()
        .flat_map(|word| word.chars())
        .filter(|c| c.is_alphabetic())
        .count();
    if letters < 3 {
        return None;
    }
    let mut title = words.join(" ");
    if let Some(first) = title.chars().next() {
        let upper: String = first.to_uppercase().collect();
        title.replace_range(..first.len_utf8(), &upper);
    }
    Some(text::cut_at_word_boundary(&title, text::TITLE_MAX_CHARS))
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%'
            && let Some(hex) = text.get(index + 1..index + 3)
            && let Ok(value) = u8::from_str_radix(hex, 16)
        {
            out.push(value);
            index += 3;
            continue;
        }
        out.push(bytes[index]);
        index += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn heavy_work_holds_its_turn_until_it_is_done() {
        let drafter = Drafter::new(
            DraftSettings {
                parallel_work: 1,
                ..DraftSettings::default()
            },
            Arc::new(RuleGenerator),
        );
        let (started, running) = tokio::sync::oneshot::channel();
        let (release, released) = std::sync::mpsc::channel::<()>();
        let first = tokio::spawn({
            let drafter = drafter.clone();
            async move {
                drafter
                    .heavy(move || {
                        let _ = started.send(());
                        released.recv_timeout(Duration::from_secs(30)).is_ok()
                    })
                    .await
            }
        });
        running.await.expect("the first work starts");
        // The turn is held by the running work, and shared with every clone.
        assert_eq!(drafter.work.available_permits(), 0);
        let second = tokio::spawn({
            let drafter = drafter.clone();
            async move { drafter.heavy(|| "second").await }
        });
        release.send(()).expect("the first work waits");
        assert!(
            first.await.expect("joins").expect("runs"),
            "released in time"
        );
        assert_eq!(second.await.expect("joins").expect("runs"), "second");
        assert_eq!(drafter.work.available_permits(), 1);
    }

    #[test]
    fn file_names_become_titles() {
        let title = |url: &str| title_from_file_name(&Url::parse(url).expect("test URL parses"));
        assert_eq!(
            title("https://x.test/img/blue-ceramic_vase.jpg").as_deref(),
            Some("Blue ceramic vase")
        );
        assert_eq!(
            title("https://x.test/caf%C3%A9-au-lait.png").as_deref(),
            Some("Café au lait")
        );
        assert_eq!(title("https://x.test/12345.png"), None);
        assert_eq!(title("https://x.test/"), None);
    }
}
