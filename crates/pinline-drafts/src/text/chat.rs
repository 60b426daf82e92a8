//! Pin copy from an OpenAI-compatible chat model, with the rules as a safety net.
//!
//! One `POST {base_url}/chat/completions` asks for a JSON object (`response_format:
//! json_object`) holding exactly `count` drafts. The model is told the page's language, what
//! the page is about and the facts read from it (written the language's way), the page's own
//! sentences, one angle per draft, Pinterest's limits and the phrases it must not use.
//!
//! Its answer is checked by the same rules as every draft ([`crate::quality::check_copies`]):
//! within the limits as written, in the page's language, without filler, with alt text that
//! names something, and descriptions that differ. Any failure — a connection error, the
//! timeout, a non-2xx status, a body that is not the expected JSON, too few or empty drafts, or
//! an answer that breaks a rule — makes the generator answer with [`RuleGenerator`]'s copy
//! instead, labelled [`GeneratorUsed::RulesAfterChatFailed`] with the reason. Drafting never
//! fails because a model did.
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
    MAX_KEYWORDS, PinCopy, RuleGenerator, TITLE_MAX_CHARS, extract_keywords, finish_copy, rules,
};
use crate::DraftError;
use crate::language::Language;
use crate::metadata::PageMetadata;
use crate::quality::{BANNED_PHRASES, check_copies};

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
        let (brief, language) = rules::brief(meta, hints, count);
        let body = request_body(&self.settings.model, brief, count);
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
        self.validate(drafts, meta, hints, count, &language)
    }

    fn validate(
        &self,
        drafts: ChatDrafts,
        meta: &PageMetadata,
        hints: &Hints,
        count: usize,
        language: &Language,
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
        let usable: Vec<ChatDraft> = usable.into_iter().take(count).collect();
        for (index, draft) in usable.iter().enumerate() {
            let over = draft.title.chars().count() > TITLE_MAX_CHARS
                || draft.description.chars().count() > DESCRIPTION_MAX_CHARS
                || draft
                    .alt_text
                    .as_ref()
                    .is_some_and(|alt| alt.chars().count() > ALT_TEXT_MAX_CHARS);
            if over {
                return Err(format!(
                    "draft {} of the chat answer is over the limits",
                    index + 1
                ));
            }
        }
        let extracted = extract_keywords(meta, hints, MAX_KEYWORDS);
        // The rules' alt text for the same variant stands in where the model wrote none.
        let rules_copy = self.rules.write(meta, hints, count, GeneratorUsed::Rules);
        let generator = GeneratorUsed::Chat {
            model: self.settings.model.clone(),
        };
        let copies: Vec<PinCopy> = usable
            .into_iter()
            .enumerate()
            .map(|(index, draft)| {
                let alt_text = draft
                    .alt_text
                    .filter(|alt| !alt.trim().is_empty())
                    .or_else(|| rules_copy.get(index).map(|copy| copy.alt_text.clone()))
                    .unwrap_or_default();
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
            .collect();
        check_copies(&copies, language)
            .map_err(|broken| format!("the chat answer breaks a rule: {broken}"))?;
        Ok(copies)
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
\"keywords\": [string]}]}. Write every word in the idea's language. Each draft takes the angle \
it is given and uses different facts and sentences from the others, with its own title, \
description and alt text; no two descriptions may share most of their words. Use only the \
facts given; no made-up facts, no hashtags, no links, no calls to action and none of the banned \
phrases. Alt text describes the picture for people who cannot see it, from what the page says \
about it.";

fn request_body(model: &str, brief: serde_json::Value, count: usize) -> serde_json::Value {
    let request = json!({
        "instruction": format!("Write exactly {count} drafts for this idea, one per angle."),
        "limits": {
            "title_characters": TITLE_MAX_CHARS,
            "description_characters": DESCRIPTION_MAX_CHARS,
            "alt_text_characters": ALT_TEXT_MAX_CHARS,
            "keywords": MAX_KEYWORDS,
        },
        "banned_phrases": BANNED_PHRASES,
        "idea": brief,
    });
    json!({
        "model": model,
        "messages": [
            {"role": "system", "content": SYSTEM_PROMPT},
            {"role": "user", "content": request.to_string()},
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
