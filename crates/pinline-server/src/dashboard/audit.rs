//! The dashboard's credential page: which tool (API key) spent each account's Pinterest budget
//! through the passthrough in the last day, what pinline refused it, and who took access
//! tokens, from the audit trail (`GET /v1/audit` serves the same rows).

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use pinline_store::{AuditFilter, AuditRow};

use super::format::timestamp;
use super::pages::Chrome;
use super::{Dashboard, PageError, SignedIn, render};

/// The window the summary covers.
const WINDOW_MS: i64 = 24 * 60 * 60 * 1000;

/// Rows read for the summary at most (the newest first).
const READ: i64 = 5_000;

/// Rows listed one by one.
const LISTED: usize = 50;

/// One tool's use of one account's budget in one category.
#[derive(Debug, Default)]
struct SpendLine {
    key: String,
    account: String,
    category: String,
    forwarded: u64,
    refused_here: u64,
    pinterest_429: u64,
    refreshed: u64,
    tokens: u64,
}

#[derive(Debug)]
struct EntryLine {
    at: String,
    key: String,
    account: String,
    what: String,
    status: i64,
    outcome: String,
}

#[derive(Template)]
#[template(path = "dashboard/audit.html")]
struct AuditPage {
    chrome: Chrome,
    spend: Vec<SpendLine>,
    entries: Vec<EntryLine>,
    truncated: bool,
}

/// `GET /dashboard/audit`.
pub async fn audit_page(
    State(dashboard): State<Dashboard>,
    signed_in: SignedIn,
) -> Result<Response, PageError> {
    let app = &dashboard.app;
    let now = app.now_ms();
    let rows = app
        .store()
        .audit(&AuditFilter {
            profile_id: signed_in.profile_id().to_owned(),
            since: Some(now - WINDOW_MS),
            limit: READ,
            ..AuditFilter::default()
        })
        .await?;
    let keys: BTreeMap<String, String> = app
        .store()
        .api_keys(signed_in.profile_id())
        .await?
        .into_iter()
        .map(|key| (key.id, format!("{} ({}…)", key.name, key.key_prefix)))
        .collect();
    let accounts: BTreeMap<String, String> = app
        .vault()
        .accounts(signed_in.profile_id())
        .await?
        .into_iter()
        .map(|account| (account.id, account.username))
        .collect();
    let name = |names: &BTreeMap<String, String>, id: &str| {
        names.get(id).cloned().unwrap_or_else(|| id.to_owned())
    };
    let mut spend: BTreeMap<(String, String, String), SpendLine> = BTreeMap::new();
    for row in &rows {
        let account = row.account_id.as_deref().unwrap_or("");
        let category = row.category.clone().unwrap_or_else(|| "—".to_owned());
        let line = spend
            .entry((row.api_key_id.clone(), account.to_owned(), category.clone()))
            .or_insert_with(|| SpendLine {
                key: name(&keys, &row.api_key_id),
                account: name(&accounts, account),
                category,
                ..SpendLine::default()
            });
        match (row.kind.as_str(), row.upstream_status) {
            (AuditRow::ACCESS_TOKEN, _) => line.tokens += 1,
            (_, Some(429)) => {
                line.forwarded += 1;
                line.pinterest_429 += 1;
            }
            (_, Some(_)) => line.forwarded += 1,
            (_, None) => line.refused_here += 1,
        }
        if row.refreshed {
            line.refreshed += 1;
        }
    }
    let mut spend: Vec<SpendLine> = spend.into_values().collect();
    spend.sort_by_key(|line| std::cmp::Reverse(line.forwarded + line.tokens));
    let entries = rows
        .iter()
        .take(LISTED)
        .map(|row| EntryLine {
            at: timestamp(Some(row.at)),
            key: name(&keys, &row.api_key_id),
            account: name(&accounts, row.account_id.as_deref().unwrap_or("")),
            what: format!("{} {}", row.method, row.route),
            status: row.status,
            outcome: row.outcome.clone(),
        })
        .collect();
    Ok(render(&AuditPage {
        chrome: Chrome::new("audit", &signed_in),
        spend,
        entries,
        truncated: rows.len() as i64 >= READ,
    }))
}
