//! A data provider's own table, read into rows of a consortium's schema: a CSV file with a
//! header row, or a table of an SQLite database (recognised by its file header, opened read
//! only). Columns are found by name; other columns are ignored. The rows never leave the
//! process that reads them.

use std::path::Path;

use anyhow::{anyhow, bail, Context};
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};
use tabella_stats::{Row, Schema};

/// The first 16 bytes of every SQLite 3 database file.
const SQLITE_MAGIC: &[u8; 16] = b"SQLite format 3\0";

/// Whether `path` is an SQLite database (by its header, not its name).
pub fn is_sqlite(path: &Path) -> anyhow::Result<bool> {
    use std::io::Read;
    let mut f = std::fs::File::open(path)
        .with_context(|| format!("cannot open the table {}", path.display()))?;
    let mut head = [0u8; 16];
    match f.read_exact(&mut head) {
        Ok(()) => Ok(&head == SQLITE_MAGIC),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(false),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// Reads `path` with `schema`'s columns: table `table` of an SQLite database (the only table
/// if `None`), or a CSV file (`table` must then be `None`).
pub fn read_table(schema: &Schema, path: &Path, table: Option<&str>) -> anyhow::Result<Vec<Row>> {
    if is_sqlite(path)? {
        return read_sqlite(schema, path, table);
    }
    csv_only(path, table)?;
    read_csv(schema, path)
}

/// What a data provider will read at `path` (checked when it starts, before any query): the
/// table of an SQLite database it names (or the only one), or a CSV file.
pub fn describe(path: &Path, table: Option<&str>) -> anyhow::Result<String> {
    if is_sqlite(path)? {
        return Ok(format!(
            "table {:?} of the SQLite database",
            sqlite_table(path, table)?
        ));
    }
    csv_only(path, table)?;
    Ok("the CSV file".into())
}

/// Refuses `--table` for a file that is not an SQLite database.
fn csv_only(path: &Path, table: Option<&str>) -> anyhow::Result<()> {
    match table {
        Some(t) => bail!(
            "--table {t:?} names a table of an SQLite database, but {} is not one (a CSV file \
             has a single table)",
            path.display()
        ),
        None => Ok(()),
    }
}

/// Reads a CSV file whose header row names `schema`'s columns.
pub fn read_csv(schema: &Schema, path: &Path) -> anyhow::Result<Vec<Row>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the table {}", path.display()))?;
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header: Vec<String> = lines
        .next()
        .ok_or_else(|| anyhow!("{} is empty (a header row is needed)", path.display()))?
        .split(',')
        .map(|h| h.trim().to_string())
        .collect();
    let idx = positions(schema, &header, &path.display().to_string())?;
    lines
        .enumerate()
        .map(|(n, line)| {
            let f: Vec<&str> = line.split(',').map(str::trim).collect();
            let fields: Vec<&str> = idx
                .iter()
                .map(|i| f.get(*i).copied().unwrap_or(""))
                .collect();
            Row::parse(schema, &fields)
                .map_err(|e| anyhow!("{} line {}: {e}", path.display(), n + 2))
        })
        .collect()
}

/// Where each of `schema`'s columns is among `header`.
fn positions(schema: &Schema, header: &[String], what: &str) -> anyhow::Result<Vec<usize>> {
    schema
        .columns()
        .iter()
        .map(|c| {
            header.iter().position(|h| *h == c.name).ok_or_else(|| {
                anyhow!(
                    "{what} has no column {:?} (its columns: {})",
                    c.name,
                    header.join(",")
                )
            })
        })
        .collect()
}

/// `name` as an SQL identifier.
fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn open_sqlite(path: &Path) -> anyhow::Result<Connection> {
    Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .with_context(|| format!("cannot open the SQLite database {}", path.display()))
}

/// The table of `db` (at `path`) to read: `table` if it has it, else its only table.
fn pick_table(db: &Connection, path: &Path, table: Option<&str>) -> anyhow::Result<String> {
    let tables: Vec<String> = db
        .prepare("SELECT name FROM sqlite_schema WHERE type IN ('table', 'view') ORDER BY name")
        .and_then(|mut s| {
            s.query_map([], |r| r.get::<_, String>(0))?
                .collect::<Result<_, _>>()
        })
        .with_context(|| format!("cannot list the tables of {}", path.display()))?;
    Ok(match table {
        Some(t) if tables.iter().any(|x| x == t) => t.to_string(),
        Some(t) => bail!(
            "{} has no table {t:?} (its tables: {})",
            path.display(),
            tables.join(", ")
        ),
        None => match tables.as_slice() {
            [only] => only.clone(),
            [] => bail!("{} has no table", path.display()),
            _ => bail!(
                "{} has several tables ({}): name one with --table",
                path.display(),
                tables.join(", ")
            ),
        },
    })
}

/// The table a data provider reads from the SQLite database at `path` (checked when it
/// starts, before any query): `table` if the database has it, else its only table.
pub fn sqlite_table(path: &Path, table: Option<&str>) -> anyhow::Result<String> {
    pick_table(&open_sqlite(path)?, path, table)
}

/// Reads table `table` (the only one if `None`) of the SQLite database at `path`, opened read
/// only.
pub fn read_sqlite(schema: &Schema, path: &Path, table: Option<&str>) -> anyhow::Result<Vec<Row>> {
    let db = open_sqlite(path)?;
    let table = pick_table(&db, path, table)?;
    let what = format!("table {table:?} of {}", path.display());
    let header: Vec<String> = db
        .prepare(&format!(
            "SELECT name FROM pragma_table_info({})",
            sql_text(&table)
        ))
        .and_then(|mut s| {
            s.query_map([], |r| r.get::<_, String>(0))?
                .collect::<Result<_, _>>()
        })
        .with_context(|| format!("cannot read the columns of {what}"))?;
    positions(schema, &header, &what)?;
    let columns: Vec<String> = schema.columns().iter().map(|c| quoted(&c.name)).collect();
    let sql = format!("SELECT {} FROM {}", columns.join(", "), quoted(&table));
    let mut stmt = db
        .prepare(&sql)
        .with_context(|| format!("cannot read {what}"))?;
    let mut rows = stmt
        .query([])
        .with_context(|| format!("cannot read {what}"))?;
    let mut out = Vec::new();
    let mut n = 0usize;
    while let Some(r) = rows.next().with_context(|| format!("cannot read {what}"))? {
        n += 1;
        let mut fields = Vec::with_capacity(columns.len());
        for (i, c) in schema.columns().iter().enumerate() {
            let v = r
                .get_ref(i)
                .with_context(|| format!("{what}, row {n}: column {:?}", c.name))?;
            fields.push(
                field_text(v).map_err(|e| anyhow!("{what}, row {n}: column {:?} {e}", c.name))?,
            );
        }
        let refs: Vec<&str> = fields.iter().map(String::as_str).collect();
        out.push(Row::parse(schema, &refs).map_err(|e| anyhow!("{what}, row {n}: {e}"))?);
    }
    Ok(out)
}

/// `s` as an SQL string literal.
fn sql_text(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// An SQLite value as the text a CSV field would hold (NULL: empty).
fn field_text(v: ValueRef<'_>) -> anyhow::Result<String> {
    Ok(match v {
        ValueRef::Null => String::new(),
        ValueRef::Integer(i) => i.to_string(),
        // Beyond 2^53 a double no longer holds every integer: refuse rather than round.
        ValueRef::Real(f) if f.is_finite() && f.abs() < 9_007_199_254_740_992.0 => f.to_string(),
        ValueRef::Real(_) => bail!("holds a floating-point number too large to read exactly"),
        ValueRef::Text(t) => std::str::from_utf8(t)
            .map_err(|_| anyhow!("holds text that is not UTF-8"))?
            .to_string(),
        ValueRef::Blob(_) => bail!("holds a blob, not a number or text"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema() -> Schema {
        Schema::new(10)
            .and_then(|s| s.integer("age", 0, 120))
            .and_then(|s| s.text("region"))
            .unwrap()
    }

    fn db(dir: &Path, sql: &str) -> std::path::PathBuf {
        let path = dir.join("t.sqlite");
        let c = Connection::open(&path).unwrap();
        c.execute_batch(sql).unwrap();
        path
    }

    #[test]
    fn sqlite_and_csv_read_alike() {
        let dir = tempfile::tempdir().unwrap();
        let path = db(
            dir.path(),
            "CREATE TABLE people (id INTEGER, region TEXT, age INTEGER);
             INSERT INTO people VALUES (1, 'N', 34), (2, 'S', 51.0);",
        );
        let csv = dir.path().join("t.csv");
        std::fs::write(&csv, "id,region,age\n1,N,34\n2,S,51\n").unwrap();
        let a = read_table(&schema(), &path, None).unwrap();
        let b = read_table(&schema(), &csv, None).unwrap();
        assert_eq!(a.len(), 2);
        assert_eq!(a, b);
        assert_eq!(read_table(&schema(), &path, Some("people")).unwrap(), b);
    }

    #[test]
    fn bad_tables_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = db(
            dir.path(),
            "CREATE TABLE a (age INTEGER, region TEXT); CREATE TABLE b (age INTEGER);
             INSERT INTO b VALUES (3);",
        );
        let e = read_table(&schema(), &path, None).unwrap_err().to_string();
        assert!(e.contains("several tables (a, b)"), "{e}");
        let e = read_table(&schema(), &path, Some("c"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("no table \"c\""), "{e}");
        let e = read_table(&schema(), &path, Some("b"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("no column \"region\""), "{e}");
        let csv = dir.path().join("t.csv");
        std::fs::write(&csv, "age,region\n3,N\n").unwrap();
        let e = read_table(&schema(), &csv, Some("a"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("is not one"), "{e}");
    }

    #[test]
    fn bad_values_say_where() {
        let dir = tempfile::tempdir().unwrap();
        let path = db(
            dir.path(),
            "CREATE TABLE p (age INTEGER, region TEXT);
             INSERT INTO p VALUES (30, 'N'), (X'00', 'S');",
        );
        let e = read_table(&schema(), &path, None).unwrap_err().to_string();
        assert!(e.contains("row 2") && e.contains("blob"), "{e}");
        let path2 = dir.path().join("q.sqlite");
        Connection::open(&path2)
            .unwrap()
            .execute_batch(
                "CREATE TABLE p (age INTEGER, region TEXT); INSERT INTO p VALUES (300, 'N');",
            )
            .unwrap();
        let e = read_table(&schema(), &path2, None).unwrap_err().to_string();
        assert!(e.contains("row 1"), "{e}");
    }
}
