//! What an unknown model reference is told: the closest references the
//! catalog knows (`did you mean my-provider/shout-1?`), the naming rule, what
//! exists, and how to add what was meant.

use std::collections::BTreeMap;

use claw_types::text::edit_distance;

use super::{Catalog, MergeMode, Provider, presets};

impl Catalog {
    /// What a reference can name: the providers, and the naming rule with the
    /// models plugins bring (what a plugin author looks for).
    pub(super) fn what_exists(&self) -> String {
        let configured: Vec<&str> = self.providers.keys().map(String::as_str).collect();
        let plugins: Vec<String> = self
            .providers
            .values()
            .filter(|p| p.origin == "plugin")
            .map(|p| serves(p, 3))
            .collect();
        let example = self
            .providers
            .values()
            .find_map(|p| Some(format!("{}/{}", p.id, p.models.first()?.id)));
        format!(
            "Configured providers: {}. {}.",
            if configured.is_empty() {
                "none".to_string()
            } else {
                configured.join(", ")
            },
            match (plugins.is_empty(), example) {
                (false, _) => format!("{}; {}", capitalized(NAMING), plugins.join("; ")),
                (true, Some(example)) => format!("{}, e.g. {example}", capitalized(NAMING)),
                (true, None) => capitalized(NAMING),
            }
        )
    }

    /// How to make `provider` (or a new one) exist; when a close match was
    /// suggested, only as the alternative to it.
    pub(super) fn how_to_add(&self, provider: Option<&str>, suggested: bool) -> String {
        const FIELDS: &str = "(baseUrl, api, apiKey, models; a plugin's own api needs no baseUrl)";
        match provider.and_then(presets::find) {
            Some(preset) => format!(
                "\"{}\" is a built-in preset: set {} (or models.providers.{}.apiKey in claw.json) to enable it.",
                preset.id, preset.env_key, preset.id
            ),
            None if suggested => match provider {
                Some(id) => format!(
                    "To add a new provider \"{id}\" instead, put it under models.providers.{id} in claw.json {FIELDS}."
                ),
                None => format!(
                    "To add a new provider instead, put it under models.providers.<id> in claw.json {FIELDS}."
                ),
            },
            None => format!(
                "Add a provider under models.providers.{} in claw.json {FIELDS}, or set a built-in preset's key ({}).",
                provider.unwrap_or("<id>"),
                presets::PRESETS
                    .iter()
                    .filter(|p| p.needs_key)
                    .map(|p| p.env_key)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }

    /// Up to three `provider/model` references close to `reference`, closest
    /// first, over every provider and model the catalog has and (under
    /// `merge`) the presets not switched on, which rank behind. Close means
    /// equal ignoring case or within a small edit distance, on the whole
    /// reference or on its model part alone; a provider part that is a prefix
    /// or abbreviation of a real provider id ranks its models first.
    pub fn suggest(&self, reference: &str) -> Vec<String> {
        let reference = reference.trim();
        let active = self
            .providers
            .values()
            .flat_map(|p| p.models.iter().map(|m| (p.id.as_str(), m.id.as_str(), 0)));
        let dormant: Vec<(&str, &str, usize)> = presets::PRESETS
            .iter()
            .filter(|p| self.mode == MergeMode::Merge && !self.providers.contains_key(p.id))
            .flat_map(|p| p.models.iter().map(|m| (p.id, m.id, 3)))
            .collect();
        // A preset's model named exactly: switching the preset on is the answer
        // (the message says how), not another preset.
        let named = dormant
            .iter()
            .any(|(p, m, _)| reference.split_once('/') == Some((p, m)));
        let dormant = dormant.into_iter().filter(|_| !named);
        suggestions(reference, active.chain(dormant))
    }
}

pub(super) const NAMING: &str = "models are named <provider>/<model>";

/// `plugin "echo" serves echo/echo-1`, listing up to `max` models.
pub(super) fn serves(p: &Provider, max: usize) -> String {
    let kind = if p.origin == "plugin" {
        "plugin"
    } else {
        "provider"
    };
    let mut models: Vec<String> = p
        .models
        .iter()
        .take(max)
        .map(|m| format!("{}/{}", p.id, m.id))
        .collect();
    if models.is_empty() {
        models.push("no models".into());
    }
    let more = p.models.len().saturating_sub(max);
    let more = if more > 0 {
        format!(" and {more} more")
    } else {
        String::new()
    };
    format!("{kind} \"{}\" serves {}{more}", p.id, models.join(", "))
}

/// The start of an unknown-model message after its `Unknown model "…": `:
/// the suggestions first when there are any, then `rest`.
pub(super) fn lead(suggestions: &[String], rest: &str) -> String {
    match suggestions {
        [] => rest.to_string(),
        [one] => format!("did you mean {one}? {}", capitalized(rest)),
        [init @ .., last] => format!(
            "did you mean {} or {last}? {}",
            init.join(", "),
            capitalized(rest)
        ),
    }
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The up to three `candidates` (provider, model, penalty) closest to
/// `reference` (see [`Catalog::suggest`]).
fn suggestions<'a>(
    reference: &str,
    candidates: impl Iterator<Item = (&'a str, &'a str, usize)>,
) -> Vec<String> {
    /// Anything scoring more is not suggested (e.g. another provider and a
    /// model one edit away).
    const WORST: usize = 10;
    let reference = reference.trim();
    let (provider, model) = match reference.split_once('/') {
        Some((p, m)) if !p.is_empty() => (Some(p), m),
        Some((_, m)) => (None, m),
        None => (None, reference),
    };
    // A reference that is just a provider id (`my-provider`, `my-provider/`).
    let just_provider = match (provider, model) {
        (Some(typed), "") | (None, typed) => Some(typed.to_lowercase()),
        _ => None,
    };
    let mut best: BTreeMap<String, usize> = BTreeMap::new();
    for (p, m, penalty) in candidates {
        let full = format!("{p}/{m}");
        if full == reference {
            continue;
        }
        let scores = [
            // The model part, under the provider part (or any, when bare).
            model_distance(model, m)
                .map(|d| d + provider.map_or(0, |typed| provider_distance(typed, p))),
            // The whole reference as another provider's model id (which may
            // contain '/'), e.g. `minimax/minimax-m2.1` served by openrouter.
            provider.and_then(|_| model_distance(reference, m).map(|d| d + 2)),
            // The model part as the last part of such an id.
            m.rsplit_once('/')
                .and_then(|(_, last)| model_distance(model, last))
                .map(|d| d + 2 + provider.map_or(0, |typed| provider_distance(typed, p))),
            // Just a provider id: its models.
            just_provider
                .as_deref()
                .filter(|typed| {
                    let known = p.to_lowercase();
                    *typed == known || (typed.len() >= 2 && known.starts_with(typed))
                })
                .map(|_| 6),
        ];
        if let Some(score) = scores
            .into_iter()
            .flatten()
            .min()
            .map(|s| s + penalty)
            .filter(|s| *s <= WORST)
        {
            let entry = best.entry(full).or_insert(score);
            *entry = (*entry).min(score);
        }
    }
    let mut ranked: Vec<(usize, String)> = best.into_iter().map(|(r, s)| (s, r)).collect();
    ranked.sort();
    // Far behind the closest is noise (`MiniMax-M2` next to `MiniMax-M2.1`).
    let cut = ranked.first().map_or(0, |(s, _)| s + 3);
    ranked
        .into_iter()
        .take_while(|(s, _)| *s <= cut)
        .take(3)
        .map(|(_, r)| r)
        .collect()
}

/// How far a typed model id is from a known one: 0 when equal, 1 when equal
/// ignoring case, 2n+1 for n edits (a few, by length), 6 for a prefix of it.
fn model_distance(typed: &str, known: &str) -> Option<usize> {
    if typed.is_empty() {
        return None;
    }
    if typed == known {
        return Some(0);
    }
    let (typed, known) = (typed.to_lowercase(), known.to_lowercase());
    if typed == known {
        return Some(1);
    }
    let d = edit_distance(&typed, &known);
    if d <= allowed_edits(&known) {
        Some(2 * d + 1)
    } else if typed.chars().count() >= 4 && known.starts_with(&typed) {
        Some(6)
    } else {
        None
    }
}

/// How far a typed provider id is from a known one: 0 when equal, 1 when
/// equal ignoring case, 2 for a prefix, 3 for an abbreviation (its letters in
/// order, the first the same), 2n+1 for n edits (a few, by length), else 8.
fn provider_distance(typed: &str, known: &str) -> usize {
    if typed == known {
        return 0;
    }
    let (typed, known) = (typed.to_lowercase(), known.to_lowercase());
    if typed == known {
        return 1;
    }
    if known.starts_with(&typed) {
        return 2;
    }
    let mut rest = known.chars();
    if typed.chars().count() >= 2
        && typed.chars().next() == known.chars().next()
        && typed.chars().all(|c| rest.any(|k| k == c))
    {
        return 3;
    }
    let d = edit_distance(&typed, &known);
    if d <= allowed_edits(&known) {
        2 * d + 1
    } else {
        8
    }
}

/// Edits that still make a typo of an id this long: none below 3 characters,
/// one up to 5, two up to 10, three beyond.
fn allowed_edits(id: &str) -> usize {
    match id.chars().count() {
        0..=2 => 0,
        3..=5 => 1,
        6..=10 => 2,
        _ => 3,
    }
}
