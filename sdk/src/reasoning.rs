//! Reasoning settings in the two forms upstreams take: a token budget
//! (Anthropic `thinking.budget_tokens`) or an effort (OpenAI
//! `reasoning_effort`). Clients give either; a plugin converts to its API's.
//!
//! | effort    | budget |
//! |-----------|--------|
//! | `minimal` | 1 024  |
//! | `low`     | 4 096  |
//! | `medium`  | 12 000 |
//! | `high`    | 24 000 |
//!
//! A budget maps back to the effort whose budget it does not exceed (above
//! `medium`'s: `high`), and never to `minimal`, which few upstreams accept.
//! `high` plus a default answer of 4 096 tokens stays within a 32k output limit.

use crate::types::{ReasoningEffort, ReasoningSetting};

/// Anthropic's smallest `budget_tokens`.
pub const MIN_THINKING_BUDGET: u32 = 1_024;

/// The thinking budget an effort stands for (see the table above).
pub fn budget_for_effort(effort: ReasoningEffort) -> u32 {
    match effort {
        ReasoningEffort::Minimal => MIN_THINKING_BUDGET,
        ReasoningEffort::Low => 4_096,
        ReasoningEffort::Medium => 12_000,
        ReasoningEffort::High => 24_000,
    }
}

/// The effort a budget stands for: `low`, `medium` or `high`.
pub fn effort_for_budget(budget: u32) -> ReasoningEffort {
    if budget <= budget_for_effort(ReasoningEffort::Low) {
        ReasoningEffort::Low
    } else if budget <= budget_for_effort(ReasoningEffort::Medium) {
        ReasoningEffort::Medium
    } else {
        ReasoningEffort::High
    }
}

/// An Anthropic thinking budget for a setting, at least
/// [`MIN_THINKING_BUDGET`]. `None` means do not think: `disabled`, or a
/// budget of 0.
pub fn thinking_budget(setting: &ReasoningSetting) -> Option<u32> {
    match *setting {
        ReasoningSetting::BudgetTokens(0) | ReasoningSetting::Disabled => None,
        ReasoningSetting::BudgetTokens(n) => Some(n.max(MIN_THINKING_BUDGET)),
        ReasoningSetting::Effort(effort) => Some(budget_for_effort(effort)),
    }
}

/// An OpenAI `reasoning_effort` for a setting. `None` for `disabled` (and a
/// budget of 0): the API has no common "off", so the field is left out.
pub fn reasoning_effort(setting: &ReasoningSetting) -> Option<ReasoningEffort> {
    match *setting {
        ReasoningSetting::BudgetTokens(0) | ReasoningSetting::Disabled => None,
        ReasoningSetting::BudgetTokens(n) => Some(effort_for_budget(n)),
        ReasoningSetting::Effort(effort) => Some(effort),
    }
}

impl ReasoningEffort {
    /// The name OpenAI's `reasoning_effort` uses.
    pub fn as_str(self) -> &'static str {
        match self {
            ReasoningEffort::Minimal => "minimal",
            ReasoningEffort::Low => "low",
            ReasoningEffort::Medium => "medium",
            ReasoningEffort::High => "high",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ReasoningEffort::*;
    use ReasoningSetting::*;

    #[test]
    fn efforts_and_budgets_convert_both_ways() {
        let budgets: Vec<u32> = [Minimal, Low, Medium, High]
            .into_iter()
            .map(budget_for_effort)
            .collect();
        assert_eq!(budgets, [1_024, 4_096, 12_000, 24_000]);
        for effort in [Low, Medium, High] {
            assert_eq!(effort_for_budget(budget_for_effort(effort)), effort);
        }
        let efforts: Vec<ReasoningEffort> = [1, 1_024, 4_096, 4_097, 12_000, 12_001, 64_000]
            .into_iter()
            .map(effort_for_budget)
            .collect();
        assert_eq!(efforts, [Low, Low, Low, Medium, Medium, High, High]);
    }

    #[test]
    fn settings_become_a_budget_or_an_effort() {
        assert_eq!(thinking_budget(&BudgetTokens(2_000)), Some(2_000));
        assert_eq!(thinking_budget(&BudgetTokens(100)), Some(1_024));
        assert_eq!(thinking_budget(&BudgetTokens(0)), None);
        assert_eq!(thinking_budget(&Effort(High)), Some(24_000));
        assert_eq!(thinking_budget(&Disabled), None);

        assert_eq!(reasoning_effort(&Effort(Minimal)), Some(Minimal));
        assert_eq!(reasoning_effort(&BudgetTokens(10_000)), Some(Medium));
        assert_eq!(reasoning_effort(&BudgetTokens(0)), None);
        assert_eq!(reasoning_effort(&Disabled), None);
        let names: Vec<&str> = [Minimal, Low, Medium, High]
            .map(ReasoningEffort::as_str)
            .into();
        assert_eq!(names, ["minimal", "low", "medium", "high"]);
    }
}
