//! The test harness: a real sandbox on 127.0.0.1:0 and a reqwest client that never follows
//! redirects (the OAuth tests read the `Location` themselves).

use std::collections::HashMap;
use std::time::Duration;

use pinline_sandbox::{SandboxConfig, SandboxHandle, spawn};
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

pub const ALL_SCOPES: &[&str] = &[
    "boards:read",
    "boards:read_secret",
    "boards:write",
    "boards:write_secret",
    "pins:read",
    "pins:read_secret",
    "pins:write",
    "pins:write_secret",
    "user_accounts:read",
];

/// A response, read completely.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
    pub json: Value,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn location(&self) -> url::Url {
        url::Url::parse(self.header("location").expect("a Location header"))
            .expect("Location is a URL")
    }

    /// Asserts a Pinterest-shaped error body with this status and code.
    pub fn assert_error(&self, status: u16, code: i64) -> &str {
        assert_eq!(self.status.as_u16(), status, "unexpected reply: {self:?}");
        assert_eq!(
            self.json["code"],
            json!(code),
            "unexpected body: {}",
            self.text
        );
        assert_eq!(
            self.json.as_object().map(|o| o.len()),
            Some(2),
            "error bodies are exactly {{code, message}}: {}",
            self.text
        );
        self.json["message"].as_str().expect("a message")
    }
}

#[derive(Debug, Clone)]
pub struct Tokens {
    pub access: String,
    pub refresh: String,
}

pub struct TestSandbox {
    pub handle: SandboxHandle,
    pub config: SandboxConfig,
    pub http: reqwest::Client,
    pub base: String,
}

impl TestSandbox {
    pub async fn start() -> TestSandbox {
        TestSandbox::with(SandboxConfig::default()).await
    }

    pub async fn with(config: SandboxConfig) -> TestSandbox {
        let handle = spawn(config.clone(), "127.0.0.1:0".parse().expect("address"))
            .await
            .expect("sandbox starts");
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .build()
            .expect("client");
        let base = handle.base_url();
        TestSandbox {
            handle,
            config,
            http,
            base,
        }
    }

    pub async fn read(response: reqwest::Response) -> Reply {
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.expect("body");
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            text,
            json,
        }
    }

    /// A request under `/v5` with an optional bearer token and JSON body.
    pub async fn call(
        &self,
        method: Method,
        token: Option<&str>,
        path: &str,
        body: Option<Value>,
    ) -> Reply {
        let mut request = self.http.request(method, format!("{}/v5{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        TestSandbox::read(request.send().await.expect("request sent")).await
    }

    pub async fn get(&self, token: &str, path: &str) -> Reply {
        self.call(Method::GET, Some(token), path, None).await
    }

    pub async fn post(&self, token: &str, path: &str, body: Value) -> Reply {
        self.call(Method::POST, Some(token), path, Some(body)).await
    }

    /// A request to the control API.
    pub async fn control(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        let mut request = self
            .http
            .request(method, format!("{}/_sandbox{path}", self.base));
        if let Some(body) = body {
            request = request.json(&body);
        }
        TestSandbox::read(request.send().await.expect("request sent")).await
    }

    /// Creates an ordinary user and returns its id.
    pub async fn create_user(&self, username: &str) -> String {
        self.create_user_with(json!({ "username": username })).await
    }

    /// Creates a system user (whose tokens `token/revoke` accepts) and returns its id.
    pub async fn create_system_user(&self, username: &str) -> String {
        self.create_user_with(json!({ "username": username, "system": true }))
            .await
    }

    async fn create_user_with(&self, body: Value) -> String {
        let reply = self.control(Method::POST, "/users", Some(body)).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
        reply.json["id"].as_str().expect("user id").to_owned()
    }

    pub async fn mint(&self, user_id: &str, scopes: &[&str]) -> Tokens {
        let reply = self
            .control(
                Method::POST,
                &format!("/users/{user_id}/tokens"),
                Some(json!({ "scopes": scopes })),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
        Tokens {
            access: reply.json["access_token"]
                .as_str()
                .expect("access")
                .to_owned(),
            refresh: reply.json["refresh_token"]
                .as_str()
                .expect("refresh")
                .to_owned(),
        }
    }

    /// A new user with a token holding every scope pinline uses.
    pub async fn user_with_token(&self, username: &str) -> (String, Tokens) {
        let id = self.create_user(username).await;
        let tokens = self.mint(&id, ALL_SCOPES).await;
        (id, tokens)
    }

    pub async fn stats(&self) -> Value {
        self.control(Method::GET, "/stats", None).await.json
    }

    pub async fn set_faults(&self, rules: Value) {
        let reply = self.control(Method::POST, "/faults", Some(rules)).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    }

    pub async fn create_board(&self, token: &str, name: &str, privacy: &str) -> String {
        let reply = self
            .post(
                token,
                "/boards",
                json!({ "name": name, "privacy": privacy }),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
        reply.json["id"].as_str().expect("board id").to_owned()
    }

    pub async fn create_pin(&self, token: &str, board_id: &str) -> Reply {
        self.post(token, "/pins", pin_body(board_id)).await
    }

    /// `POST /v5/oauth/token` with the given Basic credentials (None: the configured ones).
    pub async fn token_request(
        &self,
        form: &[(&str, &str)],
        credentials: Option<(&str, &str)>,
    ) -> Reply {
        let (id, secret) =
            credentials.unwrap_or((&self.config.client_id, &self.config.client_secret));
        let response = self
            .http
            .post(format!("{}/v5/oauth/token", self.base))
            .basic_auth(id, Some(secret))
            .form(form)
            .send()
            .await
            .expect("request sent");
        TestSandbox::read(response).await
    }

    pub async fn refresh(&self, refresh_token: &str) -> Reply {
        self.token_request(
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token),
            ],
            None,
        )
        .await
    }

    /// `POST /v5/oauth/token/revoke` with the app's credentials.
    pub async fn revoke(&self, token: &str, hint: &str) -> Reply {
        let response = self
            .http
            .post(format!("{}/v5/oauth/token/revoke", self.base))
            .basic_auth(&self.config.client_id, Some(&self.config.client_secret))
            .form(&[("token", token), ("token_type_hint", hint)])
            .send()
            .await
            .expect("request sent");
        TestSandbox::read(response).await
    }
}

/// A real 1×1 grey baseline JPEG (141 bytes, decodable by ordinary image libraries), base64.
pub const TINY_JPEG_BASE64: &str = "/9j/2wBDAAEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQH/wAALCAABAAEBAREA/8QAFAABAAAAAAAAAAAAAAAAAAAAAP/EABQQAQAAAAAAAAAAAAAAAAAAAAD/2gAIAQEAAD8AP//Z";

/// A real 1×1 white greyscale PNG (67 bytes), base64.
pub const TINY_PNG_BASE64: &str =
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGP4DwABAQEAsTj2FAAAAABJRU5ErkJggg==";

pub fn pin_body(board_id: &str) -> Value {
    json!({
        "board_id": board_id,
        "title": "A pin",
        "link": "https://example.invalid/recipe",
        "media_source": { "source_type": "image_url", "url": "https://example.invalid/a.jpg" },
    })
}

/// The `name → value` pairs of a consent form: hidden inputs, the selected user option and the
/// new-user text field. A deliberately small HTML reader: the page is ours and regular.
pub fn form_fields(html: &str) -> HashMap<String, String> {
    let mut fields = HashMap::new();
    for tag in html.split('<').skip(1) {
        let tag = tag.split('>').next().unwrap_or("");
        if tag.starts_with("input ") {
            if let (Some(name), Some(value)) = (attribute(tag, "name"), attribute(tag, "value")) {
                fields.insert(name, value);
            }
        } else if tag.starts_with("option ")
            && !fields.contains_key("user_id")
            && let Some(value) = attribute(tag, "value")
        {
            fields.insert("user_id".to_owned(), value);
        }
    }
    fields
}

fn attribute(tag: &str, name: &str) -> Option<String> {
    let start = tag.find(&format!(" {name}=\""))? + name.len() + 3;
    let end = tag[start..].find('"')? + start;
    Some(unescape(&tag[start..end]))
}

pub fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

pub fn query_map(url: &url::Url) -> HashMap<String, String> {
    url.query_pairs().into_owned().collect()
}
