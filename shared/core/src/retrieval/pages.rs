//! From ranked chunks to ranked pages. A search result is a page: its best section, with the other
//! sections that matched folded under it. Before pages are formed, each chunk's score is weighed by
//! what kind of page it is on ([`page_prior`]): tables of contents, indexes and source listings
//! repeat the words of many queries without answering any; and by how well its headings name
//! what was asked ([`heading_match`]): `ALTER USER` is the page headed "ALTER USER", not "ALTER
//! USER MAPPING".

use crate::domain::PageSignals;
use crate::retrieval::search::{SearchHit, SectionLink};

/// Chunks every ranking is asked for, whatever the number of results: fixed, so that the first
/// `k` results do not depend on `k` (and more than the most results a search returns, `MAX_K` 50,
/// so pages with several matching sections still fill a list).
pub const CANDIDATES: u32 = 100;

/// Above this share of link text a page points elsewhere more than it says anything itself.
const LINK_TEXT_FREE_PERCENT: f64 = 50.0;
/// Above this share of code a page is a listing; API references with examples stay well below.
const CODE_TEXT_FREE_PERCENT: f64 = 60.0;

/// The weight of a page's chunks in a ranking, from 1 (prose) down towards 0: the share of link
/// text beyond half, and of code beyond 60 %, each take their part, squared and cubed so that a
/// page just over the line loses little and a table of contents or a source listing loses most.
pub fn page_prior(signals: PageSignals) -> f64 {
    let excess = |percent: u8, free: f64| (f64::from(percent) - free).max(0.0) / 100.0;
    let links = 1.0 - excess(signals.link_list_percent, LINK_TEXT_FREE_PERCENT);
    let code = 1.0 - excess(signals.code_text_percent, CODE_TEXT_FREE_PERCENT);
    links.powi(2) * code.powi(3)
}

/// How much a chunk whose heading is exactly the query gains over one whose heading shares no word
/// with it (chosen on the evaluation's dev half, docs/BENCHMARKS.md).
const HEADING_MATCH_WEIGHT: f64 = 0.25;

/// How well a heading names the query, from 0 to 1: the share of the heading's words that are
/// query terms times the share of query terms in the heading, so 1 only when they are the same
/// words. `heading` is the chunk's heading path (`Page › Section`).
pub fn heading_match(terms: &[String], heading: &str) -> f64 {
    let words: std::collections::HashSet<String> = heading
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    if words.is_empty() || terms.is_empty() {
        return 0.0;
    }
    let shared = terms.iter().filter(|t| words.contains(t.as_str())).count() as f64;
    (shared / words.len() as f64) * (shared / terms.len() as f64)
}

/// Ranked chunks (best first) as ranked pages: each score weighed by [`page_prior`] and
/// [`heading_match`] with the query's `terms`, then one result per page (its best chunk), the
/// page's other matching sections in `more`, best first. Scores at or below 0 (a similarity can be
/// negative) are left as they are: weighing them down would lift them.
pub fn rank_pages(hits: Vec<SearchHit>, terms: &[String]) -> Vec<SearchHit> {
    let mut weighed: Vec<SearchHit> = hits
        .into_iter()
        .map(|mut hit| {
            if hit.score > 0.0 {
                let heading = 1.0 + HEADING_MATCH_WEIGHT * heading_match(terms, &hit.heading);
                hit.score *= page_prior(hit.page) * heading;
            }
            hit
        })
        .collect();
    // Stable: equal scores keep the ranking's order.
    weighed.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut pages: Vec<SearchHit> = Vec::new();
    for hit in weighed {
        let page = page_of(&hit.url);
        match pages.iter_mut().find(|p| page_of(&p.url) == page) {
            Some(best) => {
                let known = best.url == hit.url || best.more.iter().any(|m| m.url == hit.url);
                if !known {
                    best.more.push(SectionLink { url: hit.url, heading: hit.heading });
                }
            }
            None => pages.push(hit),
        }
    }
    pages
}

/// A result URL without its section fragment.
fn page_of(url: &str) -> &str {
    url.split_once('#').map_or(url, |(page, _)| page)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::retrieval::search::query_terms;

    #[test]
    fn a_heading_that_is_the_query_matches_whole_and_a_longer_one_less() {
        let terms = query_terms("ALTER USER");
        assert_eq!(heading_match(&terms, "ALTER USER"), 1.0);
        let longer = heading_match(&terms, "ALTER USER MAPPING");
        assert!((longer - 2.0 / 3.0).abs() < 1e-9, "{longer}");
        assert_eq!(heading_match(&terms, "CREATE TABLE"), 0.0);
        assert_eq!(heading_match(&terms, ""), 0.0);
        let identifier = query_terms("get_internal_type");
        assert_eq!(heading_match(&identifier, "Field › get_internal_type()"), 0.5);
    }

    #[test]
    fn the_page_headed_as_asked_rises_above_a_near_namesake() {
        let mut exact = hit("https://d/sql-alteruser", 9.5, 0, 0);
        exact.heading = "ALTER USER".into();
        let mut namesake = hit("https://d/sql-alterusermapping", 10.0, 0, 0);
        namesake.heading = "ALTER USER MAPPING".into();
        let pages = rank_pages(vec![namesake, exact], &query_terms("alter user"));
        assert_eq!(pages[0].url, "https://d/sql-alteruser");
    }

    fn hit(url: &str, score: f64, links: u8, code: u8) -> SearchHit {
        SearchHit {
            chunk_id: format!("{url}@{score}"),
            url: url.into(),
            title: String::new(),
            heading: format!("h {url}"),
            text: String::new(),
            score,
            page: PageSignals { link_list_percent: links, code_text_percent: code },
            more: Vec::new(),
        }
    }

    #[test]
    fn prose_keeps_its_weight_and_link_lists_and_listings_lose_most_of_theirs() {
        let prior = |links, code| {
            page_prior(PageSignals { link_list_percent: links, code_text_percent: code })
        };
        assert_eq!(prior(0, 0), 1.0);
        assert_eq!(prior(45, 35), 1.0, "a reference page with links and examples");
        assert!(prior(60, 0) > 0.8, "just over the line loses little: {}", prior(60, 0));
        assert!(prior(98, 0) < 0.3, "a table of contents: {}", prior(98, 0));
        assert!(prior(0, 98) < 0.25, "a source listing: {}", prior(0, 98));
        assert!(prior(100, 100) > 0.0);
    }

    #[test]
    fn one_result_per_page_with_its_other_sections_folded_under_it() {
        let pages = rank_pages(
            vec![
                hit("https://d/a#one", 9.0, 0, 0),
                hit("https://d/b", 8.0, 0, 0),
                hit("https://d/a#two", 7.0, 0, 0),
                hit("https://d/a#one", 6.0, 0, 0),
                hit("https://d/a", 5.0, 0, 0),
            ],
            &[],
        );
        let urls: Vec<&str> = pages.iter().map(|p| p.url.as_str()).collect();
        assert_eq!(urls, ["https://d/a#one", "https://d/b"]);
        let more: Vec<&str> = pages[0].more.iter().map(|m| m.url.as_str()).collect();
        assert_eq!(more, ["https://d/a#two", "https://d/a"], "each section once, best first");
        assert_eq!(pages[0].more[0].heading, "h https://d/a#two");
    }

    #[test]
    fn a_table_of_contents_falls_below_the_page_it_points_to() {
        let pages = rank_pages(
            vec![
                hit("https://d/contents", 10.0, 97, 0),
                hit("https://d/source/models", 9.5, 2, 95),
                hit("https://d/ref/models", 6.0, 20, 30),
                hit("https://d/old", -0.5, 97, 0),
            ],
            &[],
        );
        let urls: Vec<&str> = pages.iter().map(|p| p.url.as_str()).collect();
        assert_eq!(
            urls,
            [
                "https://d/ref/models",
                "https://d/contents",
                "https://d/source/models",
                "https://d/old"
            ]
        );
        assert_eq!(pages[3].score, -0.5, "a negative score is not lifted");
    }
}
