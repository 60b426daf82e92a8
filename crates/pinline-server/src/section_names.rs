//! A board section named at acceptance (`"board_section": "name"`), resolved to its id once,
//! case-insensitively, as a board name is: the board's sections are read from Pinterest (a few
//! pages at most), and a name that matches none is refused with the names that exist.

use crate::error::ApiError;
use crate::state::AppState;

/// Pages of 250 sections read at most.
const MAX_PAGES: usize = 4;

/// The id of the section of `board_id` called `name`, or a 422 naming the board's sections.
pub async fn resolve_section(
    state: &AppState,
    account_id: &str,
    board_id: &str,
    name: &str,
) -> Result<String, ApiError> {
    let mut names = Vec::new();
    let mut bookmark: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let page = state
            .vault()
            .call(account_id, |client, token| {
                let bookmark = bookmark.clone();
                async move {
                    client
                        .list_board_sections(&token, board_id, bookmark.as_deref(), Some(250))
                        .await
                }
            })
            .await?
            .value;
        if let Some(id) = page
            .items
            .iter()
            .find(|section| section.name.trim().eq_ignore_ascii_case(name))
            .and_then(|section| section.id.clone())
        {
            return Ok(id);
        }
        names.extend(page.items.into_iter().map(|s| match s.id {
            Some(id) => format!("{} ({id})", s.name),
            None => s.name,
        }));
        match page.bookmark.filter(|b| !b.is_empty()) {
            Some(next) => bookmark = Some(next),
            None => break,
        }
    }
    let known = if names.is_empty() {
        "the board has no sections; create one with POST /v1/accounts/{id}/boards/{board_id}/sections"
            .to_owned()
    } else {
        let shown: Vec<&str> = names.iter().take(20).map(String::as_str).collect();
        format!("its sections: {}", shown.join(", "))
    };
    Err(ApiError::invalid(
        "board_section",
        format!("the board has no section named `{name}`; {known}"),
    ))
}
