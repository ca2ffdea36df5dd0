//! `${VAR}` substitution in config strings. Names are uppercase (`[A-Z_][A-Z0-9_]*`);
//! values come from the process environment, then from `env` in claw.json. A
//! missing variable is an error naming the config path that uses it.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{path}: ${{{name}}} is not set; export {name} in the environment, or set env.{name} in claw.json"
)]
pub struct MissingVar {
    pub path: String,
    pub name: String,
}

/// The variables claw.json may use: `env` entries (strings), with the process
/// environment taking precedence.
pub fn variables(config: &Map<String, Value>) -> BTreeMap<String, String> {
    let mut vars = BTreeMap::new();
    if let Some(Value::Object(env)) = config.get("env") {
        let nested = env
            .get("vars")
            .and_then(Value::as_object)
            .into_iter()
            .flatten();
        for (k, v) in env.iter().chain(nested) {
            if let Value::String(s) = v {
                vars.insert(k.clone(), s.clone());
            }
        }
    }
    for (k, v) in std::env::vars() {
        if is_name(&k) {
            vars.insert(k, v);
        }
    }
    vars
}

fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some('A'..='Z' | '_'))
        && chars.all(|c| matches!(c, 'A'..='Z' | '0'..='9' | '_'))
}

/// Substitute `${VAR}` in every string of `value` (the `env` section itself is
/// left alone). `path` is the config path of `value`, for errors.
pub fn substitute(
    value: &mut Value,
    path: &str,
    vars: &BTreeMap<String, String>,
) -> Result<(), MissingVar> {
    match value {
        Value::String(s) if s.contains("${") => *s = substitute_str(s, path, vars)?,
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                substitute(item, &format!("{path}[{i}]"), vars)?;
            }
        }
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                if path.is_empty() && k == "env" {
                    continue;
                }
                let child = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                substitute(v, &child, vars)?;
            }
        }
        _ => {}
    }
    Ok(())
}

fn substitute_str(
    s: &str,
    path: &str,
    vars: &BTreeMap<String, String>,
) -> Result<String, MissingVar> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find('}') {
            Some(end) if is_name(&after[..end]) => {
                let name = &after[..end];
                let value = vars.get(name).ok_or_else(|| MissingVar {
                    path: path.into(),
                    name: name.into(),
                })?;
                out.push_str(value);
                rest = &after[end + 1..];
            }
            // Not a variable reference (e.g. lowercase): keep the text as written.
            _ => {
                out.push_str("${");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn variables_are_replaced_and_missing_ones_name_the_path() {
        let mut v = json!({"models": {"providers": {"m": {"apiKey": "${KEY}", "headers": {"x": "a-${KEY}-b"}}}}, "keep": "${lower}"});
        substitute(&mut v, "", &vars(&[("KEY", "s3")])).unwrap();
        assert_eq!(v["models"]["providers"]["m"]["apiKey"], "s3");
        assert_eq!(v["models"]["providers"]["m"]["headers"]["x"], "a-s3-b");
        assert_eq!(v["keep"], "${lower}");

        let mut v = json!({"a": [{"b": "${NOPE_NOT_SET}"}]});
        let err = substitute(&mut v, "", &vars(&[])).unwrap_err();
        assert_eq!(err.path, "a[0].b");
        assert_eq!(
            err.to_string(),
            "a[0].b: ${NOPE_NOT_SET} is not set; export NOPE_NOT_SET in the environment, or set env.NOPE_NOT_SET in claw.json"
        );
    }

    #[test]
    fn env_section_supplies_variables() {
        let cfg = json!({"env": {"MY_KEY": "from-config", "vars": {"OTHER_KEY": "nested"}}});
        let vars = variables(cfg.as_object().unwrap());
        assert_eq!(vars["MY_KEY"], "from-config");
        assert_eq!(vars["OTHER_KEY"], "nested");
    }
}
