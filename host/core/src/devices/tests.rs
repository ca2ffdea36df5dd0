use std::collections::BTreeSet;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::*;

const READ: Scope = Scope::OperatorRead;
const APPROVALS: Scope = Scope::OperatorApprovals;

/// Pair `device` with `scopes`: request, approve, poll. Returns its token.
fn pair(store: &DeviceStore, device: &str, scopes: &[Scope]) -> String {
    let ticket = store.request(device, device, scopes, None).unwrap();
    assert_eq!(ticket.status, PairStatus::Pending);
    store.approve(&ticket.request_id).unwrap();
    match store.poll(&ticket.request_id).unwrap() {
        PollStatus::Approved {
            token: Some(token), ..
        } => token,
        other => panic!("{other:?}"),
    }
}

/// A store whose clock the test sets.
fn clocked(root: &Path) -> (DeviceStore, Arc<AtomicU64>) {
    let now = Arc::new(AtomicU64::new(claw_types::now_ms()));
    let clock = now.clone();
    let store = DeviceStore::with_clock(root, Arc::new(move || clock.load(Ordering::SeqCst)));
    (store, now)
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn scopes_are_named_and_serialized_by_their_names() {
    for scope in Scope::ALL {
        assert_eq!(Scope::parse(scope.as_str()), Some(scope));
        assert_eq!(
            serde_json::to_value(scope).unwrap(),
            serde_json::json!(scope.as_str())
        );
        assert_eq!(
            serde_json::from_value::<Scope>(serde_json::json!(scope.as_str())).unwrap(),
            scope
        );
        assert!(!scope.describe().is_empty());
    }
    assert_eq!(Scope::parse("operator"), None);
    let err = Scope::parse_list(&["inference", "operator.raed"]).unwrap_err();
    assert!(
        matches!(&err, DeviceError::UnknownScope { scope } if scope == "operator.raed"),
        "{err:?}"
    );
    assert!(err.to_string().contains("operator.read"), "{err}");
    assert_eq!(
        Scope::normalize(&[APPROVALS, READ, APPROVALS]),
        vec![READ, APPROVALS]
    );
}

#[test]
fn limits_fall_back_to_defaults_field_by_field() {
    let own = Limits {
        requests_per_minute: Some(5),
        ..Limits::default()
    };
    let defaults = Limits {
        requests_per_minute: Some(60),
        concurrent_streams: Some(2),
        tokens_per_day: None,
    };
    assert_eq!(
        own.or(defaults),
        Limits {
            requests_per_minute: Some(5),
            concurrent_streams: Some(2),
            tokens_per_day: None
        }
    );
    let json = serde_json::to_value(own).unwrap();
    assert_eq!(json["requestsPerMinute"], 5);
    assert!(serde_json::from_str::<Limits>(r#"{"requestsPerMinut": 5}"#).is_err());
}

#[test]
fn devices_first_pairing_hands_the_token_over_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = DeviceStore::new(dir.path());
    let ticket = store
        .request("laptop-1", "  My laptop ", &[Scope::Inference], None)
        .unwrap();
    assert_eq!(ticket.status, PairStatus::Pending);
    assert_eq!(ticket.request_id.len(), 12);
    assert!(ticket.request_id.chars().all(|c| c.is_ascii_hexdigit()));
    assert_eq!(store.poll(&ticket.request_id).unwrap(), PollStatus::Pending);
    let listing = store.list().unwrap();
    assert_eq!(listing.pending.len(), 1);
    assert_eq!(listing.pending[0].name, "My laptop");
    assert!(listing.pending[0].current_scopes.is_empty());

    let decision = store.approve(&ticket.request_id).unwrap();
    assert_eq!(
        decision,
        Decision {
            request_id: Some(ticket.request_id.clone()),
            device_id: "laptop-1".into(),
            name: "My laptop".into(),
            scopes: vec![Scope::Inference],
        }
    );
    let token = match store.poll(&ticket.request_id).unwrap() {
        PollStatus::Approved {
            token: Some(t),
            scopes,
        } => {
            assert_eq!(scopes, [Scope::Inference]);
            t
        }
        other => panic!("{other:?}"),
    };
    assert!(
        token.starts_with("claw_dev_") && token.len() == 9 + 64,
        "{token}"
    );
    assert_eq!(
        store.poll(&ticket.request_id).unwrap(),
        PollStatus::Approved {
            token: None,
            scopes: vec![Scope::Inference]
        }
    );
    // The plaintext is gone from the file once handed over.
    let text = std::fs::read_to_string(store.path()).unwrap();
    assert!(!text.contains(&token), "{text}");

    let auth = store.authenticate(&token).unwrap();
    assert_eq!(auth.device_id, "laptop-1");
    assert_eq!(auth.name, "My laptop");
    assert_eq!(auth.scopes, [Scope::Inference]);
    assert_eq!(auth.limits, Limits::default());
    assert!(store.authenticate("claw_dev_nope").is_none());
    assert!(store.authenticate("").is_none());
    // Another store (the CLI, another process) sees it too.
    assert_eq!(
        DeviceStore::new(dir.path()).authenticate(&token),
        Some(auth)
    );
    // Approving it again says it was decided.
    let err = store.approve(&ticket.request_id).unwrap_err();
    assert!(
        matches!(err, DeviceError::AlreadyDecided { approved: true, .. }),
        "{err:?}"
    );
    // Last seen was recorded.
    assert!(store.list().unwrap().paired[0].last_seen_ms.is_some());
}

#[test]
fn devices_a_rejected_request_polls_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let store = DeviceStore::new(dir.path());
    let ticket = store.request("phone", "Phone", &[READ], None).unwrap();
    let decision = store.reject(&ticket.request_id).unwrap();
    assert_eq!(decision.scopes, [READ]);
    assert_eq!(
        store.poll(&ticket.request_id).unwrap(),
        PollStatus::Rejected
    );
    assert!(store.list().unwrap().pending.is_empty());
    assert!(store.list().unwrap().paired.is_empty());
    // Asking again makes a new request.
    let again = store.request("phone", "Phone", &[READ], None).unwrap();
    assert_ne!(again.request_id, ticket.request_id);
}

#[test]
fn devices_unknown_ids_name_what_exists() {
    let dir = tempfile::tempdir().unwrap();
    let store = DeviceStore::new(dir.path());
    let ticket = store.request("web-ui", "Web UI", &[READ], None).unwrap();
    let err = store.approve("abcdef012345").unwrap_err();
    let msg = err.to_string();
    assert!(
        matches!(&err, DeviceError::UnknownRequest { pending, .. } if pending.len() == 1),
        "{err:?}"
    );
    assert!(
        msg.contains(&format!("{} (Web UI)", ticket.request_id))
            && msg.contains("claw devices list"),
        "{msg}"
    );
    // A client polling learns nothing of other requests.
    let err = store.poll("abcdef012345").unwrap_err();
    assert!(!err.to_string().contains(&ticket.request_id), "{err}");
    let err = store.revoke("nope").unwrap_err();
    assert!(err.to_string().contains("no device is paired"), "{err}");
    pair(&store, "cli", &[READ]);
    let err = store.rotate("nope").unwrap_err();
    assert!(
        matches!(&err, DeviceError::UnknownDevice { paired, .. } if paired == &["cli (cli)"]),
        "{err:?}"
    );
    assert!(matches!(
        store.set_limits("nope", Limits::default()),
        Err(DeviceError::UnknownDevice { .. })
    ));
}

#[test]
fn devices_requests_are_validated() {
    let dir = tempfile::tempdir().unwrap();
    let store = DeviceStore::new(dir.path());
    for bad in ["", "a b", "x/y", "é", &"a".repeat(65)] {
        let err = store.request(bad, "n", &[READ], None).unwrap_err();
        assert!(
            matches!(err, DeviceError::BadDeviceId { .. }),
            "{bad}: {err:?}"
        );
    }
    assert!(store.request(&"a".repeat(64), "n", &[READ], None).is_ok());
    assert!(store.request("A.b_c:d-9", "n", &[READ], None).is_ok());
    for bad in ["", "   ", "a\nb", &"é".repeat(101)] {
        let err = store.request("ok", bad, &[READ], None).unwrap_err();
        assert!(
            matches!(err, DeviceError::BadName { .. }),
            "{bad:?}: {err:?}"
        );
    }
    assert!(store.request("ok", &"é".repeat(100), &[READ], None).is_ok());
    assert!(matches!(
        store.request("ok2", "n", &[], None),
        Err(DeviceError::NoScopes)
    ));
    // Scopes are deduplicated and sorted.
    let t = store
        .request("ok3", "n", &[APPROVALS, READ, APPROVALS], None)
        .unwrap();
    let row = store
        .list()
        .unwrap()
        .pending
        .into_iter()
        .find(|p| p.request_id == t.request_id)
        .unwrap();
    assert_eq!(row.scopes, [READ, APPROVALS]);
}

#[test]
fn devices_asking_again_keeps_the_request_id_and_widens_its_scopes() {
    let dir = tempfile::tempdir().unwrap();
    let store = DeviceStore::new(dir.path());
    let first = store.request("bot", "Bot", &[READ], None).unwrap();
    let same = store.request("bot", "Bot", &[READ], None).unwrap();
    assert_eq!(same, first);
    let wider = store
        .request("bot", "Bot", &[Scope::Inference], None)
        .unwrap();
    assert_eq!(wider.request_id, first.request_id);
    let listing = store.list().unwrap();
    assert_eq!(listing.pending.len(), 1);
    assert_eq!(listing.pending[0].scopes, [Scope::Inference, READ]);
    store.approve(&first.request_id).unwrap();
    assert_eq!(
        store.list().unwrap().paired[0].scopes,
        [Scope::Inference, READ]
    );
}

#[test]
fn devices_a_paired_id_is_only_upgraded_by_its_own_token() {
    let dir = tempfile::tempdir().unwrap();
    let store = DeviceStore::new(dir.path());
    let token = pair(&store, "tg-bridge", &[Scope::Inference]);
    pair(&store, "other", &[Scope::Inference]);
    for caller in [None, Some("other")] {
        let err = store
            .request("tg-bridge", "evil", &[Scope::OperatorAdmin], caller)
            .unwrap_err();
        assert!(
            matches!(&err, DeviceError::NotYours { device_id } if device_id == "tg-bridge"),
            "{err:?}"
        );
    }
    assert!(store.list().unwrap().pending.is_empty());
    // Asking for what it has: approved, nothing pending.
    let me = store.authenticate(&token).unwrap().device_id;
    let ticket = store
        .request("tg-bridge", "Bridge", &[Scope::Inference], Some(&me))
        .unwrap();
    assert_eq!(ticket.status, PairStatus::AlreadyPaired);
    assert!(store.list().unwrap().pending.is_empty());
}

#[test]
fn devices_an_upgrade_keeps_the_old_token_until_the_new_one_is_used_or_ten_minutes_pass() {
    let dir = tempfile::tempdir().unwrap();
    let (store, now) = clocked(dir.path());
    let old = pair(&store, "cli", &[READ]);
    let t = store
        .request("cli", "cli", &[APPROVALS], Some("cli"))
        .unwrap();
    // While pending, the old token works with the old scopes.
    assert_eq!(store.authenticate(&old).unwrap().scopes, [READ]);
    let listing = store.list().unwrap();
    assert_eq!(listing.pending[0].current_scopes, [READ]);
    assert_eq!(listing.pending[0].scopes, [APPROVALS]);
    store.approve(&t.request_id).unwrap();
    // Both work, with both scopes; the old one until the new one is used.
    assert_eq!(store.authenticate(&old).unwrap().scopes, [READ, APPROVALS]);
    let new = match store.poll(&t.request_id).unwrap() {
        PollStatus::Approved {
            token: Some(t),
            scopes,
        } => {
            assert_eq!(scopes, [READ, APPROVALS]);
            t
        }
        other => panic!("{other:?}"),
    };
    assert_eq!(store.authenticate(&old).unwrap().scopes, [READ, APPROVALS]);
    assert_eq!(store.authenticate(&new).unwrap().scopes, [READ, APPROVALS]);
    assert!(store.authenticate(&old).is_none());
    assert!(DeviceStore::new(dir.path()).authenticate(&old).is_none());

    // Another upgrade, whose new token is not used: the old one lasts ten minutes.
    let t = store
        .request("cli", "cli", &[Scope::Inference], Some("cli"))
        .unwrap();
    store.approve(&t.request_id).unwrap();
    now.fetch_add(OLD_TOKEN_GRACE_MS - 1, Ordering::SeqCst);
    assert!(store.authenticate(&new).is_some());
    now.fetch_add(1, Ordering::SeqCst);
    assert!(store.authenticate(&new).is_none());
    // The client polls and gets the newest token then.
    let newest = match store.poll(&t.request_id).unwrap() {
        PollStatus::Approved { token: Some(t), .. } => t,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        store.authenticate(&newest).unwrap().scopes,
        [Scope::Inference, READ, APPROVALS]
    );
}

#[test]
fn devices_revoke_and_rotate_take_effect_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let gateway = DeviceStore::new(dir.path());
    let cli = DeviceStore::new(dir.path());
    let a = pair(&cli, "a", &[Scope::Inference]);
    let b = pair(&cli, "b", &[Scope::Inference]);
    assert!(gateway.authenticate(&a).is_some() && gateway.authenticate(&b).is_some());

    let decision = cli.revoke("a").unwrap();
    assert_eq!(decision.request_id, None);
    assert_eq!(decision.scopes, [Scope::Inference]);
    assert!(gateway.authenticate(&a).is_none());
    assert!(gateway.authenticate(&b).is_some());

    let (decision, b2) = cli.rotate("b").unwrap();
    assert_eq!(decision.device_id, "b");
    assert_ne!(b2, b);
    assert!(gateway.authenticate(&b).is_none());
    assert_eq!(gateway.authenticate(&b2).unwrap().device_id, "b");

    // A revoked id can pair afresh, with no token.
    let t = cli.request("a", "A again", &[READ], None).unwrap();
    assert_eq!(t.status, PairStatus::Pending);
}

#[test]
fn devices_a_rotate_before_the_poll_hands_over_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = DeviceStore::new(dir.path());
    let t = store.request("x", "x", &[READ], None).unwrap();
    store.approve(&t.request_id).unwrap();
    let (_, token) = store.rotate("x").unwrap();
    assert_eq!(
        store.poll(&t.request_id).unwrap(),
        PollStatus::Approved {
            token: None,
            scopes: vec![READ]
        }
    );
    assert!(store.authenticate(&token).is_some());
}

#[test]
fn devices_limits_are_kept_per_device() {
    let dir = tempfile::tempdir().unwrap();
    let store = DeviceStore::new(dir.path());
    let token = pair(&store, "x", &[Scope::Inference]);
    let limits = Limits {
        requests_per_minute: Some(10),
        concurrent_streams: None,
        tokens_per_day: Some(1000),
    };
    store.set_limits("x", limits).unwrap();
    assert_eq!(store.authenticate(&token).unwrap().limits, limits);
    assert_eq!(store.list().unwrap().paired[0].limits, limits);
}

#[test]
fn devices_pending_requests_are_bounded_and_expire() {
    let dir = tempfile::tempdir().unwrap();
    let (store, now) = clocked(dir.path());
    for i in 0..MAX_PENDING {
        store.request(&format!("d{i}"), "n", &[READ], None).unwrap();
    }
    let err = store.request("one-more", "n", &[READ], None).unwrap_err();
    assert!(matches!(err, DeviceError::TooManyPending), "{err:?}");
    assert!(err.to_string().contains("claw devices list"), "{err}");
    // A pending device asking again is still answered.
    assert!(store.request("d0", "n", &[READ], None).is_ok());
    now.fetch_add(PENDING_TTL_MS, Ordering::SeqCst);
    assert!(store.list().unwrap().pending.is_empty());
    assert!(store.request("one-more", "n", &[READ], None).is_ok());
    assert_eq!(store.list().unwrap().pending.len(), 1);
}

#[test]
fn devices_files_are_private() {
    let dir = tempfile::tempdir().unwrap();
    let store = DeviceStore::new(dir.path());
    pair(&store, "x", &[READ]);
    assert_eq!(store.path(), dir.path().join("devices/devices.json"));
    #[cfg(unix)]
    {
        assert_eq!(mode(&store.path()), 0o600);
        assert_eq!(mode(&dir.path().join("devices")), 0o700);
        assert_eq!(mode(&dir.path().join("devices/devices.lock")), 0o600);
    }
}

#[test]
fn devices_tokens_never_show_in_listings_debug_or_errors() {
    let dir = tempfile::tempdir().unwrap();
    let store = DeviceStore::new(dir.path());
    let token = pair(&store, "x", &[READ]);
    let pending = store.request("y", "y", &[READ], None).unwrap();
    store.approve(&pending.request_id).unwrap();
    // "y"'s token is still waiting in the file for its poll.
    let file = std::fs::read_to_string(store.path()).unwrap();
    let waiting = file
        .split('"')
        .find(|s| s.starts_with(TOKEN_PREFIX))
        .unwrap()
        .to_string();
    let hash = file
        .split('"')
        .find(|s| s.starts_with("sha256:"))
        .unwrap()
        .to_string();
    let listing = serde_json::to_string(&store.list().unwrap()).unwrap();
    let debug = format!(
        "{:?} {:?} {:?} {:?}",
        store.list().unwrap(),
        store,
        store.authenticate(&token),
        store.poll(&pending.request_id).unwrap(),
    );
    assert!(store.poll(&pending.request_id).is_ok());
    let err = store
        .request("x", "x", &[APPROVALS], None)
        .unwrap_err()
        .to_string();
    for text in [&listing, &debug, &err] {
        for secret in [&token, &waiting, &hash] {
            assert!(!text.contains(secret.as_str()), "{secret} in {text}");
        }
        assert!(!text.contains("sha256"), "{text}");
    }
    assert!(debug.contains("<hidden>"), "{debug}");
}

#[test]
fn devices_a_damaged_file_is_reported_with_its_path_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let store = DeviceStore::new(dir.path());
    std::fs::create_dir_all(dir.path().join("devices")).unwrap();
    std::fs::write(store.path(), b"{ not json").unwrap();
    let errors = [
        store.list().unwrap_err(),
        store.request("x", "x", &[READ], None).unwrap_err(),
        store.approve("abcdef012345").unwrap_err(),
        store.poll("abcdef012345").unwrap_err(),
        store.revoke("x").unwrap_err(),
    ];
    for err in errors {
        let msg = err.to_string();
        assert!(matches!(err, DeviceError::Damaged { ref path, .. } if *path == store.path()));
        assert!(
            msg.contains(&store.path().display().to_string()) && msg.contains("move it aside"),
            "{msg}"
        );
    }
    assert!(store.authenticate(&format!("{TOKEN_PREFIX}00")).is_none());
    assert_eq!(std::fs::read(store.path()).unwrap(), b"{ not json");

    // A newer claw's file is not taken for this one's.
    std::fs::write(store.path(), br#"{"version": 2}"#).unwrap();
    let msg = store.list().unwrap_err().to_string();
    assert!(msg.contains("upgrade claw"), "{msg}");
    // A bad hash is damage too.
    std::fs::write(
        store.path(),
        br#"{"version": 1, "paired": {"x": {"name": "x", "scopes": [], "pairedAtMs": 1, "tokenHash": "md5:00"}}}"#,
    )
    .unwrap();
    assert!(matches!(store.list(), Err(DeviceError::Damaged { .. })));
}

#[test]
fn devices_a_killed_save_leaves_a_valid_file_and_its_temp_is_cleaned() {
    let dir = tempfile::tempdir().unwrap();
    let store = DeviceStore::new(dir.path());
    let token = pair(&store, "x", &[READ]);
    let good = std::fs::read(store.path()).unwrap();
    // What a writer killed mid-save leaves: a half-written temp file beside it.
    let devices = dir.path().join("devices");
    for stale in [".devices.json.tmp-4242-0", ".devices.json.tmp-99-7"] {
        std::fs::write(devices.join(stale), &good[..good.len() / 2]).unwrap();
    }
    // Readers are not confused by it.
    let other = DeviceStore::new(dir.path());
    assert!(other.authenticate(&token).is_some());
    assert_eq!(other.list().unwrap().paired.len(), 1);
    let text = std::fs::read_to_string(store.path()).unwrap();
    assert!(
        text.starts_with('{') && text.trim_end().ends_with('}'),
        "{text}"
    );
    // The next writer removes it.
    let t = store.request("y", "y", &[READ], None).unwrap();
    store.approve(&t.request_id).unwrap();
    let mut left: Vec<String> = std::fs::read_dir(&devices)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, ["devices.json", "devices.lock"]);
    assert_eq!(store.list().unwrap().paired.len(), 2);
    assert!(store.authenticate(&token).is_some());
}

#[test]
fn devices_pairing_state_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (token, pending) = {
        let store = DeviceStore::new(dir.path());
        let token = pair(&store, "x", &[READ]);
        let pending = store.request("y", "y", &[READ], None).unwrap();
        (token, pending)
    };
    let store = DeviceStore::new(dir.path());
    assert_eq!(store.authenticate(&token).unwrap().device_id, "x");
    assert_eq!(
        store.request("y", "y", &[READ], None).unwrap().request_id,
        pending.request_id
    );
    assert!(store.approve(&pending.request_id).is_ok());
}

/// The seed scenario: a client paired with `operator.read` asks for
/// `operator.approvals` every few ms from several threads (each its own store,
/// like separate processes), polling as it goes, while the owner lists and
/// approves the listed id.
#[test]
fn devices_seed_scenario_a_retrying_upgrade_is_approved_the_first_time() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    let old = pair(&DeviceStore::new(&root), "cli-local", &[READ]);

    let stop = Arc::new(AtomicBool::new(false));
    let ids = Arc::new(Mutex::new(BTreeSet::new()));
    let tokens = Arc::new(Mutex::new(Vec::new()));
    let threads: Vec<_> = (0..6)
        .map(|_| {
            let (root, old, stop, ids, tokens) = (
                root.clone(),
                old.clone(),
                stop.clone(),
                ids.clone(),
                tokens.clone(),
            );
            std::thread::spawn(move || {
                let store = DeviceStore::new(&root);
                let mut asked = 0;
                while !stop.load(Ordering::SeqCst) {
                    // As the gateway does: the token says who is asking.
                    let caller = store
                        .authenticate(&old)
                        .expect("the old token works throughout");
                    let ticket = store
                        .request(
                            "cli-local",
                            "local CLI",
                            &[APPROVALS],
                            Some(&caller.device_id),
                        )
                        .unwrap();
                    ids.lock().unwrap().insert(ticket.request_id.clone());
                    if let PollStatus::Approved { token: Some(t), .. } =
                        store.poll(&ticket.request_id).unwrap()
                    {
                        tokens.lock().unwrap().push(t);
                    }
                    asked += 1;
                    std::thread::sleep(Duration::from_millis(3));
                }
                asked
            })
        })
        .collect();

    // The owner: `claw devices list`, then `claw devices approve <that id>`.
    let owner = DeviceStore::new(&root);
    let request_id = loop {
        let listing = owner.list().unwrap();
        assert!(listing.pending.len() <= 1, "{listing:?}");
        if let Some(row) = listing.pending.first() {
            assert_eq!(row.scopes, [APPROVALS]);
            assert_eq!(row.current_scopes, [READ]);
            break row.request_id.clone();
        }
        std::thread::sleep(Duration::from_millis(1));
    };
    for _ in 0..20 {
        let listing = owner.list().unwrap();
        assert_eq!(listing.pending.len(), 1, "{listing:?}");
        assert_eq!(listing.pending[0].request_id, request_id);
        std::thread::sleep(Duration::from_millis(5));
    }
    let decision = owner.approve(&request_id).expect("approved the first time");
    assert_eq!(decision.scopes, [READ, APPROVALS]);
    for _ in 0..20 {
        assert!(owner.list().unwrap().pending.is_empty());
        std::thread::sleep(Duration::from_millis(5));
    }
    stop.store(true, Ordering::SeqCst);
    let asked: u32 = threads.into_iter().map(|t| t.join().unwrap()).sum();
    assert!(asked >= 6, "{asked}");

    // Every request, before and after the approval, answered that one id.
    assert_eq!(*ids.lock().unwrap(), BTreeSet::from([request_id.clone()]));
    // Exactly one poll received the token (the owner's poll now gets none).
    let mut tokens = tokens.lock().unwrap().clone();
    if let PollStatus::Approved { token: Some(t), .. } = owner.poll(&request_id).unwrap() {
        tokens.push(t);
    }
    assert_eq!(
        tokens.len(),
        1,
        "the token was handed over more than once or never"
    );
    assert_eq!(
        owner.poll(&request_id).unwrap(),
        PollStatus::Approved {
            token: None,
            scopes: vec![READ, APPROVALS]
        }
    );
    // One token with both scopes; with it used, the old one is retired.
    let auth = DeviceStore::new(&root).authenticate(&tokens[0]).unwrap();
    assert_eq!(auth.device_id, "cli-local");
    assert_eq!(auth.scopes, [READ, APPROVALS]);
    assert!(owner.authenticate(&old).is_none());
}
