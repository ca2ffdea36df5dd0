//! `claw config validate`: every problem in claw.json, each with its path.
//! Each section is read on its own (so one bad section hides no other), then
//! the provider catalog is built the way `App::load` builds it, and the model
//! references it would reject are reported. Keys claw does not read are fine.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::models::{AgentDefaults, ModelChoice};
use super::{AgentsSection, ConfigFile, ModelsSection, PluginsConfig, path, vars};
use crate::catalog::{Catalog, ModelRef, PluginProvider, presets};

/// One problem: where it is (a path `claw config get` takes) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub path: String,
    pub message: String,
}

/// Every problem claw would meet reading `file`. Sections of other crates are
/// checked by their owners with [`section`] (e.g. the CLI checks `gateway`).
pub fn validate(file: &ConfigFile) -> Vec<Problem> {
    let mut problems = Vec::new();
    let models = read::<ModelsSection>(file, "models", &mut problems);
    let agents = read::<AgentsSection>(file, "agents", &mut problems);
    let plugins = read::<PluginsConfig>(file, "plugins", &mut problems);
    read::<crate::auth::AuthSection>(file, "auth", &mut problems);
    read::<crate::usage::UsageSection>(file, "usage", &mut problems);
    if let (Some(models), Some(agents)) = (models, agents) {
        let plugin_ids = plugins.map(|_| plugin_ids(file)).unwrap_or_default();
        cross_check(file, &models, &agents.defaults, &plugin_ids, &mut problems);
    }
    problems
}

/// The problems of section `name` read as `T`: `${VAR}`s set nowhere, then
/// the first place its shape is wrong.
pub fn section<T: DeserializeOwned + Default>(file: &ConfigFile, name: &str) -> Vec<Problem> {
    let mut problems = Vec::new();
    read::<T>(file, name, &mut problems);
    problems
}

/// Section `name` as `T` (absent is the default); `None` when its shape is wrong.
fn read<T: DeserializeOwned + Default>(
    file: &ConfigFile,
    name: &str,
    out: &mut Vec<Problem>,
) -> Option<T> {
    let Some(raw) = file.value().get(name) else {
        return Some(T::default());
    };
    let mut vars = vars::variables(file.value());
    let mut missing = BTreeSet::new();
    missing_vars(raw, &mut vec![name.to_string()], &vars, &mut missing, out);
    // Carry on as if they were set, to find the section's other problems.
    vars.extend(missing.into_iter().map(|name| (name, String::new())));
    let mut value = raw.clone();
    vars::substitute(&mut value, name, &vars).ok()?;
    match serde_path_to_error::deserialize(value) {
        Ok(section) => Some(section),
        Err(e) => {
            let mut keys = vec![name.to_string()];
            for segment in e.path().iter() {
                match segment {
                    serde_path_to_error::Segment::Seq { index } => keys.push(index.to_string()),
                    serde_path_to_error::Segment::Map { key } => keys.push(key.clone()),
                    _ => {}
                }
            }
            out.push(Problem {
                message: explain(&keys, &e.inner().to_string()),
                path: path::display(&keys),
            });
            None
        }
    }
}

/// serde's message, in the terms of claw.json; a secret's text is not repeated.
fn explain(keys: &[String], message: &str) -> String {
    if message.contains("did not match any variant of untagged enum") {
        return "must be \"provider/model\" or { primary: \"provider/model\", fallbacks: [...] }"
            .into();
    }
    match (path::is_secret_path(keys), message.find("string \"")) {
        (true, Some(start)) => match message.rfind("\", expected") {
            Some(end) if end > start => {
                format!("{}a string{}", &message[..start], &message[end + 1..])
            }
            _ => "has the wrong type".into(),
        },
        _ => message.into(),
    }
}

/// `${NAME}`s under `value` that neither `env` nor the environment sets.
fn missing_vars(
    value: &Value,
    keys: &mut Vec<String>,
    vars: &BTreeMap<String, String>,
    missing: &mut BTreeSet<String>,
    out: &mut Vec<Problem>,
) {
    match value {
        Value::String(s) => {
            for name in references(s).filter(|n| !vars.contains_key(*n)) {
                missing.insert(name.to_string());
                out.push(Problem {
                    path: path::display(keys),
                    message: format!(
                        "${{{name}}} is not set; export {name} in the environment, or set env.{name} in claw.json"
                    ),
                });
            }
        }
        Value::Array(items) => items.iter().enumerate().for_each(|(i, v)| {
            keys.push(i.to_string());
            missing_vars(v, keys, vars, missing, out);
            keys.pop();
        }),
        Value::Object(map) => map.iter().for_each(|(k, v)| {
            keys.push(k.clone());
            missing_vars(v, keys, vars, missing, out);
            keys.pop();
        }),
        _ => {}
    }
}

/// The variable names `${NAME}` in `s` refers to (as `vars::substitute` reads them).
fn references(s: &str) -> impl Iterator<Item = &str> {
    s.match_indices("${").filter_map(|(i, _)| {
        let rest = &s[i + 2..];
        let name = &rest[..rest.find('}')?];
        path::is_var_ref(&s[i..i + 3 + name.len()]).then_some(name)
    })
}

/// Plugins found by their manifests alone (nothing is loaded): a model
/// reference may name one of them as its provider. claw.json sits in the state
/// directory, next to the installed plugins.
fn plugin_ids(file: &ConfigFile) -> BTreeSet<String> {
    let Ok(plugins) = file.plugins() else {
        return BTreeSet::new();
    };
    let dir = file.path().parent().unwrap_or(std::path::Path::new("."));
    claw_plugin_host::discovery::discover(&dir.join("plugins"), &plugins.load.paths)
        .into_iter()
        .map(|c| c.id)
        .collect()
}

fn cross_check(
    file: &ConfigFile,
    models: &ModelsSection,
    agents: &AgentDefaults,
    plugin_ids: &BTreeSet<String>,
    out: &mut Vec<Problem>,
) {
    let vars = vars::variables(file.value());
    let env = |k: &str| vars.get(k).cloned();
    // An API kind no preset uses may be a plugin's, whose providers need no baseUrl.
    let plugin_apis: Vec<PluginProvider> = models
        .providers
        .values()
        .filter_map(|p| p.api.clone())
        .filter(|api| !presets::is_builtin_api(api))
        .map(|api| PluginProvider {
            plugin: String::new(),
            apis: vec![api.clone()],
            api,
            models: Vec::new(),
            serves_after_login: false,
        })
        .collect();
    let catalog = Catalog::build(models, agents, &plugin_apis, &env, &|_| None);
    for problem in &catalog.problems {
        out.push(catalog_problem(models, problem));
    }
    let mut refs = Vec::new();
    let defaults = ["agents", "defaults"];
    choice(
        file,
        &mut refs,
        &[&defaults[..], &["model"]].concat(),
        &agents.model,
    );
    let sub = ["agents", "defaults", "subagents"];
    if let Some(c) = &agents.subagents.model {
        choice(file, &mut refs, &[&sub[..], &["model"]].concat(), c);
    }
    if let Some(list) = &agents.subagents.fallbacks {
        listed(
            &mut refs,
            &owned(&[&sub[..], &["fallbacks"]].concat()),
            list,
        );
    }
    let configured = |p: &str| models.providers.contains_key(p);
    for (keys, reference) in refs {
        if let Some(message) = unusable(&catalog, plugin_ids, &configured, &reference) {
            out.push(Problem {
                path: path::display(&keys),
                message,
            });
        }
    }
    aliases(&catalog, agents, plugin_ids, &configured, out);
}

type Refs = Vec<(Vec<String>, String)>;

fn owned(keys: &[&str]) -> Vec<String> {
    keys.iter().map(|k| k.to_string()).collect()
}

/// The references of a model choice at `at` (`"p/m"` or `{primary, fallbacks}`).
fn choice(file: &ConfigFile, refs: &mut Refs, at: &[&str], c: &ModelChoice) {
    let mut keys = owned(at);
    if let Some(primary) = &c.primary {
        let mut keys = keys.clone();
        if !matches!(file.get(at), Some(Value::String(_))) {
            keys.push("primary".into());
        }
        refs.push((keys, primary.clone()));
    }
    keys.push("fallbacks".into());
    listed(refs, &keys, &c.fallbacks);
}

fn listed(refs: &mut Refs, at: &[String], list: &[String]) {
    for (i, reference) in list.iter().enumerate() {
        let mut keys = at.to_vec();
        keys.push(i.to_string());
        refs.push((keys, reference.clone()));
    }
}

/// Why the catalog would reject `reference`, when it certainly would: a
/// provider that is neither configured, nor a preset (which a key or a login
/// turns on), nor a plugin's; or a model its provider does not serve.
fn unusable(
    catalog: &Catalog,
    plugin_ids: &BTreeSet<String>,
    configured: &dyn Fn(&str) -> bool,
    reference: &str,
) -> Option<String> {
    if catalog.aliases.contains_key(reference.trim()) {
        return None;
    }
    let error = catalog.resolve(reference).err()?.0;
    match ModelRef::parse(reference.trim()) {
        Some(r) if catalog.providers.contains_key(&r.provider) => Some(error),
        // Misconfigured: its own problem says why.
        Some(r) if configured(&r.provider) => None,
        Some(r) if presets::find(&r.provider).is_some() || plugin_ids.contains(&r.provider) => None,
        Some(_) => Some(error),
        // A bare id may be a plugin's model; only ambiguity is certain.
        None => error.starts_with("Ambiguous").then_some(error),
    }
}

/// `agents.defaults.models`: aliases the catalog would drop or shadow.
fn aliases(
    catalog: &Catalog,
    agents: &AgentDefaults,
    plugin_ids: &BTreeSet<String>,
    configured: &dyn Fn(&str) -> bool,
    out: &mut Vec<Problem>,
) {
    let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
    for (reference, settings) in &agents.models {
        let Some(alias) = settings.alias.as_deref() else {
            continue;
        };
        let keys = ["agents", "defaults", "models", reference.as_str()];
        let at = |extra: &[&str]| path::display(&[&keys[..], extra].concat());
        let mut problem = |keys: &[&str], message: String| {
            out.push(Problem {
                path: at(keys),
                message,
            })
        };
        if ModelRef::parse(reference).is_none() {
            problem(
                &[],
                format!("the alias \"{alias}\" is ignored: the key must be provider/model"),
            );
            continue;
        }
        if alias.trim().is_empty() || alias.contains('/') {
            problem(&["alias"], "an alias cannot be empty or contain '/'".into());
            continue;
        }
        if let Some(other) = seen.insert(alias, reference) {
            problem(
                &["alias"],
                format!("\"{alias}\" is also the alias of {other}; an alias names one model"),
            );
        }
        if let Some(message) = unusable(catalog, plugin_ids, configured, reference) {
            problem(&[], message);
        }
    }
}

/// A catalog problem (`models.providers.<id>...: why`) as a [`Problem`].
fn catalog_problem(models: &ModelsSection, problem: &str) -> Problem {
    // Longest id first: "a.b" is not provider "a"'s key "b".
    let found = models.providers.keys().rev().find_map(|id| {
        let rest = problem.strip_prefix(&format!("models.providers.{id}"))?;
        let (tail, message) = rest.split_once(": ")?;
        let mut keys = vec!["models".to_string(), "providers".into(), id.clone()];
        if !tail.is_empty() {
            keys.extend(path::parse_path(tail.trim_start_matches('.')).ok()?);
        }
        Some(Problem {
            path: path::display(&keys),
            message: message.to_string(),
        })
    });
    found.unwrap_or_else(|| {
        let (at, message) = problem.split_once(": ").unwrap_or(("models", problem));
        Problem {
            path: at.into(),
            message: message.into(),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(text: &str) -> Vec<(String, String)> {
        let file = ConfigFile::parse(std::path::Path::new("/nowhere/claw.json"), text).unwrap();
        validate(&file)
            .into_iter()
            .map(|p| (p.path, p.message))
            .collect()
    }

    #[test]
    fn users_configs_are_valid() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/user-configs");
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path
                .extension()
                .is_some_and(|e| e == "json" || e == "json5")
            {
                let text = std::fs::read_to_string(&path).unwrap();
                assert_eq!(problems(&text), [], "{}", path.display());
            }
        }
    }

    #[test]
    fn each_section_reports_on_its_own() {
        let found = problems(
            r#"{agents: {defaults: {model: {primary: 42}}}, plugins: {entries: {x: {enabled: "yes"}}},
                models: {providers: {p: {apiKey: "${NOT_SET_ANYWHERE_1}", api: "openai-completions", baseUrl: "ftp://x"}}}}"#,
        );
        let paths: Vec<&str> = found.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            paths,
            [
                "models.providers.p.apiKey",
                "agents.defaults.model",
                "plugins.entries.x.enabled",
            ],
            "{found:?}"
        );
        assert!(found[0].1.starts_with("${NOT_SET_ANYWHERE_1} is not set"));
        assert!(found[1].1.starts_with("must be \"provider/model\" or {"));
        assert!(found[2].1.contains("expected a boolean"), "{found:?}");
    }

    #[test]
    fn the_catalog_checks_model_references_and_aliases() {
        let found = problems(
            r#"{
              models: {providers: {p: {api: "openai-completions", baseUrl: "https://p.example", models: [{id: "m"}]},
                                   q: {api: "openai-completions", baseUrl: "ftp://q"}}},
              agents: {defaults: {
                model: {primary: "p/m", fallbacks: ["p/nope", "nowhere/x", "anthropic/claude-x", "echo/echo-1", "q/x"]},
                models: {"p/m": {alias: "fast"}, "plain": {alias: "x"}, "p/n": {alias: "fast"}},
              }},
            }"#,
        );
        let paths: Vec<&str> = found.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            paths,
            [
                "models.providers.q.baseUrl",
                "agents.defaults.model.fallbacks[0]",
                "agents.defaults.model.fallbacks[1]",
                r#"agents.defaults.models["p/n"].alias"#,
                r#"agents.defaults.models["p/n"]"#,
                "agents.defaults.models.plain",
            ],
            "{found:#?}"
        );
        assert!(
            found[1].1.starts_with("Unknown model \"p/nope\""),
            "{found:#?}"
        );
        assert!(found[2].1.contains("no provider \"nowhere\""), "{found:#?}");
        assert!(found[3].1.contains("also the alias of p/m"), "{found:#?}");
    }
}
