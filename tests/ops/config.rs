//! `claw config get/set/unset/validate`.

use crate::support::{Claw, Run, root};

/// The MiniMax docs' JSON5 config, with a line comment and a block comment.
fn commented() -> String {
    let text = std::fs::read_to_string(root().join("tests/user-configs/minimax-api-key.json5"))
        .unwrap()
        .replace("  agents:", "  /* the default model */\n  agents:");
    format!("// my claw settings\n{text}")
}

fn read(claw: &Claw) -> String {
    std::fs::read_to_string(claw.dir().join("claw.json")).unwrap()
}

fn failed(run: &Run) -> &str {
    assert_eq!(
        run.code, 1,
        "stdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    &run.stderr
}

#[test]
fn set_changes_one_value_of_a_commented_json5_file_and_nothing_else() {
    let claw = Claw::new();
    let original = commented();
    let path = claw.write_config(&original);
    let run = claw.run(&[
        "config",
        "set",
        "agents.defaults.model.primary",
        "minimax/MiniMax-M2.7",
    ]);
    assert_eq!(
        run.ok(),
        format!("Set agents.defaults.model.primary in {}.\n", path.display())
    );
    assert_eq!(
        read(&claw),
        original.replace(
            "primary: \"minimax/MiniMax-M2.1\"",
            "primary: \"minimax/MiniMax-M2.7\""
        )
    );
    assert!(!claw.dir().join("claw.json.bak").exists());
    let run = claw.run(&["config", "get", "agents.defaults.model.primary"]);
    assert_eq!(run.ok(), "minimax/MiniMax-M2.7\n");
    let run = claw.run(&["config", "get", "agents.defaults.model.primary", "--json"]);
    assert_eq!(run.json(), "minimax/MiniMax-M2.7");
}

#[test]
fn a_new_nested_key_keeps_the_comments_and_unset_gives_the_original_back() {
    let claw = Claw::new();
    let original = commented();
    let path = claw.write_config(&original);
    let alias = r#"agents.defaults.models["minimax/MiniMax-M2.1"].alias"#;
    claw.run(&["config", "set", alias, "mm"]).ok();
    claw.run(&["config", "set", "gateway.port", "18790"]).ok();
    let edited = read(&claw);
    assert_eq!(
        edited,
        original
            .replace(
                r#"model: { primary: "minimax/MiniMax-M2.1" } } },"#,
                r#"model: { primary: "minimax/MiniMax-M2.1" }, models: { "minimax/MiniMax-M2.1": { alias: "mm" } } } },"#
            )
            .replace("    },\n  },\n}\n", "    },\n  },\n  gateway: {\n    port: 18790,\n  },\n}\n")
    );
    assert_eq!(claw.run(&["config", "get", alias]).ok(), "mm\n");
    assert_eq!(
        claw.run(&["config", "get", "gateway"]).ok(),
        "{\n  \"port\": 18790\n}\n"
    );

    let run = claw.run(&["config", "unset", "gateway"]);
    assert_eq!(
        run.ok(),
        format!("Removed gateway from {}.\n", path.display())
    );
    claw.run(&["config", "unset", "agents.defaults.models"])
        .ok();
    assert_eq!(read(&claw), original);

    // Missing: exit 1, saying what the parent has.
    let err = failed(&claw.run(&["config", "unset", "gateway"])).to_string();
    assert!(
        err.contains(&format!(
            "`gateway` is not set in {}; the file has: env, agents, models",
            path.display()
        )),
        "{err}"
    );
    let err = failed(&claw.run(&["config", "get", "agents.defaults.nope"])).to_string();
    assert!(err.contains("`agents.defaults` has: model"), "{err}");
    assert_eq!(read(&claw), original);
}

#[test]
fn every_users_config_is_valid() {
    let dir = root().join("tests/user-configs");
    let mut checked = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let file = entry.unwrap().path();
        if !file
            .extension()
            .is_some_and(|e| e == "json" || e == "json5")
        {
            continue;
        }
        let claw = Claw::new();
        let path = claw.write_config(&std::fs::read_to_string(&file).unwrap());
        let run = claw.run(&["config", "validate"]);
        assert_eq!(
            run.ok(),
            format!("{}: valid\n", path.display()),
            "{}",
            file.display()
        );
        checked += 1;
    }
    assert_eq!(checked, 4);
}

#[test]
fn validate_lists_every_problem_with_its_path() {
    let claw = Claw::new();
    let path = claw.write_config(
        r#"{agents: {defaults: {model: {primary: 42}}}, plugins: {entries: {x: {enabled: "yes"}}}}"#,
    );
    let run = claw.run(&["config", "validate"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines[0], format!("{}: 2 problems", path.display()));
    assert!(
        lines[1].starts_with("  agents.defaults.model: must be \"provider/model\" or {"),
        "{}",
        lines[1]
    );
    assert!(
        lines[2].starts_with(
            "  plugins.entries.x.enabled: invalid type: string \"yes\", expected a boolean"
        ),
        "{}",
        lines[2]
    );
    assert_eq!(lines.len(), 3);

    let run = claw.run(&["config", "validate", "--json"]);
    assert_eq!(run.code, 1);
    let out = run.json();
    assert_eq!(out["valid"], false);
    assert_eq!(out["path"], path.display().to_string());
    let paths: Vec<&str> = out["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths,
        ["agents.defaults.model", "plugins.entries.x.enabled"]
    );
}

#[test]
fn secrets_are_refused_on_the_command_line_and_redacted() {
    let claw = Claw::new();
    let original = commented();
    claw.write_config(&original);
    for (path, secret) in [
        ("models.providers.minimax.apiKey", "sk-live-123"),
        ("env.OPENAI_API_KEY", "abc"),
        ("agents.defaults.model.primary", "sk-ant-api03-xyz"),
    ] {
        let run = claw.run(&["config", "set", path, secret]);
        let err = failed(&run);
        assert!(
            err.contains("refusing to take a secret on the command line")
                && err.contains("`claw auth set-key <provider>` (it reads stdin)")
                && err.contains(&format!("claw config set {path} '${{VAR_NAME}}'")),
            "{err}"
        );
        assert!(
            !run.stdout.contains(secret) && !run.stderr.contains(secret),
            "{err}"
        );
        assert_eq!(read(&claw), original);
    }
    // A reference is how a key belongs in claw.json.
    claw.run(&[
        "config",
        "set",
        "models.providers.minimax.apiKey",
        "${MINIMAX_API_KEY}",
    ])
    .ok();
    assert_eq!(read(&claw), original);
    let run = claw.run(&["config", "get", "models.providers.minimax.apiKey"]);
    assert_eq!(run.ok(), "${MINIMAX_API_KEY}\n");
    // A literal key already in the file is not printed.
    claw.write_config(&original.replace("${MINIMAX_API_KEY}", "sk-live-456"));
    let run = claw.run(&["config", "get", "models.providers.minimax.apiKey"]);
    assert_eq!(run.ok(), "<redacted>\n");
    let run = claw.run(&["config", "get", "models.providers.minimax", "--json"]);
    assert_eq!(run.json()["apiKey"], "<redacted>");
    let run = claw.run(&["config", "get", "env"]);
    assert_eq!(run.json()["MINIMAX_API_KEY"], "<redacted>");
    assert!(!run.stdout.contains("sk-"), "{}", run.stdout);
}

#[test]
fn a_set_that_would_make_the_config_invalid_changes_nothing() {
    let claw = Claw::new();
    let original = commented();
    claw.write_config(&original);
    let err =
        failed(&claw.run(&["config", "set", "agents.defaults.model.primary", "42"])).to_string();
    assert!(
        err.contains("not set: agents.defaults.model.primary would make")
            && err.contains("  agents.defaults.model: must be \"provider/model\" or {"),
        "{err}"
    );
    let err = failed(&claw.run(&[
        "config",
        "set",
        "agents.defaults.model.fallbacks",
        "[\"nowhere/x\"]",
    ]))
    .to_string();
    assert!(
        err.contains("agents.defaults.model.fallbacks[0]: Unknown model \"nowhere/x\": no provider \"nowhere\" is configured"),
        "{err}"
    );
    let err = failed(&claw.run(&["config", "set", "models.mode.x", "1"])).to_string();
    assert!(
        err.contains("`models.mode` must be an object, found a string; claw cannot set `models.mode.x` inside it"),
        "{err}"
    );
    assert_eq!(read(&claw), original);
    // `--string` keeps text that reads as JSON5 a string.
    let model = "models.providers.minimax.models[0]";
    claw.run(&["config", "set", &format!("{model}.name"), "42", "--string"])
        .ok();
    claw.run(&["config", "set", &format!("{model}.maxTokens"), "4096"])
        .ok();
    assert_eq!(
        read(&claw),
        original
            .replace("name: \"MiniMax M2.1\"", "name: \"42\"")
            .replace("maxTokens: 8192", "maxTokens: 4096")
    );
    assert_eq!(
        claw.run(&["config", "get", &format!("{model}.name")]).ok(),
        "42\n"
    );
}
