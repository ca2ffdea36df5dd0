//! Plugins shipped inside the `claw` binary (built from plugins/ by build.rs).

/// One bundled plugin: its manifest text and component bytes.
#[derive(Debug)]
pub struct BundledPlugin {
    /// Folder name under plugins/ in the source tree.
    pub dir: &'static str,
    pub manifest: &'static str,
    pub wasm: &'static [u8],
}

include!(concat!(env!("OUT_DIR"), "/bundled.rs"));
