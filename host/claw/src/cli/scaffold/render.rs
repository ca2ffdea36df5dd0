//! The template language of `templates/<lang>/`: `{{name}}` placeholders, and
//! `{{#provider}}` / `{{#auth}}` / `{{#native}}` blocks (marker lines on their
//! own, closed by `{{/provider}}` and the like, nestable) kept only when the
//! plugin has that role (or is native), `{{^provider}}` and the like only when
//! it has not. Nothing else, so templates stay readable as the language they
//! are written in.

/// What a template is rendered with.
pub struct Vars {
    pub values: Vec<(&'static str, String)>,
    pub provider: bool,
    pub auth: bool,
    /// A native library rather than a component.
    pub native: bool,
}

/// Render one template file.
pub fn render(text: &str, vars: &Vars) -> String {
    let mut out = String::with_capacity(text.len());
    // One entry per open block: whether its lines are kept.
    let mut open: Vec<bool> = Vec::new();
    for line in text.split_inclusive('\n') {
        let marker = line.trim();
        let role = |name: &str| match name {
            "provider}}" => Some(vars.provider),
            "auth}}" => Some(vars.auth),
            "native}}" => Some(vars.native),
            _ => None,
        };
        if let Some(has) = marker.strip_prefix("{{#").and_then(role) {
            open.push(has);
        } else if let Some(has) = marker.strip_prefix("{{^").and_then(role) {
            open.push(!has);
        } else if marker.strip_prefix("{{/").and_then(role).is_some() {
            open.pop();
        } else if open.iter().all(|keep| *keep) {
            out.push_str(line);
        }
    }
    for (name, value) in &vars.values {
        out = out.replace(&format!("{{{{{name}}}}}"), value);
    }
    out
}

/// A template's file name as written: a trailing `.tmpl` (which keeps cargo and
/// linters away from template sources) is dropped.
pub fn output_path(template_path: &str) -> &str {
    template_path.strip_suffix(".tmpl").unwrap_or(template_path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(provider: bool, auth: bool) -> Vars {
        Vars {
            values: vec![("id", "demo".into()), ("snake", "de_mo".into())],
            provider,
            auth,
            native: false,
        }
    }

    #[test]
    fn placeholders_and_role_blocks() {
        let text = "id={{id}} {{snake}}\n{{#provider}}\np\n{{/provider}}\n  {{#auth}}\na\n{{/auth}}\nend {{other}}\n";
        assert_eq!(
            render(text, &vars(true, false)),
            "id=demo de_mo\np\nend {{other}}\n"
        );
        assert_eq!(
            render(text, &vars(false, true)),
            "id=demo de_mo\na\nend {{other}}\n"
        );
        assert_eq!(
            render(text, &vars(true, true)),
            "id=demo de_mo\np\na\nend {{other}}\n"
        );
        let nested = "{{#auth}}\nA\n{{#provider}}\nboth\n{{/provider}}\n{{^provider}}\nauth only\n{{/provider}}\n{{/auth}}\n";
        assert_eq!(render(nested, &vars(true, true)), "A\nboth\n");
        assert_eq!(render(nested, &vars(false, true)), "A\nauth only\n");
        assert_eq!(render(nested, &vars(true, false)), "");
        assert_eq!(output_path("src/lib.rs.tmpl"), "src/lib.rs");
        assert_eq!(output_path("app.py"), "app.py");
    }
}
