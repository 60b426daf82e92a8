//! What pages say about themselves.

use pinline_drafts::PageMetadata;
use pinline_drafts::metadata::StructuredData;
use url::Url;

fn page_url() -> Url {
    Url::parse("https://shop.example/products/lamp?ref=home").expect("the page URL parses")
}

fn read(html: &str) -> PageMetadata {
    PageMetadata::from_html(html, Some(&page_url()))
}

#[test]
fn open_graph_twitter_and_plain_tags() {
    let meta = read(
        r#"<!doctype html><html><head>
        <title>  Brass desk lamp | Lamp Shop </title>
        <meta name="description" content="A warm brass lamp.">
        <meta name="keywords" content="lamp, brass ,desk lighting">
        <link rel="canonical" href="/products/lamp">
        <meta property="og:title" content="Brass desk lamp">
        <meta property="og:description" content="Warm light for late work.">
        <meta property="og:image" content="/img/lamp.jpg">
        <meta property="og:image:alt" content="A brass lamp on an oak desk">
        <meta property="og:url" content="https://shop.example/products/lamp">
        <meta property="og:site_name" content="Lamp Shop">
        <meta property="og:type" content="product">
        <meta name="twitter:title" content="Brass lamp (Twitter)">
        <meta name="twitter:description" content="Twitter description">
        <meta name="twitter:image" content="//cdn.example/lamp-tw.jpg">
        </head><body></body></html>"#,
    );
    assert_eq!(
        meta.html_title.as_deref(),
        Some("Brass desk lamp | Lamp Shop")
    );
    assert_eq!(meta.meta_description.as_deref(), Some("A warm brass lamp."));
    assert_eq!(meta.meta_keywords, ["lamp", "brass", "desk lighting"]);
    assert_eq!(
        meta.canonical_url.as_ref().map(Url::as_str),
        Some("https://shop.example/products/lamp")
    );
    let og = &meta.open_graph;
    assert_eq!(og.title.as_deref(), Some("Brass desk lamp"));
    assert_eq!(og.description.as_deref(), Some("Warm light for late work."));
    assert_eq!(
        og.image.as_ref().map(Url::as_str),
        Some("https://shop.example/img/lamp.jpg")
    );
    assert_eq!(og.image_alt.as_deref(), Some("A brass lamp on an oak desk"));
    assert_eq!(og.site_name.as_deref(), Some("Lamp Shop"));
    assert_eq!(og.kind.as_deref(), Some("product"));
    assert_eq!(meta.twitter.title.as_deref(), Some("Brass lamp (Twitter)"));
    assert_eq!(
        meta.twitter.description.as_deref(),
        Some("Twitter description")
    );
    assert_eq!(
        meta.twitter.image.as_ref().map(Url::as_str),
        Some("https://cdn.example/lamp-tw.jpg")
    );
    assert_eq!(meta.best_title(), Some("Brass desk lamp"));
    assert_eq!(meta.image_candidates().len(), 2);
    assert_eq!(
        meta.link().map(Url::as_str),
        Some("https://shop.example/products/lamp")
    );
}

#[test]
fn product_json_ld_with_offers_and_brand() {
    let meta = read(
        r#"<script type="application/ld+json">
        {"@context": "https://schema.org", "@type": "Product",
         "name": "Brass desk lamp", "description": "Solid brass &amp; linen shade.",
         "image": ["/img/a.jpg", {"@type": "ImageObject", "url": "https://cdn.example/b.jpg"}],
         "brand": {"@type": "Brand", "name": "Lumen"},
         "offers": [{"@type": "Offer", "price": 129.5, "priceCurrency": "EUR"}]}
        </script>"#,
    );
    let product = meta.product().expect("a product is read");
    assert_eq!(product.name.as_deref(), Some("Brass desk lamp"));
    assert_eq!(
        product.description.as_deref(),
        Some("Solid brass & linen shade.")
    );
    assert_eq!(product.brand.as_deref(), Some("Lumen"));
    assert_eq!(product.price.as_deref(), Some("129.5"));
    assert_eq!(product.currency.as_deref(), Some("EUR"));
    let images: Vec<&str> = product.images.iter().map(Url::as_str).collect();
    assert_eq!(
        images,
        [
            "https://shop.example/img/a.jpg",
            "https://cdn.example/b.jpg"
        ]
    );
}

#[test]
fn article_inside_a_graph() {
    let meta = read(
        r#"<script type="application/ld+json">
        {"@context": "https://schema.org", "@graph": [
          {"@type": "WebSite", "name": "The Blog"},
          {"@type": "NewsArticle", "headline": "Ten lamps for small desks",
           "description": "Our picks.", "image": {"url": "hero.jpg"},
           "author": [{"@type": "Person", "name": "Ada Lovelace"}, {"name": "Bob"}],
           "keywords": "lighting, desks, small spaces"}
        ]}</script>"#,
    );
    let article = meta.article().expect("an article is read");
    assert_eq!(article.kind, "NewsArticle");
    assert_eq!(
        article.headline.as_deref(),
        Some("Ten lamps for small desks")
    );
    assert_eq!(article.author.as_deref(), Some("Ada Lovelace"));
    assert_eq!(article.keywords, ["lighting", "desks", "small spaces"]);
    assert_eq!(
        article.images.first().map(Url::as_str),
        Some("https://shop.example/products/hero.jpg")
    );
}

#[test]
fn blog_posting_in_a_top_level_array() {
    let meta = read(
        r#"<script type="application/ld+json">
        [{"@type": "BreadcrumbList"},
         {"@type": "BlogPosting", "headline": "Notes", "author": "Grace",
          "keywords": ["a", "b"]}]</script>"#,
    );
    let article = meta.article().expect("the posting is read");
    assert_eq!(article.kind, "BlogPosting");
    assert_eq!(article.author.as_deref(), Some("Grace"));
    assert_eq!(article.keywords, ["a", "b"]);
}

#[test]
fn recipe_with_ingredients_and_time() {
    let meta = read(
        r#"<html><head><script type="application/ld+json">
        {"@context": "https://schema.org/", "@type": "Recipe", "name": "Lemon tart",
         "description": "Bright and sharp.", "image": "https://img.example/tart.jpg",
         "recipeIngredient": ["flour", "butter", "sugar", "eggs", "lemons", "cream", "salt"],
         "totalTime": "PT1H5M", "keywords": "dessert, baking, citrus"}
        </script></head></html>"#,
    );
    let recipe = meta.recipe().expect("a recipe is read");
    assert_eq!(recipe.name.as_deref(), Some("Lemon tart"));
    assert_eq!(recipe.ingredient_count, 7);
    assert_eq!(recipe.total_minutes, Some(65));
    assert_eq!(recipe.keywords, ["dessert", "baking", "citrus"]);
    assert!(matches!(
        meta.structured.first(),
        Some(StructuredData::Recipe(_))
    ));
    assert_eq!(meta.declared_keywords(), ["dessert", "baking", "citrus"]);
    assert_eq!(meta.best_description(), Some("Bright and sharp."));
}

#[test]
fn non_web_image_urls_are_dropped() {
    let meta = read(
        r#"<meta property="og:image" content="javascript:alert(1)">
           <meta name="twitter:image" content="data:image/png;base64,AAAA">"#,
    );
    assert!(meta.image_candidates().is_empty());
}

#[test]
fn teasers_delivery_terms_and_label_fine_print_are_not_the_page_text() {
    let meta = read(
        r#"<!doctype html><html><head><title>Brass desk lamp</title></head><body><main>
        <div class="product-gallery slick-slider"><img src="/img/lamp-main.jpg" alt="A brass desk lamp with a green shade" width="800" height="800"></div>
        <p>A brass desk lamp with a weighted base and a green glass shade, wired for warm bulbs.</p>
        <div class="card-carousel"><article class="card"><div class="card__description">
          <p>Pair this vase with dried grasses for an easy autumn table that lasts all season.</p>
        </div></article></div>
        <section class="repeat-delivery-info"><p>Schedule an order for delivery every one, two or three months with our service.</p></section>
        <div class="bottombannercontainer"><p>We offer the following options within the UK and to selected destinations.</p></div>
        <div class="nutrition-facts-label-disclaimer"><p>Your daily values may be higher or lower depending on your needs.</p></div>
        </main></body></html>"#,
    );
    assert_eq!(
        meta.paragraphs,
        ["A brass desk lamp with a weighted base and a green glass shade, wired for warm bulbs."]
    );
    // A product's own picture in a slider is still the page's picture.
    assert!(
        meta.image_candidates()
            .iter()
            .any(|url| url.path() == "/img/lamp-main.jpg"),
        "{:?}",
        meta.image_candidates()
    );
}
