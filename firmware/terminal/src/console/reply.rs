//! A console reply and its two renderings: human text, or one line of JSON
//! (`{"ok":true,...}` / `{"ok":false,"error":"..."}`).

use serde_json::{Map, Value};

/// The reply to one command.
#[derive(Clone, Debug, PartialEq)]
pub struct Reply {
    /// Structured fields on success, the message on failure.
    pub result: Result<Map<String, Value>, String>,
    /// Text lines for humans (success only).
    pub text: Vec<String>,
}

impl Reply {
    /// A success with `fields` and `text`.
    pub fn ok(fields: Map<String, Value>, text: Vec<String>) -> Reply {
        Reply {
            result: Ok(fields),
            text,
        }
    }

    /// A success with one text line and no fields.
    pub fn line(text: impl Into<String>) -> Reply {
        Reply {
            result: Ok(Map::new()),
            text: vec![text.into()],
        }
    }

    /// A failure.
    pub fn err(message: impl std::fmt::Display) -> Reply {
        Reply {
            result: Err(message.to_string()),
            text: Vec::new(),
        }
    }

    /// True on success.
    pub fn is_ok(&self) -> bool {
        self.result.is_ok()
    }

    /// Renders as one JSON line or as text lines (no trailing newline).
    pub fn render(&self, json: bool) -> String {
        match (&self.result, json) {
            (Ok(fields), true) => {
                let mut m = Map::new();
                m.insert("ok".into(), Value::Bool(true));
                for (k, v) in fields {
                    m.insert(k.clone(), v.clone());
                }
                Value::Object(m).to_string()
            }
            (Err(e), true) => {
                let mut m = Map::new();
                m.insert("ok".into(), Value::Bool(false));
                m.insert("error".into(), Value::String(e.clone()));
                Value::Object(m).to_string()
            }
            (Ok(_), false) => {
                if self.text.is_empty() {
                    "ok".to_string()
                } else {
                    self.text.join("\n")
                }
            }
            (Err(e), false) => format!("error: {e}"),
        }
    }
}

/// Builds a JSON object from pairs.
#[macro_export]
macro_rules! fields {
    ($($k:expr => $v:expr),* $(,)?) => {{
        #[allow(unused_mut)]
        let mut m = serde_json::Map::new();
        $( m.insert($k.to_string(), serde_json::json!($v)); )*
        m
    }};
}
