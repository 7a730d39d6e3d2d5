//! Ratings of answers and the accounting of model calls per day.

use crate::api::DeclinedQuestion;
use crate::rows::{decode, from_row, Columns, FromRow};
use crate::SqlStore;
use docent_core::domain::{Feedback, Rating, UsageTotals};
use docent_core::ports::{PortResult, SqlDatabase, Statement};

impl FromRow for Feedback {
    const COLUMNS: &'static str =
        "id, answer_id, session_id, rating, comment, question, answer, created_at";
    fn from_row(row: &Columns<'_>) -> PortResult<Self> {
        Ok(Feedback {
            id: row.text("id")?,
            answer_id: row.text("answer_id")?,
            session_id: row.opt_text("session_id")?,
            rating: row.parsed("rating", Rating::parse)?,
            comment: row.opt_text("comment")?,
            question: row.text("question")?,
            answer: row.text("answer")?,
            created_at: row.int("created_at")?,
        })
    }
}

from_row!(UsageTotals =
    "day, provider, model, requests, failures, prompt_tokens, completion_tokens, cost_usd"
    { day, provider, model, requests, failures, prompt_tokens, completion_tokens, cost_usd });

impl FromRow for DeclinedQuestion {
    const COLUMNS: &'static str = "question, times, last_at";
    fn from_row(row: &Columns<'_>) -> PortResult<Self> {
        Ok(DeclinedQuestion {
            question: row.text("question")?,
            times: row.int("times")?,
            last_at: docent_core::domain::format_timestamp(row.int("last_at")?),
        })
    }
}

impl<D: SqlDatabase> crate::api::AnswerStore for SqlStore<D> {
    async fn record_declined(&self, question: &str, now_ms: u64) -> PortResult<()> {
        let normalised = question.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase();
        let key = docent_core::domain::sha256_hex(normalised.as_bytes());
        self.db
            .batch(&[Statement::new(
                "INSERT INTO declined_questions (question_key, question, times, last_at) VALUES (?1, ?2, 1, ?3)
                 ON CONFLICT (question_key) DO UPDATE SET times = declined_questions.times + 1,
                   question = excluded.question, last_at = excluded.last_at",
                vec![key.into(), question.into(), now_ms.into()],
            )])
            .await?;
        Ok(())
    }

    async fn declined_questions(&self, limit: u32) -> PortResult<Vec<DeclinedQuestion>> {
        let rows = self
            .query(
                &format!(
                    "SELECT {} FROM declined_questions ORDER BY times DESC, last_at DESC LIMIT ?1",
                    DeclinedQuestion::COLUMNS
                ),
                vec![u64::from(limit).into()],
            )
            .await?;
        decode(&rows)
    }

    async fn record_feedback(&self, f: &Feedback) -> PortResult<()> {
        self.db
            .batch(&[Statement::new(
                "INSERT INTO feedback (id, answer_id, session_id, rating, comment, question, answer, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                 ON CONFLICT (answer_id) DO UPDATE SET id = excluded.id, rating = excluded.rating, comment = excluded.comment, created_at = excluded.created_at",
                vec![
                    f.id.as_str().into(),
                    f.answer_id.as_str().into(),
                    f.session_id.clone().into(),
                    f.rating.as_str().into(),
                    f.comment.clone().into(),
                    f.question.as_str().into(),
                    f.answer.as_str().into(),
                    f.created_at.into(),
                ],
            )])
            .await
            .map(|_| ())
    }

    async fn list_feedback(&self, rating: Option<Rating>, limit: u32) -> PortResult<Vec<Feedback>> {
        let rows = self
            .query(
                &format!(
                    "SELECT {} FROM feedback WHERE CAST(?1 AS TEXT) IS NULL OR rating = ?1 ORDER BY created_at DESC LIMIT ?2",
                    Feedback::COLUMNS
                ),
                vec![rating.map(|r| r.as_str()).into(), u64::from(limit).into()],
            )
            .await?;
        decode(&rows)
    }

    async fn add_usage(&self, r: &docent_core::domain::UsageRecord) -> PortResult<()> {
        self.db
            .batch(&[Statement::new(
                "INSERT INTO llm_usage_daily (day, provider, model, requests, failures, prompt_tokens, completion_tokens, cost_usd)
                 VALUES (?1, ?2, ?3, 1, ?4, ?5, ?6, ?7)
                 ON CONFLICT (day, provider, model) DO UPDATE SET
                    requests = llm_usage_daily.requests + 1, failures = llm_usage_daily.failures + excluded.failures,
                    prompt_tokens = llm_usage_daily.prompt_tokens + excluded.prompt_tokens,
                    completion_tokens = llm_usage_daily.completion_tokens + excluded.completion_tokens,
                    cost_usd = llm_usage_daily.cost_usd + excluded.cost_usd",
                vec![
                    r.day.as_str().into(),
                    r.provider.as_str().into(),
                    r.model.as_str().into(),
                    u64::from(r.failed).into(),
                    r.prompt_tokens.into(),
                    r.completion_tokens.into(),
                    r.cost_usd.into(),
                ],
            )])
            .await
            .map(|_| ())
    }

    async fn usage_since(&self, since_day: &str) -> PortResult<Vec<UsageTotals>> {
        let rows = self
            .query(
                &format!(
                    "SELECT {} FROM llm_usage_daily WHERE day >= ?1 ORDER BY day DESC, provider, model",
                    UsageTotals::COLUMNS
                ),
                vec![since_day.into()],
            )
            .await?;
        decode(&rows)
    }
}
