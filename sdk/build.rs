//! Embeds the SDK's WIT into the export macros, so a plugin crate generates its
//! bindings from exactly the contract this SDK was built with (no path to find).
use std::{env, fs, path::PathBuf};

/// The `claw:plugin` release this SDK builds against (also `SDK_VERSION` in lib.rs).
const WIT_VERSION: &str = "0.2.0";

fn main() {
    let wit_file = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap()).join("wit/plugin.wit");
    println!("cargo:rerun-if-changed={}", wit_file.display());
    let wit = fs::read_to_string(&wit_file)
        .unwrap_or_else(|e| panic!("read {}: {e}", wit_file.display()));
    assert!(
        wit.contains(&format!("package claw:plugin@{WIT_VERSION};")),
        "{} is not claw:plugin@{WIT_VERSION}",
        wit_file.display()
    );
    assert!(
        !wit.contains("\"###"),
        "the WIT text must not contain the raw-string terminator"
    );
    let v = WIT_VERSION;
    let out = PathBuf::from(env::var("OUT_DIR").unwrap()).join("generate_macro.rs");
    let src = format!(
        r####"/// Generates a plugin crate's bindings for one world of the SDK contract.
#[doc(hidden)]
#[macro_export]
macro_rules! __claw_bindings {{
    // Only the imports a world uses may be remapped, so provider plugins skip prompts.
    ("provider-plugin") => {{
        $crate::__claw_bindings!(@generate "provider-plugin", {{}});
    }};
    ($world:tt) => {{
        $crate::__claw_bindings!(@generate $world, {{
            "claw:plugin/prompts@{v}": ::claw_plugin_sdk::__private::bindings::claw::plugin::prompts,
        }});
    }};
    (@generate $world:tt, {{ $($extra:tt)* }}) => {{
        $crate::__private::wit_bindgen::generate!({{
            inline: r###"{wit}"###,
            world: $world,
            runtime_path: "::claw_plugin_sdk::__private::wit_bindgen::rt",
            with: {{
                "claw:plugin/types@{v}": ::claw_plugin_sdk::types,
                "claw:plugin/log@{v}": ::claw_plugin_sdk::__private::bindings::claw::plugin::log,
                "claw:plugin/config@{v}": ::claw_plugin_sdk::__private::bindings::claw::plugin::config,
                $($extra)*
            }},
        }});
    }};
}}
"####
    );
    fs::write(out, src).expect("write generate_macro.rs");
}
