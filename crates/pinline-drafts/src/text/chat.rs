//! Pin copy from an OpenAI-compatible chat model, with the rules as a safety net.
//!
//! One `POST {base_url}/chat/completions` asks for a JSON object (`response_format:
//! json_object`) holding exactly `count` drafts. Any failure — a connection error, the timeout,
//! a non-2xx status, a body that is not the expected JSON, too few or empty drafts — makes the
//! generator answer with [`RuleGenerator`]'s copy instead, labelled
//! [`GeneratorUsed::RulesAfterChatFailed`] with the reason. Drafting never fails because a model
//! did.
//!
//! The API key lives in a [`SecretString`] and is exposed only to build the `Authorization`
//! header, which is marked sensitive. Failure reasons are written here from status codes and
//! error kinds, never from the response body, so a misbehaving endpoint cannot echo the key
//! into a log. The endpoint is configured by the operator, so unlike page links it may be on a
//! private network (a self-hosted model).

use std::time::Duration;

use reqwest::header::{AUTHORIZATION, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::json;
use url::Url;

use super::{
    ALT_TEXT_MAX_CHARS, DESCRIPTION_MAX_CHARS, GenerateFuture, Generator, GeneratorUsed, Hints,
    MAX_KEYWORDS, PinCopy, RuleGenerator, TITLE_MAX_CHARS, extract_keywords, finish_copy,
};
use crate::DraftError;
use crate::metadata::PageMetadata;

/// How to reach the chat model.
#[derive(Debug, Clone)]
pub struct ChatSettings {
    /// The API's base URL, e.g. `https://api.openai.com/v1`; `/chat/completions` is appended.
    pub base_url: Url,
    /// The model name sent with each request.
    pub model: String,
    /// The bearer token; never printed.
    pub api_key: SecretString,
    /// How long one request may take before the rules take over.
    pub timeout: Duration,
}

/// A [`Generator`] backed by a chat model, falling back to [`RuleGenerator`].
#[derive(Debug, Clone)]
pub struct ChatGenerator {
    settings: ChatSettings,
    endpoint: Url,
    guard: pinline_outbound::Guard,
    client: reqwest::Client,
    rules: RuleGenerator,
}

impl ChatGenerator {
    /// Builds the generator; fails only when the base URL cannot take a path.
    pub fn new(settings: ChatSettings) -> Result<Self, DraftError> {
        let mut endpoint = settings.base_url.clone();
        endpoint
            .path_segments_mut()
            .map_err(|()| DraftError::InvalidUrl {
                url: settings.base_url.to_string(),
                reason: "it cannot be a base URL".to_owned(),
            })?
            .pop_if_empty()
            .extend(["chat", "completions"]);
        // The operator chose this endpoint, so it may be private (a model on the same network);
        // the process's reach still applies, so a test run never calls a real model.
        let guard = pinline_outbound::Guard::new("chat API request", true);
        let client = guard
            .client_builder()
            .timeout(settings.timeout)
            .build()
            .map_err(|error| {
                DraftError::Internal(format!("could not build the HTTP client: {error}"))
            })?;
        Ok(Self {
            settings,
            endpoint,
            guard,
            client,
            rules: RuleGenerator,
        })
    }

    /// The full URL requests go to.
    pub fn endpoint(&self) -> &Url {
        &self.endpoint
    }

    async fn ask(
        &self,
        meta: &PageMetadata,
        hints: &Hints,
        count: usize,
    ) -> Result<Vec<PinCopy>, String> {
        let body = request_body(&self.settings.model, meta, hints, count);
        let mut bearer =
            HeaderValue::from_str(&format!("Bearer {}", self.settings.api_key.expose_secret()))
                .map_err(|_| {
                    "the API key contains characters that cannot be sent in a header".to_owned()
                })?;
        bearer.set_sensitive(true);

        self.guard
            .check_url(&self.endpoint)
            .map_err(|refused| refused.to_string())?;
        let response = self
            .client
            .post(self.endpoint.clone())
            .header(AUTHORIZATION, bearer)
            .json(&body)
            .send()
            .await
            .map_err(|error| describe_send_error(&error, self.settings.timeout))?;
        let status = response.status();
        if !status.is_success() {
            return Err(format!(
                "the chat endpoint answered HTTP {}",
                status.as_u16()
            ));
        }
        let completion: Completion = response
            .json()
            .await
            .map_err(|error| describe_send_error(&error, self.settings.timeout))?;
        let content = completion
            .choices
            .into_iter()
            .next()
            .and_then(|choice| choice.message.content)
            .ok_or_else(|| "the chat answer has no message content".to_owned())?;
        let drafts: ChatDrafts = serde_json::from_str(strip_code_fence(&content))
            .map_err(|error| format!("the chat answer is not the requested JSON ({error})"))?;
        self.validate(drafts, meta, hints, count)
    }

    fn validate(
        &self,
        drafts: ChatDrafts,
        meta: &PageMetadata,
        hints: &Hints,
        count: usize,
    ) -> Result<Vec<PinCopy>, String> {
        let usable: Vec<ChatDraft> = drafts
            .drafts
            .into_iter()
            .filter(|d| !d.title.trim().is_empty() && !d.description.trim().is_empty())
            .collect();
        if usable.len() < count {
            return Err(format!(
                "the chat answer has {} usable drafts, {count} were asked for",
                usable.len()
            ));
        }
        let extracted = extract_keywords(meta, hints, MAX_KEYWORDS);
        let rules_alt = self.rules.write(meta, hints, 1, GeneratorUsed::Rules);
        let fallback_alt = rules_alt
            .first()
            .map(|copy| copy.alt_text.clone())
            .unwrap_or_default();
        let generator = GeneratorUsed::Chat {
            model: self.settings.model.clone(),
        };
        Ok(usable
            .into_iter()
            .take(count)
            .map(|draft| {
                let alt_text = draft
                    .alt_text
                    .filter(|alt| !alt.trim().is_empty())
                    .unwrap_or_else(|| fallback_alt.clone());
                let keywords = if draft.keywords.is_empty() {
                    extracted.clone()
                } else {
                    draft.keywords
                };
                // The link always comes from the page, never from the model.
                finish_copy(
                    &draft.title,
                    &draft.description,
                    &alt_text,
                    keywords,
                    meta.link(),
                    generator.clone(),
                )
            })
            .collect())
    }
}

impl Generator for ChatGenerator {
    fn generate<'a>(
        &'a self,
        meta: &'a PageMetadata,
        hints: &'a Hints,
        count: usize,
    ) -> GenerateFuture<'a> {
        Box::pin(async move {
            match self.ask(meta, hints, count).await {
                Ok(copies) => Ok(copies),
                Err(reason) => {
                    tracing::warn!(%reason, model = %self.settings.model, "chat copy failed; using the rules");
                    Ok(self.rules.write(
                        meta,
                        hints,
                        count,
                        GeneratorUsed::RulesAfterChatFailed { reason },
                    ))
                }
            }
        })
    }
}

#[derive(Debug, Deserialize)]
struct Completion {
    #[serde(default)]
    choices: Vec<Choice>,
}

#[derive(Debug, Deserialize)]
struct Choice {
    message: Message,
}

#[derive(Debug, Deserialize)]
struct Message {
    content: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ChatDrafts {
    drafts: Vec<ChatDraft>,
}

#[derive(Debug, Deserialize)]
struct ChatDraft {
    title: String,
    description: String,
    #[serde(default)]
    alt_text: Option<String>,
    #[serde(default)]
    keywords: Vec<String>,
}

const SYSTEM_PROMPT: &str = "You write Pinterest pin copy. Answer with one JSON object and \
nothing else: {\"drafts\": [{\"title\": string, \"description\": string, \"alt_text\": string, \
\"keywords\": [string]}]}. Each draft takes a different angle (benefit-led, question-led, \
list-led, ...). Titles are specific and searchable; descriptions read naturally, use the \
page's facts, and end with a gentle call to action; alt text describes the image for people \
who cannot see it. No hashtags, no made-up facts, no links.";

fn request_body(
    model: &str,
    meta: &PageMetadata,
    hints: &Hints,
    count: usize,
) -> serde_json::Value {
    let idea = json!({
        "person_title": hints.title,
        "person_text": hints.text,
        "page_title": meta.best_title(),
        "page_description": meta.best_description(),
        "site": meta.site_name(),
        "image_alt": meta.image_alt(),
        "structured_data": meta.structured,
        "keywords": meta.declared_keywords(),
    });
    let instruction = format!(
        "Write exactly {count} drafts for this idea. Limits: title at most {TITLE_MAX_CHARS} \
         characters, description at most {DESCRIPTION_MAX_CHARS}, alt_text at most \
         {ALT_TEXT_MAX_CHARS}, at most {MAX_KEYWORDS} keywords.\n\nIdea:\n{idea}"
    );
    json!({
        "model": model,
        "messages": [
            {"role": "system", "content": SYSTEM_PROMPT},
            {"role": "user", "content": instruction},
        ],
        "response_format": {"type": "json_object"},
        "temperature": 0.7,
    })
}

/// Some models wrap JSON in a Markdown code fence even when asked not to.
fn strip_code_fence(content: &str) -> &str {
    let trimmed = content.trim();
    let Some(inner) = trimmed.strip_prefix("```") else {
        return trimmed;
    };
    let inner = inner.strip_prefix("json").unwrap_or(inner);
    inner.strip_suffix("```").unwrap_or(inner).trim()
}

fn describe_send_error(error: &reqwest::Error, timeout: Duration) -> String {
    if error.is_timeout() {
        format!(
            "the chat endpoint did not answer within {}s",
            timeout.as_secs_f32()
        )
    } else if error.is_connect() {
        "could not connect to the chat endpoint".to_owned()
    } else if error.is_decode() {
        "the chat endpoint's answer is not valid JSON".to_owned()
    } else {
        "the request to the chat endpoint failed".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_appends_chat_completions() {
        let settings = |base: &str| ChatSettings {
            base_url: Url::parse(base).expect("test URL parses"),
            model: "m".to_owned(),
            api_key: SecretString::from("k".to_owned()),
            timeout: Duration::from_secs(1),
        };
        let generator = ChatGenerator::new(settings("http://127.0.0.1:9/v1")).expect("builds");
        assert_eq!(
            generator.endpoint().as_str(),
            "http://127.0.0.1:9/v1/chat/completions"
        );
        let generator = ChatGenerator::new(settings("http://127.0.0.1:9/v1/")).expect("builds");
        assert_eq!(
            generator.endpoint().as_str(),
            "http://127.0.0.1:9/v1/chat/completions"
        );
    }

    #[test]
    fn code_fences_are_stripped() {
        assert_eq!(strip_code_fence("```json\n{\"a\":1}\n```"), "{\"a\":1}");
        assert_eq!(strip_code_fence(" {\"a\":1} "), "{\"a\":1}");
    }
}
