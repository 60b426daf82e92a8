//! The boards of each account, read from Pinterest and kept for a minute, so that validating a
//! burst of posts does not spend one Pinterest read per post. A board that is not in the copy is
//! looked up again before a post is refused, so a board created a moment ago is found.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use pinline_pinterest::Board;
use pinline_vault::{Vault, VaultError};

use crate::error::ApiError;
use crate::post_input::BoardRef;

/// How long a copy of an account's boards is used.
const TTL_MS: i64 = 60_000;
/// Pages of 250 boards read at most.
const MAX_PAGES: usize = 20;

type Entry = (i64, Arc<Vec<Board>>);

/// Per-account board lists.
#[derive(Debug, Default)]
pub struct BoardDirectory {
    entries: Mutex<HashMap<String, Entry>>,
}

impl BoardDirectory {
    async fn fetch(
        &self,
        vault: &Vault,
        account_id: &str,
        now_ms: i64,
    ) -> Result<Arc<Vec<Board>>, VaultError> {
        let mut boards = Vec::new();
        let mut bookmark: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let page = vault
                .call(account_id, |client, token| {
                    let bookmark = bookmark.clone();
                    async move {
                        client
                            .list_boards(&token, bookmark.as_deref(), Some(250), None)
                            .await
                    }
                })
                .await?
                .value;
            boards.extend(page.items);
            match page.bookmark.filter(|b| !b.is_empty()) {
                Some(next) => bookmark = Some(next),
                None => break,
            }
        }
        let boards = Arc::new(boards);
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(account_id.to_owned(), (now_ms, boards.clone()));
        Ok(boards)
    }

    fn cached(&self, account_id: &str, now_ms: i64) -> Option<Arc<Vec<Board>>> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .get(account_id)
            .filter(|(at, _)| now_ms - at < TTL_MS)
            .map(|(_, boards)| boards.clone())
    }

    /// Forgets an account's copy (after creating a board through pinline, say).
    pub fn forget(&self, account_id: &str) {
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(account_id);
    }

    /// The board a post names, or a 422 naming the boards that do exist.
    pub async fn resolve(
        &self,
        vault: &Vault,
        account_id: &str,
        board: &BoardRef,
        now_ms: i64,
    ) -> Result<Board, ApiError> {
        let find = |boards: &[Board]| -> Option<Board> {
            boards
                .iter()
                .find(|candidate| match board {
                    BoardRef::Id(id) => &candidate.id == id,
                    BoardRef::Name(name) => candidate.name.eq_ignore_ascii_case(name),
                })
                .cloned()
        };
        if let Some(boards) = self.cached(account_id, now_ms)
            && let Some(found) = find(&boards)
        {
            return Ok(found);
        }
        let boards = self.fetch(vault, account_id, now_ms).await?;
        if let Some(found) = find(&boards) {
            return Ok(found);
        }
        let names: Vec<String> = boards
            .iter()
            .take(20)
            .map(|b| format!("{} ({})", b.name, b.id))
            .collect();
        let known = if names.is_empty() {
            "the account has no boards yet; create one with POST /v1/accounts/{id}/boards"
                .to_owned()
        } else {
            format!("its boards: {}", names.join(", "))
        };
        Err(match board {
            BoardRef::Id(id) => ApiError::invalid(
                "board_id",
                format!("the account has no board {id}; {known}"),
            ),
            BoardRef::Name(name) => ApiError::invalid(
                "board",
                format!("the account has no board named `{name}`; {known}"),
            ),
        })
    }
}
