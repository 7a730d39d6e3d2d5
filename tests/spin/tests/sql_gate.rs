//! The SQL-backed politeness gate (docent_store::sql_gate) that Spin instances share, on real
//! SQLite with two connections (two instances): a write that lands between another instance's read
//! and write makes that instance decide again on the new state, so a slot is never given out twice.

use std::cell::Cell;
use std::rc::Rc;

use docent_cli::platform::Sqlite;
use docent_core::crawl::politeness::{Admission, HostLimits, CONCURRENCY_POLL_MS};
use docent_core::ports::{Clock, FetchGate, PortResult, Row, SqlDatabase, Statement};
use docent_store::sql_gate::{SqlGate, MAX_ATTEMPTS};
use pollster::block_on;

#[derive(Clone)]
struct TestClock(Rc<Cell<u64>>);

impl Clock for TestClock {
    fn now_ms(&self) -> u64 {
        self.0.get()
    }
    fn random_bytes(&self, buf: &mut [u8]) {
        buf.fill(7);
    }
    async fn sleep(&self, ms: u64) {
        self.0.set(self.0.get() + ms);
    }
}

/// A connection that lets the other instance take a slot right after each of its gate reads, for
/// the next `races` reads: the worst interleaving two instances can have.
struct Racing {
    db: Sqlite,
    other: SqlGate<Sqlite, TestClock>,
    races: Cell<u32>,
    other_grants: Cell<u32>,
}

const KEY: &str = "http://docs.example";
const ONE_AT_A_TIME: HostLimits =
    HostLimits { rate_per_second: 0.0, burst: 1, concurrency: 1, lease_ms: 60_000 };
const UNLIMITED_CONCURRENCY: HostLimits =
    HostLimits { rate_per_second: 0.0, burst: 1, concurrency: 50, lease_ms: 60_000 };

impl SqlDatabase for Racing {
    async fn query(&self, statement: &Statement) -> PortResult<Vec<Row>> {
        let rows = self.db.query(statement).await?;
        if statement.sql.starts_with("SELECT version, state FROM politeness_gates")
            && self.races.get() > 0
        {
            self.races.set(self.races.get() - 1);
            if let Admission::Granted { .. } =
                self.other.acquire(KEY, &UNLIMITED_CONCURRENCY).await?
            {
                self.other_grants.set(self.other_grants.get() + 1);
            }
        }
        Ok(rows)
    }
    async fn batch(&self, statements: &[Statement]) -> PortResult<Vec<u64>> {
        self.db.batch(statements).await
    }
}

/// The first instance's connection; the test keeps a handle on it to arm races.
#[derive(Clone)]
struct Shared(Rc<Racing>);

impl SqlDatabase for Shared {
    async fn query(&self, statement: &Statement) -> PortResult<Vec<Row>> {
        self.0.query(statement).await
    }
    async fn batch(&self, statements: &[Statement]) -> PortResult<Vec<u64>> {
        self.0.batch(statements).await
    }
}

struct Setup {
    _dir: docent_e2e::TempDir,
    /// The first instance's gate, racing against the second one's on another connection.
    first: SqlGate<Shared, TestClock>,
    racing: Shared,
    /// A third connection that looks at the same gate from outside.
    observer: SqlGate<Sqlite, TestClock>,
}

fn setup() -> Setup {
    let dir = docent_e2e::TempDir::new("docent-sql-gate");
    let path = dir.path.join("gates.db");
    let clock = TestClock(Rc::new(Cell::new(1_000_000)));
    let other = SqlGate::new(Sqlite::open(&path).unwrap(), clock.clone());
    block_on(other.ensure_schema()).unwrap();
    let racing = Shared(Rc::new(Racing {
        db: Sqlite::open(&path).unwrap(),
        other,
        races: Cell::new(0),
        other_grants: Cell::new(0),
    }));
    let observer = SqlGate::new(Sqlite::open(&path).unwrap(), clock.clone());
    Setup { _dir: dir, first: SqlGate::new(racing.clone(), clock), racing, observer }
}

fn lease(admission: Admission) -> u64 {
    match admission {
        Admission::Granted { lease } => lease,
        Admission::Wait { ms } => panic!("expected a slot, told to wait {ms} ms"),
    }
}

#[test]
fn a_new_gate_created_by_two_instances_at_once_gives_its_one_slot_once() {
    let s = setup();
    // The other instance creates the gate and takes the only slot between this one's read (no row)
    // and its insert: the insert does nothing, and the decision is made again on the stored gate.
    s.racing.0.races.set(1);
    let admission = block_on(s.first.acquire(KEY, &ONE_AT_A_TIME)).unwrap();
    assert_eq!(s.racing.0.other_grants.get(), 1, "the other instance got the slot");
    assert_eq!(
        admission,
        Admission::Wait { ms: CONCURRENCY_POLL_MS },
        "the slot is not given out twice"
    );
}

#[test]
fn a_slot_taken_between_read_and_write_is_seen_on_the_retry() {
    let s = setup();
    let first = lease(block_on(s.first.acquire(KEY, &ONE_AT_A_TIME)).unwrap());
    block_on(s.first.release(KEY, first)).unwrap();
    // Free again; now the other instance takes it after this one read it as free.
    s.racing.0.races.set(1);
    assert_eq!(
        block_on(s.first.acquire(KEY, &ONE_AT_A_TIME)).unwrap(),
        Admission::Wait { ms: CONCURRENCY_POLL_MS }
    );
    assert_eq!(s.racing.0.other_grants.get(), 1);
    // Seen from a third connection: exactly one fetch in flight, and a release frees it.
    assert!(matches!(
        block_on(s.observer.acquire(KEY, &ONE_AT_A_TIME)).unwrap(),
        Admission::Wait { .. }
    ));
    let leases_granted_so_far = first + 1;
    block_on(s.observer.release(KEY, leases_granted_so_far)).unwrap();
    assert!(matches!(
        block_on(s.first.acquire(KEY, &ONE_AT_A_TIME)).unwrap(),
        Admission::Granted { .. }
    ));
}

#[test]
fn lease_ids_never_repeat_across_instances() {
    let s = setup();
    let mut leases = Vec::new();
    for i in 0..10 {
        let gate: &dyn Fn() -> Admission = if i % 2 == 0 {
            &|| block_on(s.first.acquire(KEY, &UNLIMITED_CONCURRENCY)).unwrap()
        } else {
            &|| block_on(s.observer.acquire(KEY, &UNLIMITED_CONCURRENCY)).unwrap()
        };
        leases.push(lease(gate()));
    }
    let mut unique = leases.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 10, "{leases:?}");
}

#[test]
fn a_gate_that_keeps_losing_races_answers_wait_and_never_grants() {
    let s = setup();
    lease(block_on(s.first.acquire(KEY, &UNLIMITED_CONCURRENCY)).unwrap());
    // Every read is followed by another instance's write: after MAX_ATTEMPTS lost races the caller
    // is told to come back, not granted a slot it was never recorded as holding.
    s.racing.0.races.set(MAX_ATTEMPTS);
    assert_eq!(
        block_on(s.first.acquire(KEY, &UNLIMITED_CONCURRENCY)).unwrap(),
        Admission::Wait { ms: CONCURRENCY_POLL_MS }
    );
    assert_eq!(s.racing.0.other_grants.get(), MAX_ATTEMPTS);
    // 1 + MAX_ATTEMPTS slots are recorded as held, all by the winners.
    let limits = HostLimits { concurrency: 1 + MAX_ATTEMPTS, ..UNLIMITED_CONCURRENCY };
    assert!(matches!(block_on(s.observer.acquire(KEY, &limits)).unwrap(), Admission::Wait { .. }));
    // A release that keeps losing is an error the caller may ignore (the lease expires).
    s.racing.0.races.set(MAX_ATTEMPTS);
    assert!(block_on(s.first.release(KEY, 1)).unwrap_err().transient);
}
