//! The CLI's way to a running pinline: its HTTP API, with the URL and API key from flags or the
//! environment. Errors carry the API's own code and message.

use anyhow::{Context, bail};
use clap::Args;
use serde_json::Value;

/// Where the running pinline is and how to authenticate. `Debug` never shows the key.
#[derive(Clone, Args)]
pub struct ApiArgs {
    /// URL of a running pinline (`pinline serve`).
    #[arg(
        long = "url",
        env = "PINLINE_URL",
        default_value = "http://127.0.0.1:8080"
    )]
    pub url: String,

    /// API key (`pinline keys create` prints one).
    #[arg(long = "api-key", env = "PINLINE_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,

    /// Print JSON instead of tables.
    #[arg(long, global = true)]
    pub json: bool,
}

impl std::fmt::Debug for ApiArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiArgs")
            .field("url", &self.url)
            .field("api_key", &self.api_key.as_ref().map(|_| "[redacted]"))
            .field("json", &self.json)
            .finish()
    }
}

/// A small client for pinline's `/v1` API.
#[derive(Debug)]
pub struct ApiClient {
    http: reqwest::Client,
    base: String,
    key: String,
}

impl ApiClient {
    pub fn new(args: &ApiArgs) -> anyhow::Result<ApiClient> {
        let Some(key) = args.api_key.clone().filter(|k| !k.is_empty()) else {
            bail!(
                "no API key: pass --api-key or set PINLINE_API_KEY (create one with `pinline keys create --profile NAME`)"
            );
        };
        Ok(ApiClient {
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(60))
                .build()
                .context("while setting up the HTTP client")?,
            base: args.url.trim_end_matches('/').to_owned(),
            key,
        })
    }

    /// Sends a request and returns the JSON body, or an error with the API's message.
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<Value> {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.key);
        if let Some(body) = body {
            request = request.json(body);
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
        // The message and field can echo what was sent, or come from a proxy in between.
        let json = crate::terminal::clean_value(&json);
        let text = crate::terminal::clean(&text);
        let code = json["error"]["code"].as_str().unwrap_or("error");
        let message = json["error"]["message"].as_str().unwrap_or(&text);
        match json["error"]["field"].as_str() {
            Some(field) => bail!(
                "{message} (field `{field}`, {code}, HTTP {})",
                status.as_u16()
            ),
            None => bail!("{message} ({code}, HTTP {})", status.as_u16()),
        }
    }

    /// Downloads a binary body (an image), or fails with the API's message.
    pub async fn get_bytes(&self, path: &str) -> anyhow::Result<Vec<u8>> {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.key)
            .send()
            .await
            .with_context(|| format!("cannot reach pinline at {}", self.base))?;
        let status = response.status();
        if !status.is_success() {
            bail!("{path} answered HTTP {}", status.as_u16());
        }
        Ok(response
            .bytes()
            .await
            .context("while reading the body")?
            .to_vec())
    }
}
