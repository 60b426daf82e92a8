//! Weekly slots and spacing: `"publish_at": "next_slot"` takes the account's next free slot in
//! its own time zone (the same wall-clock time across a daylight-saving change, never one slot
//! twice, even for posts sent at once), and a post of the same link or image too close to
//! another is moved later rather than refused.

use std::collections::BTreeSet;
use std::time::Duration;

use pinline_store::backend_tests;
use pinline_store::testing::TestDatabase;
use reqwest::Method;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::support::{TestApp, error_code, spawn_app};

backend_tests!(
    thirty_next_slot_posts_land_in_their_slots_across_a_dst_change,
    a_spaced_duplicate_link_or_image_is_moved_not_refused,
    a_schedule_is_checked_and_next_slot_needs_one,
);

fn ms(text: &str) -> i64 {
    (OffsetDateTime::parse(text, &Rfc3339)
        .expect("time")
        .unix_timestamp_nanos()
        / 1_000_000) as i64
}

fn text_ms(value: &Value) -> i64 {
    ms(value.as_str().expect("a time"))
}

fn rfc3339(at: i64) -> String {
    OffsetDateTime::from_unix_timestamp(at / 1000)
        .expect("time")
        .format(&Rfc3339)
        .expect("format")
}

/// Moves the app's clock to `at` (unix ms; it only goes forward).
fn travel_to(app: &TestApp, at: i64) {
    let now = app.clock_secs() * 1000;
    assert!(at > now, "the clock only moves forward");
    app.clock.advance(Duration::from_millis((at - now) as u64));
}

async fn put_slots(app: &TestApp, account: &str, body: Value) -> crate::support::Reply {
    app.api(
        Method::PUT,
        &format!("/v1/accounts/{account}/slots"),
        Some(&app.key_alpha),
        Some(body),
    )
    .await
}

fn pin(account: &str, board: &str, link: &str, image: &str, publish_at: Value) -> Value {
    json!({
        "account_id": account,
        "board_id": board,
        "title": "Rhubarb crumble",
        "link": link,
        "image_url": image,
        "publish_at": publish_at,
    })
}

async fn thirty_next_slot_posts_land_in_their_slots_across_a_dst_change(db: TestDatabase) {
    let app = spawn_app(db).await;
    let (account, board) = app.account_with_board("slots").await;
    // New York leaves standard time on Sunday 14 March 2027: 09:00 local is 14:00 UTC before
    // and 13:00 UTC after.
    travel_to(&app, ms("2027-03-10T12:00:00Z"));
    let slots: Vec<Value> = [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ]
    .iter()
    .flat_map(|day| {
        [
            json!({"day": day, "time": "09:00"}),
            json!({"day": day, "time": "18:00"}),
        ]
    })
    .collect();
    let schedule = put_slots(
        &app,
        &account,
        json!({"time_zone": "America/New_York", "slots": slots}),
    )
    .await;
    assert_eq!(schedule.status, 200, "{}", schedule.text);
    assert_eq!(schedule.json["slots"].as_array().expect("slots").len(), 14);
    assert_eq!(
        schedule.json["upcoming"][0], "2027-03-10T09:00:00-05:00",
        "{}",
        schedule.text
    );

    // One slot is already taken by a post given that exact time.
    let taken = ms("2027-03-12T14:00:00Z");
    let explicit = app
        .api(
            Method::POST,
            "/v1/posts",
            Some(&app.key_alpha),
            Some(pin(
                &account,
                &board,
                "https://example.invalid/explicit",
                "https://example.invalid/explicit.jpg",
                json!(rfc3339(taken)),
            )),
        )
        .await;
    assert_eq!(explicit.status, 202, "{}", explicit.text);
    assert_eq!(explicit.json["placement"], Value::Null);

    // Twenty in one batch, ten more at once, each with its own link and image.
    let batch: Vec<Value> = (0..20)
        .map(|i| {
            pin(
                &account,
                &board,
                &format!("https://example.invalid/batch/{i}"),
                &format!("https://example.invalid/batch/{i}.jpg"),
                json!("next_slot"),
            )
        })
        .collect();
    let answered = app
        .api(
            Method::POST,
            "/v1/posts/batch",
            Some(&app.key_alpha),
            Some(json!({"posts": batch})),
        )
        .await;
    assert_eq!(answered.status, 200, "{}", answered.text);
    assert_eq!(answered.json["accepted"], 20, "{}", answered.text);
    let mut posts: Vec<Value> = answered.json["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|result| result["post"].clone())
        .collect();
    let singles = (0..10).map(|i| {
        app.api(
            Method::POST,
            "/v1/posts",
            Some(&app.key_alpha),
            Some(pin(
                &account,
                &board,
                &format!("https://example.invalid/single/{i}"),
                &format!("https://example.invalid/single/{i}.jpg"),
                json!("next_slot"),
            )),
        )
    });
    for reply in futures_util::future::join_all(singles).await {
        assert_eq!(reply.status, 202, "{}", reply.text);
        posts.push(reply.json);
    }

    let mut expected = BTreeSet::new();
    for day in 10..=25 {
        let (morning, evening) = if day < 14 { (14, 23) } else { (13, 22) };
        for hour in [morning, evening] {
            expected.insert(ms(&format!("2027-03-{day:02}T{hour:02}:00:00Z")));
        }
    }
    expected.remove(&taken);
    let expected: BTreeSet<i64> = expected.into_iter().take(30).collect();
    let mut landed = BTreeSet::new();
    for post in &posts {
        assert_eq!(post["placement"], "slot", "{post}");
        assert_eq!(post["status"], "queued", "{post}");
        assert_eq!(post["expected_publish_at"], post["publish_at"], "{post}");
        assert!(
            landed.insert(text_ms(&post["publish_at"])),
            "one slot booked twice: {post}"
        );
    }
    assert_eq!(
        landed, expected,
        "the 30 posts take the first 30 free slots"
    );
    assert!(landed.contains(&ms("2027-03-13T23:00:00Z")), "18:00 EST");
    assert!(landed.contains(&ms("2027-03-14T13:00:00Z")), "09:00 EDT");

    // The schedule's next free slot is the one after them, shown on the local clock.
    let read = app
        .api(
            Method::GET,
            &format!("/v1/accounts/{account}/slots"),
            Some(&app.key_alpha),
            None,
        )
        .await;
    assert_eq!(read.status, 200, "{}", read.text);
    assert_eq!(read.json["upcoming"][0], "2027-03-25T18:00:00-04:00");
}

async fn a_spaced_duplicate_link_or_image_is_moved_not_refused(db: TestDatabase) {
    let app = spawn_app(db).await;
    let (account, board) = app.account_with_board("spacing").await;
    let schedule = put_slots(
        &app,
        &account,
        json!({"time_zone": "Europe/Berlin", "spacing_minutes": 24 * 60}),
    )
    .await;
    assert_eq!(schedule.status, 200, "{}", schedule.text);
    assert_eq!(schedule.json["spacing_minutes"], 1440);

    let day = 24 * 3600 * 1000;
    let base = app.clock_secs() * 1000 + day;
    let send = |link: &str, image: &str, at: i64| {
        let body = pin(&account, &board, link, image, json!(rfc3339(at)));
        let app = &app;
        async move {
            let reply = app
                .api(Method::POST, "/v1/posts", Some(&app.key_alpha), Some(body))
                .await;
            assert_eq!(reply.status, 202, "moved, never refused: {}", reply.text);
            reply.json
        }
    };
    let link = "https://example.invalid/crumble";
    let first = send(link, "https://example.invalid/a.jpg", base).await;
    assert_eq!(first["placement"], Value::Null);
    assert_eq!(text_ms(&first["publish_at"]), base);

    // The same link an hour later goes a day after the first.
    let second = send(link, "https://example.invalid/b.jpg", base + 3_600_000).await;
    assert_eq!(second["placement"], "spaced", "{second}");
    assert_eq!(text_ms(&second["publish_at"]), base + day);
    assert_eq!(text_ms(&second["requested_publish_at"]), base + 3_600_000);
    assert_eq!(second["expected_publish_at"], second["publish_at"]);

    // Another link and image at the same hour is left where it was asked.
    let other = send(
        "https://example.invalid/other",
        "https://example.invalid/c.jpg",
        base + 3_600_000,
    )
    .await;
    assert_eq!(other["placement"], Value::Null);
    assert_eq!(text_ms(&other["publish_at"]), base + 3_600_000);

    // The first post's image under a new link is kept a day from the first post too.
    let image = send(
        "https://example.invalid/new-link",
        "https://example.invalid/a.jpg",
        base,
    )
    .await;
    assert_eq!(image["placement"], "spaced", "{image}");
    assert_eq!(text_ms(&image["publish_at"]), base + day);

    // Canceling a post frees its time for the same content.
    let id = second["id"].as_str().expect("id");
    let canceled = app
        .api(
            Method::DELETE,
            &format!("/v1/posts/{id}"),
            Some(&app.key_alpha),
            None,
        )
        .await;
    assert!(canceled.status < 300, "{}", canceled.text);
    let again = send(link, "https://example.invalid/d.jpg", base + day).await;
    assert_eq!(again["placement"], Value::Null, "{again}");
}

async fn a_schedule_is_checked_and_next_slot_needs_one(db: TestDatabase) {
    let app = spawn_app(db).await;
    let (account, board) = app.account_with_board("checked").await;
    let slots_path = format!("/v1/accounts/{account}/slots");

    let none = app
        .api(Method::GET, &slots_path, Some(&app.key_alpha), None)
        .await;
    assert_eq!(none.status, 200, "{}", none.text);
    assert_eq!(none.json["slots"], json!([]));
    assert_eq!(none.json["updated_at"], Value::Null);
    let next = || {
        app.api(
            Method::POST,
            "/v1/posts",
            Some(&app.key_alpha),
            Some(pin(
                &account,
                &board,
                "https://example.invalid/x",
                "https://example.invalid/x.jpg",
                json!("next_slot"),
            )),
        )
    };
    let refused = next().await;
    assert_eq!(refused.status, 422, "{}", refused.text);
    assert_eq!(error_code(&refused), "no_slots");
    assert_eq!(refused.json["error"]["field"], "publish_at");

    for (body, field) in [
        (json!({"time_zone": "Mars/Olympus"}), "time_zone"),
        (
            json!({"time_zone": "UTC", "slots": [{"day": "mittwoch", "time": "09:00"}]}),
            "slots[0].day",
        ),
        (
            json!({"time_zone": "UTC", "slots": [{"day": "mon", "time": "9"}, {"day": "mon", "time": "25:00"}]}),
            "slots[0].time",
        ),
        (
            json!({"time_zone": "UTC", "spacing_minutes": -5}),
            "spacing_minutes",
        ),
    ] {
        let reply = put_slots(&app, &account, body).await;
        assert_eq!(reply.status, 422, "{}", reply.text);
        assert_eq!(reply.json["error"]["field"], field, "{}", reply.text);
    }

    let set = put_slots(
        &app,
        &account,
        json!({"time_zone": "UTC", "slots": [{"day": "Mon", "time": "07:15"}]}),
    )
    .await;
    assert_eq!(set.status, 200, "{}", set.text);
    assert_eq!(
        set.json["slots"][0],
        json!({"day": "monday", "time": "07:15"})
    );
    let placed = next().await;
    assert_eq!(placed.status, 202, "{}", placed.text);
    assert_eq!(placed.json["placement"], "slot");
    assert!(
        placed.json["publish_at"]
            .as_str()
            .expect("a time")
            .ends_with("07:15:00Z"),
        "{}",
        placed.text
    );

    // Another profile's key sees no such account.
    let foreign = app
        .api(Method::GET, &slots_path, Some(&app.key_beta), None)
        .await;
    assert_eq!(foreign.status, 404, "{}", foreign.text);

    let removed = app
        .api(Method::DELETE, &slots_path, Some(&app.key_alpha), None)
        .await;
    assert_eq!(removed.status, 204, "{}", removed.text);
    assert_eq!(error_code(&next().await), "no_slots");
}
