//! Replaying edits of claw.json on its original text, so a save keeps the
//! comments, key quoting, trailing commas and layout of everything it did not
//! change. The replay is checked against the edited value; the caller falls
//! back to a full rewrite when anything does not add up.

use jsonc_parser::ParseOptions;
use jsonc_parser::cst::{
    CstContainerNode, CstInputValue, CstLeafNode, CstNode, CstObject, CstObjectProp, CstRootNode,
};
use serde_json::{Map, Value};

/// One change made through `ConfigFile::set` or `ConfigFile::remove`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Edit {
    Set(Vec<String>, Value),
    Remove(Vec<String>),
}

/// `text` with `edits` applied, or `None` when the result would not read back
/// as exactly `expected` (or the text is beyond what the CST parser handles).
pub(crate) fn replay(text: &str, edits: &[Edit], expected: &Map<String, Value>) -> Option<String> {
    // A panic in the CST library on text nobody foresaw costs the comments
    // (the save falls back to a rewrite), never the user's change.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        apply(text, edits, expected)
    }))
    .ok()
    .flatten()
}

fn apply(text: &str, edits: &[Edit], expected: &Map<String, Value>) -> Option<String> {
    let options = ParseOptions {
        allow_comments: true,
        allow_loose_object_property_names: true,
        allow_trailing_commas: true,
        allow_single_quoted_strings: true,
        allow_hexadecimal_numbers: true,
        // JSON5 has no missing commas; everything else it allows stays on.
        allow_missing_commas: false,
        ..ParseOptions::default()
    };
    let root = CstRootNode::parse(text, &options).ok()?;
    let object = root.object_value()?;
    let unquoted = object
        .properties()
        .iter()
        .any(|p| p.name().and_then(|n| n.as_word_lit()).is_some());
    let style = Style { unquoted };
    let spaced_close = object.to_string().ends_with(" }");
    for edit in edits {
        match edit {
            Edit::Set(path, value) => set(&object, path, value, style)?,
            Edit::Remove(path) => remove(&object, path)?,
        }
    }
    let mut out = root.to_string();
    // Flattening a one-line file's top object after an insert leaves `...}}`
    // (its closing brace had no indentation to turn back into a space).
    let close = object.to_string();
    if spaced_close && !object.children().iter().any(CstNode::is_newline) && !close.ends_with(" }")
    {
        let at = root
            .children()
            .iter()
            .take_while(|c| c.as_object().is_none())
            .map(|c| c.to_string().len())
            .sum::<usize>()
            + close.len()
            - 1;
        out.insert(at, ' ');
    }
    // The same reader `ConfigFile::load` uses must see exactly the edited value.
    let reread: Value = json5::from_str(&out).ok()?;
    (reread.as_object()? == expected).then_some(out)
}

/// How new keys are written: unquoted when the file writes its keys so.
#[derive(Clone, Copy)]
struct Style {
    unquoted: bool,
}

/// A place in the tree: an object's property or an array's element.
enum Slot {
    Prop(CstObjectProp),
    Element(CstNode),
}

impl Slot {
    fn value(&self) -> Option<CstNode> {
        match self {
            Slot::Prop(p) => p.value(),
            Slot::Element(e) => Some(e.clone()),
        }
    }
}

fn child(node: &CstNode, key: &str) -> Option<Slot> {
    if let Some(object) = node.as_object() {
        return object.get(key).map(Slot::Prop);
    }
    let index: usize = key.parse().ok()?;
    node.as_array()?
        .elements()
        .get(index)
        .cloned()
        .map(Slot::Element)
}

fn set(root: &CstObject, path: &[String], value: &Value, style: Style) -> Option<()> {
    let (last, parents) = path.split_last()?;
    let mut node = CstNode::Container(CstContainerNode::Object(root.clone()));
    for (i, key) in parents.iter().enumerate() {
        match child(&node, key) {
            Some(slot) => node = slot.value()?,
            None => {
                // The rest of the path does not exist: one new property holds it.
                let nested = path[i + 1..].iter().rev().fold(value.clone(), |v, k| {
                    Value::Object(Map::from_iter([(k.clone(), v)]))
                });
                return insert(&node.as_object()?, key, &nested, style);
            }
        }
    }
    let one_line = !node.children().iter().any(CstNode::is_newline);
    let new = match child(&node, last) {
        Some(Slot::Prop(prop)) => {
            prop.set_value(input(value));
            prop.value()?
        }
        Some(Slot::Element(element)) => replace(element, input(value))?,
        None => return insert(&node.as_object()?, last, value, style),
    };
    if let CstNode::Container(container) = new {
        if let Some(object) = container.as_object() {
            restyle(&object, style);
        }
        if one_line {
            flatten(&container, true);
        }
    }
    Some(())
}

/// Append `key` to `object`; a one-line object stays on one line (an empty
/// one opens up, like objects the editor writes).
fn insert(object: &CstObject, key: &str, value: &Value, style: Style) -> Option<()> {
    let one_line =
        !object.properties().is_empty() && !object.children().iter().any(CstNode::is_newline);
    let prop = object.append(key, input(value));
    restyle_prop(&prop, style);
    if one_line {
        flatten(&CstContainerNode::Object(object.clone()), false);
        flatten(&CstContainerNode::ObjectProp(prop), true);
    }
    Some(())
}

fn remove(root: &CstObject, path: &[String]) -> Option<()> {
    let (last, parents) = path.split_last()?;
    let mut node = CstNode::Container(CstContainerNode::Object(root.clone()));
    for key in parents {
        node = child(&node, key)?.value()?;
    }
    match child(&node, last)? {
        Slot::Prop(prop) => prop.remove(),
        Slot::Element(element) => element.remove(),
    }
    Some(())
}

fn replace(node: CstNode, value: CstInputValue) -> Option<CstNode> {
    match node {
        CstNode::Container(CstContainerNode::Object(n)) => n.replace_with(value),
        CstNode::Container(CstContainerNode::Array(n)) => n.replace_with(value),
        CstNode::Leaf(CstLeafNode::StringLit(n)) => n.replace_with(value),
        CstNode::Leaf(CstLeafNode::NumberLit(n)) => n.replace_with(value),
        CstNode::Leaf(CstLeafNode::BooleanLit(n)) => n.replace_with(value),
        CstNode::Leaf(CstLeafNode::NullKeyword(n)) => n.replace_with(value),
        CstNode::Leaf(CstLeafNode::WordLit(n)) => n.replace_with(value),
        _ => None,
    }
}

fn input(value: &Value) -> CstInputValue {
    match value {
        Value::Null => CstInputValue::Null,
        Value::Bool(b) => CstInputValue::Bool(*b),
        Value::Number(n) => CstInputValue::Number(n.to_string()),
        Value::String(s) => CstInputValue::String(s.clone()),
        Value::Array(items) => CstInputValue::Array(items.iter().map(input).collect()),
        Value::Object(map) => {
            CstInputValue::Object(map.iter().map(|(k, v)| (k.clone(), input(v))).collect())
        }
    }
}

/// New keys are written quoted; in a file of unquoted keys, drop the quotes
/// where JSON5 allows it.
fn restyle_prop(prop: &CstObjectProp, style: Style) {
    if !style.unquoted {
        return;
    }
    if let Some(name) = prop.name().and_then(|n| n.as_string_lit())
        && let Ok(decoded) = name.decoded_value()
        && is_identifier(&decoded)
    {
        name.set_raw_value(decoded);
    }
    if let Some(object) = prop.object_value() {
        restyle(&object, style);
    }
}

fn restyle(object: &CstObject, style: Style) {
    for prop in object.properties() {
        restyle_prop(&prop, style);
    }
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '$')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
        && !matches!(s, "true" | "false" | "null" | "Infinity" | "NaN")
}

/// Put the direct children of `container` back on one line (`deep`: and
/// everything inside them, which is new): the CST editor spreads an object
/// over lines when it appends to it.
fn flatten(container: &CstContainerNode, deep: bool) {
    for node in container.children() {
        match node {
            CstNode::Leaf(CstLeafNode::Newline(newline)) => {
                if let Some(CstNode::Leaf(CstLeafNode::Whitespace(ws))) =
                    CstNode::from(CstLeafNode::Newline(newline.clone())).next_sibling()
                {
                    ws.set_value(" ".into());
                }
                newline.remove();
            }
            CstNode::Container(inner) if deep => flatten(&inner, true),
            // On one line, new objects take no trailing commas.
            CstNode::Leaf(CstLeafNode::Token(comma)) if deep && comma.value() == ',' => {
                let next = CstNode::from(CstLeafNode::Token(comma.clone()))
                    .next_siblings()
                    .find(|n| !n.is_whitespace() && !n.is_newline());
                if matches!(next.and_then(|n| n.token_char()), Some('}' | ']')) {
                    comma.remove();
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ConfigFile;
    use serde_json::json;

    /// Make the edits (a value to set, or `None` to remove) through
    /// `ConfigFile`, and replay them on `text`.
    fn edited(text: &str, edits: &[(&str, Option<Value>)]) -> Option<String> {
        let mut cfg = ConfigFile::parse(std::path::Path::new("claw.json"), text).unwrap();
        for (path, value) in edits {
            let keys: Vec<&str> = path.split('.').collect();
            match value {
                Some(v) => cfg.set(&keys, v.clone()).unwrap(),
                None => {
                    cfg.remove(&keys).unwrap();
                }
            }
        }
        replay(text, &cfg.edits, &cfg.value)
    }

    fn set(path: &str, value: Value) -> (&str, Option<Value>) {
        (path, Some(value))
    }

    fn rm(path: &str) -> (&str, Option<Value>) {
        (path, None)
    }

    const COMMENTED: &str = "// my settings\n{\n  /* the model */\n  \"agents\": {\n    \"defaults\": {\n      \"model\": \"a/b\", // primary\n    },\n  },\n}\n";

    #[test]
    fn setting_an_existing_key_changes_only_its_value() {
        let out = edited(COMMENTED, &[set("agents.defaults.model", json!("c/d"))]).unwrap();
        assert_eq!(out, COMMENTED.replace("a/b", "c/d"));
    }

    #[test]
    fn a_new_nested_key_gets_its_own_line_and_its_objects() {
        let out = edited(COMMENTED, &[set("plugins.entries.x.enabled", json!(true))]).unwrap();
        assert_eq!(
            out,
            "// my settings\n{\n  /* the model */\n  \"agents\": {\n    \"defaults\": {\n      \"model\": \"a/b\", // primary\n    },\n  },\n  \"plugins\": {\n    \"entries\": {\n      \"x\": {\n        \"enabled\": true,\n      },\n    },\n  },\n}\n"
        );
        let out = edited(COMMENTED, &[set("agents.defaults.fast", json!(1))]).unwrap();
        assert!(
            out.contains("\"model\": \"a/b\", // primary\n      \"fast\": 1,\n    },"),
            "{out}"
        );
    }

    #[test]
    fn removing_a_key_leaves_no_dangling_comma() {
        let text = "{\n  // keep\n  a: 1, // one\n  b: 2,\n}\n";
        assert_eq!(
            edited(text, &[rm("b")]).unwrap(),
            "{\n  // keep\n  a: 1, // one\n}\n"
        );
        let text = "{\"a\": 1, \"b\": 2}";
        assert_eq!(edited(text, &[rm("b")]).unwrap(), "{\"a\": 1}");
        // Set, then remove again: the original comes back.
        let out = edited(COMMENTED, &[set("x.y", json!(2)), rm("x")]).unwrap();
        assert_eq!(out, COMMENTED);
    }

    #[test]
    fn unquoted_keys_stay_unquoted_and_new_ones_follow() {
        let text = "{\n  env: { KEY: 'v' },\n  agents: { defaults: { model: { primary: \"a/b\" } } },\n}\n";
        let out = edited(
            text,
            &[
                set("agents.defaults.model.primary", json!("c/d")),
                set("agents.defaults.models", json!({"c/d": {"alias": "fast"}})),
            ],
        )
        .unwrap();
        assert_eq!(
            out,
            "{\n  env: { KEY: 'v' },\n  agents: { defaults: { model: { primary: \"c/d\" }, models: { \"c/d\": { alias: \"fast\" } } } },\n}\n"
        );
    }

    #[test]
    fn a_one_line_file_stays_on_one_line() {
        let text = r#"{ "a": { "b": 1 }, "c": [1, 2] }"#;
        let edits = [
            set("a.d", json!(2)),
            set("c.1", json!({"x": [1]})),
            set("e", json!({"f": {"g": true}})),
        ];
        assert_eq!(
            edited(text, &edits).unwrap(),
            r#"{ "a": { "b": 1, "d": 2 }, "c": [1, { "x": [1] }], "e": { "f": { "g": true } } }"#
        );
    }

    #[test]
    fn an_empty_object_opens_up() {
        let out = edited("{}\n", &[set("a.b", json!(1))]).unwrap();
        assert_eq!(out, "{\n  \"a\": {\n    \"b\": 1\n  }\n}\n");
        let out = edited("{\n  // c\n  x: {},\n}", &[set("x.y", json!(1))]).unwrap();
        assert_eq!(out, "{\n  // c\n  x: {\n    y: 1\n  },\n}");
    }

    #[test]
    fn text_the_cst_reads_differently_is_not_replayed() {
        // JSON5 ends a line comment at U+2028; jsonc-parser does not.
        let text = "{ // note\u{2028} a: 1 }";
        assert_eq!(edited(text, &[set("b", json!(2))]), None);
        // A replay that does not give the expected value is refused.
        let expected = json!({"a": 2});
        assert_eq!(
            replay("{\"a\": 1}", &[], expected.as_object().unwrap()),
            None
        );
    }
}
