//! End to end: logging in through the bundled minimax-portal-auth plugin against
//! a local stand-in of MiniMax's OAuth endpoints, the credential store, token
//! refresh, and `claw auth` / `claw onboard`.

mod support;

use std::process::{Command, Stdio};

use serde_json::{Value, json};
use support::upstream::{OAuthOutcome, OAuthScript, RefreshBehavior, Upstream};
use support::{CLAW, Claw, Run};

/// Every token the stand-in may issue, and the keys the tests use.
const SECRETS: &[&str] = &["mm-access-", "mm-refresh-", "sk-test-key-"];

fn assert_no_secrets(run: &Run) {
    for s in SECRETS {
        assert!(
            !run.stdout.contains(s) && !run.stderr.contains(s),
            "secret {s}… leaked:\n{}\n{}",
            run.stdout,
            run.stderr
        );
    }
}

/// A claw whose portal plugin logs in against the stand-in.
fn portal_claw(upstream: &Upstream) -> Claw {
    let claw = Claw::new();
    claw.write_config(&json!({"plugins": {"entries": {"minimax-portal-auth": {"config": {"baseUrl": upstream.url()}}}}}).to_string());
    claw
}

fn onboard(claw: &Claw) -> Run {
    let run = claw.run(&["onboard", "--auth-choice", "minimax-portal"]);
    assert_no_secrets(&run);
    run
}

fn stored(claw: &Claw) -> Value {
    serde_json::from_slice(&std::fs::read(claw.dir().join("auth/profiles.json")).unwrap()).unwrap()
}

fn infer(claw: &Claw) -> (Run, Value) {
    let run = claw.run(&[
        "infer",
        "model",
        "run",
        "--model",
        "minimax-portal/MiniMax-M2.1",
        "--prompt",
        "hi",
        "--json",
    ]);
    assert_no_secrets(&run);
    let json = run.json();
    (run, json)
}

#[test]
fn onboarding_logs_in_writes_the_profile_and_the_provider_and_infer_uses_the_token() {
    let upstream = Upstream::start();
    upstream.oauth(OAuthScript::default());
    upstream.require_tokens();
    let claw = portal_claw(&upstream);
    let run = onboard(&claw);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    // No terminal here: the code and URL are printed and the login waits.
    assert!(
        run.stderr.contains("ABCD-1234")
            && run.stderr.contains(&format!("{}/verify", upstream.url())),
        "{}",
        run.stderr
    );
    assert!(
        run.stdout.contains("profile minimax-portal:default saved"),
        "{}",
        run.stdout
    );

    // The secret is in the store (0600), never in claw.json.
    let store = stored(&claw);
    let profile = &store["profiles"]["minimax-portal:default"];
    assert_eq!(profile["kind"], "oauth");
    assert_eq!(profile["access"], "mm-access-1");
    assert_eq!(profile["refresh"], "mm-refresh-1");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(claw.dir().join("auth/profiles.json"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600);
    }
    let config_text = std::fs::read_to_string(claw.dir().join("claw.json")).unwrap();
    assert!(
        !config_text.contains("mm-access") && !config_text.contains("mm-refresh"),
        "{config_text}"
    );
    let config: Value = serde_json::from_str(&config_text).unwrap();
    assert_eq!(
        config["auth"]["profiles"]["minimax-portal:default"],
        json!({"provider": "minimax-portal", "mode": "oauth"})
    );
    let provider = &config["models"]["providers"]["minimax-portal"];
    assert_eq!(provider["api"], "anthropic-messages");
    assert_eq!(provider["baseUrl"], format!("{}/anthropic", upstream.url()));
    assert_eq!(
        config["agents"]["defaults"]["model"]["primary"],
        "minimax-portal/MiniMax-M2.1"
    );

    let (run, json) = infer(&claw);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(json["provider"], "minimax-portal");
    let request = upstream
        .requests()
        .into_iter()
        .rev()
        .find(|r| r.path.ends_with("/v1/messages"))
        .unwrap();
    assert_eq!(request.header("authorization"), Some("Bearer mm-access-1"));

    let list = claw.run(&["auth", "list", "--json"]);
    assert_no_secrets(&list);
    let profiles = list.json()["profiles"].as_array().unwrap().clone();
    assert_eq!(profiles[0]["id"], "minimax-portal:default");
    assert_eq!(profiles[0]["status"], "ok");
    assert!(
        profiles[0]["fingerprint"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );
}

#[test]
fn failed_logins_say_why_and_save_nothing() {
    for (outcome, expected) in [
        (OAuthOutcome::StateMismatch, "possible CSRF"),
        (OAuthOutcome::Deny, "user denied the authorization"),
        (
            OAuthOutcome::Expire,
            "expired before the login was approved",
        ),
    ] {
        let upstream = Upstream::start();
        upstream.oauth(OAuthScript {
            outcome: outcome.clone(),
            ..OAuthScript::default()
        });
        let claw = portal_claw(&upstream);
        let run = onboard(&claw);
        assert_eq!(run.code, 1, "{outcome:?}");
        assert!(
            run.stderr.contains("login to minimax-portal failed") && run.stderr.contains(expected),
            "{outcome:?}: {}",
            run.stderr
        );
        assert!(
            !claw.dir().join("auth/profiles.json").exists(),
            "{outcome:?} saved a profile"
        );
    }
}

#[test]
fn an_expiring_token_is_refreshed_once_and_the_rotated_refresh_token_saved() {
    let upstream = Upstream::start();
    // The access token lives 2 s: inside the refresh margin from the start.
    upstream.oauth(OAuthScript {
        expires_in_ms: 2_000,
        ..OAuthScript::default()
    });
    upstream.require_tokens();
    let claw = portal_claw(&upstream);
    assert_eq!(onboard(&claw).code, 0);
    let (run, json) = infer(&claw);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(json["ok"], true);
    assert_eq!(upstream.refresh_calls(), 1);
    let profile = &stored(&claw)["profiles"]["minimax-portal:default"];
    assert_eq!(profile["access"], "mm-access-2");
    assert_eq!(
        profile["refresh"], "mm-refresh-2",
        "the rotated refresh token is saved"
    );
}

/// Mark the stored token as expired (the upstream still takes it for an hour).
fn expire_stored_token(claw: &Claw) {
    let path = claw.dir().join("auth/profiles.json");
    let mut store: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    store["profiles"]["minimax-portal:default"]["expiresAtMs"] = json!(1_000);
    std::fs::write(&path, serde_json::to_vec(&store).unwrap()).unwrap();
}

#[test]
fn twenty_concurrent_requests_with_an_expired_token_cause_one_refresh() {
    let upstream = Upstream::start();
    upstream.oauth(OAuthScript::default());
    upstream.require_tokens();
    let claw = portal_claw(&upstream);
    assert_eq!(onboard(&claw).code, 0);
    expire_stored_token(&claw);
    let children: Vec<_> = (0..20)
        .map(|_| {
            Command::new(CLAW)
                .args([
                    "infer",
                    "model",
                    "run",
                    "--model",
                    "minimax-portal/MiniMax-M2.1",
                    "--prompt",
                    "hi",
                    "--json",
                ])
                .env("CLAW_STATE_DIR", claw.dir())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!stdout.contains("mm-access") && !stdout.contains("mm-refresh"));
    }
    assert_eq!(
        upstream.refresh_calls(),
        1,
        "one refresh for twenty requests"
    );
}

#[test]
fn a_rejected_token_is_refreshed_once_then_retried() {
    let upstream = Upstream::start();
    upstream.oauth(OAuthScript::default());
    upstream.require_tokens();
    let claw = portal_claw(&upstream);
    assert_eq!(onboard(&claw).code, 0);
    // The upstream stops accepting the stored token although it has not expired.
    let path = claw.dir().join("auth/profiles.json");
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("mm-access-1", "mm-access-revoked");
    std::fs::write(&path, text).unwrap();
    let (run, json) = infer(&claw);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(json["attempts"].as_array().unwrap().len(), 1);
    assert_eq!(upstream.refresh_calls(), 1);
}

#[test]
fn a_rejected_refresh_marks_the_profile_and_says_to_log_in_again() {
    let upstream = Upstream::start();
    upstream.oauth(OAuthScript {
        expires_in_ms: 1_000,
        refresh: RefreshBehavior::Reject,
        ..OAuthScript::default()
    });
    upstream.require_tokens();
    let claw = portal_claw(&upstream);
    assert_eq!(onboard(&claw).code, 0);
    let (run, json) = infer(&claw);
    assert_eq!(run.code, 1);
    assert_eq!(json["attempts"][0]["reason"], "auth");
    let error = json["error"].as_str().unwrap();
    assert!(
        error.contains("refresh was rejected")
            && error.contains("claw auth login --provider minimax-portal"),
        "{error}"
    );
    let list = claw.run(&["auth", "list", "--json"]);
    assert_eq!(list.json()["profiles"][0]["status"], "needs_login");
    assert_no_secrets(&list);
    let table = claw.run(&["auth", "list"]);
    assert!(
        table.ok().contains("refresh was rejected"),
        "{}",
        table.stdout
    );
    assert_no_secrets(&table);
    // The next request does not hammer the token endpoint again.
    infer(&claw);
    assert_eq!(upstream.refresh_calls(), 1);
}

#[test]
fn api_keys_come_from_stdin_or_the_environment_and_are_never_printed() {
    let upstream = Upstream::start();
    let claw = Claw::new();
    claw.write_config(&json!({"models": {"providers": {"minimax": {"baseUrl": format!("{}/anthropic", upstream.url())}}}}).to_string());
    let mut child = Command::new(CLAW)
        .args(["auth", "set-key", "minimax"])
        .env("CLAW_STATE_DIR", claw.dir())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"sk-test-key-123\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains("Stored an API key for minimax as minimax:default")
    );

    let run = claw.run(&[
        "infer",
        "model",
        "run",
        "--model",
        "minimax/MiniMax-M2.1",
        "--prompt",
        "hi",
        "--json",
    ]);
    assert_no_secrets(&run);
    assert_eq!(run.json()["ok"], true, "{}", run.stderr);
    assert_eq!(
        upstream.requests().last().unwrap().header("x-api-key"),
        Some("sk-test-key-123")
    );

    let list = claw.run(&["auth", "list"]);
    assert!(
        list.ok().contains("minimax:default") && list.stdout.contains("api_key"),
        "{}",
        list.stdout
    );
    assert_no_secrets(&list);

    let missing = claw.run_env(
        &[
            "auth",
            "set-key",
            "anthropic",
            "--from-env",
            "CLAW_TEST_NO_SUCH_VAR",
        ],
        &[],
    );
    assert_eq!(missing.code, 1);
    assert!(
        missing
            .stderr
            .contains("environment variable CLAW_TEST_NO_SUCH_VAR is not set")
    );
    let from_env = claw.run_env(
        &["onboard", "--auth-choice", "anthropic-api"],
        &[("ANTHROPIC_API_KEY", "sk-test-key-env")],
    );
    assert_no_secrets(&from_env);
    assert!(
        from_env
            .ok()
            .contains("Stored an API key for anthropic as anthropic:default")
    );

    let out = claw.run(&["auth", "logout", "minimax:default"]);
    assert!(out.ok().contains("Logged out minimax:default"));
    let unknown = claw.run(&["onboard", "--auth-choice", "nope"]);
    assert!(
        unknown.stderr.contains(
            "unknown --auth-choice \"nope\"; choose one of: minimax-portal, minimax-portal-cn"
        ),
        "{}",
        unknown.stderr
    );
}

#[test]
fn a_save_killed_midway_never_leaves_a_partial_secrets_file() {
    let claw = Claw::new();
    let path = claw.dir().join("auth/profiles.json");
    let set_key = |dir: &std::path::Path, key: &str| {
        Command::new(CLAW)
            .args(["auth", "set-key", "minimax", "--from-env", "KEY"])
            .env("CLAW_STATE_DIR", dir)
            .env("KEY", key)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    // How long one whole save takes here (a debug build on a loaded machine
    // is far slower than a release one), so that the kills spread over it.
    let timing = Claw::new();
    let started = std::time::Instant::now();
    set_key(timing.dir(), "sk-timing").wait().unwrap();
    let whole_us = (started.elapsed().as_micros() as u64).max(1_000);

    for i in 0..40u64 {
        let key = format!("sk-test-key-{i:04}-{}", "x".repeat(4096));
        let mut child = set_key(claw.dir(), &key);
        // Kill at a different point of the run each time (40 runs, spread
        // over 0-120% of one whole save).
        std::thread::sleep(std::time::Duration::from_micros(
            (i * 331) % 12_000 * whole_us * 12 / 120_000,
        ));
        let _ = child.kill();
        let _ = child.wait();
        if path.exists() {
            let text = std::fs::read_to_string(&path).unwrap();
            let parsed: Value = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("partial write after kill #{i}: {e}"));
            let access = parsed["profiles"]["minimax:default"]["access"]
                .as_str()
                .unwrap();
            assert!(access.starts_with("sk-test-key-"), "{access}");

            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                assert_eq!(
                    std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                    0o600
                );
            }
        }
    }
    assert!(path.exists(), "no save ever completed in 40 runs");
}

#[test]
fn twenty_concurrent_gateway_requests_with_an_expired_token_cause_one_refresh() {
    let upstream = Upstream::start();
    upstream.oauth(OAuthScript::default());
    upstream.require_tokens();
    let claw = portal_claw(&upstream);
    assert_eq!(onboard(&claw).code, 0);
    expire_stored_token(&claw);
    let gw = support::gateway::GatewayProc::start(&claw, &[]);
    let threads: Vec<_> = (0..20)
        .map(|i| {
            let (url, auth) = (gw.url(), gw.auth());
            std::thread::spawn(move || {
                let body = json!({"model": "minimax-portal/MiniMax-M2.1", "messages": [{"role": "user", "content": format!("hi {i}")}]});
                support::upstream::post(&url, "/v1/chat/completions", &[("authorization", &auth)], &body)
            })
        })
        .collect();
    for t in threads {
        let r = t.join().unwrap();
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(!r.body.contains("mm-access") && !r.body.contains("mm-refresh"));
    }
    assert_eq!(
        upstream.refresh_calls(),
        1,
        "one refresh for twenty concurrent gateway requests"
    );
    assert_eq!(
        stored(&claw)["profiles"]["minimax-portal:default"]["access"],
        "mm-access-2"
    );
    let log = gw.log();
    assert!(
        !log.contains("mm-access") && !log.contains("mm-refresh"),
        "a secret reached the gateway log"
    );
}

/// A claw with the hostile `evil-login` fixture installed (provider `evil`, its
/// manifest declares only `api.evil.example`) and `config` as claw.json.
fn evil_claw(config: &Value) -> Claw {
    let claw = Claw::new();
    claw.place_fixture("evil-login");
    claw.write_config(&serde_json::to_string_pretty(config).unwrap());
    claw
}

fn evil_login(claw: &Claw, method: &str) -> Run {
    let run = claw.run(&["auth", "login", "--provider", "evil", "--method", method]);
    assert!(
        !run.stdout.contains("evil-access-") && !run.stderr.contains("evil-access-"),
        "the token leaked:\n{}\n{}",
        run.stdout,
        run.stderr
    );
    run
}

fn config_of(claw: &Claw) -> Value {
    serde_json::from_str(&std::fs::read_to_string(claw.dir().join("claw.json")).unwrap()).unwrap()
}

/// Issue 12, item 6: a plugin's prompts had no budget (10,000 lines of 100 KB
/// reached the terminal). Now one call shows at most 100, each cut to 2 KB.
#[test]
fn a_login_that_floods_prompts_shows_a_bounded_few() {
    let claw = evil_claw(&json!({}));
    let run = evil_login(&claw, "flood");
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let shown = format!("{}{}", run.stdout, run.stderr);
    let lines = shown.lines().filter(|l| l.contains("xxxx")).count();
    println!(
        "flooding login: {lines} progress lines, {} bytes of output",
        shown.len()
    );
    assert!((1..=100).contains(&lines), "{lines} lines");
    assert!(shown.len() < 100 * 2200 + 10_000, "{} bytes", shown.len());
    assert!(shown.contains(" [cut]"), "{}", &shown[..500]);
    assert!(shown.contains("Logged in to Evil (flood)."), "{shown:.300}");
}

/// Issue 12, item 1: a login's config patch planted a gateway token, bound the
/// gateway to 0.0.0.0, pinned `anthropic` to the plugin and put `${HOME}` and a
/// loopback URL into its own config. Now none of it lands, and the user is told.
#[test]
fn a_hostile_login_patch_changes_nothing_but_its_profile_and_says_what_it_refused() {
    let original = json!({"gateway": {"port": 18789}, "agents": {"defaults": {"model": {"primary": "echo/echo-1"}}}});
    let claw = evil_claw(&original);
    #[cfg(unix)]
    std::fs::set_permissions(
        claw.dir().join("claw.json"),
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    let run = evil_login(&claw, "hostile");
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("the login to \"evil\" (plugin \"evil-login\") was saved as profile evil:default, but its change to claw.json was refused and none of it was applied:"),
        "{}",
        run.stderr
    );
    for line in [
        "  gateway.auth.token: not provider \"evil\"'s settings; a login may not change it",
        "  gateway.bind: not provider \"evil\"'s settings; a login may not change it",
        "  models.providers.anthropic.plugin: the settings of provider \"anthropic\"; a login may change only those of its own provider \"evil\"",
        "  plugins.entries.evil-login.config.home: contains \"${\"; claw never substitutes variables in what a plugin wrote",
        "  plugins.entries.evil-login.config.key: contains \"${\"",
        "  plugins.entries.evil-login.config.adminUrl: not provider \"evil\"'s settings",
        "claw auth logout evil:default",
    ] {
        assert!(
            run.stderr.contains(line),
            "missing {line:?} in:\n{}",
            run.stderr
        );
    }
    assert!(
        !run.stdout.contains("The login changed claw.json"),
        "{}",
        run.stdout
    );

    // claw.json is the user's plus the profile record: not even the patch's
    // allowed part (its own base URL) was applied.
    let mut expected = original.clone();
    expected["auth"] = json!({"profiles": {"evil:default": {"provider": "evil", "mode": "token"}}, "order": {"evil": ["evil:default"]}});
    assert_eq!(config_of(&claw), expected);
    #[cfg(unix)]
    assert_eq!(claw.mode("claw.json"), 0o600, "claw.json stays private");

    // What the planted settings would have done is not done.
    let token = claw.run(&["gateway", "token"]);
    assert!(
        !token.ok().contains("evil-planted-token"),
        "{}",
        token.stdout
    );
    let list = claw.run(&["auth", "list", "--json"]);
    assert_eq!(list.json()["profiles"][0]["id"], "evil:default");
    let info = claw.run(&["plugins", "info", "evil-login", "--json"]);
    assert!(!info.ok().contains("127.0.0.1"), "{}", info.stdout);
}

#[test]
fn a_login_patch_for_its_own_provider_is_applied_and_shown() {
    let claw = evil_claw(&json!({}));
    let run = evil_login(&claw, "tame");
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains(
            "The login changed claw.json:\n  models.providers.evil.baseUrl\n  models.providers.evil.api\n  models.providers.evil.plugin\n  models.providers.evil.models\n  agents.defaults.model.primary\n  agents.defaults.models[\"evil/evil-1\"].alias\n"
        ),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("Logged in: profile evil:default saved"));
    let config = config_of(&claw);
    assert_eq!(
        config["models"]["providers"]["evil"]["baseUrl"],
        "https://api.evil.example/v1"
    );
    assert_eq!(
        config["agents"]["defaults"]["model"]["primary"],
        "evil/evil-1"
    );
    // The provider it brought works, through the alias it set.
    let infer = claw.run(&[
        "infer", "model", "run", "--model", "ev", "--prompt", "hi", "--json",
    ]);
    assert_eq!(
        infer.json()["outputs"][0]["text"],
        "evil says hi",
        "{}\n{}",
        infer.stdout,
        infer.stderr
    );

    // Logging in again changes nothing, and prints no change.
    let again = evil_login(&claw, "tame");
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(
        !again.stdout.contains("The login changed claw.json"),
        "{}",
        again.stdout
    );
}

#[test]
fn a_login_cannot_widen_its_network_grant_or_plant_variables() {
    let claw = evil_claw(&json!({}));
    let run = evil_login(&claw, "loopback");
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stderr.contains(
            "  models.providers.evil.baseUrl: 127.0.0.1:18789 is not a host and port plugin \"evil-login\" may reach (declared in its manifest or configured by you), and a login cannot widen that"
        ),
        "{}",
        run.stderr
    );
    let run = evil_login(&claw, "vars");
    assert_eq!(run.code, 1, "{}", run.stdout);
    for path in [
        "models.providers.evil.baseUrl",
        "models.providers.evil.models",
    ] {
        assert!(
            run.stderr.contains(&format!(
                "  {path}: contains \"${{\"; claw never substitutes variables in what a plugin wrote"
            )),
            "{}",
            run.stderr
        );
    }
    let text = std::fs::read_to_string(claw.dir().join("claw.json")).unwrap();
    assert!(
        !text.contains("${") && !text.contains("127.0.0.1"),
        "{text}"
    );

    // The same URL is fine once the user configured it for the plugin.
    let claw = evil_claw(
        &json!({"plugins": {"entries": {"evil-login": {"config": {"baseUrl": "http://127.0.0.1:18789"}}}}}),
    );
    let run = evil_login(&claw, "loopback");
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("  models.providers.evil.baseUrl\n"),
        "{}",
        run.stdout
    );
}

/// Issue 12, item 5: claw.json (which may hold keys and the gateway token) was
/// rewritten with the umask's mode, and the state dir was created world-readable.
#[cfg(unix)]
#[test]
fn the_state_dir_and_claw_json_stay_private() {
    use std::os::unix::fs::PermissionsExt;
    let claw = Claw::new();
    let state = claw.dir().join("state");
    let run = |args: &[&str]| claw.run_env(args, &[("CLAW_STATE_DIR", state.to_str().unwrap())]);
    run(&["plugins", "disable", "echo"]).ok();
    assert_eq!(claw.mode("state"), 0o700, "a new state dir");
    assert_eq!(claw.mode("state/claw.json"), 0o600, "a new claw.json");

    let config = state.join("claw.json");
    for (before, after) in [(0o600, 0o600), (0o644, 0o600), (0o400, 0o400)] {
        std::fs::set_permissions(&config, std::fs::Permissions::from_mode(before)).unwrap();
        run(&["plugins", "enable", "echo"]).ok();
        assert_eq!(
            claw.mode("state/claw.json"),
            after,
            "claw.json that was {before:o}, after `plugins enable`"
        );
        std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o600)).unwrap();
        run(&["plugins", "disable", "echo"]).ok();
        assert_eq!(claw.mode("state/claw.json"), 0o600);
    }
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(text.contains("\"enabled\": false"), "{text}");
}

fn store_temps(claw: &Claw) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(claw.dir().join("auth"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".profiles.json.tmp-"))
        .collect();
    names.sort();
    names
}

/// Issue 12, item 5: after a kill -9 mid-save, `.profiles.json.tmp-<pid>` files
/// with full keys stayed, even after logout. The next write of the store removes them.
#[test]
fn temp_files_a_killed_save_left_are_removed_by_the_next_write() {
    let claw = Claw::new();
    let set_key = |key: &str| {
        claw.run_env(
            &["auth", "set-key", "minimax", "--from-env", "KEY"],
            &[("KEY", key)],
        )
    };
    set_key("sk-test-key-first").ok();
    let stale = claw.dir().join("auth/.profiles.json.tmp-12345");
    let secret = r#"{"version":1,"profiles":{"minimax:default":{"provider":"minimax","kind":"api_key","access":"sk-test-key-stale","updatedAtMs":1}}}"#;
    std::fs::write(&stale, secret).unwrap();
    set_key("sk-test-key-second").ok();
    assert!(!stale.exists(), "set-key left {}", stale.display());

    std::fs::write(&stale, secret).unwrap();
    claw.run(&["auth", "logout", "minimax:default"]).ok();
    assert!(!stale.exists(), "logout left {}", stale.display());

    // Real leftovers: kill saves at different points, then write once more.
    let mut left = 0;
    for i in 0..30u64 {
        let mut child = Command::new(CLAW)
            .args(["auth", "set-key", "minimax", "--from-env", "KEY"])
            .env("CLAW_STATE_DIR", claw.dir())
            .env("KEY", format!("sk-test-key-{i:04}-{}", "x".repeat(100_000)))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_micros((i * 557) % 15_000));
        let _ = child.kill();
        let _ = child.wait();
        left = left.max(store_temps(&claw).len());
    }
    eprintln!("temp files left by killed saves (most at once): {left}");
    claw.run(&["auth", "logout", "minimax:default"]);
    assert_eq!(store_temps(&claw), Vec::<String>::new());
}
