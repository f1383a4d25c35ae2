//! The typed rows a data provider holds: a [`Schema`] of named columns (integer, fixed-point
//! decimal or text), each numeric column with a declared domain `[min, max]`, and [`Row`]s
//! checked against it.
//!
//! The declared domains are what make a data provider's answer provably bounded: Drynx
//! (Froelicher et al., "Drynx: Decentralized, Secure, Verifiable System for Statistical Queries
//! and Machine Learning on Distributed Datasets", IEEE TIFS 2020) has every data provider
//! prove that each encrypted value lies in a range fixed by the query; the range of an encoded
//! answer follows from the domains declared here and from the schema's bound on the number of
//! rows one data provider may contribute ([`Schema::max_rows`]). See `docs/STATS.md`.

use core::cmp::Ordering;
use core::fmt;
use core::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Largest number of fractional digits of a decimal column or literal.
pub const MAX_SCALE: u32 = 18;

/// Words that cannot be column names (compared without regard to case).
pub(crate) const KEYWORDS: [&str; 4] = ["AND", "OR", "NOT", "IN"];

/// `10^e` for `e <= 38`.
pub(crate) fn pow10(e: u32) -> Result<i128> {
    10i128
        .checked_pow(e)
        .ok_or(Error::Overflow("a power of ten"))
}

/// A fixed-point decimal number: `units / 10^scale`, exactly. Serialized as its decimal text
/// (`"-10.50"`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Decimal {
    units: i64,
    scale: u32,
}

impl Decimal {
    /// `units / 10^scale`; `scale` is at most [`MAX_SCALE`].
    pub fn new(units: i64, scale: u32) -> Result<Self> {
        if scale > MAX_SCALE {
            return Err(Error::InvalidNumber {
                text: format!("{units}e-{scale}"),
                reason: format!("at most {MAX_SCALE} fractional digits"),
            });
        }
        Ok(Decimal { units, scale })
    }

    /// The integer numerator: the value times `10^scale`.
    pub fn units(&self) -> i64 {
        self.units
    }

    /// The number of fractional digits.
    pub fn scale(&self) -> u32 {
        self.scale
    }

    /// Reads `[+-]digits[.digits]` (at most [`MAX_SCALE`] fractional digits, the whole value
    /// fitting an `i64` of units).
    pub fn parse(text: &str) -> Result<Self> {
        let bad = |reason: &str| Error::InvalidNumber {
            text: text.to_string(),
            reason: reason.to_string(),
        };
        let (negative, body) = match text.as_bytes().first() {
            Some(b'-') => (true, &text[1..]),
            Some(b'+') => (false, &text[1..]),
            _ => (false, text),
        };
        let (int_part, frac_part) = match body.split_once('.') {
            Some((i, f)) => (i, Some(f)),
            None => (body, None),
        };
        let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !all_digits(int_part) {
            return Err(bad("expected digits before the decimal point"));
        }
        if let Some(f) = frac_part {
            if !all_digits(f) {
                return Err(bad("expected digits after the decimal point"));
            }
        }
        let frac = frac_part.unwrap_or("");
        let scale = u32::try_from(frac.len()).map_err(|_| bad("too many fractional digits"))?;
        if scale > MAX_SCALE {
            return Err(bad("too many fractional digits (at most 18)"));
        }
        let mut units: i128 = 0;
        for b in int_part.bytes().chain(frac.bytes()) {
            units = units
                .checked_mul(10)
                .and_then(|u| u.checked_add(i128::from(b - b'0')))
                .filter(|u| *u <= i128::from(i64::MAX) + 1)
                .ok_or_else(|| bad("too large"))?;
        }
        if negative {
            units = -units;
        }
        let units = i64::try_from(units).map_err(|_| bad("too large"))?;
        Ok(Decimal { units, scale })
    }

    /// The same number with `scale` fractional digits, if it can be written so exactly and fits.
    pub fn rescale(&self, scale: u32) -> Option<Decimal> {
        if scale > MAX_SCALE {
            return None;
        }
        let units = if scale >= self.scale {
            i128::from(self.units).checked_mul(pow10(scale - self.scale).ok()?)?
        } else {
            let d = pow10(self.scale - scale).ok()?;
            let u = i128::from(self.units);
            if u % d != 0 {
                return None;
            }
            u / d
        };
        Some(Decimal {
            units: i64::try_from(units).ok()?,
            scale,
        })
    }

    /// Exact comparison of two decimals of any scales.
    pub fn cmp_exact(&self, other: &Decimal) -> Ordering {
        cmp_units(
            i128::from(self.units),
            self.scale,
            i128::from(other.units),
            other.scale,
        )
    }
}

/// Compares `a / 10^sa` with `b / 10^sb` exactly (scales at most [`MAX_SCALE`], units within
/// `i64`, so the products stay within `i128`).
pub(crate) fn cmp_units(a: i128, sa: u32, b: i128, sb: u32) -> Ordering {
    let s = sa.max(sb);
    // 10^18 * 2^63 < 2^123: no overflow for scales <= 18 and i64 units.
    let fa = 10i128.pow(s - sa);
    let fb = 10i128.pow(s - sb);
    (a * fa).cmp(&(b * fb))
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.units < 0 { "-" } else { "" };
        let digits = self.units.unsigned_abs().to_string();
        let scale = self.scale as usize;
        if scale == 0 {
            return write!(f, "{sign}{digits}");
        }
        let padded = format!("{digits:0>width$}", width = scale + 1);
        let (i, frac) = padded.split_at(padded.len() - scale);
        write!(f, "{sign}{i}.{frac}")
    }
}

tabella_crypto::string_schema!(
    /// The API schema of a [`Decimal`].
    DecimalText,
    "^[-+]?[0-9]+(\\.[0-9]{1,18})?$",
    "A decimal number, at most 18 digits after the point."
);
tabella_crypto::schema_via!(Decimal, DecimalText);

impl Serialize for Decimal {
    fn serialize<S: serde::Serializer>(&self, s: S) -> core::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Decimal {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> core::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Decimal::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl FromStr for Decimal {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Decimal::parse(s)
    }
}

/// One cell of a row.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub enum Value {
    /// A whole number.
    Integer(i64),
    /// A fixed-point decimal.
    Decimal(Decimal),
    /// A string.
    Text(String),
}

impl Value {
    /// The type's name, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Integer(_) => "integer",
            Value::Decimal(_) => "decimal",
            Value::Text(_) => "text",
        }
    }
}

impl fmt::Display for Value {
    /// Numbers as written; text as a single-quoted literal (`'it''s'`), as in a WHERE clause.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Integer(i) => write!(f, "{i}"),
            Value::Decimal(d) => write!(f, "{d}"),
            Value::Text(t) => write!(f, "'{}'", t.replace('\'', "''")),
        }
    }
}

/// A column's type and, for numeric columns, its declared domain.
///
/// A decimal column stores every value as an integer number of *units* of `10^-scale`; its
/// domain is declared in units too (`min = -1050, scale = 2` is −10.50).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ColumnType {
    /// Whole numbers in `[min, max]`.
    Integer {
        /// Smallest allowed value.
        min: i64,
        /// Largest allowed value.
        max: i64,
    },
    /// Fixed-point numbers with `scale` fractional digits, in `[min, max]` units of
    /// `10^-scale`.
    Decimal {
        /// Fractional digits (at most [`MAX_SCALE`]).
        scale: u32,
        /// Smallest allowed value, in units.
        min: i64,
        /// Largest allowed value, in units.
        max: i64,
    },
    /// Strings (no domain).
    Text,
}

impl ColumnType {
    /// The type's name, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            ColumnType::Integer { .. } => "integer",
            ColumnType::Decimal { .. } => "decimal",
            ColumnType::Text => "text",
        }
    }

    /// The declared domain in units, for numeric columns.
    pub fn domain(&self) -> Option<(i64, i64)> {
        match *self {
            ColumnType::Integer { min, max } | ColumnType::Decimal { min, max, .. } => {
                Some((min, max))
            }
            ColumnType::Text => None,
        }
    }

    /// Fractional digits: the decimal scale, 0 for integers and text.
    pub fn scale(&self) -> u32 {
        match *self {
            ColumnType::Decimal { scale, .. } => scale,
            _ => 0,
        }
    }

    /// Whether the column holds numbers.
    pub fn is_numeric(&self) -> bool {
        !matches!(self, ColumnType::Text)
    }

    /// The column's value for `units` (numeric columns).
    pub(crate) fn value_of_units(&self, units: i64) -> Value {
        match *self {
            ColumnType::Decimal { scale, .. } => Value::Decimal(Decimal { units, scale }),
            _ => Value::Integer(units),
        }
    }

    /// `units` written in the column's type (`1050` at scale 2 is `10.50`).
    pub(crate) fn show_units(&self, units: i64) -> String {
        self.value_of_units(units).to_string()
    }
}

/// A named, typed column.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Column {
    /// The column's name (an identifier; compared with case).
    pub name: String,
    /// Its type and domain.
    #[serde(flatten)]
    pub ty: ColumnType,
}

/// The typed columns of the rows a query runs over, and the most rows one data provider may
/// contribute to one answer.
///
/// Build it with [`Schema::new`] and the column methods; a deserialized schema is checked the
/// same way.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "SchemaRepr", into = "SchemaRepr")]
pub struct Schema {
    columns: Vec<Column>,
    max_rows: u64,
}

#[derive(Serialize, Deserialize, utoipa::ToSchema)]
struct SchemaRepr {
    columns: Vec<Column>,
    max_rows: u64,
}

tabella_crypto::schema_via!(Schema, SchemaRepr);

impl TryFrom<SchemaRepr> for Schema {
    type Error = Error;
    fn try_from(r: SchemaRepr) -> Result<Self> {
        let mut s = Schema::new(r.max_rows)?;
        for c in r.columns {
            s = s.with_column(c)?;
        }
        Ok(s)
    }
}

impl From<Schema> for SchemaRepr {
    fn from(s: Schema) -> Self {
        SchemaRepr {
            columns: s.columns,
            max_rows: s.max_rows,
        }
    }
}

fn check_name(name: &str) -> Result<()> {
    let mut bytes = name.bytes();
    let ok = matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && !KEYWORDS.iter().any(|k| k.eq_ignore_ascii_case(name));
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidColumnName {
            name: name.to_string(),
        })
    }
}

impl Schema {
    /// An empty schema whose data providers each contribute at most `max_rows` rows (at least
    /// 1) to an answer.
    pub fn new(max_rows: u64) -> Result<Self> {
        if max_rows == 0 {
            return Err(Error::InvalidOperation(
                "a schema must allow at least one row per data provider".into(),
            ));
        }
        Ok(Schema {
            columns: Vec::new(),
            max_rows,
        })
    }

    /// Adds an integer column with domain `[min, max]`.
    pub fn integer(self, name: &str, min: i64, max: i64) -> Result<Self> {
        self.with_column(Column {
            name: name.to_string(),
            ty: ColumnType::Integer { min, max },
        })
    }

    /// Adds a decimal column with `scale` fractional digits and domain `[min, max]`, both given
    /// as decimal text (`"-10.5"`) with at most `scale` fractional digits.
    pub fn decimal(self, name: &str, scale: u32, min: &str, max: &str) -> Result<Self> {
        let at_scale = |text: &str| -> Result<i64> {
            let d = Decimal::parse(text)?;
            d.rescale(scale)
                .map(|d| d.units)
                .ok_or(Error::InvalidDomain {
                    column: name.to_string(),
                    reason: format!("{text} cannot be written with {scale} fractional digits"),
                })
        };
        let (min, max) = (at_scale(min)?, at_scale(max)?);
        self.with_column(Column {
            name: name.to_string(),
            ty: ColumnType::Decimal { scale, min, max },
        })
    }

    /// Adds a text column.
    pub fn text(self, name: &str) -> Result<Self> {
        self.with_column(Column {
            name: name.to_string(),
            ty: ColumnType::Text,
        })
    }

    /// Adds a column after checking its name and domain.
    pub fn with_column(mut self, column: Column) -> Result<Self> {
        check_name(&column.name)?;
        if self.columns.iter().any(|c| c.name == column.name) {
            return Err(Error::DuplicateColumn { name: column.name });
        }
        let bad = |reason: String| Error::InvalidDomain {
            column: column.name.clone(),
            reason,
        };
        if column.ty.scale() > MAX_SCALE {
            return Err(bad(format!("scale above {MAX_SCALE}")));
        }
        if let Some((min, max)) = column.ty.domain() {
            if min > max {
                return Err(bad(format!(
                    "min {} above max {}",
                    column.ty.show_units(min),
                    column.ty.show_units(max)
                )));
            }
        }
        self.columns.push(column);
        Ok(self)
    }

    /// The columns, in order.
    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    /// The most rows one data provider may contribute to one answer.
    pub fn max_rows(&self) -> u64 {
        self.max_rows
    }

    /// The column names, in order.
    pub fn names(&self) -> Vec<String> {
        self.columns.iter().map(|c| c.name.clone()).collect()
    }

    /// The position and description of column `name`.
    pub fn column(&self, name: &str) -> Result<(usize, &Column)> {
        self.columns
            .iter()
            .enumerate()
            .find(|(_, c)| c.name == name)
            .ok_or_else(|| Error::UnknownColumn {
                name: name.to_string(),
                known: self.names(),
            })
    }

    /// Checks `value` against column `index` and returns it normalized: decimals at the column's
    /// scale, an integer or exact decimal accepted for the other numeric type.
    fn normalize(&self, index: usize, value: Value) -> Result<Value> {
        let col = &self.columns[index];
        let mismatch = |v: &Value| Error::TypeMismatch {
            column: col.name.clone(),
            expected: col.ty.type_name().to_string(),
            found: v.type_name().to_string(),
        };
        let units = match (&col.ty, &value) {
            (ColumnType::Text, Value::Text(_)) => return Ok(value),
            (ColumnType::Text, v) => return Err(mismatch(v)),
            (_, Value::Text(_)) => return Err(mismatch(&value)),
            (ty, Value::Integer(i)) => Decimal {
                units: *i,
                scale: 0,
            }
            .rescale(ty.scale())
            .map(|d| d.units),
            (ty, Value::Decimal(d)) => d.rescale(ty.scale()).map(|d| d.units),
        };
        let units = units.ok_or_else(|| Error::InvalidNumber {
            text: value.to_string(),
            reason: format!(
                "column `{}` holds {} values with {} fractional digits",
                col.name,
                col.ty.type_name(),
                col.ty.scale()
            ),
        })?;
        self.check_domain(index, units)?;
        Ok(col.ty.value_of_units(units))
    }

    fn check_domain(&self, index: usize, units: i64) -> Result<()> {
        let col = &self.columns[index];
        if let Some((min, max)) = col.ty.domain() {
            if units < min || units > max {
                return Err(Error::OutOfDomain {
                    column: col.name.clone(),
                    value: col.ty.show_units(units),
                    min: col.ty.show_units(min),
                    max: col.ty.show_units(max),
                });
            }
        }
        Ok(())
    }

    /// The units of numeric column `index` in `row`, checked against the type and domain (rows
    /// may have been built against another schema).
    pub(crate) fn units(&self, index: usize, row: &Row) -> Result<i64> {
        let col = &self.columns[index];
        let v = self.cell(index, row)?;
        let units = match (&col.ty, v) {
            (ColumnType::Integer { .. }, Value::Integer(i)) => *i,
            (ColumnType::Decimal { scale, .. }, Value::Decimal(d)) if d.scale == *scale => d.units,
            (_, v) => {
                return Err(Error::TypeMismatch {
                    column: col.name.clone(),
                    expected: col.ty.type_name().to_string(),
                    found: v.type_name().to_string(),
                })
            }
        };
        self.check_domain(index, units)?;
        Ok(units)
    }

    /// The cell of column `index` in `row`, after checking the row's length.
    pub(crate) fn cell<'r>(&self, index: usize, row: &'r Row) -> Result<&'r Value> {
        if row.values.len() != self.columns.len() {
            return Err(Error::RowArity {
                expected: self.columns.len(),
                found: row.values.len(),
            });
        }
        Ok(&row.values[index])
    }
}

/// One row, checked against a [`Schema`]: one value per column, of the column's type, numeric
/// values within their declared domains (decimals stored at their column's scale).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Row {
    values: Vec<Value>,
}

impl Row {
    /// A row of `schema` from one value per column, in order. Integers are accepted for decimal
    /// columns and exact decimals for integer columns; every numeric value must lie in its
    /// column's domain.
    pub fn new(schema: &Schema, values: Vec<Value>) -> Result<Row> {
        if values.len() != schema.columns.len() {
            return Err(Error::RowArity {
                expected: schema.columns.len(),
                found: values.len(),
            });
        }
        let values = values
            .into_iter()
            .enumerate()
            .map(|(i, v)| schema.normalize(i, v))
            .collect::<Result<Vec<_>>>()?;
        Ok(Row { values })
    }

    /// A row of `schema` from text fields (as read from a CSV file): numbers are parsed with
    /// [`Decimal::parse`], text is taken as is.
    pub fn parse(schema: &Schema, fields: &[&str]) -> Result<Row> {
        if fields.len() != schema.columns.len() {
            return Err(Error::RowArity {
                expected: schema.columns.len(),
                found: fields.len(),
            });
        }
        let values = schema
            .columns
            .iter()
            .zip(fields)
            .map(|(c, f)| match c.ty {
                ColumnType::Text => Ok(Value::Text((*f).to_string())),
                _ => Decimal::parse(f.trim()).map(Value::Decimal),
            })
            .collect::<Result<Vec<_>>>()?;
        Row::new(schema, values)
    }

    /// The values, in column order.
    pub fn values(&self) -> &[Value] {
        &self.values
    }

    /// The value of column `name`.
    pub fn get(&self, schema: &Schema, name: &str) -> Result<&Value> {
        let (i, _) = schema.column(name)?;
        schema.cell(i, self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema() -> Schema {
        Schema::new(100)
            .and_then(|s| s.integer("age", 0, 120))
            .and_then(|s| s.decimal("bmi", 2, "10", "60.5"))
            .and_then(|s| s.text("region"))
            .expect("schema")
    }

    #[test]
    fn decimal_parse_and_display() {
        for (text, units, scale, shown) in [
            ("12.34", 1234, 2, "12.34"),
            ("-0.05", -5, 2, "-0.05"),
            ("+7", 7, 0, "7"),
            ("0.000", 0, 3, "0.000"),
            ("-9223372036854775808", i64::MIN, 0, "-9223372036854775808"),
        ] {
            let d = Decimal::parse(text).expect(text);
            assert_eq!((d.units(), d.scale()), (units, scale), "{text}");
            assert_eq!(d.to_string(), shown);
        }
        for bad in [
            "",
            "-",
            "1.",
            ".5",
            "1e5",
            "1.2.3",
            "--1",
            "9223372036854775808",
            "0.1234567890123456789",
            "١٢",
        ] {
            assert!(
                matches!(Decimal::parse(bad), Err(Error::InvalidNumber { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn decimal_rescale_and_compare() {
        let d = Decimal::parse("1.50").expect("d");
        assert_eq!(
            d.rescale(1),
            Some(Decimal {
                units: 15,
                scale: 1
            })
        );
        assert_eq!(d.rescale(0), None);
        assert_eq!(
            d.rescale(4),
            Some(Decimal {
                units: 15000,
                scale: 4
            })
        );
        assert_eq!(
            d.cmp_exact(&Decimal::parse("1.5").expect("d")),
            Ordering::Equal
        );
        assert_eq!(
            Decimal::parse("-0.001")
                .expect("d")
                .cmp_exact(&Decimal::parse("0").expect("d")),
            Ordering::Less
        );
        assert_eq!(
            Decimal::new(i64::MAX, 0).expect("d").rescale(MAX_SCALE),
            None
        );
    }

    #[test]
    fn rows_are_checked() {
        let s = schema();
        let r = Row::parse(&s, &["41", "22.5", "N"]).expect("row");
        assert_eq!(
            r.get(&s, "bmi").expect("bmi"),
            &Value::Decimal(Decimal {
                units: 2250,
                scale: 2
            })
        );
        assert!(matches!(
            Row::parse(&s, &["121", "22.5", "N"]),
            Err(Error::OutOfDomain { ref column, ref value, ref min, ref max })
                if column == "age" && value == "121" && min == "0" && max == "120"
        ));
        assert!(matches!(
            Row::parse(&s, &["41", "22.555", "N"]),
            Err(Error::InvalidNumber { .. })
        ));
        assert!(matches!(
            Row::parse(&s, &["41", "9.99", "N"]),
            Err(Error::OutOfDomain { ref value, .. }) if value == "9.99"
        ));
        assert!(matches!(
            Row::new(&s, vec![Value::Text("x".into()), Value::Integer(20), Value::Text("N".into())]),
            Err(Error::TypeMismatch { ref column, .. }) if column == "age"
        ));
        assert!(matches!(
            Row::parse(&s, &["41"]),
            Err(Error::RowArity {
                expected: 3,
                found: 1
            })
        ));
        assert!(matches!(
            r.get(&s, "weight"),
            Err(Error::UnknownColumn { ref known, .. }) if known.len() == 3
        ));
    }

    #[test]
    fn schemas_are_checked() {
        assert!(matches!(
            schema().integer("age", 0, 1),
            Err(Error::DuplicateColumn { .. })
        ));
        assert!(matches!(
            schema().integer("and", 0, 1),
            Err(Error::InvalidColumnName { .. })
        ));
        assert!(matches!(
            schema().integer("1x", 0, 1),
            Err(Error::InvalidColumnName { .. })
        ));
        assert!(matches!(
            schema().integer("x", 2, 1),
            Err(Error::InvalidDomain { .. })
        ));
        assert!(matches!(
            schema().decimal("x", 1, "0.25", "1"),
            Err(Error::InvalidDomain { .. })
        ));
        assert!(Schema::new(0).is_err());
        let json = serde_json::to_string(&schema()).expect("json");
        let back: Schema = serde_json::from_str(&json).expect("back");
        assert_eq!(back, schema());
        let bad = json.replace("\"max\":120", "\"max\":-1");
        assert!(serde_json::from_str::<Schema>(&bad).is_err());
    }
}
