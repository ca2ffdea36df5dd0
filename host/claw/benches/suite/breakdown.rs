//! Section 3b, where the added latency goes: one streamed request four ways,
//! interleaved, at concurrency 1: straight to the stand-in on a keep-alive
//! connection and on a fresh connection each time, the openai-completions
//! plugin called in-process, and through the gateway.

use std::sync::Arc;
use std::time::Instant;

use claw_plugin_host::loader;
use claw_plugin_host::manifest::Manifest;
use claw_plugin_host::{Limits, NetworkGrant, PluginSettings, Runtime};
use claw_types::ChatEvent;

use crate::count;
use crate::http::{Conn, Target, body};
use crate::report::{Table, na};
use crate::setup::{MODEL, bundled, chat_request, settings};
use crate::stats::{fmt_ms, median, us};
use crate::upstream::Upstream;

#[derive(Clone, Copy, Default)]
pub struct Breakdown {
    /// Medians in µs, each a streamed request for the same reply, drained.
    direct_keepalive_us: f64,
    direct_fresh_conn_us: f64,
    plugin_inprocess_us: f64,
    gateway_us: f64,
}

/// The same streamed request four ways, interleaved, one at a time: straight
/// to the stand-in on a keep-alive connection and on a fresh connection each
/// time (as the plugin's wasi:http does), the openai-completions plugin called
/// in-process through the claw library (fresh instance, wasi:http, SSE parsing
/// in wasm; no gateway), and through the gateway.
pub fn bench(direct: &Target, through: &Target, upstream: &Upstream) -> Breakdown {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let runtime = Runtime::new(Limits::default(), None).unwrap();
    let openai = bundled("openai-completions");
    let manifest = Manifest::parse(openai.manifest).unwrap();
    // The stand-in's URL, as a user would configure it for a provider.
    let base_url = upstream.url();
    let settings = PluginSettings {
        grant: Arc::new(NetworkGrant::new(vec![], [base_url.as_str()], None)),
        ..settings()
    };
    let plugin = rt
        .block_on(loader::load(&runtime, &manifest, openai.wasm, settings))
        .unwrap()
        .plugin;
    let request = chat_request(
        "lmstudio",
        "openai-completions",
        format!("{}/v1", upstream.url()),
        MODEL,
        "Count to thirty-two, please.",
        Some(64),
    );
    let chat = || {
        rt.block_on(async {
            let t = Instant::now();
            let mut stream = plugin.chat(&request).await.expect("plugin chat");
            let mut text = String::new();
            while let Some(events) = stream.next().await.expect("plugin next") {
                for e in events {
                    if let ChatEvent::Text(t) = e {
                        text.push_str(&t);
                    }
                }
            }
            assert!(text.ends_with("thirty-two"), "plugin reply: {text}");
            us(t.elapsed())
        })
    };
    let payload = body(true, MODEL);
    let mut keep = Conn::open(&direct.addr).unwrap();
    let mut gw = Conn::open(&through.addr).unwrap();
    let n = count(1_000);
    let mut v: [Vec<f64>; 4] = Default::default();
    for i in 0..n + 50 {
        let a = us(keep.post(direct, &payload, true).unwrap().total);
        let b = {
            let mut fresh = Conn::open(&direct.addr).unwrap();
            us(fresh.post(direct, &payload, true).unwrap().total)
        };
        let c = chat();
        let d = us(gw.post(through, &payload, true).unwrap().total);
        if i >= 50 {
            for (k, x) in [a, b, c, d].into_iter().enumerate() {
                v[k].push(x);
            }
        }
    }
    let r = Breakdown {
        direct_keepalive_us: median(&v[0]),
        direct_fresh_conn_us: median(&v[1]),
        plugin_inprocess_us: median(&v[2]),
        gateway_us: median(&v[3]),
    };
    eprintln!(
        "  streamed request, medians of {n}: direct keep-alive {}, direct fresh connection {}, plugin in-process {}, through the gateway {}",
        fmt_ms(r.direct_keepalive_us),
        fmt_ms(r.direct_fresh_conn_us),
        fmt_ms(r.plugin_inprocess_us),
        fmt_ms(r.gateway_us)
    );
    r
}

impl Breakdown {
    pub fn rows(&self, t: &mut Table) {
        t.row(
            "c1 stream, medians: direct keep-alive / direct fresh connection / plugin in-process / through the gateway",
            "—",
            format!(
                "{} / {} / {} / {}",
                fmt_ms(self.direct_keepalive_us),
                fmt_ms(self.direct_fresh_conn_us),
                fmt_ms(self.plugin_inprocess_us),
                fmt_ms(self.gateway_us)
            ),
            None,
            na(),
        );
    }
}
