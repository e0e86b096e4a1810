//! The values a program captured.

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::error::ProgramError;

/// Captured values by hole name, in the order the holes appear: `gen` and
/// `select` holes capture strings, `json` holes (and tool calls) their
/// JSON value.
///
/// ```
/// use rein_program::Captures;
/// #[derive(serde::Deserialize)]
/// struct Hero { name: String, level: u32 }
/// let mut c = Captures::default();
/// c.insert("name", "Ada".into());
/// c.insert("level", serde_json::json!(3));
/// let h: Hero = c.deserialize().unwrap();
/// assert_eq!((h.name.as_str(), h.level), ("Ada", 3));
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Captures {
    values: Map<String, Value>,
}

impl Captures {
    /// Records a value (replacing an earlier one of the same name).
    pub fn insert(&mut self, name: impl Into<String>, v: Value) {
        self.values.insert(name.into(), v);
    }

    /// The value captured under `name`.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.values.get(name)
    }

    /// The text captured under `name`, for string captures.
    pub fn text(&self, name: &str) -> Option<&str> {
        self.values.get(name).and_then(Value::as_str)
    }

    /// Number of captures.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// True when nothing was captured.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// (name, value) pairs in hole order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.values.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// All captures as one JSON object.
    pub fn to_json(&self) -> Value {
        Value::Object(self.values.clone())
    }

    /// The captures deserialized into a user type (fields named like the
    /// holes).
    ///
    /// # Errors
    /// [`ProgramError::Deserialize`] when the values do not fit `T`.
    pub fn deserialize<T: DeserializeOwned>(&self) -> Result<T, ProgramError> {
        Ok(serde_json::from_value(self.to_json())?)
    }
}
