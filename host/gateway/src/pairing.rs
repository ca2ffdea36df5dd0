//! Device pairing over HTTP: `POST /pair` asks (no token for a first pairing,
//! the device's own token for more scopes), `GET /pair/<requestId>` polls and
//! hands the token over once, on approval. The decisions are the owner's
//! (`claw devices approve|reject|revoke|rotate`, or the admin API), and each
//! is one line in the gateway log.

use std::sync::Arc;

use http::{Method, Response, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::access::Caller;
use crate::server::{Body, Gateway, error_response, json_response};
use crate::{ApiError, apis};
use claw_core::devices::{DeviceError, DeviceStore, PairStatus, PollStatus, Scope};

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct PairBody {
    device_id: String,
    name: String,
    scopes: Vec<String>,
}

pub(crate) async fn handle(
    gw: &Arc<Gateway>,
    method: &Method,
    path: &str,
    caller: Option<Caller>,
    body: &[u8],
) -> Response<Body> {
    let shape = apis::shape(path);
    let result = match (method, path.strip_prefix("/pair")) {
        (&Method::POST, Some("")) => request(gw, caller, body).await,
        (&Method::GET, Some(rest)) if rest.starts_with('/') && rest.len() > 1 => {
            poll(gw, rest[1..].to_string()).await
        }
        _ => Err(ApiError::new(
            404,
            "not_found_error",
            format!(
                "no route for {method} {path}: pairing is POST /pair and GET /pair/<requestId>"
            ),
        )),
    };
    match result {
        Ok(value) => json_response(StatusCode::OK, &value),
        Err(e) => error_response(shape, &e),
    }
}

/// Parse the scopes a client asks for; an unknown one is named with the list.
pub(crate) fn parse_scopes(names: &[String]) -> Result<Vec<Scope>, ApiError> {
    names
        .iter()
        .map(|n| {
            Scope::parse(n).ok_or_else(|| {
                let known: Vec<&str> = Scope::ALL.iter().map(|s| s.as_str()).collect();
                ApiError::invalid(format!(
                    "unknown scope \"{n}\"; the scopes are {}",
                    known.join(", ")
                ))
            })
        })
        .collect()
}

async fn request(
    gw: &Arc<Gateway>,
    caller: Option<Caller>,
    body: &[u8],
) -> Result<Value, ApiError> {
    let body: PairBody = serde_json::from_slice(body).map_err(|e| {
        ApiError::invalid(format!(
            "the pairing request is not valid: {e}; send {{\"deviceId\": \"...\", \"name\": \"...\", \"scopes\": [\"inference\"]}}"
        ))
    })?;
    let scopes = parse_scopes(&body.scopes)?;
    let caller_device = caller
        .as_ref()
        .and_then(|c| c.device().map(|d| d.device_id.clone()));
    let store = gw.devices.clone();
    let ticket = blocking(move || {
        store.request(
            &body.device_id,
            &body.name,
            &scopes,
            caller_device.as_deref(),
        )
    })
    .await?;
    Ok(match ticket.status {
        PairStatus::Pending => json!({"requestId": ticket.request_id, "status": "pending"}),
        PairStatus::AlreadyPaired => json!({"requestId": ticket.request_id, "status": "approved"}),
    })
}

async fn poll(gw: &Arc<Gateway>, request_id: String) -> Result<Value, ApiError> {
    let store = gw.devices.clone();
    let id = request_id.clone();
    let status = blocking(move || store.poll(&id)).await?;
    Ok(match status {
        PollStatus::Pending => json!({"requestId": request_id, "status": "pending"}),
        PollStatus::Rejected => json!({"requestId": request_id, "status": "rejected"}),
        PollStatus::Approved { token, scopes } => {
            let scopes: Vec<&str> = scopes.iter().map(|s| s.as_str()).collect();
            let mut v = json!({"requestId": request_id, "status": "approved", "scopes": scopes});
            if let Some(token) = token {
                v["token"] = json!(token);
            }
            v
        }
    })
}

/// Run a store call (file I/O under a lock) off the async threads.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, DeviceError> + Send + 'static,
) -> Result<T, ApiError> {
    match tokio::task::spawn_blocking(f).await {
        Ok(result) => result.map_err(device_error),
        Err(_) => Err(ApiError::new(
            500,
            "api_error",
            "the device store call failed",
        )),
    }
}

/// A store error as the API says it.
pub(crate) fn device_error(e: DeviceError) -> ApiError {
    let (status, kind) = match &e {
        DeviceError::NotYours { .. } => (403, "permission_error"),
        DeviceError::UnknownRequest { .. } | DeviceError::UnknownDevice { .. } => {
            (404, "not_found_error")
        }
        DeviceError::TooManyPending => (429, "rate_limit_error"),
        DeviceError::AlreadyDecided { .. } => (409, "invalid_request_error"),
        DeviceError::Damaged { .. } | DeviceError::Read { .. } | DeviceError::Write { .. } => {
            (500, "api_error")
        }
        _ => (400, "invalid_request_error"),
    };
    ApiError::new(status, kind, e.to_string())
}

/// The store a gateway keeps for `state`.
pub(crate) fn store(state: &claw_core::state::StateDir) -> Arc<DeviceStore> {
    Arc::new(DeviceStore::new(state.root()))
}
