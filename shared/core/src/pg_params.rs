//! Postgres statements for clients that send typed values without learning the parameter types the
//! server inferred (Spin's Postgres interface: the host binds an `s64` as `int8`, a `string` as
//! `text`, and the server refuses a value whose type differs from the one it inferred).
//!
//! [`dollar_placeholders`] is the plain translation, for clients that prepare first;
//! [`with_value_casts`] makes the value decide: each `?N` becomes `$N::int8`, `$N::float8` or
//! `$N::text` after its value, so the server infers exactly the type that is sent, and the
//! statement converts from there as SQL always does (an `int8` into an `integer` column is an
//! assignment cast, `integer_column = $1::int8` a cross-type comparison). A NULL is left uncast:
//! NULL fits any type, and the server infers its type from the context, as it does for a client
//! that prepares first (`docent_postgres::bind`), so a statement valid there is valid here.

use crate::ports::SqlValue;

/// `sql` with every `?N` outside quotes as `$N`: for clients that prepare statements and bind each
/// value to the type the server inferred (`docent_postgres`).
pub fn dollar_placeholders(sql: &str) -> String {
    rewrite_placeholders(sql, |_| Ok("")).expect("no placeholder is refused")
}

/// `sql` with every `?N` outside quotes as `$N`, cast to the type of `params[N-1]` unless it is
/// NULL. A placeholder without a value is an error naming it.
pub fn with_value_casts(sql: &str, params: &[SqlValue]) -> Result<String, String> {
    rewrite_placeholders(sql, |index| {
        let value = index
            .checked_sub(1)
            .and_then(|i| params.get(i))
            .ok_or_else(|| format!("placeholder ?{index} has no value ({} given)", params.len()))?;
        Ok(match value {
            SqlValue::Null => "",
            SqlValue::Integer(_) => "::int8",
            SqlValue::Real(_) => "::float8",
            SqlValue::Text(_) => "::text",
        })
    })
}

/// Rewrites each `?N` outside single- or double-quoted text as `$N` followed by what `suffix(N)`
/// says.
fn rewrite_placeholders(
    sql: &str, mut suffix: impl FnMut(usize) -> Result<&'static str, String>,
) -> Result<String, String> {
    let mut out = String::with_capacity(sql.len() + 16);
    let mut quote: Option<char> = None;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match quote {
            Some(q) => {
                if c == q {
                    quote = None;
                }
                out.push(c);
            }
            None if c == '\'' || c == '"' => {
                quote = Some(c);
                out.push(c);
            }
            None if c == '?' && chars.peek().is_some_and(|d| d.is_ascii_digit()) => {
                let mut digits = String::new();
                while let Some(d) = chars.peek().copied().filter(char::is_ascii_digit) {
                    digits.push(d);
                    chars.next();
                }
                let index: usize =
                    digits.parse().map_err(|_| format!("placeholder ?{digits} is not a number"))?;
                out.push('$');
                out.push_str(&digits);
                out.push_str(suffix(index)?);
            }
            None => out.push(c),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_become_dollar_numbers_outside_quotes() {
        assert_eq!(
            dollar_placeholders("SELECT ?1, '?2', \"a?3\", x->>'$[0]' FROM t WHERE a = ?12"),
            "SELECT $1, '?2', \"a?3\", x->>'$[0]' FROM t WHERE a = $12"
        );
        assert_eq!(dollar_placeholders("SELECT 'it''s ?1' || ?2"), "SELECT 'it''s ?1' || $2");
        assert_eq!(dollar_placeholders("a ? b"), "a ? b");
    }

    #[test]
    fn each_placeholder_takes_the_type_of_its_value() {
        let params =
            [SqlValue::Text("j".into()), SqlValue::Integer(3), SqlValue::Null, SqlValue::Real(0.5)];
        assert_eq!(
            with_value_casts("INSERT INTO t VALUES (?1, ?2, ?3, ?4) RETURNING CAST(?1 AS TEXT) IS NULL OR x = ?1", &params).unwrap(),
            "INSERT INTO t VALUES ($1::text, $2::int8, $3, $4::float8) RETURNING CAST($1::text AS TEXT) IS NULL OR x = $1::text"
        );
        // Existing casts still apply on top; numbers past 9 are read whole.
        let many: Vec<SqlValue> = (0..12).map(SqlValue::Integer).collect();
        assert_eq!(
            with_value_casts("SELECT (?4::text)::jsonb, ?12", &many).unwrap(),
            "SELECT ($4::int8::text)::jsonb, $12::int8"
        );
    }

    #[test]
    fn quoted_text_and_bare_question_marks_are_left_alone() {
        let params = [SqlValue::Integer(1)];
        assert_eq!(
            with_value_casts(
                "SELECT '?1', \"a?1\", 'it''s ?1', x ? 'k' FROM t WHERE a = ?1",
                &params
            )
            .unwrap(),
            "SELECT '?1', \"a?1\", 'it''s ?1', x ? 'k' FROM t WHERE a = $1::int8"
        );
    }

    #[test]
    fn a_placeholder_without_a_value_is_an_error() {
        assert!(with_value_casts("SELECT ?2", &[SqlValue::Integer(1)]).unwrap_err().contains("?2"));
        assert!(with_value_casts("SELECT ?0", &[SqlValue::Integer(1)]).unwrap_err().contains("?0"));
    }
}
