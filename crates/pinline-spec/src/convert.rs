//! Turns OpenAPI 3.0 schema objects into JSON Schema draft 7, which the `jsonschema` crate
//! validates.
//!
//! OpenAPI 3.0 schemas are "an extended subset" of JSON Schema Wright draft 00, and the
//! differences matter for validation:
//!
//! - `nullable: true` has no JSON Schema counterpart. A plain typed schema becomes
//!   `type: [X, "null"]` (and an `enum` gains `null`); a schema that composes others (`allOf`,
//!   `oneOf`, `anyOf`, or a `$ref`) is wrapped as `anyOf: [schema, {type: null}]`, because adding
//!   `null` to the outer `type` would not stop the composed parts from rejecting `null`.
//! - `discriminator` is advice in OpenAPI, but a bare `oneOf` is not: two variants that both
//!   accept an object (Pinterest's variants mostly differ only in optional properties) make
//!   `oneOf` fail with "valid under more than one schema". Where the discriminator names its
//!   variants, the `oneOf`/`anyOf` is replaced by an `if`/`then`/`else` chain keyed on the
//!   discriminator property's value, so exactly the named variant is checked and its errors are
//!   the ones reported. A discriminator on a base schema without `oneOf` (Pinterest's
//!   `OauthAccessTokenResponse`) gets the same chain, so a `refresh_token` response must match
//!   the refresh variant.
//! - `exclusiveMinimum: true` (a flag next to `minimum`) becomes draft 7's numeric
//!   `exclusiveMinimum`; likewise for the maximum.
//! - `readOnly` properties need not be sent in requests and `writeOnly` ones are never returned,
//!   so they are dropped from `required` in that direction.
//! - Annotations (`description`, `example`, `title`, `default`, `deprecated`, `x-*`, …) are
//!   dropped, and so is every `format` except `date-time`: the others are either informational
//!   (`int64`, `double`) or not worth failing a conformance test over.
//!
//! `$ref`s keep their `#/components/schemas/…` form: the validator's root document carries the
//! converted schemas under the same `components/schemas` path, so the pointers resolve unchanged.

use std::collections::{BTreeSet, HashSet};

use serde_json::{Map, Value, json};

/// Where OpenAPI keeps its reusable schemas, as a `$ref` prefix.
pub(crate) const SCHEMA_REF_PREFIX: &str = "#/components/schemas/";

/// Keywords copied unchanged: they mean the same in OpenAPI 3.0 and JSON Schema draft 7.
const SAME_KEYWORDS: &[&str] = &[
    "type",
    "enum",
    "const",
    "pattern",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "uniqueItems",
    "minProperties",
    "maxProperties",
    "minimum",
    "maximum",
    "multipleOf",
];

/// Which way a body travels; it decides which of `readOnly`/`writeOnly` relaxes `required`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Direction {
    /// Client to Pinterest: `readOnly` properties are not required.
    Request,
    /// Pinterest to client: `writeOnly` properties are not required.
    Response,
}

/// Converts schemas of one OpenAPI document for one direction.
#[derive(Debug)]
pub(crate) struct Converter<'a> {
    /// The document's raw `components.schemas`, used to follow references when guarding against
    /// discriminator cycles.
    schemas: &'a Map<String, Value>,
    direction: Direction,
}

impl<'a> Converter<'a> {
    pub(crate) fn new(schemas: &'a Map<String, Value>, direction: Direction) -> Self {
        Self { schemas, direction }
    }

    /// Converts every named schema, keeping the names so that `$ref`s still point at them.
    pub(crate) fn convert_components(&self) -> Map<String, Value> {
        self.schemas
            .iter()
            .map(|(name, schema)| (name.clone(), self.convert_in(schema, Some(name))))
            .collect()
    }

    /// Converts one schema that is not itself a named component (a response's inline schema).
    pub(crate) fn convert(&self, schema: &Value) -> Value {
        self.convert_in(schema, None)
    }

    /// `own_name` is the component name when `schema` is a named component; a discriminator
    /// needs it to avoid chaining to a variant that refers back to the schema itself.
    fn convert_in(&self, schema: &Value, own_name: Option<&str>) -> Value {
        // Booleans (as in `additionalProperties: false`) mean the same in both languages.
        let Value::Object(source) = schema else {
            return schema.clone();
        };
        let nullable = source.get("nullable") == Some(&Value::Bool(true));

        // OpenAPI 3.0 ignores everything beside a `$ref`; `nullable` is honoured anyway because
        // writers put it there meaning exactly "this, or null".
        if let Some(reference) = source.get("$ref") {
            let reference = json!({ "$ref": reference });
            return if nullable {
                or_null(reference)
            } else {
                reference
            };
        }

        let mut out = Map::new();
        for (keyword, value) in source {
            match keyword.as_str() {
                keyword if SAME_KEYWORDS.contains(&keyword) => {
                    out.insert(keyword.to_owned(), value.clone());
                }
                "properties" => {
                    if let Value::Object(properties) = value {
                        let converted = properties
                            .iter()
                            .map(|(name, property)| (name.clone(), self.convert(property)))
                            .collect();
                        out.insert(keyword.clone(), Value::Object(converted));
                    }
                }
                "items" | "additionalProperties" | "not" => {
                    out.insert(keyword.clone(), self.convert(value));
                }
                "allOf" | "anyOf" | "oneOf" => {
                    if let Value::Array(list) = value {
                        let converted = list.iter().map(|item| self.convert(item)).collect();
                        out.insert(keyword.clone(), Value::Array(converted));
                    }
                }
                "required" => {
                    out.insert(keyword.clone(), self.required(source, value));
                }
                "format" if value == "date-time" => {
                    out.insert(keyword.clone(), value.clone());
                }
                // Annotations, extensions, `nullable` and `discriminator` (handled below).
                _ => {}
            }
        }

        for (exclusive, bound) in [
            ("exclusiveMinimum", "minimum"),
            ("exclusiveMaximum", "maximum"),
        ] {
            match source.get(exclusive) {
                Some(Value::Bool(true)) => {
                    if let Some(limit) = out.remove(bound) {
                        out.insert(exclusive.to_owned(), limit);
                    }
                }
                // Already the numeric (draft 6+) form, which some writers use.
                Some(limit @ Value::Number(_)) => {
                    out.insert(exclusive.to_owned(), limit.clone());
                }
                _ => {}
            }
        }

        if let Some(discriminator) = source.get("discriminator") {
            self.apply_discriminator(discriminator, source, &mut out, own_name);
        }

        if nullable {
            make_nullable(out)
        } else {
            Value::Object(out)
        }
    }

    /// The `required` list minus the properties that may not appear in this direction.
    fn required(&self, source: &Map<String, Value>, required: &Value) -> Value {
        let hidden = match self.direction {
            Direction::Request => "readOnly",
            Direction::Response => "writeOnly",
        };
        let properties = source.get("properties").and_then(Value::as_object);
        let Value::Array(names) = required else {
            return required.clone();
        };
        let kept = names
            .iter()
            .filter(|name| {
                let property = name
                    .as_str()
                    .and_then(|name| properties.and_then(|properties| properties.get(name)));
                property.and_then(|property| property.get(hidden)) != Some(&Value::Bool(true))
            })
            .cloned()
            .collect();
        Value::Array(kept)
    }

    /// Replaces a discriminated `oneOf`/`anyOf` (or augments a discriminated base schema) with a
    /// chain `if property == value then $ref variant else …`.
    fn apply_discriminator(
        &self,
        discriminator: &Value,
        source: &Map<String, Value>,
        out: &mut Map<String, Value>,
        own_name: Option<&str>,
    ) {
        let Some(property) = discriminator.get("propertyName").and_then(Value::as_str) else {
            return;
        };
        // (discriminator value, variant $ref), explicit mappings first in the spec's order.
        let mut branches: Vec<(String, String)> = discriminator
            .get("mapping")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .filter_map(|(value, target)| Some((value.clone(), normalize_ref(target.as_str()?))))
            .collect();

        let variants_keyword = ["oneOf", "anyOf"]
            .into_iter()
            .find(|keyword| source.contains_key(*keyword));
        let otherwise = if let Some(keyword) = variants_keyword {
            let variant_refs: Option<Vec<&str>> = source[keyword]
                .as_array()
                .into_iter()
                .flatten()
                .map(|variant| variant.get("$ref").and_then(Value::as_str))
                .collect();
            // An inline variant has no name a discriminator value could select; keep the plain
            // `oneOf` then, which is right as long as the variants do not overlap.
            let Some(variant_refs) = variant_refs else {
                return;
            };
            // OpenAPI's implicit mapping: a variant not mapped explicitly is selected by its
            // component name.
            for variant_ref in variant_refs {
                let variant_ref = normalize_ref(variant_ref);
                if !branches.iter().any(|(_, target)| *target == variant_ref) {
                    branches.push((schema_name(&variant_ref).to_owned(), variant_ref));
                }
            }
            out.remove(keyword);
            // No branch matched: the property is missing or names no variant. Say so.
            let values: Vec<&str> = branches.iter().map(|(value, _)| value.as_str()).collect();
            json!({
                "type": "object",
                "required": [property],
                "properties": { property: { "enum": values } },
            })
        } else {
            if branches.is_empty() {
                return;
            }
            // A base schema constrains its own properties; an unmapped value adds nothing.
            json!({})
        };

        // A variant that includes this very schema (`allOf: [$ref: Base]`) would send the
        // validator round the chain forever; such a variant is left to the base's own checks.
        if let Some(own_name) = own_name {
            branches.retain(|(_, target)| !self.reaches(target, own_name, &mut HashSet::new()));
        }

        let chain = branches
            .iter()
            .rev()
            .fold(otherwise, |otherwise, (value, target)| {
                json!({
                    "if": {
                        "type": "object",
                        "required": [property],
                        "properties": { property: { "const": value } },
                    },
                    "then": { "$ref": target },
                    "else": otherwise,
                })
            });
        match out.get_mut("allOf") {
            Some(Value::Array(all_of)) => all_of.push(chain),
            _ => {
                out.insert("allOf".to_owned(), json!([chain]));
            }
        }
    }

    /// True when validating against `reference` evaluates the component `target` on the same
    /// instance (through `$ref` and the in-place keywords `allOf`/`anyOf`/`oneOf`).
    fn reaches(&self, reference: &str, target: &str, seen: &mut HashSet<String>) -> bool {
        let Some(name) = reference.strip_prefix(SCHEMA_REF_PREFIX) else {
            return false;
        };
        if name == target {
            return true;
        }
        if !seen.insert(name.to_owned()) {
            return false;
        }
        let Some(schema) = self.schemas.get(name) else {
            return false;
        };
        in_place_refs(schema)
            .into_iter()
            .any(|next| self.reaches(next, target, seen))
    }
}

/// The `$ref`s a schema applies to the same instance: its own and those of its composed parts.
fn in_place_refs(schema: &Value) -> Vec<&str> {
    let mut refs = Vec::new();
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        refs.push(reference);
    }
    for keyword in ["allOf", "anyOf", "oneOf"] {
        for part in schema
            .get(keyword)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            refs.extend(in_place_refs(part));
        }
    }
    refs
}

/// `schema` or JSON `null`.
fn or_null(schema: Value) -> Value {
    json!({ "anyOf": [schema, { "type": "null" }] })
}

/// Lets a converted schema also accept `null` (see the module doc for why two ways).
fn make_nullable(mut schema: Map<String, Value>) -> Value {
    let composed = ["allOf", "anyOf", "oneOf", "not", "if"]
        .iter()
        .any(|keyword| schema.contains_key(*keyword));
    if composed {
        return or_null(Value::Object(schema));
    }
    if let Some(Value::Array(values)) = schema.get_mut("enum")
        && !values.contains(&Value::Null)
    {
        values.push(Value::Null);
    }
    if let Some(Value::String(single)) = schema.get("type") {
        let types = json!([single, "null"]);
        schema.insert("type".to_owned(), types);
    }
    Value::Object(schema)
}

/// A discriminator mapping may name a component bare (`Cat`) instead of as a `$ref`.
fn normalize_ref(target: &str) -> String {
    if target.contains('#') {
        target.to_owned()
    } else {
        format!("{SCHEMA_REF_PREFIX}{target}")
    }
}

/// The component name in `#/components/schemas/Name[/…]`.
pub(crate) fn schema_name(reference: &str) -> &str {
    let rest = reference
        .strip_prefix(SCHEMA_REF_PREFIX)
        .unwrap_or(reference);
    rest.split('/').next().unwrap_or(rest)
}

/// Adds to `names` every component that `schema` refers to, directly or through other
/// components, so a validator can carry only the schemas it needs.
pub(crate) fn collect_referenced(
    schema: &Value,
    components: &Map<String, Value>,
    names: &mut BTreeSet<String>,
) {
    match schema {
        Value::Object(map) => {
            for (keyword, value) in map {
                if keyword == "$ref" {
                    if let Some(reference) = value.as_str()
                        && reference.starts_with(SCHEMA_REF_PREFIX)
                    {
                        let name = schema_name(reference);
                        // Each component is walked once, which also ends recursive schemas.
                        if names.insert(name.to_owned())
                            && let Some(target) = components.get(name)
                        {
                            collect_referenced(target, components, names);
                        }
                    }
                } else {
                    collect_referenced(value, components, names);
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                collect_referenced(item, components, names);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    //! The conversion rules on small inline schemas; validation through them is tested in
    //! `spec.rs`, where a whole (tiny) document is loaded.

    use super::*;

    fn convert(schema: Value) -> Value {
        let schemas = Map::new();
        Converter::new(&schemas, Direction::Response).convert(&schema)
    }

    #[test]
    fn nullable_scalar_gets_a_null_type() {
        assert_eq!(
            convert(json!({"type": "string", "nullable": true, "maxLength": 3})),
            json!({"type": ["string", "null"], "maxLength": 3})
        );
    }

    #[test]
    fn nullable_enum_gets_null_as_a_value() {
        assert_eq!(
            convert(json!({"type": "string", "enum": ["a"], "nullable": true})),
            json!({"type": ["string", "null"], "enum": ["a", null]})
        );
    }

    #[test]
    fn nullable_composition_is_wrapped() {
        let reference = json!({"$ref": "#/components/schemas/X"});
        assert_eq!(
            convert(json!({"allOf": [reference], "nullable": true, "readOnly": true})),
            json!({"anyOf": [{"allOf": [reference]}, {"type": "null"}]})
        );
        assert_eq!(
            convert(json!({"$ref": "#/components/schemas/X", "nullable": true})),
            json!({"anyOf": [reference, {"type": "null"}]})
        );
    }

    #[test]
    fn boolean_exclusive_minimum_becomes_numeric() {
        assert_eq!(
            convert(json!({"type": "number", "minimum": 0, "exclusiveMinimum": true})),
            json!({"type": "number", "exclusiveMinimum": 0})
        );
        assert_eq!(
            convert(json!({"type": "number", "minimum": 0, "exclusiveMinimum": false})),
            json!({"type": "number", "minimum": 0})
        );
    }

    #[test]
    fn annotations_and_most_formats_are_dropped() {
        assert_eq!(
            convert(json!({
                "type": "object",
                "description": "d",
                "x-internal": true,
                "properties": {
                    "title": {"type": "string", "title": "shown", "example": "e"},
                    "count": {"type": "integer", "format": "int64", "default": 3},
                    "at": {"type": "string", "format": "date-time", "readOnly": true},
                },
            })),
            json!({
                "type": "object",
                "properties": {
                    "title": {"type": "string"},
                    "count": {"type": "integer"},
                    "at": {"type": "string", "format": "date-time"},
                },
            })
        );
    }

    #[test]
    fn read_only_properties_are_not_required_in_requests() {
        let schema = json!({
            "type": "object",
            "properties": {"id": {"type": "string", "readOnly": true}, "name": {"type": "string"}},
            "required": ["id", "name"],
        });
        let schemas = Map::new();
        let request = Converter::new(&schemas, Direction::Request).convert(&schema);
        let response = Converter::new(&schemas, Direction::Response).convert(&schema);
        assert_eq!(request["required"], json!(["name"]));
        assert_eq!(response["required"], json!(["id", "name"]));
    }

    #[test]
    fn discriminated_one_of_becomes_a_chain() {
        let converted = convert(json!({
            "type": "object",
            "discriminator": {"propertyName": "kind", "mapping": {"a": "#/components/schemas/A"}},
            "oneOf": [{"$ref": "#/components/schemas/A"}, {"$ref": "#/components/schemas/B"}],
        }));
        assert!(converted.get("oneOf").is_none());
        let chain = &converted["allOf"][0];
        assert_eq!(chain["if"]["properties"]["kind"]["const"], "a");
        assert_eq!(chain["then"]["$ref"], "#/components/schemas/A");
        // B is reached by OpenAPI's implicit mapping: its component name.
        assert_eq!(chain["else"]["if"]["properties"]["kind"]["const"], "B");
        assert_eq!(
            chain["else"]["else"]["properties"]["kind"]["enum"],
            json!(["a", "B"])
        );
    }

    #[test]
    fn a_variant_that_includes_its_base_is_not_chained() {
        let schemas = json!({
            "Pet": {
                "type": "object",
                "properties": {"kind": {"type": "string"}},
                "discriminator": {"propertyName": "kind", "mapping": {
                    "cat": "#/components/schemas/Cat", "dog": "Dog",
                }},
            },
            "Cat": {"allOf": [{"$ref": "#/components/schemas/Pet"}]},
            "Dog": {"type": "object", "required": ["bark"]},
        });
        let schemas = schemas.as_object().cloned().unwrap_or_default();
        let converted = Converter::new(&schemas, Direction::Response).convert_components();
        let chain = &converted["Pet"]["allOf"][0];
        assert_eq!(chain["then"]["$ref"], "#/components/schemas/Dog");
        assert_eq!(chain["else"], json!({}));
    }

    #[test]
    fn referenced_components_are_collected_transitively() {
        let components = json!({
            "A": {"properties": {"b": {"$ref": "#/components/schemas/B"}}},
            "B": {"items": {"$ref": "#/components/schemas/C"}},
            "C": {"type": "string"},
            "D": {"type": "string"},
        });
        let components = components.as_object().cloned().unwrap_or_default();
        let mut names = BTreeSet::new();
        collect_referenced(
            &json!({"$ref": "#/components/schemas/A"}),
            &components,
            &mut names,
        );
        assert_eq!(names.into_iter().collect::<Vec<_>>(), ["A", "B", "C"]);
    }
}
