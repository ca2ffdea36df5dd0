//! `claw logs` (issue 18): the gateway's log without knowing where it is;
//! `--follow` shows a request's attempt lines while the request still runs.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::usage::{chat, priced};
use crate::support::gateway::GatewayProc;
use crate::support::upstream::{Behavior, Upstream};
use crate::support::{CLAW, Claw};

#[test]
fn logs_follow_shows_the_attempts_of_a_request_as_they_happen() {
    let upstream = Upstream::start();
    let claw = Claw::new();
    claw.write_config(&priced(&upstream).to_string());
    // minimax fails at once; the fallback takes 1.5 s to answer.
    upstream.behave(
        "MiniMax-M2.1",
        Behavior::Status {
            code: 429,
            retry_after: None,
        },
    );
    let slow = Behavior::Delay {
        ms: 1500,
        then: Box::new(Behavior::Reply("late but fine".into())),
    };
    upstream.behave("qwen3-8b", slow);
    let gw = GatewayProc::start(&claw, &[]);

    let missing = claw.run(&["logs", "--level", "loud"]);
    assert!(
        missing.code != 0 && missing.stderr.contains("`--level loud` is not a level"),
        "{}",
        missing.stderr
    );

    let mut follower = Command::new(CLAW)
        .args(["logs", "--follow"])
        .env("CLAW_STATE_DIR", claw.dir())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (tx, lines) = mpsc::channel::<(Instant, String)>();
    let stdout = follower.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send((Instant::now(), line)).is_err() {
                return;
            }
        }
    });
    // Until the follower shows the gateway's start, so it is reading.
    let started = Instant::now();
    while lines
        .recv_timeout(Duration::from_secs(10))
        .is_ok_and(|(_, l)| !l.contains("listening"))
    {
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    let (status, _, id) = chat(&gw, "which model answers?");
    let answered = Instant::now();
    assert_eq!(status, 200);
    let mut seen: Vec<(Instant, String)> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !seen
        .iter()
        .any(|(_, l)| l.contains(" INFO request ") && l.contains(&id))
        && Instant::now() < deadline
    {
        if let Ok(line) = lines.recv_timeout(Duration::from_millis(200)) {
            seen.push(line);
        }
    }
    let _ = follower.kill();
    let _ = follower.wait();
    let shown: Vec<&str> = seen.iter().map(|(_, l)| l.as_str()).collect();
    let attempt = seen
        .iter()
        .find(|(_, l)| l.contains("model fallback decision: try next") && l.contains(&id))
        .unwrap_or_else(|| panic!("no attempt line for {id}: {shown:#?}"));
    assert!(
        attempt.1.contains("candidate=minimax/MiniMax-M2.1")
            && attempt.1.contains("reason=rate_limit"),
        "{}",
        attempt.1
    );
    assert!(attempt.1.contains(" INFO "), "{}", attempt.1);
    assert!(
        attempt.0 + Duration::from_millis(500) < answered,
        "the attempt line was shown while the fallback still ran ({:?} before the answer)",
        answered.duration_since(attempt.0)
    );
    let routed = shown
        .iter()
        .find(|l| l.contains(" INFO request ") && l.contains(&id))
        .unwrap();
    assert!(routed.contains("chosen=lmstudio/qwen3-8b"), "{routed}");

    // JSON lines, filtered by level and time.
    let json = claw.run(&["logs", "--json", "--since", "5m"]);
    let parsed: Vec<Value> = json
        .ok()
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert!(
        parsed.iter().any(|l| l["fields"]["message"] == "request"
            && l["span"]["id"] == id.as_str()
            && l["span"]["chosen"] == "lmstudio/qwen3-8b"),
        "{}",
        json.stdout
    );
    let warn = claw.run(&["logs", "--json", "--level", "warn"]);
    assert!(
        warn.ok().lines().all(|l| {
            let level = serde_json::from_str::<Value>(l).unwrap()["level"]
                .as_str()
                .unwrap()
                .to_string();
            level == "WARN" || level == "ERROR"
        }),
        "{}",
        warn.stdout
    );
    assert_eq!(claw.run(&["logs", "--since", "2999-01-01"]).ok(), "");
    assert_eq!(claw.run(&["logs", "-n", "1"]).ok().lines().count(), 1);
    let secret = std::fs::read_to_string(claw.dir().join("gateway/gateway.jsonl")).unwrap();
    assert!(
        !secret.contains("sk-upstream-secret"),
        "no key reaches the log"
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(claw.dir().join("gateway/gateway.jsonl"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    drop(gw);
}

#[test]
fn logs_without_a_gateway_say_where_the_log_will_be() {
    let claw = Claw::new();
    let r = claw.run(&["logs"]);
    assert_ne!(r.code, 0);
    assert!(
        r.stderr.contains("no gateway log yet") && r.stderr.contains("claw gateway start"),
        "{}",
        r.stderr
    );
}
