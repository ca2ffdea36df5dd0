//! Which failures move on to the next candidate. By default all do: a failure
//! on one provider says little about the next. `agents.defaults.failover.stopOn`
//! lists reasons that end the request instead. (What else a reason decides is
//! in `claw_types::Reason::traits`.)

use std::collections::BTreeSet;

use claw_types::Reason;

#[derive(Debug, Clone, Default)]
pub struct Policy {
    pub stop_on: BTreeSet<Reason>,
}

impl Policy {
    pub fn fails_over(&self, reason: Reason) -> bool {
        !self.stop_on.contains(&reason)
    }
}
