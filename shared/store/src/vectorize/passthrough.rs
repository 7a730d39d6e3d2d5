//! What the Vectorize store leaves to the SQL store unchanged: crawl state, tickets and answers.

use super::store::{VectorizeIndex, VectorizeStore};
use crate::api::{
    AnswerStore, CrawlGauges, CrawlStore, Findings, Finished, MessageContext, MetricsStore,
    RateStore, TicketStore, TicketUpdate,
};
use docent_core::crawl::globs::GlobMatches;
use docent_core::domain::{
    CrawlJob, CrawlMessage, DeadLetter, NewCrawlJob, NotIndexed, UrlOutcome,
};
use docent_core::escalation::tickets::{AuditEntry, NewTicket, Ticket, TicketChange, TicketStatus};
use docent_core::ports::{PortResult, SqlDatabase};

impl<D: SqlDatabase, I: VectorizeIndex> CrawlStore for VectorizeStore<D, I> {
    async fn create_job(
        &self, job: &NewCrawlJob, start: &CrawlMessage, now_ms: u64,
    ) -> PortResult<()> {
        self.sql().create_job(job, start, now_ms).await
    }
    async fn job(&self, id: &str) -> PortResult<Option<CrawlJob>> {
        self.sql().job(id).await
    }
    async fn recent_jobs(&self, limit: u32) -> PortResult<Vec<CrawlJob>> {
        self.sql().recent_jobs(limit).await
    }
    async fn cancel_job(&self, id: &str, now_ms: u64) -> PortResult<bool> {
        self.sql().cancel_job(id, now_ms).await
    }
    async fn mark_job_running(&self, id: &str, now_ms: u64) -> PortResult<()> {
        self.sql().mark_job_running(id, now_ms).await
    }
    async fn record_glob_matches(&self, job_id: &str, matched: GlobMatches) -> PortResult<()> {
        self.sql().record_glob_matches(job_id, matched).await
    }
    async fn glob_matches(&self, job_id: &str) -> PortResult<GlobMatches> {
        self.sql().glob_matches(job_id).await
    }
    async fn message_context(
        &self, job_id: &str, url_key: &str,
    ) -> PortResult<Option<MessageContext>> {
        self.sql().message_context(job_id, url_key).await
    }
    async fn add_discovered(
        &self, parent: &CrawlMessage, found: &[CrawlMessage], max_pages: u32, now_ms: u64,
    ) -> PortResult<()> {
        self.sql().add_discovered(parent, found, max_pages, now_ms).await
    }
    async fn queued_children(&self, parent: &CrawlMessage) -> PortResult<Vec<CrawlMessage>> {
        self.sql().queued_children(parent).await
    }
    async fn finish_url(
        &self, message: &CrawlMessage, outcome: &UrlOutcome, findings: Findings<'_>, now_ms: u64,
    ) -> PortResult<Finished> {
        self.sql().finish_url(message, outcome, findings, now_ms).await
    }
    async fn was_truncated(&self, job_id: &str) -> PortResult<bool> {
        self.sql().was_truncated(job_id).await
    }
    async fn note_due(&self, message: &CrawlMessage, due_at_ms: u64) -> PortResult<()> {
        self.sql().note_due(message, due_at_ms).await
    }
    async fn record_failure(&self, message: &CrawlMessage, reason: &str) -> PortResult<u32> {
        self.sql().record_failure(message, reason).await
    }
    async fn dead_letter(&self, message: &CrawlMessage, now_ms: u64) -> PortResult<Finished> {
        self.sql().dead_letter(message, now_ms).await
    }
    async fn not_indexed(&self, job_id: &str, limit: u32) -> PortResult<Vec<NotIndexed>> {
        self.sql().not_indexed(job_id, limit).await
    }
    async fn dead_letters(&self, limit: u32) -> PortResult<Vec<DeadLetter>> {
        self.sql().dead_letters(limit).await
    }
    async fn replay_dead_letters(
        &self, job: Option<&str>, now_ms: u64,
    ) -> PortResult<Vec<CrawlMessage>> {
        self.sql().replay_dead_letters(job, now_ms).await
    }
    async fn take_stale_queued(
        &self, older_than_ms: u64, limit: u32, now_ms: u64,
    ) -> PortResult<Vec<CrawlMessage>> {
        self.sql().take_stale_queued(older_than_ms, limit, now_ms).await
    }
}

impl<D: SqlDatabase, I: VectorizeIndex> TicketStore for VectorizeStore<D, I> {
    async fn create_ticket(&self, ticket: &NewTicket, now_ms: u64) -> PortResult<Ticket> {
        self.sql().create_ticket(ticket, now_ms).await
    }
    async fn ticket(&self, id: &str) -> PortResult<Option<(Ticket, String)>> {
        self.sql().ticket(id).await
    }
    async fn list_tickets(
        &self, status: Option<TicketStatus>, limit: u32,
    ) -> PortResult<Vec<Ticket>> {
        self.sql().list_tickets(status, limit).await
    }
    async fn update_ticket(
        &self, id: &str, change: &TicketChange, actor: &str, revision: &str, now_ms: u64,
    ) -> PortResult<TicketUpdate> {
        self.sql().update_ticket(id, change, actor, revision, now_ms).await
    }
    async fn ticket_audit(&self, id: &str) -> PortResult<Vec<AuditEntry>> {
        self.sql().ticket_audit(id).await
    }
}

impl<D: SqlDatabase, I: VectorizeIndex> AnswerStore for VectorizeStore<D, I> {
    async fn record_declined(&self, question: &str, now_ms: u64) -> PortResult<()> {
        self.sql().record_declined(question, now_ms).await
    }
    async fn declined_questions(
        &self, limit: u32,
    ) -> PortResult<Vec<crate::api::DeclinedQuestion>> {
        self.sql().declined_questions(limit).await
    }
    async fn record_feedback(&self, feedback: &docent_core::domain::Feedback) -> PortResult<()> {
        self.sql().record_feedback(feedback).await
    }
    async fn list_feedback(
        &self, rating: Option<docent_core::domain::Rating>, limit: u32,
    ) -> PortResult<Vec<docent_core::domain::Feedback>> {
        self.sql().list_feedback(rating, limit).await
    }
    async fn add_usage(&self, record: &docent_core::domain::UsageRecord) -> PortResult<()> {
        self.sql().add_usage(record).await
    }
    async fn usage_since(
        &self, since_day: &str,
    ) -> PortResult<Vec<docent_core::domain::UsageTotals>> {
        self.sql().usage_since(since_day).await
    }
}

impl<D: SqlDatabase, I: VectorizeIndex> RateStore for VectorizeStore<D, I> {
    async fn count_request(
        &self, counter: &str, window_start_ms: u64, expires_ms: u64,
    ) -> PortResult<u64> {
        self.sql().count_request(counter, window_start_ms, expires_ms).await
    }
    async fn forget_expired_counts(&self, now_ms: u64) -> PortResult<()> {
        self.sql().forget_expired_counts(now_ms).await
    }
}

impl<D: SqlDatabase, I: VectorizeIndex> MetricsStore for VectorizeStore<D, I> {
    async fn add_metrics(
        &self, deltas: &[(docent_core::ops::metrics::SeriesKey, f64)],
    ) -> PortResult<()> {
        self.sql().add_metrics(deltas).await
    }
    async fn metric_totals(&self) -> PortResult<Vec<(docent_core::ops::metrics::SeriesKey, f64)>> {
        self.sql().metric_totals().await
    }
    async fn crawl_gauges(&self) -> PortResult<CrawlGauges> {
        self.sql().crawl_gauges().await
    }
    fn take_sql_counts(&self) -> crate::SqlCounts {
        self.sql().take_sql_counts()
    }
}
