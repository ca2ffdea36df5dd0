//! The WIT a new plugin builds against: the newest `claw:plugin` release this host
//! serves and the WASI interfaces it links (the files of the wasmtime-wasi-http it
//! is built with, embedded by build.rs). Tools for other languages read WIT, not
//! Rust, so `claw plugins new` writes these into a plugin's `wit/deps/`.

/// One WIT file, by its name in a `wit/deps/` folder.
pub struct WitFile {
    pub path: &'static str,
    pub text: &'static str,
}

/// `claw:plugin` as new plugins build against it (the newest supported track).
pub const CLAW_PLUGIN: WitFile = WitFile {
    path: "claw-plugin/plugin.wit",
    text: include_str!("../../../wit/0.2.0/plugin.wit"),
};

/// The claw:plugin version of [`CLAW_PLUGIN`].
pub fn claw_version() -> &'static semver::Version {
    crate::sdk::SUPPORTED
        .last()
        .expect("at least one supported version")
}

/// WASI 0.2 as this host links it: cli, clocks, filesystem, http, io, random, sockets.
pub static WASI: &[WitFile] = include!(concat!(env!("OUT_DIR"), "/wasi_wit.rs"));

/// The WASI version of [`WASI`], e.g. `0.2.12`, read from its package lines.
pub fn wasi_version() -> &'static str {
    WASI.iter()
        .find_map(|f| {
            f.text
                .lines()
                .find_map(|l| l.trim().strip_prefix("package wasi:http@"))
        })
        .map(|v| v.trim_end_matches(';'))
        .unwrap_or("0.2.0")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_wit_is_the_newest_release_and_a_whole_wasi() {
        assert!(
            CLAW_PLUGIN
                .text
                .contains(&format!("package claw:plugin@{};", claw_version()))
        );
        let names: Vec<&str> = WASI.iter().map(|f| f.path).collect();
        for needed in ["http.wit", "io.wit", "cli.wit", "sockets.wit"] {
            assert!(names.contains(&needed), "{names:?}");
        }
        assert!(wasi_version().starts_with("0.2."), "{}", wasi_version());
    }
}
