//! Ratings of answers and the accounting of model calls per day.

use crate::rows::{int, opt_text, text};
use crate::SqlStore;
use docent_core::ports::{PortError, PortResult, SqlDatabase, Statement};

const FEEDBACK_COLUMNS: &str =
    "id, answer_id, session_id, rating, comment, question, answer, created_at";

impl<D: SqlDatabase> crate::api::AnswerStore for SqlStore<D> {
    async fn record_feedback(&self, f: &docent_core::domain::Feedback) -> PortResult<()> {
        self.db
            .batch(&[Statement::new(
                format!(
                    "INSERT INTO feedback ({FEEDBACK_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                     ON CONFLICT (answer_id) DO UPDATE SET id = excluded.id, rating = excluded.rating, comment = excluded.comment, created_at = excluded.created_at"
                ),
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

    async fn list_feedback(
        &self,
        rating: Option<docent_core::domain::Rating>,
        limit: u32,
    ) -> PortResult<Vec<docent_core::domain::Feedback>> {
        let rows = self
            .query(
                &format!("SELECT {FEEDBACK_COLUMNS} FROM feedback WHERE CAST(?1 AS TEXT) IS NULL OR rating = ?1 ORDER BY created_at DESC LIMIT ?2"),
                vec![rating.map(|r| r.as_str()).into(), u64::from(limit).into()],
            )
            .await?;
        rows.iter()
            .map(|row| {
                Ok(docent_core::domain::Feedback {
                    id: text(row, 0)?,
                    answer_id: text(row, 1)?,
                    session_id: opt_text(row, 2),
                    rating: docent_core::domain::Rating::parse(&text(row, 3)?)
                        .ok_or_else(|| PortError::permanent("unknown rating"))?,
                    comment: opt_text(row, 4),
                    question: text(row, 5)?,
                    answer: text(row, 6)?,
                    created_at: int(row, 7)?,
                })
            })
            .collect()
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

    async fn usage_since(
        &self,
        since_day: &str,
    ) -> PortResult<Vec<docent_core::domain::UsageTotals>> {
        let rows = self
            .query(
                "SELECT day, provider, model, requests, failures, prompt_tokens, completion_tokens, cost_usd
                 FROM llm_usage_daily WHERE day >= ?1 ORDER BY day DESC, provider, model",
                vec![since_day.into()],
            )
            .await?;
        rows.iter()
            .map(|row| {
                Ok(docent_core::domain::UsageTotals {
                    day: text(row, 0)?,
                    provider: text(row, 1)?,
                    model: text(row, 2)?,
                    requests: int(row, 3)?,
                    failures: int(row, 4)?,
                    prompt_tokens: int(row, 5)?,
                    completion_tokens: int(row, 6)?,
                    cost_usd: row.get(7).and_then(|v| v.as_f64()).unwrap_or(0.0),
                })
            })
            .collect()
    }
}
