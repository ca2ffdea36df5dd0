//! Credentials: the secret store, which profile serves a provider, and keeping
//! OAuth tokens fresh — refreshed shortly before they expire and once after a
//! 401, one refresh per profile at a time (across tasks and processes), with
//! the new tokens saved before they are used.

pub mod login;
pub mod store;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde::Deserialize;

pub use store::{AuthStore, Kind, StoredProfile, fingerprint};

use claw_plugin_host::{CallError, Plugin};
use claw_types::{Failure, KeyValue, Reason, RequestCredential, now_ms};

/// Refresh an OAuth token this long before it expires.
const REFRESH_MARGIN_MS: u64 = 5 * 60 * 1000;

/// `auth` in claw.json: which profiles exist (secrets live in the store) and
/// the order to use them in per provider.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct AuthSection {
    pub profiles: BTreeMap<String, ProfileConfig>,
    pub order: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ProfileConfig {
    pub provider: Option<String>,
    pub mode: Option<String>,
}

/// The profile to use for `provider`: the first in `auth.order.<provider>`
/// that the store holds, else the store's profiles for it (`:default` first).
pub fn profile_for(
    provider: &str,
    section: &AuthSection,
    stored: &BTreeMap<String, StoredProfile>,
) -> Option<(String, Kind)> {
    let usable = |id: &String| {
        stored
            .get(id)
            .filter(|p| p.provider == provider)
            .map(|p| (id.clone(), p.kind))
    };
    if let Some(found) = section
        .order
        .get(provider)
        .into_iter()
        .flatten()
        .find_map(usable)
    {
        return Some(found);
    }
    let default = format!("{provider}:default");
    stored
        .get(&default)
        .filter(|p| p.provider == provider)
        .map(|p| (default.clone(), p.kind))
        .or_else(|| {
            stored
                .iter()
                .find(|(_, p)| p.provider == provider)
                .map(|(id, p)| (id.clone(), p.kind))
        })
}

/// Hands out credentials for requests and refreshes OAuth tokens.
pub struct AuthManager {
    store: AuthStore,
    /// Auth plugins by id, to refresh the profiles they created.
    plugins: HashMap<String, Arc<Plugin>>,
    flights: std::sync::Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl AuthManager {
    /// `plugins`: the loaded auth plugins by id.
    pub fn new(store: AuthStore, plugins: HashMap<String, Arc<Plugin>>) -> AuthManager {
        AuthManager {
            store,
            plugins,
            flights: Default::default(),
        }
    }

    pub fn store(&self) -> &AuthStore {
        &self.store
    }

    /// The credential of `profile_id` for one request, refreshed first when it
    /// is about to expire. Also returns the secret used, to detect a stale one later.
    pub async fn credential(
        &self,
        profile_id: &str,
    ) -> Result<(RequestCredential, String), Failure> {
        let mut profile = self.load(profile_id)?;
        if let Some(problem) = &profile.problem {
            return Err(Failure::new(
                Reason::Auth,
                login_again(problem, &profile.provider),
            ));
        }
        if profile.kind != Kind::ApiKey && expiring(&profile) {
            profile = self.refresh(profile_id, &profile.access).await?;
        }
        let secret = profile.access.clone();
        let credential = match profile.kind {
            Kind::ApiKey => RequestCredential::ApiKey(profile.access),
            Kind::Token | Kind::Oauth => RequestCredential::Bearer(profile.access),
        };
        Ok((credential, secret))
    }

    fn load(&self, profile_id: &str) -> Result<StoredProfile, Failure> {
        match self.store.get(profile_id) {
            Ok(Some(p)) => Ok(p),
            Ok(None) => Err(Failure::new(
                Reason::Auth,
                format!(
                    "auth profile \"{profile_id}\" has no stored credential; log in with `claw auth login`"
                ),
            )),
            Err(e) => Err(Failure::new(Reason::Auth, e.to_string())),
        }
    }

    /// Refresh `profile_id` unless someone already replaced `stale` (the secret
    /// the caller saw). One refresh at a time per profile: in this process by a
    /// per-profile mutex, across processes by the store lock.
    pub async fn refresh(&self, profile_id: &str, stale: &str) -> Result<StoredProfile, Failure> {
        let flight = {
            let mut flights = self.flights.lock().unwrap_or_else(|e| e.into_inner());
            flights.entry(profile_id.to_string()).or_default().clone()
        };
        let _in_flight = flight.lock().await;
        // Someone else replaced the token we saw: use theirs while it is valid.
        let fresh = |p: &StoredProfile| {
            p.access != stale
                && p.problem.is_none()
                && p.expires_at_ms.is_none_or(|at| at > now_ms())
        };
        let current = self.load(profile_id)?;
        if fresh(&current) {
            return Ok(current);
        }
        let store = self.store.clone();
        let lock = tokio::task::spawn_blocking(move || store.lock())
            .await
            .map_err(|e| {
                Failure::new(
                    Reason::Unknown,
                    format!("waiting for the credential store lock: {e}"),
                )
            })?
            .map_err(|e| Failure::new(Reason::Auth, e.to_string()))?;
        // Another process may have refreshed while we waited for the lock.
        let current = self.load(profile_id)?;
        if fresh(&current) {
            return Ok(current);
        }
        let (Some(plugin_id), Some(method)) = (&current.plugin, &current.method) else {
            return Err(Failure::new(
                Reason::Auth,
                format!(
                    "the credential of \"{profile_id}\" expired and cannot be refreshed; log in again"
                ),
            ));
        };
        let plugin = self.plugins.get(plugin_id).ok_or_else(|| {
            Failure::new(Reason::Auth, format!("cannot refresh \"{profile_id}\": its plugin \"{plugin_id}\" is not loaded (see `claw plugins list`)"))
        })?;
        tracing::info!(profile = profile_id, plugin = %plugin_id, "refreshing credential");
        match plugin.refresh(method, &credential_of(&current)).await {
            Ok(new) => {
                let updated = StoredProfile {
                    access: new.access,
                    // A rotated refresh token replaces the old one; none keeps it.
                    refresh: new.refresh.or(current.refresh.clone()),
                    expires_at_ms: new.expires_at_ms,
                    extra: if new.extra.is_empty() {
                        current.extra.clone()
                    } else {
                        new.extra.into_iter().map(|kv| (kv.key, kv.value)).collect()
                    },
                    updated_at_ms: now_ms(),
                    problem: None,
                    ..current
                };
                // Saved before anyone uses it: a rotated refresh token is never lost.
                let saved = updated.clone();
                self.store
                    .update_locked(|p| p.insert(profile_id.to_string(), saved))
                    .map_err(|e| {
                        Failure::new(
                            Reason::Auth,
                            format!("refreshed, but could not save the new credential: {e}"),
                        )
                    })?;
                drop(lock);
                Ok(updated)
            }
            Err(CallError::Plugin { error, .. }) if error.reason == Reason::Auth => {
                let problem = format!(
                    "the login for \"{profile_id}\" expired and the refresh was rejected ({})",
                    error.message
                );
                let marked = problem.clone();
                let _ = self.store.update_locked(|p| {
                    if let Some(stored) = p.get_mut(profile_id) {
                        stored.problem = Some(marked);
                    }
                });
                Err(Failure::new(
                    Reason::Auth,
                    login_again(&problem, &current.provider),
                ))
            }
            Err(e) => Err(Failure::new(
                Reason::Auth,
                format!("refreshing \"{profile_id}\" failed: {e}"),
            )),
        }
    }
}

/// `message`, ending with how to log in again (unless the plugin already said).
fn login_again(message: &str, provider: &str) -> String {
    if message.contains("claw auth login") {
        message.to_string()
    } else {
        format!("{message}; log in again with `claw auth login --provider {provider}`")
    }
}

fn expiring(p: &StoredProfile) -> bool {
    p.expires_at_ms
        .is_some_and(|at| at <= now_ms() + REFRESH_MARGIN_MS)
}

/// The stored profile as the credential a refresh takes.
fn credential_of(p: &StoredProfile) -> claw_types::Credential {
    claw_types::Credential {
        kind: p.kind,
        access: p.access.clone(),
        refresh: p.refresh.clone(),
        expires_at_ms: p.expires_at_ms,
        extra: p.extra.iter().map(|(k, v)| KeyValue::new(k, v)).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(provider: &str) -> StoredProfile {
        StoredProfile {
            provider: provider.into(),
            kind: Kind::ApiKey,
            plugin: None,
            method: None,
            access: "k".into(),
            refresh: None,
            expires_at_ms: None,
            extra: BTreeMap::new(),
            updated_at_ms: 0,
            problem: None,
        }
    }

    #[test]
    fn order_then_default_then_any_profile_serves_a_provider() {
        let mut profiles = BTreeMap::new();
        profiles.insert("minimax:work".to_string(), stored("minimax"));
        profiles.insert("minimax:default".to_string(), stored("minimax"));
        profiles.insert("anthropic:me".to_string(), stored("anthropic"));
        let mut section = AuthSection::default();
        assert_eq!(
            profile_for("minimax", &section, &profiles).unwrap().0,
            "minimax:default"
        );
        assert_eq!(
            profile_for("anthropic", &section, &profiles).unwrap().0,
            "anthropic:me"
        );
        section.order.insert(
            "minimax".into(),
            vec!["minimax:gone".into(), "minimax:work".into()],
        );
        assert_eq!(
            profile_for("minimax", &section, &profiles).unwrap().0,
            "minimax:work"
        );
        assert!(profile_for("openrouter", &section, &profiles).is_none());
    }
}
