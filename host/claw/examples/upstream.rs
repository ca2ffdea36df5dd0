//! The local Anthropic/OpenAI stand-in from the tests, as a program: try claw's
//! routing and failover without any API key or network.
//!
//! ```sh
//! cargo run -p claw --example upstream -- 8787 MiniMax-M2.1=529
//! ```
//!
//! Arguments: the port (default 8787), then `model=behavior` pairs where
//! behavior is an HTTP status (`529`, `429`, `401`...), `stall`, `empty`, `cut`
//! or `malformed`. Other models answer normally.

#[path = "../../../tests/support/upstream.rs"]
#[allow(dead_code)]
mod upstream;

use upstream::{Behavior, Upstream};

fn main() {
    let mut args = std::env::args().skip(1);
    let port: u16 = args.next().and_then(|p| p.parse().ok()).unwrap_or(8787);
    let upstream = Upstream::start_on(port);
    for pair in args {
        let Some((model, behavior)) = pair.split_once('=') else {
            eprintln!("ignoring {pair:?}: expected model=behavior");
            continue;
        };
        let behavior = match behavior {
            "stall" => Behavior::Stall {
                ms: 60_000,
                ping_every_ms: 1_000,
            },
            "empty" => Behavior::EmptyStream,
            "cut" => Behavior::CutAfter { words: 5 },
            "malformed" => Behavior::Malformed,
            code => match code.parse() {
                Ok(code) => Behavior::Status {
                    code,
                    retry_after: (code == 429).then_some(30),
                },
                Err(_) => {
                    eprintln!("ignoring {pair:?}: unknown behavior");
                    continue;
                }
            },
        };
        upstream.behave(model, behavior);
    }
    println!("stand-in listening on {}", upstream.url());
    println!(
        "  Anthropic: {}/anthropic  (POST .../v1/messages)",
        upstream.url()
    );
    println!(
        "  OpenAI:    {}/v1  (POST .../chat/completions)",
        upstream.url()
    );
    loop {
        std::thread::park();
    }
}
