//! Saving and loading the sandbox's state (`--state FILE`), so a demo survives a restart.
//!
//! The file is JSON and is replaced atomically (write a temporary file beside it, then rename),
//! so a crash mid-save leaves the previous state intact. It holds the sandbox's own fake tokens:
//! that is acceptable for a stand-in Pinterest, and the file is never logged.

use std::io::Write as _;
use std::path::Path;

use crate::SandboxError;
use crate::state::State;

/// Loads state from `path`, or `None` when the file does not exist yet.
pub fn load(path: &Path) -> Result<Option<State>, SandboxError> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(SandboxError::StateIo {
                path: path.to_owned(),
                source,
            });
        }
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|source| SandboxError::StateCorrupt {
            path: path.to_owned(),
            source,
        })
}

/// Serializes state (call with the lock held; the result is written without it).
pub fn encode(state: &State) -> Result<Vec<u8>, SandboxError> {
    serde_json::to_vec(state).map_err(SandboxError::StateEncode)
}

/// Writes `bytes` to `path` atomically.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), SandboxError> {
    let io_error = |source| SandboxError::StateIo {
        path: path.to_owned(),
        source,
    };
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".tmp");
    let temporary = std::path::PathBuf::from(temporary);
    {
        let mut file = std::fs::File::create(&temporary).map_err(io_error)?;
        file.write_all(bytes).map_err(io_error)?;
        file.sync_all().map_err(io_error)?;
    }
    std::fs::rename(&temporary, path).map_err(io_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trips_through_a_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("sandbox.json");
        assert!(load(&path).expect("missing is fine").is_none());
        let mut state = State::default();
        let user = state.create_user("alice", false, 1).expect("user");
        let system = state.create_user("ops", true, 1).expect("system user");
        write_atomically(&path, &encode(&state).expect("encode")).expect("write");
        let loaded = load(&path).expect("load").expect("present");
        assert_eq!(loaded.users[&user.id].username, "alice");
        assert_eq!(loaded.usernames["alice"], user.id);
        assert!(!loaded.users[&user.id].system);
        assert!(loaded.users[&system.id].system);
    }

    #[test]
    fn users_saved_before_the_system_flag_load_as_ordinary_users() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("sandbox.json");
        let mut state = State::default();
        let user = state.create_user("alice", true, 1).expect("user");
        let mut value: serde_json::Value =
            serde_json::from_slice(&encode(&state).expect("encode")).expect("json");
        let saved_user = &mut value["users"][user.id.to_string()];
        saved_user
            .as_object_mut()
            .expect("a user object")
            .remove("system");
        std::fs::write(&path, value.to_string()).expect("write");
        let loaded = load(&path).expect("load").expect("present");
        assert!(!loaded.users[&user.id].system);
    }

    #[test]
    fn corrupt_files_are_an_error() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("sandbox.json");
        std::fs::write(&path, b"{not json").expect("write");
        assert!(matches!(
            load(&path),
            Err(SandboxError::StateCorrupt { .. })
        ));
    }
}
