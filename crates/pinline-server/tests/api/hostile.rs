//! Hostile input: NUL and control characters in bodies, path ids and query values, duplicate
//! keys and positional arrays, two `Authorization` headers, the headers every response carries,
//! and slow clients that never finish their request head.

use std::time::{Duration, Instant};

use pinline_server::ConnectionLimits;
use pinline_store::backend_tests;
use pinline_store::testing::TestDatabase;
use reqwest::Method;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::{TestApp, captured_logs, error_code, eventually, spawn_app, spawn_app_with};

backend_tests!(
    nul_and_controls_are_refused_before_the_database,
    bidi_controls_are_refused_and_joiners_kept,
    bodies_are_read_strictly,
    two_authorization_headers_are_refused,
    every_route_has_its_headers_and_the_error_shape,
    slow_clients_are_dropped_while_health_stays_fast,
    connections_beyond_the_cap_wait_for_a_free_slot,
);

fn post_body(account: &str, board: &str) -> Value {
    json!({
        "account_id": account,
        "board_id": board,
        "title": "Lemon tart",
        "description": "Sharp and sweet.",
        "image_url": "https://example.invalid/tart.jpg",
    })
}

/// Sends `body` as it is (not re-encoded), for JSON that `serde_json::Value` cannot hold.
async fn send_raw(app: &TestApp, method: Method, path: &str, body: &str) -> crate::support::Reply {
    let response = app
        .http
        .request(method, format!("{}{path}", app.base_url))
        .bearer_auth(&app.key_alpha)
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .expect("API call");
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    let json = serde_json::from_str(&text).unwrap_or(Value::Null);
    crate::support::Reply { status, text, json }
}

fn assert_refused(reply: &crate::support::Reply, status: u16, code: &str, field: Option<&str>) {
    assert_eq!(reply.status, status, "{}", reply.text);
    assert_eq!(error_code(reply), code, "{}", reply.text);
    assert_eq!(
        reply.json["error"]["field"].as_str(),
        field,
        "{}",
        reply.text
    );
}

async fn nul_and_controls_are_refused_before_the_database(db: TestDatabase) {
    let app = spawn_app(db).await;
    let (account, board) = app.account_with_board("maker").await;
    let key = Some(app.key_alpha.as_str());

    // Text fields of a post, alone and in a batch.
    for (field, value) in [
        ("title", "a\u{0}b"),
        ("title", "\u{1b}]0;owned\u{7}\u{1b}[2J"),
        ("title", "two\nlines"),
        ("description", "bell\u{7}"),
        ("description", "c1\u{9b}31m"),
        ("alt_text", "del\u{7f}"),
        ("link", "https://example.invalid/\u{0}"),
        ("account_id", "\u{0}"),
        ("board_id", "12\u{0}"),
    ] {
        let mut body = post_body(&account, &board);
        body[field] = json!(value);
        let reply = app
            .api(Method::POST, "/v1/posts", key, Some(body.clone()))
            .await;
        assert_refused(&reply, 422, "invalid_field", Some(field));
        let batch = app
            .api(
                Method::POST,
                "/v1/posts/batch",
                key,
                Some(json!({"posts": [body]})),
            )
            .await;
        assert_eq!(batch.status, 200, "{}", batch.text);
        assert_eq!(
            batch.json["results"][0]["status"],
            json!(422),
            "{}",
            batch.text
        );
        assert_eq!(batch.json["results"][0]["error"]["field"], json!(field));
    }
    // Descriptions are documented as multi-line.
    let mut body = post_body(&account, &board);
    body["description"] = json!("Sharp.\nSweet.\tCrisp.");
    let reply = app.api(Method::POST, "/v1/posts", key, Some(body)).await;
    assert_eq!(reply.status, 202, "{}", reply.text);
    let post_id = reply.json["id"].as_str().expect("id").to_owned();

    // Edits, other bodies.
    let reply = app
        .api(
            Method::PATCH,
            &format!("/v1/posts/{post_id}"),
            key,
            Some(json!({"title": "x\u{0}"})),
        )
        .await;
    assert_refused(&reply, 422, "invalid_field", Some("title"));
    let reply = app
        .api(
            Method::POST,
            "/v1/webhooks",
            key,
            Some(json!({"url": "https://hooks.invalid/\u{0}", "events": ["post.published"]})),
        )
        .await;
    assert_refused(&reply, 422, "invalid_field", Some("url"));
    let reply = app
        .api(
            Method::POST,
            &format!("/v1/accounts/{account}/boards"),
            key,
            Some(json!({"name": "Re\u{0}cipes"})),
        )
        .await;
    assert_refused(&reply, 422, "invalid_field", Some("name"));

    // Path ids: a NUL, a control, or anything that is not an id names nothing.
    for path in [
        "/v1/posts/a%00b".to_owned(),
        format!("/v1/posts/{post_id}%00"),
        "/v1/posts/%1B%5B2J".to_owned(),
        "/v1/posts/not-an-id".to_owned(),
        "/v1/accounts/a%00b".to_owned(),
        "/v1/webhooks/a%00b".to_owned(),
        "/v1/webhooks/00000000-0000-0000-0000-000000000000/deliveries/a%00b/redeliver".to_owned(),
        "/v1/drafts/a%00b".to_owned(),
        "/dashboard/posts/a%00b".to_owned(),
    ] {
        for method in [Method::GET, Method::DELETE] {
            let reply = app.api(method.clone(), &path, key, None).await;
            assert!(
                reply.status == 404 || reply.status == 405,
                "{method} {path}: {}",
                reply.text
            );
            error_code(&reply);
        }
    }
    // Query values, named.
    for (query, field) in [
        ("cursor=1.a%00b", "cursor"),
        ("account_id=%00", "account_id"),
        ("status=queued%07", "status"),
        ("from=2026-01-01T00:00:00Z%00", "from"),
        // Ids that are not ids, inside a cursor or alone.
        ("cursor=1.not-an-id", "cursor"),
        ("account_id=not-an-id", "account_id"),
    ] {
        let reply = app
            .api(Method::GET, &format!("/v1/posts?{query}"), key, None)
            .await;
        assert_refused(&reply, 422, "invalid_field", Some(field));
    }
    let reply = app
        .api(Method::GET, "/v1/drafts?cursor=1.%00", key, None)
        .await;
    assert_refused(&reply, 422, "invalid_field", Some("cursor"));
    let reply = app
        .api(Method::GET, "/oauth/callback?state=%00&code=x", None, None)
        .await;
    assert_refused(&reply, 422, "invalid_field", Some("state"));

    // Nothing reached the database: no error from it was logged.
    let logs = captured_logs();
    assert!(!logs.contains("invalid byte sequence"), "a NUL reached SQL");
}

async fn bidi_controls_are_refused_and_joiners_kept(db: TestDatabase) {
    let app = spawn_app(db).await;
    let (account, board) = app.account_with_board("maker").await;
    let key = Some(app.key_alpha.as_str());
    for title in ["\u{202e}trat nomel", "a\u{2066}b\u{2069}"] {
        let mut body = post_body(&account, &board);
        body["title"] = json!(title);
        let reply = app.api(Method::POST, "/v1/posts", key, Some(body)).await;
        assert_refused(&reply, 422, "invalid_field", Some("title"));
    }
    // Zero-width joiners and non-joiners, and the implicit direction marks, are text.
    let title = "👩\u{200d}🍳 שלום\u{200f} نان\u{200c}ها";
    let mut body = post_body(&account, &board);
    body["title"] = json!(title);
    let reply = app.api(Method::POST, "/v1/posts", key, Some(body)).await;
    assert_eq!(reply.status, 202, "{}", reply.text);
    assert_eq!(reply.json["title"], json!(title));
}

async fn bodies_are_read_strictly(db: TestDatabase) {
    let app = spawn_app(db).await;
    let (account, board) = app.account_with_board("maker").await;
    let post = post_body(&account, &board).to_string();
    let duplicated = post.replacen('{', "{\"title\": \"first\", ", 1);

    // A key sent twice.
    let reply = send_raw(&app, Method::POST, "/v1/posts", &duplicated).await;
    assert_refused(&reply, 422, "invalid_body", Some("title"));
    let reply = send_raw(
        &app,
        Method::POST,
        "/v1/posts/batch",
        &format!("{{\"posts\": [{post}, {duplicated}]}}"),
    )
    .await;
    assert_refused(&reply, 422, "invalid_body", Some("posts[1].title"));
    let reply = send_raw(
        &app,
        Method::POST,
        "/v1/webhooks",
        r#"{"url": "https://a.invalid/", "url": "https://b.invalid/", "events": ["post.published"]}"#,
    )
    .await;
    assert_refused(&reply, 422, "invalid_body", Some("url"));

    // Arrays where the document says object.
    let positional = json!([account, board, null, null, "Lemon tart"]).to_string();
    for path in [
        "/v1/posts",
        "/v1/posts/batch",
        "/v1/webhooks",
        "/v1/accounts/connect",
    ] {
        let reply = send_raw(&app, Method::POST, path, &positional).await;
        assert_eq!(reply.status, 422, "{path}: {}", reply.text);
        assert_eq!(error_code(&reply), "invalid_body", "{path}");
    }
    let reply = send_raw(
        &app,
        Method::POST,
        "/v1/posts/batch",
        &format!("{{\"posts\": [{post}, {positional}]}}"),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.json["results"][0]["status"], json!(202));
    assert_eq!(reply.json["results"][1]["status"], json!(422));
    assert_eq!(
        reply.json["results"][1]["error"]["code"],
        json!("invalid_body")
    );
    let mut nested = post_body(&account, &board);
    nested.as_object_mut().expect("object").remove("image_url");
    nested["media_source"] = json!(["image_url", "https://example.invalid/a.jpg"]);
    let reply = send_raw(&app, Method::POST, "/v1/posts", &nested.to_string()).await;
    assert_refused(&reply, 422, "invalid_body", Some("media_source"));
    let reply = send_raw(
        &app,
        Method::POST,
        &format!("/v1/accounts/{account}/boards"),
        r#"["Recipes"]"#,
    )
    .await;
    assert_eq!(reply.status, 422, "{}", reply.text);

    // Unknown fields, as before, named.
    let mut unknown = post_body(&account, &board);
    unknown["colour"] = json!("red");
    let reply = send_raw(&app, Method::POST, "/v1/posts", &unknown.to_string()).await;
    assert_refused(&reply, 422, "invalid_body", Some("colour"));
    // Not JSON at all is a 400; JSON sent as something else a 415.
    let reply = send_raw(&app, Method::POST, "/v1/posts", "{\"title\": ").await;
    assert_eq!((reply.status, error_code(&reply)), (400, "invalid_body"));
    let reply = app
        .http
        .post(format!("{}/v1/posts", app.base_url))
        .bearer_auth(&app.key_alpha)
        .header("content-type", "text/plain")
        .body(post)
        .send()
        .await
        .expect("API call");
    assert_eq!(reply.status().as_u16(), 415);
}

async fn two_authorization_headers_are_refused(db: TestDatabase) {
    let app = spawn_app(db).await;
    let valid = format!("Bearer {}", app.key_alpha);
    for pair in [
        [valid.as_str(), "Bearer bogus"],
        ["Bearer bogus", valid.as_str()],
    ] {
        let mut headers = reqwest::header::HeaderMap::new();
        for value in pair {
            headers.append(
                reqwest::header::AUTHORIZATION,
                value.parse().expect("header value"),
            );
        }
        let response = app
            .http
            .get(format!("{}/v1/posts", app.base_url))
            .headers(headers)
            .send()
            .await
            .expect("API call");
        assert_eq!(response.status().as_u16(), 400);
        let body: Value = response.json().await.expect("JSON");
        assert_eq!(body["error"]["code"], json!("invalid_header"));
        assert_eq!(body["error"]["field"], json!("Authorization"));
    }
    // One is fine.
    let reply = app
        .api(Method::GET, "/v1/posts", Some(&app.key_alpha), None)
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
}

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// Every route: the documented operations (from the OpenAPI document the router is built with)
/// and the routes outside it (the document itself, its page, the dashboard).
async fn routes(app: &TestApp) -> Vec<(Method, String)> {
    let document: Value = app
        .http
        .get(format!("{}/openapi.json", app.base_url))
        .send()
        .await
        .expect("document")
        .json()
        .await
        .expect("JSON");
    let mut routes = Vec::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        // Any id: unknown, so each answer is the route's own 404 or a refusal.
        let path = path
            .split('/')
            .map(|segment| {
                if segment.starts_with('{') {
                    "0193a5b2-7c1e-7f00-8000-000000000001"
                } else {
                    segment
                }
            })
            .collect::<Vec<_>>()
            .join("/");
        for method in METHODS {
            if item.get(method).is_some() {
                routes.push((method.to_uppercase().parse().expect("method"), path.clone()));
            }
        }
    }
    for (method, path) in pinline_server::UNDOCUMENTED_ROUTES {
        let path = path.replace("{account_id}", "0193a5b2-7c1e-7f00-8000-000000000001");
        let path = path.replace("{post_id}", "0193a5b2-7c1e-7f00-8000-000000000001");
        let path = path.replace("{draft_id}", "0193a5b2-7c1e-7f00-8000-000000000001");
        routes.push((method.parse().expect("method"), path));
    }
    routes
}

async fn every_route_has_its_headers_and_the_error_shape(db: TestDatabase) {
    let app = spawn_app(db).await;
    let routes = routes(&app).await;
    assert!(routes.len() > 30, "{routes:?}");
    let mut pages = 0;
    for (method, path) in &routes {
        let mut request = app
            .http
            .request(method.clone(), format!("{}{path}", app.base_url))
            .bearer_auth(&app.key_alpha);
        if [Method::POST, Method::PATCH].contains(method) {
            request = request.json(&json!({}));
        }
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        assert!(status < 500, "{method} {path}: {status}");
        let headers = response.headers().clone();
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        assert_eq!(
            header("x-content-type-options"),
            "nosniff",
            "{method} {path}"
        );
        assert!(!header("cache-control").is_empty(), "{method} {path}");
        assert!(!header("referrer-policy").is_empty(), "{method} {path}");
        if header("content-type").starts_with("text/html") {
            pages += 1;
            let policy = header("content-security-policy");
            assert!(
                policy.contains("frame-ancestors 'none'"),
                "{method} {path}: {policy}"
            );
            assert!(
                policy.contains("default-src 'none'"),
                "{method} {path}: {policy}"
            );
        } else if header("content-type").starts_with("application/json") && path.starts_with("/v1/")
        {
            // API answers carry keys, secrets and private data: never stored.
            assert_eq!(header("cache-control"), "no-store", "{method} {path}");
        }
        let text = response.text().await.expect("body");
        if status >= 400 && !text.starts_with('<') {
            let body: Value = serde_json::from_str(&text)
                .unwrap_or_else(|_| panic!("{method} {path}: {status} {text}"));
            assert!(body["error"]["code"].is_string(), "{method} {path}: {text}");
        }
    }
    // The callback page, the reference and the sign-in form at least.
    assert!(pages >= 3, "{pages} HTML pages");

    // A method a path does not serve: 405 in the error shape, on every path.
    for (_, path) in &routes {
        let served: Vec<&Method> = routes
            .iter()
            .filter(|(_, p)| p == path)
            .map(|(m, _)| m)
            .collect();
        let Some(other) = [Method::PUT, Method::PATCH, Method::DELETE, Method::POST]
            .into_iter()
            .find(|m| !served.contains(&m))
        else {
            continue;
        };
        let reply = app
            .api(other.clone(), path, Some(&app.key_alpha), None)
            .await;
        assert_eq!(reply.status, 405, "{other} {path}: {}", reply.text);
        assert_eq!(error_code(&reply), "method_not_allowed", "{other} {path}");
    }
}

async fn slow_clients_are_dropped_while_health_stays_fast(db: TestDatabase) {
    const TIMEOUT: Duration = Duration::from_millis(1500);
    let app = spawn_app_with(
        db,
        ConnectionLimits {
            header_read_timeout: TIMEOUT,
            ..ConnectionLimits::default()
        },
    )
    .await;
    let address = app.base_url.trim_start_matches("http://").to_owned();
    // The health checks below go over one kept-alive connection, opened now: what is measured
    // is the server's answer, not a connect racing 200 others.
    let reply = app.api(Method::GET, "/healthz", None, None).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let opened = Instant::now();
    let mut clients = tokio::task::JoinSet::new();
    for n in 0..200 {
        let address = address.clone();
        clients.spawn(async move {
            let mut stream = tokio::net::TcpStream::connect(&address).await.expect("connect");
            let connected = Instant::now();
            stream
                .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
                .await
                .expect("first line");
            // A header line now and then, never the blank line that ends the head; until the
            // server hangs up (a read of 0 bytes or an error).
            let mut pace = tokio::time::interval(Duration::from_millis(250));
            let mut buffer = [0u8; 256];
            loop {
                tokio::select! {
                    read = stream.read(&mut buffer) => match read {
                        Ok(0) | Err(_) => return (connected, Instant::now()),
                        Ok(_) => {}
                    },
                    _ = pace.tick() => {
                        if stream.write_all(format!("X-Slow-{n}: 1\r\n").as_bytes()).await.is_err() {
                            return (connected, Instant::now());
                        }
                    }
                }
            }
        });
    }
    // While they hold their connections, health answers quickly: every time well within the
    // timeout (the suite runs many tests at once on few cores), most times at once.
    let mut took = Vec::new();
    for _ in 0..10 {
        let started = Instant::now();
        let reply = app.api(Method::GET, "/healthz", None, None).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        took.push(started.elapsed());
    }
    took.sort();
    let (median, slowest) = (took[took.len() / 2], took[took.len() - 1]);
    assert!(median < Duration::from_millis(250), "/healthz: {took:?}");
    assert!(slowest < TIMEOUT, "/healthz: {took:?}");

    // Every slow client is dropped within the timeout of its connection (plus scheduling
    // slack). The deadline for all of them is longer: with 200 connects at once, a few wait for
    // a retransmitted SYN before they even start.
    let mut last = opened;
    let mut held = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let mut dropped = 0;
    while dropped < 200 {
        let closed = tokio::time::timeout_at(deadline, clients.join_next())
            .await
            .expect("every slow client is dropped before the deadline")
            .expect("a client")
            .expect("client task");
        let (connected, closed) = closed;
        held.push(closed - connected);
        last = last.max(closed);
        dropped += 1;
    }
    let all_dropped = last - opened;
    held.sort();
    let (shortest, longest) = (held[0], held[held.len() - 1]);
    eprintln!(
        "slowloris: 200 connections held {shortest:?}–{longest:?} each (timeout {TIMEOUT:?}), all dropped {all_dropped:?} after opening; /healthz meanwhile: median {median:?}, slowest {slowest:?}"
    );
    assert!(
        shortest > TIMEOUT - Duration::from_millis(100),
        "{shortest:?}"
    );
    assert!(
        longest < TIMEOUT + Duration::from_millis(750),
        "{longest:?}"
    );
    // And the server is still serving. (The kept-alive connection of the checks above sat idle
    // past the header-read timeout meanwhile, so the server may close it just as it is reused:
    // a failed send is one more try, not a failure.)
    eventually(
        Duration::from_secs(5),
        "health after the slow clients",
        || async {
            let health = app
                .http
                .get(format!("{}/healthz", app.base_url))
                .send()
                .await;
            health.is_ok_and(|reply| reply.status().as_u16() == 200)
        },
    )
    .await;
}

async fn connections_beyond_the_cap_wait_for_a_free_slot(db: TestDatabase) {
    const TIMEOUT: Duration = Duration::from_millis(1000);
    let app = spawn_app_with(
        db,
        ConnectionLimits {
            header_read_timeout: TIMEOUT,
            max_connections: 4,
        },
    )
    .await;
    let address = app.base_url.trim_start_matches("http://").to_owned();
    // Four connections that send nothing take every slot...
    let mut idle = Vec::new();
    for _ in 0..4 {
        idle.push(
            tokio::net::TcpStream::connect(&address)
                .await
                .expect("connect"),
        );
    }
    // ...so a fifth is served only once the timeout has closed one of them.
    let started = Instant::now();
    let reply = app.api(Method::GET, "/healthz", None, None).await;
    let waited = started.elapsed();
    assert_eq!(reply.status, 200, "{}", reply.text);
    eprintln!("connection cap: the fifth connection waited {waited:?} (timeout {TIMEOUT:?})");
    assert!(waited > TIMEOUT / 2, "served at once: {waited:?}");
    assert!(waited < TIMEOUT * 3, "{waited:?}");
    // The idle ones were closed by the server.
    for mut stream in idle {
        let mut buffer = [0u8; 16];
        let read = tokio::time::timeout(TIMEOUT * 3, stream.read(&mut buffer))
            .await
            .expect("closed by the server");
        assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
    }
}
