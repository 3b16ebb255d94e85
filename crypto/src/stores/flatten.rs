//! Flattening of the `sops` metadata for formats without nesting (dotenv, INI):
//! `__map_` joins map levels and `__list_<i>` marks list indices, as sops does.

use super::StoreError;
use crate::{Item, Map, Value};

const MAP_SEP: &str = "__map_";
const LIST_SEP: &str = "__list_";

/// Flattens the entries of `map` into `(prefix + key, text)` pairs.
pub fn flatten_top(prefix: &str, map: &Map) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (k, v) in map.entries() {
        flatten_into(&format!("{prefix}{k}"), v, &mut out);
    }
    out
}

fn flatten_into(key: &str, value: &Value, out: &mut Vec<(String, String)>) {
    let text = match value {
        Value::Map(m) => {
            for (k, v) in m.entries() {
                flatten_into(&format!("{key}{MAP_SEP}{k}"), v, out);
            }
            return;
        }
        Value::List(l) => {
            for (i, v) in l.iter().enumerate() {
                flatten_into(&format!("{key}{LIST_SEP}{i}"), v, out);
            }
            return;
        }
        Value::Comment(_) => return,
        Value::Null => String::new(),
        Value::Str(s) | Value::Time(s) => s.clone(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => crate::scalar::format_float_f(*f),
        Value::Bool(b) => b.to_string(),
        Value::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
    };
    out.push((key.to_string(), text));
}

enum Step {
    Key(String),
    Index(usize),
}

fn parse_steps(key: &str) -> Result<Vec<Step>, StoreError> {
    // The first token is a plain map key; then a sequence of __map_<k> / __list_<i>.
    let mut steps = Vec::new();
    let mut rest = key;
    let first_end = next_sep(rest).unwrap_or(rest.len());
    steps.push(Step::Key(rest[..first_end].to_string()));
    rest = &rest[first_end..];
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix(MAP_SEP) {
            let end = next_sep(r).unwrap_or(r.len());
            steps.push(Step::Key(r[..end].to_string()));
            rest = &r[end..];
        } else if let Some(r) = rest.strip_prefix(LIST_SEP) {
            let end = next_sep(r).unwrap_or(r.len());
            let index = r[..end].parse().map_err(|_| StoreError::Shape {
                path: key.to_string(),
                message: "bad list index in flattened metadata key".into(),
            })?;
            steps.push(Step::Index(index));
            rest = &r[end..];
        } else {
            unreachable!("next_sep only stops at separators");
        }
    }
    Ok(steps)
}

fn next_sep(s: &str) -> Option<usize> {
    match (s.find(MAP_SEP), s.find(LIST_SEP)) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Rebuilds the nested metadata value from flattened `(key, text)` pairs (prefix removed).
pub fn unflatten(pairs: &[(String, String)]) -> Result<Value, StoreError> {
    let mut root = Value::Map(Map::new());
    for (key, text) in pairs {
        let steps = parse_steps(key)?;
        insert(&mut root, &steps, Value::Str(text.clone()), key)?;
    }
    Ok(root)
}

fn insert(node: &mut Value, steps: &[Step], leaf: Value, key: &str) -> Result<(), StoreError> {
    let shape = || StoreError::Shape {
        path: key.to_string(),
        message: "conflicting flattened metadata keys".into(),
    };
    let Some((step, rest)) = steps.split_first() else {
        *node = leaf;
        return Ok(());
    };
    let child_template = || match rest.first() {
        Some(Step::Index(_)) => Value::List(Vec::new()),
        Some(Step::Key(_)) => Value::Map(Map::new()),
        None => Value::Null,
    };
    match (step, node) {
        (Step::Key(k), Value::Map(m)) => {
            if m.get(k).is_none() {
                m.items.push(Item::Entry(k.clone(), child_template()));
            }
            insert(m.get_mut(k).expect("inserted above"), rest, leaf, key)
        }
        (Step::Index(i), Value::List(l)) => {
            if *i > l.len() || *i > 10_000 {
                return Err(shape());
            }
            if *i == l.len() {
                l.push(child_template());
            }
            insert(&mut l[*i], rest, leaf, key)
        }
        _ => Err(shape()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_sops_layout() {
        let pairs = vec![
            ("pgp__list_0__map_created_at".to_string(), "t".to_string()),
            ("pgp__list_0__map_fp".to_string(), "F".to_string()),
            ("pgp__list_1__map_fp".to_string(), "G".to_string()),
            (
                "kms__list_0__map_context__map_Role".to_string(),
                "x".to_string(),
            ),
            ("version".to_string(), "3.13.1".to_string()),
        ];
        let value = unflatten(&pairs).unwrap();
        let map = value.as_map().unwrap();
        let Value::List(pgp) = map.get("pgp").unwrap() else {
            panic!()
        };
        assert_eq!(pgp.len(), 2);
        let again = flatten_top("", map);
        assert_eq!(again, pairs);
    }

    #[test]
    fn out_of_order_list_index_is_refused() {
        let pairs = vec![("pgp__list_3__map_fp".to_string(), "F".to_string())];
        assert!(unflatten(&pairs).is_err());
    }
}
