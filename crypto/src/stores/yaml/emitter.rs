//! A block-style YAML emitter that writes events the way yaml.v3's emitter does
//! (libyaml's state machine with yaml.v3's indentation and comment handling), so
//! the bytes match what sops writes.
//!
//! Only what sops produces is supported: block mappings and sequences, empty ones
//! as `{}`/`[]`, untagged scalars, head/line/foot/tail comments, no anchors.

use super::analysis::{is_break, is_printable, select_style, Style};
use super::nodes::{Event, Scalar, Sink};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum State {
    /// Before the first document.
    StreamStart,
    DocumentStart,
    DocumentContent,
    DocumentEnd,
    FlowSequenceFirstItem,
    FlowMappingFirstKey,
    BlockSequenceFirstItem,
    BlockSequenceItem,
    BlockMappingFirstKey,
    BlockMappingKey,
    BlockMappingSimpleValue,
    BlockMappingValue,
}

/// Where a node sits, as the emitter tracks it.
#[derive(Clone, Copy, Default)]
struct Context {
    simple_key: bool,
}

pub(crate) struct Emitter<'e> {
    /// The event waiting for its successor (needed to spot empty collections).
    buffered: Option<Event<'e>>,
    out: String,
    best_indent: i64,
    state: State,
    states: Vec<State>,
    indent: i64,
    indents: Vec<i64>,
    flow_level: usize,
    column: i64,
    whitespace: bool,
    indention: bool,
    foot_indent: i64,
    context: Context,
    head_comment: String,
    line_comment: String,
    foot_comment: String,
    tail_comment: String,
    key_line_comment: String,
}

impl<'e> Sink<'e> for Emitter<'e> {
    fn event(&mut self, event: Event<'e>) {
        if let Some(previous) = self.buffered.take() {
            self.process(&previous, Some(&event));
        }
        self.buffered = Some(event);
    }
}

/// The next event closes a collection (so the one that just opened is empty).
fn is_end(next: Option<&Event<'_>>) -> bool {
    matches!(
        next,
        Some(Event::SequenceEnd { .. } | Event::MappingEnd { .. })
    )
}

/// `yaml_emitter_check_simple_key`.
fn is_simple_key(event: &Event<'_>, next: Option<&Event<'_>>) -> bool {
    match event {
        Event::Scalar { scalar, .. } => !scalar.analysis.multiline && scalar.value.len() <= 128,
        Event::SequenceStart { .. } | Event::MappingStart { .. } => is_end(next),
        _ => false,
    }
}

impl<'e> Emitter<'e> {
    /// `indent` as yaml.v3's `SetIndent` takes it: values outside 2..=9 become 2.
    /// `capacity`: the expected output size, so the buffer is not regrown (and
    /// copied) a dozen times for a large file.
    pub fn new(indent: usize, capacity: usize) -> Self {
        let best_indent = if (2..=9).contains(&indent) {
            indent as i64
        } else {
            2
        };
        Emitter {
            buffered: None,
            out: String::with_capacity(capacity),
            best_indent,
            state: State::StreamStart,
            states: Vec::new(),
            indent: -1,
            indents: Vec::new(),
            flow_level: 0,
            column: 0,
            whitespace: true,
            indention: true,
            foot_indent: -1,
            context: Context::default(),
            head_comment: String::new(),
            line_comment: String::new(),
            foot_comment: String::new(),
            tail_comment: String::new(),
            key_line_comment: String::new(),
        }
    }

    /// Processes the last event and returns the text.
    pub fn finish(mut self) -> String {
        if let Some(last) = self.buffered.take() {
            self.process(&last, None);
        }
        self.out
    }

    fn process(&mut self, event: &Event<'_>, next: Option<&Event<'_>>) {
        self.take_comments(event);
        self.dispatch(event, next);
    }

    /// `yaml_emitter_analyze_event`: an event's comments replace the pending ones.
    fn take_comments(&mut self, event: &Event<'_>) {
        let set = |slot: &mut String, value: &str| {
            if !value.is_empty() {
                *slot = value.to_string();
            }
        };
        match event {
            Event::MappingStart { head } | Event::SequenceStart { head } => {
                set(&mut self.head_comment, head);
            }
            Event::MappingEnd { tail, line, foot } => {
                set(&mut self.line_comment, line);
                set(&mut self.foot_comment, foot);
                set(&mut self.tail_comment, tail);
            }
            Event::SequenceEnd { line, foot } => {
                set(&mut self.line_comment, line);
                set(&mut self.foot_comment, foot);
            }
            Event::Scalar {
                head, line, foot, ..
            } => {
                set(&mut self.head_comment, head);
                set(&mut self.line_comment, line);
                set(&mut self.foot_comment, foot);
            }
            Event::DocumentStart | Event::DocumentEnd => {}
        }
    }

    fn dispatch(&mut self, event: &Event<'_>, next: Option<&Event<'_>>) {
        match self.state {
            State::StreamStart => self.document_start(true),
            State::DocumentStart => self.document_start(false),
            State::DocumentContent => self.document_content(event, next),
            State::DocumentEnd => self.document_end(),
            State::FlowSequenceFirstItem => self.flow_collection_end('[', ']'),
            State::FlowMappingFirstKey => self.flow_collection_end('{', '}'),
            State::BlockSequenceFirstItem => self.block_sequence_item(event, next, true),
            State::BlockSequenceItem => self.block_sequence_item(event, next, false),
            State::BlockMappingFirstKey => self.block_mapping_key(event, next, true),
            State::BlockMappingKey => self.block_mapping_key(event, next, false),
            State::BlockMappingSimpleValue => self.block_mapping_value(event, next, true),
            State::BlockMappingValue => self.block_mapping_value(event, next, false),
        }
    }

    fn pop_state(&mut self) {
        self.state = self.states.pop().expect("balanced emitter states");
    }

    fn pop_indent(&mut self) {
        self.indent = self.indents.pop().expect("balanced emitter indents");
    }

    fn document_start(&mut self, first: bool) {
        if !first {
            // Only the first document's start is implicit.
            self.write_indent();
            self.write_indicator("---", true, false, false);
            self.write_indent();
        }
        self.state = State::DocumentContent;
    }

    fn document_content(&mut self, event: &Event<'_>, next: Option<&Event<'_>>) {
        self.states.push(State::DocumentEnd);
        self.process_head_comment();
        self.emit_node(event, next, Context::default());
        self.process_line_comment(false);
        self.process_foot_comment();
    }

    fn document_end(&mut self) {
        // yaml.v3 forces a blank line before a document foot comment.
        self.foot_indent = 0;
        self.process_foot_comment();
        self.foot_indent = -1;
        self.write_indent();
        self.state = State::DocumentStart;
    }

    /// Empty collections are the only flow collections sops writes.
    fn flow_collection_end(&mut self, open: char, close: char) {
        self.write_indicator(&open.to_string(), true, true, false);
        self.increase_indent(true, false);
        self.flow_level += 1;
        if open == '{' {
            self.process_head_comment();
        }
        self.flow_level -= 1;
        self.pop_indent();
        if open == '[' && self.column == 0 {
            self.write_indent();
        }
        self.write_indicator(&close.to_string(), false, false, false);
        self.process_line_comment(false);
        self.process_foot_comment();
        self.pop_state();
    }

    fn block_sequence_item(&mut self, event: &Event<'_>, next: Option<&Event<'_>>, first: bool) {
        if first {
            self.increase_indent(false, false);
        }
        if matches!(event, Event::SequenceEnd { .. }) {
            self.pop_indent();
            self.pop_state();
            return;
        }
        self.process_head_comment();
        self.write_indent();
        self.write_indicator("-", true, false, true);
        self.states.push(State::BlockSequenceItem);
        self.emit_node(event, next, Context::default());
        self.process_line_comment(false);
        self.process_foot_comment();
    }

    fn block_mapping_key(&mut self, event: &Event<'_>, next: Option<&Event<'_>>, first: bool) {
        if first {
            self.increase_indent(false, false);
        }
        self.process_head_comment();
        if matches!(event, Event::MappingEnd { .. }) {
            self.pop_indent();
            self.pop_state();
            return;
        }
        self.write_indent();
        if !self.line_comment.is_empty() {
            self.key_line_comment = std::mem::take(&mut self.line_comment);
        }
        if is_simple_key(event, next) {
            self.states.push(State::BlockMappingSimpleValue);
            self.emit_node(event, next, Context { simple_key: true });
        } else {
            self.write_indicator("?", true, false, true);
            self.states.push(State::BlockMappingValue);
            self.emit_node(event, next, Context { simple_key: false });
        }
    }

    fn block_mapping_value(&mut self, event: &Event<'_>, next: Option<&Event<'_>>, simple: bool) {
        if simple {
            self.write_indicator(":", false, false, false);
        } else {
            self.write_indent();
            self.write_indicator(":", true, false, true);
        }
        if !self.key_line_comment.is_empty() {
            match event {
                Event::Scalar { .. } if self.line_comment.is_empty() => {
                    self.line_comment = std::mem::take(&mut self.key_line_comment);
                }
                Event::MappingStart { .. } | Event::SequenceStart { .. } => {
                    std::mem::swap(&mut self.line_comment, &mut self.key_line_comment);
                    self.process_line_comment(false);
                    std::mem::swap(&mut self.line_comment, &mut self.key_line_comment);
                }
                _ => {}
            }
        }
        self.states.push(State::BlockMappingKey);
        self.emit_node(event, next, Context { simple_key: false });
        self.process_line_comment(false);
        self.process_foot_comment();
    }

    fn emit_node(&mut self, event: &Event<'_>, next: Option<&Event<'_>>, context: Context) {
        self.context = context;
        match event {
            Event::Scalar { scalar, .. } => self.emit_scalar(scalar),
            Event::SequenceStart { .. } => {
                self.state = if self.flow_level > 0 || is_end(next) {
                    State::FlowSequenceFirstItem
                } else {
                    State::BlockSequenceFirstItem
                };
            }
            Event::MappingStart { .. } => {
                self.state = if self.flow_level > 0 || is_end(next) {
                    State::FlowMappingFirstKey
                } else {
                    State::BlockMappingFirstKey
                };
            }
            _ => unreachable!("nodes.rs produces well-formed event streams"),
        }
    }

    fn emit_scalar(&mut self, scalar: &Scalar<'_>) {
        let style = select_style(
            scalar.style,
            &scalar.analysis,
            self.context.simple_key,
            scalar.value.is_empty(),
        );
        let parent_indent = self.indent.max(0);
        self.increase_indent(true, false);
        // yaml.v3's best width is unlimited, so scalars are never wrapped.
        match style {
            Style::Plain => self.write_plain(&scalar.value),
            Style::SingleQuoted => self.write_single_quoted(&scalar.value),
            Style::DoubleQuoted => self.write_double_quoted(&scalar.value),
            Style::Literal => self.write_literal(&scalar.value, self.indent - parent_indent),
        }
        self.pop_indent();
        self.pop_state();
    }

    fn increase_indent(&mut self, flow: bool, indentless: bool) {
        self.indents.push(self.indent);
        if self.indent < 0 {
            self.indent = if flow { self.best_indent } else { 0 };
        } else if !indentless {
            if self.states.last() == Some(&State::BlockSequenceItem) {
                // The first indent inside a sequence item just skips the "- ".
                self.indent += 2;
            } else {
                self.indent =
                    self.best_indent * ((self.indent + self.best_indent) / self.best_indent);
            }
        }
    }

    // ---- comments ----

    fn process_head_comment(&mut self) {
        if !self.tail_comment.is_empty() {
            self.write_indent();
            let tail = std::mem::take(&mut self.tail_comment);
            self.write_comment(&tail);
            self.foot_indent = self.indent.max(0);
        }
        if self.head_comment.is_empty() {
            return;
        }
        self.write_indent();
        let head = std::mem::take(&mut self.head_comment);
        self.write_comment(&head);
    }

    fn process_line_comment(&mut self, linebreak: bool) {
        if self.line_comment.is_empty() {
            if linebreak {
                self.put_break();
            }
            return;
        }
        if !self.whitespace {
            self.put(' ');
        }
        let line = std::mem::take(&mut self.line_comment);
        self.write_comment(&line);
    }

    fn process_foot_comment(&mut self) {
        if self.foot_comment.is_empty() {
            return;
        }
        self.write_indent();
        let foot = std::mem::take(&mut self.foot_comment);
        self.write_comment(&foot);
        self.foot_indent = self.indent.max(0);
    }

    fn write_comment(&mut self, comment: &str) {
        let mut breaks = false;
        let mut pound = false;
        for c in comment.chars() {
            if is_break(c) {
                self.write_break(c);
                breaks = true;
                pound = false;
            } else {
                if breaks {
                    self.write_indent();
                }
                if !pound {
                    if c != '#' {
                        self.put('#');
                        self.put(' ');
                    }
                    pound = true;
                }
                self.put(c);
                self.indention = false;
                breaks = false;
            }
        }
        if !breaks {
            self.put_break();
        }
        self.whitespace = true;
    }

    // ---- low-level writing ----

    fn put(&mut self, c: char) {
        self.out.push(c);
        self.column += 1;
    }

    /// Writes text without line breaks.
    fn put_str(&mut self, text: &str) {
        self.out.push_str(text);
        self.column += if text.is_ascii() {
            text.len()
        } else {
            text.chars().count()
        } as i64;
    }

    fn put_break(&mut self) {
        self.out.push('\n');
        self.column = 0;
        self.indention = true;
    }

    fn write_break(&mut self, c: char) {
        if c == '\n' {
            self.put_break();
        } else {
            self.out.push(c);
            self.column = 0;
            self.indention = true;
        }
    }

    fn write_indent(&mut self) {
        let indent = self.indent.max(0);
        if !self.indention || self.column > indent || (self.column == indent && !self.whitespace) {
            self.put_break();
        }
        if self.foot_indent == indent {
            self.put_break();
        }
        const SPACES: &str = "                                                                ";
        while self.column < indent {
            let n = ((indent - self.column) as usize).min(SPACES.len());
            self.out.push_str(&SPACES[..n]);
            self.column += n as i64;
        }
        self.whitespace = true;
        self.foot_indent = -1;
    }

    fn write_indicator(
        &mut self,
        indicator: &str,
        need_whitespace: bool,
        is_whitespace: bool,
        is_indention: bool,
    ) {
        if need_whitespace && !self.whitespace {
            self.put(' ');
        }
        for c in indicator.chars() {
            self.put(c);
        }
        self.whitespace = is_whitespace;
        self.indention = self.indention && is_indention;
    }

    fn write_plain(&mut self, value: &str) {
        if !value.is_empty() && !self.whitespace {
            self.put(' ');
        }
        self.put_str(value);
        if !value.is_empty() {
            self.whitespace = false;
        }
        self.indention = false;
    }

    fn write_single_quoted(&mut self, value: &str) {
        self.write_indicator("'", true, false, false);
        let mut breaks = false;
        for c in value.chars() {
            if is_break(c) {
                if !breaks && c == '\n' {
                    self.put_break();
                }
                self.write_break(c);
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                if c == '\'' {
                    self.put('\'');
                }
                self.put(c);
                self.indention = false;
                breaks = false;
            }
        }
        self.write_indicator("'", false, false, false);
        self.whitespace = false;
        self.indention = false;
    }

    fn write_double_quoted(&mut self, value: &str) {
        self.write_indicator("\"", true, false, false);
        for c in value.chars() {
            if !is_printable(c) || c == '\u{FEFF}' || is_break(c) || c == '"' || c == '\\' {
                self.put('\\');
                match c {
                    '\0' => self.put('0'),
                    '\u{7}' => self.put('a'),
                    '\u{8}' => self.put('b'),
                    '\t' => self.put('t'),
                    '\n' => self.put('n'),
                    '\u{b}' => self.put('v'),
                    '\u{c}' => self.put('f'),
                    '\r' => self.put('r'),
                    '\u{1b}' => self.put('e'),
                    '"' => self.put('"'),
                    '\\' => self.put('\\'),
                    '\u{85}' => self.put('N'),
                    '\u{a0}' => self.put('_'),
                    '\u{2028}' => self.put('L'),
                    '\u{2029}' => self.put('P'),
                    _ => {
                        let v = c as u32;
                        let (letter, width) = if v <= 0xFF {
                            ('x', 2)
                        } else if v <= 0xFFFF {
                            ('u', 4)
                        } else {
                            ('U', 8)
                        };
                        self.put(letter);
                        for digit in format!("{v:0width$X}").chars() {
                            self.put(digit);
                        }
                    }
                }
            } else {
                self.put(c);
            }
        }
        self.write_indicator("\"", false, false, false);
        self.whitespace = false;
        self.indention = false;
    }

    fn write_literal(&mut self, value: &str, indent_offset: i64) {
        self.write_indicator("|", true, false, false);
        self.write_block_scalar_hints(value, indent_offset);
        self.process_line_comment(true);
        self.whitespace = true;
        // Literal content never holds breaks other than '\n' (see `string_node_style`).
        for (i, line) in value.split('\n').enumerate() {
            if i > 0 {
                self.put_break();
            }
            if !line.is_empty() {
                self.write_indent();
                self.put_str(line);
                self.indention = false;
            }
        }
    }

    /// The indentation hint is the content's offset from the enclosing block.
    /// yaml.v3 always writes its indent setting here, which is the same number
    /// whenever its output can be read back (in list items it cannot), so this
    /// differs only where yaml.v3 would write a broken block scalar.
    fn write_block_scalar_hints(&mut self, value: &str, indent_offset: i64) {
        let mut chars = value.chars();
        if chars.next().is_some_and(|c| c == ' ' || is_break(c)) {
            let offset = u32::try_from(indent_offset).unwrap_or(0).clamp(1, 9);
            let hint = char::from_digit(offset, 10).expect("clamped to 1..=9");
            self.write_indicator(&hint.to_string(), false, false, false);
        }
        let mut rev = value.chars().rev();
        let chomp = match (rev.next(), rev.next()) {
            (None, _) => Some('-'),
            (Some(last), _) if !is_break(last) => Some('-'),
            (Some(_), None) => Some('+'),
            (Some(_), Some(before)) if is_break(before) => Some('+'),
            _ => None,
        };
        if let Some(chomp) = chomp {
            self.write_indicator(&chomp.to_string(), false, false, false);
        }
    }
}
