//! Properties of webhook payloads and their signatures: any event data (any text, nesting,
//! numbers) becomes a JSON body that parses back to the same data, whose signature verifies, and
//! which no change to the body, the timestamp or the secret lets through.

use pinline_webhooks::event_payload;
use pinline_webhooks::events;
use pinline_webhooks::signature::{sign, verify};
use proptest::prelude::*;
use serde_json::Value;

/// Arbitrary JSON, a few levels deep, with any text (control characters, quotes, other scripts).
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<String>().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(any::<String>(), inner, 0..6)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_event_data_round_trips_and_verifies(
        data in json_value(),
        event in prop::sample::select(events::ALL.to_vec()),
        created_at in 0i64..4_102_444_800_000,
        secret in prop::collection::vec(any::<u8>(), 1..64),
    ) {
        let body = event_payload("evt_1", event, created_at, data.clone());
        let parsed: Value = serde_json::from_str(&body).expect("the body is JSON");
        prop_assert_eq!(&parsed["data"], &data);
        prop_assert_eq!(parsed["type"].as_str(), Some(event));
        prop_assert!(parsed["created_at"].as_str().is_some_and(|t| t.ends_with('Z')));

        let timestamp = created_at / 1000;
        let header = sign(&secret, timestamp, body.as_bytes());
        prop_assert!(verify(&secret, &header, body.as_bytes(), timestamp, 300).is_ok());
    }

    #[test]
    fn any_change_is_refused(
        body in prop::collection::vec(any::<u8>(), 1..512),
        flip in any::<prop::sample::Index>(),
        bit in 0u8..8,
        secret in prop::collection::vec(any::<u8>(), 1..64),
        timestamp in 1_600_000_000i64..1_900_000_000,
    ) {
        let header = sign(&secret, timestamp, &body);
        let mut changed = body.clone();
        let at = flip.index(changed.len());
        changed[at] ^= 1 << bit;
        prop_assert!(verify(&secret, &header, &changed, timestamp, 300).is_err());
        // The same MAC under another timestamp, or another secret, does not verify either.
        let moved = header.replacen(&format!("t={timestamp}"), &format!("t={}", timestamp + 1), 1);
        prop_assert!(verify(&secret, &moved, &body, timestamp, 300).is_err());
        // (Appending zero bytes would not do: HMAC pads short keys with zeros.)
        let mut other = secret.clone();
        other[0] ^= 0x80;
        prop_assert!(verify(&other, &header, &body, timestamp, 300).is_err());
    }

    #[test]
    fn any_header_text_is_answered_without_panicking(
        header in ".{0,200}",
        body in prop::collection::vec(any::<u8>(), 0..64),
    ) {
        // Arbitrary text is refused unless it happens to be a valid signature, which random text
        // never is.
        prop_assert!(verify(b"secret", &header, &body, 1_700_000_000, 300).is_err());
    }
}
