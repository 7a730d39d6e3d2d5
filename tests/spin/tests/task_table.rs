//! The task table (docent_store::tasks) that replaces Cloudflare Queues on Spin, on real SQLite:
//! claims in priority order, never the same row to two drainers while its lease holds, settling
//! only with the lease, and the Worker queue's retry and dead-letter policy.

use std::cell::Cell;
use std::rc::Rc;

use docent_cli::platform::Sqlite;
use docent_core::domain::{CrawlMessage, Priority};
use docent_core::ports::{Clock, CrawlQueue};
use docent_store::tasks::{Retried, TaskQueue, MAX_RETRIES};
use pollster::block_on;

/// A clock the test moves by hand; random bytes from a counter (lease tokens must only differ).
#[derive(Clone)]
struct TestClock {
    now: Rc<Cell<u64>>,
    seed: Rc<Cell<u8>>,
}

impl Clock for TestClock {
    fn now_ms(&self) -> u64 {
        self.now.get()
    }
    fn random_bytes(&self, buf: &mut [u8]) {
        self.seed.set(self.seed.get().wrapping_add(1));
        buf.fill(self.seed.get());
    }
    async fn sleep(&self, ms: u64) {
        self.now.set(self.now.get() + ms);
    }
}

fn message(url: &str, priority: Priority) -> CrawlMessage {
    serde_json::from_value(
        serde_json::json!({"job": "j1", "url": url, "depth": 0, "priority": priority}),
    )
    .expect("a crawl message")
}

struct Setup {
    _dir: docent_e2e::TempDir,
    clock: TestClock,
    /// Two drainers: two connections to one database, as two Spin instances have.
    first: TaskQueue<Sqlite, TestClock>,
    second: TaskQueue<Sqlite, TestClock>,
}

fn setup() -> Setup {
    let dir = docent_e2e::TempDir::new("docent-tasks");
    let path = dir.path.join("tasks.db");
    let clock = TestClock { now: Rc::new(Cell::new(1_000_000)), seed: Rc::new(Cell::new(0)) };
    let first = TaskQueue::new(Sqlite::open(&path).unwrap(), clock.clone());
    block_on(first.ensure_schema()).unwrap();
    let second = TaskQueue::new(Sqlite::open(&path).unwrap(), clock.clone());
    Setup { _dir: dir, clock, first, second }
}

#[test]
fn claims_go_highest_tier_first_and_never_twice_while_leased() {
    let s = setup();
    block_on(s.first.send_batch(&[
        message("low", Priority::Low),
        message("normal-1", Priority::Normal),
        message("critical", Priority::Critical),
    ]))
    .unwrap();
    block_on(
        s.first
            .send_batch(&[message("normal-2", Priority::Normal), message("high", Priority::High)]),
    )
    .unwrap();
    let claimed = block_on(s.first.claim(3, 60_000)).unwrap();
    let urls: Vec<&str> = claimed.iter().map(|t| t.message.url.as_str()).collect();
    assert_eq!(urls, ["critical", "high", "normal-1"], "tier first, then the order sent");
    let rest = block_on(s.second.claim(10, 60_000)).unwrap();
    let urls: Vec<&str> = rest.iter().map(|t| t.message.url.as_str()).collect();
    assert_eq!(urls, ["normal-2", "low"], "the other drainer gets only what is not leased");
    assert!(block_on(s.second.claim(10, 60_000)).unwrap().is_empty());
    // Once a lease runs out the row is claimed again, and only the new holder can settle it.
    s.clock.now.set(s.clock.now.get() + 60_001);
    let again = block_on(s.second.claim(1, 60_000)).unwrap();
    assert_eq!(again[0].message.url, "critical");
    assert!(!block_on(s.first.ack(&claimed[0])).unwrap(), "an expired lease cannot ack");
    assert_eq!(block_on(s.first.retry(&claimed[0], 5)).unwrap(), Retried::LeaseLost);
    assert!(block_on(s.second.ack(&again[0])).unwrap());
    assert_eq!(
        block_on(s.first.backlog()).unwrap().due,
        4,
        "the other expired leases are due again"
    );
}

#[test]
fn delayed_sends_wait_and_retries_end_in_one_dead_letter() {
    let s = setup();
    block_on(s.first.send_later(&[message("later", Priority::Normal)], 30)).unwrap();
    assert!(block_on(s.first.claim(10, 60_000)).unwrap().is_empty(), "not due yet");
    let backlog = block_on(s.first.backlog()).unwrap();
    assert_eq!(
        (backlog.due, backlog.waiting, backlog.next_due_ms),
        (0, 1, Some(s.clock.now.get() + 30_000))
    );
    s.clock.now.set(s.clock.now.get() + 30_000);
    // One delivery and MAX_RETRIES retries, each due after its delay, then a dead letter.
    let mut deliveries = 0;
    let dead = loop {
        let task = block_on(s.first.claim(1, 60_000)).unwrap().pop().expect("the task is due");
        if task.dead {
            break task;
        }
        deliveries += 1;
        assert_eq!(task.retries, deliveries - 1);
        let outcome = block_on(s.first.retry(&task, 2)).unwrap();
        if deliveries <= MAX_RETRIES {
            assert_eq!(outcome, Retried::Rescheduled);
            assert!(
                block_on(s.first.claim(1, 60_000)).unwrap().is_empty(),
                "a retry waits out its delay"
            );
            s.clock.now.set(s.clock.now.get() + 2_000);
        } else {
            assert_eq!(
                outcome,
                Retried::DeadLettered,
                "the last retry's failure makes a dead letter at once"
            );
        }
    };
    assert_eq!(
        deliveries,
        MAX_RETRIES + 1,
        "six attempts, as on the Worker's queue (max_retries = 5)"
    );
    assert_eq!(dead.message.url, "later");
    assert!(block_on(s.first.ack(&dead)).unwrap());
    assert_eq!(block_on(s.first.backlog()).unwrap(), Default::default(), "nothing is left");
}

/// The task table on Postgres (the Spin components' with DOCENT_STORE=postgres), migrated by the
/// store.
fn postgres_queue(
    url: &str, clock: TestClock,
) -> TaskQueue<docent_cli::platform::Database, TestClock> {
    TaskQueue::new(docent_cli::platform::open_database(url).unwrap(), clock)
}

#[test]
fn on_postgres_drainers_skip_rows_another_is_claiming_and_never_share_one() {
    let Some(url) = docent_cli::testing::fresh_postgres_database("spin_task_table") else { return };
    block_on(
        docent_store::SqlStore::new(docent_cli::platform::open_database(&url).unwrap())
            .ensure_schema(),
    )
    .unwrap();
    let clock = TestClock { now: Rc::new(Cell::new(1_000_000)), seed: Rc::new(Cell::new(0)) };
    let queue = postgres_queue(&url, clock.clone());
    let messages: Vec<CrawlMessage> =
        (0..40).map(|i| message(&format!("u{i}"), Priority::Normal)).collect();
    block_on(queue.send_batch(&messages)).unwrap();

    // Another drainer's claim in progress: its transaction holds the two oldest rows. A claim now
    // takes the next ones at once instead of waiting for it (or taking them too).
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let (holder, connection) =
        runtime.block_on(tokio_postgres::connect(&url, tokio_postgres::NoTls)).unwrap();
    runtime.spawn(connection);
    runtime
        .block_on(holder.batch_execute(
            "BEGIN; SELECT id FROM crawl_tasks ORDER BY tier, due_ms, id LIMIT 2 FOR UPDATE",
        ))
        .unwrap();
    let (done, finished) = std::sync::mpsc::channel();
    let claimer_url = url.clone();
    let claimer_clock = (clock.now.get(), 100u8);
    std::thread::spawn(move || {
        let clock = TestClock {
            now: Rc::new(Cell::new(claimer_clock.0)),
            seed: Rc::new(Cell::new(claimer_clock.1)),
        };
        let claimed = block_on(postgres_queue(&claimer_url, clock).claim(3, 60_000)).unwrap();
        let _ = done.send(claimed.into_iter().map(|t| t.message.url).collect::<Vec<_>>());
    });
    let urls = finished
        .recv_timeout(std::time::Duration::from_secs(20))
        .expect("a claim does not wait for rows another drainer is claiming");
    assert_eq!(urls, ["u2", "u3", "u4"], "the rows being claimed elsewhere are skipped");
    runtime.block_on(holder.batch_execute("ROLLBACK")).unwrap();

    // Four drainers on their own connections claim until nothing is due: every row exactly once.
    let drainers: Vec<_> = (0..4u8)
        .map(|n| {
            let url = url.clone();
            let now = clock.now.get();
            std::thread::spawn(move || {
                let queue = postgres_queue(
                    &url,
                    TestClock { now: Rc::new(Cell::new(now)), seed: Rc::new(Cell::new(n * 50)) },
                );
                let mut ids = Vec::new();
                loop {
                    let claimed = block_on(queue.claim(2, 60_000)).unwrap();
                    if claimed.is_empty() {
                        return ids;
                    }
                    ids.extend(claimed.into_iter().map(|t| t.id));
                }
            })
        })
        .collect();
    let mut ids: Vec<i64> = drainers.into_iter().flat_map(|d| d.join().unwrap()).collect();
    // u2..u4 are still leased by the first claim; the other 37 go to the four drainers.
    assert_eq!(ids.len(), 37, "{ids:?}");
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 37, "no row was claimed by two drainers");
}
