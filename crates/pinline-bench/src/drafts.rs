//! `pinline bench drafts`: are the drafts ones a marketer would publish?
//!
//! The saved pages of `../shared/data/drafts-pages` (or `PINLINE_DRAFTS_PAGES`) are served on
//! loopback under their own host names and drafted through the whole pipeline, three drafts a
//! page, once with the built-in copy and once with a chat model stand-in on loopback (whose
//! answers are used only when they pass the rules). Each page is scored on limits, title,
//! language, key terms, filler, alt text, variety and image (`docs/DRAFTS.md` says what each
//! check means). Goal: at least 90 % of the pages pass every check with the built-in copy.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Result, anyhow};
use pinline_drafts::RuleGenerator;
use pinline_drafts::scorecard::{
    CHECKS, ModelStub, Report, read_manifest, score_pages, stand_in_generator,
};

use crate::report::Table;
use crate::{BenchOptions, Ran, Size};

/// Where the saved pages are: `PINLINE_DRAFTS_PAGES`, else beside the repository (from the
/// working directory, then from this crate's source).
fn pages_dir() -> Option<PathBuf> {
    let candidates = [
        std::env::var_os("PINLINE_DRAFTS_PAGES").map(PathBuf::from),
        Some(PathBuf::from("../shared/data/drafts-pages")),
        Some(PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/data/drafts-pages"
        ))),
    ];
    candidates
        .into_iter()
        .flatten()
        .find(|dir| dir.join("manifest.json").is_file())
}

/// Scores the saved pages on both paths.
pub async fn run(options: &BenchOptions) -> Result<Ran> {
    let Some(dir) = pages_dir() else {
        return Ok(Ran::Skipped(
            "skipped, no saved pages (set PINLINE_DRAFTS_PAGES)".to_owned(),
        ));
    };
    let mut pages = read_manifest(&dir).map_err(|error| anyhow!(error))?;
    if options.size == Size::Tiny {
        pages.truncate(2);
    }
    let rules = score_pages(&dir, &pages, Arc::new(RuleGenerator))
        .await
        .map_err(|error| anyhow!(error))?;
    let stub = ModelStub::start().await.map_err(|error| anyhow!(error))?;
    let chat = stand_in_generator(&stub).map_err(|error| anyhow!(error))?;
    let model = score_pages(&dir, &pages, Arc::new(chat))
        .await
        .map_err(|error| anyhow!(error))?;

    let mut failures = Vec::new();
    if rules.passed() * 10 < rules.pages.len() * 9 {
        failures.push(format!(
            "{} of {} pages pass every check with the built-in copy (goal: at least 90 %)",
            rules.passed(),
            rules.pages.len()
        ));
    }
    Ok(Ran::Tables {
        tables: vec![
            table("drafts: built-in copy, 3 drafts a page", &rules),
            table("drafts: chat model stand-in, 3 drafts a page", &model),
        ],
        failures,
    })
}

fn table(title: &str, report: &Report) -> Table {
    let mut columns = vec!["page", "lang"];
    columns.extend(CHECKS);
    columns.extend(["all", "copy by"]);
    let mut table = Table::new(title, &columns);
    for page in &report.pages {
        let mut cells = vec![
            page.file.trim_end_matches(".html").to_owned(),
            page.language.clone(),
        ];
        cells.extend(
            page.checks
                .iter()
                .map(|passed| if *passed { "✓" } else { "✗" }.to_owned()),
        );
        cells.push(if page.passed() { "pass" } else { "FAIL" }.to_owned());
        let by: String = page.generator.chars().take(48).collect();
        cells.push(by.replace('|', "/"));
        table.row(cells);
    }
    let mut total = vec!["**total**".to_owned(), String::new()];
    for index in 0..CHECKS.len() {
        let count = report.pages.iter().filter(|p| p.checks[index]).count();
        total.push(format!("{count}/{}", report.pages.len()));
    }
    total.push(format!("**{}/{}**", report.passed(), report.pages.len()));
    table.row(total);
    table
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{BackendKind, Scenario};

    #[tokio::test]
    async fn scores_two_pages_on_both_paths() {
        pinline_outbound::restrict_to_loopback();
        let options = BenchOptions {
            scenarios: vec![Scenario::Drafts],
            size: Size::Tiny,
            backends: vec![BackendKind::Sqlite],
            postgres_url: None,
            schedule: crate::schedule::Overrides::default(),
        };
        match run(&options).await.expect("the scenario runs") {
            Ran::Tables { tables, .. } => {
                assert_eq!(tables.len(), 2);
                assert_eq!(tables[0].rows.len(), 3, "two pages and the total");
            }
            Ran::Skipped(why) => {
                // CI has the pages beside the repository and says every required thing must
                // be there.
                let required = std::env::var("PINLINE_TEST_REQUIRE_POSTGRES")
                    .is_ok_and(|value| value == "1" || value == "true");
                assert!(!required, "PINLINE_TEST_REQUIRE_POSTGRES is set: {why}");
                eprintln!("{why}");
            }
        }
    }
}
