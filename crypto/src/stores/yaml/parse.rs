//! YAML text -> document trees, following how sops 3.13 reads YAML through yaml.v3.
//!
//! Events come from `saphyr-parser`; comments come from scanning the text between
//! events (see [`super::gaps`]). Comment placement follows sops' flattening of
//! yaml.v3's head/line/foot comments:
//! - own-line comments stay in document order; at the end of a block collection,
//!   those indented at least as far as the collection stay inside it (foot comments),
//!   the others move to the parent;
//! - a comment after a scalar value on the same line is `inline` and goes right
//!   *before* that entry or item (sops appends `value.LineComment` before the entry);
//! - a comment after a key whose value is a collection (`a: # c`) is a normal
//!   comment before the entry (sops' `key.LineComment`).

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::hash::BuildHasher as _;

use saphyr_parser::{Event, Parser, ScalarStyle, Span, Tag};

use super::gaps::{quoted_scalar_end, scan_gap, FoundComment, Positions};
use super::typing::{scalar_key, scalar_value};
use crate::stores::{StoreError, MAX_DEPTH};
use crate::tree::{Comment, Item, Map, Value};

/// Most nodes that alias expansion may copy in one stream (billion-laughs guard).
pub const MAX_ALIAS_EXPANSION: usize = 1_000_000;

/// Parses every document of `input`; each must be a mapping (or empty).
///
/// Plain block-style files take a fast byte-level path ([`super::fast`]) that builds
/// the same tree; everything else (and every error) goes through saphyr.
pub fn parse_documents(input: &str) -> Result<Vec<Map>, StoreError> {
    if let Some(docs) = super::fast::parse_documents(input) {
        return Ok(docs);
    }
    parse_documents_general(input)
}

/// The general path: saphyr events plus comment scanning.
pub fn parse_documents_general(input: &str) -> Result<Vec<Map>, StoreError> {
    let mut builder = Builder::new(input);
    let mut parser = Parser::new_from_str(input);
    while let Some(next) = parser.next_event() {
        let (event, span) = next.map_err(|e| StoreError::Syntax {
            line: e.marker().line(),
            column: e.marker().col() + 1,
            message: e.info().to_string(),
        })?;
        if builder.on_event(event, span)? {
            break;
        }
    }
    Ok(builder.finish())
}

/// What the last event left behind: decides where a comment on the same line goes.
#[derive(Clone, Copy, PartialEq)]
enum Last {
    Nothing,
    /// A mapping key whose value has not started yet.
    Key,
    /// A scalar (or alias) value, now the last entry/item of the top frame.
    ScalarValue,
    /// A collection just opened: it is the top frame.
    CollectionStart,
    /// A collection just closed: it is the last entry/item of the top frame.
    CollectionEnd,
}

struct Frame {
    kind: FrameKind,
    /// Column of the collection's first token, for foot-comment ownership.
    column: usize,
    anchor: usize,
}

enum FrameKind {
    Map {
        map: Map,
        pending_key: Option<String>,
        /// Hashes of the keys so far (a hit is confirmed against the entries).
        keys: HashSet<u64>,
    },
    Seq(Vec<Value>),
}

impl Frame {
    fn push_comment(&mut self, comment: Comment) {
        match &mut self.kind {
            FrameKind::Map { map, .. } => map.items.push(Item::Comment(comment)),
            FrameKind::Seq(list) => list.push(Value::Comment(comment)),
        }
    }

    /// Inserts a comment before the last entry or item (or appends if there is none).
    fn insert_before_last(&mut self, comment: Comment) {
        match &mut self.kind {
            FrameKind::Map { map, .. } => {
                let at = map
                    .items
                    .iter()
                    .rposition(|i| matches!(i, Item::Entry(..)))
                    .unwrap_or(map.items.len());
                map.items.insert(at, Item::Comment(comment));
            }
            FrameKind::Seq(list) => {
                let at = list
                    .iter()
                    .rposition(|v| !matches!(v, Value::Comment(_)))
                    .unwrap_or(list.len());
                list.insert(at, Value::Comment(comment));
            }
        }
    }
}

struct Builder<'a> {
    input: &'a str,
    positions: Positions<'a>,
    /// Byte offset up to which the source has been scanned for comments.
    cursor: usize,
    /// Byte offset where the previous event's span ended.
    prev_end: usize,
    /// Comments seen since the last event, in document order.
    pending: Vec<FoundComment>,
    frames: Vec<Frame>,
    last: Last,
    /// The current document's top-level map, once closed.
    doc: Option<Map>,
    docs: Vec<Map>,
    anchors: HashMap<usize, (Value, usize)>,
    expanded: usize,
    key_hasher: std::hash::RandomState,
}

impl<'a> Builder<'a> {
    fn new(input: &'a str) -> Self {
        Builder {
            input,
            positions: Positions::new(input),
            cursor: 0,
            prev_end: 0,
            pending: Vec::new(),
            frames: Vec::new(),
            last: Last::Nothing,
            doc: None,
            docs: Vec::new(),
            anchors: HashMap::new(),
            expanded: 0,
            key_hasher: std::hash::RandomState::new(),
        }
    }

    fn finish(mut self) -> Vec<Map> {
        if !self.pending.is_empty() {
            let comments = std::mem::take(&mut self.pending);
            if self.docs.is_empty() {
                self.docs.push(Map::new());
            }
            let last = self.docs.last_mut().expect("at least one document");
            last.items
                .extend(comments.into_iter().map(|c| Item::Comment(plain(c))));
        }
        self.docs
    }

    /// Handles one event; returns true at the end of the stream.
    fn on_event(&mut self, event: Event<'_>, span: Span) -> Result<bool, StoreError> {
        let start = self.positions.byte(span.start.index()).max(self.cursor);
        let end = self.positions.byte(span.end.index()).max(start);
        self.scan_into_pending(start);
        if let Event::Scalar(_, ScalarStyle::Literal | ScalarStyle::Folded, ..) = &event {
            // Some block scalar spans start at the `|` header: its comment comes first.
            if self.input[start..].starts_with(['|', '>']) {
                let header_end = self.input[start..].find('\n').map_or(end, |p| start + p);
                scan_gap(self.input, start, header_end.min(end), &mut self.pending);
            }
        }
        // Comments inside the event's own span (after a closing quote or a flow end)
        // come after the event: keep them for the next one.
        let after_from = match &event {
            Event::Scalar(_, ScalarStyle::DoubleQuoted | ScalarStyle::SingleQuoted, ..) => {
                Some(quoted_scalar_end(self.input, start, end))
            }
            Event::Scalar(..) | Event::Alias(_) => None,
            _ => Some(start),
        };
        let mut after = Vec::new();
        match after_from {
            Some(from) if from < end => {
                let stop = scan_gap(self.input, from, end, &mut after);
                self.cursor = stop.max(end);
            }
            _ => self.cursor = self.cursor.max(end),
        }

        let done = self.dispatch(event, span)?;
        self.prev_end = end;
        self.pending.extend(after);
        Ok(done)
    }

    fn scan_into_pending(&mut self, to: usize) {
        if self.cursor < to {
            let stop = scan_gap(self.input, self.cursor, to, &mut self.pending);
            self.cursor = self.cursor.max(stop);
        }
    }

    fn dispatch(&mut self, event: Event<'_>, span: Span) -> Result<bool, StoreError> {
        match event {
            Event::StreamStart | Event::Nothing => {}
            // Comments after the last document are added to it by `finish`.
            Event::StreamEnd => return Ok(true),
            Event::DocumentStart(_) => {
                self.doc = None;
                self.last = Last::Nothing;
            }
            Event::DocumentEnd => {
                self.place_pending_at_document_end();
                self.docs.push(self.doc.take().unwrap_or_default());
            }
            Event::MappingStart(anchor, _) => {
                let kind = FrameKind::Map {
                    map: Map::new(),
                    pending_key: None,
                    keys: HashSet::new(),
                };
                self.open(span, anchor, kind)?;
            }
            Event::SequenceStart(anchor, _) => {
                if self.frames.is_empty() {
                    return Err(StoreError::Invalid(
                        "YAML documents that are sequences are not supported".into(),
                    ));
                }
                self.open(span, anchor, FrameKind::Seq(Vec::new()))?;
            }
            Event::MappingEnd | Event::SequenceEnd => self.close(),
            Event::Scalar(text, style, anchor, tag) => {
                self.on_scalar(text, style, anchor, tag)?;
            }
            Event::Alias(id) => self.on_alias(id)?,
        }
        Ok(false)
    }

    /// Places a comment that sits on the same line as the previous event.
    fn place_trailing(&mut self, comment: FoundComment) {
        let Some(top) = self.frames.last_mut() else {
            self.doc_comments().push(Item::Comment(plain(comment)));
            return;
        };
        match self.last {
            Last::ScalarValue => top.insert_before_last(Comment {
                text: comment.text,
                inline: true,
            }),
            Last::CollectionEnd => top.insert_before_last(plain(comment)),
            Last::Key | Last::CollectionStart | Last::Nothing => top.push_comment(plain(comment)),
        }
    }

    /// Splits off a leading trailing comment (same line as the previous event) and
    /// places it; returns the own-line comments that are left.
    fn take_own_line_comments(&mut self) -> Vec<FoundComment> {
        let mut comments = std::mem::take(&mut self.pending);
        let on_previous_line = |c: &FoundComment| {
            c.offset <= self.prev_end || !self.input[self.prev_end..c.offset].contains('\n')
        };
        if comments
            .first()
            .is_some_and(|c| c.trailing && on_previous_line(c))
            && self.last != Last::Nothing
        {
            let first = comments.remove(0);
            self.place_trailing(first);
        }
        comments
    }

    /// Comments before a node go into the innermost open collection, before it.
    fn place_before_node(&mut self, comments: Vec<FoundComment>) {
        for c in comments {
            match self.frames.last_mut() {
                Some(top) => top.push_comment(plain(c)),
                None => self.doc_comments().push(Item::Comment(plain(c))),
            }
        }
    }

    /// Comments that came before the document's root node, kept until it exists.
    fn doc_comments(&mut self) -> &mut Vec<Item> {
        &mut self.doc.get_or_insert_with(Map::new).items
    }

    fn place_pending_at_document_end(&mut self) {
        let comments = self.take_own_line_comments();
        for c in comments {
            self.doc_comments().push(Item::Comment(plain(c)));
        }
    }

    fn open(&mut self, span: Span, anchor: usize, kind: FrameKind) -> Result<(), StoreError> {
        if let Some(Frame {
            kind: FrameKind::Map {
                pending_key: None, ..
            },
            ..
        }) = self.frames.last()
        {
            return Err(StoreError::Shape {
                path: self.path(),
                message: "Tree contains a non-string key (collection key)".into(),
            });
        }
        let mut comments = self.take_own_line_comments();
        let event_start = self.positions.byte(span.start.index());
        // In a list, comments before the item's `-` belong to the list itself.
        if matches!(
            self.frames.last(),
            Some(Frame {
                kind: FrameKind::Seq(_),
                ..
            })
        ) {
            let before_dash = self.comments_before_dash(&comments, event_start);
            let top = self.frames.last_mut().expect("checked above");
            for c in comments.drain(..before_dash) {
                top.push_comment(plain(c));
            }
        }
        if self.frames.len() >= MAX_DEPTH {
            return Err(StoreError::Syntax {
                line: span.start.line(),
                column: span.start.col() + 1,
                message: format!("nesting deeper than {MAX_DEPTH} levels"),
            });
        }
        let is_flow = self
            .input
            .get(self.positions.byte(span.start.index())..)
            .is_some_and(|rest| rest.starts_with('[') || rest.starts_with('{'));
        let mut frame = Frame {
            kind,
            column: if is_flow { 0 } else { span.start.col() },
            anchor,
        };
        if self.frames.is_empty() {
            // Comments before the root mapping belong at its start.
            if let FrameKind::Map { map, .. } = &mut frame.kind {
                if let Some(early) = self.doc.take() {
                    map.items = early.items;
                }
            }
        }
        for c in comments {
            frame.push_comment(plain(c));
        }
        self.frames.push(frame);
        self.last = Last::CollectionStart;
        Ok(())
    }

    /// How many of `comments` come before the last `-` indicator ahead of `to`.
    fn comments_before_dash(&self, comments: &[FoundComment], to: usize) -> usize {
        let line_end = |from: usize| {
            self.input[from..]
                .find('\n')
                .map_or(self.input.len(), |p| from + p)
        };
        let mut count = 0;
        for (i, c) in comments.iter().enumerate() {
            let region_start = line_end(c.offset).min(to);
            let region_end = comments.get(i + 1).map_or(to, |n| n.offset.min(to));
            if self.input[region_start..region_end].contains('-') {
                count = i + 1;
            }
        }
        count
    }

    fn close(&mut self) {
        let comments = self.take_own_line_comments();
        let mut frame = self
            .frames
            .pop()
            .expect("parser balances collection events");
        // Foot comments indented at least as far as the collection stay inside it.
        let inside = comments
            .iter()
            .take_while(|c| c.column >= frame.column)
            .count();
        let mut comments = comments.into_iter();
        for c in comments.by_ref().take(inside) {
            frame.push_comment(plain(c));
        }
        self.pending = comments.collect();

        let value = match frame.kind {
            FrameKind::Map { map, .. } => Value::Map(map),
            FrameKind::Seq(list) => Value::List(list),
        };
        if frame.anchor != 0 {
            let size = node_count(&value);
            self.anchors.insert(frame.anchor, (value.clone(), size));
        }
        if self.frames.is_empty() {
            if let Value::Map(map) = value {
                self.doc = Some(map);
            }
            // Remaining comments are handled at document end, in the root map.
            self.last = Last::CollectionEnd;
            return;
        }
        self.attach(value);
        self.last = Last::CollectionEnd;
    }

    fn on_scalar(
        &mut self,
        text: Cow<'_, str>,
        style: ScalarStyle,
        anchor: usize,
        tag: Option<Cow<'_, Tag>>,
    ) -> Result<(), StoreError> {
        let is_block = matches!(style, ScalarStyle::Literal | ScalarStyle::Folded);
        // A comment after a block scalar's `|`/`>` header belongs to that scalar.
        let header_comment = if is_block {
            let header = find_block_header(self.input, self.prev_end);
            header
                .and_then(|h| self.pending.iter().position(|c| c.trailing && c.offset > h))
                .map(|at| self.pending.remove(at))
        } else {
            None
        };
        let comments = self.take_own_line_comments();

        let Some(top) = self.frames.last_mut() else {
            // A scalar as the whole document: only an empty (null) one is allowed.
            let value = scalar_value(&text, style, tag.as_deref()).map_err(|message| {
                StoreError::Shape {
                    path: String::new(),
                    message,
                }
            })?;
            if value != Value::Null {
                return Err(StoreError::Invalid(
                    "YAML documents that are values are not supported".into(),
                ));
            }
            self.place_before_node(comments);
            self.doc.get_or_insert_with(Map::new);
            return Ok(());
        };

        let awaiting_key = matches!(
            &top.kind,
            FrameKind::Map {
                pending_key: None,
                ..
            }
        );
        if awaiting_key {
            let key =
                scalar_key(&text, style, tag.as_deref()).map_err(|message| StoreError::Shape {
                    path: self.path(),
                    message,
                })?;
            self.place_before_node(comments);
            if let Some(c) = header_comment {
                self.place_before_node(vec![c]);
            }
            let hash = self.key_hasher.hash_one(&key);
            let path_if_dup = {
                let top = self.frames.last_mut().expect("checked above");
                let FrameKind::Map {
                    map,
                    pending_key,
                    keys,
                } = &mut top.kind
                else {
                    unreachable!("awaiting_key implies a map")
                };
                let duplicate = !keys.insert(hash) && map.get(&key).is_some();
                *pending_key = Some(key);
                duplicate
            };
            if path_if_dup {
                return Err(StoreError::Shape {
                    path: self.path(),
                    message: "duplicate key".into(),
                });
            }
            self.last = Last::Key;
            return Ok(());
        }

        let value =
            scalar_value(&text, style, tag.as_deref()).map_err(|message| StoreError::Shape {
                path: self.path(),
                message,
            })?;
        self.place_before_node(comments);
        if let Some(c) = header_comment {
            self.frames
                .last_mut()
                .expect("checked above")
                .push_comment(Comment {
                    text: c.text,
                    inline: true,
                });
        }
        if anchor != 0 {
            self.anchors.insert(anchor, (value.clone(), 1));
        }
        self.attach(value);
        self.last = Last::ScalarValue;
        Ok(())
    }

    fn on_alias(&mut self, id: usize) -> Result<(), StoreError> {
        let comments = self.take_own_line_comments();
        let Some(size) = self.anchors.get(&id).map(|(_, size)| *size) else {
            return Err(StoreError::Shape {
                path: self.path(),
                message: "alias to an anchor that is not complete (recursive alias?)".into(),
            });
        };
        self.expanded += size;
        if self.expanded > MAX_ALIAS_EXPANSION {
            return Err(StoreError::Invalid(format!(
                "aliases expand to more than {MAX_ALIAS_EXPANSION} nodes"
            )));
        }
        let value = self.anchors[&id].0.clone();
        let Some(top) = self.frames.last() else {
            return Err(StoreError::Invalid(
                "YAML documents that are values are not supported".into(),
            ));
        };
        if matches!(
            &top.kind,
            FrameKind::Map {
                pending_key: None,
                ..
            }
        ) {
            return Err(StoreError::Shape {
                path: self.path(),
                message: "aliases cannot be used as keys".into(),
            });
        }
        self.place_before_node(comments);
        self.attach(value);
        self.last = Last::ScalarValue;
        Ok(())
    }

    /// Adds a finished value to the top frame (as the pending key's value or an item).
    fn attach(&mut self, value: Value) {
        let top = self
            .frames
            .last_mut()
            .expect("attach needs an open collection");
        match &mut top.kind {
            FrameKind::Map {
                map, pending_key, ..
            } => {
                let key = pending_key.take().expect("a value follows its key");
                map.items.push(Item::Entry(key, value));
            }
            FrameKind::Seq(list) => list.push(value),
        }
    }

    /// The key path of the node being read, like `["a"]["b"][2]`.
    fn path(&self) -> String {
        let mut path = String::new();
        for frame in &self.frames {
            match &frame.kind {
                FrameKind::Map {
                    pending_key: Some(k),
                    ..
                } => path.push_str(&format!("[{k:?}]")),
                FrameKind::Map { .. } => {}
                FrameKind::Seq(list) => {
                    let index = list
                        .iter()
                        .filter(|v| !matches!(v, Value::Comment(_)))
                        .count();
                    path.push_str(&format!("[{index}]"));
                }
            }
        }
        path
    }
}

/// The `|`/`>` of the block scalar that follows `from` (skipping comments).
fn find_block_header(input: &str, from: usize) -> Option<usize> {
    let bytes = input.as_bytes();
    let mut i = from;
    while i < bytes.len() {
        match bytes[i] {
            b'|' | b'>' => return Some(i),
            b'#' if i == 0 || matches!(bytes[i - 1], b' ' | b'\t' | b'\n' | b'\r') => {
                i = bytes[i..]
                    .iter()
                    .position(|&c| c == b'\n')
                    .map_or(bytes.len(), |p| i + p);
            }
            _ => i += 1,
        }
    }
    None
}

fn plain(c: FoundComment) -> Comment {
    Comment {
        text: c.text,
        inline: false,
    }
}

fn node_count(value: &Value) -> usize {
    match value {
        Value::Map(m) => {
            1 + m
                .items
                .iter()
                .map(|i| match i {
                    Item::Entry(_, v) => node_count(v),
                    Item::Comment(_) => 1,
                })
                .sum::<usize>()
        }
        Value::List(l) => 1 + l.iter().map(node_count).sum::<usize>(),
        _ => 1,
    }
}
