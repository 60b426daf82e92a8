//! The loaded spec: operations indexed by `operationId`, and validators for their request and
//! response bodies, compiled on first use and cached.
//!
//! Compiling is lazy because the document holds some 900 schemas and a test run touches a few
//! dozen; each validator carries only the components its schema reaches, which keeps compiling
//! it in the milliseconds.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex, OnceLock, PoisonError};

use jsonschema::Validator;
use serde_json::{Map, Value, json};

use crate::convert::{self, Converter, Direction};
use crate::error::SpecError;

/// The environment variable that overrides where [`Spec::load_default`] looks for the spec.
pub const SPEC_PATH_ENV: &str = "PINLINE_PINTEREST_SPEC";

/// Where the spec lives relative to this crate: `shared/` sits beside the workspace root.
const DEFAULT_SPEC_PATH: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/pinterest/openapi-v5.yaml"
);

/// The security scheme of Pinterest user tokens, whose scopes pinline tracks.
const USER_OAUTH_SCHEME: &str = "pinterest_oauth2";

/// How a message about a schema that failed to compile starts (a converter bug, not a finding
/// about the body).
const COMPILE_ERROR_PREFIX: &str = "cannot compile the spec's schema";

/// The HTTP methods a path item may hold operations under (OpenAPI 3.0 §4.7.9).
const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Pinterest's OpenAPI description, parsed once, with lazily compiled body validators.
///
/// Cheap to share: every method takes `&self`, and the validator cache is internally locked.
pub struct Spec {
    document: Value,
    operations: HashMap<String, SpecOperation>,
    /// `components.schemas` converted to JSON Schema, per direction, built on first use.
    request_schemas: OnceLock<Map<String, Value>>,
    response_schemas: OnceLock<Map<String, Value>>,
    validators: Mutex<HashMap<ValidatorKey, Arc<Validator>>>,
}

impl std::fmt::Debug for Spec {
    // The derived form would print the whole 1 MB document.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let compiled = self
            .validators
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len();
        f.debug_struct("Spec")
            .field("openapi", &self.document.get("openapi"))
            .field("operations", &self.operations.len())
            .field("schemas", &self.raw_schemas().len())
            .field("compiled_validators", &compiled)
            .finish()
    }
}

/// What a cached validator checks.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum ValidatorKey {
    /// The JSON body of an operation's response under a status key (`"200"`, `"default"`).
    Response {
        operation_id: String,
        status: String,
    },
    /// The body of an operation's request.
    Request { operation_id: String },
    /// A named component schema, in the response direction.
    Component { name: String },
}

/// One operation as the spec declares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecOperation {
    /// The spec's `operationId`, e.g. `pins/create`.
    pub operation_id: String,
    /// HTTP method in upper case, e.g. `POST`.
    pub method: String,
    /// Path template below the server URL (`/v5`), e.g. `/pins/{pin_id}`.
    pub path: String,
    /// Every security scheme the operation accepts, in the spec's order (`pinterest_oauth2`,
    /// `client_credentials`, `basic`, …).
    pub security_schemes: Vec<String>,
    /// The scopes a Pinterest user token (`pinterest_oauth2`) needs; empty when the operation
    /// does not take user tokens (the token endpoints use HTTP Basic).
    pub oauth_scopes: Vec<String>,
    /// `x-ratelimit-category`, e.g. `org_write`.
    pub rate_limit_category: Option<String>,
    /// Response keys as declared: status codes, `NXX` ranges and `default`.
    pub response_statuses: Vec<String>,
}

impl SpecOperation {
    /// True when the spec declares `status` itself (not just through `default`).
    pub fn declares_status(&self, status: u16) -> bool {
        let exact = status.to_string();
        let range = format!("{}XX", status / 100);
        self.response_statuses
            .iter()
            .any(|declared| *declared == exact || *declared == range)
    }
}

impl Spec {
    /// Loads the spec from `$PINLINE_PINTEREST_SPEC`, or else from
    /// `shared/pinterest/openapi-v5.yaml` beside the workspace.
    pub fn load_default() -> Result<Spec, SpecError> {
        Spec::load(&default_path())
    }

    /// The spec loaded once per process by [`Spec::load_default`]; loading parses 41k lines
    /// of YAML, which tests should not repeat.
    pub fn shared() -> Result<&'static Spec, &'static SpecError> {
        static SHARED: OnceLock<Result<Spec, SpecError>> = OnceLock::new();
        SHARED.get_or_init(Spec::load_default).as_ref()
    }

    /// Loads an OpenAPI 3.0 description from a YAML (or JSON) file.
    pub fn load(path: &Path) -> Result<Spec, SpecError> {
        let text = std::fs::read_to_string(path).map_err(|source| SpecError::Read {
            path: path.to_owned(),
            source,
        })?;
        let yaml: serde_yaml::Value =
            serde_yaml::from_str(&text).map_err(|source| SpecError::Yaml {
                path: path.to_owned(),
                source,
            })?;
        Spec::from_document(yaml_to_json(yaml))
    }

    /// Builds a spec from an already parsed document (small inline specs in tests).
    pub fn from_document(document: Value) -> Result<Spec, SpecError> {
        let version = document
            .get("openapi")
            .and_then(Value::as_str)
            .unwrap_or_default();
        // 3.1 replaced `nullable` and the boolean `exclusiveMinimum` with plain JSON Schema;
        // converting a 3.1 document with 3.0 rules would quietly be wrong.
        if !version.starts_with("3.0") {
            return Err(SpecError::NotOpenApi(format!(
                "`openapi` is {version:?}, expected 3.0.x"
            )));
        }
        let Some(paths) = document.get("paths").and_then(Value::as_object) else {
            return Err(SpecError::NotOpenApi("no `paths` object".to_owned()));
        };
        let global_security = document.get("security");
        let mut operations = HashMap::new();
        for (path, item) in paths {
            for method in METHODS {
                let Some(raw) = item.get(*method) else {
                    continue;
                };
                let Some(operation_id) = raw.get("operationId").and_then(Value::as_str) else {
                    continue;
                };
                let operation = describe_operation(
                    operation_id,
                    method,
                    path,
                    raw,
                    raw.get("security").or(global_security),
                );
                if operations
                    .insert(operation_id.to_owned(), operation)
                    .is_some()
                {
                    return Err(SpecError::NotOpenApi(format!(
                        "operationId `{operation_id}` is used twice"
                    )));
                }
            }
        }
        Ok(Spec {
            document,
            operations,
            request_schemas: OnceLock::new(),
            response_schemas: OnceLock::new(),
            validators: Mutex::new(HashMap::new()),
        })
    }

    /// The whole document, for questions this API does not answer.
    pub fn document(&self) -> &Value {
        &self.document
    }

    /// The raw (OpenAPI, unconverted) component schema called `name`.
    pub fn schema(&self, name: &str) -> Option<&Value> {
        self.raw_schemas().get(name)
    }

    /// The operation with this `operationId`.
    pub fn operation(&self, operation_id: &str) -> Option<SpecOperation> {
        self.operations.get(operation_id).cloned()
    }

    /// Every `operationId` in the spec, sorted.
    pub fn operation_ids(&self) -> Vec<&str> {
        let mut ids: Vec<&str> = self.operations.keys().map(String::as_str).collect();
        ids.sort_unstable();
        ids
    }

    /// The scopes Pinterest defines for user tokens
    /// (`components.securitySchemes.pinterest_oauth2.flows.authorizationCode.scopes`), sorted.
    pub fn oauth_scopes(&self) -> Vec<String> {
        let mut scopes: Vec<String> = self
            .document
            .pointer("/components/securitySchemes/pinterest_oauth2/flows/authorizationCode/scopes")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .map(|(scope, _)| scope.clone())
            .collect();
        scopes.sort();
        scopes
    }

    /// Checks a response against what the spec declares for `operation_id` and `status`.
    ///
    /// The response is looked up by exact status, then `NXX` range, then `default`. A response
    /// declared without content (a 204, or `token/revoke`'s 200) must have an empty body;
    /// otherwise the body must be JSON matching the `application/json` schema. `content_type`,
    /// when given, must be the declared media type. Every finding is returned, each as
    /// `instance path: reason`.
    pub fn validate_response(
        &self,
        operation_id: &str,
        status: u16,
        content_type: Option<&str>,
        body: &[u8],
    ) -> Result<(), Vec<String>> {
        let raw = self.raw_operation(operation_id)?;
        let Some((status_key, response)) = self.response_for(raw, status) else {
            return Err(vec![format!(
                "status {status} not declared for {operation_id}"
            )]);
        };
        let content = response
            .get("content")
            .and_then(Value::as_object)
            .filter(|content| !content.is_empty());
        let Some(content) = content else {
            // Strict on purpose: a client that expects nothing must not be handed `{}`.
            return if body.is_empty() {
                Ok(())
            } else {
                Err(vec![format!(
                    "(root): {operation_id} {status_key} declares no body, got {} bytes",
                    body.len()
                )])
            };
        };
        let received = content_type.map(media_type);
        let Some(json_media) = content.get("application/json") else {
            // Not JSON (no such response among the operations pinline uses): only the media
            // type can be checked.
            return match received {
                Some(received) if !content.contains_key(&received) => Err(vec![format!(
                    "(root): content type {received} is not one of {:?}",
                    content.keys().collect::<Vec<_>>()
                )]),
                _ => Ok(()),
            };
        };
        if let Some(received) = received
            && received != "application/json"
        {
            return Err(vec![format!(
                "(root): content type {received} is not application/json"
            )]);
        }
        let instance: Value = serde_json::from_slice(body)
            .map_err(|error| vec![format!("(root): body is not JSON: {error}")])?;
        let Some(schema) = json_media.get("schema") else {
            return Ok(());
        };
        let key = ValidatorKey::Response {
            operation_id: operation_id.to_owned(),
            status: status_key,
        };
        let validator = self.validator(key, schema, Direction::Response)?;
        check(&validator, &instance)
    }

    /// Checks a request body against the operation's declared request schema: the
    /// `application/json` one, else the `application/x-www-form-urlencoded` one (pass the form
    /// fields as a JSON object). `readOnly` properties are not required.
    pub fn validate_request_body(
        &self,
        operation_id: &str,
        body: &Value,
    ) -> Result<(), Vec<String>> {
        let raw = self.raw_operation(operation_id)?;
        let content = raw
            .get("requestBody")
            .map(|request_body| self.resolve(request_body))
            .and_then(|request_body| request_body.get("content"));
        let schema = ["application/json", "application/x-www-form-urlencoded"]
            .into_iter()
            .find_map(|media| content?.get(media)?.get("schema"));
        let Some(schema) = schema else {
            return Err(vec![format!(
                "{operation_id} declares no JSON or form request body"
            )]);
        };
        let key = ValidatorKey::Request {
            operation_id: operation_id.to_owned(),
        };
        let validator = self.validator(key, schema, Direction::Request)?;
        check(&validator, body)
    }

    /// Checks any JSON value against the component schema `name` (as a response would be
    /// checked), e.g. a `Pin` the sandbox stores.
    pub fn validate_schema(&self, name: &str, instance: &Value) -> Result<(), Vec<String>> {
        if self.schema(name).is_none() {
            return Err(vec![format!("no component schema named {name}")]);
        }
        let schema = json!({ "$ref": format!("{}{name}", convert::SCHEMA_REF_PREFIX) });
        let key = ValidatorKey::Component {
            name: name.to_owned(),
        };
        let validator = self.validator(key, &schema, Direction::Response)?;
        check(&validator, instance)
    }

    /// Compiles every body validator of the operation now rather than on first use: a test
    /// harness may want to pay the cost up front, and it proves that the spec's schemas for
    /// the operation convert into valid JSON Schema.
    pub fn precompile(&self, operation_id: &str) -> Result<(), Vec<String>> {
        let raw = self.raw_operation(operation_id)?;
        let mut errors = Vec::new();
        let responses = raw.get("responses").and_then(Value::as_object);
        for (status, response) in responses.into_iter().flatten() {
            let schema = self
                .resolve(response)
                .pointer("/content/application~1json/schema");
            if let Some(schema) = schema {
                let key = ValidatorKey::Response {
                    operation_id: operation_id.to_owned(),
                    status: status.clone(),
                };
                if let Err(found) = self.validator(key, schema, Direction::Response) {
                    errors.extend(found);
                }
            }
        }
        let has_request_body = raw.get("requestBody").is_some_and(|request_body| {
            let content = self.resolve(request_body).get("content");
            ["application/json", "application/x-www-form-urlencoded"]
                .iter()
                .any(|media| content.and_then(|content| content.get(media)).is_some())
        });
        if has_request_body {
            // Validating `null` compiles the validator; only compile errors matter here.
            if let Err(found) = self.validate_request_body(operation_id, &Value::Null) {
                errors.extend(
                    found
                        .into_iter()
                        .filter(|error| error.starts_with(COMPILE_ERROR_PREFIX)),
                );
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    fn raw_operation(&self, operation_id: &str) -> Result<&Value, Vec<String>> {
        self.operations
            .get(operation_id)
            .and_then(|operation| {
                self.document
                    .get("paths")?
                    .get(&operation.path)?
                    .get(operation.method.to_ascii_lowercase())
            })
            .ok_or_else(|| vec![format!("operation {operation_id} is not in the spec")])
    }

    /// The response declared for `status`, with the key it is declared under.
    fn response_for<'a>(&'a self, raw: &'a Value, status: u16) -> Option<(String, &'a Value)> {
        let responses = raw.get("responses")?.as_object()?;
        [
            status.to_string(),
            format!("{}XX", status / 100),
            "default".to_owned(),
        ]
        .into_iter()
        .find_map(|key| {
            let response = self.resolve(responses.get(&key)?);
            Some((key, response))
        })
    }

    /// Follows a local `$ref` (to `components/responses` or `components/requestBodies`).
    fn resolve<'a>(&'a self, mut value: &'a Value) -> &'a Value {
        // Bounded, so a reference cycle cannot hang a test.
        for _ in 0..8 {
            let Some(reference) = value.get("$ref").and_then(Value::as_str) else {
                break;
            };
            let Some(target) = reference
                .strip_prefix('#')
                .and_then(|pointer| self.document.pointer(pointer))
            else {
                break;
            };
            value = target;
        }
        value
    }

    fn raw_schemas(&self) -> &Map<String, Value> {
        static NONE: LazyLock<Map<String, Value>> = LazyLock::new(Map::new);
        self.document
            .pointer("/components/schemas")
            .and_then(Value::as_object)
            .unwrap_or(&NONE)
    }

    fn converted_schemas(&self, direction: Direction) -> &Map<String, Value> {
        let cell = match direction {
            Direction::Request => &self.request_schemas,
            Direction::Response => &self.response_schemas,
        };
        cell.get_or_init(|| Converter::new(self.raw_schemas(), direction).convert_components())
    }

    /// The cached validator for `key`, compiling `schema` (an OpenAPI schema) on first use.
    fn validator(
        &self,
        key: ValidatorKey,
        schema: &Value,
        direction: Direction,
    ) -> Result<Arc<Validator>, Vec<String>> {
        let cached = self
            .validators
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key)
            .cloned();
        if let Some(validator) = cached {
            return Ok(validator);
        }
        // Compiled outside the lock so that parallel tests do not queue behind one another;
        // two threads may both compile the same schema once, which is harmless.
        let root = Converter::new(self.raw_schemas(), direction).convert(schema);
        let components = self.converted_schemas(direction);
        let mut names = BTreeSet::new();
        convert::collect_referenced(&root, components, &mut names);
        let needed: Map<String, Value> = names
            .into_iter()
            .filter_map(|name| {
                let schema = components.get(&name)?.clone();
                Some((name, schema))
            })
            .collect();
        // `allOf` rather than merging into the root, so that the root's own keywords cannot
        // collide with the `components` holder; refs resolve into `components/schemas` as in
        // the original document.
        let document = json!({ "allOf": [root], "components": { "schemas": needed } });
        let validator = jsonschema::draft7::options()
            .should_validate_formats(true)
            .build(&document)
            .map_err(|error| vec![format!("{COMPILE_ERROR_PREFIX} for {key:?}: {error}")])?;
        let validator = Arc::new(validator);
        Ok(self
            .validators
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(key)
            .or_insert(validator)
            .clone())
    }
}

/// Where [`Spec::load_default`] reads from.
pub fn default_path() -> PathBuf {
    std::env::var_os(SPEC_PATH_ENV)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_SPEC_PATH))
}

fn describe_operation(
    operation_id: &str,
    method: &str,
    path: &str,
    raw: &Value,
    security: Option<&Value>,
) -> SpecOperation {
    let mut security_schemes: Vec<String> = Vec::new();
    let mut oauth_scopes: Option<Vec<String>> = None;
    // `security` lists alternatives; each alternative maps scheme names to scopes.
    for requirement in security.and_then(Value::as_array).into_iter().flatten() {
        for (scheme, scopes) in requirement.as_object().into_iter().flatten() {
            if !security_schemes.contains(scheme) {
                security_schemes.push(scheme.clone());
            }
            if scheme == USER_OAUTH_SCHEME && oauth_scopes.is_none() {
                oauth_scopes = Some(
                    scopes
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect(),
                );
            }
        }
    }
    SpecOperation {
        operation_id: operation_id.to_owned(),
        method: method.to_ascii_uppercase(),
        path: path.to_owned(),
        security_schemes,
        oauth_scopes: oauth_scopes.unwrap_or_default(),
        rate_limit_category: raw
            .get("x-ratelimit-category")
            .and_then(Value::as_str)
            .map(str::to_owned),
        response_statuses: raw
            .get("responses")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .map(|(status, _)| status.clone())
            .collect(),
    }
}

/// Runs a validator and renders every error as `instance path: reason`.
fn check(validator: &Validator, instance: &Value) -> Result<(), Vec<String>> {
    let mut errors: Vec<String> = Vec::new();
    for error in validator.iter_errors(instance) {
        let path = error.instance_path.as_str();
        let path = if path.is_empty() { "(root)" } else { path };
        let message = format!("{path}: {error}");
        // The spec often says the same thing twice (a variant repeats its `allOf` part's
        // `required`); one copy of each finding is enough.
        if !errors.contains(&message) {
            errors.push(message);
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// `application/json; charset=utf-8` → `application/json`.
fn media_type(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// YAML to JSON, turning non-string mapping keys (an unquoted `200:`) into strings as JSON
/// requires.
fn yaml_to_json(value: serde_yaml::Value) -> Value {
    match value {
        serde_yaml::Value::Null => Value::Null,
        serde_yaml::Value::Bool(flag) => Value::Bool(flag),
        serde_yaml::Value::Number(number) => {
            if let Some(integer) = number.as_i64() {
                Value::from(integer)
            } else if let Some(integer) = number.as_u64() {
                Value::from(integer)
            } else {
                number
                    .as_f64()
                    .and_then(serde_json::Number::from_f64)
                    .map_or(Value::Null, Value::Number)
            }
        }
        serde_yaml::Value::String(text) => Value::String(text),
        serde_yaml::Value::Sequence(items) => items.into_iter().map(yaml_to_json).collect(),
        serde_yaml::Value::Mapping(mapping) => Value::Object(
            mapping
                .into_iter()
                .map(|(key, value)| (yaml_key(key), yaml_to_json(value)))
                .collect(),
        ),
        serde_yaml::Value::Tagged(tagged) => yaml_to_json(tagged.value),
    }
}

fn yaml_key(key: serde_yaml::Value) -> String {
    match key {
        serde_yaml::Value::String(text) => text,
        other => match yaml_to_json(other) {
            Value::String(text) => text,
            json => json.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    //! Validation through converted schemas, on a tiny inline OpenAPI document.

    use super::*;

    /// A document with `things/get` (its 200 returns `response_schema`, its 204 nothing) and
    /// `things/create` (takes a `Thing`; its `default` response is a `Thing`).
    fn spec_with(schemas: Value, response_schema: Value) -> Spec {
        let document = json!({
            "openapi": "3.0.3",
            "paths": {
                "/things": {
                    "get": {
                        "operationId": "things/get",
                        "security": [{"pinterest_oauth2": ["pins:read"]}, {"basic": []}],
                        "x-ratelimit-category": "org_read",
                        "responses": {
                            "200": {"content": {"application/json": {"schema": response_schema}}},
                            "204": {"description": "nothing"},
                        },
                    },
                    "post": {
                        "operationId": "things/create",
                        "requestBody": {"content": {"application/json": {
                            "schema": {"$ref": "#/components/schemas/Thing"},
                        }}},
                        "responses": {"default": {"content": {"application/json": {
                            "schema": {"$ref": "#/components/schemas/Thing"},
                        }}}},
                    },
                },
            },
            "components": {"schemas": schemas},
        });
        match Spec::from_document(document) {
            Ok(spec) => spec,
            Err(error) => panic!("inline spec must load: {error}"),
        }
    }

    fn validate(spec: &Spec, body: Value) -> Result<(), Vec<String>> {
        spec.validate_response("things/get", 200, None, body.to_string().as_bytes())
    }

    fn thing_spec() -> Spec {
        spec_with(
            json!({
                "Thing": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "string", "readOnly": true},
                        "name": {"type": "string", "maxLength": 5, "nullable": true},
                        "kind": {"allOf": [{"$ref": "#/components/schemas/Kind"}], "nullable": true},
                        "at": {"type": "string", "format": "date-time"},
                    },
                    "required": ["id", "name"],
                },
                "Kind": {"type": "string", "enum": ["a", "b"]},
            }),
            json!({"$ref": "#/components/schemas/Thing"}),
        )
    }

    #[test]
    fn operation_facts_are_read() {
        let spec = thing_spec();
        let operation = spec.operation("things/get");
        assert_eq!(
            operation,
            Some(SpecOperation {
                operation_id: "things/get".to_owned(),
                method: "GET".to_owned(),
                path: "/things".to_owned(),
                security_schemes: vec!["pinterest_oauth2".to_owned(), "basic".to_owned()],
                oauth_scopes: vec!["pins:read".to_owned()],
                rate_limit_category: Some("org_read".to_owned()),
                response_statuses: vec!["200".to_owned(), "204".to_owned()],
            })
        );
        assert!(spec.operation("things/fly").is_none());
        assert_eq!(spec.operation_ids(), ["things/create", "things/get"]);
    }

    #[test]
    fn nullable_string_accepts_null() {
        let spec = thing_spec();
        assert_eq!(validate(&spec, json!({"id": "1", "name": null})), Ok(()));
        assert_eq!(validate(&spec, json!({"id": "1", "name": "abc"})), Ok(()));
    }

    #[test]
    fn nullable_all_of_ref_accepts_null_and_members_only() {
        let spec = thing_spec();
        assert_eq!(
            validate(&spec, json!({"id": "1", "name": "x", "kind": null})),
            Ok(())
        );
        assert_eq!(
            validate(&spec, json!({"id": "1", "name": "x", "kind": "a"})),
            Ok(())
        );
        let errors = validate(&spec, json!({"id": "1", "name": "x", "kind": "c"}))
            .expect_err("c is not a Kind");
        assert!(
            errors.iter().all(|error| error.starts_with("/kind: ")),
            "{errors:?}"
        );
    }

    #[test]
    fn missing_required_property_fails() {
        let spec = thing_spec();
        let errors = validate(&spec, json!({"name": "x"})).expect_err("id is required");
        assert_eq!(errors, ["(root): \"id\" is a required property"]);
    }

    #[test]
    fn max_length_is_enforced() {
        let spec = thing_spec();
        let errors = validate(&spec, json!({"id": "1", "name": "abcdef"})).expect_err("too long");
        assert_eq!(errors.len(), 1);
        assert!(errors[0].starts_with("/name: "), "{errors:?}");
    }

    #[test]
    fn date_time_format_is_asserted() {
        let spec = thing_spec();
        let ok = json!({"id": "1", "name": "x", "at": "2020-01-01T20:10:40-00:00"});
        assert_eq!(validate(&spec, ok), Ok(()));
        let bad = json!({"id": "1", "name": "x", "at": "yesterday"});
        assert!(validate(&spec, bad).is_err());
    }

    #[test]
    fn read_only_property_is_not_required_in_a_request() {
        let spec = thing_spec();
        assert_eq!(
            spec.validate_request_body("things/create", &json!({"name": "x"})),
            Ok(())
        );
        assert!(
            spec.validate_request_body("things/get", &json!({}))
                .is_err()
        );
    }

    #[test]
    fn discriminated_one_of_is_checked_by_the_named_variant() {
        // Both variants accept any object with a `kind`; a plain `oneOf` would reject every
        // valid instance as "valid under more than one schema".
        let spec = spec_with(
            json!({
                "Media": {
                    "type": "object",
                    "discriminator": {"propertyName": "kind", "mapping": {
                        "image": "#/components/schemas/Image",
                        "video": "#/components/schemas/Video",
                    }},
                    "oneOf": [
                        {"$ref": "#/components/schemas/Image"},
                        {"$ref": "#/components/schemas/Video"},
                    ],
                },
                // Like several of Pinterest's variants, Image accepts a video too.
                "Image": {
                    "type": "object",
                    "properties": {"kind": {"type": "string"}, "url": {"type": "string"}},
                    "required": ["kind"],
                },
                "Video": {
                    "type": "object",
                    "properties": {"kind": {"type": "string", "enum": ["video"]}, "duration": {"type": "number"}},
                    "required": ["kind", "duration"],
                },
            }),
            json!({"$ref": "#/components/schemas/Media"}),
        );
        assert_eq!(validate(&spec, json!({"kind": "image"})), Ok(()));
        assert_eq!(
            validate(&spec, json!({"kind": "video", "duration": 1.5})),
            Ok(())
        );
        let errors = validate(&spec, json!({"kind": "video"})).expect_err("duration required");
        assert_eq!(errors, ["(root): \"duration\" is a required property"]);
        let errors = validate(&spec, json!({"kind": "gif"})).expect_err("unknown kind");
        assert!(errors[0].starts_with("/kind: "), "{errors:?}");
        assert!(validate(&spec, json!({})).is_err());
        assert!(validate(&spec, json!("image")).is_err());
    }

    #[test]
    fn empty_responses_must_have_empty_bodies() {
        let spec = thing_spec();
        assert_eq!(spec.validate_response("things/get", 204, None, b""), Ok(()));
        assert!(
            spec.validate_response("things/get", 204, None, b"{}")
                .is_err()
        );
    }

    #[test]
    fn undeclared_status_without_default_is_reported() {
        let spec = thing_spec();
        assert_eq!(
            spec.validate_response("things/get", 500, None, b""),
            Err(vec!["status 500 not declared for things/get".to_owned()])
        );
        // `things/create` has a `default`, so any status falls back to it.
        let body = json!({"id": "1", "name": "x"}).to_string();
        assert_eq!(
            spec.validate_response("things/create", 500, None, body.as_bytes()),
            Ok(())
        );
    }

    #[test]
    fn json_bodies_must_be_json_of_the_declared_type() {
        let spec = thing_spec();
        let body = br#"{"id": "1", "name": "x"}"#;
        let json = Some("application/json; charset=utf-8");
        assert_eq!(
            spec.validate_response("things/get", 200, json, body),
            Ok(())
        );
        assert!(
            spec.validate_response("things/get", 200, Some("text/html"), body)
                .is_err()
        );
        assert!(
            spec.validate_response("things/get", 200, json, b"<html>")
                .is_err()
        );
        assert!(
            spec.validate_response("things/get", 200, json, b"")
                .is_err()
        );
    }

    #[test]
    fn a_dangling_reference_fails_to_compile() {
        let spec = spec_with(json!({}), json!({"$ref": "#/components/schemas/Nope"}));
        let errors = spec
            .precompile("things/get")
            .expect_err("Nope does not exist");
        assert!(errors[0].starts_with(COMPILE_ERROR_PREFIX), "{errors:?}");
        assert_eq!(
            spec.precompile("things/create").map_err(|e| e.len()),
            Err(2)
        );
    }

    #[test]
    fn only_openapi_3_0_loads() {
        let error = Spec::from_document(json!({"openapi": "3.1.0", "paths": {}}));
        assert!(matches!(error, Err(SpecError::NotOpenApi(_))));
    }

    #[test]
    fn yaml_keys_become_strings() {
        let yaml: serde_yaml::Value = match serde_yaml::from_str("200: {a: 1.5}\nx: [true, ~]") {
            Ok(yaml) => yaml,
            Err(error) => panic!("valid YAML: {error}"),
        };
        assert_eq!(
            yaml_to_json(yaml),
            json!({"200": {"a": 1.5}, "x": [true, null]})
        );
    }
}
