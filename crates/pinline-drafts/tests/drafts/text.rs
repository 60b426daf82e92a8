//! Rule-based copy and Pinterest's limits.

use pinline_drafts::text::{
    ALT_TEXT_MAX_CHARS, DESCRIPTION_MAX_CHARS, TITLE_MAX_CHARS, cut_at_word_boundary,
};
use pinline_drafts::{Generator, GeneratorUsed, Hints, PageMetadata, RuleGenerator};
use url::Url;

fn page(html: &str) -> PageMetadata {
    let url = Url::parse("https://bake.example/lemon-tart").expect("the page URL parses");
    PageMetadata::from_html(html, Some(&url))
}

fn recipe_page() -> PageMetadata {
    page(
        r#"<meta property="og:site_name" content="Bake Club">
        <script type="application/ld+json">
        {"@type": "Recipe", "name": "Lemon tart", "description": "A bright, sharp lemon tart.",
         "image": "/tart.jpg", "recipeIngredient": ["200 g flour", "100 g butter", "3 lemons",
           "2 eggs", "150 g sugar", "100 ml cream", "1 pinch of salt"],
         "totalTime": "PT1H5M", "keywords": "dessert, baking"}</script>"#,
    )
}

fn assert_within_limits(title: &str, description: &str, alt_text: &str) {
    assert!(
        title.chars().count() <= TITLE_MAX_CHARS,
        "title too long: {title}"
    );
    assert!(
        description.chars().count() <= DESCRIPTION_MAX_CHARS,
        "description too long"
    );
    assert!(
        alt_text.chars().count() <= ALT_TEXT_MAX_CHARS,
        "alt text too long"
    );
}

#[tokio::test]
async fn recipe_copy_uses_time_and_ingredients_and_variants_differ() {
    let meta = recipe_page();
    let copies = RuleGenerator
        .generate(&meta, &Hints::default(), 5)
        .await
        .expect("the rules never fail");
    assert_eq!(copies.len(), 5);
    let titles: Vec<&str> = copies.iter().map(|c| c.title.as_str()).collect();
    let mut unique = titles.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), 5, "titles repeat: {titles:?}");
    assert_eq!(titles[0], "Lemon tart with flour and butter");
    assert_eq!(titles[1], "Lemon tart in 1 hr 5 min");
    assert!(
        copies[0]
            .description
            .contains("Made with flour, butter, lemons, eggs and sugar.")
    );
    assert!(
        copies[1].description.contains("7 ingredients"),
        "{}",
        copies[1].description
    );
    for copy in &copies {
        assert_within_limits(&copy.title, &copy.description, &copy.alt_text);
        assert_eq!(copy.generator, GeneratorUsed::Rules);
        assert_eq!(
            copy.link.as_ref().map(Url::as_str),
            Some("https://bake.example/lemon-tart")
        );
        assert_eq!(copy.keywords.first().map(String::as_str), Some("dessert"));
        assert!(
            copy.keywords.iter().any(|k| k == "lemon"),
            "{:?}",
            copy.keywords
        );
    }
}

#[tokio::test]
async fn product_copy_uses_price_and_brand() {
    let meta = page(
        r#"<script type="application/ld+json">
        {"@type": "Product", "name": "Brass desk lamp", "brand": "Lumen",
         "offers": {"price": "29.99", "priceCurrency": "USD"}}</script>"#,
    );
    let copies = RuleGenerator
        .generate(&meta, &Hints::default(), 3)
        .await
        .expect("the rules never fail");
    assert_eq!(copies[0].title, "Brass desk lamp by Lumen");
    assert_eq!(copies[2].title, "Brass desk lamp – $29.99");
    assert!(copies[2].description.contains("Price: $29.99."));
    assert_eq!(copies[0].alt_text, "Photo of Brass desk lamp");
}

#[tokio::test]
async fn long_multibyte_text_is_cut_at_word_boundaries() {
    let long_title = "とても おいしい レモンタルト の 作り方 ".repeat(20);
    let long_description =
        "Zitronentarte mit knusprigem Mürbeteig und cremiger Füllung — ".repeat(40);
    let meta = PageMetadata::from_text(Some(&long_title), Some(&long_description));
    let copies = RuleGenerator
        .generate(&meta, &Hints::default(), 5)
        .await
        .expect("the rules never fail");
    let words_of_title: Vec<&str> = long_title.split_whitespace().collect();
    let words_of_description: Vec<&str> = long_description.split_whitespace().collect();
    for copy in &copies {
        assert_within_limits(&copy.title, &copy.description, &copy.alt_text);
        assert!(copy.title.ends_with('…'), "{}", copy.title);
        // Every word that survives the cut is a whole word of the input.
        for word in copy.title.trim_end_matches('…').split_whitespace() {
            let word = word.trim_end_matches(['?', ':', ',']);
            assert!(
                words_of_title.contains(&word) || !long_title.contains(word) || word.is_empty(),
                "{word:?} was cut mid-word in {}",
                copy.title
            );
        }
        let last_word = copy
            .description
            .trim_end_matches('…')
            .split_whitespace()
            .last()
            .expect("the description has words");
        // A variant left without sentences of its own falls back on the (cut) title.
        // Keywords are written in lowercase.
        let last_word = last_word.trim_end_matches([',', '.']).to_lowercase();
        let whole = |words: &[&str]| words.iter().any(|w| w.to_lowercase() == last_word);
        assert!(
            whole(&words_of_description) || whole(&words_of_title),
            "{last_word:?} was cut mid-word"
        );
        assert!(copy.link.is_none(), "text ideas have no link");
    }
}

#[test]
fn the_cutter_counts_characters() {
    let text = "ééééé ééééé ééééé";
    let cut = cut_at_word_boundary(text, 12);
    assert_eq!(cut, "ééééé ééééé…");
    assert_eq!(cut.chars().count(), 12);
    assert!(cut.len() > 12, "bytes are not what is counted");
}

#[tokio::test]
async fn hints_win_over_the_page() {
    let meta = recipe_page();
    let hints = Hints {
        title: Some("Grandma's lemon tart".to_owned()),
        text: Some("The one with the burnt edges".to_owned()),
    };
    let copies = RuleGenerator
        .generate(&meta, &hints, 1)
        .await
        .expect("the rules never fail");
    assert!(
        copies[0].title.starts_with("Grandma's lemon tart"),
        "{}",
        copies[0].title
    );
}

#[tokio::test]
async fn a_shop_page_that_repeats_its_title_still_gives_every_variant_something_to_say() {
    // The OpenGraph description only repeats the title; the meta description lists what the
    // thing is; nothing else on the page is text.
    let meta = page(
        r#"<title>LINEN APRON</title>
        <meta property="og:title" content="LINEN APRON">
        <meta property="og:description" content="LINEN APRON">
        <meta name="description" content="Apron, Washed Linen, Cross Back Straps, Deep Pockets, Natural Flax">
        <script type="application/ld+json">
        {"@type": "Product", "name": "LINEN APRON", "image": "/apron.jpg",
         "offers": {"@type": "Offer", "price": "38.00", "priceCurrency": "GBP"}}</script>"#,
    );
    let copies = RuleGenerator
        .generate(&meta, &Hints::default(), 3)
        .await
        .expect("the rules never fail");
    for copy in &copies {
        assert_ne!(copy.description, "LINEN APRON", "{copies:#?}");
    }
    let all: String = copies
        .iter()
        .map(|c| c.description.to_lowercase())
        .collect();
    assert!(
        all.contains("linen") && all.contains("pockets"),
        "{copies:#?}"
    );
}
