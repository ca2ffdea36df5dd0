//! The owner's side of pairing in the admin API: list the pending and paired
//! devices (with their use against their limits), and decide. `claw devices`
//! uses it while a gateway runs, and the store directly otherwise.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::ApiError;
use crate::pairing::blocking;
use crate::server::Gateway;
use claw_core::devices::Decision;

/// `GET /admin/devices`: `{"pending": [...], "paired": [...]}`, each paired
/// device with its `usage` (this gateway's count) and limits.
pub(crate) async fn list(gw: &Arc<Gateway>) -> Result<Value, ApiError> {
    let store = gw.devices.clone();
    let listing = blocking(move || store.list()).await?;
    let mut value = serde_json::to_value(&listing).expect("listings serialize");
    if let Some(paired) = value["paired"].as_array_mut() {
        for (device, row) in paired.iter_mut().zip(&listing.paired) {
            device["usage"] = gw.clients.usage_json(&row.device_id, row.limits);
        }
    }
    Ok(value)
}

/// `POST /admin/devices/<id>/<action>`: approve or reject a request id, revoke
/// or rotate a device id. Each decision is one line in the gateway log.
pub(crate) async fn decide(gw: &Arc<Gateway>, id: &str, action: &str) -> Result<Value, ApiError> {
    let store = gw.devices.clone();
    let (id, action) = (id.to_string(), action.to_string());
    let (decision, token) = {
        let action = action.clone();
        blocking(move || match action.as_str() {
            "approve" => store.approve(&id).map(|d| (d, None)),
            "reject" => store.reject(&id).map(|d| (d, None)),
            "revoke" => store.revoke(&id).map(|d| (d, None)),
            _ => store.rotate(&id).map(|(d, t)| (d, Some(t))),
        })
        .await?
    };
    log_decision(&action, &decision, "admin API");
    let mut value = decision_json(&action, &decision);
    if let Some(token) = token {
        value["token"] = json!(token);
    }
    Ok(value)
}

/// The one log line of a pairing decision.
pub fn log_decision(action: &str, d: &Decision, by: &str) {
    let scopes: Vec<&str> = d.scopes.iter().map(|s| s.as_str()).collect();
    tracing::info!(
        target: "claw::pairing",
        decision = action,
        device = %d.device_id,
        name = %d.name,
        request = d.request_id.as_deref().unwrap_or("-"),
        scopes = %scopes.join(","),
        by,
        "pairing decision"
    );
}

pub fn decision_json(action: &str, d: &Decision) -> Value {
    let scopes: Vec<&str> = d.scopes.iter().map(|s| s.as_str()).collect();
    json!({
        "decision": action,
        "requestId": d.request_id,
        "deviceId": d.device_id,
        "name": d.name,
        "scopes": scopes,
    })
}

/// The decision's log line, appended to the gateway log when the CLI decided
/// without a running gateway (so the log has every decision either way).
pub fn log_decision_to_file(state: &claw_core::state::StateDir, action: &str, d: &Decision) {
    use std::io::Write;
    let scopes: Vec<&str> = d.scopes.iter().map(|s| s.as_str()).collect();
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |t| t.as_secs());
    let line = format!(
        "unix:{secs}  INFO claw::pairing: pairing decision decision={action} device={} name={} request={} scopes={} by=\"claw devices (gateway not running)\"\n",
        d.device_id,
        d.name,
        d.request_id.as_deref().unwrap_or("-"),
        scopes.join(",")
    );
    let path = crate::daemon::log_path(state);
    if let Some(dir) = path.parent() {
        let _ = claw_types::fs::create_private_dir(dir);
    }
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path);
    if let Ok(mut file) = file {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = file.set_permissions(std::fs::Permissions::from_mode(0o600));
        }
        let _ = file.write_all(line.as_bytes());
    }
}
