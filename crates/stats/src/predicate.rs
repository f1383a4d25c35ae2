//! WHERE clauses: a small parser and evaluator a data provider runs over its own rows before it
//! encodes its answer (seed 001 §4.4: "The DPs execute it locally"; the query example there is
//! `SELECT average(x) FROM y WHERE y.z < 321`).
//!
//! Grammar (keywords in any case; `--` comments are not supported):
//!
//! ```text
//! predicate  := or
//! or         := and ( "OR" and )*
//! and        := not ( "AND" not )*
//! not        := "NOT" not | primary
//! primary    := "(" predicate ")"
//!             | operand cmp operand
//!             | operand [ "NOT" ] "IN" "(" literal ( "," literal )* ")"
//! cmp        := "=" | "!=" | "<>" | "<" | "<=" | ">" | ">="
//! operand    := column | literal
//! literal    := number | string
//! number     := [ "-" ] digits [ "." digits ]
//! string     := "'" ( any character but "'" | "''" )* "'"
//! column     := [A-Za-z_][A-Za-z0-9_]*
//! ```
//!
//! A predicate is type-checked against a [`Schema`] when parsed: both sides of a comparison,
//! and every element of an `IN` list, must be numbers or must both be text. Numbers compare
//! exactly whatever their scales (`bmi > 22.5` on a scale-2 column compares units); text
//! compares byte-wise (so `<` on text is the order of UTF-8 bytes). Errors name the unknown
//! column with the known ones, the mismatched types, or the byte offset of a syntax error; no
//! input makes the parser panic, and nesting deeper than [`MAX_DEPTH`] is a syntax error rather
//! than a stack overflow.

use core::cmp::Ordering;
use core::fmt;

use crate::error::{Error, Result};
use crate::schema::{cmp_units, Decimal, Row, Schema, Value, KEYWORDS};

/// Deepest nesting of parentheses and `NOT`s accepted.
pub const MAX_DEPTH: usize = 64;

/// A comparison operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CmpOp {
    /// `=`
    Eq,
    /// `!=` or `<>`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

impl CmpOp {
    fn holds(self, o: Ordering) -> bool {
        match self {
            CmpOp::Eq => o == Ordering::Equal,
            CmpOp::Ne => o != Ordering::Equal,
            CmpOp::Lt => o == Ordering::Less,
            CmpOp::Le => o != Ordering::Greater,
            CmpOp::Gt => o == Ordering::Greater,
            CmpOp::Ge => o != Ordering::Less,
        }
    }

    fn symbol(self) -> &'static str {
        match self {
            CmpOp::Eq => "=",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }
}

/// A literal of a predicate.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Literal {
    Number(Decimal),
    Text(String),
}

impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Literal::Number(d) => write!(f, "{d}"),
            Literal::Text(t) => write!(f, "'{}'", t.replace('\'', "''")),
        }
    }
}

/// One side of a comparison.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Operand {
    Column {
        index: usize,
        name: String,
        numeric: bool,
    },
    Literal(Literal),
}

impl Operand {
    fn numeric(&self) -> bool {
        match self {
            Operand::Column { numeric, .. } => *numeric,
            Operand::Literal(l) => matches!(l, Literal::Number(_)),
        }
    }
}

impl fmt::Display for Operand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Operand::Column { name, .. } => f.write_str(name),
            Operand::Literal(l) => write!(f, "{l}"),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Expr {
    /// Two or more alternatives (a chain `a OR b OR c` is one node, so long chains stay shallow).
    Or(Vec<Expr>),
    /// Two or more conjuncts.
    And(Vec<Expr>),
    Not(Box<Expr>),
    Cmp(Operand, CmpOp, Operand),
    In {
        operand: Operand,
        list: Vec<Literal>,
        negated: bool,
    },
}

impl fmt::Display for Expr {
    /// Fully parenthesized, so that parsing the text gives back the same tree.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Or(v) => join(f, v, " OR "),
            Expr::And(v) => join(f, v, " AND "),
            Expr::Not(a) => write!(f, "(NOT {a})"),
            Expr::Cmp(l, op, r) => write!(f, "{l} {} {r}", op.symbol()),
            Expr::In {
                operand,
                list,
                negated,
            } => {
                write!(f, "{operand} {}IN (", if *negated { "NOT " } else { "" })?;
                for (i, l) in list.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{l}")?;
                }
                f.write_str(")")
            }
        }
    }
}

fn join(f: &mut fmt::Formatter<'_>, v: &[Expr], sep: &str) -> fmt::Result {
    f.write_str("(")?;
    for (i, e) in v.iter().enumerate() {
        if i > 0 {
            f.write_str(sep)?;
        }
        write!(f, "{e}")?;
    }
    f.write_str(")")
}

/// A parsed, type-checked WHERE clause.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Predicate {
    expr: Expr,
    arity: usize,
}

impl fmt::Display for Predicate {
    /// A canonical, fully parenthesized text that parses back to the same predicate.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.expr)
    }
}

impl Predicate {
    /// Parses and type-checks `text` against `schema`.
    pub fn parse(text: &str, schema: &Schema) -> Result<Predicate> {
        let tokens = lex(text)?;
        let mut p = Parser {
            tokens,
            pos: 0,
            end: text.len(),
            schema,
            depth: 0,
        };
        let expr = p.or()?;
        if let Some(t) = p.tokens.get(p.pos) {
            return Err(Error::Syntax {
                position: t.at,
                message: format!("unexpected {} after a complete predicate", t.kind),
            });
        }
        Ok(Predicate {
            expr,
            arity: schema.columns().len(),
        })
    }

    /// Whether `row` satisfies the predicate. The row must belong to the schema the predicate
    /// was parsed against (same number of columns, same types).
    pub fn eval(&self, row: &Row) -> Result<bool> {
        if row.values().len() != self.arity {
            return Err(Error::RowArity {
                expected: self.arity,
                found: row.values().len(),
            });
        }
        eval(&self.expr, row.values())
    }

    /// The rows of `rows` that satisfy the predicate.
    pub fn filter<'a>(&self, rows: &'a [Row]) -> Result<Vec<&'a Row>> {
        let mut out = Vec::new();
        for r in rows {
            if self.eval(r)? {
                out.push(r);
            }
        }
        Ok(out)
    }

    /// The names of the columns the predicate reads, sorted, without repeats.
    pub fn columns(&self) -> Vec<String> {
        fn walk(e: &Expr, out: &mut Vec<String>) {
            let mut operand = |o: &Operand| {
                if let Operand::Column { name, .. } = o {
                    out.push(name.clone());
                }
            };
            match e {
                Expr::Or(v) | Expr::And(v) => v.iter().for_each(|e| walk(e, out)),
                Expr::Not(a) => walk(a, out),
                Expr::Cmp(l, _, r) => {
                    operand(l);
                    operand(r);
                }
                Expr::In { operand: o, .. } => operand(o),
            }
        }
        let mut out = Vec::new();
        walk(&self.expr, &mut out);
        out.sort();
        out.dedup();
        out
    }
}

/// A value read for evaluation.
enum Cell<'a> {
    Number(i128, u32),
    Text(&'a str),
}

fn cell<'a>(o: &'a Operand, values: &'a [Value]) -> Result<Cell<'a>> {
    Ok(match o {
        Operand::Literal(Literal::Number(d)) => Cell::Number(i128::from(d.units()), d.scale()),
        Operand::Literal(Literal::Text(t)) => Cell::Text(t),
        Operand::Column {
            index,
            name,
            numeric,
        } => {
            let v = values.get(*index).ok_or(Error::RowArity {
                expected: index + 1,
                found: values.len(),
            })?;
            match (v, numeric) {
                (Value::Integer(i), true) => Cell::Number(i128::from(*i), 0),
                (Value::Decimal(d), true) => Cell::Number(i128::from(d.units()), d.scale()),
                (Value::Text(t), false) => Cell::Text(t),
                (v, _) => {
                    return Err(Error::TypeMismatch {
                        column: name.clone(),
                        expected: if *numeric { "a number" } else { "text" }.into(),
                        found: v.type_name().into(),
                    })
                }
            }
        }
    })
}

fn compare(a: &Cell<'_>, b: &Cell<'_>) -> Option<Ordering> {
    match (a, b) {
        (Cell::Number(x, sx), Cell::Number(y, sy)) => Some(cmp_units(*x, *sx, *y, *sy)),
        (Cell::Text(x), Cell::Text(y)) => Some(x.as_bytes().cmp(y.as_bytes())),
        _ => None,
    }
}

fn mismatch(l: &Operand, r: &impl fmt::Display) -> Error {
    Error::TypeMismatch {
        column: l.to_string(),
        expected: if l.numeric() { "a number" } else { "text" }.into(),
        found: r.to_string(),
    }
}

fn eval(e: &Expr, values: &[Value]) -> Result<bool> {
    Ok(match e {
        Expr::Or(v) => {
            for e in v {
                if eval(e, values)? {
                    return Ok(true);
                }
            }
            false
        }
        Expr::And(v) => {
            for e in v {
                if !eval(e, values)? {
                    return Ok(false);
                }
            }
            true
        }
        Expr::Not(a) => !eval(a, values)?,
        Expr::Cmp(l, op, r) => {
            let o = compare(&cell(l, values)?, &cell(r, values)?).ok_or_else(|| mismatch(l, r))?;
            op.holds(o)
        }
        Expr::In {
            operand,
            list,
            negated,
        } => {
            let c = cell(operand, values)?;
            let mut found = false;
            for lit in list {
                let litc = match lit {
                    Literal::Number(d) => Cell::Number(i128::from(d.units()), d.scale()),
                    Literal::Text(t) => Cell::Text(t),
                };
                if compare(&c, &litc).ok_or_else(|| mismatch(operand, lit))? == Ordering::Equal {
                    found = true;
                    break;
                }
            }
            found != *negated
        }
    })
}

// ---------------------------------------------------------------------------------------------
// Lexer

#[derive(Clone, Debug, PartialEq, Eq)]
enum Kind {
    Ident(String),
    Keyword(&'static str),
    Number(Decimal),
    Text(String),
    Cmp(CmpOp),
    LParen,
    RParen,
    Comma,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Kind::Ident(s) => write!(f, "column `{s}`"),
            Kind::Keyword(k) => write!(f, "keyword {k}"),
            Kind::Number(d) => write!(f, "number {d}"),
            Kind::Text(t) => write!(f, "string '{}'", t.replace('\'', "''")),
            Kind::Cmp(op) => write!(f, "`{}`", op.symbol()),
            Kind::LParen => f.write_str("`(`"),
            Kind::RParen => f.write_str("`)`"),
            Kind::Comma => f.write_str("`,`"),
        }
    }
}

#[derive(Clone, Debug)]
struct Token {
    kind: Kind,
    at: usize,
}

fn lex(text: &str) -> Result<Vec<Token>> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let syntax = |position: usize, message: String| Error::Syntax { position, message };
    while i < bytes.len() {
        let b = bytes[i];
        let at = i;
        let kind = match b {
            b' ' | b'\t' | b'\n' | b'\r' => {
                i += 1;
                continue;
            }
            b'(' => {
                i += 1;
                Kind::LParen
            }
            b')' => {
                i += 1;
                Kind::RParen
            }
            b',' => {
                i += 1;
                Kind::Comma
            }
            b'=' => {
                i += 1;
                Kind::Cmp(CmpOp::Eq)
            }
            b'!' => {
                if bytes.get(i + 1) == Some(&b'=') {
                    i += 2;
                    Kind::Cmp(CmpOp::Ne)
                } else {
                    return Err(syntax(at, "`!` must be followed by `=`".into()));
                }
            }
            b'<' => match bytes.get(i + 1) {
                Some(b'=') => {
                    i += 2;
                    Kind::Cmp(CmpOp::Le)
                }
                Some(b'>') => {
                    i += 2;
                    Kind::Cmp(CmpOp::Ne)
                }
                _ => {
                    i += 1;
                    Kind::Cmp(CmpOp::Lt)
                }
            },
            b'>' => {
                if bytes.get(i + 1) == Some(&b'=') {
                    i += 2;
                    Kind::Cmp(CmpOp::Ge)
                } else {
                    i += 1;
                    Kind::Cmp(CmpOp::Gt)
                }
            }
            b'\'' => {
                let mut s = Vec::new();
                i += 1;
                loop {
                    match bytes.get(i) {
                        None => return Err(syntax(at, "unterminated string literal".into())),
                        Some(b'\'') if bytes.get(i + 1) == Some(&b'\'') => {
                            s.push(b'\'');
                            i += 2;
                        }
                        Some(b'\'') => {
                            i += 1;
                            break;
                        }
                        Some(c) => {
                            s.push(*c);
                            i += 1;
                        }
                    }
                }
                // The input is UTF-8 and quotes are ASCII, so the content is UTF-8.
                let s = String::from_utf8(s)
                    .map_err(|_| syntax(at, "string literal is not UTF-8".into()))?;
                Kind::Text(s)
            }
            b'-' | b'0'..=b'9' => {
                let start = i;
                if b == b'-' {
                    i += 1;
                }
                let digits = |i: &mut usize| {
                    let s = *i;
                    while bytes.get(*i).is_some_and(u8::is_ascii_digit) {
                        *i += 1;
                    }
                    *i > s
                };
                if !digits(&mut i) {
                    return Err(syntax(at, "`-` must be followed by digits".into()));
                }
                if bytes.get(i) == Some(&b'.') {
                    i += 1;
                    if !digits(&mut i) {
                        return Err(syntax(i, "expected digits after the decimal point".into()));
                    }
                }
                if bytes
                    .get(i)
                    .is_some_and(|c| c.is_ascii_alphabetic() || *c == b'_' || *c == b'.')
                {
                    return Err(syntax(i, "malformed number".into()));
                }
                let lit = &text[start..i];
                let d = Decimal::parse(lit).map_err(|e| syntax(at, e.to_string()))?;
                Kind::Number(d)
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let start = i;
                while bytes
                    .get(i)
                    .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
                {
                    i += 1;
                }
                let word = &text[start..i];
                match KEYWORDS.iter().find(|k| k.eq_ignore_ascii_case(word)) {
                    Some(k) => Kind::Keyword(k),
                    None => Kind::Ident(word.to_string()),
                }
            }
            _ => {
                let ch = text[i..].chars().next().unwrap_or('?');
                return Err(syntax(at, format!("unexpected character {ch:?}")));
            }
        };
        out.push(Token { kind, at });
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Parser

struct Parser<'s> {
    tokens: Vec<Token>,
    pos: usize,
    end: usize,
    schema: &'s Schema,
    depth: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Kind> {
        self.tokens.get(self.pos).map(|t| &t.kind)
    }

    fn here(&self) -> usize {
        self.tokens.get(self.pos).map_or(self.end, |t| t.at)
    }

    fn error(&self, expected: &str) -> Error {
        let found = match self.tokens.get(self.pos) {
            Some(t) => t.kind.to_string(),
            None => "the end of the predicate".to_string(),
        };
        Error::Syntax {
            position: self.here(),
            message: format!("expected {expected}, found {found}"),
        }
    }

    fn eat_keyword(&mut self, k: &str) -> bool {
        if matches!(self.peek(), Some(Kind::Keyword(w)) if *w == k) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, kind: &Kind, what: &str) -> Result<()> {
        if self.peek() == Some(kind) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.error(what))
        }
    }

    fn deeper(&mut self) -> Result<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(Error::Syntax {
                position: self.here(),
                message: format!("nesting deeper than {MAX_DEPTH}"),
            });
        }
        Ok(())
    }

    /// `next (keyword next)*`, as one n-ary node when there is more than one operand.
    fn chain(
        &mut self,
        keyword: &str,
        next: fn(&mut Self) -> Result<Expr>,
        node: fn(Vec<Expr>) -> Expr,
    ) -> Result<Expr> {
        let mut v = vec![next(self)?];
        while self.eat_keyword(keyword) {
            v.push(next(self)?);
        }
        Ok(if v.len() == 1 { v.remove(0) } else { node(v) })
    }

    fn or(&mut self) -> Result<Expr> {
        self.chain("OR", Self::and, Expr::Or)
    }

    fn and(&mut self) -> Result<Expr> {
        self.chain("AND", Self::not, Expr::And)
    }

    fn not(&mut self) -> Result<Expr> {
        if self.eat_keyword("NOT") {
            self.deeper()?;
            let e = self.not()?;
            self.depth -= 1;
            return Ok(Expr::Not(Box::new(e)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr> {
        if self.peek() == Some(&Kind::LParen) {
            self.pos += 1;
            self.deeper()?;
            let e = self.or()?;
            self.depth -= 1;
            self.expect(&Kind::RParen, "`)`")?;
            return Ok(e);
        }
        let left_at = self.here();
        let left = self.operand()?;
        match self.peek() {
            Some(Kind::Cmp(op)) => {
                let op = *op;
                self.pos += 1;
                let right_at = self.here();
                let right = self.operand()?;
                if left.numeric() != right.numeric() {
                    return Err(type_error(&left, &right, left_at, right_at));
                }
                Ok(Expr::Cmp(left, op, right))
            }
            Some(Kind::Keyword("NOT")) | Some(Kind::Keyword("IN")) => {
                let negated = self.eat_keyword("NOT");
                if !self.eat_keyword("IN") {
                    return Err(self.error("IN"));
                }
                self.expect(&Kind::LParen, "`(` opening the IN list")?;
                let mut list = Vec::new();
                loop {
                    let at = self.here();
                    let lit = match self.peek() {
                        Some(Kind::Number(d)) => Literal::Number(*d),
                        Some(Kind::Text(t)) => Literal::Text(t.clone()),
                        _ => return Err(self.error("a literal in the IN list")),
                    };
                    self.pos += 1;
                    let litop = Operand::Literal(lit.clone());
                    if litop.numeric() != left.numeric() {
                        return Err(type_error(&left, &litop, left_at, at));
                    }
                    list.push(lit);
                    match self.peek() {
                        Some(Kind::Comma) => self.pos += 1,
                        Some(Kind::RParen) => {
                            self.pos += 1;
                            break;
                        }
                        _ => return Err(self.error("`,` or `)` in the IN list")),
                    }
                }
                Ok(Expr::In {
                    operand: left,
                    list,
                    negated,
                })
            }
            _ => Err(self.error("a comparison operator or IN")),
        }
    }

    fn operand(&mut self) -> Result<Operand> {
        let o = match self.peek() {
            Some(Kind::Ident(name)) => {
                let (index, col) = self.schema.column(name)?;
                Operand::Column {
                    index,
                    name: name.clone(),
                    numeric: col.ty.is_numeric(),
                }
            }
            Some(Kind::Number(d)) => Operand::Literal(Literal::Number(*d)),
            Some(Kind::Text(t)) => Operand::Literal(Literal::Text(t.clone())),
            _ => return Err(self.error("a column, a number or a string")),
        };
        self.pos += 1;
        Ok(o)
    }
}

fn type_error(left: &Operand, right: &Operand, left_at: usize, right_at: usize) -> Error {
    let describe = |o: &Operand| match o {
        Operand::Column { name, numeric, .. } => {
            format!(
                "{} column `{name}`",
                if *numeric { "numeric" } else { "text" }
            )
        }
        Operand::Literal(Literal::Number(d)) => format!("number {d}"),
        Operand::Literal(Literal::Text(t)) => format!("string '{t}'"),
    };
    // Name the column side when there is one.
    let (col, other, _) = match (left, right) {
        (Operand::Column { .. }, _) => (left, right, left_at),
        (_, Operand::Column { .. }) => (right, left, right_at),
        _ => (left, right, left_at),
    };
    Error::TypeMismatch {
        column: col.to_string(),
        expected: if col.numeric() { "a number" } else { "text" }.into(),
        found: describe(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn schema() -> Schema {
        Schema::new(1000)
            .and_then(|s| s.integer("age", 0, 120))
            .and_then(|s| s.decimal("bmi", 2, "-5", "60"))
            .and_then(|s| s.text("region"))
            .expect("schema")
    }

    fn row(age: i64, bmi: &str, region: &str) -> Row {
        Row::parse(&schema(), &[&age.to_string(), bmi, region]).expect("row")
    }

    fn holds(p: &str, r: &Row) -> bool {
        Predicate::parse(p, &schema())
            .and_then(|p| p.eval(r))
            .unwrap_or_else(|e| panic!("{p}: {e}"))
    }

    #[test]
    fn evaluates_comparisons_and_connectives() {
        let r = row(41, "22.50", "N");
        for (p, want) in [
            ("age > 40 AND region = 'N'", true),
            ("age > 41", false),
            ("age >= 41", true),
            ("age <> 41", false),
            ("age != 40", true),
            ("bmi = 22.5", true),
            ("bmi > 22.499", true),
            ("bmi < -1", false),
            ("22.5 = bmi", true),
            ("region IN ('S', 'N')", true),
            ("region NOT IN ('S', 'N')", false),
            ("age in (1, 41.0)", true),
            ("NOT age = 41 OR region = 'N'", true),
            ("NOT (age = 41 OR region = 'N')", false),
            ("age = 1 OR age = 41 AND region = 'S'", false),
            ("(age = 1 OR age = 41) AND region = 'N'", true),
            ("region < 'O'", true),
            ("'a' = 'a'", true),
            ("1 = 1.00", true),
            ("not not age = 41", true),
            ("age>40and region='N'", false),
        ] {
            if p == "age>40and region='N'" {
                // `40and` is a malformed number, not a valid predicate.
                assert!(Predicate::parse(p, &schema()).is_err());
                continue;
            }
            assert_eq!(holds(p, &r), want, "{p}");
        }
    }

    #[test]
    fn unknown_columns_are_named_with_the_known_ones() {
        let e = Predicate::parse("age > 1 AND weight < 80", &schema()).unwrap_err();
        assert!(
            matches!(&e, Error::UnknownColumn { name, known } if name == "weight" && known == &["age", "bmi", "region"]),
            "{e:?}"
        );
        assert!(e.to_string().contains("age, bmi, region"));
    }

    #[test]
    fn type_mismatches_are_reported() {
        for p in [
            "age = 'x'",
            "region > 3",
            "'x' < bmi",
            "region IN ('a', 2)",
            "age IN (1, 'b')",
            "age = region",
            "1 = 'a'",
        ] {
            let e = Predicate::parse(p, &schema()).unwrap_err();
            assert!(matches!(e, Error::TypeMismatch { .. }), "{p}: {e:?}");
        }
        let e = Predicate::parse("age = 'x'", &schema()).unwrap_err();
        assert!(
            matches!(&e, Error::TypeMismatch { column, expected, found }
                if column == "age" && expected == "a number" && found == "string 'x'"),
            "{e:?}"
        );
    }

    #[test]
    fn syntax_errors_carry_positions() {
        for (p, pos) in [
            ("", 0),
            ("age >", 5),
            ("age > 1 AND", 11),
            ("(age > 1", 8),
            ("age > 1)", 7),
            ("age 1", 4),
            ("age IN ()", 8),
            ("age IN (1,", 10),
            ("age IN 1", 7),
            ("age NOT 1", 8),
            ("region = 'abc", 9),
            ("age ! 1", 4),
            ("age > 1.", 8),
            ("age > 1.5.2", 9),
            ("age > -x", 6),
            ("age > 1 # 2", 8),
            ("age > 99999999999999999999", 6),
            ("AND", 0),
            ("age = 1 OR OR age = 2", 11),
            ("age é 1", 4),
        ] {
            match Predicate::parse(p, &schema()) {
                Err(Error::Syntax { position, .. }) => assert_eq!(position, pos, "{p}"),
                other => panic!("{p}: {other:?}"),
            }
        }
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let deep = format!("{}age = 1{}", "(".repeat(100_000), ")".repeat(100_000));
        assert!(matches!(
            Predicate::parse(&deep, &schema()),
            Err(Error::Syntax { .. })
        ));
        let nots = format!("{}age = 1", "NOT ".repeat(100_000));
        assert!(matches!(
            Predicate::parse(&nots, &schema()),
            Err(Error::Syntax { .. })
        ));
        let ok = format!("{}age = 1{}", "(".repeat(60), ")".repeat(60));
        assert!(Predicate::parse(&ok, &schema()).is_ok());
        // A long flat chain is fine: AND and OR are parsed iteratively.
        let long = vec!["age = 1"; 10_000].join(" OR ");
        assert!(Predicate::parse(&long, &schema()).is_ok());
    }

    #[test]
    fn strings_with_quotes_and_unicode() {
        let r = row(3, "0", "it's Zürich");
        assert!(holds("region = 'it''s Zürich'", &r));
        let p = Predicate::parse("region = 'it''s Zürich'", &schema()).expect("p");
        assert_eq!(p.to_string(), "region = 'it''s Zürich'");
    }

    #[test]
    fn rows_of_another_schema_are_rejected() {
        let p = Predicate::parse("age > 1", &schema()).expect("p");
        let other = Schema::new(1)
            .and_then(|s| s.integer("age", 0, 5))
            .expect("s");
        let r = Row::parse(&other, &["3"]).expect("r");
        assert!(matches!(p.eval(&r), Err(Error::RowArity { .. })));
        let swapped = Schema::new(1)
            .and_then(|s| s.text("age"))
            .and_then(|s| s.text("bmi"))
            .and_then(|s| s.text("region"))
            .expect("s");
        let r = Row::parse(&swapped, &["a", "b", "c"]).expect("r");
        assert!(matches!(p.eval(&r), Err(Error::TypeMismatch { .. })));
    }

    #[test]
    fn filter_and_columns() {
        let rows = vec![row(10, "1", "N"), row(50, "2", "S"), row(70, "3", "N")];
        let p = Predicate::parse("age > 40 AND region = 'N' OR bmi = 1", &schema()).expect("p");
        let got: Vec<_> = p.filter(&rows).expect("f");
        assert_eq!(got, vec![&rows[0], &rows[2]]);
        assert_eq!(p.columns(), vec!["age", "bmi", "region"]);
    }

    // ---- property tests ----

    fn arb_literal(numeric: bool) -> BoxedStrategy<Literal> {
        if numeric {
            (-2000i64..2000, 0u32..4)
                .prop_map(|(u, s)| Literal::Number(Decimal::new(u, s).expect("d")))
                .boxed()
        } else {
            prop::sample::select(vec!["N", "S", "it's", "", "Zürich", "n"])
                .prop_map(|s| Literal::Text(s.to_string()))
                .boxed()
        }
    }

    fn arb_operand(numeric: bool) -> BoxedStrategy<Operand> {
        let cols: Vec<(usize, &str)> = if numeric {
            vec![(0, "age"), (1, "bmi")]
        } else {
            vec![(2, "region")]
        };
        prop_oneof![
            prop::sample::select(cols).prop_map(move |(index, name)| Operand::Column {
                index,
                name: name.to_string(),
                numeric
            }),
            arb_literal(numeric).prop_map(Operand::Literal),
        ]
        .boxed()
    }

    fn arb_cmp() -> impl Strategy<Value = CmpOp> {
        prop::sample::select(vec![
            CmpOp::Eq,
            CmpOp::Ne,
            CmpOp::Lt,
            CmpOp::Le,
            CmpOp::Gt,
            CmpOp::Ge,
        ])
    }

    fn arb_leaf() -> BoxedStrategy<Expr> {
        any::<bool>()
            .prop_flat_map(|numeric| {
                prop_oneof![
                    (arb_operand(numeric), arb_cmp(), arb_operand(numeric))
                        .prop_map(|(l, op, r)| Expr::Cmp(l, op, r)),
                    (
                        arb_operand(numeric),
                        prop::collection::vec(arb_literal(numeric), 1..4),
                        any::<bool>()
                    )
                        .prop_map(|(operand, list, negated)| Expr::In {
                            operand,
                            list,
                            negated
                        }),
                ]
            })
            .boxed()
    }

    fn arb_expr() -> impl Strategy<Value = Expr> {
        arb_leaf().prop_recursive(5, 32, 2, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 2..4).prop_map(Expr::And),
                prop::collection::vec(inner.clone(), 2..4).prop_map(Expr::Or),
                inner.prop_map(|a| Expr::Not(Box::new(a))),
            ]
        })
    }

    fn arb_row() -> impl Strategy<Value = Row> {
        (
            0i64..=120,
            -500i64..=6000,
            prop::sample::select(vec!["N", "S", "it's", "", "Zürich"]),
        )
            .prop_map(|(a, b, r)| {
                Row::new(
                    &schema(),
                    vec![
                        Value::Integer(a),
                        Value::Decimal(Decimal::new(b, 2).expect("d")),
                        Value::Text(r.to_string()),
                    ],
                )
                .expect("row")
            })
    }

    /// A reference evaluation written independently of the evaluator: numbers as exact
    /// rationals with a common denominator of 10^6.
    fn reference(e: &Expr, r: &Row) -> bool {
        fn num(o: &Operand, r: &Row) -> Option<i128> {
            let d = match o {
                Operand::Literal(Literal::Number(d)) => *d,
                Operand::Column { index, .. } => match &r.values()[*index] {
                    Value::Integer(i) => Decimal::new(*i, 0).ok()?,
                    Value::Decimal(d) => *d,
                    Value::Text(_) => return None,
                },
                _ => return None,
            };
            Some(i128::from(d.units()) * 10i128.pow(6 - d.scale()))
        }
        fn text(o: &Operand, r: &Row) -> String {
            match o {
                Operand::Literal(Literal::Text(t)) => t.clone(),
                Operand::Column { index, .. } => match &r.values()[*index] {
                    Value::Text(t) => t.clone(),
                    _ => String::new(),
                },
                _ => String::new(),
            }
        }
        let ord = |a: &Operand, b: &Operand| match (num(a, r), num(b, r)) {
            (Some(x), Some(y)) => x.cmp(&y),
            _ => text(a, r).cmp(&text(b, r)),
        };
        match e {
            Expr::Or(v) => v.iter().any(|e| reference(e, r)),
            Expr::And(v) => v.iter().all(|e| reference(e, r)),
            Expr::Not(a) => !reference(a, r),
            Expr::Cmp(l, op, rr) => op.holds(ord(l, rr)),
            Expr::In {
                operand,
                list,
                negated,
            } => {
                list.iter()
                    .any(|l| ord(operand, &Operand::Literal(l.clone())) == Ordering::Equal)
                    != *negated
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn display_parses_back_to_the_same_tree(e in arb_expr()) {
            let text = e.to_string();
            let p = Predicate::parse(&text, &schema()).map_err(|err| TestCaseError::fail(format!("{text}: {err}")))?;
            prop_assert_eq!(&p.expr, &e);
        }

        #[test]
        fn evaluation_matches_the_reference(e in arb_expr(), rows in prop::collection::vec(arb_row(), 1..8)) {
            let p = Predicate::parse(&e.to_string(), &schema()).map_err(|err| TestCaseError::fail(err.to_string()))?;
            for r in &rows {
                prop_assert_eq!(p.eval(r).map_err(|err| TestCaseError::fail(err.to_string()))?, reference(&e, r));
            }
        }

        #[test]
        fn arbitrary_text_never_panics(s in ".{0,64}") {
            let _ = Predicate::parse(&s, &schema());
        }

        #[test]
        fn token_soup_never_panics(parts in prop::collection::vec(prop::sample::select(vec![
            "age", "bmi", "region", "weight", "AND", "or", "NOT", "in", "(", ")", ",", "=", "!=", "<>",
            "<", "<=", ">", ">=", "'N'", "'", "''", "1", "-2.5", "-", ".", "!", "1.", "99999999999999999999", " ",
        ]), 0..24)) {
            let s = parts.join(" ");
            let _ = Predicate::parse(&s, &schema());
            let glued = parts.concat();
            let _ = Predicate::parse(&glued, &schema());
        }
    }
}
