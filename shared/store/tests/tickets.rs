//! The ticket store on real SQLite and Postgres: lifecycle rules, audit entries written with their
//! change and only then, and concurrent updates detected instead of lost.

mod common;

use common::{store, test_databases, Database, TestDir};
use docent_core::escalation::tickets::{NewTicket, TicketChange, TicketStatus};
use docent_core::ports::{PortResult, Row, SqlDatabase, Statement};
use docent_sqlite::Sqlite;
use docent_store::api::{TicketStore, TicketUpdate};
use docent_store::SqlStore;

/// Each store, fresh for `name` (opened as the loop over them reaches it).
fn stores(name: &str) -> impl Iterator<Item = SqlStore<Database>> {
    test_databases(&format!("tickets_{name}")).map(|location| store(&location))
}

fn new_ticket(id: &str) -> NewTicket {
    NewTicket {
        id: id.into(),
        token_hash: "hash".into(),
        subject: "Cannot log in".into(),
        description: "Since Monday.".into(),
        email: None,
        transcript: vec![],
        sources: vec![],
        actor: "requester".into(),
    }
}

fn status(s: TicketStatus) -> TicketChange {
    TicketChange { status: Some(s), ..TicketChange::default() }
}

#[test]
fn lifecycle_with_audit() {
    pollster::block_on(async {
        for store in stores("lifecycle") {
            let created = store.create_ticket(&new_ticket("t1"), 1_000).await.unwrap();
            assert_eq!(created.status, TicketStatus::Open);
            let change = TicketChange {
                status: Some(TicketStatus::Pending),
                assignee: Some(Some("ana".into())),
                comment: Some("On it".into()),
            };
            let TicketUpdate::Updated(ticket) =
                store.update_ticket("t1", &change, "admin", "r1", 2_000).await.unwrap()
            else {
                panic!()
            };
            assert_eq!(
                (ticket.status, ticket.assignee.as_deref(), ticket.comments.len()),
                (TicketStatus::Pending, Some("ana"), 1)
            );
            assert!(matches!(
                store
                    .update_ticket("t1", &status(TicketStatus::Resolved), "admin", "r2", 3_000)
                    .await
                    .unwrap(),
                TicketUpdate::Updated(_)
            ));
            assert!(matches!(
                store
                    .update_ticket("t1", &status(TicketStatus::Closed), "admin", "r3", 4_000)
                    .await
                    .unwrap(),
                TicketUpdate::Updated(_)
            ));
            assert_eq!(
                store
                    .update_ticket("t1", &status(TicketStatus::Open), "admin", "r4", 5_000)
                    .await
                    .unwrap(),
                TicketUpdate::InvalidTransition {
                    from: TicketStatus::Closed,
                    to: TicketStatus::Open
                }
            );
            let unassign = TicketChange { assignee: Some(None), ..TicketChange::default() };
            let TicketUpdate::Updated(ticket) =
                store.update_ticket("t1", &unassign, "admin", "r5", 6_000).await.unwrap()
            else {
                panic!()
            };
            assert_eq!(ticket.assignee, None);
            let audit = store.ticket_audit("t1").await.unwrap();
            let actions: Vec<&str> = audit.iter().map(|a| a.action.as_str()).collect();
            assert_eq!(
                actions,
                [
                    "created",
                    "status_changed",
                    "assigned",
                    "commented",
                    "status_changed",
                    "status_changed",
                    "assigned"
                ]
            );
            assert_eq!(audit[2].detail, serde_json::json!({"from": null, "to": "ana"}));
            assert_eq!(
                store
                    .update_ticket("nope", &status(TicketStatus::Closed), "admin", "r6", 7_000)
                    .await
                    .unwrap(),
                TicketUpdate::NotFound
            );
        }
    });
}

/// A database where another writer commits just before our next batch: the interleaving of two
/// concurrent updates of one ticket.
struct Interfering {
    inner: Sqlite,
    competing_write: std::cell::RefCell<Option<Statement>>,
}

impl SqlDatabase for Interfering {
    async fn query(&self, statement: &Statement) -> PortResult<Vec<Row>> {
        self.inner.query(statement).await
    }
    async fn batch(&self, statements: &[Statement]) -> PortResult<Vec<u64>> {
        let competing = self.competing_write.borrow_mut().take();
        if let Some(theirs) = competing {
            self.inner.batch(&[theirs]).await?;
        }
        self.inner.batch(statements).await
    }
}

#[test]
fn a_lost_race_writes_nothing() {
    pollster::block_on(async {
        let dir = TestDir::new("tickets-race");
        let db = Interfering {
            inner: Sqlite::open(&dir.join("index.db")).unwrap(),
            competing_write: Default::default(),
        };
        let store = SqlStore::new(db);
        store.ensure_schema().await.unwrap();
        store.create_ticket(&new_ticket("t2"), 1_000).await.unwrap();
        // Between our read and our write, another admin moves the ticket to pending.
        *store.database().competing_write.borrow_mut() = Some(Statement::new(
            "UPDATE tickets SET status = 'pending', revision = 'theirs' WHERE id = 't2'",
            vec![],
        ));
        let change = TicketChange {
            status: Some(TicketStatus::Resolved),
            comment: Some("mine".into()),
            ..TicketChange::default()
        };
        assert_eq!(
            store.update_ticket("t2", &change, "admin", "ours", 2_000).await.unwrap(),
            TicketUpdate::Conflict
        );
        let (ticket, _) = store.ticket("t2").await.unwrap().unwrap();
        assert_eq!(ticket.status, TicketStatus::Pending, "their write stands");
        assert!(ticket.comments.is_empty(), "our comment was not written");
        let actions: Vec<String> =
            store.ticket_audit("t2").await.unwrap().into_iter().map(|a| a.action).collect();
        assert_eq!(actions, ["created"], "no audit entry for a change that did not happen");
        // Retrying from the new state works.
        assert!(matches!(
            store.update_ticket("t2", &change, "admin", "ours-2", 3_000).await.unwrap(),
            TicketUpdate::Updated(_)
        ));
    });
}

#[test]
fn listing_filters_by_status() {
    pollster::block_on(async {
        for store in stores("list") {
            for id in ["a", "b", "c"] {
                store.create_ticket(&new_ticket(id), 1_000).await.unwrap();
            }
            store
                .update_ticket("b", &status(TicketStatus::Pending), "admin", "r", 2_000)
                .await
                .unwrap();
            let open: Vec<String> = store
                .list_tickets(Some(TicketStatus::Open), 10)
                .await
                .unwrap()
                .into_iter()
                .map(|t| t.id)
                .collect();
            assert_eq!(open.len(), 2);
            assert!(!open.contains(&"b".to_string()));
            assert_eq!(
                store.list_tickets(None, 10).await.unwrap()[0].id,
                "b",
                "most recently updated first"
            );
        }
    });
}
