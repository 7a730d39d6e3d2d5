//! Every record Docent keeps in KV, in one place: the key that finds it, how long it lives and the
//! type of its value, stored as JSON.
//!
//! Key spellings are a storage contract: deployed data is found by them, so they never change (the
//! tests pin each one). Handlers touch KV only through [`KvState`]; the circuit breakers of crawl
//! origins and model providers keep their state through [`Breaker`].

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use docent_core::config::Config;
use docent_core::crawl::breaker::{BreakerPolicy, BreakerState, Gate};
use docent_core::crawl::fetch::{RobotsPolicy, ROBOTS_TTL_SECONDS};
use docent_core::domain::sha256_hex;
use docent_core::escalation::signature::TOLERANCE_SECONDS;
use docent_core::llm::prompt::Turn;
use docent_core::ops::alerts::AlertState;
use docent_core::ports::{KeyValue, PortError, PortResult};
use docent_core::retrieval::answer::Source;

use crate::metered::{Meter, Metered};
use crate::Platform;

/// One kind of record kept in KV, named by the key that finds one.
pub trait Record {
    /// The value, stored as its JSON.
    type Value: Serialize + DeserializeOwned;
    /// The KV key.
    fn key(&self) -> String;
    /// How long a saved value lives; `None` until it is replaced.
    fn ttl_seconds(&self, config: &Config) -> Option<u64>;
}

/// Docent's records in the platform's KV, read and written as their types.
pub struct KvState<'a, K> {
    kv: Metered<'a, K>,
    config: &'a Config,
}

impl<'a, K: KeyValue> KvState<'a, K> {
    /// Over `kv`, its calls not counted.
    #[cfg(test)]
    pub fn new(kv: &'a K, config: &'a Config) -> Self {
        KvState { kv: Metered::new(kv, Meter::default()), config }
    }

    /// Over the platform's KV, each call counted in its metrics.
    pub fn of<P: Platform<Kv = K>>(platform: &'a P) -> Self {
        KvState { kv: Metered::new(platform.kv(), Meter::of(platform)), config: platform.config() }
    }

    /// The record's value; `None` when there is none, or when what is stored no longer reads as its
    /// type (the next save replaces it).
    pub async fn load<R: Record>(&self, record: &R) -> PortResult<Option<R::Value>> {
        let stored = self.kv.get(&record.key()).await?;
        Ok(stored.and_then(|json| serde_json::from_str(&json).ok()))
    }

    pub async fn save<R: Record>(&self, record: &R, value: &R::Value) -> PortResult<()> {
        let key = record.key();
        let json = serde_json::to_string(value)
            .map_err(|e| PortError::permanent(format!("{key}: {e}")))?;
        self.kv.put(&key, &json, record.ttl_seconds(self.config)).await
    }

    pub async fn delete<R: Record>(&self, record: &R) -> PortResult<()> {
        self.kv.delete(&record.key()).await
    }
}

/// `session:{id}`: a conversation of `/api/chat`, kept for `DOCENT_SESSION_TTL_SECONDS`.
pub struct SessionKey<'a> {
    pub id: &'a str,
}

impl Record for SessionKey<'_> {
    type Value = Session;
    fn key(&self) -> String {
        format!("session:{}", self.id)
    }
    fn ttl_seconds(&self, config: &Config) -> Option<u64> {
        Some(config.session_ttl_seconds)
    }
}

/// A conversation: its last turns, and how many answers it has had (so answer `<session>-<n>` is
/// found among the kept turns for feedback).
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Session {
    pub turns: Vec<Turn>,
    #[serde(default)]
    pub answers: u64,
}

impl Session {
    /// The turn that answer number `n` (1-based) gave, while the session still keeps it.
    pub fn turn(&self, n: u64) -> Option<&Turn> {
        let first_kept = self.answers.checked_sub(self.turns.len() as u64)? + 1;
        let index = n.checked_sub(first_kept)?;
        self.turns.get(usize::try_from(index).ok()?)
    }
}

/// `answer:{fingerprint}`: the response cache, kept for `DOCENT_ANSWER_CACHE_SECONDS` (at least
/// KV's minimum of 60 s). The fingerprint is `core::llm::accounting::answer_fingerprint`'s.
pub struct CachedAnswerKey {
    pub fingerprint: String,
}

impl Record for CachedAnswerKey {
    type Value = CachedAnswer;
    fn key(&self) -> String {
        format!("answer:{}", self.fingerprint)
    }
    fn ttl_seconds(&self, config: &Config) -> Option<u64> {
        Some(config.llm.answer_cache_seconds.max(60))
    }
}

/// What the response cache keeps of an answer.
#[derive(Debug, Serialize, Deserialize)]
pub struct CachedAnswer {
    pub sources: Vec<Source>,
    pub text: String,
    pub mode: String,
    pub escalate: bool,
    pub usage: AnswerUsage,
}

/// What an answer cost.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct AnswerUsage {
    /// The provider that answered (null when no model was asked).
    pub provider: Option<String>,
    /// The model that answered, or `extractive` or `none`.
    pub model: String,
    pub prompt_tokens: u32,
    pub completion_tokens: u32,
    /// True when the provider did not report tokens and they were estimated.
    pub estimated: bool,
    /// Estimated, in US dollars.
    pub cost_usd: f64,
    /// Passages given to the model.
    pub passages: usize,
}

/// `robots:{origin}`: what the origin's robots.txt allows, trusted for [`ROBOTS_TTL_SECONDS`].
pub struct RobotsKey<'a> {
    pub origin: &'a str,
}

impl Record for RobotsKey<'_> {
    type Value = RobotsPolicy;
    fn key(&self) -> String {
        format!("robots:{}", self.origin)
    }
    fn ttl_seconds(&self, _: &Config) -> Option<u64> {
        Some(ROBOTS_TTL_SECONDS)
    }
}

/// `breaker:{origin}`: a crawl origin's circuit breaker, kept a day.
pub struct CrawlBreakerKey<'a> {
    pub origin: &'a str,
}

impl Record for CrawlBreakerKey<'_> {
    type Value = BreakerState;
    fn key(&self) -> String {
        format!("breaker:{}", self.origin)
    }
    fn ttl_seconds(&self, _: &Config) -> Option<u64> {
        Some(24 * 3600)
    }
}

/// `llm-breaker:{provider}`: a model provider's circuit breaker, kept for twice its cool-down
/// (counted as at least KV's minimum of 60 s), so it outlives the cool-down.
#[derive(Clone, Copy)]
pub struct LlmBreakerKey<'a> {
    pub provider: &'a str,
}

impl Record for LlmBreakerKey<'_> {
    type Value = BreakerState;
    fn key(&self) -> String {
        format!("llm-breaker:{}", self.provider)
    }
    fn ttl_seconds(&self, config: &Config) -> Option<u64> {
        Some((config.llm.breaker.cool_down_ms / 1000).max(60) * 2)
    }
}

/// `schedule:last-run`: when the cron last ran (ms since the epoch); kept until the next run.
pub struct LastScheduleRunKey;

impl Record for LastScheduleRunKey {
    type Value = u64;
    fn key(&self) -> String {
        "schedule:last-run".into()
    }
    fn ttl_seconds(&self, _: &Config) -> Option<u64> {
        None
    }
}

/// `ops:alerts`: the alert rules' states and the totals their next window starts from; kept until
/// the next evaluation.
pub struct AlertsKey;

impl Record for AlertsKey {
    type Value = AlertBook;
    fn key(&self) -> String {
        "ops:alerts".into()
    }
    fn ttl_seconds(&self, _: &Config) -> Option<u64> {
        None
    }
}

/// What the alert evaluation keeps between cron ticks: each rule's state and the totals the next
/// window starts from.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct AlertBook {
    pub alerts: Vec<AlertState>,
    /// When the current window started (ms), and the totals then.
    pub window_start_ms: u64,
    pub window_start: Vec<(String, String, f64)>,
}

/// `emb:{hash}`: a provider's embedding of a text, kept 30 days; the hash is the first 40 hex
/// digits of SHA-256 over `{model}\n{text}`.
pub struct EmbeddingKey<'a> {
    pub model: &'a str,
    pub text: &'a str,
}

impl Record for EmbeddingKey<'_> {
    type Value = Vec<f32>;
    fn key(&self) -> String {
        let hash = sha256_hex(format!("{}\n{}", self.model, self.text).as_bytes());
        format!("emb:{}", &hash[..40])
    }
    fn ttl_seconds(&self, _: &Config) -> Option<u64> {
        Some(30 * 24 * 3600)
    }
}

/// `webhook:{source}:{delivery_id}`: a delivery already processed (the value is `1`).
pub struct WebhookDeliveryKey<'a> {
    pub source: &'a str,
    pub delivery_id: &'a str,
    /// Whether the scheme signs a timestamp (Standard Webhooks). Such deliveries need only be
    /// remembered past the timestamp's tolerance; GitHub and generic senders sign none, so theirs
    /// are remembered for a day.
    pub timestamped: bool,
}

impl Record for WebhookDeliveryKey<'_> {
    type Value = u8;
    fn key(&self) -> String {
        format!("webhook:{}:{}", self.source, self.delivery_id)
    }
    fn ttl_seconds(&self, _: &Config) -> Option<u64> {
        Some(if self.timestamped { 2 * TOLERANCE_SECONDS } else { 24 * 3600 })
    }
}

/// What a call a breaker guards tells it; the caller decides what counts as a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerOutcome {
    /// The other side answered: the circuit closes.
    Success,
    /// The other side failed: one more consecutive failure, which may open the circuit.
    Failure,
    /// Nothing was learnt about the other side (the caller's own limits stopped the call, say).
    Inconclusive,
}

/// A circuit breaker whose state is a KV record: loaded before the call it guards, asked whether the
/// call may go out, then settled with the call's outcome. The decisions are the core's
/// [`BreakerPolicy`]; this only keeps its state.
pub struct Breaker<R> {
    key: R,
    policy: BreakerPolicy,
    state: BreakerState,
}

impl<R: Record<Value = BreakerState>> Breaker<R> {
    /// The breaker as last saved; closed when nothing (readable) is saved.
    pub async fn load<K: KeyValue>(
        kv: &KvState<'_, K>, key: R, policy: BreakerPolicy,
    ) -> PortResult<Self> {
        let state = kv.load(&key).await?.unwrap_or_default();
        Ok(Breaker { key, policy, state })
    }

    /// A closed breaker, for a caller that goes ahead when its breaker cannot be read.
    pub fn closed(key: R, policy: BreakerPolicy) -> Self {
        Breaker { key, policy, state: BreakerState::default() }
    }

    pub fn gate(&self, now_ms: u64) -> Gate {
        self.policy.gate(&self.state, now_ms)
    }

    /// Saves the state the outcome leads to, if it changed; a closed circuit is no record at all.
    pub async fn settle<K: KeyValue>(
        self, kv: &KvState<'_, K>, outcome: BreakerOutcome, now_ms: u64,
    ) -> PortResult<()> {
        let next = match outcome {
            BreakerOutcome::Success => self.policy.on_success(),
            BreakerOutcome::Failure => self.policy.on_failure(&self.state, now_ms),
            BreakerOutcome::Inconclusive => return Ok(()),
        };
        if next == self.state {
            Ok(())
        } else if next == BreakerState::default() {
            kv.delete(&self.key).await
        } else {
            kv.save(&self.key, &next).await
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::collections::HashMap;
    use std::future::Future;

    use futures_util::FutureExt;

    use super::*;

    /// KV in memory, keeping each value's TTL.
    #[derive(Default)]
    struct MemoryKv(RefCell<HashMap<String, (String, Option<u64>)>>);

    impl KeyValue for MemoryKv {
        async fn get(&self, key: &str) -> PortResult<Option<String>> {
            Ok(self.0.borrow().get(key).map(|(value, _)| value.clone()))
        }
        async fn put(&self, key: &str, value: &str, ttl_seconds: Option<u64>) -> PortResult<()> {
            self.0.borrow_mut().insert(key.into(), (value.into(), ttl_seconds));
            Ok(())
        }
        async fn delete(&self, key: &str) -> PortResult<()> {
            self.0.borrow_mut().remove(key);
            Ok(())
        }
    }

    impl MemoryKv {
        fn stored(&self, key: &str) -> Option<(String, Option<u64>)> {
            self.0.borrow().get(key).cloned()
        }
    }

    /// Runs a future of the memory KV, which never waits.
    fn now<T>(future: impl Future<Output = T>) -> T {
        future.now_or_never().expect("the memory KV never waits")
    }

    const SESSION_ID: &str = "0123456789abcdef0123456789abcdef";
    const WEBHOOK: WebhookDeliveryKey =
        WebhookDeliveryKey { source: "docs", delivery_id: "msg_2b", timestamped: true };

    #[test]
    fn keys_are_spelled_as_deployed_data_is_stored() {
        assert_eq!(SessionKey { id: SESSION_ID }.key(), "session:0123456789abcdef0123456789abcdef");
        let fingerprint = docent_core::llm::accounting::answer_fingerprint(
            "Does Harbor run on Windows?",
            7,
            "openai:gpt-4o-mini",
        );
        assert_eq!(
            CachedAnswerKey { fingerprint }.key(),
            "answer:d7d48bc63b7bd6d57c393e376ff075e3"
        );
        assert_eq!(
            RobotsKey { origin: "https://docs.example.com" }.key(),
            "robots:https://docs.example.com"
        );
        assert_eq!(
            CrawlBreakerKey { origin: "https://docs.example.com" }.key(),
            "breaker:https://docs.example.com"
        );
        assert_eq!(LlmBreakerKey { provider: "primary" }.key(), "llm-breaker:primary");
        assert_eq!(LastScheduleRunKey.key(), "schedule:last-run");
        assert_eq!(
            EmbeddingKey { model: "text-embedding-3-small", text: "Harbor runs on Linux." }.key(),
            "emb:884a3dfc514a8aab67b296dac35ad81802a048f6"
        );
        assert_eq!(WEBHOOK.key(), "webhook:docs:msg_2b");
        assert_eq!(
            WebhookDeliveryKey { timestamped: false, ..WEBHOOK }.key(),
            "webhook:docs:msg_2b",
            "the scheme changes how long an id is kept, not its key"
        );
    }

    #[test]
    fn lifetimes() {
        let config = Config { session_ttl_seconds: 7_200, ..Config::default() };
        assert_eq!(SessionKey { id: SESSION_ID }.ttl_seconds(&config), Some(7_200));
        let answer = CachedAnswerKey { fingerprint: "d7d48bc63b7bd6d57c393e376ff075e3".into() };
        assert_eq!(answer.ttl_seconds(&config), Some(3_600));
        let mut brief = Config::default();
        brief.llm.answer_cache_seconds = 10;
        assert_eq!(answer.ttl_seconds(&brief), Some(60), "KV keeps nothing for less than 60 s");
        assert_eq!(RobotsKey { origin: "https://a.example" }.ttl_seconds(&config), Some(3_600));
        assert_eq!(
            CrawlBreakerKey { origin: "https://a.example" }.ttl_seconds(&config),
            Some(86_400)
        );
        // Twice the provider's cool-down (30 s by default), of at least 60 s.
        let provider = LlmBreakerKey { provider: "primary" };
        assert_eq!(provider.ttl_seconds(&config), Some(120));
        let mut slow = Config::default();
        slow.llm.breaker.cool_down_ms = 300_000;
        assert_eq!(provider.ttl_seconds(&slow), Some(600));
        assert_eq!(LastScheduleRunKey.ttl_seconds(&config), None);
        assert_eq!(
            EmbeddingKey { model: "m", text: "t" }.ttl_seconds(&config),
            Some(30 * 24 * 3600)
        );
        assert_eq!(WEBHOOK.ttl_seconds(&config), Some(600));
        assert_eq!(
            WebhookDeliveryKey { timestamped: false, ..WEBHOOK }.ttl_seconds(&config),
            Some(24 * 3600)
        );
    }

    #[test]
    fn values_are_stored_as_the_json_deployed_data_holds() {
        let (kv, config) = (MemoryKv::default(), Config::default());
        let state = KvState::new(&kv, &config);
        let turn = Turn { user: "q".into(), assistant: "a".into() };
        let session = Session { turns: vec![turn], answers: 1 };
        now(state.save(&SessionKey { id: SESSION_ID }, &session)).unwrap();
        now(state.save(&LastScheduleRunKey, &1_800_000_000_000)).unwrap();
        now(state.save(&WEBHOOK, &1)).unwrap();
        now(state.save(&EmbeddingKey { model: "m", text: "t" }, &vec![0.6, 0.8])).unwrap();
        let stored = |key: &str| kv.stored(key).map(|(value, _)| value);
        assert_eq!(
            stored("session:0123456789abcdef0123456789abcdef").as_deref(),
            Some(r#"{"turns":[{"user":"q","assistant":"a"}],"answers":1}"#)
        );
        assert_eq!(stored("schedule:last-run").as_deref(), Some("1800000000000"));
        assert_eq!(stored("webhook:docs:msg_2b").as_deref(), Some("1"));
        assert_eq!(
            stored(&EmbeddingKey { model: "m", text: "t" }.key()).as_deref(),
            Some("[0.6,0.8]")
        );
        // A save keeps the record's lifetime.
        assert_eq!(kv.stored("webhook:docs:msg_2b").and_then(|(_, ttl)| ttl), Some(600));
        assert_eq!(kv.stored("schedule:last-run").and_then(|(_, ttl)| ttl), None);
    }

    #[test]
    fn what_no_longer_reads_as_its_type_is_absent() {
        let (kv, config) = (MemoryKv::default(), Config::default());
        let state = KvState::new(&kv, &config);
        now(kv.put("schedule:last-run", "yesterday", None)).unwrap();
        assert_eq!(now(state.load(&LastScheduleRunKey)).unwrap(), None);
        // A session saved before answers were counted still reads.
        now(kv.put("session:0123456789abcdef0123456789abcdef", r#"{"turns":[]}"#, None)).unwrap();
        let session = now(state.load(&SessionKey { id: SESSION_ID })).unwrap().unwrap();
        assert_eq!((session.turns.len(), session.answers), (0, 0));
    }

    #[test]
    fn a_breaker_keeps_its_failures_and_forgets_itself_once_closed() {
        let (kv, config) = (MemoryKv::default(), Config::default());
        let state = KvState::new(&kv, &config);
        let policy = BreakerPolicy { failure_threshold: 2, cool_down_ms: 60_000 };
        let key = || CrawlBreakerKey { origin: "https://docs.example.com" };
        let load = || now(Breaker::load(&state, key(), policy)).unwrap();
        let settle = |outcome, at| now(load().settle(&state, outcome, at)).unwrap();
        let stored = || kv.stored("breaker:https://docs.example.com");

        assert_eq!(load().gate(0), Gate::Closed);
        settle(BreakerOutcome::Success, 1_000);
        assert_eq!(stored(), None, "a closed breaker that stays closed writes nothing");
        settle(BreakerOutcome::Failure, 1_000);
        assert_eq!(
            stored(),
            Some((r#"{"consecutive_failures":1,"opened_at_ms":null}"#.into(), Some(86_400)))
        );
        settle(BreakerOutcome::Inconclusive, 2_000);
        assert_eq!(load().state.consecutive_failures, 1, "an inconclusive call changes nothing");
        settle(BreakerOutcome::Failure, 3_000);
        assert_eq!(load().gate(4_000), Gate::Open { retry_in_seconds: 59 });
        // The probe after the cool-down succeeds: closed, and nothing is kept.
        assert_eq!(load().gate(63_000), Gate::HalfOpen);
        settle(BreakerOutcome::Success, 63_000);
        assert_eq!(stored(), None);
        assert_eq!(load().gate(63_000), Gate::Closed);
    }

    #[test]
    fn answers_are_found_among_the_kept_turns() {
        let turn = |n: u64| Turn { user: format!("q{n}"), assistant: format!("a{n}") };
        // Twelve answers, of which the last ten are kept.
        let session = Session { turns: (3..=12).map(turn).collect(), answers: 12 };
        assert_eq!(session.turn(12).map(|t| t.user.as_str()), Some("q12"));
        assert_eq!(session.turn(3).map(|t| t.user.as_str()), Some("q3"));
        assert!(
            session.turn(2).is_none() && session.turn(13).is_none() && session.turn(0).is_none()
        );
        // A session from before answers were counted rates nothing rather than the wrong turn.
        assert!(Session { turns: vec![turn(1)], answers: 0 }.turn(1).is_none());
    }
}
