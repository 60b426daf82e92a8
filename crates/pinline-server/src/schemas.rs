//! JSON Schemas of the values the API serves from a closed set: error classes, attempt
//! outcomes, environments, event names, delivery statuses. Each is made from the list the code
//! itself uses, so the document cannot name a value that is never served, nor miss one that is.

use pinline_pinterest::ErrorClass;
use pinline_store::{PostAttemptRow, WebhookDeliveryRow};
use pinline_webhooks::events;
use serde_json::Value;
use utoipa::openapi::schema::{Object, ObjectBuilder, SchemaType, Type};

/// Every attempt outcome a finished attempt can have.
pub const ATTEMPT_OUTCOMES: [&str; 9] = [
    PostAttemptRow::PUBLISHED,
    PostAttemptRow::RETRY,
    PostAttemptRow::FAILED,
    PostAttemptRow::HELD,
    PostAttemptRow::ADOPTED,
    PostAttemptRow::FENCED_OUT,
    PostAttemptRow::EDITED,
    PostAttemptRow::EDIT_RETRY,
    PostAttemptRow::EDIT_FAILED,
];

/// Every status of a webhook delivery.
pub const DELIVERY_STATUSES: [&str; 3] = [
    WebhookDeliveryRow::PENDING,
    WebhookDeliveryRow::DELIVERED,
    WebhookDeliveryRow::FAILED,
];

fn error_class_description() -> String {
    let names: Vec<String> = ErrorClass::ALL
        .iter()
        .map(|class| format!("`{}`", class.as_str()))
        .collect();
    format!(
        "The failure's class: {}. `credential_mismatch`: the account was connected under \
         another Pinterest app or environment than pinline is configured for.",
        names.join(", ")
    )
}

/// An error class (never null).
pub fn error_class() -> Object {
    ObjectBuilder::new()
        .description(Some(error_class_description()))
        .schema_type(Type::String)
        .enum_values(Some(ErrorClass::ALL.map(ErrorClass::as_str)))
        .build()
}

/// An error class, or null when there was no error.
pub fn nullable_error_class() -> Object {
    nullable_enum(
        error_class_description(),
        ErrorClass::ALL.map(ErrorClass::as_str),
    )
}

/// An attempt's outcome, null while it runs.
pub fn attempt_outcome() -> Object {
    nullable_enum(
        "`published`, `retry` (back in the queue), `failed` (for good), `held` (the account \
         cannot publish), `adopted` (an earlier attempt's pin was found on the board) or \
         `fenced_out` (its lease ran out and another worker took the post over); for an edit of \
         the live pin `edited`, `edit_retry` (tried again) or `edit_failed`; `null` while the \
         attempt runs."
            .to_owned(),
        ATTEMPT_OUTCOMES,
    )
}

/// The Pinterest environment an account lives in.
pub fn environment() -> Object {
    ObjectBuilder::new()
        .description(Some(
            "`production`, `pinterest_sandbox` (Pinterest's sandbox API), or `custom:<API \
             URL>` for any other API base (a local stand-in, say).",
        ))
        .schema_type(Type::String)
        .pattern(Some("^(production|pinterest_sandbox|custom:.+)$"))
        .build()
}

/// One event name.
pub fn event_name() -> Object {
    ObjectBuilder::new()
        .description(Some("The event's name."))
        .schema_type(Type::String)
        .enum_values(Some(events::ALL.iter().copied()))
        .build()
}

/// A webhook delivery's status.
pub fn delivery_status() -> Object {
    ObjectBuilder::new()
        .description(Some(
            "`pending` (waiting for its next attempt), `delivered` (the receiver answered 2xx) \
             or `failed` (it used up its attempts).",
        ))
        .schema_type(Type::String)
        .enum_values(Some(DELIVERY_STATUSES))
        .build()
}

/// Why a post's time is not the one asked, null when it is.
pub fn placement() -> Object {
    nullable_enum(
        "`slot` (the account's next free slot) or `spaced` (moved later by the account's spacing \
         rule); `null` when the post goes at the time asked."
            .to_owned(),
        [
            pinline_queue::slots::Placement::Slot.as_str(),
            pinline_queue::slots::Placement::Spaced.as_str(),
        ],
    )
}

fn nullable_enum<const N: usize>(description: String, values: [&'static str; N]) -> Object {
    let values = values
        .into_iter()
        .map(Value::from)
        .chain(std::iter::once(Value::Null));
    ObjectBuilder::new()
        .description(Some(description))
        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .enum_values(Some(values))
        .build()
}
