//! The language a page is written in, and the words pinline writes in it.
//!
//! [`detect_language`] reads what the document declares (`<html lang>`, `og:locale`,
//! `content-language`) and checks it against the text itself with `whatlang`: a declaration
//! wins unless a long enough sample of the page's text reliably says otherwise (templated sites
//! often keep `lang="en"` on pages in other languages). [`Phrases`] are the few sentences and
//! labels the built-in copy needs, written for English, French, German, Spanish, Italian,
//! Portuguese, Dutch, Japanese and Chinese; for any other language there are none, and copy is
//! made from the page's own words alone. Numbers, prices, durations and dates follow each
//! language's conventions ([`Phrases::minutes`], [`Phrases::price`], [`Phrases::date`]).

use serde::Serialize;

use crate::metadata::PageMetadata;

/// A page's language: an ISO 639-1 code where one exists (`fr`), else ISO 639-3 (`tgl`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Language {
    /// The code.
    pub code: String,
    /// For Chinese: written in traditional characters.
    pub traditional: bool,
}

impl Language {
    /// The language with this code (a tag such as `pt-BR` or `zh_TW` is reduced to its
    /// language, keeping whether Chinese is traditional).
    pub fn from_tag(tag: &str) -> Option<Language> {
        let tag = tag.trim().replace('_', "-").to_ascii_lowercase();
        let mut parts = tag.split('-');
        let primary = parts.next().filter(|p| (2..=3).contains(&p.len()))?;
        if !primary.chars().all(|c| c.is_ascii_alphabetic()) {
            return None;
        }
        let rest: Vec<&str> = parts.collect();
        let traditional = rest
            .iter()
            .any(|p| matches!(*p, "tw" | "hk" | "mo" | "hant"));
        let code = match primary {
            "jp" => "ja",
            "cn" | "zho" | "cmn" => "zh",
            other => other,
        };
        Some(Language {
            code: code.to_owned(),
            traditional,
        })
    }

    /// English, the language of text too short to tell.
    pub fn english() -> Language {
        Language {
            code: "en".to_owned(),
            traditional: false,
        }
    }

    /// The language's name in English, for a model's instructions.
    pub fn english_name(&self) -> String {
        if self.code == "zh" {
            let script = if self.traditional {
                "traditional"
            } else {
                "simplified"
            };
            return format!("Chinese ({script} characters)");
        }
        whatlang::Lang::from_code(self.iso639_3())
            .map_or_else(|| self.code.clone(), |lang| lang.eng_name().to_owned())
    }

    fn iso639_3(&self) -> &str {
        ISO_CODES
            .iter()
            .find(|(one, _)| *one == self.code)
            .map_or(self.code.as_str(), |(_, three)| three)
    }

    /// The built-in phrases for this language, if there are any.
    pub fn phrases(&self) -> Option<&'static Phrases> {
        Some(match self.code.as_str() {
            "en" => &EN,
            "fr" => &FR,
            "de" => &DE,
            "es" => &ES,
            "it" => &IT,
            "pt" => &PT,
            "nl" => &NL,
            "ja" => &JA,
            "zh" if self.traditional => &ZH_HANT,
            "zh" => &ZH_HANS,
            _ => return None,
        })
    }

    /// Whether words are written without spaces between them.
    pub fn is_unspaced(&self) -> bool {
        matches!(self.code.as_str(), "ja" | "zh" | "th")
    }
}

/// ISO 639-1 codes and their ISO 639-3 equivalents, for the languages `whatlang` knows.
const ISO_CODES: [(&str, &str); 40] = [
    ("en", "eng"),
    ("fr", "fra"),
    ("de", "deu"),
    ("es", "spa"),
    ("it", "ita"),
    ("pt", "por"),
    ("nl", "nld"),
    ("ja", "jpn"),
    ("zh", "cmn"),
    ("ru", "rus"),
    ("pl", "pol"),
    ("sv", "swe"),
    ("da", "dan"),
    ("nb", "nob"),
    ("fi", "fin"),
    ("tr", "tur"),
    ("ko", "kor"),
    ("ar", "ara"),
    ("he", "heb"),
    ("hi", "hin"),
    ("cs", "ces"),
    ("el", "ell"),
    ("hu", "hun"),
    ("ro", "ron"),
    ("uk", "ukr"),
    ("vi", "vie"),
    ("th", "tha"),
    ("id", "ind"),
    ("ca", "cat"),
    ("hr", "hrv"),
    ("sk", "slk"),
    ("sl", "slv"),
    ("bg", "bul"),
    ("lt", "lit"),
    ("lv", "lav"),
    ("et", "est"),
    ("fa", "pes"),
    ("bn", "ben"),
    ("ur", "urd"),
    ("af", "afr"),
];

/// The language `whatlang` reads in `text`, with whether it is sure.
pub fn detect_text(text: &str) -> Option<(Language, bool)> {
    let info = whatlang::detect(text)?;
    let three = info.lang().code();
    let code = ISO_CODES
        .iter()
        .find(|(_, t)| *t == three)
        .map_or(three, |(one, _)| one);
    let mut language = Language {
        code: code.to_owned(),
        traditional: false,
    };
    if language.code == "zh" {
        language.traditional = looks_traditional(text);
    }
    Some((language, info.is_reliable()))
}

/// Characters that exist only in traditional or only in simplified writing, common enough to
/// tell one from the other in a paragraph.
const TRADITIONAL_ONLY: &str = "們這個會來時說為後過還對點體關開現發經與從麼國學樣個無書車長門問間見聽話讀寫買賣東區營樹賞楓灣臺";
const SIMPLIFIED_ONLY: &str = "们这个会来时说为后过还对点体关开现发经与从么国学样个无书车长门问间见听话读写买卖东区营树赏枫湾台";

fn looks_traditional(text: &str) -> bool {
    let traditional = text
        .chars()
        .filter(|c| TRADITIONAL_ONLY.contains(*c))
        .count();
    let simplified = text
        .chars()
        .filter(|c| SIMPLIFIED_ONLY.contains(*c))
        .count();
    traditional > simplified
}

/// The page's language: what it declares, unless enough of its text reliably says otherwise;
/// the text's language when nothing is declared; English when there is too little text.
pub fn detect_language(meta: &PageMetadata, extra_text: Option<&str>) -> Language {
    let declared = meta
        .declared_language
        .as_deref()
        .or(meta.open_graph.locale.as_deref())
        .and_then(Language::from_tag);
    let mut sample = String::new();
    for part in [meta.best_title(), meta.best_description(), extra_text]
        .into_iter()
        .flatten()
        .map(str::to_owned)
        .chain(meta.paragraphs.iter().take(6).cloned())
    {
        if sample.chars().count() > 1500 {
            break;
        }
        sample.push_str(&part);
        sample.push_str(". ");
    }
    let detected = detect_text(&sample);
    let sample_is_long = sample.chars().count() >= 200
        || sample
            .chars()
            .filter(|c| crate::metadata::is_wide(*c))
            .count()
            >= 40;
    match (declared, detected) {
        (Some(mut declared), Some((text, reliable))) => {
            if reliable && sample_is_long && text.code != declared.code {
                text
            } else {
                if declared.code == "zh" && !declared.traditional {
                    declared.traditional = looks_traditional(&sample);
                }
                declared
            }
        }
        (Some(declared), None) => declared,
        (None, Some((text, reliable))) if reliable || sample_is_long => text,
        (None, _) => Language::english(),
    }
}

/// The sentences and labels of the built-in copy in one language. `{x}` and `{y}` mark where
/// the facts go.
#[derive(Debug)]
pub struct Phrases {
    /// Joins the last two items of a list ("a, b and c").
    pub and: &'static str,
    /// Separates list items.
    pub comma: &'static str,
    /// Ends a sentence.
    pub stop: &'static str,
    /// Separates a label from its value.
    pub colon: &'static str,
    /// "{x} with {y}": a dish and its ingredients.
    pub with: &'static str,
    /// "{x} in {y}": a dish and its time.
    pub in_time: &'static str,
    /// "Made with {x}."
    pub made_with: &'static str,
    /// "Ready in {x}."
    pub ready_in: &'static str,
    /// "Prep {x}" as a label.
    pub prep: &'static str,
    /// "{x} ingredients".
    pub ingredients: &'static str,
    /// "Serves" as a label.
    pub serves: &'static str,
    /// "Course" as a label.
    pub course: &'static str,
    /// "Cuisine" as a label.
    pub cuisine: &'static str,
    /// "{x} by {y}": a product and its brand, a work and its maker.
    pub by: &'static str,
    /// "Price" as a label.
    pub price_label: &'static str,
    /// "Material" as a label.
    pub material: &'static str,
    /// "Colour" as a label.
    pub color: &'static str,
    /// "Category" as a label.
    pub category: &'static str,
    /// "By {x}" for an author.
    pub written_by: &'static str,
    /// "Published" as a label.
    pub published: &'static str,
    /// "Topics" as a label.
    pub topics: &'static str,
    /// "Place" as a label.
    pub place: &'static str,
    /// "Venue" as a label.
    pub venue: &'static str,
    /// "Date" as a label.
    pub date_label: &'static str,
    /// "Line-up" as a label.
    pub line_up: &'static str,
    /// "{x} live in {y}": a performer and a city.
    pub live_in: &'static str,
    /// "Genre" as a label.
    pub genre: &'static str,
    /// "Photo of {x}" for alt text.
    pub photo_of: &'static str,
    /// "Close-up of {x}" for alt text of a tighter crop.
    pub close_up: &'static str,
    /// Hours and minutes: (hours unit, minutes unit, joined without spaces).
    pub time_units: (&'static str, &'static str, bool),
    /// The decimal separator of prices.
    pub decimal: char,
    /// Whether the currency sign follows the amount ("5,29 €").
    pub sign_after: bool,
    /// Month names, January first; empty for numeric dates (`2015年5月4日`).
    pub months: [&'static str; 12],
    /// A date from day, month name and year: `{d}`, `{m}`, `{y}`.
    pub date_pattern: &'static str,
}

impl Phrases {
    /// `template` with `{x}` (and `{y}`) filled in.
    pub fn fill(&self, template: &str, x: &str, y: &str) -> String {
        template.replace("{x}", x).replace("{y}", y)
    }

    /// "label: value." in this language.
    pub fn labelled(&self, label: &str, value: &str) -> String {
        format!("{label}{}{value}{}", self.colon, self.stop)
    }

    /// A list joined the way this language joins one.
    pub fn list(&self, items: &[String]) -> String {
        match items {
            [] => String::new(),
            [one] => one.clone(),
            [head @ .., last] => format!("{}{}{last}", head.join(self.comma), self.and),
        }
    }

    /// A duration in this language's units ("1 h 20 min", "1時間20分").
    pub fn minutes(&self, minutes: u32) -> String {
        let (hours_unit, minutes_unit, tight) = self.time_units;
        let space = if tight { "" } else { " " };
        match (minutes / 60, minutes % 60) {
            (0, m) => format!("{m}{space}{minutes_unit}"),
            (h, 0) => format!("{h}{space}{hours_unit}"),
            (h, m) => format!("{h}{space}{hours_unit}{space}{m}{space}{minutes_unit}"),
        }
    }

    /// A price as this language writes it: decimal mark, and the sign before or after.
    pub fn price(&self, amount: &str, currency: Option<&str>) -> String {
        let amount = amount.trim();
        let amount = match amount.parse::<f64>() {
            Ok(value) if value.fract() != 0.0 || amount.contains('.') => {
                format!("{value:.2}").replace('.', &self.decimal.to_string())
            }
            _ => amount.to_owned(),
        };
        let sign = match currency.map(str::to_ascii_uppercase).as_deref() {
            Some("USD") => Some("$".to_owned()),
            Some("EUR") => Some("€".to_owned()),
            Some("GBP") => Some("£".to_owned()),
            Some("JPY") => Some("¥".to_owned()),
            Some("CNY") => Some("¥".to_owned()),
            Some(code) if code.chars().count() <= 4 => Some(code.to_owned()),
            _ => None,
        };
        match sign {
            Some(sign) if self.sign_after || sign.chars().count() > 1 => {
                format!("{amount}\u{a0}{sign}")
            }
            Some(sign) => format!("{sign}{amount}"),
            None => amount,
        }
    }

    /// An ISO 8601 date (`2017-06-12`, with or without a time) as this language writes it.
    pub fn date(&self, iso: &str) -> Option<String> {
        let day_part = iso.get(..10)?;
        let mut parts = day_part.split('-');
        let year: u32 = parts.next()?.parse().ok()?;
        let month: usize = parts.next()?.parse().ok()?;
        let day: u32 = parts.next()?.parse().ok()?;
        if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
            return None;
        }
        let month_text = if self.months[0].is_empty() {
            month.to_string()
        } else {
            self.months[month - 1].to_owned()
        };
        Some(
            self.date_pattern
                .replace("{d}", &day.to_string())
                .replace("{m}", &month_text)
                .replace("{y}", &year.to_string()),
        )
    }
}

const NO_MONTHS: [&str; 12] = ["", "", "", "", "", "", "", "", "", "", "", ""];

static EN: Phrases = Phrases {
    and: " and ",
    comma: ", ",
    stop: ".",
    colon: ": ",
    with: "{x} with {y}",
    in_time: "{x} in {y}",
    made_with: "Made with {x}.",
    ready_in: "Ready in {x}.",
    prep: "Prep",
    ingredients: "{x} ingredients",
    serves: "Serves",
    course: "Course",
    cuisine: "Cuisine",
    by: "{x} by {y}",
    price_label: "Price",
    material: "Material",
    color: "Colour",
    category: "Category",
    written_by: "By {x}.",
    published: "Published",
    topics: "Topics",
    place: "Place",
    venue: "Venue",
    date_label: "Date",
    line_up: "Line-up",
    live_in: "{x} live in {y}",
    genre: "Genre",
    photo_of: "Photo of {x}",
    close_up: "Close-up of {x}",
    time_units: ("hr", "min", false),
    decimal: '.',
    sign_after: false,
    months: [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ],
    date_pattern: "{d} {m} {y}",
};

static FR: Phrases = Phrases {
    and: " et ",
    comma: ", ",
    stop: ".",
    colon: "\u{a0}: ",
    with: "{x} avec {y}",
    in_time: "{x} en {y}",
    made_with: "Avec {x}.",
    ready_in: "Prêt en {x}.",
    prep: "Préparation",
    ingredients: "{x} ingrédients",
    serves: "Pour",
    course: "Catégorie",
    cuisine: "Cuisine",
    by: "{x} de {y}",
    price_label: "Prix",
    material: "Matière",
    color: "Couleur",
    category: "Catégorie",
    written_by: "Par {x}.",
    published: "Publié le",
    topics: "Thèmes",
    place: "Lieu",
    venue: "Salle",
    date_label: "Date",
    line_up: "À l'affiche",
    live_in: "{x} en concert à {y}",
    genre: "Genre",
    photo_of: "Photo de {x}",
    close_up: "Gros plan sur {x}",
    time_units: ("h", "min", false),
    decimal: ',',
    sign_after: true,
    months: [
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    ],
    date_pattern: "{d} {m} {y}",
};

static DE: Phrases = Phrases {
    and: " und ",
    comma: ", ",
    stop: ".",
    colon: ": ",
    with: "{x} mit {y}",
    in_time: "{x} in {y}",
    made_with: "Mit {x}.",
    ready_in: "Fertig in {x}.",
    prep: "Zubereitung",
    ingredients: "{x} Zutaten",
    serves: "Portionen",
    course: "Kategorie",
    cuisine: "Küche",
    by: "{x} von {y}",
    price_label: "Preis",
    material: "Material",
    color: "Farbe",
    category: "Kategorie",
    written_by: "Von {x}.",
    published: "Veröffentlicht am",
    topics: "Themen",
    place: "Ort",
    venue: "Ort",
    date_label: "Datum",
    line_up: "Mit",
    live_in: "{x} live in {y}",
    genre: "Genre",
    photo_of: "Foto: {x}",
    close_up: "Nahaufnahme: {x}",
    time_units: ("Std.", "Min.", false),
    decimal: ',',
    sign_after: true,
    months: [
        "Januar",
        "Februar",
        "März",
        "April",
        "Mai",
        "Juni",
        "Juli",
        "August",
        "September",
        "Oktober",
        "November",
        "Dezember",
    ],
    date_pattern: "{d}. {m} {y}",
};

static ES: Phrases = Phrases {
    and: " y ",
    comma: ", ",
    stop: ".",
    colon: ": ",
    with: "{x} con {y}",
    in_time: "{x} en {y}",
    made_with: "Con {x}.",
    ready_in: "Listo en {x}.",
    prep: "Preparación",
    ingredients: "{x} ingredientes",
    serves: "Raciones",
    course: "Categoría",
    cuisine: "Cocina",
    by: "{x} de {y}",
    price_label: "Precio",
    material: "Material",
    color: "Color",
    category: "Categoría",
    written_by: "Por {x}.",
    published: "Publicado el",
    topics: "Temas",
    place: "Lugar",
    venue: "Sala",
    date_label: "Fecha",
    line_up: "Cartel",
    live_in: "{x} en directo en {y}",
    genre: "Género",
    photo_of: "Foto de {x}",
    close_up: "Primer plano de {x}",
    time_units: ("h", "min", false),
    decimal: ',',
    sign_after: true,
    months: [
        "enero",
        "febrero",
        "marzo",
        "abril",
        "mayo",
        "junio",
        "julio",
        "agosto",
        "septiembre",
        "octubre",
        "noviembre",
        "diciembre",
    ],
    date_pattern: "{d} de {m} de {y}",
};

static IT: Phrases = Phrases {
    and: " e ",
    comma: ", ",
    stop: ".",
    colon: ": ",
    with: "{x} con {y}",
    in_time: "{x} in {y}",
    made_with: "Con {x}.",
    ready_in: "Pronto in {x}.",
    prep: "Preparazione",
    ingredients: "{x} ingredienti",
    serves: "Porzioni",
    course: "Portata",
    cuisine: "Cucina",
    by: "{x} di {y}",
    price_label: "Prezzo",
    material: "Materiale",
    color: "Colore",
    category: "Categoria",
    written_by: "Di {x}.",
    published: "Pubblicato il",
    topics: "Temi",
    place: "Luogo",
    venue: "Locale",
    date_label: "Data",
    line_up: "In programma",
    live_in: "{x} dal vivo a {y}",
    genre: "Genere",
    photo_of: "Foto di {x}",
    close_up: "Primo piano di {x}",
    time_units: ("h", "min", false),
    decimal: ',',
    sign_after: true,
    months: [
        "gennaio",
        "febbraio",
        "marzo",
        "aprile",
        "maggio",
        "giugno",
        "luglio",
        "agosto",
        "settembre",
        "ottobre",
        "novembre",
        "dicembre",
    ],
    date_pattern: "{d} {m} {y}",
};

static PT: Phrases = Phrases {
    and: " e ",
    comma: ", ",
    stop: ".",
    colon: ": ",
    with: "{x} com {y}",
    in_time: "{x} em {y}",
    made_with: "Com {x}.",
    ready_in: "Pronto em {x}.",
    prep: "Preparo",
    ingredients: "{x} ingredientes",
    serves: "Rendimento",
    course: "Categoria",
    cuisine: "Cozinha",
    by: "{x} da {y}",
    price_label: "Preço",
    material: "Material",
    color: "Cor",
    category: "Categoria",
    written_by: "Por {x}.",
    published: "Publicado em",
    topics: "Temas",
    place: "Local",
    venue: "Local",
    date_label: "Data",
    line_up: "Atrações",
    live_in: "{x} ao vivo em {y}",
    genre: "Gênero",
    photo_of: "Foto de {x}",
    close_up: "Detalhe de {x}",
    time_units: ("h", "min", false),
    decimal: ',',
    sign_after: false,
    months: [
        "janeiro",
        "fevereiro",
        "março",
        "abril",
        "maio",
        "junho",
        "julho",
        "agosto",
        "setembro",
        "outubro",
        "novembro",
        "dezembro",
    ],
    date_pattern: "{d} de {m} de {y}",
};

static NL: Phrases = Phrases {
    and: " en ",
    comma: ", ",
    stop: ".",
    colon: ": ",
    with: "{x} met {y}",
    in_time: "{x} in {y}",
    made_with: "Met {x}.",
    ready_in: "Klaar in {x}.",
    prep: "Bereiding",
    ingredients: "{x} ingrediënten",
    serves: "Personen",
    course: "Gang",
    cuisine: "Keuken",
    by: "{x} van {y}",
    price_label: "Prijs",
    material: "Materiaal",
    color: "Kleur",
    category: "Categorie",
    written_by: "Door {x}.",
    published: "Gepubliceerd op",
    topics: "Onderwerpen",
    place: "Plaats",
    venue: "Zaal",
    date_label: "Datum",
    line_up: "Line-up",
    live_in: "{x} live in {y}",
    genre: "Genre",
    photo_of: "Foto van {x}",
    close_up: "Close-up van {x}",
    time_units: ("uur", "min", false),
    decimal: ',',
    sign_after: false,
    months: [
        "januari",
        "februari",
        "maart",
        "april",
        "mei",
        "juni",
        "juli",
        "augustus",
        "september",
        "oktober",
        "november",
        "december",
    ],
    date_pattern: "{d} {m} {y}",
};

static JA: Phrases = Phrases {
    and: "、",
    comma: "、",
    stop: "。",
    colon: "：",
    with: "{y}で作る{x}",
    in_time: "{y}でできる{x}",
    made_with: "材料は{x}。",
    ready_in: "調理時間は{x}。",
    prep: "下ごしらえ",
    ingredients: "材料{x}品",
    serves: "分量",
    course: "カテゴリー",
    cuisine: "ジャンル",
    by: "{y}の{x}",
    price_label: "価格",
    material: "素材",
    color: "カラー",
    category: "カテゴリー",
    written_by: "文・{x}。",
    published: "公開日",
    topics: "テーマ",
    place: "場所",
    venue: "会場",
    date_label: "日程",
    line_up: "出演",
    live_in: "{x}の{y}公演",
    genre: "ジャンル",
    photo_of: "{x}の写真",
    close_up: "{x}のアップ",
    time_units: ("時間", "分", true),
    decimal: '.',
    sign_after: false,
    months: NO_MONTHS,
    date_pattern: "{y}年{m}月{d}日",
};

static ZH_HANS: Phrases = Phrases {
    and: "和",
    comma: "、",
    stop: "。",
    colon: "：",
    with: "{y}做的{x}",
    in_time: "{y}完成的{x}",
    made_with: "食材：{x}。",
    ready_in: "烹饪时间：{x}。",
    prep: "准备时间",
    ingredients: "{x}种食材",
    serves: "份量",
    course: "分类",
    cuisine: "菜系",
    by: "{y}的{x}",
    price_label: "价格",
    material: "材质",
    color: "颜色",
    category: "分类",
    written_by: "作者：{x}。",
    published: "发布日期",
    topics: "主题",
    place: "地点",
    venue: "场地",
    date_label: "日期",
    line_up: "演出",
    live_in: "{x}{y}演出",
    genre: "类型",
    photo_of: "{x}的照片",
    close_up: "{x}的特写",
    time_units: ("小时", "分钟", true),
    decimal: '.',
    sign_after: false,
    months: NO_MONTHS,
    date_pattern: "{y}年{m}月{d}日",
};

static ZH_HANT: Phrases = Phrases {
    and: "和",
    comma: "、",
    stop: "。",
    colon: "：",
    with: "{y}做的{x}",
    in_time: "{y}完成的{x}",
    made_with: "食材：{x}。",
    ready_in: "烹飪時間：{x}。",
    prep: "準備時間",
    ingredients: "{x}種食材",
    serves: "份量",
    course: "分類",
    cuisine: "菜系",
    by: "{y}的{x}",
    price_label: "價格",
    material: "材質",
    color: "顏色",
    category: "分類",
    written_by: "作者：{x}。",
    published: "發布日期",
    topics: "主題",
    place: "地點",
    venue: "場地",
    date_label: "日期",
    line_up: "演出",
    live_in: "{x}{y}演出",
    genre: "類型",
    photo_of: "{x}的照片",
    close_up: "{x}的特寫",
    time_units: ("小時", "分鐘", true),
    decimal: '.',
    sign_after: false,
    months: NO_MONTHS,
    date_pattern: "{y}年{m}月{d}日",
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_reduce_to_languages() {
        assert_eq!(
            Language::from_tag("pt-BR").map(|l| l.code),
            Some("pt".to_owned())
        );
        assert!(Language::from_tag("zh-TW").is_some_and(|l| l.traditional));
        assert_eq!(
            Language::from_tag("en_US").map(|l| l.code),
            Some("en".to_owned())
        );
        assert_eq!(Language::from_tag("1234"), None);
    }

    #[test]
    fn numbers_follow_the_language() {
        assert_eq!(FR.price("5.29", Some("EUR")), "5,29\u{a0}€");
        assert_eq!(EN.price("5.29", Some("GBP")), "£5.29");
        assert_eq!(DE.minutes(80), "1 Std. 20 Min.");
        assert_eq!(JA.minutes(15), "15分");
        assert_eq!(
            FR.date("2017-06-12T20:00:00+0100").as_deref(),
            Some("12 juin 2017")
        );
        assert_eq!(JA.date("2017-06-12").as_deref(), Some("2017年6月12日"));
        assert_eq!(EN.list(&["a".into(), "b".into(), "c".into()]), "a, b and c");
    }

    #[test]
    fn text_is_read_when_nothing_is_declared() {
        let meta = PageMetadata::from_text(
            Some("La ratatouille de grand-mère"),
            Some(
                "Une recette du soleil avec des aubergines, des courgettes et des poivrons, mijotés longuement dans l'huile d'olive jusqu'à ce que tout soit fondant.",
            ),
        );
        assert_eq!(detect_language(&meta, None).code, "fr");
    }
}
