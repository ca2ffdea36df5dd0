//! Cooldowns: a candidate that keeps failing is skipped for a while. The wait
//! doubles with each consecutive failure up to a maximum (or follows the
//! upstream's Retry-After when longer), and the count resets after a success
//! or an hour without failures. Kept in the state dir (`CooldownBook`) so the
//! gateway and separate `claw` commands share one record and one policy.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use claw_types::{ModelRef, Reason};

use crate::config::models::FailoverSettings;

const RESET_AFTER_MS: u64 = 60 * 60 * 1000;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Cooldowns {
    entries: BTreeMap<String, Entry>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Entry {
    failures: u32,
    until_ms: u64,
    last_failure_ms: u64,
    reason: Reason,
}

/// The cooldowns of one state dir: loaded once, shared by concurrent
/// requests (locked only for a moment), written back after a change.
pub struct CooldownBook {
    path: PathBuf,
    state: Mutex<(Cooldowns, bool)>,
}

impl CooldownBook {
    pub fn open(path: PathBuf) -> CooldownBook {
        let cooldowns = Cooldowns::load(&path);
        CooldownBook {
            path,
            state: Mutex::new((cooldowns, false)),
        }
    }

    pub fn remaining(&self, target: &ModelRef, now: u64) -> Option<(Duration, Reason)> {
        self.lock().0.remaining(target, now)
    }

    pub fn record_failure(
        &self,
        target: &ModelRef,
        failure: &claw_types::Failure,
        settings: &FailoverSettings,
    ) {
        let mut state = self.lock();
        let now = claw_types::now_ms();
        state.1 |=
            state
                .0
                .record_failure(target, failure.reason, failure.retry_after, settings, now);
    }

    pub fn record_success(&self, target: &ModelRef) {
        let mut state = self.lock();
        state.1 |= state.0.record_success(target);
    }

    fn lock(&self) -> MutexGuard<'_, (Cooldowns, bool)> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Write the cooldowns back if they changed since the last save.
    pub fn save(&self) {
        let snapshot = {
            let mut state = self.lock();
            if !std::mem::take(&mut state.1) {
                return;
            }
            state.0.clone()
        };
        if let Err(e) = snapshot.save(&self.path) {
            tracing::warn!("could not save cooldowns to {}: {e}", self.path.display());
        }
    }
}

impl Cooldowns {
    /// Load from `path`; a missing or unreadable file is no cooldowns.
    pub fn load(path: &Path) -> Cooldowns {
        std::fs::read(path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        let bytes = serde_json::to_vec_pretty(self).expect("cooldowns serialize");
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            claw_types::fs::create_private_dir(dir)?;
        }
        claw_types::fs::write_atomic(path, &bytes, Some(0o600))
    }

    /// If `target` is cooling down at `now`: how long is left, and why.
    pub fn remaining(&self, target: &ModelRef, now: u64) -> Option<(Duration, Reason)> {
        [target.to_string(), target.provider.clone()]
            .iter()
            .filter_map(|k| self.entries.get(k))
            .filter(|e| e.until_ms > now)
            .map(|e| (Duration::from_millis(e.until_ms - now), e.reason))
            .max_by_key(|(d, _)| *d)
    }

    /// Returns whether anything was recorded.
    pub fn record_failure(
        &mut self,
        target: &ModelRef,
        reason: Reason,
        retry_after: Option<Duration>,
        settings: &FailoverSettings,
        now: u64,
    ) -> bool {
        if !reason.traits().cools_down {
            return false;
        }
        let key = if reason.traits().provider_wide {
            target.provider.clone()
        } else {
            target.to_string()
        };
        let entry = self.entries.entry(key).or_insert(Entry {
            failures: 0,
            until_ms: 0,
            last_failure_ms: 0,
            reason,
        });
        if now.saturating_sub(entry.last_failure_ms) > RESET_AFTER_MS {
            entry.failures = 0;
        }
        entry.failures += 1;
        let grown = settings
            .cooldown_ms
            .saturating_mul(1 << (entry.failures - 1).min(20));
        let wait = grown
            .min(settings.max_cooldown_ms)
            .max(retry_after.map_or(0, |d| d.as_millis() as u64));
        entry.until_ms = now + wait;
        entry.last_failure_ms = now;
        entry.reason = reason;
        true
    }

    /// Returns whether a cooldown was cleared.
    pub fn record_success(&mut self, target: &ModelRef) -> bool {
        let model = self.entries.remove(&target.to_string()).is_some();
        self.entries.remove(&target.provider).is_some() || model
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cooldowns_grow_cap_follow_retry_after_and_reset() {
        let settings = FailoverSettings {
            ttft_timeout_ms: 0,
            cooldown_ms: 1_000,
            max_cooldown_ms: 5_000,
            ..Default::default()
        };
        let target = ModelRef {
            provider: "p".into(),
            model: "m".into(),
        };
        let mut c = Cooldowns::default();
        c.record_failure(&target, Reason::RateLimit, None, &settings, 0);
        assert_eq!(
            c.remaining(&target, 0),
            Some((Duration::from_millis(1_000), Reason::RateLimit))
        );
        c.record_failure(&target, Reason::RateLimit, None, &settings, 10);
        assert_eq!(
            c.remaining(&target, 10).unwrap().0,
            Duration::from_millis(2_000)
        );
        for _ in 0..5 {
            c.record_failure(&target, Reason::Overloaded, None, &settings, 20);
        }
        assert_eq!(
            c.remaining(&target, 20).unwrap().0,
            Duration::from_millis(5_000),
            "capped"
        );
        c.record_failure(
            &target,
            Reason::RateLimit,
            Some(Duration::from_secs(60)),
            &settings,
            30,
        );
        assert_eq!(
            c.remaining(&target, 30).unwrap().0,
            Duration::from_secs(60),
            "Retry-After wins when longer"
        );
        assert!(c.remaining(&target, 30 + 60_000).is_none(), "expired");
        c.record_failure(
            &target,
            Reason::RateLimit,
            None,
            &settings,
            30 + RESET_AFTER_MS + 1,
        );
        assert_eq!(
            c.remaining(&target, 30 + RESET_AFTER_MS + 1).unwrap().0,
            Duration::from_millis(1_000),
            "count reset after an hour"
        );
        c.record_success(&target);
        assert!(c.remaining(&target, 30 + RESET_AFTER_MS + 1).is_none());
    }

    #[test]
    fn auth_cools_the_whole_provider_and_format_cools_nothing() {
        let settings = FailoverSettings::default();
        let a = ModelRef {
            provider: "p".into(),
            model: "a".into(),
        };
        let b = ModelRef {
            provider: "p".into(),
            model: "b".into(),
        };
        let mut c = Cooldowns::default();
        c.record_failure(&a, Reason::Format, None, &settings, 0);
        assert!(c.remaining(&a, 0).is_none());
        c.record_failure(&a, Reason::Auth, None, &settings, 0);
        assert_eq!(c.remaining(&b, 0).map(|r| r.1), Some(Reason::Auth));
    }

    #[test]
    fn the_cooldowns_file_is_private_and_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("router").join("cooldowns.json");
        let target = ModelRef {
            provider: "p".into(),
            model: "m".into(),
        };
        let mut c = Cooldowns::default();
        c.record_failure(
            &target,
            Reason::RateLimit,
            None,
            &FailoverSettings::default(),
            0,
        );
        c.save(&path).unwrap();
        assert!(Cooldowns::load(&path).remaining(&target, 0).is_some());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&path), 0o600);
            assert_eq!(mode(path.parent().unwrap()), 0o700);
        }
    }
}
