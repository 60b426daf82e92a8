//! Campaigns: one product page becomes seven pins over two boards and seven days, each in the
//! account's first free slot of its day; a second campaign of the same link is kept apart by the
//! spacing rule; canceling a campaign cancels its pins and no others.

use std::collections::BTreeSet;

use pinline_store::backend_tests;
use pinline_store::testing::TestDatabase;
use reqwest::Method;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::drafts::site;
use crate::support::{TestApp, error_code, spawn_app};

backend_tests!(
    seven_pins_over_two_boards_and_seven_days_land_in_their_slots,
    a_campaign_needs_slots_and_known_boards,
);

const HOUR: i64 = 3600 * 1000;
const DAY: i64 = 24 * HOUR;

fn ms(value: &Value) -> i64 {
    let text = value.as_str().expect("a time");
    (OffsetDateTime::parse(text, &Rfc3339)
        .expect("time")
        .unix_timestamp_nanos()
        / 1_000_000) as i64
}

fn rfc3339(at: i64) -> String {
    OffsetDateTime::from_unix_timestamp(at / 1000)
        .expect("time")
        .format(&Rfc3339)
        .expect("format")
}

async fn campaign(app: &TestApp, body: Value) -> crate::support::Reply {
    app.api(
        Method::POST,
        "/v1/campaigns",
        Some(&app.key_alpha),
        Some(body),
    )
    .await
}

async fn seven_pins_over_two_boards_and_seven_days_land_in_their_slots(db: TestDatabase) {
    let app = spawn_app(db).await;
    let (account, recipes) = app.account_with_board("campaigner").await;
    let desserts = app
        .api(
            Method::POST,
            &format!("/v1/accounts/{account}/boards"),
            Some(&app.key_alpha),
            Some(json!({"name": "Desserts"})),
        )
        .await;
    assert_eq!(desserts.status, 201, "{}", desserts.text);
    let desserts = desserts.json["id"].as_str().expect("board id").to_owned();
    let slots: Vec<Value> = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        .iter()
        .flat_map(|day| ["09:00", "12:00", "18:00"].map(|time| json!({"day": day, "time": time})))
        .collect();
    let schedule = app
        .api(
            Method::PUT,
            &format!("/v1/accounts/{account}/slots"),
            Some(&app.key_alpha),
            Some(json!({"time_zone": "UTC", "slots": slots, "spacing_minutes": 8 * 60})),
        )
        .await;
    assert_eq!(schedule.status, 200, "{}", schedule.text);

    let site = site().await;
    // Tomorrow, 00:00 UTC.
    let start = (app.clock_secs() * 1000 / DAY + 1) * DAY;
    let body = json!({
        "account_id": account,
        "url": format!("{site}/tart"),
        "boards": ["Recipes", desserts],
        "pins": 7,
        "days": 7,
        "start": rfc3339(start),
    });
    let first = campaign(&app, body.clone()).await;
    assert_eq!(first.status, 201, "{}", first.text);
    assert_eq!(first.json["accepted"], 7, "{}", first.text);
    let pins = first.json["pins"].as_array().expect("pins").clone();
    let mut variants = BTreeSet::new();
    for (i, pin) in pins.iter().enumerate() {
        let post = &pin["post"];
        assert_eq!(post["placement"], "slot", "{pin}");
        assert_eq!(post["status"], "queued", "{pin}");
        // Day i's first slot, boards in turn.
        assert_eq!(
            ms(&post["publish_at"]),
            start + i as i64 * DAY + 9 * HOUR,
            "{pin}"
        );
        assert_eq!(post["expected_publish_at"], post["publish_at"]);
        let board = if i % 2 == 0 { &recipes } else { &desserts };
        assert_eq!(post["board_id"], json!(board), "{pin}");
        assert!(
            post["link"].as_str().is_some_and(|l| l.ends_with("/tart")),
            "{pin}"
        );
        variants.insert(pin["draft_id"].as_str().expect("draft").to_owned());
    }
    assert_eq!(variants.len(), 5, "five variants, two reused");

    // The same link again: 12:00 is too close to the first campaign's 09:00 pins (8 h apart
    // at least), so each pin takes its day's 18:00 slot.
    let second = campaign(&app, body).await;
    assert_eq!(second.status, 201, "{}", second.text);
    assert_eq!(second.json["accepted"], 7, "{}", second.text);
    let mut times: Vec<i64> = pins
        .iter()
        .map(|pin| ms(&pin["post"]["publish_at"]))
        .collect();
    for (i, pin) in second.json["pins"]
        .as_array()
        .expect("pins")
        .iter()
        .enumerate()
    {
        assert_eq!(
            ms(&pin["post"]["publish_at"]),
            start + i as i64 * DAY + 18 * HOUR,
            "{pin}"
        );
        times.push(ms(&pin["post"]["publish_at"]));
    }
    times.sort_unstable();
    assert!(
        times.windows(2).all(|pair| pair[1] - pair[0] >= 8 * HOUR),
        "the spacing rule holds across both campaigns: {times:?}"
    );

    // Canceling the second cancels its seven pins and leaves the first alone.
    let id = second.json["id"].as_str().expect("id");
    let canceled = app
        .api(
            Method::DELETE,
            &format!("/v1/campaigns/{id}"),
            Some(&app.key_alpha),
            None,
        )
        .await;
    assert_eq!(canceled.status, 200, "{}", canceled.text);
    assert_eq!(canceled.json["status"], "canceled");
    for pin in canceled.json["pins"].as_array().expect("pins") {
        assert_eq!(pin["post"]["status"], "canceled", "{pin}");
    }
    let first_id = first.json["id"].as_str().expect("id");
    let read = app
        .api(
            Method::GET,
            &format!("/v1/campaigns/{first_id}"),
            Some(&app.key_alpha),
            None,
        )
        .await;
    assert_eq!(read.status, 200, "{}", read.text);
    for pin in read.json["pins"].as_array().expect("pins") {
        assert_eq!(pin["post"]["status"], "queued", "{pin}");
    }
    // Another profile sees no such campaign.
    let foreign = app
        .api(
            Method::GET,
            &format!("/v1/campaigns/{first_id}"),
            Some(&app.key_beta),
            None,
        )
        .await;
    assert_eq!(foreign.status, 404, "{}", foreign.text);
}

async fn a_campaign_needs_slots_and_known_boards(db: TestDatabase) {
    let app = spawn_app(db).await;
    let (account, _) = app.account_with_board("unplanned").await;
    let site = site().await;
    let body = json!({
        "account_id": account,
        "url": format!("{site}/tart"),
        "boards": ["Recipes"],
    });
    let no_slots = campaign(&app, body.clone()).await;
    assert_eq!(no_slots.status, 422, "{}", no_slots.text);
    assert_eq!(error_code(&no_slots), "no_slots");

    let schedule = app
        .api(
            Method::PUT,
            &format!("/v1/accounts/{account}/slots"),
            Some(&app.key_alpha),
            Some(json!({"time_zone": "UTC", "slots": [{"day": "mon", "time": "09:00"}]})),
        )
        .await;
    assert_eq!(schedule.status, 200, "{}", schedule.text);
    let mut unknown = body.clone();
    unknown["boards"] = json!(["Recipes", "No such board"]);
    let refused = campaign(&app, unknown).await;
    assert_eq!(refused.status, 422, "{}", refused.text);
    assert_eq!(
        refused.json["error"]["field"], "boards[1]",
        "{}",
        refused.text
    );
    let drafts = app
        .api(Method::GET, "/v1/drafts", Some(&app.key_alpha), None)
        .await;
    assert_eq!(
        drafts.json["items"].as_array().map(Vec::len),
        Some(0),
        "a refused campaign makes no drafts: {}",
        drafts.text
    );

    for (field, value) in [("pins", json!(0)), ("pins", json!(31)), ("days", json!(0))] {
        let mut bad = body.clone();
        bad[field] = value;
        let reply = campaign(&app, bad).await;
        assert_eq!(reply.status, 422, "{}", reply.text);
        assert_eq!(reply.json["error"]["field"], field, "{}", reply.text);
    }
    let mut no_idea = body;
    no_idea.as_object_mut().expect("object").remove("url");
    let reply = campaign(&app, no_idea).await;
    assert_eq!(reply.status, 422, "{}", reply.text);
}
