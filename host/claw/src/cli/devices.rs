//! `claw devices ...`: the owner's side of pairing. Through the running
//! gateway's admin API (with the owner's token from the state dir) when there
//! is one, so its log has each decision and its use counts show; straight on
//! the device store otherwise. Either way the owner is never locked out.

use std::process::ExitCode;

use clap::Subcommand;
use http::Method;
use serde_json::{Value, json};

use super::client::GatewayClient;
use super::table::{joined, print_table};
use claw_core::devices::DeviceStore;
use claw_core::state::StateDir;
use claw_gateway::devices::{decision_json, log_decision_to_file};

#[derive(Subcommand)]
pub enum DevicesCommand {
    /// Pending pairing requests and paired devices (with use against limits
    /// while the gateway runs).
    List {
        #[arg(long)]
        json: bool,
    },
    /// Approve a pairing request; the device gets its token on its next poll.
    Approve { request_id: String },
    /// Reject a pairing request.
    Reject { request_id: String },
    /// Unpair a device: its token stops working on its next request.
    Revoke { device_id: String },
    /// Give a paired device a new token (shown once); the old one stops working.
    Rotate { device_id: String },
}

pub async fn run(command: DevicesCommand) -> anyhow::Result<ExitCode> {
    let state = StateDir::from_env()?;
    let gateway = GatewayClient::discover(&state);
    match command {
        DevicesCommand::List { json } => {
            let listing = match &gateway {
                Some(client) => client.ok(Method::GET, "/admin/devices", None).await?,
                None => serde_json::to_value(DeviceStore::new(state.root()).list()?)?,
            };
            if json {
                println!("{}", serde_json::to_string_pretty(&listing)?);
            } else {
                print_listing(&listing);
            }
        }
        DevicesCommand::Approve { request_id } => {
            decide(&state, gateway, &request_id, "approve").await?
        }
        DevicesCommand::Reject { request_id } => {
            decide(&state, gateway, &request_id, "reject").await?
        }
        DevicesCommand::Revoke { device_id } => {
            decide(&state, gateway, &device_id, "revoke").await?
        }
        DevicesCommand::Rotate { device_id } => {
            decide(&state, gateway, &device_id, "rotate").await?
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn decide(
    state: &StateDir,
    gateway: Option<GatewayClient>,
    id: &str,
    action: &str,
) -> anyhow::Result<()> {
    let result = match gateway {
        Some(client) => {
            client
                .ok(Method::POST, &format!("/admin/devices/{id}/{action}"), None)
                .await?
        }
        None => {
            let store = DeviceStore::new(state.root());
            let (decision, token) = match action {
                "approve" => (store.approve(id)?, None),
                "reject" => (store.reject(id)?, None),
                "revoke" => (store.revoke(id)?, None),
                _ => {
                    let (d, t) = store.rotate(id)?;
                    (d, Some(t))
                }
            };
            log_decision_to_file(state, action, &decision);
            let mut v = decision_json(action, &decision);
            if let Some(t) = token {
                v["token"] = json!(t);
            }
            v
        }
    };
    let device = result["deviceId"].as_str().unwrap_or("?");
    let name = result["name"].as_str().unwrap_or("?");
    let scopes = joined(&result["scopes"]);
    match action {
        "approve" => println!(
            "Approved {device} ({name}) with scopes {scopes}; it receives its token when it next polls its request"
        ),
        "reject" => println!("Rejected the request of {device} ({name})"),
        "revoke" => {
            println!("Revoked {device} ({name}); its token stops working on its next request")
        }
        _ => {
            println!(
                "Rotated the token of {device} ({name}); the old one stops working now. The new token (shown once):"
            );
            println!("{}", result["token"].as_str().unwrap_or_default());
        }
    }
    Ok(())
}

fn age(ms: Option<u64>) -> String {
    let Some(ms) = ms else { return "-".into() };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let s = now.saturating_sub(ms) / 1000;
    match s {
        0..60 => format!("{s}s ago"),
        60..3600 => format!("{}m ago", s / 60),
        3600..86_400 => format!("{}h ago", s / 3600),
        _ => format!("{}d ago", s / 86_400),
    }
}

/// `12/60 rpm, 1/2 streams, 900/10000 tokens`: use against limits, where set.
fn usage(device: &Value) -> String {
    let u = &device["usage"];
    if u.is_null() {
        return "- (gateway not running)".into();
    }
    let l = &u["limits"];
    let part = |used: &Value, limit: &Value, what: &str| match limit.as_u64() {
        Some(max) => format!("{}/{max} {what}", used.as_u64().unwrap_or(0)),
        None => format!("{} {what}", used.as_u64().unwrap_or(0)),
    };
    [
        part(&u["requestsLastMinute"], &l["requestsPerMinute"], "req/min"),
        part(&u["streams"], &l["concurrentStreams"], "streams"),
        part(&u["tokensToday"], &l["tokensPerDay"], "tokens today"),
    ]
    .join(", ")
}

fn print_listing(listing: &Value) {
    let rows = |key: &str| listing[key].as_array().cloned().unwrap_or_default();
    let pending = rows("pending");
    println!("Pending requests ({}):", pending.len());
    if !pending.is_empty() {
        let rows: Vec<[String; 5]> = pending
            .iter()
            .map(|p| {
                [
                    p["requestId"].as_str().unwrap_or("-").to_string(),
                    p["deviceId"].as_str().unwrap_or("-").to_string(),
                    p["name"].as_str().unwrap_or("-").to_string(),
                    joined(&p["scopes"]),
                    age(p["requestedAtMs"].as_u64()),
                ]
            })
            .collect();
        print_table(&["REQUEST", "DEVICE", "NAME", "SCOPES", "AGE"], &rows);
        println!("Approve one with `claw devices approve <REQUEST>`.");
    }
    let paired = rows("paired");
    println!("Paired devices ({}):", paired.len());
    if !paired.is_empty() {
        let rows: Vec<[String; 6]> = paired
            .iter()
            .map(|d| {
                [
                    d["deviceId"].as_str().unwrap_or("-").to_string(),
                    d["name"].as_str().unwrap_or("-").to_string(),
                    joined(&d["scopes"]),
                    age(d["pairedAtMs"].as_u64()),
                    age(d["lastSeenMs"].as_u64()),
                    usage(d),
                ]
            })
            .collect();
        print_table(
            &["DEVICE", "NAME", "SCOPES", "PAIRED", "LAST SEEN", "USE"],
            &rows,
        );
    }
}
