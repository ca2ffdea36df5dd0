use super::*;
use serde_json::json;

const NOW: u64 = 1_760_000_000_000;

fn body(value: Value) -> Vec<u8> {
    value.to_string().into_bytes()
}

fn global() -> &'static Region {
    region("oauth").unwrap()
}

fn old_credential() -> Credential {
    Credential {
        kind: MethodKind::Oauth,
        access: "mm-access-1".into(),
        refresh: Some("mm-refresh-1".into()),
        expires_at_ms: Some(NOW),
        extra: vec![KeyValue {
            key: "region".into(),
            value: "cn".into(),
        }],
    }
}

#[test]
fn methods_map_to_regions_and_unknown_ones_are_listed() {
    assert_eq!(global().base, "https://api.minimax.io");
    assert_eq!(global().key, "global");
    let cn = region("oauth-cn").unwrap();
    assert_eq!(
        (cn.base, cn.key, cn.label),
        ("https://api.minimaxi.com", "cn", "MiniMax (China)")
    );
    let e = region("device").unwrap_err();
    assert_eq!(e.reason, ErrorReason::Format);
    assert!(
        e.message.contains("\"device\"") && e.message.contains("\"oauth\", \"oauth-cn\""),
        "{}",
        e.message
    );
    assert_eq!(region_from_extra(&old_credential().extra), Some(cn));
    assert_eq!(region_from_extra(&[]), None);
}

#[test]
fn endpoints_default_to_the_region_and_settings_override() {
    let ep = Endpoints::new(global(), &Settings::default());
    assert_eq!(ep.base, "https://api.minimax.io");
    assert_eq!(ep.client_id, DEFAULT_CLIENT_ID);
    assert_eq!(ep.code_url(), "https://api.minimax.io/oauth/code");
    assert_eq!(ep.token_url(), "https://api.minimax.io/oauth/token");

    let settings: Settings = serde_json::from_value(
        json!({"baseUrl": "http://127.0.0.1:4010/", "clientId": "my-client", "other": 1}),
    )
    .unwrap();
    let ep = Endpoints::new(region("oauth-cn").unwrap(), &settings);
    assert_eq!(ep.code_url(), "http://127.0.0.1:4010/oauth/code");
    assert_eq!(ep.client_id, "my-client");

    // Blank values count as unset.
    let settings: Settings =
        serde_json::from_value(json!({"baseUrl": " ", "clientId": ""})).unwrap();
    assert_eq!(
        Endpoints::new(global(), &settings),
        Endpoints::new(global(), &Settings::default())
    );
    // A wrong type is refused (config::get turns it into a Format error).
    assert!(serde_json::from_value::<Settings>(json!({"baseUrl": 3})).is_err());
}

#[test]
fn forms_carry_exactly_the_flow_fields() {
    let ep = Endpoints::new(global(), &Settings::default());
    fn keys(form: &[(&'static str, String)]) -> Vec<&'static str> {
        form.iter().map(|(k, _)| *k).collect()
    }
    let code = ep.code_form("CH", "ST");
    assert_eq!(
        keys(&code),
        [
            "response_type",
            "client_id",
            "scope",
            "code_challenge",
            "code_challenge_method",
            "state"
        ]
    );
    assert_eq!(code[0].1, "code");
    assert_eq!(code[1].1, DEFAULT_CLIENT_ID);
    assert_eq!(code[2].1, "group_id profile model.completion");
    assert_eq!(
        (code[3].1.as_str(), code[4].1.as_str(), code[5].1.as_str()),
        ("CH", "S256", "ST")
    );

    let poll = ep.poll_form("ABCD-1234", "VERIFIER");
    assert_eq!(
        keys(&poll),
        ["grant_type", "client_id", "user_code", "code_verifier"]
    );
    assert_eq!(poll[0].1, "urn:ietf:params:oauth:grant-type:user_code");
    assert_eq!(
        (poll[2].1.as_str(), poll[3].1.as_str()),
        ("ABCD-1234", "VERIFIER")
    );

    let refresh = ep.refresh_form("R1");
    assert_eq!(keys(&refresh), ["grant_type", "client_id", "refresh_token"]);
    assert_eq!(
        (refresh[0].1.as_str(), refresh[2].1.as_str()),
        ("refresh_token", "R1")
    );
}

#[test]
fn code_replies_are_read_and_their_state_checked() {
    let reply = json!({"user_code": "ABCD-1234", "verification_uri": "https://www.minimax.io/verify",
                       "expired_in": NOW + 60_000, "interval": 100, "state": "st-1"});
    let code = parse_code_reply(&body(reply.clone()), "st-1", NOW).unwrap();
    assert_eq!(
        code,
        CodeReply {
            user_code: "ABCD-1234".into(),
            verification_uri: "https://www.minimax.io/verify".into(),
            expires_at_ms: NOW + 60_000,
            interval_ms: 100,
        }
    );

    // No interval (or 0): 2 s. No expiry: ten minutes from now.
    let mut sparse = reply.clone();
    sparse.as_object_mut().unwrap().remove("interval");
    sparse.as_object_mut().unwrap().remove("expired_in");
    let code = parse_code_reply(&body(sparse), "st-1", NOW).unwrap();
    assert_eq!(
        (code.interval_ms, code.expires_at_ms),
        (2_000, NOW + 600_000)
    );
    let mut zero = reply.clone();
    zero["interval"] = json!(0);
    assert_eq!(
        parse_code_reply(&body(zero), "st-1", NOW)
            .unwrap()
            .interval_ms,
        2_000
    );

    // Another state, or none, is refused as possible tampering.
    for state in [json!("st-2"), Value::Null] {
        let mut other = reply.clone();
        other["state"] = state;
        let e = parse_code_reply(&body(other), "st-1", NOW).unwrap_err();
        assert_eq!(e.reason, ErrorReason::Auth);
        assert!(
            e.message.contains("returned a different state")
                && e.message.contains("possible CSRF")
                && e.message.ends_with("Try again."),
            "{}",
            e.message
        );
    }

    let mut incomplete = reply.clone();
    incomplete["user_code"] = json!("");
    let e = parse_code_reply(&body(incomplete), "st-1", NOW).unwrap_err();
    assert_eq!(e.reason, ErrorReason::Format);
    let e = parse_code_reply(b"<html>", "st-1", NOW).unwrap_err();
    assert_eq!(e.reason, ErrorReason::Format);
}

#[test]
fn polls_are_pending_until_success_or_denial() {
    assert_eq!(
        parse_poll_reply(200, &body(json!({"status": "pending"})), None).unwrap(),
        Poll::Pending
    );
    assert_eq!(
        parse_poll_reply(200, &body(json!({"status": "whatever"})), None).unwrap(),
        Poll::Pending
    );
    assert_eq!(
        parse_poll_reply(200, &body(json!({})), None).unwrap(),
        Poll::Pending
    );

    let success = json!({"status": "success", "access_token": "mm-access-1", "refresh_token": "mm-refresh-1",
                         "expired_in": NOW + 3_600_000, "resource_url": "https://api.minimax.io"});
    assert_eq!(
        parse_poll_reply(200, &body(success.clone()), None).unwrap(),
        Poll::Success(Tokens {
            access: "mm-access-1".into(),
            refresh: "mm-refresh-1".into(),
            expires_at_ms: NOW + 3_600_000,
            resource_url: Some("https://api.minimax.io".into()),
        })
    );
    let mut plain = success.clone();
    plain.as_object_mut().unwrap().remove("resource_url");
    plain["expired_in"] = json!(format!("{}", NOW + 1));
    match parse_poll_reply(200, &body(plain), None).unwrap() {
        Poll::Success(t) => assert_eq!((t.resource_url, t.expires_at_ms), (None, NOW + 1)),
        other => panic!("{other:?}"),
    }

    let mut incomplete = success.clone();
    incomplete["refresh_token"] = Value::Null;
    let e = parse_poll_reply(200, &body(incomplete), None).unwrap_err();
    assert_eq!(e.reason, ErrorReason::Format);
    assert!(!e.message.contains("mm-access-1"), "{}", e.message);

    let denied = json!({"status": "error", "base_resp": {"status_code": 1004, "status_msg": "user denied the authorization"}});
    assert_eq!(
        parse_poll_reply(200, &body(denied), None).unwrap(),
        Poll::Denied("user denied the authorization".into())
    );
    assert_eq!(
        parse_poll_reply(200, &body(json!({"status": "error"})), None).unwrap(),
        Poll::Denied("the login was denied".into())
    );
}

#[test]
fn refused_polls_are_auth_errors_and_outages_are_classified() {
    let refused = json!({"status": "error", "base_resp": {"status_msg": "invalid code_verifier"}});
    let e = parse_poll_reply(400, &body(refused), None).unwrap_err();
    assert_eq!((e.reason, e.status), (ErrorReason::Auth, Some(400)));
    assert!(e.message.contains("invalid code_verifier"), "{}", e.message);
    let e = parse_poll_reply(401, b"", None).unwrap_err();
    assert!(e.message.contains("HTTP 401"), "{}", e.message);

    let e = parse_poll_reply(429, b"slow down", Some(3_000)).unwrap_err();
    assert_eq!(
        (e.reason, e.retry_after_ms),
        (ErrorReason::RateLimit, Some(3_000))
    );
    let e = parse_poll_reply(503, b"down", None).unwrap_err();
    assert_eq!((e.reason, e.status), (ErrorReason::Unknown, Some(503)));
    assert!(e.message.starts_with("MiniMax OAuth:"), "{}", e.message);

    // A reply that is not JSON is never quoted (it might hold a token).
    let e = parse_poll_reply(200, b"access_token=mm-secret", None).unwrap_err();
    assert_eq!(e.reason, ErrorReason::Format);
    assert!(!e.message.contains("mm-secret"), "{}", e.message);
}

#[test]
fn refresh_rotates_or_keeps_the_refresh_token_and_the_extras() {
    let old = old_credential();
    let rotated = json!({"status": "success", "access_token": "mm-access-2", "refresh_token": "mm-refresh-2",
                         "expired_in": NOW + 3_600_000});
    let new = parse_refresh_reply(200, &body(rotated), None, &old).unwrap();
    assert_eq!(new.kind, MethodKind::Oauth);
    assert_eq!(new.access, "mm-access-2");
    assert_eq!(new.refresh.as_deref(), Some("mm-refresh-2"));
    assert_eq!(new.expires_at_ms, Some(NOW + 3_600_000));
    let pairs = |c: &Credential| -> Vec<(String, String)> {
        c.extra
            .iter()
            .map(|kv| (kv.key.clone(), kv.value.clone()))
            .collect()
    };
    assert_eq!(pairs(&new), pairs(&old));

    // No new refresh token (or an empty one): the old one stays.
    for refresh in [Value::Null, json!("")] {
        let kept = json!({"status": "success", "access_token": "mm-access-3", "refresh_token": refresh,
                          "expired_in": NOW + 1});
        let new = parse_refresh_reply(200, &body(kept), None, &old).unwrap();
        assert_eq!(
            (new.access.as_str(), new.refresh.as_deref()),
            ("mm-access-3", Some("mm-refresh-1"))
        );
    }

    let missing = json!({"status": "success", "refresh_token": "mm-refresh-9"});
    let e = parse_refresh_reply(200, &body(missing), None, &old).unwrap_err();
    assert_eq!(e.reason, ErrorReason::Format);
    assert!(!e.message.contains("mm-refresh-9"), "{}", e.message);
}

#[test]
fn rejected_refreshes_say_to_log_in_again() {
    let old = old_credential();
    let rejected = json!({"status": "error", "base_resp": {"status_msg": "refresh token is invalid or expired"}});
    for status in [200, 400, 401] {
        let e = parse_refresh_reply(status, &body(rejected.clone()), None, &old).unwrap_err();
        assert_eq!((e.reason, e.status), (ErrorReason::Auth, Some(status)));
        assert_eq!(
            e.message,
            "MiniMax rejected the refresh token (refresh token is invalid or expired); \
             log in again with `claw auth login --provider minimax-portal`"
        );
    }
    let e = parse_refresh_reply(401, b"", None, &old).unwrap_err();
    assert!(
        e.message
            .starts_with("MiniMax rejected the refresh token (HTTP 401)"),
        "{}",
        e.message
    );
    let e = parse_refresh_reply(200, &body(json!({"status": "pending"})), None, &old).unwrap_err();
    assert_eq!(e.reason, ErrorReason::Auth);
    assert!(e.message.contains("status \"pending\""), "{}", e.message);

    // An outage is not a reason to throw the login away.
    let e = parse_refresh_reply(502, b"bad gateway", None, &old).unwrap_err();
    assert_ne!(e.reason, ErrorReason::Auth);
    assert_eq!(e.status, Some(502));

    assert_eq!(no_refresh_token().reason, ErrorReason::Auth);
    assert!(no_refresh_token().message.contains(LOG_IN_AGAIN));
}

#[test]
fn backoff_grows_by_half_up_to_ten_seconds_and_stops_at_expiry() {
    let far = NOW + 3_600_000;
    let mut b = Backoff::new(2_000);
    let waits: Vec<u64> = (0..7).map(|_| b.next_wait(NOW, far).unwrap()).collect();
    assert_eq!(waits, [2_000, 3_000, 4_500, 6_750, 10_000, 10_000, 10_000]);

    let mut b = Backoff::new(100);
    let waits: Vec<u64> = (0..4).map(|_| b.next_wait(NOW, far).unwrap()).collect();
    assert_eq!(waits, [100, 150, 225, 337]);

    // A server asking for more than the cap gets what it asked for.
    let mut b = Backoff::new(15_000);
    assert_eq!(
        (b.next_wait(NOW, far), b.next_wait(NOW, far)),
        (Some(15_000), Some(15_000))
    );

    // No wait runs past the expiry, and none starts after it.
    let mut b = Backoff::new(2_000);
    assert_eq!(b.next_wait(NOW, NOW + 500), Some(500));
    assert_eq!(b.next_wait(NOW + 500, NOW + 500), None);
    assert_eq!(b.next_wait(NOW + 501, NOW + 500), None);

    let e = expired();
    assert_eq!(e.reason, ErrorReason::Timeout);
    assert_eq!(
        e.message,
        "the code expired before the login was approved; run the login again"
    );
}

#[test]
fn the_provider_base_url_comes_from_the_resource_url() {
    let base = "https://api.minimax.io";
    assert_eq!(
        provider_base_url(None, base),
        "https://api.minimax.io/anthropic"
    );
    assert_eq!(
        provider_base_url(Some(""), base),
        "https://api.minimax.io/anthropic"
    );
    assert_eq!(
        provider_base_url(Some("https://api.minimaxi.com/"), base),
        "https://api.minimaxi.com/anthropic"
    );
    assert_eq!(
        provider_base_url(Some("https://x.minimax.io/anthropic/"), base),
        "https://x.minimax.io/anthropic"
    );
    assert_eq!(
        provider_base_url(None, "http://127.0.0.1:4010"),
        "http://127.0.0.1:4010/anthropic"
    );
}

#[test]
fn a_login_gives_the_credential_patch_and_notes() {
    let tokens = Tokens {
        access: "mm-access-1".into(),
        refresh: "mm-refresh-1".into(),
        expires_at_ms: NOW,
        resource_url: Some("https://api.minimax.io".into()),
    };
    let url = provider_base_url(tokens.resource_url.as_deref(), "unused");
    let credential = login_credential(tokens.clone(), global(), &url);
    assert_eq!(credential.kind, MethodKind::Oauth);
    assert_eq!(credential.access, "mm-access-1");
    assert_eq!(credential.refresh.as_deref(), Some("mm-refresh-1"));
    assert_eq!(credential.expires_at_ms, Some(NOW));
    let extra: Vec<(&str, &str)> = credential
        .extra
        .iter()
        .map(|kv| (kv.key.as_str(), kv.value.as_str()))
        .collect();
    assert_eq!(
        extra,
        [
            ("region", "global"),
            ("resourceUrl", "https://api.minimax.io"),
            ("baseUrl", "https://api.minimax.io/anthropic")
        ]
    );
    let cn = region("oauth-cn").unwrap();
    let plain = login_credential(
        Tokens {
            resource_url: None,
            ..tokens
        },
        cn,
        "https://api.minimaxi.com/anthropic",
    );
    let keys: Vec<&str> = plain.extra.iter().map(|kv| kv.key.as_str()).collect();
    assert_eq!(keys, ["region", "baseUrl"]);
    assert_eq!(plain.extra[0].value, "cn");

    let patch = config_patch("https://api.minimax.io/anthropic");
    let provider = &patch["models"]["providers"]["minimax-portal"];
    assert_eq!(provider["baseUrl"], "https://api.minimax.io/anthropic");
    assert_eq!(provider["api"], "anthropic-messages");
    assert_eq!(provider["plugin"], "minimax-portal-auth");
    assert_eq!(provider["models"], crate::catalog::config_models());
    assert_eq!(
        patch["agents"],
        json!({"defaults": {
            "model": {"primary": "minimax-portal/MiniMax-M2.1"},
            "models": {
                "minimax-portal/MiniMax-M2.1": {"alias": "minimax-m2.1"},
                "minimax-portal/MiniMax-M2.1-lightning": {"alias": "minimax-m2.1-lightning"},
            },
        }})
    );
    assert_eq!(patch.as_object().unwrap().len(), 2, "{patch}");

    assert_eq!(
        login_notes(global()),
        [
            "Logged in to MiniMax (Global).",
            "Default model suggestion: minimax-portal/MiniMax-M2.1"
        ]
    );
    assert_eq!(login_notes(cn)[0], "Logged in to MiniMax (China).");
}
