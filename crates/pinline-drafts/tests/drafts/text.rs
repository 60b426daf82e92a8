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
         "image": "/tart.jpg", "recipeIngredient": ["a","b","c","d","e","f","g"],
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
    assert_eq!(titles[0], "Lemon tart: ready in 1 h 5 min");
    assert_eq!(titles[1], "Craving Lemon tart?");
    assert!(titles[2].contains("7 ingredients"), "{titles:?}");
    assert!(copies[2].description.contains("• 7 ingredients"));
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
        assert_eq!(copy.alt_text, "Photo of Lemon tart");
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
    assert_eq!(copies[0].title, "Brass desk lamp for $29.99");
    assert_eq!(copies[1].title, "Looking for Brass desk lamp?");
    assert_eq!(copies[2].title, "Brass desk lamp: by Lumen · $29.99");
    assert_eq!(
        copies[0].alt_text,
        "Product photo of Brass desk lamp by Lumen"
    );
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
        assert!(copy.description.ends_with('…'));
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
        assert!(
            words_of_description.contains(&last_word.trim_end_matches([',', '.'])),
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
