//! The response envelope: `status`, `remark`, `message[]`, `data`.

use serde::{Deserialize, Serialize};

/// Every Wutt answer that is JSON of the documented shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    pub status: String,
    #[serde(default)]
    pub remark: String,
    #[serde(default)]
    pub message: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<serde_json::Value>,
}

impl Envelope {
    pub fn is_success(&self) -> bool {
        self.status.eq_ignore_ascii_case("success")
    }
}
