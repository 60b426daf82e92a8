//! Properties of the Pinterest error parser: any status and any body become one typed error
//! without panicking, with a bounded message, and no token-shaped text survives into the
//! message, the error's Display or its Debug, wherever Pinterest (or a proxy in between) put it.

use pinline_pinterest::facts::operations;
use pinline_pinterest::{ApiError, ErrorClass, RateLimitInfo};
use proptest::prelude::*;

const OPERATIONS: [&str; 3] = [
    operations::PINS_CREATE.id,
    operations::OAUTH_TOKEN.id,
    operations::BOARDS_LIST.id,
];

fn parse(operation: usize, status: u16, body: &[u8]) -> ApiError {
    ApiError::from_response(
        OPERATIONS[operation % OPERATIONS.len()],
        operation == 0,
        status,
        body,
        RateLimitInfo::default(),
    )
}

/// A token as Pinterest issues them, in either spelling.
fn token() -> impl Strategy<Value = String> {
    (
        prop::sample::select(vec!["pina_", "pinr_", "pina.", "pinr."]),
        "[A-Za-z0-9]{12,60}",
    )
        .prop_map(|(prefix, rest)| format!("{prefix}{rest}"))
}

/// Text around a token: anything, including newlines, quotes, colons and other scripts.
fn around() -> impl Strategy<Value = String> {
    prop::string::string_regex("(?s).{0,40}").expect("regex")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_answer_parses_into_one_bounded_error(
        operation in 0usize..3,
        status in 100u16..600,
        body in prop::collection::vec(any::<u8>(), 0..2048),
    ) {
        let error = parse(operation, status, &body);
        prop_assert_eq!(error.status, status);
        prop_assert!(error.message.chars().count() <= 301, "{}", error.message);
        prop_assert!(!error.message.is_empty());
        prop_assert!(ErrorClass::ALL.contains(&error.class()));
        let _ = error.to_string();
    }

    #[test]
    fn json_bodies_of_any_shape_parse(
        status in 400u16..600,
        code in prop_oneof![
            any::<i64>().prop_map(serde_json::Value::from),
            any::<f64>().prop_map(|f| serde_json::json!(f)),
            ".{0,10}".prop_map(serde_json::Value::from),
            Just(serde_json::Value::Null),
        ],
        message in prop::option::of(".{0,400}"),
    ) {
        let body = serde_json::json!({"code": code, "message": message}).to_string();
        let error = parse(0, status, body.as_bytes());
        if let Some(number) = code.as_i64() {
            prop_assert_eq!(error.code, Some(number));
        }
        if status == 429 || error.code == Some(8) {
            prop_assert_eq!(error.class(), ErrorClass::RateLimited);
        } else if status >= 500 {
            prop_assert_eq!(error.class(), ErrorClass::Transient);
        }
    }

    #[test]
    fn no_token_survives_in_any_field_of_any_body(
        operation in 0usize..3,
        status in 400u16..600,
        secret in token(),
        before in around(),
        after in around(),
        shape in 0usize..4,
    ) {
        let text = format!("{before}{secret}{after}");
        let body = match shape {
            0 => serde_json::json!({"code": 2, "message": text}).to_string(),
            1 => serde_json::json!({"error": "invalid_grant", "error_description": text})
                .to_string(),
            2 => serde_json::json!({"error": text}).to_string(),
            _ => text.clone(),
        };
        let error = parse(operation, status, body.as_bytes());
        prop_assert!(
            !error.message.contains(&secret),
            "message kept the token: {:?}",
            error.message
        );
        prop_assert!(!error.to_string().contains(&secret));
        let debug = format!("{:?}", error);
        prop_assert!(!debug.contains(&secret));
    }
}
