//! The parts of a Spin manifest (version 2) the harness acts on: components with their routes,
//! stores, databases, outbound hosts and variables; application variables; cron triggers.

use std::collections::HashMap;

/// Spin routes requests to this host back into the same application.
pub const SELF_HOST: &str = "self.alt";

#[derive(Debug, Clone)]
pub struct ComponentSpec {
    pub id: String,
    pub source: String,
    pub key_value_stores: Vec<String>,
    pub sqlite_databases: Vec<String>,
    pub allowed_outbound_hosts: Vec<HostPattern>,
    /// Models the component may use through Spin's LLM interface.
    pub ai_models: Vec<String>,
    /// Component variable → template over application variables (`"{{ name }}"`).
    pub variables: HashMap<String, String>,
}

#[derive(Debug, Clone)]
pub struct CronTrigger {
    pub component: String,
    pub cron_expression: String,
}

#[derive(Debug, Clone)]
struct Variable {
    default: Option<String>,
    required: bool,
}

#[derive(Debug, Clone)]
pub struct Manifest {
    pub components: Vec<ComponentSpec>,
    /// (route, component id) of every HTTP trigger.
    pub routes: Vec<(String, String)>,
    pub crons: Vec<CronTrigger>,
    variables: HashMap<String, Variable>,
}

/// One `allowed_outbound_hosts` entry: `scheme://host[:port]`, each part possibly `*`. An entry may
/// use application variables (`"postgres://{{ docent_database_host }}"`); [`HostPattern::resolve`]
/// fills them in when the application is loaded, as Spin does.
#[derive(Debug, Clone, PartialEq)]
pub struct HostPattern {
    scheme: String,
    host: String,
    port: Option<String>,
    entry: String,
}

impl HostPattern {
    pub fn parse(entry: &str) -> Result<HostPattern, String> {
        let (scheme, rest) = entry
            .split_once("://")
            .ok_or_else(|| format!("allowed_outbound_hosts entry {entry:?} has no scheme"))?;
        let rest = rest.trim_end_matches('/');
        let (host, port) = match rest.rsplit_once(':') {
            Some((host, port)) => (host, Some(port.to_string())),
            None => (rest, None),
        };
        Ok(HostPattern {
            scheme: scheme.to_string(),
            host: host.to_string(),
            port,
            entry: entry.to_string(),
        })
    }

    /// The entry with its variables filled in from the application's `values`.
    pub fn resolve(&self, values: &HashMap<String, String>) -> Result<HostPattern, String> {
        HostPattern::parse(
            &fill_template(&self.entry, values)
                .map_err(|e| format!("allowed_outbound_hosts: {e}"))?,
        )
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    /// Whether a request to `uri` may go out. A pattern without a port allows the scheme's default.
    pub fn allows(&self, uri: &http::Uri) -> bool {
        let (Some(scheme), Some(host)) = (uri.scheme_str(), uri.host()) else { return false };
        let default_port = match scheme {
            "https" => 443,
            "postgres" => 5432,
            _ => 80,
        };
        let port = uri.port_u16().unwrap_or(default_port).to_string();
        let scheme_ok = self.scheme == "*" || self.scheme == scheme;
        let host_ok = self.host == "*" || self.host.eq_ignore_ascii_case(host);
        let port_ok = match &self.port {
            Some(p) => p == "*" || *p == port,
            None => port == default_port.to_string(),
        };
        scheme_ok && host_ok && port_ok
    }
}

fn strings(table: &toml::Value, key: &str) -> Vec<String> {
    table
        .get(key)
        .and_then(|v| v.as_array())
        .map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

impl Manifest {
    pub fn parse(text: &str) -> Result<Manifest, String> {
        let doc: toml::Value = toml::from_str(text).map_err(|e| format!("spin.toml: {e}"))?;
        if doc.get("spin_manifest_version").and_then(|v| v.as_integer()) != Some(2) {
            return Err("spin.toml: spin_manifest_version must be 2".into());
        }
        let mut variables = HashMap::new();
        for (name, spec) in doc.get("variables").and_then(|v| v.as_table()).into_iter().flatten() {
            variables.insert(
                name.clone(),
                Variable {
                    default: spec.get("default").and_then(|v| v.as_str()).map(str::to_string),
                    required: spec.get("required").and_then(|v| v.as_bool()).unwrap_or(false),
                },
            );
        }
        let mut components = Vec::new();
        for (id, spec) in doc.get("component").and_then(|v| v.as_table()).into_iter().flatten() {
            let allowed = strings(spec, "allowed_outbound_hosts")
                .iter()
                .map(|e| HostPattern::parse(e))
                .collect::<Result<Vec<_>, _>>()?;
            let component_variables = spec
                .get("variables")
                .and_then(|v| v.as_table())
                .map(|t| {
                    t.iter()
                        .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string())))
                        .collect()
                })
                .unwrap_or_default();
            components.push(ComponentSpec {
                id: id.clone(),
                source: spec.get("source").and_then(|v| v.as_str()).unwrap_or_default().to_string(),
                key_value_stores: strings(spec, "key_value_stores"),
                sqlite_databases: strings(spec, "sqlite_databases"),
                allowed_outbound_hosts: allowed,
                ai_models: strings(spec, "ai_models"),
                variables: component_variables,
            });
        }
        let trigger = doc.get("trigger");
        let mut routes = Vec::new();
        for entry in
            trigger.and_then(|t| t.get("http")).and_then(|v| v.as_array()).into_iter().flatten()
        {
            let route = entry
                .get("route")
                .and_then(|v| v.as_str())
                .ok_or("spin.toml: an http trigger without a route")?;
            let component = entry
                .get("component")
                .and_then(|v| v.as_str())
                .ok_or("spin.toml: an http trigger without a component")?;
            if !components.iter().any(|c| c.id == component) {
                return Err(format!(
                    "spin.toml: route {route} names an unknown component {component}"
                ));
            }
            routes.push((route.to_string(), component.to_string()));
        }
        let mut crons = Vec::new();
        for entry in
            trigger.and_then(|t| t.get("cron")).and_then(|v| v.as_array()).into_iter().flatten()
        {
            crons.push(CronTrigger {
                component: entry
                    .get("component")
                    .and_then(|v| v.as_str())
                    .ok_or("spin.toml: a cron trigger without a component")?
                    .to_string(),
                cron_expression: entry
                    .get("cron_expression")
                    .and_then(|v| v.as_str())
                    .ok_or("spin.toml: a cron trigger without cron_expression")?
                    .to_string(),
            });
        }
        Ok(Manifest { components, routes, crons, variables })
    }

    /// Declares an application variable and maps it into `components` under the same name, as a
    /// deployment adds e.g. `docent_webhook_secret_<source>` to spin.toml.
    pub fn declare_variable(&mut self, name: &str, default: &str, components: &[&str]) {
        self.variables.insert(
            name.to_string(),
            Variable { default: Some(default.to_string()), required: false },
        );
        for spec in self.components.iter_mut().filter(|c| components.contains(&c.id.as_str())) {
            spec.variables.insert(name.to_string(), format!("{{{{ {name} }}}}"));
        }
    }

    /// Lets `components` use `model` through Spin's LLM interface, as a deployment that configures
    /// `spin-llm` adds it to their `ai_models`.
    pub fn allow_ai_model(&mut self, model: &str, components: &[&str]) {
        for spec in self.components.iter_mut().filter(|c| components.contains(&c.id.as_str())) {
            spec.ai_models.push(model.to_string());
        }
    }

    /// Spin's routing: an exact route beats a wildcard (`/prefix/...`), a longer prefix beats a
    /// shorter.
    pub fn route(&self, path: &str) -> Option<&str> {
        let mut best: Option<((u8, usize), &str)> = None;
        for (route, component) in &self.routes {
            let score = if let Some(prefix) = route.strip_suffix("/...") {
                let matched = path == prefix
                    || path.strip_prefix(prefix).is_some_and(|rest| rest.starts_with('/'))
                    || prefix.is_empty();
                matched.then_some((1, prefix.len()))
            } else {
                (route == path).then_some((2, route.len()))
            };
            if let Some(score) = score {
                if best.is_none_or(|(b, _)| score > b) {
                    best = Some((score, component));
                }
            }
        }
        best.map(|(_, c)| c)
    }

    /// Application variables: defaults, overridden by `overrides`; a required one must be given.
    pub fn resolve_variables(
        &self, overrides: &[(&str, &str)],
    ) -> Result<HashMap<String, String>, String> {
        let mut values = HashMap::new();
        for (name, variable) in &self.variables {
            let value = overrides
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.to_string())
                .or_else(|| variable.default.clone());
            match value {
                Some(value) => {
                    values.insert(name.clone(), value);
                }
                None if variable.required => return Err(format!("variable {name} is required")),
                None => {}
            }
        }
        if let Some((name, _)) = overrides.iter().find(|(n, _)| !self.variables.contains_key(*n)) {
            return Err(format!("variable {name} is not declared in spin.toml [variables]"));
        }
        Ok(values)
    }

    /// A component's variables, its templates filled in from the application's.
    pub fn component_variables(
        &self, spec: &ComponentSpec, values: &HashMap<String, String>,
    ) -> Result<HashMap<String, String>, String> {
        let mut out = HashMap::new();
        for (name, template) in &spec.variables {
            out.insert(
                name.clone(),
                fill_template(template, values)
                    .map_err(|e| format!("component {}: {e}", spec.id))?,
            );
        }
        Ok(out)
    }
}

/// `template` with every `{{ variable }}` replaced by its value.
fn fill_template(template: &str, values: &HashMap<String, String>) -> Result<String, String> {
    let mut result = String::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        result.push_str(&rest[..start]);
        let end =
            rest[start..].find("}}").ok_or_else(|| format!("unclosed template {template:?}"))?
                + start;
        let variable = rest[start + 2..end].trim();
        match values.get(variable) {
            Some(value) => result.push_str(value),
            None => return Err(format!("variable {variable} has no value")),
        }
        rest = &rest[end + 2..];
    }
    result.push_str(rest);
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_prefer_exact_then_longest_prefix() {
        let manifest = Manifest {
            components: vec![],
            routes: vec![
                ("/...".into(), "chat".into()),
                ("/api/search".into(), "retrieve".into()),
                ("/api/crawls/...".into(), "crawl".into()),
            ],
            crons: vec![],
            variables: HashMap::new(),
        };
        assert_eq!(manifest.route("/api/search"), Some("retrieve"));
        assert_eq!(manifest.route("/api/search/x"), Some("chat"));
        assert_eq!(manifest.route("/api/crawls"), Some("crawl"));
        assert_eq!(manifest.route("/api/crawls/abc"), Some("crawl"));
        assert_eq!(manifest.route("/api/crawlsx"), Some("chat"));
        assert_eq!(manifest.route("/"), Some("chat"));
    }

    #[test]
    fn outbound_patterns_match_scheme_host_and_port() {
        let uri = |u: &str| u.parse::<http::Uri>().unwrap();
        let any = HostPattern::parse("*://*:*").unwrap();
        assert!(
            any.allows(&uri("http://127.0.0.1:9000/x")) && any.allows(&uri("https://example.com/"))
        );
        let selfish = HostPattern::parse("http://self.alt").unwrap();
        assert!(selfish.allows(&uri("http://self.alt/internal/drain")));
        assert!(!selfish.allows(&uri("http://self.alt:8080/")), "no port means the default port");
        assert!(!selfish.allows(&uri("https://self.alt/")));
        let https = HostPattern::parse("https://*:*").unwrap();
        assert!(!https.allows(&uri("http://127.0.0.1:9000/")));
        let database = HostPattern::parse("postgres://{{ host }}").unwrap();
        let values = HashMap::from([("host".to_string(), "db.internal:6432".to_string())]);
        let resolved = database.resolve(&values).unwrap();
        assert!(resolved.allows(&uri("postgres://db.internal:6432")));
        assert!(
            !resolved.allows(&uri("postgres://db.internal:5432"))
                && !resolved.allows(&uri("postgres://other:6432"))
        );
        assert!(
            HostPattern::parse("postgres://db.internal")
                .unwrap()
                .allows(&uri("postgres://db.internal:5432")),
            "Postgres's default port"
        );
        assert!(
            database.resolve(&HashMap::new()).is_err(),
            "an entry naming an unknown variable fails the load"
        );
    }
}
