//! Per-client request counts (`rate_counters`) for the public routes' limits.

use docent_core::ports::{PortResult, SqlDatabase, Statement};

use crate::rows::single_int;
use crate::SqlStore;

impl<D: SqlDatabase> crate::api::RateStore for SqlStore<D> {
    async fn count_request(
        &self, counter: &str, window_start_ms: u64, expires_ms: u64,
    ) -> PortResult<u64> {
        // One statement: the database serialises concurrent upserts of a row, so none is lost.
        let rows = self
            .query(
                "INSERT INTO rate_counters (counter, window_start_ms, requests, expires_ms)
                 VALUES (?1, ?2, 1, ?3)
                 ON CONFLICT (counter, window_start_ms) DO UPDATE SET requests = rate_counters.requests + 1
                 RETURNING requests",
                vec![counter.into(), window_start_ms.into(), expires_ms.into()],
            )
            .await?;
        single_int(&rows)
    }

    async fn forget_expired_counts(&self, now_ms: u64) -> PortResult<()> {
        self.db
            .batch(&[Statement::new(
                "DELETE FROM rate_counters WHERE expires_ms < ?1",
                vec![now_ms.into()],
            )])
            .await?;
        Ok(())
    }
}
