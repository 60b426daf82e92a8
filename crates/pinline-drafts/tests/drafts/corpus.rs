//! The shared saved pages, drafted and scored: the same run as `pinline bench drafts`.

use std::path::PathBuf;
use std::sync::Arc;

use pinline_drafts::RuleGenerator;
use pinline_drafts::scorecard::{ModelStub, score_folder, stand_in_generator};

/// The saved pages, beside the repository at `../shared/data/drafts-pages`. Without them the
/// test is skipped with a note, unless `PINLINE_TEST_REQUIRE_POSTGRES=1` (set by CI, where the
/// pages are always beside the repository) says every required thing must be there.
pub fn pages_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/drafts-pages");
    if dir.join("manifest.json").is_file() {
        return Some(dir);
    }
    let required = std::env::var("PINLINE_TEST_REQUIRE_POSTGRES")
        .is_ok_and(|value| value == "1" || value == "true");
    assert!(
        !required,
        "PINLINE_TEST_REQUIRE_POSTGRES is set but the saved pages are not at {}",
        dir.display()
    );
    eprintln!("skipped: no saved pages at {}", dir.display());
    None
}

#[tokio::test]
async fn at_least_eighteen_of_the_twenty_shared_pages_pass_every_check() {
    pinline_outbound::restrict_to_loopback();
    let Some(dir) = pages_dir() else { return };
    let report = score_folder(&dir, Arc::new(RuleGenerator))
        .await
        .expect("the shared pages are readable");
    println!("{}\n{}", report.table(), report.failures());
    if std::env::var_os("PINLINE_SHOW_DRAFTS").is_some() {
        for page in &report.pages {
            println!("## {}\n{}\n", page.file, page.copy.join("\n"));
        }
    }
    assert_eq!(report.pages.len(), 20);
    assert!(
        report.passed() >= 18,
        "{}\n{}",
        report.table(),
        report.failures()
    );
}

#[tokio::test]
async fn the_model_path_is_checked_by_the_same_rules() {
    pinline_outbound::restrict_to_loopback();
    let Some(dir) = pages_dir() else { return };
    let model = ModelStub::start().await.expect("the stand-in starts");
    let generator = stand_in_generator(&model).expect("the generator builds");
    let report = score_folder(&dir, Arc::new(generator))
        .await
        .expect("the shared pages are readable");
    println!("{}\n{}", report.table(), report.failures());
    if std::env::var_os("PINLINE_SHOW_DRAFTS").is_some() {
        for page in &report.pages {
            println!("## {}\n{}\n", page.file, page.copy.join("\n"));
        }
    }
    // Whatever the model writes, what reaches a draft passed the rules: answers that break one
    // are replaced by the built-in copy.
    assert!(
        report.passed() >= 18,
        "{}\n{}",
        report.table(),
        report.failures()
    );
    let by_model = report
        .pages
        .iter()
        .filter(|p| p.generator.starts_with("chat"))
        .count();
    assert!(
        by_model > 0,
        "no answer of the model was used:\n{}",
        report.table()
    );
}
