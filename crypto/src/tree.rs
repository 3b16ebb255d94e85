//! The SOPS document tree: ordered maps, lists, typed scalars and comments.
//!
//! One type serves plaintext and encrypted documents alike: after encryption a
//! scalar becomes `Value::Str("ENC[...]")` and a comment's text becomes the
//! `ENC[...]` string, exactly as sops keeps them.

/// A comment kept in the tree. `text` has no leading `#` but keeps any space after it.
#[derive(Clone, Debug, PartialEq)]
pub struct Comment {
    pub text: String,
    /// A line comment that sits after a value on the same line (YAML `a: 1 # x`).
    pub inline: bool,
}

impl Comment {
    pub fn new(text: impl Into<String>) -> Self {
        Comment {
            text: text.into(),
            inline: false,
        }
    }
}

/// An ordered mapping. Comments are items of their own, in document order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Map {
    pub items: Vec<Item>,
}

/// One item of a mapping.
#[derive(Clone, Debug, PartialEq)]
pub enum Item {
    Entry(String, Value),
    Comment(Comment),
}

/// A node of the tree.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// `~`, `null`, or an empty YAML value: never encrypted, not in the MAC.
    Null,
    Str(String),
    Int(i64),
    /// A float; its sops text is Go's `FormatFloat(v, 'f', -1, 64)` (see [`crate::scalar`]).
    Float(f64),
    Bool(bool),
    /// A timestamp in RFC 3339 form, as Go's `time.Time.MarshalText` writes it.
    Time(String),
    /// Raw bytes (decrypt-only type `bytes` from old sops versions).
    Bytes(Vec<u8>),
    Map(Map),
    List(Vec<Value>),
    /// A comment inside a list.
    Comment(Comment),
}

/// One document of a file (YAML files may hold several).
pub type Branch = Map;

impl Map {
    pub fn new() -> Self {
        Map::default()
    }

    /// Appends a key/value entry.
    pub fn push(&mut self, key: impl Into<String>, value: Value) {
        self.items.push(Item::Entry(key.into(), value));
    }

    /// The value under `key`, if present (first match).
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.items.iter().find_map(|item| match item {
            Item::Entry(k, v) if k == key => Some(v),
            _ => None,
        })
    }

    pub fn get_mut(&mut self, key: &str) -> Option<&mut Value> {
        self.items.iter_mut().find_map(|item| match item {
            Item::Entry(k, v) if k == key => Some(v),
            _ => None,
        })
    }

    /// Replaces the value under `key` or appends it; returns the old value.
    pub fn insert(&mut self, key: impl Into<String>, value: Value) -> Option<Value> {
        let key = key.into();
        if let Some(slot) = self.get_mut(&key) {
            return Some(std::mem::replace(slot, value));
        }
        self.push(key, value);
        None
    }

    /// Removes the entry under `key`; returns its value.
    pub fn remove(&mut self, key: &str) -> Option<Value> {
        let pos = self
            .items
            .iter()
            .position(|item| matches!(item, Item::Entry(k, _) if k == key))?;
        match self.items.remove(pos) {
            Item::Entry(_, v) => Some(v),
            Item::Comment(_) => None,
        }
    }

    /// Key/value entries, skipping comments.
    pub fn entries(&self) -> impl Iterator<Item = (&String, &Value)> {
        self.items.iter().filter_map(|item| match item {
            Item::Entry(k, v) => Some((k, v)),
            Item::Comment(_) => None,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

impl Value {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&Map> {
        match self {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    /// Short name of the node kind, for error messages.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Str(_) => "string",
            Value::Int(_) => "int",
            Value::Float(_) => "float",
            Value::Bool(_) => "bool",
            Value::Time(_) => "time",
            Value::Bytes(_) => "bytes",
            Value::Map(_) => "map",
            Value::List(_) => "list",
            Value::Comment(_) => "comment",
        }
    }
}
