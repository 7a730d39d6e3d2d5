//! Typed rows: each row type states its SELECT list ([`FromRow::COLUMNS`]) next to the decoder
//! that reads those columns by name, so a query and its decoding are written once, side by side.
//!
//! A column's name is its alias (`COUNT(*) AS urls` is `urls`) or else the column itself (`c.url`
//! is `url`). A decoder that names a column its list does not have fails with a permanent error
//! rather than reading a neighbour.

use serde::de::DeserializeOwned;
use serde_json::Value;

use docent_core::ports::{PortError, PortResult, Row};

/// A value decoded from one result row.
pub(crate) trait FromRow: Sized {
    /// The SELECT list, e.g. `"c.id, c.url, COUNT(*) AS n"`.
    const COLUMNS: &'static str;
    fn from_row(row: &Columns<'_>) -> PortResult<Self>;
}

/// Implements [`FromRow`] for a struct whose fields are its columns: each field is read from the
/// column of the same name, as the field's type says ([`Column`]).
///
/// `from_row!(ChunkUrl = "c.id, c.url" { id, url });`
macro_rules! from_row {
    ($type:ident = $columns:literal { $($field:ident),* $(,)? }) => {
        impl $crate::rows::FromRow for $type {
            const COLUMNS: &'static str = $columns;
            fn from_row(
                row: &$crate::rows::Columns<'_>,
            ) -> docent_core::ports::PortResult<Self> {
                Ok($type { $($field: row.get(stringify!($field))?),* })
            }
        }
    };
}
pub(crate) use from_row;

/// A type a column decodes to: text, an integer, a number, or either of the first two or NULL.
pub(crate) trait Column: Sized {
    fn read(row: &Columns<'_>, name: &str) -> PortResult<Self>;
}

impl Column for String {
    fn read(row: &Columns<'_>, name: &str) -> PortResult<Self> {
        row.text(name)
    }
}

impl Column for Option<String> {
    fn read(row: &Columns<'_>, name: &str) -> PortResult<Self> {
        row.opt_text(name)
    }
}

impl Column for u64 {
    fn read(row: &Columns<'_>, name: &str) -> PortResult<Self> {
        row.int(name)
    }
}

impl Column for Option<u64> {
    fn read(row: &Columns<'_>, name: &str) -> PortResult<Self> {
        row.opt_int(name)
    }
}

impl Column for f64 {
    fn read(row: &Columns<'_>, name: &str) -> PortResult<Self> {
        row.float(name)
    }
}

/// Decodes every row as `T` (the column names are worked out once per call).
pub(crate) fn decode<T: FromRow>(rows: &[Row]) -> PortResult<Vec<T>> {
    let names = column_names(T::COLUMNS);
    rows.iter().map(|row| T::from_row(&Columns { names: &names, row })).collect()
}

/// The first row decoded as `T`, if there is one.
pub(crate) fn decode_first<T: FromRow>(rows: &[Row]) -> PortResult<Option<T>> {
    decode(rows.get(..1).unwrap_or_default()).map(|mut decoded| decoded.pop())
}

/// A row of a query whose SELECT list is `T::COLUMNS` followed by one more column, a score (an
/// expression that differs between dialects or queries, such as BM25 or a vector distance).
pub(crate) struct Scored<T> {
    pub item: T,
    /// `None` for NULL (or anything that is not a number).
    pub score: Option<f64>,
}

/// Decodes rows of `T::COLUMNS, <score>`.
pub(crate) fn decode_scored<T: FromRow>(rows: &[Row]) -> PortResult<Vec<Scored<T>>> {
    let names = column_names(T::COLUMNS);
    rows.iter()
        .map(|row| {
            let item = T::from_row(&Columns { names: &names, row })?;
            let score = row.get(names.len()).and_then(Value::as_f64);
            Ok(Scored { item, score })
        })
        .collect()
}

/// Decodes rows of `T::COLUMNS, <text>, <integer>`: each item with the text that tags it (such as
/// the id it was asked for) and a number after it (such as the item's place).
pub(crate) fn decode_tagged_numbered<T: FromRow>(
    rows: &[Row],
) -> PortResult<Vec<(T, String, u64)>> {
    let names = column_names(T::COLUMNS);
    rows.iter()
        .map(|row| {
            let item = T::from_row(&Columns { names: &names, row })?;
            let tag = row.get(names.len()).and_then(Value::as_str).unwrap_or_default();
            let number = int_value(row.get(names.len() + 1), "number")?;
            Ok((item, tag.to_string(), number))
        })
        .collect()
}

/// The single value of a one-column query such as `SELECT COUNT(*) …` (0 without a row).
pub(crate) fn single_int(rows: &[Row]) -> PortResult<u64> {
    match rows.first() {
        Some(row) => int_value(row.first(), "the only column"),
        None => Ok(0),
    }
}

/// The text of a one-column query's first row, if it has one and it is text.
pub(crate) fn single_text(rows: &[Row]) -> Option<String> {
    rows.first()?.first()?.as_str().map(str::to_string)
}

/// One row, read by column name.
pub(crate) struct Columns<'a> {
    names: &'a [Option<&'static str>],
    row: &'a Row,
}

impl Columns<'_> {
    /// The column `name`, decoded as its type says.
    pub fn get<T: Column>(&self, name: &str) -> PortResult<T> {
        T::read(self, name)
    }

    fn value(&self, name: &str) -> PortResult<Option<&Value>> {
        let index = self.names.iter().position(|n| *n == Some(name)).ok_or_else(|| {
            PortError::permanent(format!("no column {name} in the row's SELECT list"))
        })?;
        Ok(self.row.get(index))
    }

    pub fn text(&self, name: &str) -> PortResult<String> {
        self.str(name).map(str::to_string)
    }

    /// Text, borrowed from the row.
    pub fn str(&self, name: &str) -> PortResult<&str> {
        match self.value(name)? {
            Some(Value::String(s)) => Ok(s),
            other => {
                Err(PortError::permanent(format!("expected text in column {name}, got {other:?}")))
            }
        }
    }

    /// Text, or `None` for NULL (or anything that is not text).
    pub fn opt_text(&self, name: &str) -> PortResult<Option<String>> {
        Ok(self.value(name)?.and_then(Value::as_str).map(str::to_string))
    }

    /// A count or timestamp; NULL reads as 0.
    pub fn int(&self, name: &str) -> PortResult<u64> {
        int_value(self.value(name)?, name)
    }

    /// An integer, or `None` for NULL (or anything that is not a number).
    pub fn opt_int(&self, name: &str) -> PortResult<Option<u64>> {
        Ok(self.value(name)?.and_then(|v| v.as_u64().or_else(|| v.as_f64().map(|f| f as u64))))
    }

    /// A number; NULL (or anything else) reads as 0.
    pub fn float(&self, name: &str) -> PortResult<f64> {
        Ok(self.value(name)?.and_then(Value::as_f64).unwrap_or(0.0))
    }

    /// A text column holding JSON.
    pub fn json<T: DeserializeOwned>(&self, name: &str) -> PortResult<T> {
        serde_json::from_str(&self.text(name)?)
            .map_err(|e| PortError::permanent(format!("corrupt JSON in column {name}: {e}")))
    }

    /// A text column holding one of an enumeration's names.
    pub fn parsed<T>(&self, name: &str, parse: impl Fn(&str) -> Option<T>) -> PortResult<T> {
        let text = self.text(name)?;
        parse(&text).ok_or_else(|| PortError::permanent(format!("corrupt {name}: {text:?}")))
    }
}

/// Every column of a row of counts, in order.
pub(crate) fn row_of_counts(row: &Row) -> PortResult<Vec<u64>> {
    row.iter().enumerate().map(|(i, value)| int_value(Some(value), &format!("#{i}"))).collect()
}

fn int_value(value: Option<&Value>, name: &str) -> PortResult<u64> {
    match value {
        Some(Value::Number(n)) => n
            .as_u64()
            .or_else(|| n.as_f64().map(|f| f as u64))
            .ok_or_else(|| PortError::permanent(format!("negative count in column {name}"))),
        Some(Value::Null) => Ok(0),
        other => {
            Err(PortError::permanent(format!("expected integer in column {name}, got {other:?}")))
        }
    }
}

/// The name of each item of a SELECT list (`None` for an expression without an alias). Items are
/// separated by commas outside parentheses.
fn column_names(list: &'static str) -> Vec<Option<&'static str>> {
    let mut names = Vec::new();
    let (mut depth, mut start) = (0usize, 0);
    for (i, c) in list.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                names.push(column_name(&list[start..i]));
                start = i + 1;
            }
            _ => {}
        }
    }
    names.push(column_name(&list[start..]));
    names
}

fn column_name(item: &'static str) -> Option<&'static str> {
    let plain = |name: &str| {
        !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    let words: Vec<&'static str> = item.split_whitespace().collect();
    let name = match words[..] {
        // `expression AS alias`; a last word with a parenthesis is inside an expression (`CAST(x AS
        // TEXT)`).
        [.., as_, alias] if as_.eq_ignore_ascii_case("as") => alias,
        // `table.column` or `column`.
        [column] => column.rsplit('.').next().unwrap_or(column),
        _ => return None,
    };
    plain(name).then_some(name)
}

/// A JSON column's text.
pub(crate) fn to_json(value: &impl serde::Serialize) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "[]".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_aliases_or_columns() {
        assert_eq!(
            column_names(
                "c.id, url, COUNT(*) AS urls, (SELECT COUNT(*) FROM chunks) AS chunks, bm25(t, 4.0, 1.0), CAST(x AS TEXT)"
            ),
            [Some("id"), Some("url"), Some("urls"), Some("chunks"), None, None]
        );
    }

    struct Pair {
        name: String,
        count: u64,
    }

    impl FromRow for Pair {
        const COLUMNS: &'static str = "p.name, COUNT(*) AS count";
        fn from_row(row: &Columns<'_>) -> PortResult<Self> {
            Ok(Pair { count: row.int("count")?, name: row.text("name")? })
        }
    }

    #[test]
    fn rows_are_read_by_name_and_an_unknown_name_is_an_error() {
        let rows =
            vec![vec![Value::from("a"), Value::from(2)], vec![Value::from("b"), Value::Null]];
        let pairs = decode::<Pair>(&rows).unwrap();
        assert_eq!(
            pairs.iter().map(|p| (p.name.as_str(), p.count)).collect::<Vec<_>>(),
            [("a", 2), ("b", 0)]
        );
        let columns = Columns { names: &column_names(Pair::COLUMNS), row: &rows[0] };
        assert!(columns.text("nme").unwrap_err().message.contains("no column nme"));
        assert!(columns.text("count").is_err(), "a number is not text");
    }

    #[test]
    fn a_score_follows_the_typed_columns() {
        let rows = vec![vec![Value::from("a"), Value::from(1), Value::from(0.5)]];
        let scored = decode_scored::<Pair>(&rows).unwrap();
        assert_eq!((scored[0].item.name.as_str(), scored[0].score), ("a", Some(0.5)));
    }
}
