//! How the interactive steps of a login reach the user.

/// Renders the `prompts` imports. The CLI and the gateway each provide one.
pub trait Prompter: Send + Sync {
    fn show_code(&self, code: &str, url: &str);
    fn open_url(&self, url: &str) -> bool;
    fn ask(&self, question: &str, secret: bool) -> Option<String>;
    fn pick(&self, question: &str, options: &[String]) -> Option<u32>;
    fn progress(&self, message: &str);
}

/// For contexts with nobody to ask: shows codes and URLs on stderr and answers
/// every question with "cannot ask", so a plugin never blocks on a prompt.
pub struct Headless;

impl Prompter for Headless {
    fn show_code(&self, code: &str, url: &str) {
        eprintln!("Enter the code {code} at {url}");
    }
    fn open_url(&self, url: &str) -> bool {
        eprintln!("Open {url}");
        false
    }
    fn ask(&self, _question: &str, _secret: bool) -> Option<String> {
        None
    }
    fn pick(&self, _question: &str, _options: &[String]) -> Option<u32> {
        None
    }
    fn progress(&self, message: &str) {
        eprintln!("{message}");
    }
}
