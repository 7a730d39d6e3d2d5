//! Support tickets with their comments and audit log; every change is conditional on the revision
//! read, so concurrent updates are detected instead of lost.

use crate::api::{TicketStore, TicketUpdate};
use crate::rows::{decode, decode_first, to_json, Columns, FromRow};
use crate::SqlStore;
use docent_core::domain::format_timestamp;
use docent_core::escalation::tickets::{
    AuditEntry, NewTicket, Ticket, TicketChange, TicketComment, TicketStatus,
};
use docent_core::ports::{PortError, PortResult, SqlDatabase, Statement};

/// A ticket as its row holds it (its comments are read separately), with the SHA-256 of its
/// requester's access token and its revision.
struct TicketRow {
    ticket: Ticket,
    token_hash: String,
    revision: String,
}

impl FromRow for TicketRow {
    const COLUMNS: &'static str = "id, status, subject, description, email, assignee, transcript, sources, created_at, updated_at, token_hash, revision";
    fn from_row(row: &Columns<'_>) -> PortResult<Self> {
        let ticket = Ticket {
            id: row.text("id")?,
            status: row.parsed("status", TicketStatus::parse)?,
            subject: row.text("subject")?,
            description: row.text("description")?,
            email: row.opt_text("email")?,
            assignee: row.opt_text("assignee")?,
            transcript: row.json("transcript")?,
            sources: row.json("sources")?,
            comments: Vec::new(),
            created_at: format_timestamp(row.int("created_at")?),
            updated_at: format_timestamp(row.int("updated_at")?),
        };
        Ok(TicketRow {
            ticket,
            token_hash: row.text("token_hash")?,
            revision: row.text("revision")?,
        })
    }
}

impl FromRow for TicketComment {
    const COLUMNS: &'static str = "author, text, at";
    fn from_row(row: &Columns<'_>) -> PortResult<Self> {
        Ok(TicketComment {
            author: row.text("author")?,
            text: row.text("text")?,
            at: format_timestamp(row.int("at")?),
        })
    }
}

impl FromRow for AuditEntry {
    const COLUMNS: &'static str = "at, actor, action, detail";
    fn from_row(row: &Columns<'_>) -> PortResult<Self> {
        Ok(AuditEntry {
            at: format_timestamp(row.int("at")?),
            actor: row.text("actor")?,
            action: row.text("action")?,
            // The log is kept even if a detail cannot be read.
            detail: serde_json::from_str(row.str("detail")?).unwrap_or(serde_json::Value::Null),
        })
    }
}

impl<D: SqlDatabase> SqlStore<D> {
    /// The ticket `id` as stored, with its comments.
    async fn ticket_row(&self, id: &str) -> PortResult<Option<TicketRow>> {
        let rows = self
            .query(
                &format!("SELECT {} FROM tickets WHERE id = ?1", TicketRow::COLUMNS),
                vec![id.into()],
            )
            .await?;
        match decode_first(&rows)? {
            Some(row) => Ok(Some(self.with_comments(row).await?)),
            None => Ok(None),
        }
    }

    async fn with_comments(&self, mut row: TicketRow) -> PortResult<TicketRow> {
        let comments = self
            .query(
                &format!(
                    "SELECT {} FROM ticket_comments WHERE ticket_id = ?1 ORDER BY id",
                    TicketComment::COLUMNS
                ),
                vec![row.ticket.id.as_str().into()],
            )
            .await?;
        row.ticket.comments = decode(&comments)?;
        Ok(row)
    }
}

fn audit_statement(
    id: &str, revision: &str, now_ms: u64, actor: &str, action: &str, detail: serde_json::Value,
) -> Statement {
    // Written only if this change's UPDATE won (the ticket carries our revision), in the same
    // transaction.
    Statement::new(
        "INSERT INTO ticket_audit (ticket_id, at, actor, action, detail)
         SELECT ?1, ?2, ?3, ?4, ?5 WHERE EXISTS (SELECT 1 FROM tickets WHERE id = ?1 AND revision = ?6)",
        vec![id.into(), now_ms.into(), actor.into(), action.into(), detail.to_string().into(), revision.into()],
    )
}

impl<D: SqlDatabase> TicketStore for SqlStore<D> {
    async fn create_ticket(&self, t: &NewTicket, now_ms: u64) -> PortResult<Ticket> {
        self.db
            .batch(&[
                Statement::new(
                    "INSERT INTO tickets (id, status, subject, description, email, assignee, transcript, sources, created_at, updated_at, token_hash, revision)
                     VALUES (?1, 'open', ?2, ?3, ?4, NULL, ?5, ?6, ?7, ?7, ?8, ?9)",
                    vec![
                        t.id.as_str().into(),
                        t.subject.as_str().into(),
                        t.description.as_str().into(),
                        t.email.clone().into(),
                        to_json(&t.transcript).into(),
                        to_json(&t.sources).into(),
                        now_ms.into(),
                        t.token_hash.as_str().into(),
                        t.id.as_str().into(),
                    ],
                ),
                audit_statement(&t.id, &t.id, now_ms, &t.actor, "created", serde_json::json!({"subject": t.subject})),
            ])
            .await?;
        self.ticket(&t.id)
            .await?
            .map(|(ticket, _)| ticket)
            .ok_or_else(|| PortError::transient("ticket vanished after insert"))
    }

    async fn ticket(&self, id: &str) -> PortResult<Option<(Ticket, String)>> {
        Ok(self.ticket_row(id).await?.map(|row| (row.ticket, row.token_hash)))
    }

    async fn list_tickets(
        &self, status: Option<TicketStatus>, limit: u32,
    ) -> PortResult<Vec<Ticket>> {
        let rows = self
            .query(
                &format!(
                    "SELECT {} FROM tickets WHERE CAST(?1 AS TEXT) IS NULL OR status = ?1 ORDER BY updated_at DESC LIMIT ?2",
                    TicketRow::COLUMNS
                ),
                vec![status.map(|s| s.as_str()).into(), u64::from(limit).into()],
            )
            .await?;
        let mut tickets = Vec::with_capacity(rows.len());
        for row in decode(&rows)? {
            tickets.push(self.with_comments(row).await?.ticket);
        }
        Ok(tickets)
    }

    async fn update_ticket(
        &self, id: &str, change: &TicketChange, actor: &str, revision: &str, now_ms: u64,
    ) -> PortResult<TicketUpdate> {
        let Some(TicketRow { ticket: current, revision: current_revision, .. }) =
            self.ticket_row(id).await?
        else {
            return Ok(TicketUpdate::NotFound);
        };
        let status = change.status.unwrap_or(current.status);
        if change
            .status
            .is_some_and(|next| next != current.status && !current.status.can_become(next))
        {
            return Ok(TicketUpdate::InvalidTransition { from: current.status, to: status });
        }
        let assignee = change.assignee.clone().unwrap_or(current.assignee.clone());
        let mut statements = vec![Statement::new(
            "UPDATE tickets SET status = ?2, assignee = ?3, updated_at = ?4, revision = ?5 WHERE id = ?1 AND revision = ?6",
            vec![id.into(), status.as_str().into(), assignee.clone().into(), now_ms.into(), revision.into(), current_revision.into()],
        )];
        if status != current.status {
            let detail =
                serde_json::json!({"from": current.status.as_str(), "to": status.as_str()});
            statements.push(audit_statement(id, revision, now_ms, actor, "status_changed", detail));
        }
        if assignee != current.assignee {
            let detail = serde_json::json!({"from": current.assignee, "to": assignee});
            statements.push(audit_statement(id, revision, now_ms, actor, "assigned", detail));
        }
        if let Some(comment) = &change.comment {
            statements.push(Statement::new(
                "INSERT INTO ticket_comments (ticket_id, author, text, at)
                 SELECT ?1, ?2, ?3, ?4 WHERE EXISTS (SELECT 1 FROM tickets WHERE id = ?1 AND revision = ?5)",
                vec![id.into(), actor.into(), comment.as_str().into(), now_ms.into(), revision.into()],
            ));
            statements.push(audit_statement(
                id,
                revision,
                now_ms,
                actor,
                "commented",
                serde_json::json!({"chars": comment.chars().count()}),
            ));
        }
        let changes = self.db.batch(&statements).await?;
        if changes.first().copied().unwrap_or(0) == 0 {
            return Ok(TicketUpdate::Conflict);
        }
        match self.ticket(id).await? {
            Some((ticket, _)) => Ok(TicketUpdate::Updated(Box::new(ticket))),
            None => Ok(TicketUpdate::NotFound),
        }
    }

    async fn ticket_audit(&self, id: &str) -> PortResult<Vec<AuditEntry>> {
        let rows = self
            .query(
                &format!(
                    "SELECT {} FROM ticket_audit WHERE ticket_id = ?1 ORDER BY id",
                    AuditEntry::COLUMNS
                ),
                vec![id.into()],
            )
            .await?;
        decode(&rows)
    }
}
