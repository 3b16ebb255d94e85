//! Tree -> emitter events, the way sops 3.13 turns its tree into yaml.v3 nodes
//! (`appendTreeBranch`, `appendSequence`: which comment becomes a head, line or
//! foot comment of which node) and yaml.v3 walks those nodes into events (`e.node`:
//! a key's foot comment is written as the mapping end's tail).
//!
//! Events are produced straight from the tree into a sink, without building the
//! node tree, so memory stays proportional to the nesting depth.

use std::borrow::Cow;

use base64::Engine as _;

use super::analysis::{analyze, string_node_style, Analysis, Style};
use crate::scalar::format_float_g;
use crate::tree::{Comment, Item, Map, Value};

/// A scalar ready for the emitter.
pub(crate) struct Scalar<'a> {
    pub value: Cow<'a, str>,
    /// Style chosen when sops encoded the value into a node.
    pub style: Style,
    pub analysis: Analysis,
}

/// One emitter event with the comments yaml.v3 attaches to it (`#`-prefixed lines
/// joined by `\n`, empty when absent).
pub(crate) enum Event<'a> {
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
        scalar: Scalar<'a>,
        head: String,
        line: String,
        foot: String,
    },
}

/// Receives events in document order.
pub(crate) trait Sink<'a> {
    fn event(&mut self, event: Event<'a>);
}

/// Comments sops attaches to a node from outside (the enclosing collection).
#[derive(Default)]
struct Attached {
    head: String,
    line: String,
    foot: String,
}

/// The events for one document whose root is `map`.
pub(crate) fn document_events<'a>(map: &'a Map, sink: &mut impl Sink<'a>) {
    document_events_with(map, None, sink);
}

/// The events for one document whose root is `map` with `extra` appended.
pub(crate) fn document_events_with<'a>(
    map: &'a Map,
    extra: Option<&'a Item>,
    sink: &mut impl Sink<'a>,
) {
    sink.event(Event::DocumentStart);
    items_events(&map.items, extra, Attached::default(), sink);
    sink.event(Event::DocumentEnd);
}

fn scalar<'a>(value: Cow<'a, str>, plain_style: Option<Style>) -> Scalar<'a> {
    let analysis = analyze(&value);
    let style = plain_style.unwrap_or_else(|| string_node_style(&value, &analysis));
    Scalar {
        value,
        style,
        analysis,
    }
}

/// About how many bytes a document takes when written (to size the output buffer).
pub(crate) fn estimated_len(map: &Map, indent: usize) -> usize {
    estimated_map_len(map, 0, indent) + 8
}

fn estimated_map_len(map: &Map, depth: usize, indent: usize) -> usize {
    map.items
        .iter()
        .map(|item| match item {
            Item::Entry(key, value) => {
                depth * indent + key.len() + 2 + estimated_value_len(value, depth + 1, indent)
            }
            Item::Comment(c) => depth * indent + c.text.len() + 2,
        })
        .sum()
}

/// A value's size after its key (or `- `), including its line break.
pub(crate) fn estimated_value_len(value: &Value, depth: usize, indent: usize) -> usize {
    match value {
        Value::Map(m) => 1 + estimated_map_len(m, depth, indent),
        Value::List(l) => {
            1 + l
                .iter()
                .map(|v| depth * indent + 2 + estimated_value_len(v, depth + 1, indent))
                .sum::<usize>()
        }
        Value::Str(s) | Value::Time(s) => s.len() + 3,
        Value::Comment(c) => c.text.len() + 3,
        Value::Bytes(b) => b.len() * 4 / 3 + 4,
        Value::Null | Value::Int(_) | Value::Float(_) | Value::Bool(_) => 24,
    }
}

/// sops' `treeValueToNode` for scalars.
fn scalar_of(value: &Value) -> Scalar<'_> {
    match value {
        Value::Str(s) => scalar(Cow::Borrowed(s), None),
        Value::Bool(b) => scalar(b.to_string().into(), Some(Style::Plain)),
        Value::Int(i) => scalar(i.to_string().into(), Some(Style::Plain)),
        Value::Float(f) => scalar(yaml_float(*f).into(), Some(Style::Plain)),
        Value::Time(t) => scalar(Cow::Borrowed(t), Some(Style::Plain)),
        Value::Bytes(b) => scalar(
            base64::engine::general_purpose::STANDARD.encode(b).into(),
            None,
        ),
        Value::Null | Value::Comment(_) | Value::Map(_) | Value::List(_) => {
            scalar("null".into(), Some(Style::Plain))
        }
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

fn value_events<'a>(value: &'a Value, attached: Attached, sink: &mut impl Sink<'a>) {
    match value {
        Value::Map(map) => map_events(map, attached, sink),
        Value::List(list) => seq_events(list, attached, sink),
        other => sink.event(Event::Scalar {
            scalar: scalar_of(other),
            head: attached.head,
            line: attached.line,
            foot: attached.foot,
        }),
    }
}

/// Collects comment texts the way sops joins them: `#` + texts joined by `\n#`.
#[derive(Default)]
struct Pending<'a> {
    heads: Vec<&'a str>,
    inlines: Vec<&'a str>,
}

impl<'a> Pending<'a> {
    fn add(&mut self, c: &'a Comment) {
        if c.inline {
            self.inlines.push(&c.text);
        } else {
            self.heads.push(&c.text);
        }
    }

    fn take_heads(&mut self) -> String {
        joined(std::mem::take(&mut self.heads))
    }

    fn take_inlines(&mut self) -> String {
        joined(std::mem::take(&mut self.inlines))
    }

    /// Leftovers at the end of a collection: heads first, then inline ones.
    fn take_all(&mut self) -> String {
        let mut all = std::mem::take(&mut self.heads);
        all.append(&mut self.inlines);
        joined(all)
    }
}

fn joined(comments: Vec<&str>) -> String {
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

/// sops' `addCommentsHead`: new comments go before the node's own head comment.
fn prepend(outer: String, own: String) -> String {
    match (outer.is_empty(), own.is_empty()) {
        (true, _) => own,
        (_, true) => outer,
        _ => format!("{outer}\n{own}"),
    }
}

/// sops' `appendTreeBranch`, streamed.
fn map_events<'a>(map: &'a Map, attached: Attached, sink: &mut impl Sink<'a>) {
    items_events(&map.items, None, attached, sink);
}

/// A mapping of `items`, plus `extra` as if it were appended to them.
fn items_events<'a>(
    items: &'a [Item],
    extra: Option<&'a Item>,
    attached: Attached,
    sink: &mut impl Sink<'a>,
) {
    let all = || items.iter().chain(extra);
    let mut pending = Pending::default();
    let first_entry = all().position(|i| matches!(i, Item::Entry(..)));
    let own_head = match first_entry {
        None => {
            all().for_each(|i| {
                if let Item::Comment(c) = i {
                    pending.add(c)
                }
            });
            pending.take_all()
        }
        Some(first) => {
            for item in all().take(first) {
                if let Item::Comment(c) = item {
                    pending.add(c);
                }
            }
            pending.take_heads()
        }
    };
    sink.event(Event::MappingStart {
        head: prepend(attached.head, own_head),
    });
    if let Some(first) = first_entry {
        for item in all().skip(first) {
            match item {
                Item::Comment(c) => pending.add(c),
                Item::Entry(key, value) => {
                    let head = pending.take_heads();
                    sink.event(Event::Scalar {
                        scalar: scalar(Cow::Borrowed(key), None),
                        head,
                        line: String::new(),
                        foot: String::new(),
                    });
                    let line = pending.take_inlines();
                    value_events(
                        value,
                        Attached {
                            line,
                            ..Attached::default()
                        },
                        sink,
                    );
                }
            }
        }
    }
    sink.event(Event::MappingEnd {
        // The last key's foot comment, which yaml.v3 writes as the mapping's tail.
        tail: pending.take_all(),
        line: attached.line,
        foot: attached.foot,
    });
}

/// sops' `appendSequence`, streamed.
fn seq_events<'a>(list: &'a [Value], attached: Attached, sink: &mut impl Sink<'a>) {
    let mut pending = Pending::default();
    let is_item = |v: &Value| !matches!(v, Value::Comment(_));
    let first_item = list.iter().position(is_item);
    let last_item = list.iter().rposition(is_item);
    let own_head = match first_item {
        None => {
            list.iter().for_each(|v| {
                if let Value::Comment(c) = v {
                    pending.add(c)
                }
            });
            pending.take_all()
        }
        Some(first) => {
            for v in &list[..first] {
                if let Value::Comment(c) = v {
                    pending.add(c);
                }
            }
            pending.take_heads()
        }
    };
    sink.event(Event::SequenceStart {
        head: prepend(attached.head, own_head),
    });
    if let (Some(first), Some(last)) = (first_item, last_item) {
        for (index, value) in list.iter().enumerate().skip(first) {
            match value {
                Value::Comment(c) if index < last => pending.add(c),
                Value::Comment(_) => {}
                item => {
                    let head = pending.take_heads();
                    let line = pending.take_inlines();
                    let foot = if index == last {
                        // Comments after the last item become its foot comment.
                        let mut trailing = Pending::default();
                        for v in &list[last + 1..] {
                            if let Value::Comment(c) = v {
                                trailing.add(c);
                            }
                        }
                        trailing.take_all()
                    } else {
                        String::new()
                    };
                    value_events(item, Attached { head, line, foot }, sink);
                }
            }
        }
    }
    sink.event(Event::SequenceEnd {
        line: attached.line,
        foot: attached.foot,
    });
}
