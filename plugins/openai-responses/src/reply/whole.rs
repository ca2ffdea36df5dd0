//! A whole (non-streamed) `response` object, as the events a stream of it
//! gives: its output items as they would be when done, then its end.

use claw_plugin_sdk::prelude::*;
use claw_plugin_sdk::upstream;

use super::StreamDecoder;
use crate::errors::{API, upstream_error};

pub fn parse_response(body: &[u8]) -> Result<Vec<ChatEvent>, PluginError> {
    let response = upstream::reply_json(API, body)?;
    // An error body with a success status (some proxies answer so).
    if response["object"] != "response"
        && response["output"].is_null()
        && !response["error"].is_null()
    {
        return Err(upstream_error(None, &String::from_utf8_lossy(body), None));
    }
    let mut events = Vec::new();
    let mut decoder = StreamDecoder::new(&[]);
    decoder.started = true;
    let id = response["id"].as_str().unwrap_or("").to_string();
    events.push(ChatEvent::Started(id));
    decoder.finish(&response, &mut events)?;
    Ok(events)
}
