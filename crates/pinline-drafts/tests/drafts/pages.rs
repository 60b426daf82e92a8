//! Pages as marketers' sites write them, drafted end to end on loopback.

use std::sync::Arc;

use axum::Router;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use pinline_drafts::language::Language;
use pinline_drafts::quality::{check_copies, reads_as};
use pinline_drafts::{Draft, DraftRequest, Drafter, PinCopy, RuleGenerator};

use crate::support::{TestSite, flat_with_detail, loopback_settings, png};

fn html(body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response()
}

/// Serves `page` at `/page` and a picture at every `/img/…` path.
async fn site(page: &'static str) -> TestSite {
    let picture = png(&flat_with_detail(1200, 900, (100, 100, 400, 300)));
    let router = Router::new()
        .route("/page", get(move || async move { html(page) }))
        .route(
            "/img/{name}",
            get(move || {
                let picture = picture.clone();
                async move { ([(header::CONTENT_TYPE, "image/png")], picture) }
            }),
        );
    TestSite::start(router).await
}

async fn drafts_of(page: &'static str, count: usize) -> (Vec<Draft>, TestSite) {
    let site = site(page).await;
    let drafts = Drafter::new(loopback_settings(), Arc::new(RuleGenerator))
        .draft(DraftRequest {
            url: Some(site.url("/page")),
            count,
            ..DraftRequest::default()
        })
        .await
        .expect("drafts are made");
    (drafts, site)
}

fn copies(drafts: &[Draft]) -> Vec<PinCopy> {
    drafts
        .iter()
        .map(|d| PinCopy {
            title: d.title.clone(),
            description: d.description.clone(),
            alt_text: d.alt_text.clone(),
            keywords: d.keywords.clone(),
            link: d.link.clone(),
            generator: d.generator.clone(),
        })
        .collect()
}

fn all_text(drafts: &[Draft]) -> String {
    drafts
        .iter()
        .map(|d| {
            format!(
                "{}\n{}\n{}\n{}",
                d.title,
                d.description,
                d.alt_text,
                d.keywords.join(", ")
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

const ARTICLE_THEN_RECIPE: &str = r#"<!doctype html><html lang="en"><head>
<title>Weeknight lentil soup - The Green Pot</title>
<meta property="og:site_name" content="The Green Pot">
<meta property="og:image" content="/img/soup.png">
<script type="application/ld+json">{"@context": "https://schema.org", "@graph": [
  {"@type": "Article", "headline": "Weeknight lentil soup", "author": {"@type": "Person", "name": "Mara"},
   "publisher": {"@type": "Organization", "name": "The Green Pot"}},
  {"@type": "WebPage", "name": "Weeknight lentil soup - The Green Pot"},
  {"@type": "Recipe", "name": "Weeknight lentil soup",
   "description": "A thick, warming soup of red lentils, carrots and cumin that cooks in one pot.",
   "recipeIngredient": ["200 g red lentils", "2 carrots, diced", "1 onion", "1 tsp cumin", "1 l vegetable stock"],
   "totalTime": "PT35M", "recipeYield": "4 servings", "recipeCategory": "Soup"}
]}</script></head>
<body><article><h1>Weeknight lentil soup</h1>
<p>When the evenings get cold, this is the soup we make most: it needs one pot and half an hour.</p>
<p>Red lentils fall apart as they cook, so the soup thickens without any cream at all.</p>
</article></body></html>"#;

#[tokio::test]
async fn a_recipe_behind_an_article_drafts_as_a_recipe() {
    let (drafts, _site) = drafts_of(ARTICLE_THEN_RECIPE, 3).await;
    let text = all_text(&drafts);
    assert_eq!(drafts[0].source.structured_type.as_deref(), Some("recipe"));
    assert_eq!(
        drafts[0].source.title.as_deref(),
        Some("Weeknight lentil soup")
    );
    assert!(text.contains("red lentils"), "{text}");
    assert!(text.contains("35 min"), "{text}");
    assert!(!text.to_lowercase().contains("story"), "{text}");
    assert!(
        !text.contains("The Green Pot"),
        "the site's name stays out of titles: {text}"
    );
    check_copies(&copies(&drafts), &Language::english()).expect("the drafts pass the rules");
}

const FRENCH_RECIPE: &str = r#"<!doctype html><html lang="fr-FR"><head>
<title>Tarte aux pommes de grand-mère | Cuisine Facile</title>
<meta property="og:site_name" content="Cuisine Facile">
<meta property="og:image" content="/img/tarte.png">
<meta name="description" content="La tarte aux pommes de grand-mère, avec une pâte brisée maison et des pommes fondantes caramélisées au beurre.">
<script type="application/ld+json">{"@context": "https://schema.org", "@type": "Recipe",
 "name": "Tarte aux pommes de grand-mère",
 "recipeIngredient": ["250 g de farine", "125 g de beurre", "4 pommes", "50 g de sucre", "1 pincée de sel"],
 "prepTime": "PT30M", "cookTime": "PT45M", "recipeYield": "6", "recipeCategory": "Dessert"}</script>
</head><body><main>
<p>Cette tarte se prépare le dimanche matin et se déguste tiède, avec une boule de glace à la vanille.</p>
<p>Choisissez des pommes qui se tiennent à la cuisson, comme la reinette ou la golden.</p>
</main></body></html>"#;

#[tokio::test]
async fn a_french_page_gets_french_copy() {
    let (drafts, _site) = drafts_of(FRENCH_RECIPE, 3).await;
    let french = Language::from_tag("fr").expect("a language");
    for draft in &drafts {
        let copy = format!("{} {}", draft.title, draft.description);
        assert!(reads_as(&copy, &french), "not French: {copy}");
        for english in [
            "Ready in",
            "Made with",
            "Photo of",
            "Close-up",
            "Serves",
            "Tap to",
        ] {
            assert!(
                !copy.contains(english) && !draft.alt_text.contains(english),
                "{english:?} in {copy} / {}",
                draft.alt_text
            );
        }
    }
    let text = all_text(&drafts);
    assert!(text.contains("Prêt en 1 h 15 min"), "{text}");
    assert!(text.contains("Avec farine, beurre, pommes"), "{text}");
    assert!(text.contains("Photo de Tarte aux pommes"), "{text}");
    check_copies(&copies(&drafts), &french).expect("the drafts pass the rules");
}

const PRODUCT_WITH_A_MAIN_IMAGE_ONLY: &str = r#"<!doctype html><html lang="en-GB"><head>
<title>Oak serving board, large | Timber &amp; Co</title>
<meta property="og:site_name" content="Timber &amp; Co">
<meta name="description" content="Shop handmade kitchenware at Timber &amp; Co.">
</head><body>
<header><img src="/img/logo.png" alt="Timber &amp; Co logo" width="120" height="40"></header>
<main><div itemscope itemtype="https://schema.org/Product">
  <h1 itemprop="name">Oak serving board, large</h1>
  <img id="main-product-image" src="/img/board-large.png" alt="Oak serving board with a juice groove, on a kitchen table">
  <span itemprop="brand">Timber &amp; Co</span>
  <div itemprop="description"><p>A large serving board cut from one piece of English oak, finished with food-safe oil.</p></div>
  <meta itemprop="material" content="English oak">
  <div itemprop="offers" itemscope itemtype="https://schema.org/Offer">
    <span itemprop="priceCurrency" content="GBP">£</span><span itemprop="price" content="45.00">45.00</span>
  </div>
</div>
<aside class="related-products"><img src="/img/other.png" alt="Another board"></aside>
</main></body></html>"#;

#[tokio::test]
async fn a_product_page_with_only_a_main_image_gets_drafts_with_its_price() {
    let (drafts, site) = drafts_of(PRODUCT_WITH_A_MAIN_IMAGE_ONLY, 3).await;
    let text = all_text(&drafts);
    assert_eq!(drafts[0].source.structured_type.as_deref(), Some("product"));
    assert_eq!(
        drafts[0].source.image_url.as_ref().map(|u| u.as_str()),
        Some(site.url("/img/board-large.png").as_str()),
        "the main picture, not the logo"
    );
    assert!(text.contains("£45.00"), "{text}");
    assert!(text.contains("English oak"), "{text}");
    assert!(
        drafts[0].alt_text.contains("juice groove"),
        "the page's own words about its picture: {}",
        drafts[0].alt_text
    );
    assert!(
        !text.contains("Shop handmade"),
        "the store's tagline is not the product: {text}"
    );
}

const ESCAPED_EVERYWHERE: &str = r#"<!doctype html><html lang="es"><head>
<title>Paella de marisco f&amp;aacute;cil &#124; Cocina&amp;amp;Casa</title>
<meta property="og:title" content="Paella de marisco f&amp;aacute;cil">
<meta property="og:site_name" content="Cocina&amp;Casa">
<meta property="og:image" content="/img/paella.png">
<meta property="og:image:alt" content="Paellera con gambas, mejillones y lim&amp;oacute;n">
<meta name="description" content="La paella de &quot;la abuela&quot;, con arroz bomba, gambas y mejillones. &iexcl;Sale perfecta!">
<meta name="keywords" content="paella, marisco, arroz, cocina espa&amp;ntilde;ola">
<script type="application/ld+json">{"@type": "Recipe", "name": "Paella de marisco f&amp;aacute;cil",
 "description": "Un arroz con gambas, mejillones y calamares que se hace en 40 minutos. Ideal para compartir el domingo con la familia.",
 "recipeIngredient": ["400 g de arroz bomba", "300 g de gambas", "500 g de mejillones", "1 pimiento rojo", "azafr&amp;aacute;n"],
 "totalTime": "PT40M", "keywords": "paella, arroz &amp;amp; marisco, cocina espa&#039;ola"}</script>
</head><body><main><p>El secreto de esta paella est&aacute; en el sofrito: tiempo y fuego lento, sin prisas de ning&uacute;n tipo.</p></main></body></html>"#;

#[tokio::test]
async fn html_entities_never_reach_the_copy() {
    let (drafts, _site) = drafts_of(ESCAPED_EVERYWHERE, 3).await;
    let text = all_text(&drafts);
    for draft in &drafts {
        let fields = [&draft.title, &draft.description, &draft.alt_text];
        for field in fields.into_iter().chain(draft.keywords.iter()) {
            let lower = field.to_lowercase();
            for leftover in [
                "&amp", "&#", "&quot", "&iexcl", "aacute", "oacute", "ntilde", "uacute",
            ] {
                assert!(!lower.contains(leftover), "{leftover:?} in {field:?}");
            }
        }
    }
    assert!(text.contains("Paella de marisco fácil"), "{text}");
    assert!(text.contains("limón"), "{text}");
    assert!(!drafts[0].title.contains("Cocina"), "{}", drafts[0].title);
}
