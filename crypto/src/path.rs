//! Tree paths as sops' `--extract`, `set` and `unset` take them: `["a"]["b"][0]`.

use crate::{Map, Value};

/// One step of a tree path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PathStep {
    Key(String),
    Index(usize),
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum PathError {
    #[error("invalid tree path {0:?}: expected components like [\"key\"] or [0]")]
    Syntax(String),
    #[error("{0} not found")]
    NotFound(String),
    #[error("{path}: cannot index a {kind}")]
    WrongKind { path: String, kind: &'static str },
    #[error("the path is empty")]
    Empty,
}

/// Parses `["a"]['b'][0]`.
pub fn parse(text: &str) -> Result<Vec<PathStep>, PathError> {
    let bad = || PathError::Syntax(text.to_string());
    let mut steps = Vec::new();
    let mut rest = text.trim();
    while !rest.is_empty() {
        rest = rest.strip_prefix('[').ok_or_else(bad)?;
        if let Some(quote) = rest.chars().next().filter(|c| *c == '"' || *c == '\'') {
            let body = &rest[1..];
            let end = body.find(quote).ok_or_else(bad)?;
            steps.push(PathStep::Key(body[..end].to_string()));
            rest = body[end + 1..].strip_prefix(']').ok_or_else(bad)?;
        } else {
            let end = rest.find(']').ok_or_else(bad)?;
            let index = rest[..end].trim().parse().map_err(|_| bad())?;
            steps.push(PathStep::Index(index));
            rest = &rest[end + 1..];
        }
    }
    Ok(steps)
}

/// Renders a path back to its text form.
pub fn render(steps: &[PathStep]) -> String {
    steps
        .iter()
        .map(|s| match s {
            PathStep::Key(k) => format!("[{k:?}]"),
            PathStep::Index(i) => format!("[{i}]"),
        })
        .collect()
}

/// The value at `steps` in `map`.
pub fn get<'a>(map: &'a Map, steps: &[PathStep]) -> Result<&'a Value, PathError> {
    let (first, rest) = steps.split_first().ok_or(PathError::Empty)?;
    let PathStep::Key(k) = first else {
        return Err(PathError::WrongKind {
            path: String::new(),
            kind: "map",
        });
    };
    let mut node = map
        .get(k)
        .ok_or_else(|| PathError::NotFound(render(&steps[..1])))?;
    for (i, step) in rest.iter().enumerate() {
        let here = || render(&steps[..i + 2]);
        node = match (step, node) {
            (PathStep::Key(k), Value::Map(m)) => {
                m.get(k).ok_or_else(|| PathError::NotFound(here()))?
            }
            (PathStep::Index(n), Value::List(l)) => {
                let elements: Vec<&Value> = l
                    .iter()
                    .filter(|e| !matches!(e, Value::Comment(_)))
                    .collect();
                elements
                    .get(*n)
                    .copied()
                    .ok_or_else(|| PathError::NotFound(here()))?
            }
            (_, other) => {
                return Err(PathError::WrongKind {
                    path: render(&steps[..i + 1]),
                    kind: other.kind_name(),
                })
            }
        };
    }
    Ok(node)
}

/// Sets the value at `steps`, creating maps on the way; an index past the end appends.
/// Returns true when something changed.
pub fn set(map: &mut Map, steps: &[PathStep], value: Value) -> Result<bool, PathError> {
    let (first, rest) = steps.split_first().ok_or(PathError::Empty)?;
    let PathStep::Key(k) = first else {
        return Err(PathError::WrongKind {
            path: String::new(),
            kind: "map",
        });
    };
    if map.get(k).is_none() {
        map.push(k.clone(), Value::Null);
    }
    set_in(
        map.get_mut(k).expect("inserted above"),
        rest,
        value,
        steps,
        1,
    )
}

fn set_in(
    node: &mut Value,
    rest: &[PathStep],
    value: Value,
    all: &[PathStep],
    depth: usize,
) -> Result<bool, PathError> {
    let Some((step, rest)) = rest.split_first() else {
        let changed = *node != value;
        *node = value;
        return Ok(changed);
    };
    if matches!(node, Value::Null) {
        *node = match step {
            PathStep::Key(_) => Value::Map(Map::new()),
            PathStep::Index(_) => Value::List(Vec::new()),
        };
    }
    match (step, node) {
        (PathStep::Key(k), Value::Map(m)) => {
            if m.get(k).is_none() {
                m.push(k.clone(), Value::Null);
            }
            set_in(
                m.get_mut(k).expect("inserted above"),
                rest,
                value,
                all,
                depth + 1,
            )
        }
        (PathStep::Index(n), Value::List(l)) => {
            let positions: Vec<usize> = (0..l.len())
                .filter(|&i| !matches!(l[i], Value::Comment(_)))
                .collect();
            match positions.get(*n) {
                Some(&pos) => set_in(&mut l[pos], rest, value, all, depth + 1),
                None => {
                    l.push(Value::Null);
                    let last = l.len() - 1;
                    set_in(&mut l[last], rest, value, all, depth + 1)
                }
            }
        }
        (_, other) => Err(PathError::WrongKind {
            path: render(&all[..depth]),
            kind: other.kind_name(),
        }),
    }
}

/// Removes the value at `steps`.
pub fn unset(map: &mut Map, steps: &[PathStep]) -> Result<(), PathError> {
    let (last, parent_steps) = steps.split_last().ok_or(PathError::Empty)?;
    let not_found = || PathError::NotFound(render(steps));
    if parent_steps.is_empty() {
        let PathStep::Key(k) = last else {
            return Err(not_found());
        };
        return map.remove(k).map(|_| ()).ok_or_else(not_found);
    }
    // Walk to the parent mutably.
    let (first, middle) = parent_steps.split_first().expect("non-empty");
    let PathStep::Key(k) = first else {
        return Err(not_found());
    };
    let mut node = map.get_mut(k).ok_or_else(not_found)?;
    for step in middle {
        node = match (step, node) {
            (PathStep::Key(k), Value::Map(m)) => m.get_mut(k).ok_or_else(not_found)?,
            (PathStep::Index(n), Value::List(l)) => l
                .iter_mut()
                .filter(|e| !matches!(e, Value::Comment(_)))
                .nth(*n)
                .ok_or_else(not_found)?,
            _ => return Err(not_found()),
        };
    }
    match (last, node) {
        (PathStep::Key(k), Value::Map(m)) => m.remove(k).map(|_| ()).ok_or_else(not_found),
        (PathStep::Index(n), Value::List(l)) => {
            let pos = (0..l.len())
                .filter(|&i| !matches!(l[i], Value::Comment(_)))
                .nth(*n)
                .ok_or_else(not_found)?;
            l.remove(pos);
            Ok(())
        }
        _ => Err(not_found()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_forms() {
        assert_eq!(
            parse(r#"["a"]['b'][2]["x]y"]"#).unwrap(),
            vec![
                PathStep::Key("a".into()),
                PathStep::Key("b".into()),
                PathStep::Index(2),
                PathStep::Key("x]y".into())
            ]
        );
        assert!(parse("a.b").is_err());
        assert!(parse("[\"a\"").is_err());
        assert!(parse("[x]").is_err());
    }

    #[test]
    fn set_get_unset() {
        let mut m = Map::new();
        let p = parse(r#"["a"]["b"][0]"#).unwrap();
        assert!(set(&mut m, &p, Value::Int(1)).unwrap());
        assert!(!set(&mut m, &p, Value::Int(1)).unwrap());
        assert_eq!(get(&m, &p).unwrap(), &Value::Int(1));
        unset(&mut m, &p).unwrap();
        assert!(matches!(get(&m, &p), Err(PathError::NotFound(_))));
        assert!(unset(&mut m, &parse(r#"["zz"]"#).unwrap()).is_err());
        let wrong = parse(r#"["a"]["b"]["c"]"#).unwrap();
        assert!(matches!(
            set(&mut m, &wrong, Value::Null),
            Err(PathError::WrongKind { .. })
        ));
    }
}
