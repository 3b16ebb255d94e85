//! Tree -> yaml.v3-like nodes -> emitter events, the way sops 3.13 builds its
//! output (`appendTreeBranch`, `appendSequence`) and yaml.v3 walks nodes (`e.node`).

use base64::Engine as _;

use super::analysis::{analyze, string_node_style, Analysis, Style};
use crate::scalar::format_float_g;
use crate::tree::{Item, Map, Value};

/// A node with its comments, as sops hands it to yaml.v3.
pub(crate) struct Node {
    kind: NodeKind,
    head: String,
    line: String,
    foot: String,
}

enum NodeKind {
    Map(Vec<(Node, Node)>),
    Seq(Vec<Node>),
    Scalar(Scalar),
}

/// A scalar ready for the emitter.
pub(crate) struct Scalar {
    pub value: String,
    /// Style chosen when sops encoded the value into a node.
    pub style: Style,
    pub analysis: Analysis,
}

/// One emitter event with the comments yaml.v3 attaches to it.
pub(crate) enum Event {
    DocumentStart,
    DocumentEnd,
    MappingStart {
        head: String,
    },
    MappingEnd {
        tail: String,
        line: String,
        foot: String,
    },
    SequenceStart {
        head: String,
    },
    SequenceEnd {
        line: String,
        foot: String,
    },
    Scalar {
        scalar: Scalar,
        head: String,
        line: String,
        foot: String,
        tail: String,
    },
}

impl Node {
    fn new(kind: NodeKind) -> Self {
        Node {
            kind,
            head: String::new(),
            line: String::new(),
            foot: String::new(),
        }
    }
}

fn scalar_node(value: String, plain_style: Option<Style>) -> Node {
    let analysis = analyze(&value);
    let style = plain_style.unwrap_or_else(|| string_node_style(&value, &analysis));
    Node::new(NodeKind::Scalar(Scalar {
        value,
        style,
        analysis,
    }))
}

/// A string scalar (keys and string values).
fn string_node(s: &str) -> Node {
    scalar_node(s.to_string(), None)
}

/// sops' `treeValueToNode`.
fn value_node(value: &Value) -> Node {
    match value {
        Value::Map(map) => map_node(map),
        Value::List(list) => seq_node(list),
        Value::Str(s) => string_node(s),
        Value::Null | Value::Comment(_) => scalar_node("null".into(), Some(Style::Plain)),
        Value::Bool(b) => scalar_node(b.to_string(), Some(Style::Plain)),
        Value::Int(i) => scalar_node(i.to_string(), Some(Style::Plain)),
        Value::Float(f) => scalar_node(yaml_float(*f), Some(Style::Plain)),
        Value::Time(t) => scalar_node(t.clone(), Some(Style::Plain)),
        Value::Bytes(b) => string_node(&base64::engine::general_purpose::STANDARD.encode(b)),
    }
}

/// yaml.v3's float text: `FormatFloat(v, 'g', -1, 64)` with YAML infinities.
fn yaml_float(f: f64) -> String {
    if f.is_nan() {
        ".nan".into()
    } else if f == f64::INFINITY {
        ".inf".into()
    } else if f == f64::NEG_INFINITY {
        "-.inf".into()
    } else {
        format_float_g(f)
    }
}

/// Joins comment texts the way sops does: `#` + texts joined by `\n#`.
fn joined(comments: &[&str]) -> String {
    let mut out = String::new();
    for (i, c) in comments.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push('#');
        out.push_str(c);
    }
    out
}

fn add_head(node: &mut Node, comments: &mut Vec<&str>) {
    if !comments.is_empty() {
        let c = joined(comments);
        node.head = if node.head.is_empty() {
            c
        } else {
            format!("{c}\n{}", node.head)
        };
        comments.clear();
    }
}

fn add_after(slot: &mut String, comments: &mut Vec<&str>) {
    if !comments.is_empty() {
        if !slot.is_empty() {
            slot.push('\n');
        }
        slot.push_str(&joined(comments));
        comments.clear();
    }
}

/// sops' `appendTreeBranch`.
fn map_node(map: &Map) -> Node {
    let mut node = Node::new(NodeKind::Map(Vec::new()));
    let mut pairs = Vec::new();
    let mut heads: Vec<&str> = Vec::new();
    let mut inlines: Vec<&str> = Vec::new();
    for item in &map.items {
        match item {
            Item::Comment(c) if c.inline => inlines.push(&c.text),
            Item::Comment(c) => heads.push(&c.text),
            Item::Entry(key, value) => {
                if pairs.is_empty() {
                    add_head(&mut node, &mut heads);
                }
                let mut key_node = string_node(key);
                add_head(&mut key_node, &mut heads);
                let mut value_node = value_node(value);
                add_after(&mut value_node.line, &mut inlines);
                pairs.push((key_node, value_node));
            }
        }
    }
    heads.append(&mut inlines);
    match pairs.last_mut() {
        None => add_head(&mut node, &mut heads),
        Some((last_key, _)) => add_after(&mut last_key.foot, &mut heads),
    }
    node.kind = NodeKind::Map(pairs);
    node
}

/// sops' `appendSequence`.
fn seq_node(list: &[Value]) -> Node {
    let mut node = Node::new(NodeKind::Seq(Vec::new()));
    let mut items = Vec::new();
    let mut heads: Vec<&str> = Vec::new();
    let mut inlines: Vec<&str> = Vec::new();
    for value in list {
        match value {
            Value::Comment(c) if c.inline => inlines.push(&c.text),
            Value::Comment(c) => heads.push(&c.text),
            other => {
                if items.is_empty() {
                    add_head(&mut node, &mut heads);
                }
                let mut item = value_node(other);
                add_head(&mut item, &mut heads);
                add_after(&mut item.line, &mut inlines);
                items.push(item);
            }
        }
    }
    heads.append(&mut inlines);
    match items.last_mut() {
        None => add_head(&mut node, &mut heads),
        Some(last) => add_after(&mut last.foot, &mut heads),
    }
    node.kind = NodeKind::Seq(items);
    node
}

/// The events for one document whose root is `map` (yaml.v3's `e.node`).
pub(crate) fn document_events(map: &Map, out: &mut Vec<Event>) {
    out.push(Event::DocumentStart);
    node_events(map_node(map), String::new(), out);
    out.push(Event::DocumentEnd);
}

fn node_events(node: Node, tail: String, out: &mut Vec<Event>) {
    match node.kind {
        NodeKind::Map(pairs) => {
            // A key's foot comment is written as the next key's tail, or at the end.
            out.push(Event::MappingStart { head: node.head });
            let mut tail = String::new();
            for (mut key, value) in pairs {
                let foot = std::mem::take(&mut key.foot);
                node_events(key, tail, out);
                tail = foot;
                node_events(value, String::new(), out);
            }
            out.push(Event::MappingEnd {
                tail,
                line: node.line,
                foot: node.foot,
            });
        }
        NodeKind::Seq(items) => {
            out.push(Event::SequenceStart { head: node.head });
            for item in items {
                node_events(item, String::new(), out);
            }
            out.push(Event::SequenceEnd {
                line: node.line,
                foot: node.foot,
            });
        }
        NodeKind::Scalar(scalar) => out.push(Event::Scalar {
            scalar,
            head: node.head,
            line: node.line,
            foot: node.foot,
            tail,
        }),
    }
}
