//! Anthropic Messages wire format (to be written).
