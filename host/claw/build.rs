//! Embeds what `claw plugins new` writes: the plugin templates (templates/<lang>/)
//! and the claw-plugin-sdk crate's source (a Rust plugin outside this repository
//! builds against that copy until the SDK is on crates.io).

use std::env;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

fn main() {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let root = manifest_dir.ancestors().nth(2).unwrap().to_path_buf();
    let templates = manifest_dir.join("templates");
    let sdk = root.join("sdk");
    let mut src = String::new();

    src.push_str("pub static TEMPLATES: &[EmbeddedFile] = &[\n");
    for file in files_under(&templates) {
        push(&mut src, &templates, &file);
    }
    src.push_str("];\n");

    // The files `cargo package -p claw-plugin-sdk` ships (sdk/Cargo.toml `include`).
    src.push_str("pub static SDK: &[EmbeddedFile] = &[\n");
    let mut sdk_files = vec![
        sdk.join("Cargo.toml"),
        sdk.join("README.md"),
        sdk.join("build.rs"),
        sdk.join("wit/plugin.wit"),
    ];
    sdk_files.extend(
        files_under(&sdk.join("src"))
            .into_iter()
            .filter(|p| p.extension().is_some_and(|x| x == "rs")),
    );
    for file in sdk_files {
        push(&mut src, &sdk, &file);
    }
    src.push_str("];\n");
    fs::write(
        PathBuf::from(env::var("OUT_DIR").unwrap()).join("embedded.rs"),
        src,
    )
    .unwrap();
}

fn push(src: &mut String, base: &Path, file: &Path) {
    println!("cargo:rerun-if-changed={}", file.display());
    let rel = file
        .strip_prefix(base)
        .unwrap()
        .to_string_lossy()
        .replace('\\', "/");
    writeln!(
        src,
        "    EmbeddedFile {{ path: {rel:?}, text: include_str!({:?}) }},",
        file.display().to_string()
    )
    .unwrap();
}

/// Every file under `dir`, sorted, following links (sdk/wit is one).
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        println!("cargo:rerun-if-changed={}", d.display());
        for entry in fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())) {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}
