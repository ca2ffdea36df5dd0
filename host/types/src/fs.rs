//! Files written so that a crash leaves the old content or the new, never a mix,
//! and private folders for them.

use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

/// Numbers this process's temp files, so no two calls share one.
static NEXT: AtomicU64 = AtomicU64::new(0);

/// Write `bytes` to `path` so that readers see the old or the new file, never a
/// partial one: write a temp file beside it, fsync, rename, fsync the folder.
///
/// With `mode`, the file (and its temp file, from the moment it exists) has
/// exactly that mode, whatever the umask. The temp file is
/// `.NAME.tmp-<pid>-<n>`, new for every call, so two writers never share one; a
/// process killed mid-write leaves it behind, to be removed with
/// [`remove_stale_temps`] by whoever knows no other writer owns it.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: Option<u32>) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(
        "{}{}-{}",
        temp_prefix(&name),
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let mut created = false;
    let result = (|| {
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        if let Some(mode) = mode {
            std::os::unix::fs::OpenOptionsExt::mode(&mut opts, mode);
        }
        let mut file = match opts.open(&tmp) {
            // Left by a killed process that had this pid: no live writer owns
            // it (the pid and the count are this call's), so it can go.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                std::fs::remove_file(&tmp)?;
                opts.open(&tmp)?
            }
            other => other?,
        };
        created = true;
        #[cfg(unix)]
        if let Some(mode) = mode {
            // The umask may have taken bits away; the caller asked for exactly this.
            file.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(mode))?;
        }
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)?;
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() && created {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// The start of the temp files' names that [`write_atomic`] uses for `name`.
fn temp_prefix(name: &str) -> String {
    format!(".{name}.tmp-")
}

/// Remove the temp files [`write_atomic`] left beside `path` (any process's,
/// e.g. after a kill -9), or only those not modified for `older_than`. Safe
/// without `older_than` only while the caller holds a lock every writer of
/// `path` takes: otherwise a live writer may own one. Returns how many it removed.
pub fn remove_stale_temps(path: &Path, older_than: Option<Duration>) -> std::io::Result<usize> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let Some(name) = path.file_name() else {
        return Ok(0);
    };
    let prefix = temp_prefix(&name.to_string_lossy());
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    let now = SystemTime::now();
    let mut removed = 0;
    for entry in entries {
        let entry = entry?;
        if !entry.file_name().to_string_lossy().starts_with(&prefix) {
            continue;
        }
        let Ok(meta) = entry.metadata() else {
            continue;
        };
        if !meta.is_file() {
            continue;
        }
        if let Some(age) = older_than {
            let modified = meta.modified().unwrap_or(now);
            if now.duration_since(modified).unwrap_or_default() < age {
                continue;
            }
        }
        match std::fs::remove_file(entry.path()) {
            Ok(()) => removed += 1,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    Ok(removed)
}

/// Create `dir` (and any missing parents) readable by its owner only (0700).
/// A folder that already exists keeps its mode: the user may have chosen it.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)?;
    #[cfg(unix)]
    std::fs::set_permissions(dir, std::os::unix::fs::PermissionsExt::from_mode(0o700))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh folder under the system temp dir, removed when dropped.
    struct TempDir(std::path::PathBuf);

    impl TempDir {
        fn new() -> TempDir {
            static N: AtomicU64 = AtomicU64::new(0);
            let dir = std::env::temp_dir().join(format!(
                "claw-types-fs-{}-{}",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            ));
            std::fs::create_dir_all(&dir).unwrap();
            TempDir(dir)
        }

        fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[cfg(unix)]
    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    fn temps(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(".tmp-"))
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_write_gets_exactly_its_mode_even_over_a_leftover_temp_file() {
        let dir = TempDir::new();
        let path = dir.path().join("secret.json");
        // A temp file a killed process left, world-readable, with this process's pid:
        // the old code reopened it and kept its mode 0644.
        let leftover = dir
            .path()
            .join(format!(".secret.json.tmp-{}", std::process::id()));
        std::fs::write(&leftover, b"old").unwrap();
        #[cfg(unix)]
        std::fs::set_permissions(
            &leftover,
            std::os::unix::fs::PermissionsExt::from_mode(0o644),
        )
        .unwrap();
        // And one this very call would use, had a process with this pid been
        // killed while writing.
        let next = dir.path().join(format!(
            ".secret.json.tmp-{}-{}",
            std::process::id(),
            NEXT.load(Ordering::Relaxed)
        ));
        std::fs::write(&next, b"old").unwrap();
        write_atomic(&path, b"{}", Some(0o600)).unwrap();
        write_atomic(&path, b"{\"a\": 1}", Some(0o600)).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"{\"a\": 1}");
        #[cfg(unix)]
        assert_eq!(mode(&path), 0o600);
        // Each call has its own temp file and leaves none of its own behind.
        assert_eq!(
            temps(dir.path()),
            [format!(".secret.json.tmp-{}", std::process::id())]
        );
    }

    #[test]
    fn stale_temps_of_one_file_are_removed_and_others_kept() {
        let dir = TempDir::new();
        let path = dir.path().join("profiles.json");
        for name in [
            ".profiles.json.tmp-12345",
            ".profiles.json.tmp-999-3",
            ".other.json.tmp-12345",
            "profiles.json.tmp-1",
        ] {
            std::fs::write(dir.path().join(name), b"sk-secret").unwrap();
        }
        // Only those older than an hour: none is.
        assert_eq!(
            remove_stale_temps(&path, Some(Duration::from_secs(3600))).unwrap(),
            0
        );
        assert_eq!(remove_stale_temps(&path, None).unwrap(), 2);
        assert_eq!(
            temps(dir.path()),
            [".other.json.tmp-12345", "profiles.json.tmp-1"]
        );
        // A missing folder has nothing to clean.
        assert_eq!(
            remove_stale_temps(&dir.path().join("nope/profiles.json"), None).unwrap(),
            0
        );
    }

    #[cfg(unix)]
    #[test]
    fn private_dirs_are_0700_and_existing_ones_keep_their_mode() {
        let dir = TempDir::new();
        let state = dir.path().join("a/state");
        create_private_dir(&state).unwrap();
        assert_eq!(mode(&state), 0o700);
        assert_eq!(mode(&dir.path().join("a")), 0o700);
        let open = dir.path().join("open");
        std::fs::create_dir(&open).unwrap();
        std::fs::set_permissions(&open, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        create_private_dir(&open).unwrap();
        assert_eq!(mode(&open), 0o755);
    }
}
