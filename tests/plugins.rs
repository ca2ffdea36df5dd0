//! End to end: `claw plugins ...` against real bundled and fixture plugins.
//! Every bad plugin gets its own clear reason, and never stops the others.

#[path = "plugins/authors.rs"]
mod authors;
#[path = "plugins/native.rs"]
mod native;
mod support;

use serde_json::Value;
use support::{Claw, fixture, fixture_manifest, manifest};

/// The bundled echo plugin is still loaded: one bad plugin stops nothing.
fn assert_echo_loaded(plugins: &serde_json::Map<String, Value>) {
    assert_eq!(
        plugins["echo"]["status"], "loaded",
        "echo: {:#}",
        plugins["echo"]
    );
}

/// Place a plugin, then return its `plugins list --json` entry, checking that
/// the human table shows the same reason and that echo still loads.
fn error_of(claw: &Claw, id: &str) -> String {
    let plugins = claw.plugins();
    assert_echo_loaded(&plugins);
    let entry = &plugins[id];
    assert_eq!(entry["status"], "error", "{entry:#}");
    let reason = entry["error"].as_str().unwrap().to_string();
    let table = claw.run(&["plugins", "list"]);
    assert!(
        table.ok().contains(&format!("error: {reason}")),
        "table lacks the reason:\n{}",
        table.stdout
    );
    reason
}

#[test]
fn a_fresh_install_lists_the_bundled_plugins_as_loaded() {
    let claw = Claw::new();
    let run = claw.run(&["plugins", "list", "--json"]);
    let json = run.json();
    let echo = json["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == "echo")
        .expect("echo is bundled");
    assert_eq!(echo["status"], "loaded");
    assert_eq!(echo["error"], Value::Null);
    assert_eq!(echo["source"], "bundled");
    assert_eq!(echo["sdk"], "claw:plugin@0.2.0");
    assert_eq!(echo["version"], "0.1.0");
    assert_eq!(echo["name"], "Echo");
    assert_eq!(echo["provider"]["models"][0]["id"], "echo-1");

    let table = claw.run(&["plugins", "list"]);
    let line = table
        .ok()
        .lines()
        .find(|l| l.starts_with("echo "))
        .unwrap()
        .to_string();
    for cell in [
        "Echo",
        "0.1.0",
        "loaded",
        "bundled",
        "provider",
        "claw:plugin@0.2.0",
    ] {
        assert!(line.contains(cell), "{line}");
    }
    assert!(
        claw.run(&["plugins", "doctor"])
            .ok()
            .contains("ok   echo: loaded, claw:plugin@0.2.0")
    );
}

#[test]
fn compiled_plugins_are_cached_and_a_damaged_cache_entry_is_recompiled() {
    let claw = Claw::new();
    assert_eq!(claw.plugins()["echo"]["cache"], "miss");
    assert_eq!(claw.plugins()["echo"]["cache"], "hit");
    // One entry per bundled plugin; damage every one of them.
    let loaded = claw
        .plugins()
        .values()
        .filter(|p| p["status"] == "loaded")
        .count();
    let entries: Vec<_> = std::fs::read_dir(claw.dir().join("cache"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "cwasm"))
        .collect();
    assert_eq!(entries.len(), loaded);
    // The install's key beside them, readable by the owner only.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&claw.dir().join("cache")), 0o700);
        assert_eq!(mode(&claw.dir().join("cache/key")), 0o600);
    }
    for path in &entries {
        let mut bytes = std::fs::read(path).unwrap();
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0xff;
        std::fs::write(path, bytes).unwrap();
    }
    let plugins = claw.plugins();
    assert_eq!(plugins["echo"]["status"], "loaded");
    assert_eq!(
        plugins["echo"]["cache"], "miss",
        "a damaged entry must be recompiled, not loaded"
    );
    assert_eq!(claw.plugins()["echo"]["cache"], "hit");

    // Tampered with: a byte of the body changed and a plain SHA-256 of the new
    // body put where the old format kept its unkeyed digest. Not loaded.
    use sha2::Digest;
    for path in &entries {
        let mut bytes = std::fs::read(path).unwrap();
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0x01;
        let digest = sha2::Sha256::digest(&bytes[40..]);
        bytes[8..40].copy_from_slice(&digest);
        std::fs::write(path, bytes).unwrap();
    }
    let plugins = claw.plugins();
    assert_eq!(plugins["echo"]["status"], "loaded");
    assert_eq!(
        plugins["echo"]["cache"], "miss",
        "a tampered entry must be recompiled, not loaded"
    );
}

#[test]
fn the_old_sdk_package_name_is_a_clear_error_with_a_did_you_mean() {
    let claw = Claw::new();
    claw.place_plugin(
        "legacy-portal-auth",
        Some(&fixture_manifest("old-sdk-plugin")),
        Some(("old_sdk_plugin.wasm", &fixture("old_sdk_plugin.wasm"))),
    );
    let reason = error_of(&claw, "legacy-portal-auth");
    assert!(
        reason.starts_with("plugin \"legacy-portal-auth\" uses clawdbot:plugin-sdk@0.1.0"),
        "{reason}"
    );
    assert!(
        reason.contains("exports clawdbot:plugin-sdk/auth@0.1.0"),
        "{reason}"
    );
    assert!(
        reason.contains("but this host provides claw:plugin (0.1.x, 0.2.x)"),
        "{reason}"
    );
    assert!(reason.contains("Did you mean claw:plugin?"), "{reason}");
    assert!(
        reason.contains("Rebuild it with claw-plugin-sdk 0.2"),
        "{reason}"
    );

    let plugins = claw.plugins();
    assert_eq!(plugins["legacy-portal-auth"]["errorStep"], "sdk");
    assert_eq!(
        plugins["legacy-portal-auth"]["sdk"], "clawdbot:plugin-sdk@0.1.0",
        "the package it was built against"
    );
    let info = claw.run(&["plugins", "info", "legacy-portal-auth"]);
    assert!(
        info.ok().contains(&format!("reason:    {reason}")),
        "{}",
        info.stdout
    );
    let doctor = claw.run(&["plugins", "doctor"]);
    assert_eq!(
        doctor.code, 1,
        "doctor must fail when an enabled plugin is in error"
    );
    assert!(
        doctor
            .stdout
            .contains(&format!("FAIL legacy-portal-auth: {reason}")),
        "{}",
        doctor.stdout
    );
    assert!(doctor.stdout.contains("ok   echo"));
}

#[test]
fn a_newer_incompatible_sdk_says_upgrade_or_rebuild() {
    let claw = Claw::new();
    claw.place_plugin(
        "future-sdk-plugin",
        Some(&fixture_manifest("future-sdk-plugin")),
        Some(("future_sdk_plugin.wasm", &fixture("future_sdk_plugin.wasm"))),
    );
    assert_eq!(
        error_of(&claw, "future-sdk-plugin"),
        "plugin \"future-sdk-plugin\" was built against claw:plugin@0.3.0; this host supports 0.1.x, 0.2.x. \
         Upgrade claw, or rebuild the plugin with claw-plugin-sdk 0.2."
    );
}

#[test]
fn files_that_are_not_components_each_get_their_own_reason() {
    let claw = Claw::new();
    let m = |id: &str| manifest(id, "^0.1", "[\"provider\"]", "p.wasm");
    let core = wat::parse_str("(module (func (export \"run\")))").unwrap();
    claw.place_plugin(
        "core-module",
        Some(&m("core-module")),
        Some(("p.wasm", &core)),
    );
    let random: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    claw.place_plugin(
        "random-bytes",
        Some(&m("random-bytes")),
        Some(("p.wasm", &random)),
    );
    let net = fixture("net_plugin.wasm");
    claw.place_plugin(
        "truncated",
        Some(&m("truncated")),
        Some(("p.wasm", &net[..net.len() / 2])),
    );
    let empty = wat::parse_str("(component)").unwrap();
    claw.place_plugin("no-role", Some(&m("no-role")), Some(("p.wasm", &empty)));
    claw.place_plugin("no-file", Some(&m("no-file")), None);

    let plugins = claw.plugins();
    assert_echo_loaded(&plugins);
    let reason = |id: &str| {
        plugins[id]["error"]
            .as_str()
            .unwrap_or_else(|| panic!("{id}: {:#}", plugins[id]))
            .to_string()
    };
    assert_eq!(
        reason("core-module"),
        "plugin \"core-module\": file is a core WebAssembly module, not a component; build with --target wasm32-wasip2"
    );
    assert_eq!(
        reason("random-bytes"),
        "plugin \"random-bytes\": file is not WebAssembly; expected a component built with --target wasm32-wasip2"
    );
    assert!(
        reason("truncated")
            .starts_with("plugin \"truncated\": the component is damaged or truncated ("),
        "{}",
        reason("truncated")
    );
    assert!(reason("truncated").ends_with("); rebuild or reinstall it"));
    assert_eq!(
        reason("no-role"),
        "plugin \"no-role\" exports neither claw:plugin/provider nor claw:plugin/auth (it exports nothing); \
         export one with claw_plugin_sdk::export_provider! or export_auth!"
    );
    assert!(
        reason("no-file").contains("no such file; the manifest names component \"p.wasm\""),
        "{}",
        reason("no-file")
    );
    for (id, step) in [
        ("core-module", "format"),
        ("random-bytes", "format"),
        ("truncated", "format"),
        ("no-role", "sdk"),
        ("no-file", "read"),
    ] {
        assert_eq!(plugins[id]["errorStep"], step, "{id}");
    }
}

#[test]
fn manifest_problems_each_name_the_field() {
    let claw = Claw::new();
    let net = fixture("net_plugin.wasm");
    let good = fixture_manifest("net-plugin");
    let component = Some(("net_plugin.wasm", net.as_slice()));
    claw.place_plugin("no-manifest", None, component);
    claw.place_plugin(
        "unparseable",
        Some("id = \"unparseable\"\nroles = [provider"),
        component,
    );
    claw.place_plugin("other-folder", Some(&good), component);
    claw.place_plugin(
        "bad-version",
        Some(
            &good
                .replace("net-plugin\"", "bad-version\"")
                .replace("0.1.0", "1.x"),
        ),
        component,
    );
    claw.place_plugin(
        "wrong-sdk",
        Some(
            &good
                .replace("net-plugin\"", "wrong-sdk\"")
                .replace("^0.2", "^0.1"),
        ),
        component,
    );
    claw.place_plugin(
        "wrong-role",
        Some(
            &good
                .replace("net-plugin\"", "wrong-role\"")
                .replace("[\"provider\"]", "[\"auth\"]"),
        ),
        component,
    );
    claw.place_plugin(
        "no-sdk",
        Some(
            &good
                .replace("net-plugin\"", "no-sdk\"")
                .replace("sdk = \"^0.2\"\n", ""),
        ),
        component,
    );

    let plugins = claw.plugins();
    assert_echo_loaded(&plugins);
    let reason = |id: &str| {
        plugins[id]["error"]
            .as_str()
            .unwrap_or_else(|| panic!("{id}: {:#}", plugins[id]))
            .to_string()
    };
    assert!(
        reason("no-manifest").starts_with("plugin \"no-manifest\": no claw-plugin.toml in "),
        "{}",
        reason("no-manifest")
    );
    assert!(
        reason("unparseable").starts_with("plugin \"unparseable\": claw-plugin.toml is not valid"),
        "{}",
        reason("unparseable")
    );
    assert_eq!(
        reason("other-folder"),
        "plugin \"other-folder\": manifest says id \"net-plugin\" but it is installed in folder \"other-folder\"; \
         reinstall it with `claw plugins install`"
    );
    assert!(
        reason("bad-version")
            .starts_with("plugin \"bad-version\": claw-plugin.toml: bad version \"1.x\""),
        "{}",
        reason("bad-version")
    );
    assert!(
        reason("no-sdk").contains("missing field `sdk` (e.g. sdk = \"^0.2\")"),
        "{}",
        reason("no-sdk")
    );
    assert!(
        reason("wrong-sdk").contains("manifest says sdk \"^0.1\" but the component was built against claw:plugin@0.2.0; set sdk = \"^0.2\""),
        "{}",
        reason("wrong-sdk")
    );
    assert!(
        reason("wrong-role").contains(
            "manifest lists role \"auth\" but the component does not export claw:plugin/auth"
        ),
        "{}",
        reason("wrong-role")
    );
    assert_eq!(plugins["wrong-sdk"]["errorStep"], "manifest-mismatch");
    assert_eq!(plugins["no-manifest"]["errorStep"], "manifest");
}

#[test]
fn install_validates_everything_before_writing_anything() {
    let claw = Claw::new();
    let src = tempfile::tempdir().unwrap();
    std::fs::write(
        src.path().join("claw-plugin.toml"),
        fixture_manifest("old-sdk-plugin"),
    )
    .unwrap();
    std::fs::write(
        src.path().join("old_sdk_plugin.wasm"),
        fixture("old_sdk_plugin.wasm"),
    )
    .unwrap();
    let run = claw.run(&["plugins", "install", src.path().to_str().unwrap()]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("refusing to install"), "{}", run.stderr);
    assert!(run.stderr.contains("nothing was written"), "{}", run.stderr);
    assert!(
        run.stderr.contains("Did you mean claw:plugin?"),
        "{}",
        run.stderr
    );
    let left: Vec<_> = std::fs::read_dir(claw.dir())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(left.is_empty(), "a refused install wrote {left:?}");

    // A good plugin, given as a .wasm with its manifest beside it.
    let good = tempfile::tempdir().unwrap();
    let wasm = fixture("net_plugin.wasm");
    std::fs::write(
        good.path().join("claw-plugin.toml"),
        fixture_manifest("net-plugin"),
    )
    .unwrap();
    std::fs::write(good.path().join("net_plugin.wasm"), &wasm).unwrap();
    let wasm_arg = good.path().join("net_plugin.wasm");
    let run = claw.run(&["plugins", "install", wasm_arg.to_str().unwrap()]);
    assert!(
        run.ok().contains("Installed net-plugin 0.1.0"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("network: 127.0.0.1"), "{}", run.stdout);
    let installed = claw.dir().join("plugins/net-plugin");
    assert_eq!(
        std::fs::read(installed.join("net_plugin.wasm")).unwrap(),
        wasm
    );
    assert_eq!(
        std::fs::read_to_string(installed.join("claw-plugin.toml")).unwrap(),
        fixture_manifest("net-plugin")
    );
    let plugins = claw.plugins();
    assert_eq!(plugins["net-plugin"]["status"], "loaded");
    assert_eq!(plugins["net-plugin"]["source"], "installed");

    let again = claw.run(&["plugins", "install", wasm_arg.to_str().unwrap()]);
    assert_eq!(again.code, 1);
    assert!(
        again
            .stderr
            .contains("plugin \"net-plugin\" 0.1.0 is already installed in"),
        "{}",
        again.stderr
    );
    assert!(again.stderr.contains("use --force to replace it"));
    claw.run(&["plugins", "install", "--force", wasm_arg.to_str().unwrap()])
        .ok();

    let run = claw.run(&["plugins", "uninstall", "net-plugin"]);
    assert!(run.ok().contains("Uninstalled net-plugin"));
    assert!(!installed.exists());
    assert!(!claw.plugins().contains_key("net-plugin"));

    let bundled = claw.run(&["plugins", "uninstall", "echo"]);
    assert_eq!(bundled.code, 1);
    assert!(bundled.stderr.contains("plugin \"echo\" is bundled with claw and cannot be uninstalled; turn it off with `claw plugins disable echo`"), "{}", bundled.stderr);
    let missing = claw.run(&["plugins", "install", "/nonexistent/plugin"]);
    assert_eq!(missing.code, 1);
    assert!(
        missing
            .stderr
            .contains("/nonexistent/plugin does not exist"),
        "{}",
        missing.stderr
    );
}

#[test]
fn enable_and_disable_change_only_that_entry_of_the_config() {
    let claw = Claw::new();
    let config = claw.write_config(
        r#"{"agents": {"defaults": {"model": {"primary": "echo/echo-1"}}}, "plugins": {"entries": {"echo": {"config": {"greeting": "hi"}}}}, "gateway": {"port": 18789}}"#,
    );
    assert!(
        claw.run(&["plugins", "disable", "echo"])
            .ok()
            .contains("Disabled echo")
    );
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&config).unwrap()).unwrap();
    assert_eq!(
        saved,
        serde_json::json!({"agents": {"defaults": {"model": {"primary": "echo/echo-1"}}},
            "plugins": {"entries": {"echo": {"config": {"greeting": "hi"}, "enabled": false}}}, "gateway": {"port": 18789}})
    );
    let plugins = claw.plugins();
    assert_eq!(plugins["echo"]["status"], "disabled");
    assert_eq!(
        plugins["echo"]["sdk"], "claw:plugin@0.2.0",
        "a disabled plugin still says which SDK it uses"
    );
    let why = plugins["echo"]["error"].as_str().unwrap();
    assert!(why.contains("run `claw plugins enable echo`"), "{why}");
    assert!(
        claw.run(&["plugins", "list"])
            .ok()
            .contains(&format!("why: {why}"))
    );
    assert_eq!(
        claw.run(&["plugins", "doctor"]).code,
        0,
        "a disabled plugin is not a failure"
    );

    claw.run(&["plugins", "enable", "echo"]).ok();
    assert_eq!(claw.plugins()["echo"]["status"], "loaded");

    let unknown = claw.run(&["plugins", "enable", "nope"]);
    assert_eq!(unknown.code, 1);
    assert!(
        unknown
            .stderr
            .contains("no plugin with id \"nope\"; known plugins: anthropic-messages, echo, minimax-portal-auth, openai-completions"),
        "{}",
        unknown.stderr
    );
}

#[test]
fn allow_and_deny_lists_decide_with_a_reason() {
    let claw = Claw::new();
    claw.place_plugin(
        "net-plugin",
        Some(&fixture_manifest("net-plugin")),
        Some(("net_plugin.wasm", &fixture("net_plugin.wasm"))),
    );
    claw.write_config(
        r#"{ plugins: { allow: ["echo", "net-plugin"], deny: ["net-plugin"] } } // JSON5"#,
    );
    let plugins = claw.plugins();
    assert_eq!(plugins["echo"]["status"], "loaded");
    assert_eq!(plugins["net-plugin"]["status"], "disabled");
    assert!(
        plugins["net-plugin"]["error"]
            .as_str()
            .unwrap()
            .starts_with("denied by plugins.deny in claw.json")
    );

    claw.write_config(r#"{"plugins": {"allow": ["net-plugin"]}}"#);
    let plugins = claw.plugins();
    assert_eq!(plugins["net-plugin"]["status"], "loaded");
    assert_eq!(plugins["echo"]["status"], "disabled");
    assert!(
        plugins["echo"]["error"]
            .as_str()
            .unwrap()
            .starts_with("not in plugins.allow in claw.json")
    );

    let enable = claw.run(&["plugins", "enable", "echo"]);
    assert!(
        enable
            .ok()
            .contains("echo still will not load: not in plugins.allow"),
        "{}",
        enable.stdout
    );
}

#[test]
fn a_duplicate_id_is_disabled_naming_the_winner() {
    let claw = Claw::new();
    let wasm = fixture("net_plugin.wasm");
    let installed = claw.place_plugin(
        "net-plugin",
        Some(&fixture_manifest("net-plugin")),
        Some(("net_plugin.wasm", &wasm)),
    );
    let extra = tempfile::tempdir().unwrap();
    let copy = extra.path().join("net-copy");
    std::fs::create_dir_all(&copy).unwrap();
    std::fs::write(
        copy.join("claw-plugin.toml"),
        fixture_manifest("net-plugin"),
    )
    .unwrap();
    std::fs::write(copy.join("net_plugin.wasm"), &wasm).unwrap();
    claw.write_config(
        &serde_json::json!({"plugins": {"load": {"paths": [extra.path(), "/no/such/folder"]}}})
            .to_string(),
    );

    let run = claw.run(&["plugins", "list", "--json"]);
    let list = run.json();
    let entries: Vec<&Value> = list["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["id"] == "net-plugin")
        .collect();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0]["status"], "loaded");
    assert_eq!(entries[1]["status"], "disabled");
    assert_eq!(entries[1]["source"], "path");
    assert_eq!(
        entries[1]["error"],
        format!(
            "duplicate id \"net-plugin\": already provided by {}; this copy is ignored (give it another id, or remove it)",
            installed.display()
        )
    );
    let missing = list["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == "folder")
        .unwrap();
    assert_eq!(missing["status"], "error");
    assert!(
        missing["error"]
            .as_str()
            .unwrap()
            .contains("plugins.load.paths entry /no/such/folder does not exist")
    );
}

#[test]
fn a_broken_config_is_reported_with_its_location_and_left_alone() {
    let claw = Claw::new();
    let text = "{ plugins: { enabled: tru } }";
    let config = claw.write_config(text);
    let run = claw.run(&["plugins", "disable", "echo"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("claw.json is not valid JSON5"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("claw changed nothing"),
        "{}",
        run.stderr
    );
    assert_eq!(std::fs::read_to_string(config).unwrap(), text);
}

#[test]
fn info_describes_one_plugin() {
    let claw = Claw::new();
    let info = claw.run(&["plugins", "info", "echo", "--json"]).json();
    assert_eq!(info["id"], "echo");
    assert_eq!(info["provider"]["apis"][0], "echo");
    let text = claw.run(&["plugins", "info", "echo"]);
    assert!(
        text.ok()
            .contains("model echo/echo-1 \"Echo\": context 32768, max output 4096"),
        "{}",
        text.stdout
    );
    let unknown = claw.run(&["plugins", "info", "nope"]);
    assert_eq!(unknown.code, 1);
    assert!(unknown.stderr.contains("no plugin with id \"nope\""));
}

#[test]
fn an_installed_copy_of_a_bundled_plugin_never_replaces_the_working_one() {
    // The user-reported case: an old OAuth plugin with the bundled plugin's id,
    // built against the old SDK package. The bundled plugin keeps serving.
    let claw = Claw::new();
    let manifest = fixture_manifest("old-sdk-plugin").replace(
        "id = \"legacy-portal-auth\"",
        "id = \"minimax-portal-auth\"",
    );
    let dir = claw.place_plugin(
        "minimax-portal-auth",
        Some(&manifest),
        Some(("old_sdk_plugin.wasm", &fixture("old_sdk_plugin.wasm"))),
    );
    let run = claw.run(&["plugins", "list", "--json"]);
    let list = run.json();
    let copies: Vec<&Value> = list["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["id"] == "minimax-portal-auth")
        .collect();
    assert_eq!(copies.len(), 2);
    assert_eq!(
        (copies[0]["source"].as_str(), copies[0]["status"].as_str()),
        (Some("bundled"), Some("loaded"))
    );
    assert_eq!(
        (copies[1]["source"].as_str(), copies[1]["status"].as_str()),
        (Some("installed"), Some("disabled"))
    );
    assert_eq!(
        copies[1]["error"],
        format!(
            "duplicate id \"minimax-portal-auth\": already provided by bundled:minimax-portal-auth; this copy is ignored (give it another id, or remove it)"
        )
    );
    assert!(dir.exists(), "nothing is deleted");
}

#[cfg(unix)]
#[test]
fn files_over_the_size_limits_are_refused_with_their_size_and_the_limit() {
    let claw = Claw::new();
    let limit = "over the limit of 64 MiB (67108864 bytes) for a plugin component";

    // A component that is a link to /dev/zero: install reads no more than the
    // limit and says so (it used to read until memory ran out).
    let src = tempfile::tempdir().unwrap();
    std::fs::write(
        src.path().join("claw-plugin.toml"),
        fixture_manifest("net-plugin"),
    )
    .unwrap();
    let zero = src.path().join("net_plugin.wasm");
    std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
    for arg in [zero.clone(), src.path().to_path_buf()] {
        let run = claw.run(&["plugins", "install", arg.to_str().unwrap()]);
        assert_ne!(run.code, 0, "{}", run.stdout);
        let expected = format!(
            "{}: not a regular file: it has more than 67108864 bytes, {limit}",
            zero.display()
        );
        assert!(run.stderr.contains(&expected), "{expected}\n{}", run.stderr);
    }
    println!(
        "install of a link to /dev/zero: {}",
        run_stderr_line(&claw, &zero)
    );
    assert!(!claw.dir().join("plugins/net-plugin").exists());

    // At load: an installed plugin whose component became a link to /dev/zero,
    // and one whose (sparse) component is 65 MiB, are errors at the read step.
    let dir = claw.place_plugin("net-plugin", Some(&fixture_manifest("net-plugin")), None);
    std::os::unix::fs::symlink("/dev/zero", dir.join("net_plugin.wasm")).unwrap();
    let big = claw.place_plugin(
        "big",
        Some(&manifest("big", "^0.1", "[\"provider\"]", "big.wasm")),
        None,
    );
    std::fs::File::create(big.join("big.wasm"))
        .unwrap()
        .set_len(65 << 20)
        .unwrap();
    let plugins = claw.plugins();
    assert_echo_loaded(&plugins);
    for (id, size) in [
        (
            "net-plugin",
            "not a regular file: it has more than 67108864 bytes".to_string(),
        ),
        ("big", format!("the file is {} bytes", 65u64 << 20)),
    ] {
        assert_eq!(plugins[id]["errorStep"], "read", "{:#}", plugins[id]);
        let error = plugins[id]["error"].as_str().unwrap();
        assert!(error.contains(&format!("{size}, {limit}")), "{error}");
    }

    // A manifest over 64 KiB.
    claw.place_plugin(
        "huge-manifest",
        Some(&format!(
            "{}\n# {}\n",
            manifest("huge-manifest", "^0.1", "[\"provider\"]", "p.wasm"),
            "x".repeat(70_000)
        )),
        None,
    );
    let error = claw.plugins()["huge-manifest"]["error"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        error.contains("over the limit of 64 KiB (65536 bytes) for a plugin manifest"),
        "{error}"
    );
}

#[cfg(unix)]
fn run_stderr_line(claw: &Claw, path: &std::path::Path) -> String {
    let run = claw.run(&["plugins", "install", path.to_str().unwrap()]);
    run.stderr.lines().last().unwrap_or_default().to_string()
}

#[test]
fn a_plugin_whose_describe_never_returns_costs_only_the_short_describe_deadline() {
    let claw = Claw::new();
    let wasm = fixture("describe_forever.wasm");
    for id in ["describe-forever", "describe-forever-2"] {
        claw.place_plugin(
            id,
            Some(
                &fixture_manifest("describe-forever")
                    .replace("id = \"describe-forever\"", &format!("id = \"{id}\"")),
            ),
            Some(("describe_forever.wasm", &wasm)),
        );
    }
    claw.plugins(); // warm the compiled-artifact cache
    let started = std::time::Instant::now();
    let plugins = claw.plugins();
    let elapsed = started.elapsed();
    println!(
        "plugins list with two plugins whose describe never returns: {} ms",
        elapsed.as_millis()
    );
    assert_echo_loaded(&plugins);
    for id in ["describe-forever", "describe-forever-2"] {
        assert_eq!(plugins[id]["status"], "error", "{:#}", plugins[id]);
        assert_eq!(plugins[id]["errorStep"], "describe");
        assert_eq!(
            plugins[id]["error"],
            format!(
                "plugin \"{id}\": describe failed: plugin \"{id}\" did not finish describe within 2000 ms (the call deadline)"
            )
        );
    }
    // Discovery order is kept although the loads ran side by side.
    let list = claw.run(&["plugins", "list", "--json"]).json();
    let ids: Vec<&str> = list["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    let at = |id: &str| ids.iter().position(|i| *i == id).unwrap();
    assert!(at("describe-forever") < at("describe-forever-2"), "{ids:?}");
}

/// Issue 13: a plugin built with the frozen 0.1 SDK (tests/fixtures/sdk-0.1)
/// installs, loads beside 0.2 plugins and answers plain text; a request with
/// tools skips it with a reason that says why and what to do, and moves on.
#[test]
fn a_plugin_built_on_sdk_0_1_answers_text_and_is_skipped_for_tools() {
    let claw = Claw::new();
    let src = tempfile::tempdir().unwrap();
    std::fs::write(
        src.path().join("claw-plugin.toml"),
        fixture_manifest("sdk01-echo"),
    )
    .unwrap();
    std::fs::write(
        src.path().join("sdk01_echo.wasm"),
        fixture("sdk01_echo.wasm"),
    )
    .unwrap();
    claw.run(&["plugins", "install", src.path().to_str().unwrap()])
        .ok();
    let plugins = claw.plugins();
    assert_echo_loaded(&plugins);
    let old = &plugins["sdk01-echo"];
    assert_eq!(old["status"], "loaded", "{old:#}");
    assert_eq!(old["sdk"], "claw:plugin@0.1.0", "{old:#}");
    assert_eq!(plugins["echo"]["sdk"], "claw:plugin@0.2.0");
    let table = claw.run(&["plugins", "list"]);
    assert!(table.ok().contains("claw:plugin@0.1.0"), "{}", table.stdout);

    let run = claw.run(&[
        "infer",
        "model",
        "run",
        "--model",
        "sdk01-echo/echo-old",
        "--prompt",
        "plain words",
        "--json",
    ]);
    let outcome = run.json();
    assert_eq!(outcome["ok"], true, "{outcome:#}");
    assert_eq!(outcome["outputs"][0]["text"], "plain words");

    claw.write_config(
        &serde_json::json!({"agents": {"defaults": {"model": {"primary": "sdk01-echo/echo-old", "fallbacks": ["echo/echo-1"]}}}})
            .to_string(),
    );
    let gw = support::gateway::GatewayProc::start(&claw, &[]);
    let tools = serde_json::json!([{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]);
    let (status, body) = gw.call(
        "POST",
        "/v1/chat/completions",
        &serde_json::json!({"model": "sdk01-echo/echo-old", "tools": tools,
                            "messages": [{"role": "user", "content": "with tools"}]}),
    );
    assert_eq!(status, 200, "{body}");
    let log = gw.log();
    assert!(log.contains("chosen=\"echo/echo-1\""), "{log}");
    assert!(
        log.contains("plugin \"sdk01-echo\" is built on claw:plugin@0.1 and cannot carry tool definitions, tool calls or tool results; rebuild it with claw-plugin-sdk 0.2"),
        "{log}"
    );
    drop(gw);
    // Alone in the chain, the request is the client's to change: a 400 that says why.
    claw.write_config(
        &serde_json::json!({"agents": {"defaults": {"model": {"primary": "sdk01-echo/echo-old"}}}})
            .to_string(),
    );
    let gw = support::gateway::GatewayProc::start(&claw, &[]);
    let (status, body) = gw.call(
        "POST",
        "/v1/chat/completions",
        &serde_json::json!({"model": "sdk01-echo/echo-old", "tools": tools,
                            "messages": [{"role": "user", "content": "with tools"}]}),
    );
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["type"], "invalid_request_error", "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("is built on claw:plugin@0.1 and cannot carry tool definitions"),
        "{message}"
    );
}
