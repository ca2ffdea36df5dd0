//! What a reply said, gathered from the router's deliveries: the same events a
//! stream encoder sees, so a whole reply and a streamed one cannot disagree.

use claw_types::{ChatEvent, Usage};

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Reply {
    /// The upstream's id for the message, for the request log.
    pub upstream_id: Option<String>,
    pub text: String,
    /// Streamed as it comes; a whole reply does not carry it (its shape is
    /// the one clients already parse).
    pub thinking: String,
    /// The latest report wins.
    pub usage: Option<Usage>,
    pub stop_reason: Option<String>,
}

impl Reply {
    pub fn push(&mut self, event: &ChatEvent) {
        match event {
            ChatEvent::Started(id) => self.upstream_id = Some(id.clone()),
            ChatEvent::Text(t) => self.text.push_str(t),
            ChatEvent::Thinking(t) => self.thinking.push_str(t),
            ChatEvent::Usage(u) => self.usage = Some(*u),
            ChatEvent::Done(reason) => self.stop_reason = Some(reason.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::usage_of;

    #[test]
    fn gathers_what_the_events_said() {
        let mut reply = Reply::default();
        for e in [
            ChatEvent::Started("msg_up".into()),
            ChatEvent::Thinking("Hm".into()),
            ChatEvent::Text("Hel".into()),
            ChatEvent::Usage(usage_of(1, 1, 0, 0)),
            ChatEvent::Thinking("m.".into()),
            ChatEvent::Text("lo".into()),
            ChatEvent::Usage(usage_of(5, 2, 0, 0)),
            ChatEvent::Done("end_turn".into()),
        ] {
            reply.push(&e);
        }
        assert_eq!(
            reply,
            Reply {
                upstream_id: Some("msg_up".into()),
                text: "Hello".into(),
                thinking: "Hmm.".into(),
                usage: Some(usage_of(5, 2, 0, 0)),
                stop_reason: Some("end_turn".into()),
            }
        );
    }
}
