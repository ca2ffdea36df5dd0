//! Paths into claw.json as `claw config` takes them (`a.b["c.d"][0]`), values
//! as typed on a command line, and which of them are secrets.

use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    #[error(
        "an empty path names no setting; write dotted keys, e.g. agents.defaults.model.primary"
    )]
    Empty,
    #[error(
        "`{path}`: empty key at position {at}; put a key between the dots, and quote one that holds a dot: models[\"a/b.c\"]"
    )]
    EmptyKey { path: String, at: usize },
    #[error("`{path}`: the quote at position {at} is never closed")]
    Unterminated { path: String, at: usize },
    #[error("`{path}`: expected `.`, `[` or the end at position {at}")]
    Unexpected { path: String, at: usize },
}

/// Split `s` into keys: `.` separates them; `["..."]`, `"..."` (or single
/// quotes) hold a key with dots; `[0]` is an array index (the key `0`).
pub fn parse_path(s: &str) -> Result<Vec<String>, PathError> {
    let chars: Vec<char> = s.chars().collect();
    if chars.is_empty() {
        return Err(PathError::Empty);
    }
    let err_empty = |at: usize| PathError::EmptyKey {
        path: s.into(),
        at: at + 1,
    };
    let mut keys = Vec::new();
    let mut i = 0;
    loop {
        match chars.get(i) {
            Some('"' | '\'') => {
                let (key, next) = quoted(s, &chars, i)?;
                keys.push(key);
                i = next;
            }
            Some('[') => {}
            _ => {
                let start = i;
                while chars.get(i).is_some_and(|c| !matches!(c, '.' | '[')) {
                    i += 1;
                }
                if i == start {
                    return Err(err_empty(start));
                }
                keys.push(chars[start..i].iter().collect());
            }
        }
        while chars.get(i) == Some(&'[') {
            let (key, next) = match chars.get(i + 1) {
                Some('"' | '\'') => quoted(s, &chars, i + 1)?,
                _ => {
                    let end = (i + 1..chars.len()).find(|&j| chars[j] == ']');
                    let end = end.ok_or_else(|| PathError::Unterminated {
                        path: s.into(),
                        at: i + 1,
                    })?;
                    (chars[i + 1..end].iter().collect(), end)
                }
            };
            if key.is_empty() {
                return Err(err_empty(i));
            }
            if chars.get(next) != Some(&']') {
                return Err(PathError::Unexpected {
                    path: s.into(),
                    at: next + 1,
                });
            }
            keys.push(key);
            i = next + 1;
        }
        match chars.get(i) {
            None => return Ok(keys),
            Some('.') if i + 1 < chars.len() => i += 1,
            Some('.') => return Err(err_empty(i + 1)),
            Some(_) => {
                return Err(PathError::Unexpected {
                    path: s.into(),
                    at: i + 1,
                });
            }
        }
    }
}

/// The quoted key starting at `chars[start]`, and the index just past it.
fn quoted(s: &str, chars: &[char], start: usize) -> Result<(String, usize), PathError> {
    let quote = chars[start];
    let mut key = String::new();
    let mut i = start + 1;
    while let Some(&c) = chars.get(i) {
        match c {
            '\\' if i + 1 < chars.len() => {
                key.push(chars[i + 1]);
                i += 2;
            }
            c if c == quote => {
                if key.is_empty() {
                    return Err(PathError::EmptyKey {
                        path: s.into(),
                        at: start + 1,
                    });
                }
                return Ok((key, i + 1));
            }
            c => {
                key.push(c);
                i += 1;
            }
        }
    }
    Err(PathError::Unterminated {
        path: s.into(),
        at: start + 1,
    })
}

/// Keys as a path [`parse_path`] reads back: `agents.defaults.models["a/b.c"].alias`.
pub fn display<S: AsRef<str>>(keys: &[S]) -> String {
    let mut out = String::new();
    for key in keys {
        let key = key.as_ref();
        let plain = key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '$'));
        if !key.is_empty() && key.bytes().all(|b| b.is_ascii_digit()) {
            out.push_str(&format!("[{key}]"));
        } else if plain && !key.is_empty() {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(key);
        } else {
            let escaped = key.replace('\\', "\\\\").replace('"', "\\\"");
            out.push_str(&format!("[\"{escaped}\"]"));
        }
    }
    out
}

/// A value as typed after `claw config set <path>`: JSON5 when it reads as
/// JSON5 (`42`, `true`, `[1]`, `{a: 1}`, `"quoted"`), else the text itself.
pub fn parse_value(raw: &str) -> Value {
    // json5 has no nesting limit (see `ConfigFile::parse`).
    if super::nesting_depth(raw) > super::MAX_DEPTH {
        return Value::String(raw.into());
    }
    json5::from_str(raw).unwrap_or_else(|_| Value::String(raw.into()))
}

/// A key that holds a secret: it is, or ends with, apiKey, token, password...
/// (any case, ignoring `-` and `_`).
pub fn is_secret_key(key: &str) -> bool {
    const SECRET: [&str; 9] = [
        "key",
        "token",
        "secret",
        "password",
        "passwd",
        "authorization",
        "bearer",
        "credential",
        "credentials",
    ];
    let key: String = key
        .chars()
        .filter(|c| !matches!(c, '-' | '_'))
        .collect::<String>()
        .to_ascii_lowercase();
    SECRET.iter().any(|s| key.ends_with(s))
}

/// A path whose values are secrets: under `env`, or under a secret key.
pub fn is_secret_path<S: AsRef<str>>(keys: &[S]) -> bool {
    keys.first().is_some_and(|k| k.as_ref() == "env")
        || keys.iter().any(|k| is_secret_key(k.as_ref()))
}

/// `${NAME}` and nothing else: how config refers to a secret without holding it.
pub fn is_var_ref(s: &str) -> bool {
    s.strip_prefix("${")
        .and_then(|rest| rest.strip_suffix('}'))
        .is_some_and(|name| {
            let mut chars = name.chars();
            chars
                .next()
                .is_some_and(|c| c.is_ascii_uppercase() || c == '_')
                && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        })
}

/// Text shaped like a credential: a known key prefix, a JWT, or a long token.
pub fn looks_like_secret(s: &str) -> bool {
    const PREFIXES: [&str; 9] = [
        "sk-",
        "sk-ant-",
        "sk-or-",
        "xai-",
        "gsk_",
        "ghp_",
        "github_pat_",
        "AIza",
        "eyJ",
    ];
    let s = s.trim();
    // A long random run of letters and digits; model ids are short words
    // joined by `-` (`claude-opus-4-6-20260101`), so one long part is needed.
    let random = |part: &str| {
        part.len() >= 24
            && part.chars().all(|c| c.is_ascii_alphanumeric())
            && part.chars().any(|c| c.is_ascii_alphabetic())
            && part.chars().any(|c| c.is_ascii_digit())
    };
    let token = s
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        && s.split(['-', '_', '.']).any(random);
    token || PREFIXES.iter().any(|p| s.starts_with(p))
}

/// Whether setting `value` at `keys` would write a secret into claw.json:
/// a string or number under a secret path, or a string shaped like a key,
/// anywhere inside `value`. `${VAR}` references are never secrets.
pub fn holds_secret<S: AsRef<str>>(keys: &[S], value: &Value) -> bool {
    fn walk(value: &Value, secret: bool) -> bool {
        match value {
            Value::String(s) => !is_var_ref(s) && (secret || looks_like_secret(s)),
            Value::Number(_) => secret,
            Value::Array(items) => items.iter().any(|v| walk(v, secret)),
            Value::Object(map) => map.iter().any(|(k, v)| walk(v, secret || is_secret_key(k))),
            Value::Null | Value::Bool(_) => false,
        }
    }
    walk(value, is_secret_path(keys))
}

/// `value` (found at `keys`) with every string (or number) under a secret key
/// replaced by `<redacted>`; `${VAR}` references stay, they are not secrets.
pub fn redact<S: AsRef<str>>(keys: &[S], value: &Value) -> Value {
    fn walk(value: &Value, secret: bool) -> Value {
        match value {
            Value::String(s) if secret && !is_var_ref(s) => Value::String("<redacted>".into()),
            Value::Number(_) if secret => Value::String("<redacted>".into()),
            Value::Array(items) => Value::Array(items.iter().map(|v| walk(v, secret)).collect()),
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), walk(v, secret || is_secret_key(k))))
                    .collect(),
            ),
            other => other.clone(),
        }
    }
    walk(value, is_secret_path(keys))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_split_on_dots_and_quote_keys_with_dots() {
        let ok = |s: &str| parse_path(s).unwrap();
        assert_eq!(ok("agents.defaults.model.primary").len(), 4);
        assert_eq!(
            ok(r#"agents.defaults.models["minimax/MiniMax-M2.1"].alias"#),
            [
                "agents",
                "defaults",
                "models",
                "minimax/MiniMax-M2.1",
                "alias"
            ]
        );
        assert_eq!(ok("a.'b.c'.d"), ["a", "b.c", "d"]);
        assert_eq!(ok(r#""a.b""#), ["a.b"]);
        assert_eq!(ok("models.providers.minimax.models[0].maxTokens")[4], "0");
        assert_eq!(ok("a/b.c-d"), ["a/b", "c-d"]);
        for bad in [
            "", "a..b", ".a", "a.", "a[]", r#"a[""]"#, "a[\"b", "a[0]x", "a[1",
        ] {
            assert!(parse_path(bad).is_err(), "{bad}");
        }
        assert_eq!(
            parse_path("a..b").unwrap_err().to_string(),
            "`a..b`: empty key at position 3; put a key between the dots, and quote one that holds a dot: models[\"a/b.c\"]"
        );
    }

    #[test]
    fn displayed_paths_read_back() {
        let keys = [
            "agents",
            "models",
            "minimax/MiniMax-M2.1",
            "x\"y",
            "0",
            "alias",
        ];
        let shown = display(&keys);
        assert_eq!(
            shown,
            r#"agents.models["minimax/MiniMax-M2.1"]["x\"y"][0].alias"#
        );
        assert_eq!(parse_path(&shown).unwrap(), keys);
    }

    #[test]
    fn values_are_json5_when_they_read_as_it() {
        assert_eq!(parse_value("42"), json!(42));
        assert_eq!(parse_value("true"), json!(true));
        assert_eq!(parse_value("{a: [1]}"), json!({"a": [1]}));
        assert_eq!(parse_value("'x y'"), json!("x y"));
        assert_eq!(
            parse_value("minimax/MiniMax-M2.1"),
            json!("minimax/MiniMax-M2.1")
        );
        assert_eq!(parse_value("${KEY}"), json!("${KEY}"));
        assert_eq!(parse_value(&"[".repeat(10_000)), json!("[".repeat(10_000)));
    }

    #[test]
    fn secrets_are_found_by_key_by_place_and_by_shape() {
        for key in [
            "apiKey",
            "api_key",
            "TOKEN",
            "clientSecret",
            "Authorization",
            "credentials",
        ] {
            assert!(is_secret_key(key), "{key}");
        }
        for key in ["maxTokens", "primary", "authHeader", "baseUrl"] {
            assert!(!is_secret_key(key), "{key}");
        }
        let refused = |path: &str, v: Value| holds_secret(&parse_path(path).unwrap(), &v);
        assert!(refused("models.providers.m.apiKey", json!("abc")));
        assert!(refused("env.OPENAI_API_KEY", json!("abc")));
        assert!(refused("env.X", json!("abc")));
        assert!(refused("a.b", json!("sk-ant-123")));
        assert!(refused("a.b", json!("aB3".repeat(11))));
        assert!(refused("models.providers.m", json!({"apiKey": "x"})));
        assert!(!refused(
            "models.providers.m.apiKey",
            json!("${MINIMAX_API_KEY}")
        ));
        assert!(!refused(
            "agents.defaults.model.primary",
            json!("minimax/MiniMax-M2.1")
        ));
        assert!(!refused("models.providers.m.authHeader", json!(true)));
        let long_model = "claude-opus-4-6-20260101-thinking-extended-preview-2";
        assert!(!refused("agents.defaults.model.primary", json!(long_model)));
        assert!(refused("a.b", json!("3f9a0c2e7b1d4a6e9c8b2f0d1e3a5c7b")));
    }

    #[test]
    fn redaction_keeps_references_and_other_keys() {
        let v = json!({"apiKey": "sk-1", "ref": {"token": "${T}"}, "headers": {"Authorization": "Bearer x"}, "id": "m"});
        assert_eq!(
            redact(&["models"], &v),
            json!({"apiKey": "<redacted>", "ref": {"token": "${T}"}, "headers": {"Authorization": "<redacted>"}, "id": "m"})
        );
        assert_eq!(redact(&["env", "K"], &json!("v")), json!("<redacted>"));
        assert_eq!(
            redact(&["gateway", "auth", "token"], &json!(1234)),
            json!("<redacted>")
        );
    }
}
