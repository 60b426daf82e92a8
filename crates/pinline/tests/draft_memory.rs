//! A real `pinline serve` meets image bombs: every format is refused with a 422, uploaded or
//! linked from a loopback page, and the process's peak resident memory (VmHWM) stays within
//! 300 MB, including while it drafts from the largest picture it accepts.

#[expect(
    dead_code,
    reason = "this binary starts a server but connects no account"
)]
mod common;

use std::time::Duration;

use axum::Router;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use pinline_store::backend_tests;
use pinline_store::testing::TestDatabase;
use serde_json::{Value, json};

use common::{cli, sandbox, start_server};

// The generated bombs are shared with the drafts crate's own tests.
#[path = "../../pinline-drafts/tests/drafts/bombs.rs"]
mod bombs;

backend_tests!(image_bombs_leave_the_server_small);

/// The peak the process may reach.
const PEAK_LIMIT_BYTES: u64 = 300 * 1000 * 1000;

/// The bombs, by name: (bytes, the error code they must get).
fn bombs() -> Vec<(&'static str, Vec<u8>, &'static str)> {
    vec![
        ("png-16384", bombs::png(16_384), "image_too_large"),
        ("jpeg-65000", bombs::jpeg(65_000, 65_000), "image_too_large"),
        ("jpeg-16000", bombs::jpeg(16_000, 16_000), "image_too_large"),
        (
            "jpeg-progressive-6000",
            bombs::progressive_jpeg(6_000, 6_000),
            "image_too_large",
        ),
        (
            "webp-vp8l-16383",
            bombs::webp_lossless(16_383),
            "image_too_large",
        ),
        (
            "webp-vp8x-16383",
            bombs::webp_extended(16_383),
            "image_too_large",
        ),
        ("gif-65535", bombs::gif(65_535), "unsupported_content"),
    ]
}

/// A `/proc/<pid>/status` figure in bytes (`VmHWM`: the peak resident set; `VmRSS`: now).
fn status_bytes(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("the process runs");
    let kilobytes: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("the figure is reported");
    kilobytes * 1024
}

/// The process's peak resident set since it started or since [`reset_peak`].
fn peak_resident_bytes(pid: u32) -> u64 {
    status_bytes(pid, "VmHWM")
}

/// Starts the peak over from the current resident set (Linux's `clear_refs` 5), so that each
/// step's peak is its own; the process must not be past the limit before it, either.
fn reset_peak(pid: u32) {
    let peak = peak_resident_bytes(pid);
    assert!(peak <= PEAK_LIMIT_BYTES, "peak {peak} bytes before a reset");
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").expect("the peak can be reset");
    eprintln!(
        "  (peak reset to the resident {:.1} MiB)",
        status_bytes(pid, "VmRSS") as f64 / (1024.0 * 1024.0)
    );
}

/// The most elements a page within the 2 MiB HTML cap can hold: about 700,000 empty
/// paragraphs, each a node of the parsed document.
fn tag_soup() -> String {
    format!("<title>Tags</title>{}", "<p>".repeat(690_000))
}

/// Serves every bomb at `/<name>` on loopback, and the tag soup at `/tags.html`.
async fn bomb_site() -> String {
    let router = Router::new().route(
        "/{name}",
        get(|Path(name): Path<String>| async move {
            if name == "tags.html" {
                return ([(CONTENT_TYPE, "text/html")], tag_soup()).into_response();
            }
            match bombs().into_iter().find(|(known, _, _)| *known == name) {
                Some((_, bytes, _)) => ([(CONTENT_TYPE, "image/png")], bytes).into_response(),
                None => StatusCode::NOT_FOUND.into_response(),
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    format!("http://{address}")
}

async fn post_draft(
    http: &reqwest::Client,
    base_url: &str,
    key: &str,
    body: Value,
) -> (u16, Value) {
    let reply = http
        .post(format!("{base_url}/v1/drafts"))
        .bearer_auth(key)
        .json(&body)
        .timeout(Duration::from_secs(120))
        .send()
        .await
        .expect("the server answers");
    let status = reply.status().as_u16();
    (status, reply.json().await.unwrap_or(Value::Null))
}

async fn image_bombs_leave_the_server_small(db: TestDatabase) {
    let sandbox = sandbox().await;
    let (code, key, stderr) = cli(
        &["keys", "create", "--profile", "bombs", "--quiet"],
        &[("PINLINE_DATABASE_URL", &db.url)],
    )
    .await;
    assert_eq!(code, 0, "{stderr}");
    let key = key.trim().to_owned();
    // The bomb site is on loopback, which drafting refuses unless told otherwise.
    let server = start_server(
        &db.url,
        &"33".repeat(32),
        &sandbox.base_url(),
        &sandbox.oauth_url(),
        &[("PINLINE_ALLOW_PRIVATE_TARGETS", "1")],
    )
    .await;
    let pid = server.child.id().expect("the server runs");
    let site = bomb_site().await;
    let http = reqwest::Client::new();
    let mib = |bytes: u64| bytes as f64 / (1024.0 * 1024.0);
    eprintln!("started: peak {:.1} MiB", mib(peak_resident_bytes(pid)));

    for (name, bytes, expected) in bombs() {
        reset_peak(pid);
        let uploaded = json!({"text": "A big picture", "image_base64": STANDARD.encode(&bytes)});
        let linked = json!({"text": "A big picture", "image_url": format!("{site}/{name}")});
        for (how, body, field) in [
            ("uploaded", uploaded, "image_base64"),
            ("linked", linked, "image_url"),
        ] {
            let (status, reply) = post_draft(&http, &server.base_url, &key, body).await;
            assert_eq!(status, 422, "{name} {how}: {reply}");
            assert_eq!(
                reply["error"]["code"],
                json!(expected),
                "{name} {how}: {reply}"
            );
            assert_eq!(
                reply["error"]["field"],
                json!(field),
                "{name} {how}: {reply}"
            );
        }
        let peak = peak_resident_bytes(pid);
        eprintln!(
            "{name} ({} KiB): refused; peak {:.1} MiB",
            bytes.len() / 1024,
            mib(peak)
        );
        assert!(
            peak <= PEAK_LIMIT_BYTES,
            "{name}: peak {:.1} MiB",
            mib(peak)
        );
    }

    // The page with the most elements the HTML cap allows is parsed within the bound too.
    reset_peak(pid);
    let body = json!({"url": format!("{site}/tags.html")});
    let (status, reply) = post_draft(&http, &server.base_url, &key, body).await;
    assert_eq!(status, 422, "{reply}");
    assert_eq!(reply["error"]["code"], json!("no_image"), "{reply}");
    let peak = peak_resident_bytes(pid);
    eprintln!("tag soup (2 MiB of <p>): parsed; peak {:.1} MiB", mib(peak));
    assert!(
        peak <= PEAK_LIMIT_BYTES,
        "tag soup: peak {:.1} MiB",
        mib(peak)
    );

    // The largest picture accepted (5600 × 5600 RGB: 90 MiB decoded, just under the limit) is
    // decoded, shrunk and drafted within the same bound.
    let largest = bombs::png(5_600);
    reset_peak(pid);
    let body = json!({"text": "A large black square", "image_base64": STANDARD.encode(&largest), "count": 3});
    let (status, reply) = post_draft(&http, &server.base_url, &key, body).await;
    assert_eq!(status, 201, "{reply}");
    assert_eq!(reply["items"].as_array().map(Vec::len), Some(3), "{reply}");
    let peak = peak_resident_bytes(pid);
    eprintln!("png-5600 (accepted, 3 drafts): peak {:.1} MiB", mib(peak));
    assert!(
        peak <= PEAK_LIMIT_BYTES,
        "largest accepted: peak {:.1} MiB",
        mib(peak)
    );

    // The largest files of the other formats that the header check lets through. Their scan
    // data is made up, so the decoder may give up part way (422) or finish (201); either way
    // it has allocated everything the header promised.
    for (name, bytes) in [
        // 5700 × 5700 RGB: 93 MiB, interleaved baseline, no coefficients kept.
        ("jpeg-5700", bombs::jpeg(5_700, 5_700)),
        // 3300 × 3300 progressive: 31 MiB of pixels and 62 MiB of coefficients.
        (
            "jpeg-progressive-3300",
            bombs::progressive_jpeg(3_300, 3_300),
        ),
        // 3500 × 3500 lossless WebP: 47 MiB of RGBA, charged as much again for the decoder.
        ("webp-vp8l-3500", bombs::webp_lossless(3_500)),
    ] {
        reset_peak(pid);
        let body =
            json!({"text": "A large picture", "image_base64": STANDARD.encode(&bytes), "count": 1});
        let (status, reply) = post_draft(&http, &server.base_url, &key, body).await;
        assert!(
            status == 201 || (status == 422 && reply["error"]["code"] == json!("unusable_image")),
            "{name}: {status} {reply}"
        );
        let peak = peak_resident_bytes(pid);
        eprintln!(
            "{name} (accepted by the header, answered {status}): peak {:.1} MiB",
            mib(peak)
        );
        assert!(
            peak <= PEAK_LIMIT_BYTES,
            "{name}: peak {:.1} MiB",
            mib(peak)
        );
    }

    // Four of the largest PNGs at once, two from each of two profiles (each profile's cap):
    // image work takes turns, so the peak is about that of one.
    let (code, other_key, stderr) = cli(
        &["keys", "create", "--profile", "bombs-too", "--quiet"],
        &[("PINLINE_DATABASE_URL", &db.url)],
    )
    .await;
    assert_eq!(code, 0, "{stderr}");
    let other_key = other_key.trim().to_owned();
    let body = json!({"text": "A large black square", "image_base64": STANDARD.encode(&largest), "count": 1});
    let base_url = server.base_url.as_str();
    reset_peak(pid);
    let replies = tokio::join!(
        post_draft(&http, base_url, &key, body.clone()),
        post_draft(&http, base_url, &key, body.clone()),
        post_draft(&http, base_url, &other_key, body.clone()),
        post_draft(&http, base_url, &other_key, body.clone()),
    );
    for (status, reply) in [replies.0, replies.1, replies.2, replies.3] {
        assert_eq!(status, 201, "{reply}");
    }
    let peak = peak_resident_bytes(pid);
    eprintln!("png-5600 × 4 at once (accepted): peak {:.1} MiB", mib(peak));
    assert!(
        peak <= PEAK_LIMIT_BYTES,
        "four at once: peak {:.1} MiB",
        mib(peak)
    );
    let log = server.log();
    assert!(!log.contains("panicked"), "{log}");
}
