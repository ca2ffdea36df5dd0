//! What a token may do. Few scopes, each named by the route that needs it;
//! the gateway's access table maps every route to exactly one.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::DeviceError;

/// One permission a device token can carry. Serialized as its
/// [`as_str`](Scope::as_str) name; sorted in the order below.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Scope {
    #[serde(rename = "inference")]
    Inference,
    #[serde(rename = "operator.read")]
    OperatorRead,
    #[serde(rename = "operator.write")]
    OperatorWrite,
    #[serde(rename = "operator.approvals")]
    OperatorApprovals,
    #[serde(rename = "operator.pairing")]
    OperatorPairing,
    #[serde(rename = "operator.admin")]
    OperatorAdmin,
}

impl Scope {
    pub const ALL: [Scope; 6] = [
        Scope::Inference,
        Scope::OperatorRead,
        Scope::OperatorWrite,
        Scope::OperatorApprovals,
        Scope::OperatorPairing,
        Scope::OperatorAdmin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Inference => "inference",
            Scope::OperatorRead => "operator.read",
            Scope::OperatorWrite => "operator.write",
            Scope::OperatorApprovals => "operator.approvals",
            Scope::OperatorPairing => "operator.pairing",
            Scope::OperatorAdmin => "operator.admin",
        }
    }

    /// The scope named exactly `s` (as [`as_str`](Scope::as_str) spells it).
    pub fn parse(s: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|scope| scope.as_str() == s)
    }

    /// One line: what the scope allows.
    pub fn describe(self) -> &'static str {
        match self {
            Scope::Inference => {
                "call the model endpoints (/v1/chat/completions, /v1/responses, /v1/messages, /v1/models)"
            }
            Scope::OperatorRead => {
                "read the gateway's state through the admin API (status, plugins, models)"
            }
            Scope::OperatorWrite => {
                "change the gateway through the admin API (enable or disable plugins, reload)"
            }
            Scope::OperatorApprovals => "answer the requests that wait for the owner's approval",
            Scope::OperatorPairing => {
                "see pairing requests and paired devices, and approve or reject requests"
            }
            Scope::OperatorAdmin => "revoke or rotate devices' tokens and trust or untrust plugins",
        }
    }

    /// Parse the scope names a client sent; an unknown one is
    /// [`DeviceError::UnknownScope`], whose message lists the real ones.
    pub fn parse_list<S: AsRef<str>>(names: &[S]) -> Result<Vec<Scope>, DeviceError> {
        names
            .iter()
            .map(|n| n.as_ref().parse())
            .collect::<Result<Vec<_>, _>>()
    }

    /// `scopes` sorted and without repeats.
    pub fn normalize(scopes: &[Scope]) -> Vec<Scope> {
        let mut v = scopes.to_vec();
        v.sort_unstable();
        v.dedup();
        v
    }

    /// `inference, operator.read, ...`: every scope's name, for messages.
    pub fn names() -> String {
        Scope::ALL.map(Scope::as_str).join(", ")
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Scope {
    type Err = DeviceError;

    fn from_str(s: &str) -> Result<Scope, DeviceError> {
        Scope::parse(s).ok_or_else(|| DeviceError::UnknownScope {
            scope: super::clipped(s),
        })
    }
}
