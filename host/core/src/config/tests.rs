use super::*;

fn write(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("claw.json");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn enabling_a_plugin_keeps_every_other_key_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        r#"{"zeta": 1, "plugins": {"deny": ["x"], "entries": {"a": {"config": {"k": 2}}}}, "alpha": [true]}"#,
    );
    let mut cfg = ConfigFile::load(&path).unwrap();
    cfg.set_plugin_enabled("a", false).unwrap();
    cfg.set_plugin_enabled("b", true).unwrap();
    assert_eq!(cfg.save().unwrap(), None);
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(
        saved,
        serde_json::json!({"zeta": 1, "plugins": {"deny": ["x"], "entries": {"a": {"config": {"k": 2}, "enabled": false}, "b": {"enabled": true}}}, "alpha": [true]})
    );
    let keys: Vec<_> = saved.as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys, ["zeta", "plugins", "alpha"]);
}

#[test]
fn json5_files_keep_their_comments_through_a_save() {
    let dir = tempfile::tempdir().unwrap();
    let original = "// my settings\n{ plugins: { deny: ['x',], }, }\n";
    let path = write(dir.path(), original);
    let mut cfg = ConfigFile::load(&path).unwrap();
    assert_eq!(cfg.plugins().unwrap().deny, vec!["x".to_string()]);
    cfg.set_plugin_enabled("y", true).unwrap();
    assert_eq!(
        cfg.save().unwrap(),
        None,
        "nothing is dropped, so no backup"
    );
    let saved = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        saved,
        "// my settings\n{ plugins: { deny: ['x',], entries: { y: { enabled: true } }, }, }\n"
    );
    assert!(!dir.path().join("claw.json.bak").exists());
    // A second save of the same file replays on what the first wrote.
    cfg.remove(&["plugins", "entries"]).unwrap();
    cfg.save().unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), original);
}

#[test]
fn json5_the_editor_cannot_keep_is_backed_up_then_rewritten() {
    let dir = tempfile::tempdir().unwrap();
    // JSON5 ends a line comment at U+2028; the comment-keeping editor does not.
    let original = "{ // my settings\u{2028} plugins: { deny: ['x'] } }";
    let path = write(dir.path(), original);
    let mut cfg = ConfigFile::load(&path).unwrap();
    cfg.set_plugin_enabled("y", true).unwrap();
    let backup = cfg.save().unwrap().expect("a backup of the JSON5 original");
    assert_eq!(std::fs::read_to_string(backup).unwrap(), original);
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(
        saved,
        serde_json::json!({"plugins": {"deny": ["x"], "entries": {"y": {"enabled": true}}}})
    );
}

#[test]
fn arrays_are_indexed_by_number() {
    let path = Path::new("claw.json");
    let text = "{a: [{b: 1}, 2], // two\n}";
    let mut cfg = ConfigFile::parse(path, text).unwrap();
    assert_eq!(cfg.get(&["a", "0", "b"]), Some(&serde_json::json!(1)));
    cfg.set(&["a", "0", "b"], serde_json::json!(3)).unwrap();
    assert_eq!(cfg.remove(&["a", "1"]), Some(serde_json::json!(2)));
    let err = cfg.set(&["a", "5", "b"], serde_json::json!(1)).unwrap_err();
    assert!(
        err.to_string()
            .ends_with("`a` is an array of 1; it has no element [5]"),
        "{err}"
    );
    let err = cfg
        .set(&["a", "0", "b", "c"], serde_json::json!(1))
        .unwrap_err();
    assert!(
        err.to_string().ends_with(
            "`a[0].b` must be an object, found a number; claw cannot set `a[0].b.c` inside it"
        ),
        "{err}"
    );
    assert_eq!(
        edit::replay(text, &cfg.edits, &cfg.value).unwrap(),
        "{a: [{b: 3}], // two\n}"
    );
}

#[test]
fn bad_files_say_where_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "{ plugins: ");
    let err = ConfigFile::load(&path).unwrap_err().to_string();
    assert!(
        err.contains("is not valid JSON5") && err.contains("claw changed nothing"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "{ plugins: ");

    let path = write(dir.path(), "[1]");
    assert!(
        ConfigFile::load(&path)
            .unwrap_err()
            .to_string()
            .contains("the top level must be an object ({ ... }), found an array")
    );

    let path = write(
        dir.path(),
        r#"{"plugins": {"entries": {"a": {"enabled": "yes"}}}}"#,
    );
    let err = ConfigFile::load(&path)
        .unwrap()
        .plugins()
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("`plugins.entries.a.enabled` is not valid")
            && err.contains("expected a boolean"),
        "{err}"
    );

    let path = write(dir.path(), r#"{"plugins": {"entries": 3}}"#);
    let mut cfg = ConfigFile::load(&path).unwrap();
    let err = cfg.set_plugin_enabled("a", true).unwrap_err().to_string();
    assert!(
        err.contains("`plugins.entries` must be an object, found a number"),
        "{err}"
    );
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    // Found with the `config` fuzz target's binary: json5 recursed until the stack overflowed.
    let path = Path::new("claw.json");
    let nested = |open: &str, close: &str, n: usize| {
        format!("{{a: {}1{}}}", open.repeat(n), close.repeat(n))
    };
    for deep in [nested("[", "]", 100_000), nested("{a: ", "}", 100_000)] {
        let err = ConfigFile::parse(path, &deep).unwrap_err().to_string();
        assert!(
            err.contains("nest more than 128 levels deep") && err.contains("claw changed nothing"),
            "{err}"
        );
    }
    assert!(ConfigFile::parse(path, &nested("[", "]", MAX_DEPTH - 1)).is_ok());
    // Brackets in strings and comments are not nesting.
    let text = format!(
        "{{a: '{0}\\'{0}', b: \"{1}\\\"{1}\", // {0}\n /* {1} */ c: [[1]]}}",
        "[".repeat(500),
        "{".repeat(500)
    );
    assert_eq!(nesting_depth(&text), 3);
    assert!(ConfigFile::parse(path, &text).is_ok());
}

#[cfg(unix)]
#[test]
fn saves_are_0600_or_stricter_whatever_the_file_had() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let chmod =
        |p: &Path, m: u32| std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    // A new file, in a state dir that does not exist yet.
    let path = dir.path().join("state/claw.json");
    let mut cfg = ConfigFile::load(&path).unwrap();
    cfg.set_plugin_enabled("echo", false).unwrap();
    cfg.save().unwrap();
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(path.parent().unwrap()), 0o700);
    // 0600 stays 0600 (it became 0644 with the umask's mode before);
    // 0644 becomes 0600; 0400 stays 0400.
    for (before, after) in [
        (0o600, 0o600),
        (0o644, 0o600),
        (0o666, 0o600),
        (0o400, 0o400),
    ] {
        let path = write(dir.path(), r#"{"env": {"KEY": "sk-1"}}"#);
        chmod(&path, before);
        let mut cfg = ConfigFile::load(&path).unwrap();
        cfg.set_plugin_enabled("echo", false).unwrap();
        cfg.save().unwrap();
        assert_eq!(mode(&path), after, "{before:o}");
        chmod(&path, 0o600);
    }
}

#[test]
fn a_save_removes_only_old_temp_files_of_claw_json() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "{}");
    let old = dir.path().join(".claw.json.tmp-12345");
    let fresh = dir.path().join(".claw.json.tmp-777-1");
    std::fs::write(&old, r#"{"env": {"KEY": "sk-old"}}"#).unwrap();
    std::fs::write(&fresh, r#"{"env": {"KEY": "sk-live"}}"#).unwrap();
    let hour_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    std::fs::File::options()
        .write(true)
        .open(&old)
        .unwrap()
        .set_modified(hour_ago)
        .unwrap();
    let mut cfg = ConfigFile::load(&path).unwrap();
    cfg.set_plugin_enabled("echo", true).unwrap();
    cfg.save().unwrap();
    assert!(!old.exists(), "a temp file an hour old is a killed save's");
    assert!(fresh.exists(), "a fresh one may be another writer's");
}

#[test]
fn user_written_variables_in_plugin_config_are_substituted() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        r#"{"env": {"MY_REGION": "eu"}, "plugins": {"entries": {"a": {"config": {"region": "${MY_REGION}"}}}}}"#,
    );
    let plugins = ConfigFile::load(&path).unwrap().plugins().unwrap();
    assert_eq!(
        plugins.entries["a"].config,
        Some(serde_json::json!({"region": "eu"}))
    );
}

#[test]
fn a_missing_file_is_an_empty_config() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = ConfigFile::load(&dir.path().join("claw.json")).unwrap();
    let plugins = cfg.plugins().unwrap();
    assert!(plugins.enabled && plugins.allow.is_none() && plugins.entries.is_empty());
}
