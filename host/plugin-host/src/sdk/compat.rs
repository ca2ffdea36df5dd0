//! Which SDK a component was built against, judged from its import and export
//! names alone, and whether this host can serve it. Pure functions over names,
//! so every message is tested without building a component.

use claw_types::text::edit_distance;
use semver::Version;

use super::{PACKAGE, SUPPORTED};
use crate::manifest::{Manifest, Role};

/// The major-compatible WASI line plugins import.
const WASI_LINE: &str = "0.2";
/// claw's interface names, used to recognise a plugin built against a renamed SDK.
const CLAW_INTERFACES: &[&str] = &["types", "log", "config", "prompts", "provider", "auth"];

/// The supported range as users read it, e.g. `0.1.x`.
pub fn supported_range() -> String {
    SUPPORTED.iter().map(track).collect::<Vec<_>>().join(", ")
}

/// `0.1.x` for 0.1.3, `2.x` for 2.4.0: versions on one track are compatible.
fn track(v: &Version) -> String {
    if v.major == 0 {
        format!("0.{}.x", v.minor)
    } else {
        format!("{}.x", v.major)
    }
}

/// Same release track (`0.1.x`, `2.x`): a plugin on it loads on the module for it.
pub(crate) fn same_track(a: &Version, b: &Version) -> bool {
    track(a) == track(b) && a.pre.is_empty() && b.pre.is_empty()
}

/// The SDK major line to tell authors to rebuild with, e.g. `0.1`.
fn sdk_line() -> String {
    track(SUPPORTED.last().expect("at least one supported version"))
        .trim_end_matches(".x")
        .to_string()
}

/// Top-level import and export names of a component.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorldNames {
    pub imports: Vec<String>,
    pub exports: Vec<String>,
}

/// What a compatible component uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdkUse {
    pub version: Version,
    pub roles: Vec<Role>,
    /// Exports outside `claw:plugin` that the host does not use (a language
    /// runtime's own, e.g. componentize-py's `exports`): ignored, and shown.
    pub ignored_exports: Vec<String>,
}

impl SdkUse {
    /// `claw:plugin@0.1.0`
    pub fn label(&self) -> String {
        format!("{PACKAGE}@{}", self.version)
    }

    /// What `plugins info` says about exports the host leaves alone.
    pub fn ignored_exports_note(&self) -> Option<String> {
        (!self.ignored_exports.is_empty()).then(|| {
            format!(
                "ignores export {} (not part of {PACKAGE}; most likely the language runtime's own)",
                self.ignored_exports.join(", ")
            )
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SdkError {
    #[error(
        "plugin \"{id}\" uses {package} ({uses}), but this host provides {PACKAGE} ({range}).{hint} Rebuild it with claw-plugin-sdk {line} (Rust) or against claw's wit/{latest}.",
        range = supported_range(), line = sdk_line(), latest = SUPPORTED.last().unwrap(),
        hint = if *.suggest { format!(" Did you mean {PACKAGE}?") } else { String::new() }
    )]
    ForeignPackage {
        id: String,
        package: String,
        uses: String,
        suggest: bool,
    },

    #[error(
        "plugin \"{id}\" was built against {PACKAGE}@{found}; this host supports {range}. {advice}",
        range = supported_range(),
        advice = if SUPPORTED.iter().all(|s| *found > *s) {
            format!("Upgrade claw, or rebuild the plugin with claw-plugin-sdk {}.", sdk_line())
        } else {
            format!("Rebuild the plugin with claw-plugin-sdk {}.", sdk_line())
        }
    )]
    Incompatible { id: String, found: Version },

    #[error("plugin \"{id}\" uses {name} without a version; rebuild it with claw-plugin-sdk {line}", line = sdk_line())]
    Unversioned { id: String, name: String },

    #[error(
        "plugin \"{id}\" imports {name}, but this host provides WASI {WASI_LINE}.x; build it with --target wasm32-wasip2"
    )]
    WasiVersion { id: String, name: String },

    #[error(
        "plugin \"{id}\" exports neither {PACKAGE}/provider nor {PACKAGE}/auth (it exports {list}); export one with claw_plugin_sdk::export_provider! or export_auth!",
        list = if exports.is_empty() { "nothing".to_string() } else { exports.join(", ") }
    )]
    NoRole { id: String, exports: Vec<String> },

    #[error("plugin \"{id}\": manifest says sdk \"{requirement}\" but the component was built against {PACKAGE}@{found}; set sdk = \"^{fix}\" in claw-plugin.toml, or rebuild with the SDK the manifest names", fix = format!("{}.{}", found.major, found.minor))]
    ManifestSdk {
        id: String,
        requirement: String,
        found: Version,
    },

    #[error(
        "plugin \"{id}\": manifest lists role \"{role}\" but the component does not export {PACKAGE}/{role}; remove the role or export it"
    )]
    ManifestRoleMissing { id: String, role: &'static str },

    #[error(
        "plugin \"{id}\": the component exports {PACKAGE}/{role} but the manifest's roles do not list \"{role}\"; add it to roles in claw-plugin.toml"
    )]
    ManifestRoleUndeclared { id: String, role: &'static str },
}

/// A parsed `ns:pkg/iface@version` name.
struct Name<'a> {
    package: &'a str,
    interface: &'a str,
    version: Option<&'a str>,
}

fn parse_name(name: &str) -> Option<Name<'_>> {
    let (path, version) = match name.split_once('@') {
        Some((p, v)) => (p, Some(v)),
        None => (name, None),
    };
    let (package, interface) = path.split_once('/')?;
    package.contains(':').then_some(Name {
        package,
        interface,
        version,
    })
}

/// The SDK package a component was built against, as `pkg@version`, judged from
/// its exports first (then imports), whether or not this host provides it.
pub fn package_label(names: &WorldNames) -> Option<String> {
    names
        .exports
        .iter()
        .chain(&names.imports)
        .filter_map(|n| parse_name(n))
        .find(|n| !n.package.starts_with("wasi:"))
        .map(|n| match n.version {
            Some(v) => format!("{}@{v}", n.package),
            None => n.package.to_string(),
        })
}

/// Decide whether a component built with these names can load on this host.
pub fn check(id: &str, names: &WorldNames) -> Result<SdkUse, SdkError> {
    let mut foreign: Vec<(&str, &str)> = Vec::new(); // (direction, name)
    let mut claw_version: Option<Version> = None;
    let mut roles = Vec::new();

    let all = names
        .imports
        .iter()
        .map(|n| ("imports", n))
        .chain(names.exports.iter().map(|n| ("exports", n)));
    for (dir, full) in all {
        let Some(name) = parse_name(full) else {
            foreign.push((dir, full));
            continue;
        };
        if name.package.starts_with("wasi:") {
            if dir == "imports"
                && !name
                    .version
                    .is_some_and(|v| v.starts_with(&format!("{WASI_LINE}.")))
            {
                return Err(SdkError::WasiVersion {
                    id: id.into(),
                    name: full.clone(),
                });
            }
            continue;
        }
        if name.package != PACKAGE {
            foreign.push((dir, full));
            continue;
        }
        let version = name
            .version
            .and_then(|v| Version::parse(v).ok())
            .ok_or_else(|| SdkError::Unversioned {
                id: id.into(),
                name: full.clone(),
            })?;
        if !SUPPORTED.iter().any(|s| same_track(s, &version)) {
            return Err(SdkError::Incompatible {
                id: id.into(),
                found: version,
            });
        }
        if dir == "exports" {
            match name.interface {
                "provider" => roles.push(Role::Provider),
                "auth" => roles.push(Role::Auth),
                _ => {}
            }
        }
        claw_version = Some(claw_version.map_or(version.clone(), |v: Version| v.max(version)));
    }

    roles.sort();
    roles.dedup();
    // An import the host does not provide cannot be linked. An export it does
    // not know is harmless once the plugin exports a claw role; without one,
    // a foreign package is the likelier story (a renamed SDK), so say that.
    let imports_foreign = foreign.iter().any(|(dir, _)| *dir == "imports");
    let names_a_package = foreign.iter().any(|(_, n)| parse_name(n).is_some());
    if imports_foreign || (roles.is_empty() && names_a_package) {
        return Err(foreign_error(id, &foreign));
    }
    match claw_version {
        Some(version) if !roles.is_empty() => Ok(SdkUse {
            version,
            roles,
            ignored_exports: foreign.iter().map(|(_, n)| n.to_string()).collect(),
        }),
        _ => Err(SdkError::NoRole {
            id: id.into(),
            exports: names.exports.clone(),
        }),
    }
}

fn foreign_error(id: &str, foreign: &[(&str, &str)]) -> SdkError {
    // Name the package the plugin actually uses, with its version.
    let first = foreign.iter().find_map(|(_, n)| parse_name(n));
    let package = match &first {
        Some(n) => match n.version {
            Some(v) => format!("{}@{v}", n.package),
            None => n.package.to_string(),
        },
        None => format!("`{}`", foreign[0].1),
    };
    let mut uses = Vec::new();
    for dir in ["imports", "exports"] {
        let names: Vec<&str> = foreign
            .iter()
            .filter(|(d, _)| *d == dir)
            .map(|(_, n)| *n)
            .collect();
        if !names.is_empty() {
            uses.push(format!("{dir} {}", names.join(", ")));
        }
    }
    let suggest = foreign.iter().any(|(_, n)| match parse_name(n) {
        Some(n) => looks_like_claw(n.package) || CLAW_INTERFACES.contains(&n.interface),
        None => false,
    });
    SdkError::ForeignPackage {
        id: id.into(),
        package,
        uses: uses.join("; "),
        suggest,
    }
}

fn looks_like_claw(package: &str) -> bool {
    let lower = package.to_ascii_lowercase();
    lower.contains("claw") || lower.contains("plugin") || edit_distance(&lower, PACKAGE) <= 4
}

/// The manifest must describe the component it sits next to.
pub fn check_manifest(manifest: &Manifest, sdk: &SdkUse) -> Result<(), SdkError> {
    let id = manifest.id.clone();
    if !manifest.sdk.matches(&sdk.version) {
        return Err(SdkError::ManifestSdk {
            id,
            requirement: manifest.sdk.to_string(),
            found: sdk.version.clone(),
        });
    }
    // A declared role that is missing is the likelier mistake, so report it first.
    if let Some(role) = manifest.roles.iter().find(|r| !sdk.roles.contains(r)) {
        return Err(SdkError::ManifestRoleMissing {
            id,
            role: role.as_str(),
        });
    }
    if let Some(role) = sdk.roles.iter().find(|r| !manifest.roles.contains(r)) {
        return Err(SdkError::ManifestRoleUndeclared {
            id,
            role: role.as_str(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(imports: &[&str], exports: &[&str]) -> WorldNames {
        WorldNames {
            imports: imports.iter().map(|s| s.to_string()).collect(),
            exports: exports.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn a_claw_provider_is_accepted_with_its_version() {
        let use_ = check(
            "echo",
            &names(
                &[
                    "wasi:io/streams@0.2.6",
                    "claw:plugin/log@0.1.0",
                    "claw:plugin/types@0.1.0",
                ],
                &["claw:plugin/provider@0.1.0"],
            ),
        )
        .unwrap();
        assert_eq!(
            use_,
            SdkUse {
                version: Version::new(0, 1, 0),
                roles: vec![Role::Provider],
                ignored_exports: vec![],
            }
        );
        assert_eq!(use_.label(), "claw:plugin@0.1.0");
        assert_eq!(
            package_label(&names(
                &["wasi:io/streams@0.2.6", "clawdbot:plugin-sdk/log@0.1.0"],
                &["clawdbot:plugin-sdk/auth@0.1.0"]
            )),
            Some("clawdbot:plugin-sdk@0.1.0".to_string())
        );
        // A newer patch of the same line is compatible.
        assert!(check("x", &names(&[], &["claw:plugin/auth@0.1.7"])).is_ok());
    }

    #[test]
    fn the_old_package_name_gets_a_did_you_mean() {
        let err = check(
            "minimax-portal-auth",
            &names(
                &["clawdbot:plugin-sdk/log@0.1.0"],
                &["clawdbot:plugin-sdk/auth@0.1.0"],
            ),
        )
        .unwrap_err()
        .to_string();
        assert_eq!(
            err,
            "plugin \"minimax-portal-auth\" uses clawdbot:plugin-sdk@0.1.0 (imports clawdbot:plugin-sdk/log@0.1.0; \
             exports clawdbot:plugin-sdk/auth@0.1.0), but this host provides claw:plugin (0.1.x, 0.2.x). Did you mean \
             claw:plugin? Rebuild it with claw-plugin-sdk 0.2 (Rust) or against claw's wit/0.2.0."
        );
    }

    #[test]
    fn a_language_runtime_s_own_exports_are_ignored_and_listed() {
        // componentize-py adds `exports` (its init); StarlingMonkey may export
        // wasi:http/incoming-handler. Neither stops a plugin that exports a role.
        let use_ = check(
            "py-shout",
            &names(
                &["wasi:io/streams@0.2.0", "claw:plugin/log@0.2.0"],
                &["exports", "claw:plugin/provider@0.2.0"],
            ),
        )
        .unwrap();
        assert_eq!(use_.roles, vec![Role::Provider]);
        assert_eq!(use_.ignored_exports, vec!["exports".to_string()]);
        // Without a role, a bare export is listed, never read as a package.
        let err = check("py-shout", &names(&["claw:plugin/log@0.2.0"], &["exports"]))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with(
                "plugin \"py-shout\" exports neither claw:plugin/provider nor claw:plugin/auth (it exports exports)"
            ),
            "{err}"
        );
        // An import the host lacks still stops it, named.
        let err = check(
            "x",
            &names(&["acme:gpu/run@1.0.0"], &["claw:plugin/provider@0.2.0"]),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("(imports acme:gpu/run@1.0.0)"), "{err}");
    }

    #[test]
    fn an_unrelated_package_gets_no_suggestion() {
        let err = check("x", &names(&[], &["acme:widgets/run@1.0.0"]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("uses acme:widgets@1.0.0 (exports acme:widgets/run@1.0.0)"),
            "{err}"
        );
        assert!(!err.contains("Did you mean"), "{err}");
    }

    #[test]
    fn versions_outside_the_supported_line_are_refused() {
        let err = check(
            "x",
            &names(&["claw:plugin/log@0.3.0"], &["claw:plugin/provider@0.3.0"]),
        )
        .unwrap_err()
        .to_string();
        assert_eq!(
            err,
            "plugin \"x\" was built against claw:plugin@0.3.0; this host supports 0.1.x, 0.2.x. Upgrade claw, or rebuild the plugin with claw-plugin-sdk 0.2."
        );
        let err = check("x", &names(&[], &["claw:plugin/provider@0.0.9"]))
            .unwrap_err()
            .to_string();
        assert!(
            err.ends_with("supports 0.1.x, 0.2.x. Rebuild the plugin with claw-plugin-sdk 0.2."),
            "{err}"
        );
        let err = check("x", &names(&[], &["claw:plugin/provider"]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("uses claw:plugin/provider without a version"),
            "{err}"
        );
        let err = check(
            "x",
            &names(
                &["wasi:http/types@0.3.0-rc-2025-09-16"],
                &["claw:plugin/provider@0.1.0"],
            ),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("this host provides WASI 0.2.x; build it with --target wasm32-wasip2"),
            "{err}"
        );
    }

    #[test]
    fn a_component_without_a_role_says_what_it_exports() {
        let err = check(
            "x",
            &names(&["claw:plugin/log@0.1.0"], &["claw:plugin/types@0.1.0"]),
        )
        .unwrap_err()
        .to_string();
        assert!(err.starts_with("plugin \"x\" exports neither claw:plugin/provider nor claw:plugin/auth (it exports claw:plugin/types@0.1.0)"), "{err}");
        let err = check("x", &names(&[], &[])).unwrap_err().to_string();
        assert!(err.contains("(it exports nothing)"), "{err}");
    }

    #[test]
    fn the_manifest_must_agree_with_the_component() {
        let manifest = |sdk: &str, roles: &str| {
            Manifest::parse(&format!(
                "id = \"x\"\nversion = \"1.0.0\"\nsdk = \"{sdk}\"\nroles = {roles}"
            ))
            .unwrap()
        };
        let provider = SdkUse {
            version: Version::new(0, 1, 0),
            roles: vec![Role::Provider],
            ignored_exports: vec![],
        };
        assert!(check_manifest(&manifest("^0.1", "[\"provider\"]"), &provider).is_ok());
        let err = check_manifest(&manifest("^0.2", "[\"provider\"]"), &provider)
            .unwrap_err()
            .to_string();
        assert!(err.contains("manifest says sdk \"^0.2\" but the component was built against claw:plugin@0.1.0; set sdk = \"^0.1\""), "{err}");
        let err = check_manifest(&manifest("^0.1", "[\"provider\", \"auth\"]"), &provider)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(
                "manifest lists role \"auth\" but the component does not export claw:plugin/auth"
            ),
            "{err}"
        );
        let both = SdkUse {
            roles: vec![Role::Provider, Role::Auth],
            ..provider
        };
        let err = check_manifest(&manifest("^0.1", "[\"provider\"]"), &both)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("exports claw:plugin/auth but the manifest's roles do not list \"auth\""),
            "{err}"
        );
    }
}
