//! The terminal side of a login's interactive steps. Without a terminal
//! (scripts, CI, piped stdin) it prints codes and URLs and never asks.

use std::io::{BufRead, IsTerminal, Write};

use claw_plugin_host::Prompter;

pub struct Terminal {
    interactive: bool,
}

impl Terminal {
    pub fn new() -> Terminal {
        Terminal {
            interactive: std::io::stdin().is_terminal() && std::io::stderr().is_terminal(),
        }
    }

    pub fn interactive(&self) -> bool {
        self.interactive
    }
}

impl Prompter for Terminal {
    fn show_code(&self, code: &str, url: &str) {
        eprintln!("\nTo log in, open:\n\n    {url}\n\nand enter the code:\n\n    {code}\n");
    }

    fn open_url(&self, url: &str) -> bool {
        if !self.interactive {
            return false;
        }
        let opener = if cfg!(target_os = "macos") {
            "open"
        } else {
            "xdg-open"
        };
        std::process::Command::new(opener)
            .arg(url)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .is_ok()
    }

    fn ask(&self, question: &str, secret: bool) -> Option<String> {
        if !self.interactive {
            return None;
        }
        eprint!("{question}: ");
        let _ = std::io::stderr().flush();
        let line = if secret { read_hidden() } else { read_line() }?;
        let line = line.trim().to_string();
        (!line.is_empty()).then_some(line)
    }

    fn pick(&self, question: &str, options: &[String]) -> Option<u32> {
        if !self.interactive || options.is_empty() {
            return None;
        }
        eprintln!("{question}");
        for (i, option) in options.iter().enumerate() {
            eprintln!("  {}. {option}", i + 1);
        }
        eprint!("Choose 1-{}: ", options.len());
        let _ = std::io::stderr().flush();
        let n: usize = read_line()?.trim().parse().ok()?;
        (1..=options.len()).contains(&n).then(|| (n - 1) as u32)
    }

    fn progress(&self, message: &str) {
        eprintln!("{message}");
    }
}

fn read_line() -> Option<String> {
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).ok()?;
    Some(line)
}

/// Read a line with terminal echo off (stty), so a key is never shown.
pub fn read_hidden() -> Option<String> {
    let stty = |arg: &str| {
        std::process::Command::new("stty")
            .arg(arg)
            .stdin(std::process::Stdio::inherit())
            .status()
            .is_ok_and(|s| s.success())
    };
    let hidden = stty("-echo");
    let line = read_line();
    if hidden {
        stty("echo");
        eprintln!();
    }
    line
}
