//! Why a spec could not be loaded or a schema could not be compiled.
//!
//! Validation *findings* (a body that does not match the spec) are not errors of this kind: they
//! come back as a list of messages, because a conformance test wants to see all of them at once.

use std::path::PathBuf;

/// Loading Pinterest's OpenAPI description failed.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// The spec file could not be read (missing, unreadable).
    #[error(
        "cannot read the OpenAPI spec at {path} (set PINLINE_PINTEREST_SPEC to point elsewhere): {source}"
    )]
    Read {
        /// The path that was tried.
        path: PathBuf,
        /// What the file system said.
        source: std::io::Error,
    },
    /// The file is not valid YAML (JSON is YAML too, so a JSON copy also loads).
    #[error("the OpenAPI spec at {path} is not valid YAML: {source}")]
    Yaml {
        /// The file that failed to parse.
        path: PathBuf,
        /// The parser's complaint.
        source: serde_yaml::Error,
    },
    /// The document parsed but is not an OpenAPI 3.0 description this crate understands.
    #[error("not an OpenAPI 3.0 description: {0}")]
    NotOpenApi(String),
}
