//! The OAuth dance through the real consent page, PKCE, code and refresh-token rules, revocation
//! and the control endpoints that kill tokens.

use std::time::Duration;

use base64::Engine as _;
use pinline_sandbox::SandboxConfig;
use reqwest::{Method, StatusCode};
use serde_json::json;
use sha2::{Digest as _, Sha256};

use crate::support::{TestSandbox, Tokens, form_fields, query_map};

const REDIRECT: &str = "http://127.0.0.1:9/oauth/callback";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk-and-some-more-entropy";

fn challenge(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// Extra authorize parameters.
#[derive(Default)]
struct Authorize<'a> {
    scope: Option<&'a str>,
    challenge: Option<(&'a str, Option<&'a str>)>,
    redirect_uri: Option<&'a str>,
    client_id: Option<&'a str>,
}

async fn consent_page(sandbox: &TestSandbox, options: &Authorize<'_>) -> crate::support::Reply {
    let mut url = url::Url::parse(&format!("{}/oauth/", sandbox.base)).unwrap();
    {
        let mut query = url.query_pairs_mut();
        query
            .append_pair(
                "client_id",
                options.client_id.unwrap_or(&sandbox.config.client_id),
            )
            .append_pair("redirect_uri", options.redirect_uri.unwrap_or(REDIRECT))
            .append_pair("response_type", "code")
            .append_pair(
                "scope",
                options
                    .scope
                    .unwrap_or("boards:read,pins:read,user_accounts:read"),
            )
            .append_pair("state", "st<&>\"ate");
        if let Some((challenge, method)) = options.challenge {
            query.append_pair("code_challenge", challenge);
            if let Some(method) = method {
                query.append_pair("code_challenge_method", method);
            }
        }
    }
    TestSandbox::read(sandbox.http.get(url).send().await.unwrap()).await
}

/// Shows the page, picks the preselected user, presses `decision`; returns the redirect's query.
async fn decide(
    sandbox: &TestSandbox,
    options: &Authorize<'_>,
    decision: &str,
) -> std::collections::HashMap<String, String> {
    let page = consent_page(sandbox, options).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert!(
        page.header("content-type")
            .unwrap()
            .starts_with("text/html")
    );
    let mut fields = form_fields(&page.text);
    fields.insert("decision".to_owned(), decision.to_owned());
    let reply = TestSandbox::read(
        sandbox
            .http
            .post(format!("{}/oauth/", sandbox.base))
            .form(&fields)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(reply.status, StatusCode::FOUND, "{}", reply.text);
    let location = reply.location();
    assert!(location.as_str().starts_with(REDIRECT));
    query_map(&location)
}

async fn approved_code(sandbox: &TestSandbox, options: &Authorize<'_>) -> String {
    let query = decide(sandbox, options, "approve").await;
    assert_eq!(query["state"], "st<&>\"ate", "state round-trips unchanged");
    query["code"].clone()
}

async fn exchange(
    sandbox: &TestSandbox,
    code: &str,
    verifier: Option<&str>,
) -> crate::support::Reply {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT),
    ];
    if let Some(verifier) = verifier {
        form.push(("code_verifier", verifier));
    }
    sandbox.token_request(&form, None).await
}

fn tokens_of(reply: &crate::support::Reply) -> Tokens {
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    Tokens {
        access: reply.json["access_token"].as_str().unwrap().to_owned(),
        refresh: reply.json["refresh_token"].as_str().unwrap().to_owned(),
    }
}

#[tokio::test]
async fn consent_page_dance_issues_working_tokens() {
    let sandbox = TestSandbox::start().await;
    let alice = sandbox.create_user("alice").await;
    let page = consent_page(&sandbox, &Authorize::default()).await;
    // The page escapes what it echoes and offers the existing user.
    assert!(page.text.contains("st&lt;&amp;&gt;&quot;ate"));
    assert!(!page.text.contains("st<&>"));
    assert_eq!(form_fields(&page.text)["user_id"], alice);

    let code = approved_code(&sandbox, &Authorize::default()).await;
    let reply = exchange(&sandbox, &code, None).await;
    let tokens = tokens_of(&reply);
    assert!(tokens.access.starts_with("pina_") && tokens.access.len() >= 37);
    assert!(tokens.refresh.starts_with("pinr_") && tokens.refresh.len() >= 37);
    assert_eq!(reply.json["token_type"], "bearer");
    assert_eq!(reply.json["response_type"], "authorization_code");
    assert_eq!(
        reply.json["scope"],
        "boards:read,pins:read,user_accounts:read"
    );
    assert_eq!(reply.json["expires_in"], json!(30 * 24 * 3600));
    assert_eq!(
        reply.json["refresh_token_expires_in"],
        json!(60 * 24 * 3600)
    );
    let expires_at = reply.json["refresh_token_expires_at"].as_i64().unwrap();
    assert!(expires_at > sandbox.handle.clock().now() + 59 * 24 * 3600);

    let account = sandbox.get(&tokens.access, "/user_account").await;
    assert_eq!(account.status, StatusCode::OK);
    assert_eq!(account.json["id"], alice.as_str());
    assert_eq!(account.json["username"], "alice");
    let stats = sandbox.stats().await;
    assert_eq!(stats["token_requests"]["authorization_code"], 1);
    assert_eq!(stats["token_requests"]["refresh_token"], 0);
}

/// The whole life of a grant, as a careful client lives it and as an attacker would spoil it:
/// the HTML consent page with a PKCE S256 challenge, the code exchanged with its verifier, two
/// refreshes, then replays of both rotated refresh tokens.
///
/// The order of the assertions matters. Replaying a rotated refresh token is taken as theft and
/// revokes the whole token family, the newest tokens included. So the newest tokens are shown
/// to work first, before any replay; then each rotated refresh token is replayed once and
/// refused; only then is the family shown to be dead.
#[tokio::test]
async fn a_grant_from_consent_to_replayed_refresh_tokens() {
    let config = SandboxConfig {
        redirect_uris: vec![REDIRECT.to_owned()],
        ..SandboxConfig::default()
    };
    let sandbox = TestSandbox::with(config).await;
    let alice = sandbox.create_user("alice").await;

    // Consent: the real page, carrying the challenge through its form.
    let challenge = challenge(VERIFIER);
    let options = Authorize {
        challenge: Some((&challenge, Some("S256"))),
        ..Authorize::default()
    };
    let page = consent_page(&sandbox, &options).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    let fields = form_fields(&page.text);
    assert_eq!(fields["code_challenge"], challenge);
    assert_eq!(fields["code_challenge_method"], "S256");
    assert_eq!(fields["user_id"], alice);
    let code = approved_code(&sandbox, &options).await;

    // The code, exchanged with the verifier.
    let exchanged = exchange(&sandbox, &code, Some(VERIFIER)).await;
    let first = tokens_of(&exchanged);
    assert_eq!(exchanged.json["response_type"], "authorization_code");

    // Two refreshes, each rotating the refresh token.
    let second = tokens_of(&sandbox.refresh(&first.refresh).await);
    let third = tokens_of(&sandbox.refresh(&second.refresh).await);
    let distinct: std::collections::HashSet<&str> = [&first, &second, &third]
        .iter()
        .flat_map(|tokens| [tokens.access.as_str(), tokens.refresh.as_str()])
        .collect();
    assert_eq!(distinct.len(), 6, "every token is new");

    // The newest tokens work; checked before any replay, which would revoke them.
    let account = sandbox.get(&third.access, "/user_account").await;
    assert_eq!(account.status, StatusCode::OK, "{}", account.text);
    assert_eq!(account.json["id"], alice.as_str());
    let stats = sandbox.stats().await;
    assert_eq!(stats["refresh_token_reuse"], 0);
    assert_eq!(stats["token_requests"]["authorization_code"], 1);
    assert_eq!(stats["token_requests"]["refresh_token"], 2);

    // The second refresh token died when it was rotated: replaying it is refused as reuse, and
    // the whole family is revoked.
    let replay = sandbox.refresh(&second.refresh).await;
    let message = replay.assert_error(400, 1);
    assert!(message.starts_with("invalid_grant"), "{message}");
    assert!(message.contains("already been used"), "{message}");
    // The first one is refused too (rotated first, and now revoked with its family).
    let replay = sandbox.refresh(&first.refresh).await;
    let message = replay.assert_error(400, 1);
    assert!(message.starts_with("invalid_grant"), "{message}");
    assert_eq!(sandbox.stats().await["refresh_token_reuse"], 2);

    // The family is dead: the newest access and refresh tokens no longer work.
    sandbox
        .get(&third.access, "/user_account")
        .await
        .assert_error(401, 2);
    let message = sandbox
        .refresh(&third.refresh)
        .await
        .assert_error(400, 1)
        .to_owned();
    assert!(message.starts_with("invalid_grant"), "{message}");
    // The code was spent by the exchange and cannot mint a new family either.
    exchange(&sandbox, &code, Some(VERIFIER))
        .await
        .assert_error(400, 1);
}

#[tokio::test]
async fn consent_page_without_users_creates_one() {
    let sandbox = TestSandbox::start().await;
    let page = consent_page(&sandbox, &Authorize::default()).await;
    let fields = form_fields(&page.text);
    assert!(!fields.contains_key("user_id"));
    assert_eq!(fields["new_username"], "sandbox-user");
    let code = approved_code(&sandbox, &Authorize::default()).await;
    let tokens = tokens_of(&exchange(&sandbox, &code, None).await);
    let account = sandbox.get(&tokens.access, "/user_account").await;
    assert_eq!(account.json["username"], "sandbox-user");
}

#[tokio::test]
async fn deny_redirects_with_access_denied() {
    let sandbox = TestSandbox::start().await;
    sandbox.create_user("alice").await;
    let query = decide(&sandbox, &Authorize::default(), "deny").await;
    assert_eq!(query["error"], "access_denied");
    assert_eq!(query["state"], "st<&>\"ate");
    assert!(!query.contains_key("code"));
}

#[tokio::test]
async fn untrusted_client_or_redirect_gets_an_error_page_not_a_redirect() {
    let config = SandboxConfig {
        redirect_uris: vec![REDIRECT.to_owned()],
        ..SandboxConfig::default()
    };
    let sandbox = TestSandbox::with(config).await;
    for options in [
        Authorize {
            client_id: Some("999"),
            ..Authorize::default()
        },
        Authorize {
            redirect_uri: Some("http://127.0.0.1:9/elsewhere"),
            ..Authorize::default()
        },
    ] {
        let page = consent_page(&sandbox, &options).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST);
        assert!(page.header("location").is_none());
        assert!(page.text.contains("Authorization error"));
    }
    // An unknown scope goes back to the (trusted) client as an error.
    let page = consent_page(
        &sandbox,
        &Authorize {
            scope: Some("pins:fly"),
            ..Authorize::default()
        },
    )
    .await;
    assert_eq!(query_map(&page.location())["error"], "invalid_scope");
}

#[tokio::test]
async fn pkce_s256_is_enforced() {
    let sandbox = TestSandbox::start().await;
    sandbox.create_user("alice").await;
    let challenge = challenge(VERIFIER);
    let options = Authorize {
        challenge: Some((&challenge, Some("S256"))),
        ..Authorize::default()
    };

    let code = approved_code(&sandbox, &options).await;
    tokens_of(&exchange(&sandbox, &code, Some(VERIFIER)).await);

    let code = approved_code(&sandbox, &options).await;
    let wrong = exchange(&sandbox, &code, Some(&format!("{VERIFIER}x"))).await;
    assert!(wrong.assert_error(400, 1).contains("code_verifier"));

    let code = approved_code(&sandbox, &options).await;
    let missing = exchange(&sandbox, &code, None).await;
    assert!(missing.assert_error(400, 1).contains("code_verifier"));

    // A verifier for a code that had no challenge is refused too (OAuth 2.1).
    let code = approved_code(&sandbox, &Authorize::default()).await;
    exchange(&sandbox, &code, Some(VERIFIER))
        .await
        .assert_error(400, 1);
}

#[tokio::test]
async fn plain_or_methodless_pkce_is_refused() {
    let sandbox = TestSandbox::start().await;
    sandbox.create_user("alice").await;
    for method in [Some("plain"), None] {
        let options = Authorize {
            challenge: Some((VERIFIER, method)),
            ..Authorize::default()
        };
        let page = consent_page(&sandbox, &options).await;
        assert_eq!(page.status, StatusCode::FOUND);
        let query = query_map(&page.location());
        assert_eq!(query["error"], "invalid_request");
        assert_eq!(query["state"], "st<&>\"ate");
    }
}

#[tokio::test]
async fn a_replayed_code_is_refused_and_revokes_its_tokens() {
    let sandbox = TestSandbox::start().await;
    sandbox.create_user("alice").await;
    let code = approved_code(&sandbox, &Authorize::default()).await;
    let tokens = tokens_of(&exchange(&sandbox, &code, None).await);
    let replay = exchange(&sandbox, &code, None).await;
    assert!(replay.assert_error(400, 1).contains("already been used"));
    sandbox
        .get(&tokens.access, "/user_account")
        .await
        .assert_error(401, 2);
    sandbox.refresh(&tokens.refresh).await.assert_error(400, 1);
}

#[tokio::test]
async fn expired_codes_and_wrong_redirects_are_refused() {
    let sandbox = TestSandbox::start().await;
    sandbox.create_user("alice").await;
    let code = approved_code(&sandbox, &Authorize::default()).await;
    sandbox.handle.clock().advance(Duration::from_secs(601));
    assert!(
        exchange(&sandbox, &code, None)
            .await
            .assert_error(400, 1)
            .contains("expired")
    );

    let code = approved_code(&sandbox, &Authorize::default()).await;
    let reply = sandbox
        .token_request(
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", "http://127.0.0.1:9/oauth/callback/"),
            ],
            None,
        )
        .await;
    assert!(reply.assert_error(400, 1).contains("redirect_uri"));
}

#[tokio::test]
async fn the_token_endpoint_requires_the_app_credentials() {
    let sandbox = TestSandbox::start().await;
    sandbox.create_user("alice").await;
    let code = approved_code(&sandbox, &Authorize::default()).await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
    ];
    let reply = sandbox
        .token_request(&form, Some(("1000001", "wrong")))
        .await;
    assert_eq!(reply.assert_error(401, 2), "Authentication failed.");
    let reply = sandbox
        .token_request(&form, Some(("1000002", "sandbox-secret")))
        .await;
    reply.assert_error(401, 2);
    let bare = sandbox
        .http
        .post(format!("{}/v5/oauth/token", sandbox.base))
        .form(&form)
        .send()
        .await
        .unwrap();
    TestSandbox::read(bare).await.assert_error(401, 2);
    // Failed client authentication does not burn the code.
    tokens_of(&sandbox.token_request(&form, None).await);
}

#[tokio::test]
async fn refresh_rotates_and_a_reused_refresh_token_is_counted_and_kills_the_family() {
    let sandbox = TestSandbox::start().await;
    sandbox.create_user("alice").await;
    let code = approved_code(&sandbox, &Authorize::default()).await;
    let first = tokens_of(&exchange(&sandbox, &code, None).await);

    let reply = sandbox.refresh(&first.refresh).await;
    let second = tokens_of(&reply);
    assert_eq!(reply.json["response_type"], "refresh_token");
    assert_ne!(second.refresh, first.refresh);
    assert_eq!(
        sandbox.get(&second.access, "/user_account").await.status,
        StatusCode::OK
    );

    let reuse = sandbox.refresh(&first.refresh).await;
    reuse.assert_error(400, 1);
    let stats = sandbox.stats().await;
    assert_eq!(stats["refresh_token_reuse"], 1);
    assert_eq!(stats["token_requests"]["refresh_token"], 2);
    // Replay detection revoked the whole family, including the legitimate successor.
    sandbox
        .get(&second.access, "/user_account")
        .await
        .assert_error(401, 2);
    sandbox.refresh(&second.refresh).await.assert_error(400, 1);
    assert_eq!(sandbox.stats().await["refresh_token_reuse"], 2);
}

#[tokio::test]
async fn a_grace_period_lets_a_rotated_refresh_token_work_briefly() {
    let config = SandboxConfig {
        refresh_reuse_grace_secs: 30,
        ..SandboxConfig::default()
    };
    let sandbox = TestSandbox::with(config).await;
    let alice = sandbox.create_user("alice").await;
    let first = sandbox.mint(&alice, &["pins:read"]).await;
    tokens_of(&sandbox.refresh(&first.refresh).await);
    tokens_of(&sandbox.refresh(&first.refresh).await);
    assert_eq!(sandbox.stats().await["refresh_token_reuse"], 0);
    sandbox.handle.clock().advance(Duration::from_secs(31));
    sandbox.refresh(&first.refresh).await.assert_error(400, 1);
    assert_eq!(sandbox.stats().await["refresh_token_reuse"], 1);
}

#[tokio::test]
async fn refresh_may_narrow_scopes_but_not_widen_them() {
    let sandbox = TestSandbox::start().await;
    let alice = sandbox.create_user("alice").await;
    let tokens = sandbox.mint(&alice, &["pins:read", "boards:read"]).await;
    let wide = sandbox
        .token_request(
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &tokens.refresh),
                ("scope", "pins:read,pins:write"),
            ],
            None,
        )
        .await;
    assert!(wide.assert_error(400, 1).contains("invalid_scope"));
    let narrow = sandbox
        .token_request(
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &tokens.refresh),
                ("scope", "pins:read"),
            ],
            None,
        )
        .await;
    assert_eq!(narrow.status, StatusCode::OK, "{}", narrow.text);
    assert_eq!(narrow.json["scope"], "pins:read");
}

#[tokio::test]
async fn revocation_endpoint_kills_a_system_users_tokens() {
    let sandbox = TestSandbox::start().await;
    let ops = sandbox.create_system_user("ops").await;
    let tokens = sandbox.mint(&ops, &["user_accounts:read"]).await;
    assert_eq!(
        sandbox.revoke(&tokens.access, "access_token").await.status,
        StatusCode::OK
    );
    sandbox
        .get(&tokens.access, "/user_account")
        .await
        .assert_error(401, 2);
    // The refresh token still works until it is revoked too.
    let next = tokens_of(&sandbox.refresh(&tokens.refresh).await);
    let revoked = sandbox.revoke(&next.refresh, "refresh_token").await;
    assert_eq!(revoked.status, StatusCode::OK);
    assert!(revoked.text.is_empty(), "no content: {}", revoked.text);
    // Revoking the refresh token takes the access tokens of its grant with it.
    sandbox
        .get(&next.access, "/user_account")
        .await
        .assert_error(401, 2);
    sandbox.refresh(&next.refresh).await.assert_error(400, 1);
    assert_eq!(sandbox.stats().await["refresh_token_reuse"], 1);
    // Revoking again, or a token nobody issued, is fine (RFC 7009).
    assert_eq!(
        sandbox.revoke(&next.refresh, "refresh_token").await.status,
        StatusCode::OK
    );
    assert_eq!(
        sandbox.revoke("pina_nope", "access_token").await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn revocation_of_an_ordinary_users_token_is_refused_and_the_token_keeps_working() {
    let sandbox = TestSandbox::start().await;
    let alice = sandbox.create_user("alice").await;
    let tokens = sandbox.mint(&alice, &["user_accounts:read"]).await;
    for (token, hint) in [
        (&tokens.access, "access_token"),
        (&tokens.refresh, "refresh_token"),
    ] {
        let refused = sandbox.revoke(token, hint).await;
        assert_eq!(
            refused.assert_error(403, 29),
            "You are not permitted to access that resource."
        );
    }
    // Both tokens are untouched: only the user removing the app, or expiry, ends them.
    assert_eq!(
        sandbox.get(&tokens.access, "/user_account").await.status,
        StatusCode::OK
    );
    let next = tokens_of(&sandbox.refresh(&tokens.refresh).await);
    assert_eq!(
        sandbox.get(&next.access, "/user_account").await.status,
        StatusCode::OK
    );
    assert_eq!(sandbox.stats().await["refresh_token_reuse"], 0);
    // Client authentication still comes first.
    let response = sandbox
        .http
        .post(format!("{}/v5/oauth/token/revoke", sandbox.base))
        .basic_auth("1000001", Some("wrong"))
        .form(&[("token", next.access.as_str())])
        .send()
        .await
        .unwrap();
    TestSandbox::read(response).await.assert_error(401, 2);
}

#[tokio::test]
async fn control_revoke_and_expire_end_access() {
    let sandbox = TestSandbox::start().await;
    let alice = sandbox.create_user("alice").await;
    let bob = sandbox.create_user("bob").await;
    let alice_tokens = sandbox.mint(&alice, &["user_accounts:read"]).await;
    let bob_tokens = sandbox.mint(&bob, &["user_accounts:read"]).await;

    let reply = sandbox
        .control(Method::POST, &format!("/users/{alice}/revoke"), None)
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    sandbox
        .get(&alice_tokens.access, "/user_account")
        .await
        .assert_error(401, 2);
    sandbox
        .refresh(&alice_tokens.refresh)
        .await
        .assert_error(400, 1);

    // Expiring access tokens leaves the refresh token usable...
    sandbox
        .control(Method::POST, &format!("/users/{bob}/expire"), None)
        .await;
    sandbox
        .get(&bob_tokens.access, "/user_account")
        .await
        .assert_error(401, 2);
    let renewed = tokens_of(&sandbox.refresh(&bob_tokens.refresh).await);
    assert_eq!(
        sandbox.get(&renewed.access, "/user_account").await.status,
        StatusCode::OK
    );
    // ...unless asked to expire refresh tokens too.
    sandbox
        .control(
            Method::POST,
            &format!("/users/{bob}/expire"),
            Some(json!({ "refresh": true })),
        )
        .await;
    let expired = sandbox.refresh(&renewed.refresh).await;
    assert!(expired.assert_error(400, 1).contains("expired"));
}

#[tokio::test]
async fn advancing_the_clock_past_the_access_lifetime_expires_tokens() {
    let sandbox = TestSandbox::start().await;
    let alice = sandbox.create_user("alice").await;
    let tokens = sandbox.mint(&alice, &["user_accounts:read"]).await;
    let reply = sandbox
        .control(
            Method::POST,
            "/clock",
            Some(json!({ "advance_secs": 30 * 24 * 3600 - 60 })),
        )
        .await;
    assert!(reply.json["now"].as_i64().unwrap() >= sandbox.handle.clock().now() - 1);
    assert_eq!(
        sandbox.get(&tokens.access, "/user_account").await.status,
        StatusCode::OK
    );
    sandbox
        .control(Method::POST, "/clock", Some(json!({ "advance_secs": 61 })))
        .await;
    sandbox
        .get(&tokens.access, "/user_account")
        .await
        .assert_error(401, 2);
}

#[tokio::test]
async fn auto_approve_redirects_at_once_as_the_named_user() {
    let config = SandboxConfig {
        auto_approve: true,
        ..SandboxConfig::default()
    };
    let sandbox = TestSandbox::with(config).await;
    let url = format!(
        "{}/oauth/?client_id=1000001&redirect_uri={}&response_type=code&scope=user_accounts:read&state=s1&sandbox_user=carol",
        sandbox.base,
        url::form_urlencoded::byte_serialize(REDIRECT.as_bytes()).collect::<String>()
    );
    let reply = TestSandbox::read(sandbox.http.get(url).send().await.unwrap()).await;
    let query = query_map(&reply.location());
    assert_eq!(query["state"], "s1");
    let tokens = tokens_of(&exchange(&sandbox, &query["code"], None).await);
    let account = sandbox.get(&tokens.access, "/user_account").await;
    assert_eq!(account.json["username"], "carol");
}

/// An app created before 25 September 2025: a legacy refresh token (365 days, handed back
/// unchanged by every refresh, its end never moved) unless the exchange sends
/// `continuous_refresh=true`; `legacy_only` gives one whatever is sent.
#[tokio::test]
async fn legacy_apps_get_legacy_refresh_tokens_unless_they_ask() {
    use pinline_sandbox::RefreshTokenPolicy;
    let sandbox = TestSandbox::with(SandboxConfig {
        refresh_tokens: RefreshTokenPolicy::LegacyApp,
        ..SandboxConfig::default()
    })
    .await;
    sandbox.create_user("alice").await;
    const YEAR: i64 = 365 * 24 * 3600;
    const SIXTY_DAYS: i64 = 60 * 24 * 3600;

    let code = approved_code(&sandbox, &Authorize::default()).await;
    let legacy = exchange(&sandbox, &code, None).await;
    let tokens = tokens_of(&legacy);
    assert_eq!(legacy.json["refresh_token_expires_in"], json!(YEAR));
    let ends = legacy.json["refresh_token_expires_at"].as_i64().unwrap();

    // A refresh gives a new access token and the same refresh token, ending where it did.
    sandbox
        .control(
            Method::POST,
            "/clock",
            Some(json!({"advance_secs": 100 * 24 * 3600})),
        )
        .await;
    let refreshed = sandbox.refresh(&tokens.refresh).await;
    assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.text);
    assert_eq!(refreshed.json["refresh_token"], json!(tokens.refresh));
    assert_eq!(refreshed.json["refresh_token_expires_at"], json!(ends));
    assert!(refreshed.json["refresh_token_expires_in"].as_i64().unwrap() <= YEAR - 100 * 24 * 3600);
    assert_ne!(refreshed.json["access_token"], json!(tokens.access));
    // Not rotated: using it again is no reuse.
    let again = sandbox.refresh(&tokens.refresh).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text);
    // At its end it stops working.
    sandbox
        .control(
            Method::POST,
            "/clock",
            Some(json!({"advance_secs": 266 * 24 * 3600})),
        )
        .await;
    sandbox.refresh(&tokens.refresh).await.assert_error(400, 1);

    // Asking for continuous refresh gets a 60-day token that rotates.
    let code = approved_code(&sandbox, &Authorize::default()).await;
    let continuous = sandbox
        .token_request(
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT),
                ("continuous_refresh", "true"),
            ],
            None,
        )
        .await;
    let tokens = tokens_of(&continuous);
    assert_eq!(
        continuous.json["refresh_token_expires_in"],
        json!(SIXTY_DAYS)
    );
    let rotated = sandbox.refresh(&tokens.refresh).await;
    assert_ne!(rotated.json["refresh_token"], json!(tokens.refresh));
    let stats = sandbox.stats().await;
    assert_eq!(stats["token_requests"]["continuous_refresh"], json!(1));
    assert_eq!(stats["token_requests"]["legacy_issued"], json!(1));

    // The app's setting can change while the sandbox runs.
    let set = sandbox
        .control(
            Method::POST,
            "/app",
            Some(json!({"refresh_tokens": "legacy_only"})),
        )
        .await;
    assert_eq!(set.json["refresh_tokens"], json!("legacy_only"));
    let code = approved_code(&sandbox, &Authorize::default()).await;
    let forced = sandbox
        .token_request(
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT),
                ("continuous_refresh", "true"),
            ],
            None,
        )
        .await;
    assert_eq!(forced.json["refresh_token_expires_in"], json!(YEAR));
    let refused = sandbox
        .control(
            Method::POST,
            "/app",
            Some(json!({"refresh_tokens": "sometimes"})),
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.text);
}
