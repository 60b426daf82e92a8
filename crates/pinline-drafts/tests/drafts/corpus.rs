//! The shared saved pages, drafted and scored: the same run as `pinline bench drafts`.

use std::path::PathBuf;
use std::sync::Arc;

use pinline_drafts::RuleGenerator;
use pinline_drafts::scorecard::score_folder;

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
