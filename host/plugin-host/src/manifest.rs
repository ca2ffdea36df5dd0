//! The plugin manifest, `claw-plugin.toml`, next to the component:
//!
//! ```toml
//! id = "echo"                 # lowercase letters, digits and '-'
//! name = "Echo"
//! version = "0.1.0"           # the plugin's own semver
//! description = "..."
//! sdk = "^0.2"                # semver requirement on the claw:plugin SDK
//! roles = ["provider"]        # "provider" and/or "auth"
//! component = "echo.wasm"     # optional; default "<id with _ for ->.wasm"
//! [network]
//! hosts = ["api.example.com", "*.example.org"]
//! ```
//!
//! A native plugin names a shared library per target triple instead of a
//! component (and runs only once the user trusts it):
//!
//! ```toml
//! [native]
//! x86_64-unknown-linux-gnu = "libmy_provider.so"
//! aarch64-apple-darwin = "libmy_provider.dylib"
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The manifest's file name.
pub const FILE_NAME: &str = "claw-plugin.toml";

/// The target triple this claw was built for: the key a native plugin's
/// manifest names its library under.
pub const HOST_TARGET: &str = env!("CLAW_HOST_TARGET");

/// What a plugin is built as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A WebAssembly component, sandboxed.
    Wasm,
    /// A shared library for this machine, unsandboxed: loads only when trusted.
    Native,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Wasm => "wasm",
            Kind::Native => "native",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Provider,
    Auth,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Provider => "provider",
            Role::Auth => "auth",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Manifest {
    pub id: String,
    pub name: String,
    pub version: semver::Version,
    pub description: String,
    pub sdk: semver::VersionReq,
    pub roles: Vec<Role>,
    pub component: String,
    /// `[native]`: the library file for each target triple.
    pub native: Option<BTreeMap<String, String>>,
    pub network_hosts: Vec<String>,
}

/// What is wrong with a manifest. The message names the field and the fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ManifestError(pub String);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    id: Option<String>,
    name: Option<String>,
    version: Option<String>,
    description: Option<String>,
    sdk: Option<String>,
    roles: Option<Vec<String>>,
    component: Option<String>,
    native: Option<BTreeMap<String, String>>,
    network: Option<RawNetwork>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNetwork {
    #[serde(default)]
    hosts: Vec<String>,
}

impl Manifest {
    /// Parse and validate every field of a manifest's text.
    pub fn parse(text: &str) -> Result<Manifest, ManifestError> {
        let raw: Raw = toml::from_str(text).map_err(|e| {
            ManifestError(format!(
                "{FILE_NAME} is not valid: {}",
                one_line(&e.to_string())
            ))
        })?;
        let missing = |field: &str, example: &str| {
            ManifestError(format!(
                "{FILE_NAME}: missing field `{field}` (e.g. {field} = {example})"
            ))
        };

        let id = raw.id.ok_or_else(|| missing("id", "\"my-provider\""))?;
        validate_id(&id)?;
        let name = raw.name.unwrap_or_else(|| id.clone());
        let version_text = raw.version.ok_or_else(|| missing("version", "\"0.1.0\""))?;
        let version = semver::Version::parse(&version_text).map_err(|e| {
            ManifestError(format!("{FILE_NAME}: bad version \"{version_text}\": {e}; use a semver version like \"1.2.0\""))
        })?;
        let sdk_text = raw.sdk.ok_or_else(|| missing("sdk", "\"^0.2\""))?;
        let sdk = semver::VersionReq::parse(&sdk_text).map_err(|e| {
            ManifestError(format!(
                "{FILE_NAME}: bad sdk requirement \"{sdk_text}\": {e}; use a semver requirement like \"^0.2\""
            ))
        })?;
        let roles = parse_roles(
            raw.roles
                .ok_or_else(|| missing("roles", "[\"provider\"]"))?,
        )?;
        if raw.native.is_some() && raw.component.is_some() {
            return Err(ManifestError(format!(
                "{FILE_NAME}: both `component` and [native] are set; a plugin is either a WebAssembly component or a native library, remove one"
            )));
        }
        let component = raw
            .component
            .unwrap_or_else(|| format!("{}.wasm", id.replace('-', "_")));
        validate_component(&component)?;
        if let Some(native) = &raw.native {
            validate_native(native)?;
        }
        let network_hosts = raw.network.map(|n| n.hosts).unwrap_or_default();
        for host in &network_hosts {
            validate_host_pattern(host)?;
        }
        Ok(Manifest {
            id,
            name,
            version,
            description: raw.description.unwrap_or_default(),
            sdk,
            roles,
            component,
            native: raw.native,
            network_hosts,
        })
    }

    pub fn kind(&self) -> Kind {
        match self.native {
            Some(_) => Kind::Native,
            None => Kind::Wasm,
        }
    }

    /// The file claw loads on this machine: the component, or the native
    /// library listed for [`HOST_TARGET`].
    pub fn artifact(&self) -> Result<&str, ManifestError> {
        let Some(native) = &self.native else {
            return Ok(&self.component);
        };
        if let Some(library) = native.get(HOST_TARGET) {
            return Ok(library);
        }
        let has = native.keys().cloned().collect::<Vec<_>>().join(", ");
        Err(ManifestError(format!(
            "{FILE_NAME}: [native] names no library for this machine ({HOST_TARGET}); it has {has}. \
             Build the plugin here (`claw plugins build` in its folder) and add \
             `{HOST_TARGET} = \"{}\"` under [native]",
            library_name(&self.id)
        )))
    }
}

/// The file name cargo gives a cdylib crate named `id` on this machine.
pub fn library_name(id: &str) -> String {
    let stem = id.replace('-', "_");
    match std::env::consts::OS {
        "windows" => format!("{stem}.dll"),
        "macos" | "ios" => format!("lib{stem}.dylib"),
        _ => format!("lib{stem}.so"),
    }
}

fn validate_native(native: &BTreeMap<String, String>) -> Result<(), ManifestError> {
    if native.is_empty() {
        return Err(ManifestError(format!(
            "{FILE_NAME}: [native] is empty; name the library for each target, e.g. {HOST_TARGET} = \"libmy_provider.so\""
        )));
    }
    for (target, library) in native {
        let triple_ok = target.split('-').count() >= 2
            && target
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.');
        if !triple_ok {
            return Err(ManifestError(format!(
                "{FILE_NAME}: [native] key \"{target}\" is not a target triple (e.g. {HOST_TARGET})"
            )));
        }
        let plain = !library.contains(['/', '\\']) && !library.starts_with('.');
        let shared = [".so", ".dylib", ".dll"]
            .iter()
            .any(|ext| library.len() > ext.len() && library.ends_with(ext));
        if !plain || !shared {
            return Err(ManifestError(format!(
                "{FILE_NAME}: [native] {target} = \"{library}\": give the shared library's file name, without a folder (e.g. \"libmy_provider.so\")"
            )));
        }
    }
    Ok(())
}

pub fn validate_id(id: &str) -> Result<(), ManifestError> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id.starts_with(|c: char| c.is_ascii_lowercase())
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if ok {
        Ok(())
    } else {
        Err(ManifestError(format!(
            "{FILE_NAME}: bad id \"{id}\": use 1-64 lowercase letters, digits and '-', starting with a letter (e.g. \"my-provider\")"
        )))
    }
}

fn parse_roles(roles: Vec<String>) -> Result<Vec<Role>, ManifestError> {
    if roles.is_empty() {
        return Err(ManifestError(format!(
            "{FILE_NAME}: `roles` is empty; list \"provider\", \"auth\" or both"
        )));
    }
    let mut parsed = Vec::new();
    for role in roles {
        let r = match role.as_str() {
            "provider" => Role::Provider,
            "auth" => Role::Auth,
            other => {
                return Err(ManifestError(format!(
                    "{FILE_NAME}: unknown role \"{other}\"; roles are \"provider\" and \"auth\""
                )));
            }
        };
        if !parsed.contains(&r) {
            parsed.push(r);
        }
    }
    parsed.sort();
    Ok(parsed)
}

fn validate_component(component: &str) -> Result<(), ManifestError> {
    let plain_name =
        !component.contains(['/', '\\']) && component != ".." && !component.starts_with('.');
    if plain_name && component.ends_with(".wasm") && component.len() > 5 {
        Ok(())
    } else {
        Err(ManifestError(format!(
            "{FILE_NAME}: bad component \"{component}\": give the .wasm file's name, without a folder (e.g. \"my_provider.wasm\")"
        )))
    }
}

/// A host a plugin may reach: `api.example.com`, `127.0.0.1`, `[::1]`, or a
/// wildcard over subdomains, `*.example.com`. No scheme, port or path.
pub fn validate_host_pattern(pattern: &str) -> Result<(), ManifestError> {
    let bad = |why: &str| {
        ManifestError(format!(
            "{FILE_NAME}: bad network host \"{pattern}\": {why} (e.g. \"api.example.com\" or \"*.example.com\")"
        ))
    };
    if pattern.contains("://") || pattern.contains('/') {
        return Err(bad("give the host name only, without scheme or path"));
    }
    let host = pattern.strip_prefix("*.").unwrap_or(pattern);
    // An explicit port (`host:8443`, `[::1]:8080`): the host then gets that port
    // only, instead of 443 and 80.
    let host = match host.rsplit_once(':') {
        Some((h, port)) if (h.ends_with(']') || !h.contains(':')) && !port.is_empty() => {
            if port.parse::<u16>().map_or(true, |p| p == 0) {
                return Err(bad("a port must be a number from 1 to 65535"));
            }
            h
        }
        _ => host,
    };
    if host.starts_with('[') && host.ends_with(']') && host.len() > 2 {
        return Ok(());
    }
    if host.is_empty() || host.contains('*') {
        return Err(bad("a wildcard may only be a leading \"*.\""));
    }
    if host.contains(':') {
        return Err(bad("an IPv6 address goes in brackets"));
    }
    let label_ok = |l: &str| {
        !l.is_empty() && l.len() <= 63 && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    };
    if host.split('.').all(label_ok) {
        Ok(())
    } else {
        Err(bad("not a valid host name"))
    }
}

fn one_line(s: &str) -> String {
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
id = "my-provider"
name = "My Provider"
version = "1.2.0"
sdk = "^0.1"
roles = ["provider", "auth"]
[network]
hosts = ["api.example.com", "*.example.org", "127.0.0.1"]
"#;

    fn err(text: &str) -> String {
        Manifest::parse(text).unwrap_err().0
    }

    #[test]
    fn a_full_manifest_parses_with_defaults() {
        let m = Manifest::parse(GOOD).unwrap();
        assert_eq!(m.id, "my-provider");
        assert_eq!(m.component, "my_provider.wasm");
        assert_eq!(m.roles, vec![Role::Provider, Role::Auth]);
        assert!(m.sdk.matches(&semver::Version::new(0, 1, 3)));
        assert_eq!(m.network_hosts.len(), 3);
    }

    #[test]
    fn every_bad_field_names_itself() {
        assert_eq!(
            err("name = \"x\""),
            "claw-plugin.toml: missing field `id` (e.g. id = \"my-provider\")"
        );
        assert!(
            err(&GOOD.replace("my-provider", "My Provider")).contains("bad id \"My Provider\"")
        );
        assert!(err(&GOOD.replace("1.2.0", "1.x")).contains("bad version \"1.x\""));
        assert!(err(&GOOD.replace("^0.1", "soon")).contains("bad sdk requirement \"soon\""));
        assert!(err(&GOOD.replace("\"auth\"", "\"oauth\"")).contains("unknown role \"oauth\""));
        assert!(
            err(&GOOD.replace("\"api.example.com\"", "\"https://api.example.com\""))
                .contains("without scheme")
        );
        assert!(err(&GOOD.replace("sdk = \"^0.1\"\n", "")).contains("missing field `sdk`"));
        assert!(err("id = \"x\"\nversion = \"1.0.0\"\nsdk=\"^0.1\"\nroles=[\"provider\"]\ncomponent=\"../evil.wasm\"")
            .contains("bad component \"../evil.wasm\""));
        assert!(err("id = [").contains("claw-plugin.toml is not valid"));
        assert!(err(&format!("colour = 1\n{GOOD}")).contains("unknown field `colour`"));
    }

    #[test]
    fn a_native_manifest_names_a_library_per_target() {
        let native = GOOD.replace(
            "[network]",
            &format!("[native]\n{HOST_TARGET} = \"libmy_provider.so\"\nmips-unknown-none = \"x.so\"\n[network]"),
        );
        let m = Manifest::parse(&native).unwrap();
        assert_eq!(m.kind(), Kind::Native);
        assert_eq!(m.artifact().unwrap(), "libmy_provider.so");
        assert_eq!(
            Manifest::parse(GOOD).unwrap().artifact().unwrap(),
            "my_provider.wasm"
        );

        let elsewhere = GOOD.replace(
            "[network]",
            "[native]\nmips-unknown-none = \"x.so\"\n[network]",
        );
        let e = Manifest::parse(&elsewhere)
            .unwrap()
            .artifact()
            .unwrap_err()
            .0;
        assert!(
            e.contains(&format!(
                "names no library for this machine ({HOST_TARGET}); it has mips-unknown-none"
            )),
            "{e}"
        );
        assert!(
            err(&GOOD.replace("[network]", "[native]\nlinux = \"x.so\"\n[network]"))
                .contains("is not a target triple")
        );
        assert!(
            err(&GOOD.replace("[network]", "[native]\na-b = \"../x.so\"\n[network]"))
                .contains("without a folder")
        );
        assert!(
            err(&GOOD.replace(
                "[network]",
                "component = \"x.wasm\"\n[native]\na-b = \"x.so\"\n[network]"
            ))
            .contains("both `component` and [native]")
        );
    }
}
