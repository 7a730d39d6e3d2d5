//! What a webhook delivery asks Docent to do, for each kind of sender.

use serde::Deserialize;

/// How a GitHub repository's files map to the pages of the published docs site, from
/// `DOCENT_GITHUB_DOCS_<SOURCE>`, e.g. `{"base_url": "https://docs.example.com/", "path":
/// "docs/"}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GithubDocs {
    /// Where the docs are published; a file's path below `path` is appended to it.
    pub base_url: String,
    /// The repository directory holding the docs sources (empty: the whole repository).
    #[serde(default)]
    pub path: String,
    /// The extension of published pages replacing `.md`, `.markdown`, `.rst` and `.txt`.
    #[serde(default = "default_page_extension")]
    pub page_extension: String,
}

fn default_page_extension() -> String {
    ".html".into()
}

/// Pages to recrawl and pages to remove.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WebhookActions {
    pub recrawl: Vec<String>,
    pub deleted: Vec<String>,
}

impl GithubDocs {
    /// The published URL of repository file `file`, if it is a docs page.
    pub fn page_url(&self, file: &str) -> Option<String> {
        let relative = file.strip_prefix(self.path.trim_start_matches('/'))?;
        let (stem, extension) = relative.rsplit_once('.')?;
        let page = match extension.to_ascii_lowercase().as_str() {
            "md" | "markdown" | "rst" | "txt" => format!("{stem}{}", self.page_extension),
            "html" | "htm" => relative.to_string(),
            _ => return None,
        };
        let base = if self.base_url.ends_with('/') {
            self.base_url.clone()
        } else {
            format!("{}/", self.base_url)
        };
        Some(format!("{base}{}", page.trim_start_matches('/')))
    }

    /// The actions of a `push` event: changed docs pages are recrawled, removed ones deleted.
    pub fn push_actions(&self, payload: &serde_json::Value) -> WebhookActions {
        let mut actions = WebhookActions::default();
        let files = |commit: &serde_json::Value, key: &str| -> Vec<String> {
            commit[key]
                .as_array()
                .map(|a| a.iter().filter_map(|f| f.as_str().map(str::to_string)).collect())
                .unwrap_or_default()
        };
        for commit in payload["commits"].as_array().into_iter().flatten() {
            for file in files(commit, "added").into_iter().chain(files(commit, "modified")) {
                if let Some(url) = self.page_url(&file) {
                    actions.deleted.retain(|u| *u != url);
                    if !actions.recrawl.contains(&url) {
                        actions.recrawl.push(url);
                    }
                }
            }
            for file in files(commit, "removed") {
                if let Some(url) = self.page_url(&file) {
                    actions.recrawl.retain(|u| *u != url);
                    if !actions.deleted.contains(&url) {
                        actions.deleted.push(url);
                    }
                }
            }
        }
        actions
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn docs() -> GithubDocs {
        GithubDocs {
            base_url: "https://docs.example.com".into(),
            path: "docs/".into(),
            page_extension: ".html".into(),
        }
    }

    #[test]
    fn files_map_to_published_pages() {
        assert_eq!(
            docs().page_url("docs/guide/install.md").as_deref(),
            Some("https://docs.example.com/guide/install.html")
        );
        assert_eq!(
            docs().page_url("docs/faq.html").as_deref(),
            Some("https://docs.example.com/faq.html")
        );
        assert_eq!(docs().page_url("src/main.rs"), None);
        assert_eq!(docs().page_url("docs/logo.png"), None);
    }

    #[test]
    fn push_events_in_commit_order() {
        let payload = serde_json::json!({"commits": [
            {"added": ["docs/new.md"], "modified": ["docs/a.md", "README.md"], "removed": ["docs/old.md"]},
            {"added": [], "modified": ["docs/a.md"], "removed": ["docs/new.md"]},
        ]});
        let actions = docs().push_actions(&payload);
        assert_eq!(actions.recrawl, vec!["https://docs.example.com/a.html"]);
        assert_eq!(
            actions.deleted,
            vec!["https://docs.example.com/old.html", "https://docs.example.com/new.html"]
        );
    }
}
