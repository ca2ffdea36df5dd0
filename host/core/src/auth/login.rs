//! Saving what a login produced: the secret into the store, the profile (never
//! the secret) into claw.json, and the plugin's config patch merged into it.

use std::path::PathBuf;

use serde_json::{Map, Value, json};

use super::store::{AuthStore, Kind, StoreError, StoredProfile};
use crate::config::{ConfigError, ConfigFile};
use claw_types::{LoginResult, now_ms};

#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(
        "the plugin's config patch is not a JSON object: {0}; the login was saved, the config was not changed"
    )]
    BadPatch(String),
}

/// Where a saved login went.
#[derive(Debug)]
pub struct Saved {
    pub profile_id: String,
    /// The original claw.json, when it used JSON5 syntax a save cannot keep.
    pub backup: Option<PathBuf>,
}

/// Config paths a login patch only fills in, never overwrites: the user's own
/// choice of default model wins over a plugin's suggestion.
const FILL_ONLY: &[&[&str]] = &[
    &["agents", "defaults", "model", "primary"],
    &["agents", "defaults", "model"],
];

pub fn save_login(
    config: &mut ConfigFile,
    store: &AuthStore,
    plugin_id: &str,
    method: &str,
    provider: &str,
    result: LoginResult,
) -> Result<Saved, LoginError> {
    let profile_id = format!(
        "{provider}:{}",
        if result.profile.is_empty() {
            "default"
        } else {
            &result.profile
        }
    );
    let c = result.credential;
    let profile = StoredProfile {
        provider: provider.to_string(),
        kind: c.kind,
        plugin: Some(plugin_id.to_string()),
        method: Some(method.to_string()),
        access: c.access,
        refresh: c.refresh,
        expires_at_ms: c.expires_at_ms,
        extra: c.extra.into_iter().map(|kv| (kv.key, kv.value)).collect(),
        updated_at_ms: now_ms(),
        problem: None,
    };
    let kind = profile.kind;
    store.update(|p| p.insert(profile_id.clone(), profile))?;
    record_profile(config, &profile_id, provider, kind)?;
    if let Some(patch) = result.config_patch {
        let patch: Value =
            serde_json::from_str(&patch).map_err(|e| LoginError::BadPatch(e.to_string()))?;
        let Value::Object(patch) = patch else {
            return Err(LoginError::BadPatch("not an object".into()));
        };
        merge(config, &mut Vec::new(), &patch)?;
    }
    let backup = config.save()?;
    Ok(Saved { profile_id, backup })
}

/// Store an API key as `<provider>:<name>`.
pub fn save_api_key(
    config: &mut ConfigFile,
    store: &AuthStore,
    provider: &str,
    name: &str,
    key: String,
) -> Result<Saved, LoginError> {
    let profile_id = format!("{provider}:{name}");
    let profile = StoredProfile {
        provider: provider.to_string(),
        kind: Kind::ApiKey,
        plugin: None,
        method: None,
        access: key,
        refresh: None,
        expires_at_ms: None,
        extra: Default::default(),
        updated_at_ms: now_ms(),
        problem: None,
    };
    store.update(|p| p.insert(profile_id.clone(), profile))?;
    record_profile(config, &profile_id, provider, Kind::ApiKey)?;
    let backup = config.save()?;
    Ok(Saved { profile_id, backup })
}

/// Forget a profile: its secret and its config entries. False if unknown.
pub fn logout(
    config: &mut ConfigFile,
    store: &AuthStore,
    profile_id: &str,
) -> Result<bool, LoginError> {
    let removed = store.update(|p| p.remove(profile_id).is_some())?;
    let in_config = config.remove(&["auth", "profiles", profile_id]).is_some();
    let mut in_order = false;
    if let Some(Value::Object(order)) = config.get(&["auth", "order"]).cloned() {
        for (provider, ids) in order {
            if let Value::Array(ids) = ids {
                let kept: Vec<Value> = ids
                    .iter()
                    .filter(|v| v.as_str() != Some(profile_id))
                    .cloned()
                    .collect();
                if kept.len() != ids.len() {
                    in_order = true;
                    config.set(&["auth", "order", &provider], Value::Array(kept))?;
                }
            }
        }
    }
    if in_config || in_order {
        config.save()?;
    }
    Ok(removed || in_config)
}

/// `auth.profiles.<id> = {provider, mode}` and the id in `auth.order.<provider>`.
fn record_profile(
    config: &mut ConfigFile,
    id: &str,
    provider: &str,
    kind: Kind,
) -> Result<(), ConfigError> {
    config.set(
        &["auth", "profiles", id],
        json!({ "provider": provider, "mode": kind.as_str() }),
    )?;
    let mut order: Vec<Value> = match config.get(&["auth", "order", provider]) {
        Some(Value::Array(ids)) => ids.clone(),
        _ => Vec::new(),
    };
    if !order.iter().any(|v| v.as_str() == Some(id)) {
        order.push(json!(id));
        config.set(&["auth", "order", provider], Value::Array(order))?;
    }
    Ok(())
}

/// Deep-merge `patch` into the config: objects merge key by key, other values
/// replace, except `FILL_ONLY` paths, which are only set when absent.
fn merge(
    config: &mut ConfigFile,
    path: &mut Vec<String>,
    patch: &Map<String, Value>,
) -> Result<(), ConfigError> {
    for (key, value) in patch {
        path.push(key.clone());
        let here: Vec<&str> = path.iter().map(String::as_str).collect();
        let existing = config.get(&here).cloned();
        match (value, &existing) {
            (Value::Object(inner), Some(Value::Object(_))) => merge(config, path, inner)?,
            _ if existing.is_some() && FILL_ONLY.contains(&here.as_slice()) => {}
            _ => config.set(&here, value.clone())?,
        }
        path.pop();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use claw_types::{Credential, KeyValue, MethodKind};

    fn result(patch: Value) -> LoginResult {
        LoginResult {
            profile: "default".into(),
            credential: Credential {
                kind: MethodKind::Oauth,
                access: "mm-access-1".into(),
                refresh: Some("mm-refresh-1".into()),
                expires_at_ms: Some(1),
                extra: vec![KeyValue {
                    key: "region".into(),
                    value: "global".into(),
                }],
            },
            config_patch: Some(patch.to_string()),
            notes: vec![],
        }
    }

    #[test]
    fn a_login_saves_the_secret_apart_from_the_config_and_merges_the_patch() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("claw.json"),
            r#"{"agents": {"defaults": {"model": {"primary": "echo/echo-1"}}}, "models": {"providers": {"other": {"api": "x"}}}}"#,
        )
        .unwrap();
        let mut config = ConfigFile::load(&dir.path().join("claw.json")).unwrap();
        let store = AuthStore::new(dir.path());
        let patch = json!({
            "models": {"providers": {"minimax-portal": {"baseUrl": "http://h/anthropic", "api": "anthropic-messages"}}},
            "agents": {"defaults": {"model": {"primary": "minimax-portal/MiniMax-M2.1"}, "models": {"minimax-portal/MiniMax-M2.1": {"alias": "m"}}}},
        });
        let saved = save_login(
            &mut config,
            &store,
            "minimax-portal-auth",
            "oauth",
            "minimax-portal",
            result(patch),
        )
        .unwrap();
        assert_eq!(saved.profile_id, "minimax-portal:default");

        let text = std::fs::read_to_string(dir.path().join("claw.json")).unwrap();
        assert!(
            !text.contains("mm-access-1") && !text.contains("mm-refresh-1"),
            "secrets must stay out of claw.json: {text}"
        );
        let cfg: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            cfg["auth"]["profiles"]["minimax-portal:default"],
            json!({"provider": "minimax-portal", "mode": "oauth"})
        );
        assert_eq!(
            cfg["auth"]["order"]["minimax-portal"],
            json!(["minimax-portal:default"])
        );
        assert_eq!(
            cfg["agents"]["defaults"]["model"]["primary"], "echo/echo-1",
            "the user's default stays"
        );
        assert_eq!(
            cfg["agents"]["defaults"]["models"]["minimax-portal/MiniMax-M2.1"]["alias"],
            "m"
        );
        assert_eq!(cfg["models"]["providers"]["other"]["api"], "x");
        assert_eq!(
            cfg["models"]["providers"]["minimax-portal"]["baseUrl"],
            "http://h/anthropic"
        );

        let stored = store.get("minimax-portal:default").unwrap().unwrap();
        assert_eq!(
            (stored.access.as_str(), stored.refresh.as_deref()),
            ("mm-access-1", Some("mm-refresh-1"))
        );

        assert!(logout(&mut config, &store, "minimax-portal:default").unwrap());
        assert!(store.get("minimax-portal:default").unwrap().is_none());
        let cfg: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.path().join("claw.json")).unwrap())
                .unwrap();
        assert_eq!(cfg["auth"]["profiles"], json!({}));
        assert_eq!(cfg["auth"]["order"]["minimax-portal"], json!([]));
    }
}
