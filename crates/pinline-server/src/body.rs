//! The strict JSON edge every request body goes through: the bytes are parsed once into a JSON
//! tree that refuses duplicate keys, then the tree is read into the handler's type by a
//! deserializer that refuses what serde's derives would otherwise let through.
//!
//! - A key sent twice is refused: `{"title": "a", "title": "b"}` must not silently mean `b`.
//! - A struct is read from a JSON object only. serde's derives also accept an array, matched to
//!   the fields by position (`["id", "board", …]`); the document says object, so this refuses it.
//! - Unknown fields stay refused (`deny_unknown_fields` on every body type).
//! - Every string passes the text rule of [`crate::text`]: a body field is single-line unless its
//!   type is [`MultiLine`](crate::text::MultiLine).
//!
//! Each refusal names the field by its path in the body (`posts[2].title`,
//! `media_source.items[0].url`) in the API's error shape.

use std::cell::RefCell;
use std::fmt;

use axum::http::StatusCode;
use serde::de::value::BorrowedStrDeserializer;
use serde::de::{
    self, DeserializeOwned, DeserializeSeed, Deserializer, IntoDeserializer, MapAccess, SeqAccess,
    Visitor,
};
use serde_json::{Map, Number, Value};

use crate::error::ApiError;
use crate::text::{self, Lines};

/// Why a body was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BodyError {
    kind: Kind,
    message: String,
    field: Option<String>,
    /// Whether `field` is relative to the value being read (a missing field of a nested object)
    /// and still needs the path of that value in front of it.
    relative: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Not JSON at all.
    Syntax,
    /// JSON of the wrong shape: a duplicate key, an array for an object, a wrong type, an
    /// unknown or missing field.
    Shape,
    /// A string with a character the text rule refuses.
    Text,
}

impl BodyError {
    fn shape(field: Option<String>, message: String) -> BodyError {
        BodyError {
            kind: Kind::Shape,
            message,
            field,
            relative: false,
        }
    }

    /// Puts the error at `path` unless it already has a place.
    fn at(mut self, path: &str) -> BodyError {
        self.field = match self.field.take() {
            None if path.is_empty() => None,
            None => Some(path.to_owned()),
            Some(field) if self.relative => Some(join(path, &field)),
            Some(field) => Some(field),
        };
        self.relative = false;
        self
    }

    /// The field at fault, as its path in the body.
    pub fn field(&self) -> Option<&str> {
        self.field.as_deref()
    }
}

impl fmt::Display for BodyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for BodyError {}

impl de::Error for BodyError {
    fn custom<T: fmt::Display>(message: T) -> BodyError {
        BodyError::shape(None, message.to_string())
    }

    fn missing_field(field: &'static str) -> BodyError {
        BodyError {
            relative: true,
            ..BodyError::shape(Some(field.to_owned()), format!("{field} is required"))
        }
    }
}

impl From<BodyError> for ApiError {
    fn from(error: BodyError) -> ApiError {
        let (status, code) = match error.kind {
            Kind::Syntax => (StatusCode::BAD_REQUEST, "invalid_body"),
            Kind::Shape => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_body"),
            Kind::Text => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_field"),
        };
        ApiError {
            field: error.field,
            ..ApiError::new(status, code, error.message)
        }
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

fn index(path: &str, index: usize) -> String {
    format!("{path}[{index}]")
}

fn check_text(path: &str, value: &str, lines: Lines) -> Result<(), BodyError> {
    match text::first_refused(value, lines) {
        None => Ok(()),
        Some(refused) => {
            let name = if path.is_empty() { "the body" } else { path };
            Err(BodyError {
                kind: Kind::Text,
                message: refused.message(name),
                field: (!path.is_empty()).then(|| path.to_owned()),
                relative: false,
            })
        }
    }
}

/// Parses a whole body into `T` through the strict edge.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, BodyError> {
    read(&tree(bytes)?)
}

/// Reads an already parsed JSON value (a batch item, say) into `T` with the same rules.
pub fn read<T: DeserializeOwned>(value: &Value) -> Result<T, BodyError> {
    T::deserialize(Strict::new(value, String::new())).map_err(|error| error.at(""))
}

/// The bytes as a JSON tree, refusing duplicate keys and keys with refused characters.
pub fn tree(bytes: &[u8]) -> Result<Value, BodyError> {
    let fault = RefCell::new(None);
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let parsed = UniqueKeys {
        path: String::new(),
        fault: &fault,
    }
    .deserialize(&mut deserializer)
    .and_then(|value| deserializer.end().map(|()| value));
    match parsed {
        Ok(value) => Ok(value),
        Err(error) => Err(fault.into_inner().unwrap_or_else(|| BodyError {
            kind: match error.classify() {
                serde_json::error::Category::Data => Kind::Shape,
                _ => Kind::Syntax,
            },
            message: format!("the body is not valid JSON: {error}"),
            field: None,
            relative: false,
        })),
    }
}

/// Reads any JSON value, refusing an object that has the same key twice. The refusal is kept
/// in `fault` because serde_json's own error cannot carry the field.
struct UniqueKeys<'a> {
    path: String,
    fault: &'a RefCell<Option<BodyError>>,
}

impl<'de> DeserializeSeed<'de> for UniqueKeys<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for UniqueKeys<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, value: bool) -> Result<Value, E> {
        Ok(Value::Bool(value))
    }

    fn visit_i64<E>(self, value: i64) -> Result<Value, E> {
        Ok(Value::Number(value.into()))
    }

    fn visit_u64<E>(self, value: u64) -> Result<Value, E> {
        Ok(Value::Number(value.into()))
    }

    fn visit_f64<E>(self, value: f64) -> Result<Value, E> {
        Ok(Number::from_f64(value).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, value: &str) -> Result<Value, E> {
        Ok(Value::String(value.to_owned()))
    }

    fn visit_string<E>(self, value: String) -> Result<Value, E> {
        Ok(Value::String(value))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(UniqueKeys {
            path: index(&self.path, items.len()),
            fault: self.fault,
        })? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let path = join(&self.path, &key);
            let refused = if object.contains_key(&key) {
                Some(BodyError::shape(
                    Some(path.clone()),
                    format!("{path} appears twice in the object; send each field once"),
                ))
            } else {
                // A key is a field name: one line, nothing refused (named by its parent).
                check_text(&self.path, &key, Lines::One).err()
            };
            if let Some(error) = refused {
                let message = error.message.clone();
                *self.fault.borrow_mut() = Some(error);
                return Err(de::Error::custom(message));
            }
            let value = map.next_value_seed(UniqueKeys {
                path,
                fault: self.fault,
            })?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

/// A part of a body kept as JSON, to be read later on its own with [`read`] (each post of a
/// batch, so that one bad post is refused alone). Duplicate keys are refused in it with the rest
/// of the body; its text is checked when it is read.
#[derive(Debug, Clone, PartialEq)]
pub struct Later(pub Value);

/// The newtype name [`Strict`] recognises for [`Later`].
const LATER: &str = "pinline::Later";

impl<'de> serde::Deserialize<'de> for Later {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Later, D::Error> {
        struct Inner;
        impl<'de> Visitor<'de> for Inner {
            type Value = Later;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_newtype_struct<D: Deserializer<'de>>(
                self,
                deserializer: D,
            ) -> Result<Later, D::Error> {
                <Value as serde::Deserialize>::deserialize(deserializer).map(Later)
            }
        }
        deserializer.deserialize_newtype_struct(LATER, Inner)
    }
}

/// Reads a JSON tree into a type, strictly (see the module documentation).
struct Strict<'de> {
    value: &'de Value,
    path: String,
    lines: Lines,
    /// Off inside a [`Later`]: its text is checked when it is read.
    check: bool,
}

impl<'de> Strict<'de> {
    fn new(value: &'de Value, path: String) -> Strict<'de> {
        Strict {
            value,
            path,
            lines: Lines::One,
            check: true,
        }
    }

    fn check_text(&self, text: &str, lines: Lines) -> Result<(), BodyError> {
        if self.check {
            check_text(&self.path, text, lines)
        } else {
            Ok(())
        }
    }

    fn kind(&self) -> &'static str {
        match self.value {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Number(_) => "a number",
            Value::String(_) => "a string",
            Value::Array(_) => "an array",
            Value::Object(_) => "an object",
        }
    }

    fn expected_object(&self) -> BodyError {
        let name = if self.path.is_empty() {
            "the body".to_owned()
        } else {
            self.path.clone()
        };
        BodyError::shape(
            None,
            format!(
                "{name} must be a JSON object with named fields, not {}",
                self.kind()
            ),
        )
    }

    fn visit_object<V: Visitor<'de>>(
        &self,
        object: &'de Map<String, Value>,
        visitor: V,
    ) -> Result<V::Value, BodyError> {
        visitor.visit_map(Fields {
            entries: object.iter(),
            path: &self.path,
            current: None,
            check: self.check,
        })
    }
}

impl<'de> Deserializer<'de> for Strict<'de> {
    type Error = BodyError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, BodyError> {
        match self.value {
            Value::Null => visitor.visit_unit(),
            Value::Bool(value) => visitor.visit_bool(*value),
            Value::Number(number) => {
                if let Some(value) = number.as_u64() {
                    visitor.visit_u64(value)
                } else if let Some(value) = number.as_i64() {
                    visitor.visit_i64(value)
                } else {
                    visitor.visit_f64(number.as_f64().unwrap_or(f64::NAN))
                }
            }
            // Free-form JSON (Pinterest's media_source): the rule without the line limit, as
            // the value's own type is not known here; a typed reading later applies it fully.
            Value::String(text) => {
                self.check_text(text, Lines::Many)?;
                visitor.visit_borrowed_str(text)
            }
            Value::Array(items) => visitor.visit_seq(Items {
                items: items.iter(),
                path: &self.path,
                next: 0,
                check: self.check,
            }),
            Value::Object(object) => self.visit_object(object, visitor),
        }
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, BodyError> {
        match self.value {
            Value::String(text) => {
                self.check_text(text, self.lines)?;
                visitor.visit_borrowed_str(text)
            }
            _ => self.deserialize_any(visitor),
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, BodyError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, BodyError> {
        match self.value {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, BodyError> {
        let lines = if name == text::MULTI_LINE {
            Lines::Many
        } else {
            self.lines
        };
        let check = self.check && name != LATER;
        visitor.visit_newtype_struct(Strict {
            lines,
            check,
            ..self
        })
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, BodyError> {
        match self.value {
            Value::Object(object) => self.visit_object(object, visitor),
            _ => Err(self.expected_object()),
        }
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, BodyError> {
        match self.value {
            Value::Object(object) => self.visit_object(object, visitor),
            _ => Err(self.expected_object()),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, BodyError> {
        // Body enums are names (`"PUBLIC"`, `"SECRET"`), never objects.
        match self.value {
            Value::String(text) => {
                self.check_text(text, Lines::One)?;
                visitor.visit_enum(text.as_str().into_deserializer())
            }
            _ => Err(BodyError::shape(
                None,
                format!(
                    "expected one of the documented names, found {}",
                    self.kind()
                ),
            )),
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, BodyError> {
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char bytes byte_buf unit
        unit_struct seq tuple tuple_struct identifier
    }
}

/// The fields of an object, each read strictly at its own path.
struct Fields<'de, 'p> {
    entries: serde_json::map::Iter<'de>,
    path: &'p str,
    current: Option<(String, &'de Value)>,
    check: bool,
}

impl<'de> MapAccess<'de> for Fields<'de, '_> {
    type Error = BodyError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, BodyError> {
        let Some((key, value)) = self.entries.next() else {
            return Ok(None);
        };
        let path = join(self.path, key);
        let read = seed
            .deserialize(BorrowedStrDeserializer::<BodyError>::new(key))
            .map_err(|error| error.at(&path))?;
        self.current = Some((path, value));
        Ok(Some(read))
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, BodyError> {
        let (path, value) = self
            .current
            .take()
            .ok_or_else(|| <BodyError as de::Error>::custom("a value without its key"))?;
        seed.deserialize(Strict {
            check: self.check,
            ..Strict::new(value, path.clone())
        })
        .map_err(|error| error.at(&path))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}

/// The items of an array, each read strictly at its own path.
struct Items<'de, 'p> {
    items: std::slice::Iter<'de, Value>,
    path: &'p str,
    next: usize,
    check: bool,
}

impl<'de> SeqAccess<'de> for Items<'de, '_> {
    type Error = BodyError;

    fn next_element_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<Option<S::Value>, BodyError> {
        let Some(value) = self.items.next() else {
            return Ok(None);
        };
        let path = index(self.path, self.next);
        self.next += 1;
        seed.deserialize(Strict {
            check: self.check,
            ..Strict::new(value, path.clone())
        })
        .map(Some)
        .map_err(|error| error.at(&path))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;
    use crate::text::MultiLine;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Post {
        title: Option<String>,
        description: Option<MultiLine>,
        #[serde(default)]
        tags: Vec<String>,
        inner: Option<Inner>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Inner {
        name: String,
    }

    fn refusal(body: &str) -> (StatusCode, String, Option<String>) {
        let error = ApiError::from(parse::<Post>(body.as_bytes()).expect_err(body));
        (error.status, error.code.to_owned(), error.field)
    }

    #[test]
    fn a_well_formed_body_reads() {
        let post: Post = parse(
            br#"{"title": "Tart", "description": "one\ntwo", "tags": ["a"], "inner": {"name": "x"}}"#,
        )
        .expect("parsed");
        assert_eq!(post.description, Some(MultiLine("one\ntwo".into())));
        assert_eq!(post.inner, Some(Inner { name: "x".into() }));
    }

    #[test]
    fn each_refusal_names_its_field() {
        let cases: [(&str, u16, &str, Option<&str>); 10] = [
            (
                r#"{"title": "a", "title": "b"}"#,
                422,
                "invalid_body",
                Some("title"),
            ),
            (
                r#"{"inner": {"name": "a", "name": "b"}}"#,
                422,
                "invalid_body",
                Some("inner.name"),
            ),
            (r#"["Tart", "Sharp"]"#, 422, "invalid_body", None),
            (r#"{"inner": ["x"]}"#, 422, "invalid_body", Some("inner")),
            (r#"{"inner": {}}"#, 422, "invalid_body", Some("inner.name")),
            (r#"{"colour": "red"}"#, 422, "invalid_body", Some("colour")),
            (
                r#"{"title": "a\u0000b"}"#,
                422,
                "invalid_field",
                Some("title"),
            ),
            (r#"{"title": "a\nb"}"#, 422, "invalid_field", Some("title")),
            (
                r#"{"tags": ["ok", "\u001b[2J"]}"#,
                422,
                "invalid_field",
                Some("tags[1]"),
            ),
            (r#"{"title": "#, 400, "invalid_body", None),
        ];
        for (body, status, code, field) in cases {
            let (got_status, got_code, got_field) = refusal(body);
            assert_eq!(
                (got_status.as_u16(), got_code.as_str(), got_field.as_deref()),
                (status, code, field),
                "{body}"
            );
        }
    }

    #[test]
    fn later_parts_are_checked_when_read() {
        #[derive(Debug, Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Batch {
            posts: Vec<Later>,
        }
        let batch: Batch =
            parse(br#"{"posts": [{"title": "a\u0000"}, {"title": "b"}]}"#).expect("parsed");
        let error = read::<Post>(&batch.posts[0].0).expect_err("NUL");
        assert_eq!(error.field(), Some("title"));
        assert!(read::<Post>(&batch.posts[1].0).is_ok());
        let error =
            parse::<Batch>(br#"{"posts": [{"title": "a", "title": "b"}]}"#).expect_err("duplicate");
        assert_eq!(error.field(), Some("posts[0].title"));
    }

    #[test]
    fn free_form_values_keep_line_breaks_but_not_controls() {
        let value: Value = parse(br#"{"a": ["x\ny"]}"#).expect("parsed");
        assert_eq!(value["a"][0], "x\ny");
        let error = parse::<Value>(br#"{"a": {"b": "\u0007"}}"#).expect_err("BEL");
        assert_eq!(error.field(), Some("a.b"));
        let error = parse::<Value>(br#"{"a\u0000": 1}"#).expect_err("NUL in a key");
        assert_eq!(ApiError::from(error).code, "invalid_field");
    }
}
