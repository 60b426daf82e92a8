//! The chat generator against a fake OpenAI-compatible endpoint on loopback.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use pinline_drafts::text::TITLE_MAX_CHARS;
use pinline_drafts::{
    ChatGenerator, ChatSettings, Generator, GeneratorUsed, Hints, PageMetadata, PinCopy,
};
use secrecy::SecretString;
use serde_json::{Value, json};
use url::Url;

use crate::support::TestSite;

const KEY: &str = "sk-test-very-secret-4711";

/// How the fake endpoint answers each request.
type Answer = Box<dyn Fn() -> Response + Send + Sync>;

/// One request the fake endpoint saw: its Authorization header and JSON body.
type Seen = (Option<String>, Value);

#[derive(Clone)]
struct Fake {
    answer: Arc<Answer>,
    seen: Arc<Mutex<Vec<Seen>>>,
}

async fn completions(
    State(fake): State<Fake>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    fake.seen
        .lock()
        .expect("the log lock is not poisoned")
        .push((authorization, body));
    (fake.answer)()
}

async fn fake_endpoint(answer: impl Fn() -> Response + Send + Sync + 'static) -> (TestSite, Fake) {
    let fake = Fake {
        answer: Arc::new(Box::new(answer)),
        seen: Arc::default(),
    };
    let router = Router::new()
        .route("/v1/chat/completions", post(completions))
        .with_state(fake.clone());
    (TestSite::start(router).await, fake)
}

async fn silent_endpoint() -> TestSite {
    let router = Router::new().route(
        "/v1/chat/completions",
        post(|| async {
            std::future::pending::<()>().await;
            "unreachable"
        }),
    );
    TestSite::start(router).await
}

fn generator(site: &TestSite) -> ChatGenerator {
    ChatGenerator::new(ChatSettings {
        base_url: Url::parse(&site.url("/v1")).expect("the base URL parses"),
        model: "test-model".to_owned(),
        api_key: SecretString::from(KEY.to_owned()),
        timeout: Duration::from_millis(500),
    })
    .expect("the generator builds")
}

fn completion(content: &str) -> Response {
    Json(json!({
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}]
    }))
    .into_response()
}

fn meta() -> PageMetadata {
    let url = Url::parse("https://shop.example/lamp").expect("the page URL parses");
    PageMetadata::from_html(
        r#"<meta property="og:title" content="Brass desk lamp">
           <meta property="og:description" content="Warm light for late work.">"#,
        Some(&url),
    )
}

async fn generate(generator: &ChatGenerator, count: usize) -> Vec<PinCopy> {
    generator
        .generate(&meta(), &Hints::default(), count)
        .await
        .expect("the chat generator always answers")
}

fn fallback_reason(copies: &[PinCopy]) -> String {
    match &copies[0].generator {
        GeneratorUsed::RulesAfterChatFailed { reason } => reason.clone(),
        other => panic!("expected a fallback, got {other:?}"),
    }
}

#[tokio::test]
async fn uses_the_model_answer_and_sends_the_key_as_bearer() {
    let content = json!({"drafts": [
        {"title": "Warm brass light for late nights", "description": "Model description one.",
         "alt_text": "Brass lamp glowing", "keywords": ["brass lamp", "desk"]},
        {"title": "A desk lamp in solid brass", "description": "Solid brass, a linen shade and a warm bulb for the evening."}
    ]})
    .to_string();
    let (site, fake) = fake_endpoint(move || completion(&content)).await;
    let generator = generator(&site);
    let copies = generate(&generator, 2).await;

    assert_eq!(copies.len(), 2);
    assert_eq!(copies[0].title, "Warm brass light for late nights");
    assert_eq!(copies[0].alt_text, "Brass lamp glowing");
    assert_eq!(copies[0].keywords, ["brass lamp", "desk"]);
    assert_eq!(
        copies[0].generator,
        GeneratorUsed::Chat {
            model: "test-model".to_owned()
        }
    );
    assert_eq!(
        copies[0].link.as_ref().map(Url::as_str),
        Some("https://shop.example/lamp")
    );
    assert!(
        !copies[1].alt_text.is_empty(),
        "a missing alt text is filled in"
    );
    assert!(
        !copies[1].keywords.is_empty(),
        "missing keywords are filled in"
    );

    let seen = fake.seen.lock().expect("the log lock is not poisoned");
    let (authorization, body) = &seen[0];
    assert_eq!(
        authorization.as_deref(),
        Some(format!("Bearer {KEY}").as_str())
    );
    assert_eq!(body["model"], "test-model");
    assert_eq!(body["response_format"]["type"], "json_object");
    assert!(
        body["messages"][1]["content"]
            .as_str()
            .is_some_and(|text| text.contains("Brass desk lamp"))
    );
}

#[tokio::test]
async fn a_server_error_falls_back_to_the_rules() {
    let (site, _fake) = fake_endpoint(|| StatusCode::INTERNAL_SERVER_ERROR.into_response()).await;
    let copies = generate(&generator(&site), 3).await;
    assert_eq!(copies.len(), 3);
    assert!(fallback_reason(&copies).contains("500"));
    assert_eq!(copies[0].title, "Brass desk lamp");
}

#[tokio::test]
async fn a_timeout_falls_back_to_the_rules() {
    let site = silent_endpoint().await;
    let copies = generate(&generator(&site), 2).await;
    assert!(
        fallback_reason(&copies).contains("did not answer"),
        "{:?}",
        copies[0].generator
    );
}

#[tokio::test]
async fn malformed_answers_fall_back_to_the_rules() {
    let cases: Vec<(&str, Answer)> = vec![
        (
            "not JSON content",
            Box::new(|| completion("Sure! Here are your pins: ...")),
        ),
        (
            "body not JSON",
            Box::new(|| ([(header::CONTENT_TYPE, "application/json")], "{oops").into_response()),
        ),
        (
            "no choices",
            Box::new(|| Json(json!({"choices": []})).into_response()),
        ),
        (
            "too few drafts",
            Box::new(|| completion(r#"{"drafts": [{"title": "One", "description": "Only one"}]}"#)),
        ),
        (
            "over the limits",
            Box::new(|| {
                let long = "A very long title ".repeat(20);
                completion(
                    &json!({"drafts": [{"title": long, "description": "One lamp."},
                                       {"title": "t", "description": "Another lamp entirely."}]})
                    .to_string(),
                )
            }),
        ),
        (
            "empty title",
            Box::new(|| {
                completion(
                    r#"{"drafts": [{"title": " ", "description": "x"}, {"title": "t", "description": "d"}]}"#,
                )
            }),
        ),
    ];
    for (name, answer) in cases {
        let (site, _fake) = fake_endpoint(answer).await;
        let copies = generate(&generator(&site), 2).await;
        assert_eq!(copies.len(), 2, "{name}");
        let reason = fallback_reason(&copies);
        assert!(!reason.is_empty(), "{name}");
    }
}

#[tokio::test]
async fn the_key_never_appears_in_debug_output_or_reasons() {
    let (site, _fake) = fake_endpoint(|| StatusCode::UNAUTHORIZED.into_response()).await;
    let generator = generator(&site);
    let debug = format!("{generator:?}");
    assert!(!debug.contains(KEY), "the key leaked into Debug: {debug}");
    assert!(!debug.contains("4711"));
    let copies = generate(&generator, 1).await;
    let reason = fallback_reason(&copies);
    assert!(!reason.contains(KEY));
    assert!(!format!("{copies:?}").contains(KEY));

    let silent = silent_endpoint().await;
    let copies = generate(&self::generator(&silent), 1).await;
    assert!(!format!("{copies:?}").contains(KEY));
}

fn french_page() -> PageMetadata {
    let url = Url::parse("https://cuisine.example/ratatouille").expect("the page URL parses");
    PageMetadata::from_html(
        r#"<html lang="fr"><head>
           <meta property="og:title" content="Ratatouille du marché">
           <meta property="og:description" content="Une ratatouille fondante avec des aubergines, des courgettes et des poivrons du marché, mijotés longuement dans l'huile d'olive.">
           </head></html>"#,
        Some(&url),
    )
}

#[tokio::test]
async fn answers_that_break_the_rules_fall_back_to_the_rules() {
    let cases: Vec<(&str, &'static str, &'static str)> = vec![
        (
            "English on a French page",
            r#"{"drafts": [
              {"title": "Ratatouille from the market", "description": "A slow-cooked vegetable stew with aubergines and peppers that everyone will love at dinner.", "alt_text": "A pot of ratatouille"},
              {"title": "Ratatouille tonight", "description": "Cook the vegetables one by one in olive oil, then let them simmer together for an hour.", "alt_text": "Ratatouille in a bowl"}]}"#,
            "not written in French",
        ),
        (
            "filler",
            r#"{"drafts": [
              {"title": "Ratatouille du marché", "description": "Une ratatouille fondante aux aubergines. Cliquez ici pour la recette.", "alt_text": "Une cocotte de ratatouille"},
              {"title": "Ratatouille d'été", "description": "Des courgettes et des poivrons mijotés longuement dans l'huile d'olive.", "alt_text": "Ratatouille dans un bol"}]}"#,
            "filler",
        ),
        (
            "the same description twice",
            r#"{"drafts": [
              {"title": "Ratatouille du marché", "description": "Une ratatouille fondante aux aubergines et aux courgettes du marché.", "alt_text": "Une cocotte de ratatouille"},
              {"title": "Ratatouille d'été", "description": "Une ratatouille fondante aux aubergines et aux courgettes du marché !", "alt_text": "Ratatouille dans un bol"}]}"#,
            "nearly the same",
        ),
        (
            "a placeholder alt text",
            r#"{"drafts": [
              {"title": "Ratatouille du marché", "description": "Une ratatouille fondante aux aubergines et aux courgettes du marché.", "alt_text": "Image for Ratatouille"},
              {"title": "Ratatouille d'été", "description": "Des poivrons mijotés longuement dans l'huile d'olive, à servir tiède.", "alt_text": "Ratatouille dans un bol"}]}"#,
            "filler",
        ),
    ];
    for (name, content, expected) in cases {
        let (site, _fake) = fake_endpoint(move || completion(content)).await;
        let copies = generator(&site)
            .generate(&french_page(), &Hints::default(), 2)
            .await
            .expect("the chat generator always answers");
        let reason = fallback_reason(&copies);
        assert!(reason.contains(expected), "{name}: {reason}");
        // The built-in copy that replaces it is French.
        assert!(
            copies.iter().all(|c| !c.description.contains("Ready in") && !c.alt_text.starts_with("Photo of")),
            "{name}: {copies:?}"
        );
    }
}

#[tokio::test]
async fn the_model_is_told_the_language_the_facts_and_the_limits() {
    let content = json!({"drafts": [
        {"title": "Ratatouille du marché", "description": "Une ratatouille fondante aux aubergines et aux courgettes du marché.", "alt_text": "Une cocotte de ratatouille"},
        {"title": "Ratatouille d'été", "description": "Des poivrons mijotés longuement dans l'huile d'olive, à servir tiède.", "alt_text": "Ratatouille dans un bol"}
    ]})
    .to_string();
    let (site, fake) = fake_endpoint(move || completion(&content)).await;
    let copies = generator(&site)
        .generate(&french_page(), &Hints::default(), 2)
        .await
        .expect("the chat generator always answers");
    assert!(
        matches!(copies[0].generator, GeneratorUsed::Chat { .. }),
        "{:?}",
        copies[0].generator
    );
    let seen = fake.seen.lock().expect("the log lock is not poisoned");
    let request: Value = serde_json::from_str(
        seen[0].1["messages"][1]["content"]
            .as_str()
            .expect("the user message is text"),
    )
    .expect("the user message is JSON");
    assert_eq!(request["idea"]["language"]["code"], "fr");
    assert_eq!(request["idea"]["language"]["name"], "French");
    assert_eq!(request["idea"]["name"], "Ratatouille du marché");
    assert_eq!(request["limits"]["title_characters"], TITLE_MAX_CHARS);
    assert_eq!(request["idea"]["angles"].as_array().map(Vec::len), Some(2));
    assert!(
        request["banned_phrases"]
            .as_array()
            .is_some_and(|p| !p.is_empty())
    );
    assert!(
        request["idea"]["page_sentences"][0]
            .as_str()
            .is_some_and(|s| s.contains("aubergines"))
    );
}
