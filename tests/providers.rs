//! End to end: providers, the router and `claw infer` / `claw models` against
//! local stand-ins for the Anthropic and OpenAI APIs.

mod support;
