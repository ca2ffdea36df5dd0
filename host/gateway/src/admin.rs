//! The admin API the CLI uses while a gateway runs. Responses are the same JSON
//! the CLI prints with `--json`, built by the same functions.

use std::sync::Arc;
use std::time::{Duration, Instant};

use http::{Method, Response, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::server::{Body, Gateway, error_response, json_response};
use crate::{ApiError, ApiRequest};
use claw_core::app::{Agent, App};
use claw_core::config::{ConfigFile, PluginEdit};
use claw_core::registry::Registry;
use claw_core::router::Prompt;
use claw_plugin_host::manifest::Kind;
use claw_types::{Message, Role, SystemBlock};

pub(super) async fn handle(
    gw: &Arc<Gateway>,
    method: &Method,
    path: &str,
    query: &str,
    body: &[u8],
) -> Response<Body> {
    let segments: Vec<&str> = path.trim_start_matches("/admin/").split('/').collect();
    let result = match (method, segments.as_slice()) {
        (&Method::GET, ["status"]) => Ok(status(gw)),
        (&Method::GET, ["plugins"]) => Ok(plugins_json(gw, &gw.app().registry)),
        (&Method::GET, ["plugins", id]) => match gw.app().registry.get(id) {
            Some(report) => Ok(serde_json::to_value(report).expect("reports serialize")),
            None => Err(ApiError::new(
                404,
                "not_found_error",
                unknown_plugin(&gw.app().registry, id),
            )),
        },
        (&Method::POST, ["plugins", id, action]) if PluginEdit::from_action(action).is_some() => {
            let edit = PluginEdit::from_action(action).expect("checked in the guard");
            edit_plugin(gw, id, edit).await
        }
        (&Method::POST, ["reload"]) => Ok(reload(gw).await),
        (&Method::GET, ["devices"]) => crate::devices::list(gw).await,
        (
            &Method::POST,
            [
                "devices",
                id,
                action @ ("approve" | "reject" | "revoke" | "rotate"),
            ],
        ) => crate::devices::decide(gw, id, action).await,
        (&Method::GET, ["models", "status"]) => {
            let probe = query
                .split('&')
                .any(|kv| kv == "probe=1" || kv == "probe=true");
            let timeout = query
                .split('&')
                .find_map(|kv| kv.strip_prefix("timeoutMs=")?.parse().ok())
                .map_or(Duration::from_secs(20), Duration::from_millis);
            let agent = if query.contains("agent=subagent") {
                Agent::Subagent
            } else {
                Agent::Main
            };
            claw_core::reports::models_status(&gw.app(), agent, probe.then_some(timeout))
                .await
                .map_err(|e| ApiError::new(404, "not_found_error", e.to_string()))
        }
        (&Method::POST, ["infer"]) => infer(gw, body).await,
        _ => Err(ApiError::new(
            404,
            "not_found_error",
            format!("no admin route for {method} {path}"),
        )),
    };
    match result {
        Ok(value) => json_response(StatusCode::OK, &value),
        Err(e) => error_response(crate::apis::FALLBACK, &e),
    }
}

fn status(gw: &Gateway) -> Value {
    let app = gw.app();
    json!({
        "pid": std::process::id(),
        "uptimeMs": gw.started.elapsed().as_millis() as u64,
        "requestsServed": gw.served(),
        "inFlight": gw.in_flight(),
        "stateDir": gw.state.root().display().to_string(),
        "plugins": {
            "loaded": app.registry.count(claw_core::registry::Status::Loaded),
            "disabled": app.registry.count(claw_core::registry::Status::Disabled),
            "error": app.registry.count(claw_core::registry::Status::Error),
        },
        "models": app.catalog.providers.values().map(|p| p.models.len()).sum::<usize>(),
    })
}

fn plugins_json(gw: &Gateway, registry: &Registry) -> Value {
    let mut value = registry.to_json();
    value["stateDir"] = json!(gw.state.root().display().to_string());
    value
}

fn unknown_plugin(registry: &Registry, id: &str) -> String {
    let known: Vec<&str> = registry.plugins.iter().map(|p| p.id.as_str()).collect();
    format!(
        "no plugin with id \"{id}\"; known plugins: {}",
        known.join(", ")
    )
}

async fn edit_plugin(gw: &Arc<Gateway>, id: &str, edit: PluginEdit) -> Result<Value, ApiError> {
    let Some(report) = gw.app().registry.get(id).map(|r| r.kind) else {
        return Err(ApiError::new(
            404,
            "not_found_error",
            unknown_plugin(&gw.app().registry, id),
        ));
    };
    if edit.is_trust() && report == Some(Kind::Wasm) {
        return Err(ApiError::new(
            400,
            "invalid_request_error",
            claw_core::registry::trust_not_needed(id),
        ));
    }
    let edit = || -> Result<(), claw_core::config::ConfigError> {
        let mut config = ConfigFile::load(&gw.state.config_path())?;
        config.edit_plugin(id, edit)?;
        config.save()?;
        Ok(())
    };
    edit().map_err(|e| ApiError::new(400, "invalid_request_error", e.to_string()))?;
    let summary = reload(gw).await;
    let report = gw
        .app()
        .registry
        .get(id)
        .map(|r| serde_json::to_value(r).expect("reports serialize"));
    Ok(json!({ "plugin": report, "reload": summary }))
}

/// Build the new plugin set and config beside the old one, then swap. Requests
/// in flight keep the set they started with; a failure keeps the old set.
pub async fn reload(gw: &Gateway) -> Value {
    let _one_at_a_time = gw.reload_lock.lock().await;
    let started = Instant::now();
    match App::load(gw.state.clone(), &gw.runtime, crate::server::prompter()).await {
        Ok(app) => {
            let mut summary = diff(&gw.app().registry, &app.registry);
            gw.swap(app);
            let took = started.elapsed();
            summary["tookMs"] = json!((took.as_secs_f64() * 1e5).round() / 100.0);
            tracing::info!(summary = %summary, "reloaded plugins and config");
            summary
        }
        Err(e) => {
            let error = format!("{e}; still serving the previous configuration and plugins");
            tracing::warn!("reload failed: {error}");
            json!({ "ok": false, "error": error, "tookMs": started.elapsed().as_millis() as u64 })
        }
    }
}

/// What changed between two plugin sets.
fn diff(old: &Registry, new: &Registry) -> Value {
    let (mut unchanged, mut changed, mut added, mut errors) = (vec![], vec![], vec![], vec![]);
    for p in &new.plugins {
        if p.status == claw_core::registry::Status::Error {
            errors.push(json!({ "id": p.id, "error": p.error }));
            continue;
        }
        if p.status != claw_core::registry::Status::Loaded {
            continue;
        }
        match old.get(&p.id) {
            Some(o) if o.digest == p.digest && o.status == p.status => unchanged.push(p.id.clone()),
            Some(_) => changed.push(p.id.clone()),
            None => added.push(p.id.clone()),
        }
    }
    let removed: Vec<&str> = old
        .plugins
        .iter()
        .filter(|o| new.get(&o.id).is_none())
        .map(|o| o.id.as_str())
        .collect();
    json!({
        "ok": errors.is_empty(),
        "loaded": new.count(claw_core::registry::Status::Loaded),
        "unchanged": unchanged, "changed": changed, "added": added, "removed": removed, "errors": errors,
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct InferBody {
    model: Option<String>,
    prompt: String,
    system: Option<String>,
    max_tokens: Option<u32>,
    temperature: Option<f32>,
    #[serde(default)]
    subagent: bool,
}

async fn infer(gw: &Arc<Gateway>, body: &[u8]) -> Result<Value, ApiError> {
    let body: InferBody =
        serde_json::from_slice(body).map_err(|e| ApiError::invalid(format!("infer body: {e}")))?;
    let app = gw.app();
    let agent = if body.subagent {
        Agent::Subagent
    } else {
        Agent::Main
    };
    let (chain, _) = app
        .chain(body.model.as_deref(), agent)
        .map_err(|e| ApiError::new(404, "not_found_error", e.to_string()))?;
    let system = body
        .system
        .map(|text| SystemBlock { text, cache: None })
        .into_iter()
        .collect();
    let req = ApiRequest {
        model: body.model.unwrap_or_default(),
        prompt: Prompt {
            system,
            messages: vec![Message::text(Role::User, body.prompt)],
            max_tokens: body.max_tokens,
            temperature: body.temperature,
            streaming: true,
            ..Prompt::default()
        },
        stream: false,
        include_usage: true,
    };
    let outcome = gw.route_request(&app, &chain, &req, &mut |_| {}).await;
    Ok(claw_core::reports::outcome_json(&app, &outcome))
}
