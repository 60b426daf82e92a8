//! Titles without the site's decoration.
//!
//! Pages append (or prepend) their own name to titles: "Lemon tart | Bake Club", "Soup - Recipe -
//! Allrecipes", "Post @ A blog :: Host ::", "Book: Amazon.co.uk: Author: ISBN". The cut is made
//! only where the page itself says so: at the first separator whose next segment is a name the
//! site declares (or its host), and never when nothing of the title would remain.

/// Separators between a title and the site's name, longest first so that " :: " is not read
/// as ": ".
const SEPARATORS: [&str; 13] = [
    " :: ", " || ", " | ", " - ", " – ", " — ", " · ", " @ ", " » ", " / ", " ~ ", " : ", ": ",
];

/// Characters that decorate the ends of a title and mean nothing.
const DECORATION: &[char] = &['|', ':', '-', '–', '—', '·', '@', '»', '~', '/', '•'];

/// `title` without the segments that name the site (one of `site_names`, or the part from the
/// first of them to the end).
pub fn strip_site_decoration(title: &str, site_names: &[String]) -> String {
    let names: Vec<String> = site_names
        .iter()
        .map(|name| normalise(name))
        .filter(|name| !name.is_empty())
        .collect();
    let segments = split_segments(title);
    let matches = |segment: &str| {
        let segment = normalise(segment);
        !segment.is_empty() && names.iter().any(|name| same_site(&segment, name))
    };
    let mut kept: &str = title;
    // Cut at the first segment after the first that names the site.
    for (start, segment) in segments.iter().skip(1) {
        if matches(segment) {
            let head = title[..*start]
                .trim_end_matches(|c: char| c.is_whitespace() || DECORATION.contains(&c));
            if !head.trim().is_empty() {
                kept = head;
                break;
            }
        }
    }
    // A leading "Site | " goes too, when something follows it.
    if let (Some((_, first)), Some((second_start, _))) = (segments.first(), segments.get(1))
        && matches(first)
        && kept.len() > *second_start
    {
        kept = &kept[*second_start..];
    }
    let trimmed = kept.trim_matches(|c: char| c.is_whitespace() || DECORATION.contains(&c));
    if trimmed.is_empty() {
        title.trim().to_owned()
    } else {
        trimmed.to_owned()
    }
}

/// The title's segments with the byte offset where each starts.
fn split_segments(title: &str) -> Vec<(usize, &str)> {
    let mut cuts: Vec<(usize, usize)> = Vec::new();
    let mut index = 0;
    while index < title.len() {
        let rest = &title[index..];
        if let Some(separator) = SEPARATORS.iter().find(|s| rest.starts_with(**s)) {
            cuts.push((index, separator.len()));
            index += separator.len();
        } else {
            index += rest.chars().next().map_or(1, char::len_utf8);
        }
    }
    let mut segments = Vec::new();
    let mut start = 0;
    for (at, length) in cuts {
        segments.push((start, &title[start..at]));
        start = at + length;
    }
    segments.push((start, &title[start..]));
    segments
}

/// Letters and digits only, lowercased: "Amazon.co.uk" and "amazon co uk" are one name.
fn normalise(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

fn same_site(segment: &str, name: &str) -> bool {
    let long = |text: &str| text.chars().count() >= 4;
    segment == name
        || (long(name) && segment.contains(name))
        || (long(segment) && name.contains(segment))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strip(title: &str, names: &[&str]) -> String {
        let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        strip_site_decoration(title, &names)
    }

    #[test]
    fn suffixes_and_prefixes_that_name_the_site_go() {
        assert_eq!(
            strip("Lemon tart | Bake Club", &["Bake Club"]),
            "Lemon tart"
        );
        assert_eq!(
            strip("Bake Club | Lemon tart", &["Bake Club"]),
            "Lemon tart"
        );
        assert_eq!(
            strip("Soup recipe | Good Food", &["bbcgoodfood.com"]),
            "Soup recipe"
        );
        assert_eq!(
            strip(
                "新竹尖石_美樹營地 (2) @ 史蒂文的家_藍天 :: 痞客邦 PIXNET ::",
                &["史蒂文的家_藍天"]
            ),
            "新竹尖石_美樹營地 (2)"
        );
        assert_eq!(
            strip(
                "Veg: 100 recipes for roots: Amazon.co.uk: Doe, Jan: 978",
                &["amazon.co.uk"]
            ),
            "Veg: 100 recipes for roots"
        );
    }

    #[test]
    fn other_titles_stay() {
        assert_eq!(
            strip("Lemon tart | Other", &["Bake Club"]),
            "Lemon tart | Other"
        );
        assert_eq!(strip("Bake Club", &["Bake Club"]), "Bake Club");
        assert_eq!(strip("Anything", &[]), "Anything");
    }
}
