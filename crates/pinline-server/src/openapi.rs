//! The API's description of itself: an OpenAPI 3.1 document generated from the handlers.
//!
//! Every documented route is registered through [`api_router`], which adds a handler to the
//! axum router and its `#[utoipa::path]` operation to the document in one step, so the two
//! cannot drift apart: a route served without being documented would have to be added by hand
//! beside it. Request and response bodies are the handlers' own types (`ToSchema` is derived on
//! them), so the schemas describe exactly what is parsed and serialized.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, ErrorBody};
use crate::routes::{
    access_token, accounts, analytics, audit, callback, campaigns, drafts, health, posts,
    rate_meter, sections, slots, webhooks,
};
use crate::state::AppState;

/// The name of the API-key security scheme in the document.
pub const SECURITY_SCHEME: &str = "api_key";

/// The parts of the document that belong to no single operation.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "pinline API",
        description = "pinline publishes posts to Pinterest for your apps: connect Pinterest \
accounts once, then send posts; pinline validates them, queues them durably, paces them within \
Pinterest's rate limits and publishes each exactly once, with webhooks telling you how it went.\n\n\
**Authentication.** Every `/v1` operation needs an API key, sent as \
`Authorization: Bearer pl_…`. A key belongs to one profile and sees only that profile's \
accounts, posts and webhooks. Create one with `pinline keys create --profile NAME`.\n\n\
**Errors.** Every error has the same JSON body, \
`{\"error\": {\"code\": \"…\", \"message\": \"…\", \"field\": \"…\"}}`: `code` is stable and \
meant for programs, `message` says what to do, `field` names the input at fault when there is \
one. A `Retry-After` header accompanies `429`.",
        license(name = "Apache-2.0"),
    ),
    modifiers(&ApiKeyScheme),
    tags(
        (name = "posts", description = "Posts to publish: queue one or a batch, read them, \
reschedule or edit them before they publish, cancel them."),
        (name = "accounts", description = "Pinterest accounts: connect them through Pinterest's \
consent page, check their health, refresh or disconnect them, list and create their boards and board sections, read their analytics and their rate budget."),
        (name = "drafts", description = "Drafts: one idea (a page link, a line of text, an \
image) becomes Pinterest-ready pins (copy within the limits, a 1000×1500 image), edited and \
then published or scheduled in one call."),
        (name = "campaigns", description = "Campaigns: one idea turned into pins spread over \
an account's boards and days, into its free time slots; read and canceled as one."),
        (name = "webhooks", description = "Webhooks: signed HTTP callbacks for post and account \
events, with their delivery log."),
        (name = "health", description = "Liveness for load balancers and monitors."),
    ),
    components(schemas(ErrorBody)),
)]
struct ApiDoc;

/// Adds the bearer-token scheme that each operation's `security(("api_key" = ["posts:write"]))`
/// refers to; the list names the key scopes the operation needs (see `key_scopes`).
struct ApiKeyScheme;

impl Modify for ApiKeyScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            SECURITY_SCHEME,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("pl_…")
                    .description(Some(
                        "An API key, `pl_` followed by 43 characters, created with \
                         `pinline keys create`. It scopes every request to one profile. A key \
                         may be limited to some scopes (`pinline keys create --scope \
                         posts:read`, repeatable): `accounts:read`, `accounts:write`, \
                         `posts:read`, `posts:write`, `drafts:read`, `drafts:write`, \
                         `webhooks:read`, `webhooks:write`, `pinterest:read`, `pinterest:write` (the \
                         Pinterest passthrough at `/pinterest/v5`), `token:read`. Each \
                         operation's security requirement lists the scopes it needs; a key without one is answered \
                         403 `insufficient_scope`.",
                    ))
                    .build(),
            ),
        );
    }
}

/// Answers any operation can give, added where an operation does not describe them itself: a
/// 500 (pinline's own fault, logged), a 413 for every operation that reads a body, and a 429
/// for every operation that takes an API key (an address locked out after wrong keys).
struct CommonResponses;

impl Modify for CommonResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
        let error = |description: &str| {
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("Error")))
                        .build(),
                )
                .build()
        };
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.patch,
                &mut item.delete,
            ];
            for operation in operations.into_iter().flatten() {
                use utoipa::openapi::RefOr;
                use utoipa::openapi::path::ParameterIn;
                let parameters = operation.parameters.as_deref().unwrap_or_default();
                let in_path = parameters
                    .iter()
                    .any(|p| matches!(p, RefOr::T(p) if p.parameter_in == ParameterIn::Path));
                let in_query = parameters
                    .iter()
                    .any(|p| matches!(p, RefOr::T(p) if p.parameter_in == ParameterIn::Query));
                let has_body = operation.request_body.is_some();
                let secured = operation.security.is_some();
                let responses = &mut operation.responses.responses;
                // What the strict edge answers before any handler runs (see `crate::edge`
                // and `crate::body`).
                let mut common = Vec::new();
                if has_body {
                    common.push(("400", "The body is not JSON (`invalid_body`)."));
                    common.push((
                        "415",
                        "The body is not sent as `application/json` (`invalid_body`).",
                    ));
                    common.push(("422", "A field is invalid, unknown, sent twice, or an object was sent as an array; `error.field` names it (`invalid_body`, `invalid_field`)."));
                }
                if in_query {
                    common.push((
                        "400",
                        "An unknown query parameter or a malformed value (`invalid_query`).",
                    ));
                    common.push(("422", "A query value is out of range or contains a control character; `error.field` names it (`invalid_field`)."));
                }
                if in_path {
                    common.push(("404", "No such resource in this key's profile, or an id that is not an id (`not_found`)."));
                }
                if secured {
                    common.push((
                        "400",
                        "More than one `Authorization` header (`invalid_header`).",
                    ));
                }
                for (status, description) in common {
                    if !responses.contains_key(status) {
                        responses.insert(status.to_owned(), error(description).into());
                    }
                }
                if operation.request_body.is_some() && !responses.contains_key("413") {
                    responses.insert(
                        "413".to_owned(),
                        error("The body is larger than this operation accepts (`body_too_large`).")
                            .into(),
                    );
                }
                if secured {
                    // Every secured operation states its key scopes in `security`; a key
                    // without one of them is refused before anything else is looked at.
                    const SCOPE: &str = "The API key lacks a scope this operation needs (`insufficient_scope`; the operation's `security` lists them).";
                    match responses.get_mut("403") {
                        Some(utoipa::openapi::RefOr::T(existing)) => {
                            existing.description = format!("{} Or: {SCOPE}", existing.description);
                        }
                        Some(_) => {}
                        None => {
                            responses.insert("403".to_owned(), error(SCOPE).into());
                        }
                    }
                }
                if operation.security.is_some() && !responses.contains_key("429") {
                    responses.insert(
                        "429".to_owned(),
                        error("Too many wrong API keys from this address; `Retry-After` says when to try again (`too_many_failures`).")
                            .into(),
                    );
                }
                if !responses.contains_key("500") {
                    responses.insert(
                        "500".to_owned(),
                        error("An internal error; the server log has the details (`internal`).")
                            .into(),
                    );
                }
            }
        }
    }
}

/// The documented routes (without state) together with their document.
pub fn api_router() -> OpenApiRouter<AppState> {
    let v1 = OpenApiRouter::new()
        .routes(routes!(accounts::list_accounts))
        .routes(routes!(accounts::connect_account))
        .routes(routes!(accounts::get_account, accounts::delete_account))
        .routes(routes!(accounts::refresh_account))
        .routes(routes!(access_token::issue_access_token))
        .routes(routes!(audit::list_audit))
        .routes(routes!(accounts::list_boards, accounts::create_board))
        .routes(routes!(
            slots::get_account_slots,
            slots::put_account_slots,
            slots::delete_account_slots
        ))
        .routes(routes!(sections::list_sections, sections::create_section))
        .routes(routes!(sections::rename_section, sections::delete_section))
        .routes(routes!(analytics::account_analytics))
        .routes(routes!(analytics::post_analytics))
        .routes(routes!(rate_meter::rate_meter))
        .routes(routes!(posts::list_posts, posts::create_post))
        .merge(
            OpenApiRouter::new()
                .routes(routes!(posts::create_posts_batch))
                .layer(axum::extract::DefaultBodyLimit::max(
                    posts::BATCH_BODY_LIMIT,
                )),
        )
        .routes(routes!(
            posts::get_post,
            posts::patch_post,
            posts::delete_post
        ))
        .routes(routes!(webhooks::list_webhooks, webhooks::create_webhook))
        .routes(routes!(
            webhooks::get_webhook,
            webhooks::update_webhook,
            webhooks::delete_webhook
        ))
        .routes(routes!(webhooks::list_deliveries))
        .routes(routes!(webhooks::redeliver))
        .routes(routes!(drafts::list_drafts, drafts::create_drafts))
        .routes(routes!(
            drafts::get_draft,
            drafts::update_draft,
            drafts::delete_draft
        ))
        .routes(routes!(drafts::get_draft_image))
        .routes(routes!(campaigns::create_campaign))
        .routes(routes!(campaigns::get_campaign, campaigns::cancel_campaign))
        .routes(routes!(drafts::publish_draft))
        .fallback(|| async {
            ApiError::new(
                axum::http::StatusCode::NOT_FOUND,
                "not_found",
                "no such endpoint",
            )
        });
    let mut router = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .nest("/v1", v1)
        .routes(routes!(callback::oauth_callback))
        .routes(routes!(health::healthz));
    // After every route is in: the modifier walks the operations.
    CommonResponses.modify(router.get_openapi_mut());
    router
}

/// pinline's OpenAPI document, as `GET /openapi.json` serves it.
pub fn document() -> utoipa::openapi::OpenApi {
    api_router().into_openapi()
}
