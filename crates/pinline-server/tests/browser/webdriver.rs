//! A small W3C WebDriver client over reqwest, and the chromedriver process it talks to.
//!
//! WebDriver is a small JSON protocol; the few commands the browser test needs are not worth a
//! client crate with its own HTTP and TLS stack.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use base64::Engine;
use serde_json::{Value, json};

/// The key W3C WebDriver names element references with.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// Finds chromedriver: `PINLINE_TEST_CHROMEDRIVER`, else `chromedriver` on `PATH`.
pub fn find_chromedriver() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("PINLINE_TEST_CHROMEDRIVER") {
        return Some(PathBuf::from(path));
    }
    find_on_path("chromedriver")
}

/// Finds the browser: `PINLINE_TEST_CHROMIUM`, else `chromium` on `PATH` (Debian's package).
fn find_chromium() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("PINLINE_TEST_CHROMIUM") {
        return Some(PathBuf::from(path));
    }
    find_on_path("chromium")
}

fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// A running chromedriver, killed when dropped.
pub struct Driver {
    child: Child,
    pub url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Driver {
    /// Starts chromedriver on a free loopback port and waits until it is ready.
    pub async fn start(binary: &Path, http: &reqwest::Client) -> Driver {
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
            listener.local_addr().expect("addr").port()
        };
        let child = Command::new(binary)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let driver = Driver {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let until = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let ready = http
                .get(format!("{}/status", driver.url))
                .send()
                .await
                .ok()
                .and_then(|r| r.status().is_success().then_some(()));
            if ready.is_some() {
                return driver;
            }
            assert!(
                tokio::time::Instant::now() < until,
                "chromedriver did not become ready"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// One browser session; Chromium quits when it is dropped, also when a test panics.
pub struct Browser {
    http: reqwest::Client,
    /// chromedriver's `host:port`.
    driver_addr: String,
    session_id: String,
    session_url: String,
}

impl Drop for Browser {
    fn drop(&mut self) {
        self.quit();
    }
}

impl Browser {
    /// A headless Chromium with its own profile directory.
    pub async fn open(driver: &Driver, http: &reqwest::Client, profile_dir: &Path) -> Browser {
        let mut options = json!({
            "args": [
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-dev-shm-usage",
                "--window-size=1280,1000",
                format!("--user-data-dir={}", profile_dir.display()),
            ],
        });
        if let Some(binary) = find_chromium() {
            options["binary"] = json!(binary.display().to_string());
        }
        let capabilities = json!({
            "capabilities": {
                "alwaysMatch": {
                    "browserName": "chrome",
                    "pageLoadStrategy": "normal",
                    "goog:chromeOptions": options,
                }
            }
        });
        let response: Value = http
            .post(format!("{}/session", driver.url))
            .json(&capabilities)
            .send()
            .await
            .expect("new session")
            .json()
            .await
            .expect("new session JSON");
        let session_id = response["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {response}"))
            .to_owned();
        Browser {
            http: http.clone(),
            driver_addr: driver.url.trim_start_matches("http://").to_owned(),
            session_url: format!("{}/session/{session_id}", driver.url),
            session_id,
        }
    }

    /// Ends the session, which quits Chromium. Synchronous (a plain HTTP request on a socket)
    /// so that it also works from `Drop` while a test unwinds; chromedriver itself is killed
    /// right after, which would leave the browser running.
    pub fn quit(&self) {
        use std::io::{Read, Write};
        let Ok(mut socket) = std::net::TcpStream::connect(&self.driver_addr) else {
            return;
        };
        let _ = socket.set_read_timeout(Some(Duration::from_secs(10)));
        let request = format!(
            "DELETE /session/{} HTTP/1.1\r\nHost: {}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            self.session_id, self.driver_addr
        );
        if socket.write_all(request.as_bytes()).is_ok() {
            let mut answer = Vec::new();
            let _ = socket.read_to_end(&mut answer);
        }
    }

    async fn command(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.session_url));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response: Value = request
            .send()
            .await
            .expect("WebDriver command")
            .json()
            .await
            .expect("WebDriver JSON");
        if let Some(error) = response["value"]["error"].as_str() {
            panic!(
                "WebDriver {path}: {error}: {}",
                response["value"]["message"]
            );
        }
        response["value"].clone()
    }

    pub async fn goto(&self, url: &str) {
        self.command(reqwest::Method::POST, "/url", Some(json!({ "url": url })))
            .await;
    }

    pub async fn current_url(&self) -> String {
        self.command(reqwest::Method::GET, "/url", None)
            .await
            .as_str()
            .expect("url")
            .to_owned()
    }

    pub async fn source(&self) -> String {
        self.command(reqwest::Method::GET, "/source", None)
            .await
            .as_str()
            .expect("source")
            .to_owned()
    }

    pub async fn refresh(&self) {
        self.command(reqwest::Method::POST, "/refresh", Some(json!({})))
            .await;
    }

    /// The first element matching a CSS selector, or `None`.
    pub async fn find(&self, css: &str) -> Option<String> {
        let response: Value = self
            .http
            .post(format!("{}/element", self.session_url))
            .json(&json!({ "using": "css selector", "value": css }))
            .send()
            .await
            .expect("find element")
            .json()
            .await
            .expect("find element JSON");
        response["value"][ELEMENT_KEY].as_str().map(str::to_owned)
    }

    async fn element(&self, css: &str) -> String {
        match self.find(css).await {
            Some(element) => element,
            None => panic!(
                "no element `{css}` on {}:\n{}",
                self.current_url().await,
                self.source().await
            ),
        }
    }

    pub async fn click(&self, css: &str) {
        let element = self.element(css).await;
        self.command(
            reqwest::Method::POST,
            &format!("/element/{element}/click"),
            Some(json!({})),
        )
        .await;
    }

    pub async fn type_into(&self, css: &str, text: &str) {
        let element = self.element(css).await;
        self.command(
            reqwest::Method::POST,
            &format!("/element/{element}/value"),
            Some(json!({ "text": text })),
        )
        .await;
    }

    /// Chooses the `<option>` whose text is `label` in the first `<select>`.
    pub async fn choose_option(&self, label: &str) {
        let response: Value = self
            .http
            .post(format!("{}/elements", self.session_url))
            .json(&json!({ "using": "css selector", "value": "option" }))
            .send()
            .await
            .expect("options")
            .json()
            .await
            .expect("options JSON");
        let options = response["value"].as_array().cloned().unwrap_or_default();
        for option in options {
            let Some(id) = option[ELEMENT_KEY].as_str() else {
                continue;
            };
            let text = self
                .command(reqwest::Method::GET, &format!("/element/{id}/text"), None)
                .await;
            if text.as_str().map(str::trim) == Some(label) {
                self.command(
                    reqwest::Method::POST,
                    &format!("/element/{id}/click"),
                    Some(json!({})),
                )
                .await;
                return;
            }
        }
        panic!("no option `{label}` on {}", self.current_url().await);
    }

    /// Waits until the page's source satisfies `check`, reloading between looks when `reload`.
    pub async fn wait_for(
        &self,
        what: &str,
        deadline: Duration,
        reload: bool,
        check: impl Fn(&str, &str) -> bool,
    ) {
        let until = tokio::time::Instant::now() + deadline;
        loop {
            let url = self.current_url().await;
            let source = self.source().await;
            if check(&url, &source) {
                return;
            }
            assert!(
                tokio::time::Instant::now() < until,
                "timed out waiting for {what}; at {url}:\n{source}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
            if reload {
                self.refresh().await;
            }
        }
    }

    /// Saves a PNG screenshot as `dir/name.png`, prints and returns its path.
    pub async fn screenshot(&self, dir: &Path, name: &str) -> PathBuf {
        let data = self
            .command(reqwest::Method::GET, "/screenshot", None)
            .await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(data.as_str().expect("screenshot data"))
            .expect("screenshot base64");
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).expect("write screenshot");
        println!("screenshot: {}", path.display());
        path
    }
}
