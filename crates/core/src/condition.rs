//! Conditions: a small, safe expression language that decides whether a field is shown or a rule
//! applies, such as `country in ["US", "CA"] and company_size >= 50`.
//!
//! A condition comes from configuration, so it is checked once, when the bundle is compiled:
//! every syntax, name, type and option problem is reported there with a stable code and a byte
//! span, and a condition that compiles can always be evaluated. Evaluation then runs on every
//! keystroke in the browser and on every lead in the Worker, so it never allocates and never
//! panics.
//!
//! The grammar, lowest precedence first:
//!
//! ```text
//! condition  = or ;
//! or         = and { "or" and } ;
//! and        = not { "and" not } ;
//! not        = "not" not | comparison ;
//! comparison = operand [ ( "==" | "!=" | "<" | "<=" | ">" | ">=" ) operand
//!                      | "in" list
//!                      | "contains" operand ] ;
//! operand    = "(" or ")" | "exists" "(" field ")" | field | literal ;
//! list       = "[" [ literal { "," literal } ] "]" ;
//! literal    = number | string | "true" | "false" ;
//! field      = [a-z] { [a-z0-9_-] }     (but not a keyword) ;
//! number     = [ "-" ] digit { digit } [ "." digit { digit } ] ;
//! string     = '"' { any character but '"' or '\' | '\"' | '\\' } '"' ;
//! ```
//!
//! Keywords (`and or not in contains exists true false`) are never field names. Comparisons do
//! not chain: `a < b < c` is a syntax error, because it almost never means what it looks like.
//!
//! Meaning: a comparison, `in` or `contains` that reads an unanswered field is false, so
//! `not (x == 1)` is true when `x` is unanswered. `exists(f)` is true when `f` is answered (for
//! text, with something other than whitespace; for a multi-select, with at least one choice). A
//! yes/no field on its own is a condition. Text compares exactly, case included; `contains` on
//! text looks for a substring and on a multi-select for a choice. Numbers compare as `f64`, and a
//! NaN makes every comparison false. A parenthesized condition compared with `==` or `!=` is
//! compared by its truth value.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use crate::encode::hex;
use crate::{number, text};

/// The longest condition accepted, in bytes. Conditions are written by people; anything longer is
/// a mistake or an attack, and the limit bounds the work of compiling.
pub const MAX_SOURCE_BYTES: usize = 2000;

/// The deepest nesting accepted: each `(` group and each `not` opens one level. The compiler and
/// the evaluator recurse once per level, so this bound protects the stack on hostile configuration.
pub const MAX_DEPTH: usize = 32;

/// Every error code `Condition::compile` can return, for documentation and exhaustive tests.
/// The codes are part of the public contract: never rename one; add a new one instead.
///
/// - `condition.syntax`: the text is not a condition; the message says what was expected.
///   Example: `country ==`.
/// - `condition.unknown_field`: a name that is not a field of the form. Example: `contry == "US"`.
/// - `condition.type_mismatch`: values of different types compared, or an operator used on a type
///   it does not apply to. Example: `company_size == "big"` when `company_size` is a number.
/// - `condition.unknown_option`: a text literal matched against a field with fixed options, when
///   it is not one of them, so the test can never be true. Example: `country == "USA"`.
/// - `condition.not_boolean`: a value where a true-or-false condition is needed. Example:
///   `company_size` on its own.
/// - `condition.too_deep`: more than [`MAX_DEPTH`] nested parentheses and `not`s.
/// - `condition.too_long`: more than [`MAX_SOURCE_BYTES`] bytes.
pub const ERROR_CODES: [&str; 7] = [
    SYNTAX,
    UNKNOWN_FIELD,
    TYPE_MISMATCH,
    UNKNOWN_OPTION,
    NOT_BOOLEAN,
    TOO_DEEP,
    TOO_LONG,
];

/// `condition.bad_compact`: a condition's compact form (see [`Condition::to_compact`]) that cannot
/// be read, or names a field the form does not have. The Worker writes compact forms only from
/// conditions that compiled, so this means the form was not served by it.
pub const BAD_COMPACT: &str = "condition.bad_compact";

const SYNTAX: &str = "condition.syntax";
const UNKNOWN_FIELD: &str = "condition.unknown_field";
const TYPE_MISMATCH: &str = "condition.type_mismatch";
const UNKNOWN_OPTION: &str = "condition.unknown_option";
const NOT_BOOLEAN: &str = "condition.not_boolean";
const TOO_DEEP: &str = "condition.too_deep";
const TOO_LONG: &str = "condition.too_long";

/// The type of a field's answer, as far as conditions are concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValueType {
    /// Free text, or the one choice of a select or radio field.
    Text,
    /// A number, compared as `f64`.
    Number,
    /// A yes/no answer, such as a consent checkbox.
    Bool,
    /// The choices of a multi-select field, each a string.
    List,
}

impl ValueType {
    /// How the type is named in messages, with its article.
    const fn describe(self) -> &'static str {
        match self {
            ValueType::Text => "text",
            ValueType::Number => "a number",
            ValueType::Bool => "true or false",
            ValueType::List => "a multi-select",
        }
    }
}

/// What a condition needs to know about one field: its type, and for select, radio and
/// multi-select fields the options a visitor can choose from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldType<'a> {
    pub ty: ValueType,
    /// The allowed answers, or `None` when any answer is allowed.
    pub options: Option<&'a [String]>,
}

/// One answer, borrowed from wherever the answers are kept.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value<'a> {
    Text(&'a str),
    Number(f64),
    Bool(bool),
    /// The choices of a multi-select field.
    List(&'a [String]),
}

/// Where a condition reads answers from. `None` means the field was not answered.
///
/// An answer whose kind does not fit the field's type is converted when that costs nothing: text
/// is read as a number (surrounding whitespace ignored; anything that is not a finite number
/// counts as unanswered), the texts `true` and `false` as yes/no, and text given for a
/// multi-select as a single choice (blank text as no choice). Any other mismatch counts as
/// unanswered.
pub trait Answers {
    fn get(&self, field: &str) -> Option<Value<'_>>;
}

/// The answers of a checked submission: every answer is text, converted as [`Answers`] describes.
impl Answers for BTreeMap<String, String> {
    fn get(&self, field: &str) -> Option<Value<'_>> {
        BTreeMap::get(self, field).map(|v| Value::Text(v))
    }
}

/// Why a condition was refused, with where: `start..end` is a byte range of the source, always on
/// character boundaries, so `&source[start..end]` is the offending text (empty at the end of the
/// source when something is missing there).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConditionError {
    /// One of [`ERROR_CODES`].
    pub code: &'static str,
    pub message: String,
    pub start: usize,
    pub end: usize,
}

impl fmt::Display for ConditionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}-{}: {} [{}]",
            self.start, self.end, self.message, self.code
        )
    }
}

impl ConditionError {
    fn new(code: &'static str, message: String, span: Span) -> ConditionError {
        ConditionError {
            code,
            message,
            start: span.start,
            end: span.end,
        }
    }

    /// For `condition.unknown_field`, the message with the closest of `names` (the fields the
    /// condition could read) suggested: "the form has no field `contry`; did you mean
    /// `country`?". `source` is the condition the error is about. Any other error is unchanged.
    pub fn suggest_field<'n>(
        mut self,
        source: &str,
        names: impl IntoIterator<Item = &'n str>,
    ) -> ConditionError {
        if self.code == UNKNOWN_FIELD {
            if let Some(name) = source.get(self.start..self.end) {
                self.message
                    .push_str(&crate::suggest::did_you_mean(name, names, '`'));
            }
        }
        self
    }
}

/// A checked condition, ready to evaluate any number of times.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    source: String,
    /// Field ids in order of first appearance; `Kind::Field` and `Kind::Exists` index into it.
    fields: Vec<String>,
    /// The declared type of each field in `fields`, used to convert answers at evaluation.
    types: Vec<ValueType>,
    root: Node,
}

impl Condition {
    /// Parses and type-checks `source`. `fields` tells the type (and allowed options) of each field
    /// id, `None` if the form has no such field. Returns the first problem found. Never panics,
    /// and its recursion is bounded by [`MAX_DEPTH`], whatever the input.
    pub fn compile<'a>(
        source: &str,
        fields: &dyn Fn(&str) -> Option<FieldType<'a>>,
    ) -> Result<Condition, ConditionError> {
        if source.len() > MAX_SOURCE_BYTES {
            let mut start = MAX_SOURCE_BYTES;
            while !source.is_char_boundary(start) {
                start -= 1;
            }
            return Err(ConditionError::new(
                TOO_LONG,
                format!(
                    "a condition can be at most {MAX_SOURCE_BYTES} bytes long; this one is {}",
                    source.len()
                ),
                Span {
                    start,
                    end: source.len(),
                },
            ));
        }
        let tokens = lex(source)?;
        let mut parser = Parser {
            source,
            tokens,
            pos: 0,
            depth: 0,
            fields: Vec::new(),
        };
        let root = parser.condition()?;
        let names = parser.fields;
        let mut checker = Checker {
            source,
            names: &names,
            lookup: fields,
            resolved: vec![None; names.len()],
        };
        let ty = checker.check(&root)?;
        if ty != ValueType::Bool {
            return Err(ConditionError::new(
                NOT_BOOLEAN,
                format!(
                    "a condition must be true or false, but `{}` is {}",
                    root.span.text(source),
                    ty.describe()
                ),
                root.span,
            ));
        }
        // Every field was resolved while checking, or checking would have failed.
        let types = checker
            .resolved
            .iter()
            .map(|r| r.map_or(ValueType::Text, |f| f.ty))
            .collect();
        Ok(Condition {
            source: source.to_owned(),
            fields: names,
            types,
            root,
        })
    }

    /// Field ids the condition reads, in first-appearance order, without duplicates.
    pub fn fields(&self) -> &[String] {
        &self.fields
    }

    /// Evaluates against `answers`. A comparison, `in` or `contains` involving an unanswered field
    /// is false. Never allocates, never panics.
    pub fn eval(&self, answers: &dyn Answers) -> bool {
        self.truth(&self.root, answers)
    }

    /// The text the condition was compiled from.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The condition, compiled, as compact text: what the Worker serves the browser so that the
    /// form module needs no compiler. [`Condition::from_compact`] reads it back into a condition
    /// that evaluates exactly as this one does: the field names, then the syntax tree in prefix
    /// order, numbers as the hexadecimal bits of their `f64`.
    ///
    /// ```text
    /// compact = [ field { "," field } ] ";" node ;
    /// node    = ("|" | "&") count node { node }        (or, and: count operands)
    ///         | "!" node                              (not)
    ///         | ("=" | "~" | "<" | "l" | ">" | "g") node node   (== != < <= > >=)
    ///         | "i" count node { literal }            (in: count literals)
    ///         | "c" node node                         (contains)
    ///         | "e" index | "f" index                 (exists, a field: index into the names)
    ///         | literal ;
    /// literal = "T" | "F" | "#" 16 hex digits | '"' text with `\"` and `\\` escapes '"' ;
    /// ```
    pub fn to_compact(&self) -> String {
        let mut out = self.fields.join(",");
        out.push(';');
        write_compact(&self.root, &mut out);
        out
    }

    /// Reads a condition written by [`Condition::to_compact`], typing its fields with `fields` as
    /// [`Condition::compile`] does; `source` is the text it was compiled from, kept for
    /// [`Condition::source`]. Never panics, and its recursion is bounded, whatever the input.
    pub fn from_compact<'a>(
        compact: &str,
        source: &str,
        fields: &dyn Fn(&str) -> Option<FieldType<'a>>,
    ) -> Result<Condition, ConditionError> {
        let bad = |message: &str| ConditionError {
            code: BAD_COMPACT,
            message: message.to_owned(),
            start: 0,
            end: source.len(),
        };
        let (names, tree) =
            text::split_first(compact, b';').ok_or_else(|| bad("not a compiled condition"))?;
        let names: Vec<String> = if names.is_empty() {
            Vec::new()
        } else {
            text::split_all(names, b',').map(str::to_owned).collect()
        };
        let mut types = Vec::with_capacity(names.len());
        for name in &names {
            let field =
                fields(name).ok_or_else(|| bad("it reads a field the form does not have"))?;
            types.push(field.ty);
        }
        let mut reader = Compact {
            text: tree,
            bytes: tree.as_bytes(),
            pos: 0,
            fields: names.len(),
        };
        let root = reader
            .node(0)
            .filter(|_| reader.pos == reader.bytes.len())
            .ok_or_else(|| bad("its compiled form cannot be read"))?;
        Ok(Condition {
            source: source.to_owned(),
            fields: names,
            types,
            root,
        })
    }

    fn truth(&self, node: &Node, answers: &dyn Answers) -> bool {
        match &node.kind {
            Kind::Or(children) => children.iter().any(|c| self.truth(c, answers)),
            Kind::And(children) => children.iter().all(|c| self.truth(c, answers)),
            Kind::Not(inner) => !self.truth(inner, answers),
            Kind::Compare(op, left, right) => {
                match (self.value(left, answers), self.value(right, answers)) {
                    (Some(l), Some(r)) => compare(*op, l, r),
                    _ => false,
                }
            }
            Kind::In(left, items) => self
                .value(left, answers)
                .is_some_and(|l| items.iter().any(|(item, _)| compare(Op::Eq, l, item.val()))),
            Kind::Contains(left, right) => {
                match (self.value(left, answers), self.value(right, answers)) {
                    (Some(Val::List(choices)), Some(Val::Text(s))) => {
                        choices.iter().any(|c| c == s)
                    }
                    (Some(Val::One(choice)), Some(Val::Text(s))) => choice == s,
                    (Some(Val::Text(haystack)), Some(Val::Text(s))) => {
                        text::find(haystack, s).is_some()
                    }
                    _ => false,
                }
            }
            Kind::Exists(index, _) => self
                .fields
                .get(*index)
                .and_then(|name| answers.get(name))
                .is_some_and(|v| match v {
                    Value::Text(s) => !s.trim().is_empty(),
                    Value::List(choices) => !choices.is_empty(),
                    Value::Number(_) | Value::Bool(_) => true,
                }),
            Kind::Field(_) | Kind::Literal(_) => {
                matches!(self.value(node, answers), Some(Val::Bool(true)))
            }
        }
    }

    /// The value of an operand, or `None` when it reads an unanswered (or unusable) answer.
    fn value<'v>(&'v self, node: &'v Node, answers: &'v dyn Answers) -> Option<Val<'v>> {
        match &node.kind {
            Kind::Field(index) => {
                let name = self.fields.get(*index)?;
                let ty = self.types.get(*index)?;
                convert(answers.get(name)?, *ty)
            }
            Kind::Literal(literal) => Some(literal.val()),
            _ => Some(Val::Bool(self.truth(node, answers))),
        }
    }
}

/// A value during evaluation, after conversion to the field's declared type.
#[derive(Debug, Clone, Copy)]
enum Val<'v> {
    Text(&'v str),
    Number(f64),
    Bool(bool),
    List(&'v [String]),
    /// A multi-select answered with a single text instead of a list.
    One(&'v str),
}

/// Converts an answer to the field's declared type, as [`Answers`] documents.
fn convert(value: Value<'_>, ty: ValueType) -> Option<Val<'_>> {
    match (value, ty) {
        (Value::Text(s), ValueType::Text) => Some(Val::Text(s)),
        (Value::Number(n), ValueType::Number) => Some(Val::Number(n)),
        (Value::Text(s), ValueType::Number) => number::parse_finite(s.trim()).map(Val::Number),
        (Value::Bool(b), ValueType::Bool) => Some(Val::Bool(b)),
        (Value::Text("true"), ValueType::Bool) => Some(Val::Bool(true)),
        (Value::Text("false"), ValueType::Bool) => Some(Val::Bool(false)),
        (Value::List(choices), ValueType::List) => Some(Val::List(choices)),
        (Value::Text(s), ValueType::List) if s.trim().is_empty() => Some(Val::List(&[])),
        (Value::Text(s), ValueType::List) => Some(Val::One(s)),
        _ => None,
    }
}

/// Applies a comparison. Values of different kinds are never equal; a NaN makes every
/// comparison false, `!=` included, as an unusable answer does.
fn compare(op: Op, left: Val<'_>, right: Val<'_>) -> bool {
    match (left, right) {
        (Val::Number(l), Val::Number(r)) => {
            if l.is_nan() || r.is_nan() {
                return false;
            }
            match op {
                Op::Eq => l == r,
                Op::Ne => l != r,
                Op::Lt => l < r,
                Op::Le => l <= r,
                Op::Gt => l > r,
                Op::Ge => l >= r,
            }
        }
        (Val::Text(l), Val::Text(r)) => match op {
            Op::Eq => l == r,
            Op::Ne => l != r,
            _ => false,
        },
        (Val::Bool(l), Val::Bool(r)) => match op {
            Op::Eq => l == r,
            Op::Ne => l != r,
            _ => false,
        },
        _ => false,
    }
}

/// Appends `node` in the compact form [`Condition::to_compact`] describes.
fn write_compact(node: &Node, out: &mut String) {
    let count = |n: usize, out: &mut String| out.push_str(&n.to_string());
    match &node.kind {
        Kind::Or(children) | Kind::And(children) => {
            out.push(if matches!(node.kind, Kind::Or(_)) {
                '|'
            } else {
                '&'
            });
            count(children.len(), out);
            for child in children {
                write_compact(child, out);
            }
        }
        Kind::Not(inner) => {
            out.push('!');
            write_compact(inner, out);
        }
        Kind::Compare(op, left, right) => {
            out.push(op.compact());
            write_compact(left, out);
            write_compact(right, out);
        }
        Kind::In(left, items) => {
            out.push('i');
            count(items.len(), out);
            write_compact(left, out);
            for (item, _) in items {
                write_literal(item, out);
            }
        }
        Kind::Contains(left, right) => {
            out.push('c');
            write_compact(left, out);
            write_compact(right, out);
        }
        Kind::Exists(index, _) => {
            out.push('e');
            count(*index, out);
        }
        Kind::Field(index) => {
            out.push('f');
            count(*index, out);
        }
        Kind::Literal(literal) => write_literal(literal, out),
    }
}

fn write_literal(literal: &Literal, out: &mut String) {
    match literal {
        Literal::Bool(true) => out.push('T'),
        Literal::Bool(false) => out.push('F'),
        Literal::Number(n) => {
            out.push('#');
            out.push_str(&hex(&n.to_bits().to_be_bytes()));
        }
        Literal::Text(text) => {
            out.push('"');
            for c in text.chars() {
                if c == '"' || c == '\\' {
                    out.push('\\');
                }
                out.push(c);
            }
            out.push('"');
        }
    }
}

/// How deep a compact tree may nest: each `(` or `not` of the source (at most [`MAX_DEPTH`])
/// adds at most four levels (or, and, not or comparison, operand).
const MAX_COMPACT_DEPTH: usize = 4 * MAX_DEPTH + 8;

/// Reads the syntax tree of a compact condition; `None` as soon as something does not fit.
struct Compact<'c> {
    text: &'c str,
    bytes: &'c [u8],
    pos: usize,
    /// How many field names the condition has, so that every index is checked.
    fields: usize,
}

/// Where nodes read from compact text are: nowhere in the source.
const NO_SPAN: Span = Span { start: 0, end: 0 };

impl Compact<'_> {
    fn byte(&mut self) -> Option<u8> {
        let b = *self.bytes.get(self.pos)?;
        self.pos += 1;
        Some(b)
    }

    /// A decimal count or index.
    fn count(&mut self) -> Option<usize> {
        let start = self.pos;
        let mut n: usize = 0;
        while let Some(&b @ b'0'..=b'9') = self.bytes.get(self.pos) {
            n = n.checked_mul(10)?.checked_add(usize::from(b - b'0'))?;
            self.pos += 1;
        }
        (self.pos > start).then_some(n)
    }

    fn index(&mut self) -> Option<usize> {
        self.count().filter(|&i| i < self.fields)
    }

    fn node(&mut self, depth: usize) -> Option<Node> {
        if depth > MAX_COMPACT_DEPTH {
            return None;
        }
        let child = |reader: &mut Self| reader.node(depth + 1).map(Box::new);
        let kind = match *self.bytes.get(self.pos)? {
            tag @ (b'|' | b'&') => {
                self.pos += 1;
                let n = self.count()?;
                let mut children = Vec::new();
                for _ in 0..n {
                    children.push(self.node(depth + 1)?);
                }
                if tag == b'|' {
                    Kind::Or(children)
                } else {
                    Kind::And(children)
                }
            }
            b'!' => {
                self.pos += 1;
                Kind::Not(child(self)?)
            }
            b'i' => {
                self.pos += 1;
                let n = self.count()?;
                let left = child(self)?;
                let mut items = Vec::new();
                for _ in 0..n {
                    items.push((self.literal()?, NO_SPAN));
                }
                Kind::In(left, items)
            }
            b'c' => {
                self.pos += 1;
                Kind::Contains(child(self)?, child(self)?)
            }
            b'e' => {
                self.pos += 1;
                Kind::Exists(self.index()?, NO_SPAN)
            }
            b'f' => {
                self.pos += 1;
                Kind::Field(self.index()?)
            }
            b => match Op::from_compact(b) {
                Some(op) => {
                    self.pos += 1;
                    Kind::Compare(op, child(self)?, child(self)?)
                }
                None => Kind::Literal(self.literal()?),
            },
        };
        Some(Node {
            kind,
            span: NO_SPAN,
        })
    }

    fn literal(&mut self) -> Option<Literal> {
        Some(match self.byte()? {
            b'T' => Literal::Bool(true),
            b'F' => Literal::Bool(false),
            b'#' => {
                let hex = self.bytes.get(self.pos..self.pos + 16)?;
                self.pos += 16;
                let mut bits: u64 = 0;
                for &h in hex {
                    bits = bits << 4 | u64::from(char::from(h).to_digit(16)?);
                }
                Literal::Number(f64::from_bits(bits))
            }
            b'"' => {
                // Text is copied in runs between the escapes; every cut is next to an ASCII byte,
                // so on a character boundary.
                let mut text = String::new();
                let mut run = self.pos;
                loop {
                    match self.byte()? {
                        b'"' => break,
                        b'\\' => {
                            text.push_str(self.text.get(run..self.pos - 1)?);
                            run = self.pos;
                            self.byte()?;
                        }
                        _ => {}
                    }
                }
                text.push_str(self.text.get(run..self.pos - 1)?);
                Literal::Text(text)
            }
            _ => return None,
        })
    }
}

/// A byte range of the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Span {
    start: usize,
    end: usize,
}

impl Span {
    fn to(self, other: Span) -> Span {
        Span {
            start: self.start,
            end: other.end,
        }
    }

    fn text(self, source: &str) -> &str {
        source.get(self.start..self.end).unwrap_or("")
    }
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Op {
    const fn symbol(self) -> &'static str {
        match self {
            Op::Eq => "==",
            Op::Ne => "!=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
        }
    }

    /// The operator's one character in compact conditions.
    const fn compact(self) -> char {
        match self {
            Op::Eq => '=',
            Op::Ne => '~',
            Op::Lt => '<',
            Op::Le => 'l',
            Op::Gt => '>',
            Op::Ge => 'g',
        }
    }

    fn from_compact(b: u8) -> Option<Op> {
        [Op::Eq, Op::Ne, Op::Lt, Op::Le, Op::Gt, Op::Ge]
            .into_iter()
            .find(|op| op.compact() == char::from(b))
    }

    const fn orders(self) -> bool {
        matches!(self, Op::Lt | Op::Le | Op::Gt | Op::Ge)
    }
}

/// A literal value written in the condition.
#[derive(Debug, Clone, PartialEq)]
enum Literal {
    Text(String),
    Number(f64),
    Bool(bool),
}

impl Literal {
    fn val(&self) -> Val<'_> {
        match self {
            Literal::Text(s) => Val::Text(s),
            Literal::Number(n) => Val::Number(*n),
            Literal::Bool(b) => Val::Bool(*b),
        }
    }

    const fn ty(&self) -> ValueType {
        match self {
            Literal::Text(_) => ValueType::Text,
            Literal::Number(_) => ValueType::Number,
            Literal::Bool(_) => ValueType::Bool,
        }
    }
}

/// One node of the syntax tree, with its span for error messages.
#[derive(Debug, Clone, PartialEq)]
struct Node {
    kind: Kind,
    span: Span,
}

/// `and` and `or` hold all their operands in one node, so a long chain stays one level deep.
#[derive(Debug, Clone, PartialEq)]
enum Kind {
    Or(Vec<Node>),
    And(Vec<Node>),
    Not(Box<Node>),
    Compare(Op, Box<Node>, Box<Node>),
    In(Box<Node>, Vec<(Literal, Span)>),
    Contains(Box<Node>, Box<Node>),
    /// The field index and the span of its name.
    Exists(usize, Span),
    Field(usize),
    Literal(Literal),
}

/// What the lexer produces.
#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Number(f64),
    Text(String),
    Ident,
    And,
    Or,
    Not,
    In,
    Contains,
    Exists,
    True,
    False,
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    Cmp(Op),
    End,
}

#[derive(Debug, Clone, PartialEq)]
struct Token {
    tok: Tok,
    span: Span,
}

fn syntax(message: String, start: usize, end: usize) -> ConditionError {
    ConditionError::new(SYNTAX, message, Span { start, end })
}

/// Splits the source into tokens. Every position it slices at is the position of an ASCII byte or
/// the end of the source, so every slice is on a character boundary.
fn lex(source: &str) -> Result<Vec<Token>, ConditionError> {
    let bytes = source.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let start = i;
        let tok = match b {
            b' ' | b'\t' | b'\n' | b'\r' => {
                i += 1;
                continue;
            }
            b'(' => single(&mut i, Tok::LParen),
            b')' => single(&mut i, Tok::RParen),
            b'[' => single(&mut i, Tok::LBracket),
            b']' => single(&mut i, Tok::RBracket),
            b',' => single(&mut i, Tok::Comma),
            b'=' | b'!' | b'<' | b'>' => {
                let followed_by_eq = bytes.get(i + 1) == Some(&b'=');
                i += if followed_by_eq { 2 } else { 1 };
                match (b, followed_by_eq) {
                    (b'=', true) => Tok::Cmp(Op::Eq),
                    (b'!', true) => Tok::Cmp(Op::Ne),
                    (b'<', true) => Tok::Cmp(Op::Le),
                    (b'>', true) => Tok::Cmp(Op::Ge),
                    (b'<', false) => Tok::Cmp(Op::Lt),
                    (b'>', false) => Tok::Cmp(Op::Gt),
                    (b'=', false) => {
                        return Err(syntax(
                            "unexpected `=`; compare with `==`".to_owned(),
                            start,
                            i,
                        ))
                    }
                    _ => {
                        return Err(syntax(
                            "unexpected `!`; negate with `not`, or compare with `!=`".to_owned(),
                            start,
                            i,
                        ))
                    }
                }
            }
            b'"' => lex_string(source, &mut i)?,
            b'-' | b'0'..=b'9' => lex_number(source, &mut i)?,
            b'a'..=b'z' => {
                while bytes
                    .get(i)
                    .is_some_and(|&c| matches!(c, b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-'))
                {
                    i += 1;
                }
                match source.get(start..i).unwrap_or("") {
                    "and" => Tok::And,
                    "or" => Tok::Or,
                    "not" => Tok::Not,
                    "in" => Tok::In,
                    "contains" => Tok::Contains,
                    "exists" => Tok::Exists,
                    "true" => Tok::True,
                    "false" => Tok::False,
                    _ => Tok::Ident,
                }
            }
            _ => {
                let c = source.get(start..).and_then(|s| s.chars().next());
                let len = c.map_or(1, char::len_utf8);
                let hint = match b {
                    b'A'..=b'Z' => "; field names are lowercase",
                    b'&' => "; join conditions with `and`",
                    b'|' => "; join conditions with `or`",
                    b'\'' => "; text goes in double quotes",
                    _ => "",
                };
                // Control characters are shown escaped; anything else as written.
                let shown = c.map_or(String::new(), |c| {
                    if c.is_control() {
                        c.escape_debug().to_string()
                    } else {
                        c.to_string()
                    }
                });
                return Err(syntax(
                    format!("unexpected character `{shown}`{hint}"),
                    start,
                    start + len,
                ));
            }
        };
        tokens.push(Token {
            tok,
            span: Span { start, end: i },
        });
    }
    tokens.push(Token {
        tok: Tok::End,
        span: Span {
            start: source.len(),
            end: source.len(),
        },
    });
    Ok(tokens)
}

fn single(i: &mut usize, tok: Tok) -> Tok {
    *i += 1;
    tok
}

/// Reads a string literal starting at the `"` at `*i`. Only `\"` and `\\` are escapes.
fn lex_string(source: &str, i: &mut usize) -> Result<Tok, ConditionError> {
    let bytes = source.as_bytes();
    let start = *i;
    let mut text = String::new();
    // The start of the run of plain characters not yet copied into `text`.
    let mut run = start + 1;
    let mut j = start + 1;
    loop {
        match bytes.get(j) {
            None => {
                return Err(syntax(
                    "unterminated text: expected a closing `\"`".to_owned(),
                    start,
                    source.len(),
                ))
            }
            Some(b'"') => {
                text.push_str(source.get(run..j).unwrap_or(""));
                *i = j + 1;
                return Ok(Tok::Text(text));
            }
            Some(b'\\') => {
                text.push_str(source.get(run..j).unwrap_or(""));
                match bytes.get(j + 1) {
                    Some(&escaped @ (b'"' | b'\\')) => {
                        text.push(char::from(escaped));
                        j += 2;
                        run = j;
                    }
                    _ => {
                        let next = source.get(j + 1..).and_then(|s| s.chars().next());
                        return Err(syntax(
                            "unknown escape: inside text only `\\\"` and `\\\\` are allowed"
                                .to_owned(),
                            j,
                            j + 1 + next.map_or(0, char::len_utf8),
                        ));
                    }
                }
            }
            Some(_) => j += 1,
        }
    }
}

/// Reads a number starting at `*i`: an optional `-`, digits, and optionally `.` and more digits.
fn lex_number(source: &str, i: &mut usize) -> Result<Tok, ConditionError> {
    let bytes = source.as_bytes();
    let start = *i;
    let digits = |from: usize| {
        let mut to = from;
        while bytes.get(to).is_some_and(u8::is_ascii_digit) {
            to += 1;
        }
        to
    };
    let mut j = start;
    if bytes.get(j) == Some(&b'-') {
        j += 1;
    }
    let after_int = digits(j);
    if after_int == j {
        return Err(syntax(
            "expected a number after `-`".to_owned(),
            start,
            start + 1,
        ));
    }
    j = after_int;
    if bytes.get(j) == Some(&b'.') {
        let after_frac = digits(j + 1);
        if after_frac == j + 1 {
            return Err(syntax(
                "expected digits after the decimal point".to_owned(),
                start,
                j + 1,
            ));
        }
        j = after_frac;
    }
    let text = source.get(start..j).unwrap_or("");
    match number::parse_finite(text) {
        Some(n) => {
            *i = j;
            Ok(Tok::Number(n))
        }
        None => Err(syntax("this number is too large".to_owned(), start, j)),
    }
}

/// A recursive-descent parser over the tokens. `depth` counts the open `(` groups and `not`s.
struct Parser<'s> {
    source: &'s str,
    tokens: Vec<Token>,
    pos: usize,
    depth: usize,
    fields: Vec<String>,
}

const END_TOKEN: Token = Token {
    tok: Tok::End,
    span: Span { start: 0, end: 0 },
};

impl Parser<'_> {
    fn peek(&self) -> &Token {
        // The last token is always `End` and is never consumed, so `pos` stays in range; the
        // fallback only keeps this panic-free.
        self.tokens.get(self.pos).unwrap_or(&END_TOKEN)
    }

    fn next(&mut self) -> Token {
        let token = self.peek().clone();
        if token.tok != Tok::End {
            self.pos += 1;
        }
        token
    }

    /// Describes a token for "found ..." in messages.
    fn describe(&self, token: &Token) -> String {
        match token.tok {
            Tok::End => "the end of the condition".to_owned(),
            Tok::Text(_) => "a text value".to_owned(),
            Tok::Number(_) => "a number".to_owned(),
            Tok::Ident => format!("field `{}`", token.span.text(self.source)),
            _ => format!("`{}`", token.span.text(self.source)),
        }
    }

    fn expected(&self, what: &str) -> ConditionError {
        self.expected_because(what, "")
    }

    /// Like `expected`, with a hint after the "found" part when the hint is not empty.
    fn expected_because(&self, what: &str, hint: &str) -> ConditionError {
        let token = self.peek();
        let separator = if hint.is_empty() { "" } else { "; " };
        ConditionError::new(
            SYNTAX,
            format!(
                "expected {what}, found {}{separator}{hint}",
                self.describe(token)
            ),
            token.span,
        )
    }

    /// Opens one nesting level at `token`, or refuses.
    fn enter(&mut self, token: &Token) -> Result<(), ConditionError> {
        if self.depth >= MAX_DEPTH {
            return Err(ConditionError::new(
                TOO_DEEP,
                format!("conditions can nest at most {MAX_DEPTH} levels of parentheses and `not`"),
                token.span,
            ));
        }
        self.depth += 1;
        Ok(())
    }

    fn condition(&mut self) -> Result<Node, ConditionError> {
        if self.peek().tok == Tok::End {
            return Err(self.expected("a condition"));
        }
        let node = self.or()?;
        match self.peek().tok {
            Tok::End => Ok(node),
            Tok::RParen => Err(self.expected_because(
                "`and`, `or` or the end of the condition",
                "this `)` has no matching `(`",
            )),
            _ => Err(self.expected("`and`, `or` or the end of the condition")),
        }
    }

    fn or(&mut self) -> Result<Node, ConditionError> {
        let mut children = vec![self.and()?];
        while self.peek().tok == Tok::Or {
            self.next();
            children.push(self.and()?);
        }
        Ok(join(children, Kind::Or))
    }

    fn and(&mut self) -> Result<Node, ConditionError> {
        let mut children = vec![self.not()?];
        while self.peek().tok == Tok::And {
            self.next();
            children.push(self.not()?);
        }
        Ok(join(children, Kind::And))
    }

    fn not(&mut self) -> Result<Node, ConditionError> {
        if self.peek().tok != Tok::Not {
            return self.comparison();
        }
        let token = self.next();
        self.enter(&token)?;
        let inner = self.not()?;
        self.depth -= 1;
        Ok(Node {
            span: token.span.to(inner.span),
            kind: Kind::Not(Box::new(inner)),
        })
    }

    fn comparison(&mut self) -> Result<Node, ConditionError> {
        let left = self.operand()?;
        let node = match self.peek().tok {
            Tok::Cmp(op) => {
                self.next();
                let right = self.operand()?;
                Node {
                    span: left.span.to(right.span),
                    kind: Kind::Compare(op, Box::new(left), Box::new(right)),
                }
            }
            Tok::In => {
                self.next();
                let (items, end) = self.list()?;
                Node {
                    span: left.span.to(end),
                    kind: Kind::In(Box::new(left), items),
                }
            }
            Tok::Contains => {
                self.next();
                let right = self.operand()?;
                Node {
                    span: left.span.to(right.span),
                    kind: Kind::Contains(Box::new(left), Box::new(right)),
                }
            }
            _ => return Ok(left),
        };
        if matches!(self.peek().tok, Tok::Cmp(_) | Tok::In | Tok::Contains) {
            return Err(self.expected_because(
                "`and` or `or`",
                "comparisons do not chain, so write `a < b and b < c`",
            ));
        }
        Ok(node)
    }

    fn operand(&mut self) -> Result<Node, ConditionError> {
        let token = self.peek().clone();
        let kind = match token.tok {
            Tok::LParen => {
                self.next();
                self.enter(&token)?;
                let inner = self.or()?;
                if self.peek().tok != Tok::RParen {
                    return Err(self.expected("`)`"));
                }
                self.next();
                self.depth -= 1;
                return Ok(inner);
            }
            Tok::Exists => {
                self.next();
                if self.peek().tok != Tok::LParen {
                    return Err(self.expected("`(` after `exists`"));
                }
                self.next();
                let name = self.peek().clone();
                if name.tok != Tok::Ident {
                    return Err(self.expected("a field name inside `exists(...)`"));
                }
                self.next();
                if self.peek().tok != Tok::RParen {
                    return Err(self.expected("`)` after the field name"));
                }
                let close = self.next();
                return Ok(Node {
                    kind: Kind::Exists(self.intern(name.span), name.span),
                    span: token.span.to(close.span),
                });
            }
            Tok::Ident => Kind::Field(self.intern(token.span)),
            Tok::Number(n) => Kind::Literal(Literal::Number(n)),
            Tok::Text(ref s) => Kind::Literal(Literal::Text(s.clone())),
            Tok::True => Kind::Literal(Literal::Bool(true)),
            Tok::False => Kind::Literal(Literal::Bool(false)),
            Tok::LBracket => {
                return Err(
                    self.expected_because("a field or a value", "a list can only follow `in`")
                )
            }
            Tok::Not => {
                return Err(self
                    .expected_because("a field or a value", "put `not ...` in parentheses here"))
            }
            _ => return Err(self.expected("a field, a value or `(`")),
        };
        self.next();
        Ok(Node {
            kind,
            span: token.span,
        })
    }

    /// Reads a list literal; returns its items and the span of the closing `]`.
    fn list(&mut self) -> Result<(Vec<(Literal, Span)>, Span), ConditionError> {
        if self.peek().tok != Tok::LBracket {
            return Err(self.expected("a list like `[\"a\", \"b\"]` after `in`"));
        }
        self.next();
        let mut items = Vec::new();
        if self.peek().tok == Tok::RBracket {
            return Ok((items, self.next().span));
        }
        loop {
            let token = self.peek().clone();
            let literal = match token.tok {
                Tok::Number(n) => Literal::Number(n),
                Tok::Text(s) => Literal::Text(s),
                Tok::True => Literal::Bool(true),
                Tok::False => Literal::Bool(false),
                Tok::Ident => {
                    return Err(self.expected_because("a value", "lists hold values, not fields"))
                }
                _ => return Err(self.expected("a value")),
            };
            self.next();
            items.push((literal, token.span));
            match self.peek().tok {
                Tok::Comma => {
                    self.next();
                }
                Tok::RBracket => return Ok((items, self.next().span)),
                _ => return Err(self.expected("`,` or `]`")),
            }
        }
    }

    /// The index of the field named at `span`, added on first appearance.
    fn intern(&mut self, span: Span) -> usize {
        let name = span.text(self.source);
        if let Some(index) = self.fields.iter().position(|f| f == name) {
            return index;
        }
        self.fields.push(name.to_owned());
        self.fields.len() - 1
    }
}

/// One operand stays itself; several become one `and` or `or` node.
fn join(mut children: Vec<Node>, make: fn(Vec<Node>) -> Kind) -> Node {
    if children.len() == 1 {
        if let Some(only) = children.pop() {
            return only;
        }
    }
    let start = children.first().map_or(0, |c| c.span.start);
    let end = children.last().map_or(0, |c| c.span.end);
    Node {
        kind: make(children),
        span: Span { start, end },
    }
}

/// The type checker: resolves each field once, in source order, and checks every operator.
struct Checker<'c, 'a> {
    source: &'c str,
    names: &'c [String],
    lookup: &'c dyn Fn(&str) -> Option<FieldType<'a>>,
    resolved: Vec<Option<FieldType<'a>>>,
}

impl<'a> Checker<'_, 'a> {
    fn field(&mut self, index: usize, span: Span) -> Result<FieldType<'a>, ConditionError> {
        if let Some(Some(known)) = self.resolved.get(index) {
            return Ok(*known);
        }
        let name = self.names.get(index).map_or("", String::as_str);
        let found = (self.lookup)(name).ok_or_else(|| {
            ConditionError::new(
                UNKNOWN_FIELD,
                format!("the form has no field `{name}`"),
                span,
            )
        })?;
        if let Some(slot) = self.resolved.get_mut(index) {
            *slot = Some(found);
        }
        Ok(found)
    }

    fn check(&mut self, node: &Node) -> Result<ValueType, ConditionError> {
        match &node.kind {
            Kind::Or(children) | Kind::And(children) => {
                let word = if matches!(node.kind, Kind::Or(_)) {
                    "or"
                } else {
                    "and"
                };
                for child in children {
                    self.boolean(child, word)?;
                }
                Ok(ValueType::Bool)
            }
            Kind::Not(inner) => {
                self.boolean(inner, "not")?;
                Ok(ValueType::Bool)
            }
            Kind::Compare(op, left, right) => {
                let lt = self.check(left)?;
                let rt = self.check(right)?;
                for (side, ty) in [(left, lt), (right, rt)] {
                    if ty == ValueType::List {
                        return Err(self.mismatch(
                            node.span,
                            format!(
                                "`{}` is a multi-select; test its choices with `contains`",
                                side.span.text(self.source)
                            ),
                        ));
                    }
                }
                if op.orders() && (lt != ValueType::Number || rt != ValueType::Number) {
                    let culprit = if lt == ValueType::Number {
                        (right, rt)
                    } else {
                        (left, lt)
                    };
                    return Err(self.mismatch(
                        node.span,
                        format!(
                            "`{}` compares numbers, but `{}` is {}",
                            op.symbol(),
                            culprit.0.span.text(self.source),
                            culprit.1.describe()
                        ),
                    ));
                }
                self.same_type(node.span, (left, lt), (right, rt))?;
                self.option_of(left, right, false)?;
                self.option_of(right, left, false)?;
                Ok(ValueType::Bool)
            }
            Kind::In(left, items) => {
                let lt = self.check(left)?;
                if lt == ValueType::List {
                    return Err(self.mismatch(
                        node.span,
                        format!(
                            "`{}` is a multi-select; test its choices with `contains`",
                            left.span.text(self.source)
                        ),
                    ));
                }
                if let Some((first, _)) = items.first() {
                    for (item, span) in items {
                        if item.ty() != first.ty() {
                            return Err(self.mismatch(
                                *span,
                                format!(
                                    "a list holds values of one type, but this one is {} and the first is {}",
                                    item.ty().describe(),
                                    first.ty().describe()
                                ),
                            ));
                        }
                    }
                    if first.ty() != lt {
                        return Err(self.mismatch(
                            node.span,
                            format!(
                                "`{}` is {}, but the list holds {}",
                                left.span.text(self.source),
                                lt.describe(),
                                plural(first.ty())
                            ),
                        ));
                    }
                }
                if let Kind::Field(index) = left.kind {
                    for (item, span) in items {
                        if let Literal::Text(text) = item {
                            self.known_option(index, left.span, text, *span, false)?;
                        }
                    }
                }
                Ok(ValueType::Bool)
            }
            Kind::Contains(left, right) => {
                let lt = self.check(left)?;
                let rt = self.check(right)?;
                if lt != ValueType::List && lt != ValueType::Text {
                    return Err(self.mismatch(
                        node.span,
                        format!(
                            "`contains` needs a multi-select or text on its left, but `{}` is {}",
                            left.span.text(self.source),
                            lt.describe()
                        ),
                    ));
                }
                if rt != ValueType::Text {
                    return Err(self.mismatch(
                        node.span,
                        format!(
                            "`contains` needs text on its right, but `{}` is {}",
                            right.span.text(self.source),
                            rt.describe()
                        ),
                    ));
                }
                self.option_of(left, right, lt == ValueType::Text)?;
                Ok(ValueType::Bool)
            }
            Kind::Exists(index, span) => {
                self.field(*index, *span)?;
                Ok(ValueType::Bool)
            }
            Kind::Field(index) => Ok(self.field(*index, node.span)?.ty),
            Kind::Literal(literal) => Ok(literal.ty()),
        }
    }

    /// Checks that `node` is true-or-false, as the operand of `word` needs.
    fn boolean(&mut self, node: &Node, word: &str) -> Result<(), ConditionError> {
        let ty = self.check(node)?;
        if ty == ValueType::Bool {
            return Ok(());
        }
        Err(ConditionError::new(
            NOT_BOOLEAN,
            format!(
                "`{word}` needs a condition that is true or false, but `{}` is {}",
                node.span.text(self.source),
                ty.describe()
            ),
            node.span,
        ))
    }

    fn same_type(
        &self,
        span: Span,
        (left, lt): (&Node, ValueType),
        (right, rt): (&Node, ValueType),
    ) -> Result<(), ConditionError> {
        if lt == rt {
            return Ok(());
        }
        Err(self.mismatch(
            span,
            format!(
                "`{}` is {} but `{}` is {}",
                left.span.text(self.source),
                lt.describe(),
                right.span.text(self.source),
                rt.describe()
            ),
        ))
    }

    /// When `field` is a field with options and `other` a text literal, checks the literal can
    /// match: one of the options, or part of one when `substring`.
    fn option_of(
        &mut self,
        field: &Node,
        other: &Node,
        substring: bool,
    ) -> Result<(), ConditionError> {
        if let (Kind::Field(index), Kind::Literal(Literal::Text(text))) = (&field.kind, &other.kind)
        {
            self.known_option(*index, field.span, text, other.span, substring)?;
        }
        Ok(())
    }

    fn known_option(
        &mut self,
        index: usize,
        field_span: Span,
        text: &str,
        span: Span,
        substring: bool,
    ) -> Result<(), ConditionError> {
        let Some(options) = self.field(index, field_span)?.options else {
            return Ok(());
        };
        let fits = if substring {
            options.iter().any(|o| o.contains(text))
        } else {
            options.iter().any(|o| o == text)
        };
        if fits {
            return Ok(());
        }
        let name = field_span.text(self.source);
        // A long list of options would drown the message; the first few show the pattern.
        let mut list = options
            .iter()
            .take(SHOWN_OPTIONS)
            .map(|o| format!("\"{}\"", o.escape_debug()))
            .collect::<Vec<_>>()
            .join(", ");
        if options.len() > SHOWN_OPTIONS {
            list.push_str(&format!(" and {} more", options.len() - SHOWN_OPTIONS));
        }
        let suggestion = crate::suggest::closest(text, options.iter().map(String::as_str));
        let message = if substring {
            format!("no option of `{name}` contains {}, so this can never be true; its options are {list}", span.text(self.source))
        } else if let Some(option) = suggestion {
            format!(
                "{} is not an option of `{name}`; did you mean \"{}\"?",
                span.text(self.source),
                option.escape_debug()
            )
        } else {
            format!(
                "{} is not an option of `{name}`; its options are {list}",
                span.text(self.source)
            )
        };
        Err(ConditionError::new(UNKNOWN_OPTION, message, span))
    }

    fn mismatch(&self, span: Span, message: String) -> ConditionError {
        ConditionError::new(TYPE_MISMATCH, message, span)
    }
}

/// How many options an `unknown_option` message lists.
const SHOWN_OPTIONS: usize = 10;

/// How a list of values of one type is named in messages.
const fn plural(ty: ValueType) -> &'static str {
    match ty {
        ValueType::Text => "text",
        ValueType::Number => "numbers",
        ValueType::Bool => "true and false",
        ValueType::List => "multi-selects",
    }
}

#[cfg(test)]
mod tests {
    use super::{Condition, FieldType, ValueType, BAD_COMPACT, ERROR_CODES};
    use std::collections::HashSet;

    fn field(name: &str) -> Option<FieldType<'static>> {
        let ty = match name {
            "size" => ValueType::Number,
            "agree" => ValueType::Bool,
            "topics" => ValueType::List,
            "country" | "note" => ValueType::Text,
            _ => return None,
        };
        Some(FieldType { ty, options: None })
    }

    #[test]
    fn compact_forms_read_back_and_read_nothing_else() {
        let sources = [
            r#"country in ["US", "CA"] and size >= 50.5"#,
            r#"not (size < -3 or size == 1.0) or exists(note) and agree"#,
            r#"topics contains "a \"quoted\" \\ text" and (agree == true) != false"#,
            r#"size > 1 and size <= 2 and size != 3 and note contains "ü""#,
            "country in []",
        ];
        for source in sources {
            let condition = Condition::compile(source, &field).unwrap_or_else(|e| panic!("{e}"));
            let compact = condition.to_compact();
            let read = Condition::from_compact(&compact, source, &field);
            assert_eq!(
                read.as_ref().map(Condition::to_compact),
                Ok(compact.clone())
            );
            assert_eq!(read.as_ref().map(|c| c.source()), Ok(source));
            // Cut short or with a byte changed, it is refused or read as another condition, and
            // nothing panics.
            for cut in 0..compact.len() {
                if let Some(prefix) = compact.get(..cut) {
                    assert!(
                        Condition::from_compact(prefix, source, &field).is_err(),
                        "{prefix}"
                    );
                }
                for b in [b'0', b'9', b'f', b'"', b'!', b';', b'|', b'#'] {
                    let mut bytes = compact.clone().into_bytes();
                    bytes[cut] = b;
                    if let Ok(changed) = String::from_utf8(bytes) {
                        let _ = Condition::from_compact(&changed, source, &field);
                    }
                }
            }
        }
        let refused = [
            "",
            ";",
            "size",
            "size;",
            "size;f1",
            "size;f",
            "size;f0f0",
            "nope;f0",
            ";&99999999999999999999999T",
            ";#3ff000000000000",
            ";#3ff000000000000g",
            ";\"open",
            ";i1T",
            ";X",
        ];
        for compact in refused {
            let e = Condition::from_compact(compact, "x", &field).err();
            assert_eq!(e.map(|e| e.code), Some(BAD_COMPACT), "{compact:?}");
        }
        let deep = format!(";{}T", "!".repeat(500));
        assert!(Condition::from_compact(&deep, "", &field).is_err());
    }

    #[test]
    fn codes_are_unique_and_namespaced() {
        let mut seen = HashSet::new();
        for code in ERROR_CODES {
            assert!(seen.insert(code), "duplicate code {code}");
            assert!(code.starts_with("condition."), "{code}");
        }
    }
}
