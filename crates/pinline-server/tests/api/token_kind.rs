//! Which refresh token an account holds, where a person looks: `GET /v1/accounts` says
//! `continuous` or `legacy`, and so does the dashboard's account card.

use pinline_store::backend_tests;
use pinline_store::testing::TestDatabase;
use reqwest::Method;
use serde_json::json;

use crate::passthrough::dashboard_page;
use crate::support::spawn_app;

backend_tests!(the_account_view_says_which_refresh_token_it_holds,);

async fn the_account_view_says_which_refresh_token_it_holds(db: TestDatabase) {
    let app = spawn_app(db).await;
    let continuous = app.connected_account(&app.key_alpha, "maker").await;
    assert_eq!(continuous["refresh_token_kind"], json!("continuous"));

    // An app whose accounts get legacy tokens whatever the exchange asks.
    app.sandbox_control("/app", json!({"refresh_tokens": "legacy_only"}))
        .await;
    let legacy = app.connected_account(&app.key_alpha, "baker").await;
    assert_eq!(legacy["refresh_token_kind"], json!("legacy"));

    let listed = app
        .api(Method::GET, "/v1/accounts", Some(&app.key_alpha), None)
        .await;
    let kinds: Vec<(String, String)> = listed.json["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|a| {
            (
                a["username"].as_str().unwrap_or_default().to_owned(),
                a["refresh_token_kind"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
        })
        .collect();
    assert!(
        kinds.contains(&("maker".into(), "continuous".into())),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&("baker".into(), "legacy".into())),
        "{kinds:?}"
    );
    let one = app
        .api(
            Method::GET,
            &format!("/v1/accounts/{}", legacy["id"].as_str().expect("id")),
            Some(&app.key_alpha),
            None,
        )
        .await;
    assert_eq!(one.json["refresh_token_kind"], json!("legacy"));

    let page = dashboard_page(&app, "/dashboard").await;
    let card = |id: &str| {
        page.split(&format!("id=\"account-{id}\""))
            .nth(1)
            .and_then(|rest| rest.split("</section>").next())
            .expect("the account's card")
            .to_owned()
    };
    let maker = card(continuous["id"].as_str().expect("id"));
    assert!(
        maker.contains("continuous: renewed by every refresh"),
        "{maker}"
    );
    let baker = card(legacy["id"].as_str().expect("id"));
    assert!(
        baker.contains("legacy: a hard end a year after the connect"),
        "{baker}"
    );
}
