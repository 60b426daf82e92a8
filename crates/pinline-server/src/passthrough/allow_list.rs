//! Which Pinterest operations the passthrough forwards: those of the organic rate-limit
//! categories of Pinterest's API description (`org_read` and `org_analytics` for keys with
//! `pinterest:read`, `org_write` for keys with `pinterest:write`), matched by method and path
//! template. Everything else (ads, catalogs, billing, the OAuth endpoints) is refused before
//! Pinterest is called.
//!
//! A path matches a template segment by segment: a literal segment must be equal, a parameter
//! must look like what it names (digits for ids, a plain name for a username). Nothing else
//! gets through, so no `..`, no empty segment and no escaped slash ever reaches the upstream URL.

use axum::http::Method;
use pinline_pinterest::facts::{RateLimitCategory, is_pinterest_id};

use RateLimitCategory::{OrgAnalytics, OrgRead, OrgWrite};

/// One forwarded operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    /// The spec's `operationId`.
    pub operation_id: &'static str,
    pub method: &'static str,
    /// The path template below `/v5`, as in the spec.
    pub template: &'static str,
    pub category: RateLimitCategory,
}

macro_rules! routes {
    ($($method:literal $template:literal $category:ident $id:literal;)*) => {
        /// Every operation the passthrough forwards.
        pub const ROUTES: &[Route] = &[$(Route {
            operation_id: $id,
            method: $method,
            template: $template,
            category: $category,
        }),*];
    };
}

routes! {
    "GET" "/boards" OrgRead "boards/list";
    "POST" "/boards" OrgWrite "boards/create";
    "GET" "/boards/{board_id}" OrgRead "boards/get";
    "PATCH" "/boards/{board_id}" OrgWrite "boards/update";
    "DELETE" "/boards/{board_id}" OrgWrite "boards/delete";
    "GET" "/boards/{board_id}/pins" OrgRead "boards/list_pins";
    "GET" "/boards/{board_id}/sections" OrgRead "board_sections/list";
    "POST" "/boards/{board_id}/sections" OrgWrite "board_sections/create";
    "PATCH" "/boards/{board_id}/sections/{section_id}" OrgWrite "board_sections/update";
    "DELETE" "/boards/{board_id}/sections/{section_id}" OrgWrite "board_sections/delete";
    "GET" "/boards/{board_id}/sections/{section_id}/pins" OrgRead "board_sections/list_pins";
    "GET" "/media" OrgRead "media/list";
    "POST" "/media" OrgWrite "media/create";
    "GET" "/media/{media_id}" OrgRead "media/get";
    "GET" "/pins" OrgRead "pins/list";
    "POST" "/pins" OrgWrite "pins/create";
    "GET" "/pins/analytics" OrgAnalytics "multi_pins/analytics";
    "GET" "/pins/{pin_id}" OrgRead "pins/get";
    "PATCH" "/pins/{pin_id}" OrgWrite "pins/update";
    "DELETE" "/pins/{pin_id}" OrgWrite "pins/delete";
    "GET" "/pins/{pin_id}/analytics" OrgAnalytics "pins/analytics";
    "POST" "/pins/{pin_id}/save" OrgWrite "pins/save";
    "GET" "/search/boards" OrgRead "search_user_boards/get";
    "GET" "/search/pins" OrgRead "search_user_pins/list";
    "GET" "/search/partner/pins" OrgRead "search_partner_pins";
    "GET" "/user_account" OrgRead "user_account/get";
    "GET" "/user_account/analytics" OrgAnalytics "user_account/analytics";
    "GET" "/user_account/analytics/top_pins" OrgAnalytics "user_account/analytics/top_pins";
    "GET" "/user_account/analytics/top_video_pins" OrgAnalytics "user_account/analytics/top_video_pins";
    "GET" "/user_account/businesses" OrgRead "linked_business_accounts/get";
    "GET" "/user_account/following" OrgRead "user_following/get";
    "GET" "/user_account/following/boards" OrgRead "boards_user_follows/list";
    "POST" "/user_account/following/{username}" OrgWrite "follow_user/update";
    "GET" "/user_account/websites" OrgRead "user_websites/get";
    "POST" "/user_account/websites" OrgWrite "verify_website/update";
    "DELETE" "/user_account/websites" OrgWrite "unverify_website/delete";
    "GET" "/user_account/websites/verification" OrgRead "website_verification/get";
    "GET" "/users/{username}/interests/follow" OrgRead "user_account/followed_interests";
}

/// Why a path is not forwarded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotAllowed {
    /// `/oauth/…`: tokens are pinline's business alone.
    OAuth,
    /// No forwarded operation has this path.
    Path,
    /// The path is forwarded, but not with this method.
    Method,
}

/// The operation `method` on `path` (below `/v5`, starting with `/`) is, when it is forwarded.
pub fn find(method: &Method, path: &str) -> Result<Route, NotAllowed> {
    let trimmed = path.trim_start_matches('/');
    if trimmed == "oauth" || trimmed.starts_with("oauth/") {
        return Err(NotAllowed::OAuth);
    }
    let segments: Vec<&str> = path.split('/').skip(1).collect();
    let mut path_known = false;
    for route in ROUTES {
        if !matches_template(route.template, &segments) {
            continue;
        }
        path_known = true;
        if route.method == method.as_str() {
            return Ok(*route);
        }
    }
    Err(if path_known {
        NotAllowed::Method
    } else {
        NotAllowed::Path
    })
}

fn matches_template(template: &str, segments: &[&str]) -> bool {
    let parts: Vec<&str> = template.split('/').skip(1).collect();
    parts.len() == segments.len()
        && parts
            .iter()
            .zip(segments)
            .all(|(part, segment)| match *part {
                "{username}" => is_username(segment),
                part if part.starts_with('{') => is_pinterest_id(segment),
                part => part == *segment,
            })
}

/// A Pinterest username: letters, digits and underscores, at most 100 of them.
fn is_username(segment: &str) -> bool {
    !segment.is_empty()
        && segment.len() <= 100
        && segment
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_match_their_templates_and_nothing_else() {
        let get = Method::GET;
        let found = find(&get, "/pins/12345").expect("a pin");
        assert_eq!(
            (found.template, found.category),
            ("/pins/{pin_id}", OrgRead)
        );
        assert_eq!(
            find(&Method::POST, "/pins").map(|r| r.category),
            Ok(OrgWrite)
        );
        assert_eq!(
            find(&get, "/pins/analytics").map(|r| r.template),
            Ok("/pins/analytics")
        );
        assert_eq!(find(&get, "/oauth/token"), Err(NotAllowed::OAuth));
        assert_eq!(
            find(&Method::POST, "/oauth/token/revoke"),
            Err(NotAllowed::OAuth)
        );
        assert_eq!(find(&get, "/ad_accounts"), Err(NotAllowed::Path));
        assert_eq!(
            find(&get, "/pins/12/../../ad_accounts"),
            Err(NotAllowed::Path)
        );
        assert_eq!(find(&get, "/pins/abc"), Err(NotAllowed::Path));
        assert_eq!(find(&get, "/pins//"), Err(NotAllowed::Path));
        assert_eq!(find(&get, "/pins/1%2F2"), Err(NotAllowed::Path));
        assert_eq!(find(&Method::PUT, "/pins/12"), Err(NotAllowed::Method));
        assert_eq!(
            find(&get, "/users/some_name/interests/follow").map(|r| r.category),
            Ok(OrgRead)
        );
        assert_eq!(
            find(&get, "/users/a.b/interests/follow"),
            Err(NotAllowed::Path)
        );
    }

    #[test]
    fn every_route_is_an_organic_operation_of_the_spec() {
        let spec = pinline_spec::Spec::shared().expect("Pinterest's API description");
        for route in ROUTES {
            let operation = spec
                .operation(route.operation_id)
                .unwrap_or_else(|| panic!("{} is not in the spec", route.operation_id));
            assert_eq!(operation.method, route.method, "{route:?}");
            assert_eq!(operation.path, route.template, "{route:?}");
            assert_eq!(
                operation.rate_limit_category.as_deref(),
                Some(route.category.as_str()),
                "{route:?}"
            );
        }
    }
}
