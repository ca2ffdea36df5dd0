//! Constructors for the reply's types: the normalized stop reason and usage.

use crate::types::{Done, StopReason, Usage};

impl StopReason {
    /// The normalized reason for an upstream's own value, for Anthropic,
    /// OpenAI and their look-alikes (the host normalizes the same way).
    pub fn from_raw(raw: &str) -> StopReason {
        match raw {
            "end_turn" | "stop" | "eos" | "completed" | "pause_turn" => StopReason::EndTurn,
            "max_tokens" | "length" | "model_context_window_exceeded" => StopReason::MaxTokens,
            "stop_sequence" => StopReason::StopSequence,
            "tool_use" | "tool_calls" | "function_call" => StopReason::ToolUse,
            "refusal" | "content_filter" => StopReason::Refusal,
            _ => StopReason::Other,
        }
    }
}

impl Done {
    pub fn new(reason: StopReason, raw: impl Into<String>) -> Done {
        Done {
            reason,
            raw: raw.into(),
        }
    }

    /// The end of a reply, from the upstream's own stop reason: normalized,
    /// and kept as it came in `raw`.
    pub fn from_raw(raw: impl Into<String>) -> Done {
        let raw = raw.into();
        Done {
            reason: StopReason::from_raw(&raw),
            raw,
        }
    }
}

// Generated types cannot take a derive here (`additional_derives` applies to all).
#[allow(clippy::derivable_impls)]
impl Default for Usage {
    fn default() -> Self {
        Usage {
            input_tokens: 0,
            output_tokens: 0,
            cache_read_tokens: 0,
            cache_write_tokens: 0,
            reasoning_tokens: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_stop_reasons_normalize() {
        let cases = [
            ("end_turn", StopReason::EndTurn),
            ("stop", StopReason::EndTurn),
            ("max_tokens", StopReason::MaxTokens),
            ("length", StopReason::MaxTokens),
            ("stop_sequence", StopReason::StopSequence),
            ("tool_use", StopReason::ToolUse),
            ("tool_calls", StopReason::ToolUse),
            ("function_call", StopReason::ToolUse),
            ("refusal", StopReason::Refusal),
            ("content_filter", StopReason::Refusal),
            ("error", StopReason::Other),
            ("", StopReason::Other),
            ("END_TURN", StopReason::Other),
        ];
        for (raw, reason) in cases {
            assert_eq!(Done::from_raw(raw), Done::new(reason, raw), "{raw}");
        }
        assert_eq!(Usage::default().reasoning_tokens, 0);
    }
}
