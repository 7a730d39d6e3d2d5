//! Sitemaps (sitemaps.org protocol): `<urlset>` pages and `<sitemapindex>` children, plain or gzip.

use std::io::Read;

use crate::content::html::{tokenize, Token};

/// Largest sitemap accepted after decompression (the protocol's own limit is 50 MB, 50,000 URLs).
pub const MAX_SITEMAP_BYTES: usize = 50 * 1024 * 1024;
/// Sitemaps read per crawl, index children included: a bound on work for hostile indexes.
pub const MAX_SITEMAPS: usize = 50;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SitemapEntry {
    pub loc: String,
    pub lastmod: Option<String>,
}

/// What a sitemap lists.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sitemap {
    /// Pages (`<urlset>`).
    pub pages: Vec<SitemapEntry>,
    /// Further sitemaps (`<sitemapindex>`).
    pub sitemaps: Vec<SitemapEntry>,
}

/// Decompresses a gzip body (detected by its magic bytes, whatever the headers say) within the
/// limit.
pub fn decode_body(body: &[u8]) -> Result<Vec<u8>, String> {
    if !body.starts_with(&[0x1f, 0x8b]) {
        return Ok(body.to_vec());
    }
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(body)
        .take(MAX_SITEMAP_BYTES as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| format!("gzip: {e}"))?;
    if out.len() > MAX_SITEMAP_BYTES {
        return Err(format!("sitemap larger than {MAX_SITEMAP_BYTES} bytes when decompressed"));
    }
    Ok(out)
}

/// Parses a sitemap or sitemap index. Element names are matched without namespace prefixes.
pub fn parse(xml: &str) -> Sitemap {
    let mut sitemap = Sitemap::default();
    let mut parent: Option<&'static str> = None;
    let mut field: Option<&'static str> = None;
    let (mut loc, mut lastmod) = (String::new(), String::new());
    for token in tokenize(xml) {
        match token {
            Token::Start { name, .. } => match local_name(&name) {
                "url" => parent = Some("url"),
                "sitemap" => parent = Some("sitemap"),
                "loc" if parent.is_some() => field = Some("loc"),
                "lastmod" if parent.is_some() => field = Some("lastmod"),
                _ => {}
            },
            Token::Text(text) => match field {
                Some("loc") => loc.push_str(&text),
                Some("lastmod") => lastmod.push_str(&text),
                _ => {}
            },
            Token::End { name } => match local_name(&name) {
                "loc" | "lastmod" => field = None,
                which @ ("url" | "sitemap") => {
                    let entry = SitemapEntry {
                        loc: loc.trim().to_string(),
                        lastmod: Some(lastmod.trim().to_string()).filter(|l| !l.is_empty()),
                    };
                    if !entry.loc.is_empty() {
                        if which == "url" {
                            sitemap.pages.push(entry)
                        } else {
                            sitemap.sitemaps.push(entry)
                        }
                    }
                    loc.clear();
                    lastmod.clear();
                    parent = None;
                }
                _ => {}
            },
            Token::RawText(_) => {}
        }
    }
    sitemap
}

fn local_name(name: &str) -> &str {
    name.rsplit(':').next().unwrap_or(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn urlset_with_lastmod_and_entities() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <url><loc>https://d.test/a.html</loc><lastmod>2026-11-01</lastmod></url>
  <url><loc> https://d.test/b.html?x=1&amp;y=2 </loc><changefreq>daily</changefreq></url>
  <url><lastmod>2026-01-01</lastmod></url>
</urlset>"#;
        let sitemap = parse(xml);
        assert_eq!(
            sitemap.pages,
            vec![
                SitemapEntry {
                    loc: "https://d.test/a.html".into(),
                    lastmod: Some("2026-11-01".into())
                },
                SitemapEntry { loc: "https://d.test/b.html?x=1&y=2".into(), lastmod: None },
            ]
        );
        assert!(sitemap.sitemaps.is_empty());
    }

    #[test]
    fn sitemap_index_and_prefixed_names() {
        let xml = r#"<sm:sitemapindex xmlns:sm="http://www.sitemaps.org/schemas/sitemap/0.9">
            <sm:sitemap><sm:loc>https://d.test/sitemap-1.xml.gz</sm:loc></sm:sitemap></sm:sitemapindex>"#;
        let sitemap = parse(xml);
        assert_eq!(
            sitemap.sitemaps,
            vec![SitemapEntry { loc: "https://d.test/sitemap-1.xml.gz".into(), lastmod: None }]
        );
        assert!(sitemap.pages.is_empty());
    }

    #[test]
    fn gzip_is_detected_and_bounded() {
        let xml = "<urlset><url><loc>https://d.test/z.html</loc></url></urlset>";
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(xml.as_bytes()).unwrap();
        let gz = encoder.finish().unwrap();
        assert_eq!(decode_body(&gz).unwrap(), xml.as_bytes());
        assert_eq!(
            decode_body(xml.as_bytes()).unwrap(),
            xml.as_bytes(),
            "plain bodies pass through"
        );
        assert!(decode_body(&gz[..gz.len() / 2]).is_err(), "a truncated gzip is an error");
    }
}
