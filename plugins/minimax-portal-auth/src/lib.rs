//! MiniMax portal: logs in with a MiniMax account (OAuth user code with PKCE,
//! Global or China) and serves the MiniMax models over MiniMax's
//! Anthropic-compatible API with the resulting access token.
//!
//! This file holds the host calls (HTTP, prompts, clocks, randomness); the
//! logic is in `oauth`, `pkce` and `catalog`, unit-tested natively (`cargo test`
//! in plugins/), and the chat wire format is the shared `anthropic-wire`.

mod catalog;
mod oauth;
mod pkce;

use std::time::Duration;

use claw_plugin_sdk::prelude::*;
use claw_plugin_sdk::{random, time};

use oauth::{Endpoints, Poll, Settings};

struct MiniMaxPortal;

impl Provider for MiniMaxPortal {
    fn describe() -> ProviderInfo {
        ProviderInfo {
            apis: vec![anthropic_wire::API.into()],
            models: catalog::models(),
        }
    }

    fn chat(request: ChatRequest) -> Result<ChatStream, PluginError> {
        if matches!(request.credential, RequestCredential::None) {
            return Err(PluginError::new(
                ErrorReason::Auth,
                format!(
                    "{}: not logged in; {}",
                    oauth::PROVIDER,
                    oauth::LOG_IN_AGAIN
                ),
            ));
        }
        // The host passes the access token as `RequestCredential::Bearer`.
        anthropic_wire::chat(request)
    }
}

impl Auth for MiniMaxPortal {
    fn describe_auth() -> AuthInfo {
        AuthInfo {
            provider: oauth::PROVIDER.into(),
            methods: oauth::REGIONS
                .iter()
                .map(|r| AuthMethod {
                    id: r.method.into(),
                    label: r.label.into(),
                    kind: MethodKind::Oauth,
                    hint: Some(r.host.into()),
                })
                .collect(),
        }
    }

    fn login(method: String) -> Result<LoginResult, PluginError> {
        let region = oauth::region(&method)?;
        let endpoints = Endpoints::new(region, &settings()?);

        let verifier = pkce::verifier(random::bytes);
        let challenge = pkce::challenge(&verifier);
        let state = pkce::state(&random::bytes(16));
        claw_plugin_sdk::info!(
            "{}: asking {} for a login code ({})",
            oauth::PROVIDER,
            endpoints.base,
            region.label
        );
        let (status, body, retry_after) = post_form(
            &endpoints.code_url(),
            &endpoints.code_form(&challenge, &state),
        )?;
        if !(200..300).contains(&status) {
            let mut e =
                PluginError::from_status(status, &String::from_utf8_lossy(&body), retry_after);
            e.message = format!("MiniMax login: {}", e.message);
            return Err(e);
        }
        let code = oauth::parse_code_reply(&body, &state, time::now_ms())?;

        prompts::show_code(&code.user_code, &code.verification_uri);
        let _ = prompts::open_url(&code.verification_uri);
        prompts::progress("Waiting for you to approve the login in the browser...");

        let tokens = poll(&endpoints, &code, &verifier)?;
        let base_url = oauth::provider_base_url(tokens.resource_url.as_deref(), &endpoints.base);
        claw_plugin_sdk::info!(
            "{}: logged in ({}); the API base URL is {base_url}",
            oauth::PROVIDER,
            region.label
        );
        Ok(LoginResult {
            profile: "default".into(),
            credential: oauth::login_credential(tokens, region, &base_url),
            config_patch: Some(oauth::config_patch(&base_url).to_string()),
            notes: oauth::login_notes(region),
        })
    }

    fn refresh(method: String, credential: Credential) -> Result<Credential, PluginError> {
        let region = oauth::region(&method)
            .or_else(|e| oauth::region_from_extra(&credential.extra).ok_or(e))?;
        let Some(refresh_token) = credential.refresh.clone().filter(|t| !t.is_empty()) else {
            return Err(oauth::no_refresh_token());
        };
        let endpoints = Endpoints::new(region, &settings()?);
        claw_plugin_sdk::debug!(
            "{}: refreshing the access token at {}",
            oauth::PROVIDER,
            endpoints.base
        );
        let secrets = [refresh_token.as_str(), credential.access.as_str()];
        let (status, body, retry_after) = post_form(
            &endpoints.token_url(),
            &endpoints.refresh_form(&refresh_token),
        )
        .map_err(|e| e.redacted(secrets))?;
        oauth::parse_refresh_reply(status, &body, retry_after, &credential)
            .map_err(|e| e.redacted(secrets))
    }
}

/// Poll the token endpoint until the user approves, denies, or the code expires.
fn poll(
    endpoints: &Endpoints,
    code: &oauth::CodeReply,
    verifier: &str,
) -> Result<oauth::Tokens, PluginError> {
    let form = endpoints.poll_form(&code.user_code, verifier);
    let mut backoff = oauth::Backoff::new(code.interval_ms);
    loop {
        let Some(wait) = backoff.next_wait(time::now_ms(), code.expires_at_ms) else {
            return Err(oauth::expired());
        };
        time::sleep(Duration::from_millis(wait));
        let reply = post_form(&endpoints.token_url(), &form)
            .and_then(|(status, body, retry_after)| {
                oauth::parse_poll_reply(status, &body, retry_after)
            })
            .map_err(|e| e.redacted([verifier]))?;
        match reply {
            Poll::Pending => continue,
            Poll::Success(tokens) => return Ok(tokens),
            Poll::Denied(why) => {
                return Err(PluginError::new(
                    ErrorReason::Auth,
                    claw_plugin_sdk::redact(
                        &format!("MiniMax denied the login: {why}"),
                        [verifier],
                    ),
                ));
            }
        }
    }
}

/// POST a form; the status, the whole body and Retry-After.
fn post_form(
    url: &str,
    form: &[(&'static str, String)],
) -> Result<(u16, Vec<u8>, Option<u64>), PluginError> {
    let fields: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut response = http::Request::post(url)
        .header("accept", "application/json")
        .form(&fields)
        .first_byte_timeout(Duration::from_secs(30))
        .send()
        .map_err(|mut e| {
            e.message = format!("MiniMax OAuth: {}", e.message);
            e
        })?;
    let body = response.bytes()?;
    Ok((response.status(), body, response.retry_after_ms()))
}

fn settings() -> Result<Settings, PluginError> {
    claw_plugin_sdk::config::get::<Settings>()
}

claw_plugin_sdk::export_portal!(MiniMaxPortal);
