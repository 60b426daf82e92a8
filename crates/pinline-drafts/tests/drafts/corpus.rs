//! The shared saved pages, drafted and scored: the same run as `pinline bench drafts`.

use std::path::PathBuf;
use std::sync::Arc;

use pinline_drafts::RuleGenerator;
use pinline_drafts::scorecard::{ModelStub, score_folder, stand_in_generator};

/// The saved pages sit beside the repository, at `../shared/data/drafts-pages`.
pub fn pages_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/drafts-pages")
}

#[tokio::test]
async fn at_least_eighteen_of_the_twenty_shared_pages_pass_every_check() {
    pinline_outbound::restrict_to_loopback();
    let report = score_folder(&pages_dir(), Arc::new(RuleGenerator))
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
    let model = ModelStub::start().await.expect("the stand-in starts");
    let generator = stand_in_generator(&model).expect("the generator builds");
    let report = score_folder(&pages_dir(), Arc::new(generator))
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
