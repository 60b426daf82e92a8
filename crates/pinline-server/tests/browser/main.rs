//! The dashboard in a real browser: headless Chromium driven over WebDriver (Debian's
//! `chromium` and `chromium-driver`) through sign-in, connect, a revoked account whose posts are
//! held, a reconnect and the held posts publishing. Runs on SQLite and PostgreSQL.
//!
//! Without a chromedriver binary the browser half skips with a note, unless
//! `PINLINE_TEST_REQUIRE_BROWSER=1` (CI sets it), which turns a missing browser into a failure.
//! The session and CSRF checks below need no browser and always run.

// The API suite's test app: the same server, sandbox and keys (its log capture and helpers for
// other checks are unused here).
#[allow(dead_code)]
#[path = "../api/support.rs"]
mod support;
mod webdriver;

use std::path::Path;
use std::time::Duration;

use pinline_store::backend_tests;
use pinline_store::testing::TestDatabase;
use reqwest::Method;
use serde_json::json;
use support::{TestApp, spawn_app};
use webdriver::{Browser, Driver, find_chromedriver};

backend_tests!(
    dashboard_in_a_browser,
    sessions_need_a_live_key_and_forms_need_their_csrf_token,
    pages_escape_what_apps_and_pinterest_send,
    the_calendar_reschedules_on_the_accounts_clock,
);

const DEADLINE: Duration = Duration::from_secs(30);

fn browser_required() -> bool {
    std::env::var("PINLINE_TEST_REQUIRE_BROWSER").is_ok_and(|v| v == "1")
}

async fn dashboard_in_a_browser(db: TestDatabase) {
    let Some(chromedriver) = find_chromedriver() else {
        assert!(
            !browser_required(),
            "PINLINE_TEST_REQUIRE_BROWSER=1 but no chromedriver was found: install Debian's \
             chromium and chromium-driver, or set PINLINE_TEST_CHROMEDRIVER"
        );
        eprintln!(
            "note: skipping the browser test: no chromedriver on PATH \
             (apt-get install chromium chromium-driver)"
        );
        return;
    };
    let app = spawn_app(db).await;
    let screenshots = tempfile::Builder::new()
        .prefix("pinline-browser-")
        .tempdir()
        .expect("screenshot dir")
        // Kept after the test so the screenshots can be looked at.
        .keep();
    println!("screenshots in {}", screenshots.display());
    let profile = tempfile::tempdir().expect("browser profile dir");
    let driver = Driver::start(&chromedriver, &app.http).await;
    let browser = Browser::open(&driver, &app.http, profile.path()).await;
    run_scenario(&app, &browser, &screenshots).await;
    // The browser quits (drop) before chromedriver is killed (declared earlier, dropped later).
}

async fn run_scenario(app: &TestApp, browser: &Browser, shots: &Path) {
    let base = &app.base_url;
    let sandbox = app.sandbox.base_url();
    let maker = app
        .sandbox_control("/users", json!({ "username": "maker" }))
        .await;
    let maker_id = maker["id"].as_str().expect("sandbox user id").to_owned();

    // Signing in: the dashboard sends us to the form and back.
    browser.goto(&format!("{base}/dashboard")).await;
    browser
        .wait_for("the sign-in page", DEADLINE, false, |url, _| {
            url.contains("/signin?next=/dashboard")
        })
        .await;
    browser.screenshot(shots, "01-signin").await;
    browser.type_into("#api_key", &app.key_alpha).await;
    browser.click("#signin").await;
    browser
        .wait_for("an empty dashboard", DEADLINE, false, |url, source| {
            url.ends_with("/dashboard") && source.contains("id=\"no-accounts\"")
        })
        .await;
    browser.screenshot(shots, "02-no-accounts").await;

    // Connect: the sandbox's consent page, approve, back at pinline's callback.
    browser.click("#connect").await;
    approve_at_sandbox(browser, &sandbox, base, "maker").await;
    browser.screenshot(shots, "03-connected").await;
    browser.goto(&format!("{base}/dashboard")).await;
    browser
        .wait_for("the account as active", DEADLINE, false, |_, source| {
            source.contains("@maker") && source.contains("data-status=\"active\"")
        })
        .await;
    let source = browser.source().await;
    assert!(source.contains("pins:write"), "scopes are shown");
    assert!(source.contains("expires in"), "time left is shown");
    browser.screenshot(shots, "04-account-active").await;

    let accounts = app
        .api(Method::GET, "/v1/accounts", Some(&app.key_alpha), None)
        .await;
    let account_id = accounts.json["items"][0]["id"]
        .as_str()
        .expect("account id")
        .to_owned();
    let board = app
        .api(
            Method::POST,
            &format!("/v1/accounts/{account_id}/boards"),
            Some(&app.key_alpha),
            Some(json!({ "name": "Tarts" })),
        )
        .await;
    assert_eq!(board.status, 201, "{}", board.text);
    let board_id = board.json["id"].as_str().expect("board id").to_owned();
    // A webhook that answers 405, so the delivery log has something to show.
    let hook = app
        .api(
            Method::POST,
            "/v1/webhooks",
            Some(&app.key_alpha),
            Some(json!({ "url": format!("{base}/healthz") })),
        )
        .await;
    assert_eq!(hook.status, 201, "{}", hook.text);

    // Revoked at Pinterest: the next refresh turns the account needs_reauth, and new posts are
    // accepted as held.
    app.sandbox_control(&format!("/users/{maker_id}/revoke"), json!({}))
        .await;
    let refreshed = app
        .api(
            Method::POST,
            &format!("/v1/accounts/{account_id}/refresh"),
            Some(&app.key_alpha),
            None,
        )
        .await;
    assert_eq!(refreshed.status, 409, "{}", refreshed.text);
    let mut post_ids = Vec::new();
    for n in 1..=2 {
        let post = app
            .api(
                Method::POST,
                "/v1/posts",
                Some(&app.key_alpha),
                Some(json!({
                    "account_id": account_id,
                    "board_id": board_id,
                    "title": format!("Lemon <tart> #{n}"),
                    "description": "Sharp and sweet.",
                    "link": "https://example.invalid/tart",
                    "image_url": "https://example.invalid/tart.jpg",
                })),
            )
            .await;
        assert_eq!(post.status, 202, "{}", post.text);
        // Accepted as held; a worker may already be looking at it, and then holds it again.
        assert!(
            ["held", "publishing"].contains(&post.json["status"].as_str().unwrap_or_default()),
            "{}",
            post.text
        );
        post_ids.push(post.json["id"].as_str().expect("post id").to_owned());
    }
    browser.refresh().await;
    browser
        .wait_for(
            "needs_reauth with two held posts",
            DEADLINE,
            true,
            |_, source| {
                source.contains("data-status=\"needs_reauth\"")
                    && source.matches("Lemon &lt;tart&gt; #").count() == 2
            },
        )
        .await;
    browser.screenshot(shots, "05-needs-reauth").await;

    // Reconnect: consent again; the held posts publish.
    browser.click(&format!("#reconnect-{account_id}")).await;
    approve_at_sandbox(browser, &sandbox, base, "maker").await;
    assert!(browser.source().await.contains("reconnected"));
    browser.goto(&format!("{base}/dashboard/posts")).await;
    browser
        .wait_for("both held posts published", DEADLINE, true, |_, source| {
            source.matches("data-status=\"published\"").count() == 2
        })
        .await;
    browser.screenshot(shots, "06-queue-published").await;
    browser
        .goto(&format!("{base}/dashboard/posts/{}", post_ids[0]))
        .await;
    browser
        .wait_for("the post page", DEADLINE, false, |_, source| {
            source.contains("id=\"post-status\"") && source.contains("Attempts")
        })
        .await;
    browser.screenshot(shots, "07-post").await;
    browser.goto(&format!("{base}/dashboard/webhooks")).await;
    browser
        .wait_for("the delivery log", DEADLINE, true, |_, source| {
            source.contains("account.") || source.contains("post.")
        })
        .await;
    browser.screenshot(shots, "08-webhooks").await;

    // Drafts: one idea in the form, drafts with their images, one published from its card.
    let site = recipe_site().await;
    browser.goto(&format!("{base}/dashboard/drafts")).await;
    browser
        .wait_for("the drafts page", DEADLINE, false, |_, source| {
            source.contains("id=\"no-drafts\"")
        })
        .await;
    browser
        .type_into("input[name=url]", &format!("{site}/tart"))
        .await;
    browser.click("#make-drafts").await;
    browser
        .wait_for("three drafts", DEADLINE, false, |_, source| {
            source.matches("class=\"card draft\"").count() == 3
        })
        .await;
    browser.screenshot(shots, "09-drafts").await;
    let source = browser.source().await;
    let marker = "id=\"draft-";
    let start = source.find(marker).expect("a draft card") + marker.len();
    let draft_id = source[start..start + 36].to_owned();
    browser
        .type_into(&format!("#draft-{draft_id} input[name=board]"), &board_id)
        .await;
    browser.click(&format!("#publish-{draft_id}")).await;
    browser
        .wait_for(
            "the draft's post published",
            DEADLINE,
            true,
            |url, source| {
                url.contains("/dashboard/posts/") && source.contains("id=\"post-status\">published")
            },
        )
        .await;
    browser.screenshot(shots, "10-draft-published").await;
    let source = browser.source().await;
    assert!(
        source.contains("[inline image,") && !source.contains("/9j/"),
        "the post page names the inline image instead of printing it"
    );
    let post_id = browser
        .current_url()
        .await
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_owned();
    let post = app
        .api(
            Method::GET,
            &format!("/v1/posts/{post_id}"),
            Some(&app.key_alpha),
            None,
        )
        .await;
    assert_eq!(post.json["status"], json!("published"), "{}", post.text);
    assert_eq!(post.json["board_id"], json!(board_id));

    // The account's week: the schedule saved through its form, a next_slot post in its slot,
    // and its reschedule form sent back as the browser fills it.
    browser
        .goto(&format!("{base}/dashboard/accounts/{account_id}/calendar"))
        .await;
    browser
        .wait_for("the calendar", DEADLINE, false, |_, source| {
            source.contains("id=\"save-schedule\"")
        })
        .await;
    browser
        .type_into(
            "textarea[name=slots]",
            "monday 23:59\ntuesday 23:59\nwednesday 23:59\nthursday 23:59\nfriday 23:59\nsaturday 23:59\nsunday 23:59",
        )
        .await;
    browser.click("#save-schedule").await;
    browser
        .wait_for("the saved schedule", DEADLINE, false, |_, source| {
            source.contains("class=\"entry free-slot\"")
        })
        .await;
    let slotted = app
        .api(
            Method::POST,
            "/v1/posts",
            Some(&app.key_alpha),
            Some(json!({
                "account_id": account_id,
                "board_id": board_id,
                "title": "Slotted tart",
                "image_url": "https://example.invalid/slotted.jpg",
                "publish_at": "next_slot",
            })),
        )
        .await;
    assert_eq!(slotted.status, 202, "{}", slotted.text);
    assert_eq!(slotted.json["placement"], json!("slot"));
    let slotted_id = slotted.json["id"].as_str().expect("post id").to_owned();
    browser.refresh().await;
    browser
        .wait_for("the post in its slot", DEADLINE, false, |_, source| {
            source.contains(&format!(
                "entry post in-slot\" id=\"calendar-post-{slotted_id}\""
            ))
        })
        .await;
    browser.screenshot(shots, "12-calendar").await;
    browser.click(&format!("#reschedule-{slotted_id}")).await;
    browser
        .wait_for("back on the calendar", DEADLINE, false, |url, source| {
            url.contains("/calendar?week=") && source.contains(&slotted_id)
        })
        .await;
    let moved = app
        .api(
            Method::GET,
            &format!("/v1/posts/{slotted_id}"),
            Some(&app.key_alpha),
            None,
        )
        .await;
    assert_eq!(
        moved.json["publish_at"], slotted.json["publish_at"],
        "{}",
        moved.text
    );
    assert_eq!(
        moved.json["placement"],
        serde_json::Value::Null,
        "a time a person set is no longer the slot's"
    );

    // The numbers a person checks first, on the first page: what this process published.
    // (Read around the page: a scheduled post may publish meanwhile.)
    let before = app.publisher.metrics().totals().published;
    browser.goto(&format!("{base}/dashboard")).await;
    let source = browser.source().await;
    let after = app.publisher.metrics().totals().published;
    let marker = "id=\"now-published\">";
    let start = source.find(marker).expect("the Now section") + marker.len();
    let shown: u64 = source[start..]
        .split('<')
        .next()
        .and_then(|n| n.parse().ok())
        .expect("a number of published posts");
    assert!(
        before >= 1 && (before..=after).contains(&shown),
        "the dashboard's Now section counts {shown} published posts (this process: {before}..{after})"
    );
    assert!(source.contains("id=\"now-queued\">"), "queue depth shown");
    browser.screenshot(shots, "11-now").await;

    // No page shows a Pinterest token, an API key or the app's secret.
    let mut shown = String::new();
    for path in [
        "/dashboard".to_owned(),
        "/dashboard/posts".to_owned(),
        format!("/dashboard/posts/{}", post_ids[0]),
        "/dashboard/webhooks".to_owned(),
        "/dashboard/drafts".to_owned(),
        format!("/dashboard/accounts/{account_id}/calendar"),
    ] {
        browser.goto(&format!("{base}{path}")).await;
        shown.push_str(&browser.source().await);
    }
    for needle in [
        "pina_",
        "pinr_",
        app.key_alpha.as_str(),
        app.key_beta.as_str(),
        "sandbox-secret",
    ] {
        assert!(
            !shown.contains(needle),
            "a dashboard page shows a secret ({})",
            &needle[..5]
        );
    }

    // Another profile sees none of it: sign out, sign in as beta, and the post is "not found".
    browser.click("#signout").await;
    browser
        .wait_for("the sign-in page", DEADLINE, false, |url, _| {
            url.contains("/signin")
        })
        .await;
    browser.type_into("#api_key", &app.key_beta).await;
    browser.click("#signin").await;
    browser
        .wait_for("beta's empty dashboard", DEADLINE, false, |_, source| {
            source.contains("id=\"no-accounts\"")
        })
        .await;
    browser
        .goto(&format!("{base}/dashboard/posts/{}", post_ids[0]))
        .await;
    let source = browser.source().await;
    assert!(source.contains("Not found"), "{source}");
    assert!(!source.contains("Lemon"), "{source}");
}

/// On the sandbox's consent page: choose `username`, approve, and land on pinline's callback.
/// A local recipe page with a detailed picture, for the drafts step.
async fn recipe_site() -> String {
    use axum::http::header::CONTENT_TYPE;
    let picture = image::RgbImage::from_fn(1200, 900, |x, y| {
        let v = ((x * 7 + y * 13) % 251) as u8;
        if x > 600 {
            image::Rgb([v, 255 - v, v / 2])
        } else {
            image::Rgb([235, 225, 200])
        }
    });
    let mut png = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(picture)
        .write_to(&mut png, image::ImageFormat::Png)
        .expect("encode");
    let png = png.into_inner();
    let page = r#"<!doctype html><html><head><title>Lemon tart</title>
<meta property="og:title" content="Sharp lemon tart">
<meta property="og:description" content="A bright lemon curd in a crisp butter crust, ready in an hour.">
<meta property="og:image" content="/tart.png">
<script type="application/ld+json">{"@context":"https://schema.org","@type":"Recipe","name":"Lemon tart","recipeIngredient":["lemons","butter","flour","eggs","sugar"],"totalTime":"PT1H","keywords":"lemon, tart, baking"}</script>
</head><body></body></html>"#;
    let router = axum::Router::new()
        .route(
            "/tart",
            axum::routing::get(move || async move { ([(CONTENT_TYPE, "text/html")], page) }),
        )
        .route(
            "/tart.png",
            axum::routing::get(move || {
                let png = png.clone();
                async move { ([(CONTENT_TYPE, "image/png")], png) }
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

async fn approve_at_sandbox(browser: &Browser, sandbox: &str, base: &str, username: &str) {
    browser
        .wait_for("the sandbox's consent page", DEADLINE, false, |url, _| {
            url.starts_with(&format!("{sandbox}/oauth/"))
        })
        .await;
    browser.choose_option(username).await;
    browser.click("button[value=\"approve\"]").await;
    browser
        .wait_for("pinline's callback page", DEADLINE, false, |url, source| {
            url.starts_with(&format!("{base}/oauth/callback")) && source.contains("Connected")
        })
        .await;
}

// ----- Sessions and CSRF, without a browser ----------------------------------------------------

/// A reply with its headers.
struct Page {
    status: u16,
    location: String,
    cookies: Vec<String>,
    body: String,
}

async fn page(
    app: &TestApp,
    method: Method,
    path: &str,
    cookie: &str,
    form: Option<&[(&str, &str)]>,
) -> Page {
    let mut request = app
        .http
        .request(method, format!("{}{path}", app.base_url))
        .header("cookie", cookie);
    if let Some(form) = form {
        request = request.form(form);
    }
    let response = request.send().await.expect("dashboard request");
    let header = |name: &str| {
        response
            .headers()
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_owned))
            .collect::<Vec<_>>()
    };
    let location = header("location").into_iter().next().unwrap_or_default();
    let cookies = header("set-cookie");
    Page {
        status: response.status().as_u16(),
        location,
        cookies,
        body: response.text().await.expect("body"),
    }
}

fn hidden(body: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = body.find(&marker).expect("the hidden field") + marker.len();
    let end = body[start..].find('"').expect("end of value") + start;
    body[start..end].to_owned()
}

fn cookie_pair(cookies: &[String], name: &str) -> String {
    cookies
        .iter()
        .find(|c| c.starts_with(&format!("{name}=")))
        .and_then(|c| c.split(';').next())
        .expect("the cookie")
        .to_owned()
}

/// Signs in with `key` over plain HTTP; returns the session cookie pair.
async fn sign_in(app: &TestApp, key: &str) -> String {
    let form = page(app, Method::GET, "/signin", "", None).await;
    assert_eq!(form.status, 200);
    let signin_cookie = cookie_pair(&form.cookies, "pinline_signin");
    let token = hidden(&form.body, "signin_token");
    let signed_in = page(
        app,
        Method::POST,
        "/signin",
        &signin_cookie,
        Some(&[
            ("api_key", key),
            ("signin_token", &token),
            ("next", "/dashboard"),
        ]),
    )
    .await;
    assert_eq!(signed_in.status, 303, "{}", signed_in.body);
    assert_eq!(signed_in.location, "/dashboard");
    let session = signed_in
        .cookies
        .iter()
        .find(|c| c.starts_with("pinline_session="))
        .expect("a session cookie");
    assert!(session.contains("HttpOnly") && session.contains("SameSite=Lax"));
    assert!(!session.contains("Secure"), "plain HTTP: no Secure flag");
    cookie_pair(&signed_in.cookies, "pinline_session")
}

async fn sessions_need_a_live_key_and_forms_need_their_csrf_token(db: TestDatabase) {
    let app = spawn_app(db).await;

    // Not signed in: pages go to the form, and come back where they were.
    let root = page(&app, Method::GET, "/", "", None).await;
    assert_eq!((root.status, root.location.as_str()), (303, "/dashboard"));
    let dashboard = page(&app, Method::GET, "/dashboard", "", None).await;
    assert_eq!(dashboard.location, "/signin?next=/dashboard");
    let link = page(&app, Method::GET, "/accounts/abc/reconnect", "", None).await;
    assert_eq!(link.location, "/signin?next=/accounts/abc/reconnect");
    let forged = page(&app, Method::POST, "/dashboard/connect", "", Some(&[])).await;
    assert_eq!(forged.location, "/signin");
    let stranger = page(
        &app,
        Method::GET,
        "/dashboard",
        "pinline_session=made-up",
        None,
    )
    .await;
    assert_eq!(stranger.status, 303);

    // The sign-in form is bound to its cookie, and the key must be live.
    let form = page(&app, Method::GET, "/signin", "", None).await;
    let token = hidden(&form.body, "signin_token");
    let unbound = page(
        &app,
        Method::POST,
        "/signin",
        "",
        Some(&[("api_key", &app.key_alpha), ("signin_token", &token)]),
    )
    .await;
    assert_eq!(unbound.status, 403);
    let cookie = cookie_pair(&form.cookies, "pinline_signin");
    let wrong_key = page(
        &app,
        Method::POST,
        "/signin",
        &cookie,
        Some(&[("api_key", "pl_nope"), ("signin_token", &token)]),
    )
    .await;
    assert_eq!(wrong_key.status, 401);
    assert!(wrong_key.body.contains("unknown or revoked"));

    let session = sign_in(&app, &app.key_alpha).await;
    let accounts = page(&app, Method::GET, "/dashboard", &session, None).await;
    assert_eq!(accounts.status, 200, "{}", accounts.body);
    assert!(accounts.body.contains("id=\"no-accounts\""));
    let csrf = hidden(&accounts.body, "csrf");

    // Forms need this session's CSRF token.
    for presented in [None, Some("wrong"), Some("")] {
        let fields: Vec<(&str, &str)> = presented.map(|t| ("csrf", t)).into_iter().collect();
        let refused = page(
            &app,
            Method::POST,
            "/dashboard/connect",
            &session,
            Some(&fields),
        )
        .await;
        assert_eq!(refused.status, 403, "{presented:?}");
    }
    let connect = page(
        &app,
        Method::POST,
        "/dashboard/connect",
        &session,
        Some(&[("csrf", &csrf)]),
    )
    .await;
    assert_eq!(connect.status, 303);
    assert!(
        connect
            .location
            .starts_with(&format!("{}/oauth/?", app.sandbox.base_url())),
        "{}",
        connect.location
    );

    // Things of other profiles, or none, are not found.
    for path in [
        "/dashboard/posts/0190a000-0000-7000-8000-000000000000",
        "/accounts/0190a000-0000-7000-8000-000000000000/reconnect",
    ] {
        let missing = page(&app, Method::GET, path, &session, None).await;
        assert_eq!(missing.status, 404, "{path}");
    }
    for path in ["/dashboard/posts", "/dashboard/webhooks"] {
        let shown = page(&app, Method::GET, path, &session, None).await;
        assert_eq!(shown.status, 200, "{path}: {}", shown.body);
        assert!(
            shown
                .cookies
                .iter()
                .all(|c| !c.starts_with("pinline_session"))
        );
    }

    // Signing out ends the session.
    let out = page(
        &app,
        Method::POST,
        "/signout",
        &session,
        Some(&[("csrf", &csrf)]),
    )
    .await;
    assert_eq!((out.status, out.location.as_str()), (303, "/signin"));
    let after = page(&app, Method::GET, "/dashboard", &session, None).await;
    assert_eq!(after.status, 303);

    // Revoking the key ends its sessions too.
    let session = sign_in(&app, &app.key_beta).await;
    let before = page(&app, Method::GET, "/dashboard", &session, None).await;
    assert_eq!(before.status, 200);
    let beta = app
        .db
        .store
        .api_key_by_hash(&pinline_server::api_keys::hash_api_key(&app.key_beta))
        .await
        .expect("store")
        .expect("beta's key");
    let revoked = app
        .db
        .store
        .revoke_api_key(&beta.profile_id, &beta.id, 1)
        .await
        .expect("revoke");
    assert!(revoked);
    let after = page(&app, Method::GET, "/dashboard", &session, None).await;
    assert_eq!(after.status, 303);
}

/// Titles, descriptions, account names and webhook URLs come from apps and from Pinterest: every
/// page shows them as text, never as markup. (An account name with markup cannot come through
/// the sandbox, which allows only Pinterest's username characters; it is written into the
/// database as a changed Pinterest could send it.)
async fn pages_escape_what_apps_and_pinterest_send(db: TestDatabase) {
    let app = spawn_app(db).await;
    let account = app.connected_account(&app.key_alpha, "maker").await;
    let account_id = account["id"].as_str().expect("id").to_owned();
    let key = Some(app.key_alpha.as_str());
    let board = app
        .api(
            Method::POST,
            &format!("/v1/accounts/{account_id}/boards"),
            key,
            Some(json!({"name": "Recipes"})),
        )
        .await;
    assert_eq!(board.status, 201, "{}", board.text);
    let title = "<script>alert('title')</script> & co";
    let description = "<img src=x onerror=\"alert('description')\">";
    let post = app
        .api(
            Method::POST,
            "/v1/posts",
            key,
            Some(json!({
                "account_id": account_id,
                "board_id": board.json["id"],
                "title": title,
                "description": description,
                "image_url": "https://example.invalid/tart.jpg",
                "publish_at": "2099-01-01T09:00:00Z",
            })),
        )
        .await;
    assert_eq!(post.status, 202, "{}", post.text);
    let post_id = post.json["id"].as_str().expect("post id").to_owned();
    let hook_url = "https://hooks.invalid/it's&more";
    let hook = app
        .api(
            Method::POST,
            "/v1/webhooks",
            key,
            Some(json!({"url": hook_url, "events": ["post.published"]})),
        )
        .await;
    assert_eq!(hook.status, 201, "{}", hook.text);
    let username = "<b onmouseover=alert('name')>maker</b>";
    app.db
        .execute(&format!(
            "UPDATE accounts SET username = '{}' WHERE id = '{account_id}'",
            username.replace('\'', "''")
        ))
        .await;

    // What an embedding app said when it started the connect is shown on the account, escaped.
    let external_id = "<i onclick=alert('app')>user-1</i>";
    app.db
        .store
        .upsert_account_link(
            &pinline_store::AccountIdentity {
                profile_id: &app
                    .db
                    .store
                    .profile_by_name_or_create("alpha", "x", 0)
                    .await
                    .expect("profile")
                    .id,
                environment: account["environment"].as_str().expect("environment"),
                client_id: account["app_client_id"].as_str().expect("client"),
                pinterest_user_id: account["pinterest_user_id"].as_str().expect("user"),
            },
            Some(external_id),
            Some(r#"{"note":"<script>alert(1)</script>"}"#),
            0,
        )
        .await
        .expect("link");

    let session = sign_in(&app, &app.key_alpha).await;
    for (path, shown) in [
        (
            "/dashboard",
            vec![username, external_id, "<script>alert(1)</script>"],
        ),
        ("/dashboard/posts", vec![title]),
        (
            &format!("/dashboard/posts/{post_id}") as &str,
            vec![title, description],
        ),
        ("/dashboard/webhooks", vec![hook_url]),
    ] {
        let page = page(&app, Method::GET, path, &session, None).await;
        assert_eq!(page.status, 200, "{path}: {}", page.body);
        for text in shown {
            // Each text has markup or an entity in it: raw, it would be markup; decoded, the
            // page shows it.
            assert!(!page.body.contains(text), "{path} shows {text} raw");
            let visible = html_escape::decode_html_entities(&page.body).into_owned();
            assert!(visible.contains(text), "{path} does not show {text}");
        }
    }

    // A form field with a control character is refused before anything is stored.
    let drafts = page(&app, Method::GET, "/dashboard/drafts", &session, None).await;
    let csrf = hidden(&drafts.body, "csrf");
    let refused = page(
        &app,
        Method::POST,
        "/dashboard/drafts",
        &session,
        Some(&[("csrf", &csrf), ("text", "lemon\u{0}tart")]),
    )
    .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
}

async fn the_calendar_reschedules_on_the_accounts_clock(db: TestDatabase) {
    let app = spawn_app(db).await;
    let (account, board) = app.account_with_board("planner").await;
    let schedule = app
        .api(
            Method::PUT,
            &format!("/v1/accounts/{account}/slots"),
            Some(&app.key_alpha),
            Some(json!({
                "time_zone": "Europe/Berlin",
                "slots": [{"day": "wednesday", "time": "10:30"}],
            })),
        )
        .await;
    assert_eq!(schedule.status, 200, "{}", schedule.text);
    let post = app
        .api(
            Method::POST,
            "/v1/posts",
            Some(&app.key_alpha),
            Some(json!({
                "account_id": account,
                "board_id": board,
                "title": "Quince jam",
                "image_url": "https://example.invalid/quince.jpg",
                "publish_at": "2031-05-01T08:00:00Z",
            })),
        )
        .await;
    assert_eq!(post.status, 202, "{}", post.text);
    let post_id = post.json["id"].as_str().expect("id").to_owned();
    let cookie = sign_in(&app, &app.key_alpha).await;

    // The week of 1 May 2031 on Berlin's clock: the post at 10:00 (08:00 UTC + 2 h), the
    // Wednesday slot free.
    let week = page(
        &app,
        Method::GET,
        &format!("/dashboard/accounts/{account}/calendar?week=2031-05-01"),
        &cookie,
        None,
    )
    .await;
    assert_eq!(week.status, 200, "{}", week.body);
    assert!(
        week.body.contains("Times in Europe/Berlin"),
        "{}",
        week.body
    );
    assert!(
        week.body.contains("value=\"2031-05-01T10:00\""),
        "{}",
        week.body
    );
    assert!(week.body.contains("free slot"), "{}", week.body);
    let csrf = hidden(&week.body, "csrf");

    // Moved to 6 May 10:30 Berlin time, which is 08:30 UTC.
    let moved = page(
        &app,
        Method::POST,
        &format!("/dashboard/posts/{post_id}/reschedule"),
        &cookie,
        Some(&[("csrf", &csrf), ("at", "2031-05-06T10:30")]),
    )
    .await;
    assert_eq!(moved.status, 303, "{}", moved.body);
    assert_eq!(
        moved.location,
        format!("/dashboard/accounts/{account}/calendar?week=2031-05-06")
    );
    let read = app
        .api(
            Method::GET,
            &format!("/v1/posts/{post_id}"),
            Some(&app.key_alpha),
            None,
        )
        .await;
    assert_eq!(
        read.json["publish_at"],
        json!("2031-05-06T08:30:00Z"),
        "{}",
        read.text
    );

    // Refused: no CSRF token, a time that is not one, a schedule with an unknown zone.
    let forged = page(
        &app,
        Method::POST,
        &format!("/dashboard/posts/{post_id}/reschedule"),
        &cookie,
        Some(&[("at", "2031-05-07T10:30")]),
    )
    .await;
    assert_eq!(forged.status, 403, "{}", forged.body);
    let garbled = page(
        &app,
        Method::POST,
        &format!("/dashboard/posts/{post_id}/reschedule"),
        &cookie,
        Some(&[("csrf", &csrf), ("at", "next tuesday")]),
    )
    .await;
    assert_eq!(garbled.status, 400, "{}", garbled.body);
    let unknown_zone = page(
        &app,
        Method::POST,
        &format!("/dashboard/accounts/{account}/slots"),
        &cookie,
        Some(&[
            ("csrf", &csrf),
            ("time_zone", "Mars/Olympus"),
            ("slots", ""),
        ]),
    )
    .await;
    assert_eq!(unknown_zone.status, 422, "{}", unknown_zone.body);
    assert!(
        unknown_zone.body.contains("time zone"),
        "{}",
        unknown_zone.body
    );

    // The campaign form: a page into two pins on two Wednesdays' slots, back to the week.
    let site = recipe_site().await;
    let started = page(
        &app,
        Method::POST,
        &format!("/dashboard/accounts/{account}/campaign"),
        &cookie,
        Some(&[
            ("csrf", &csrf),
            ("url", &format!("{site}/tart")),
            ("boards", "Recipes"),
            ("pins", "2"),
            ("days", "2"),
        ]),
    )
    .await;
    assert_eq!(started.status, 303, "{}", started.body);
    assert_eq!(
        started.location,
        format!("/dashboard/accounts/{account}/calendar")
    );
    let queued = app
        .api(
            Method::GET,
            &format!("/v1/posts?account_id={account}&status=queued"),
            Some(&app.key_alpha),
            None,
        )
        .await;
    let slotted: Vec<&serde_json::Value> = queued.json["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|post| post["placement"] == "slot")
        .collect();
    assert_eq!(slotted.len(), 2, "{}", queued.text);
    assert_ne!(slotted[0]["publish_at"], slotted[1]["publish_at"]);
    let no_boards = page(
        &app,
        Method::POST,
        &format!("/dashboard/accounts/{account}/campaign"),
        &cookie,
        Some(&[
            ("csrf", &csrf),
            ("url", &format!("{site}/tart")),
            ("boards", ""),
        ]),
    )
    .await;
    assert_eq!(no_boards.status, 422, "{}", no_boards.body);

    // Another profile's session finds no such account.
    let other = sign_in(&app, &app.key_beta).await;
    let foreign = page(
        &app,
        Method::GET,
        &format!("/dashboard/accounts/{account}/calendar"),
        &other,
        None,
    )
    .await;
    assert_eq!(foreign.status, 404, "{}", foreign.body);
}
