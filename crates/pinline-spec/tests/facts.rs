//! pinline's Pinterest fact tables (`pinline_pinterest::facts`) checked against Pinterest's
//! OpenAPI description. Both the client and the sandbox trust those tables, so a fact that
//! drifts from the spec would go unnoticed by every other test; where they disagree, the spec
//! wins and the table is what must change.

use std::collections::BTreeSet;

use pinline_pinterest::facts::{self, RateLimitCategory, Scope};
use pinline_spec::Spec;
use serde_json::Value;

fn spec() -> &'static Spec {
    match Spec::shared() {
        Ok(spec) => spec,
        Err(error) => panic!("{error}"),
    }
}

/// The integer at `pointer` inside the component schema `schema`.
fn schema_number(schema: &str, pointer: &str) -> Option<u64> {
    spec().schema(schema)?.pointer(pointer)?.as_u64()
}

#[test]
fn every_operation_fact_matches_the_spec() {
    let mut mismatches = Vec::new();
    for fact in facts::operations::ALL {
        let Some(declared) = spec().operation(fact.id) else {
            mismatches.push(format!("{}: no such operationId in the spec", fact.id));
            continue;
        };
        if declared.method != fact.method.as_str() {
            mismatches.push(format!(
                "{}: method {} in facts, {} in the spec",
                fact.id,
                fact.method.as_str(),
                declared.method
            ));
        }
        if declared.path != fact.path {
            mismatches.push(format!(
                "{}: path {} in facts, {} in the spec",
                fact.id, fact.path, declared.path
            ));
        }
        let fact_scopes: BTreeSet<&str> = fact.scopes.iter().map(|scope| scope.as_str()).collect();
        let spec_scopes: BTreeSet<&str> =
            declared.oauth_scopes.iter().map(String::as_str).collect();
        if fact_scopes != spec_scopes {
            mismatches.push(format!(
                "{}: scopes {fact_scopes:?} in facts, {spec_scopes:?} in the spec",
                fact.id
            ));
        }
        // An operation without user scopes must be one the app calls with its own client
        // credentials, as `Operation::uses_client_credentials` assumes.
        if fact.uses_client_credentials() && !declared.security_schemes.iter().any(|s| s == "basic")
        {
            mismatches.push(format!(
                "{}: facts treat it as HTTP Basic, the spec's security is {:?}",
                fact.id, declared.security_schemes
            ));
        }
        if declared.rate_limit_category.as_deref() != Some(fact.category.as_str()) {
            mismatches.push(format!(
                "{}: rate-limit category {} in facts, {:?} in the spec",
                fact.id,
                fact.category.as_str(),
                declared.rate_limit_category
            ));
        }
    }
    assert!(mismatches.is_empty(), "{mismatches:#?}");
}

#[test]
fn the_scope_table_is_the_spec_scope_list() {
    let fact_scopes: BTreeSet<String> = Scope::ALL.iter().map(|s| s.as_str().to_owned()).collect();
    let spec_scopes: BTreeSet<String> = spec().oauth_scopes().into_iter().collect();
    assert_eq!(fact_scopes, spec_scopes);
}

#[test]
fn the_rate_limit_categories_are_the_ones_the_spec_uses() {
    let fact_categories: BTreeSet<&str> = RateLimitCategory::ALL
        .iter()
        .map(|category| category.as_str())
        .collect();
    let spec_categories: BTreeSet<String> = spec()
        .operation_ids()
        .into_iter()
        .filter_map(|id| spec().operation(id)?.rate_limit_category)
        .collect();
    let spec_categories: BTreeSet<&str> = spec_categories.iter().map(String::as_str).collect();
    assert_eq!(fact_categories, spec_categories);
}

#[test]
fn pin_limits_are_the_pin_create_limits() {
    use facts::pin_limits;
    let max_length = |property: &str| {
        schema_number("PinCreate", &format!("/properties/{property}/maxLength"))
            .and_then(|limit| usize::try_from(limit).ok())
    };
    assert_eq!(max_length("title"), Some(pin_limits::TITLE_MAX));
    assert_eq!(max_length("description"), Some(pin_limits::DESCRIPTION_MAX));
    assert_eq!(max_length("alt_text"), Some(pin_limits::ALT_TEXT_MAX));
    assert_eq!(max_length("link"), Some(pin_limits::LINK_MAX));

    // Multiple-image pins, from both of the spec's multiple-image media sources.
    for source in ["PinMediaSourceImagesURL", "PinMediaSourceImagesBase64"] {
        let count = |keyword: &str| {
            schema_number(source, &format!("/properties/items/{keyword}"))
                .and_then(|limit| usize::try_from(limit).ok())
        };
        assert_eq!(
            count("minItems"),
            Some(pin_limits::MULTIPLE_IMAGES_MIN),
            "{source}"
        );
        assert_eq!(
            count("maxItems"),
            Some(pin_limits::MULTIPLE_IMAGES_MAX),
            "{source}"
        );
    }
}

#[test]
fn board_section_limits_are_the_spec_limits() {
    let limit = schema_number("BoardSection", "/properties/name/maxLength")
        .and_then(|limit| usize::try_from(limit).ok());
    assert_eq!(limit, Some(facts::board_limits::SECTION_NAME_MAX));
}

#[test]
fn error_bodies_have_the_shape_the_client_parses() {
    // The client reads `{code, message}`; both error schemas the operations use must say so.
    for name in ["Error", "Pinterest.Lib.Error"] {
        let required = spec()
            .schema(name)
            .and_then(|schema| schema.get("required"))
            .and_then(Value::as_array)
            .map(|required| {
                required
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<BTreeSet<_>>()
            });
        assert_eq!(
            required,
            Some(BTreeSet::from(["code", "message"])),
            "{name}"
        );
    }
}
