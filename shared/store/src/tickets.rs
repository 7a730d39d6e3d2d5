//! Support tickets with their comments and audit log; every change is conditional on the revision
//! read, so concurrent updates are detected instead of lost.

use crate::api::{TicketStore, TicketUpdate};
use crate::rows::{int, opt_text, text, to_json};
use crate::SqlStore;
use docent_core::domain::format_timestamp;
use docent_core::escalation::tickets::{
    AuditEntry, NewTicket, Ticket, TicketChange, TicketComment, TicketStatus,
};
use docent_core::ports::{PortError, PortResult, Row, SqlDatabase, Statement};

const TICKET_COLUMNS: &str =
    "id, status, subject, description, email, assignee, transcript, sources, created_at, updated_at, token_hash, revision";

impl<D: SqlDatabase> SqlStore<D> {
    async fn ticket_from_row(&self, row: &Row) -> PortResult<(Ticket, String, String)> {
        let id = text(row, 0)?;
        let json = |i: usize| -> PortResult<serde_json::Value> {
            serde_json::from_str(&text(row, i)?)
                .map_err(|e| PortError::permanent(format!("corrupt ticket column {i}: {e}")))
        };
        let comments = self
            .query(
                "SELECT author, text, at FROM ticket_comments WHERE ticket_id = ?1 ORDER BY id",
                vec![id.as_str().into()],
            )
            .await?
            .iter()
            .map(|r| {
                Ok(TicketComment {
                    author: text(r, 0)?,
                    text: text(r, 1)?,
                    at: format_timestamp(int(r, 2)?),
                })
            })
            .collect::<PortResult<Vec<_>>>()?;
        let ticket = Ticket {
            status: TicketStatus::parse(&text(row, 1)?)
                .ok_or_else(|| PortError::permanent("corrupt ticket status"))?,
            subject: text(row, 2)?,
            description: text(row, 3)?,
            email: opt_text(row, 4),
            assignee: opt_text(row, 5),
            transcript: serde_json::from_value(json(6)?)
                .map_err(|e| PortError::permanent(e.to_string()))?,
            sources: serde_json::from_value(json(7)?)
                .map_err(|e| PortError::permanent(e.to_string()))?,
            comments,
            created_at: format_timestamp(int(row, 8)?),
            updated_at: format_timestamp(int(row, 9)?),
            id,
        };
        Ok((ticket, text(row, 10)?, text(row, 11)?))
    }
}

fn audit_statement(
    id: &str,
    revision: &str,
    now_ms: u64,
    actor: &str,
    action: &str,
    detail: serde_json::Value,
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
                    format!("INSERT INTO tickets ({TICKET_COLUMNS}) VALUES (?1, 'open', ?2, ?3, ?4, NULL, ?5, ?6, ?7, ?7, ?8, ?9)"),
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
        let rows = self
            .query(&format!("SELECT {TICKET_COLUMNS} FROM tickets WHERE id = ?1"), vec![id.into()])
            .await?;
        match rows.first() {
            None => Ok(None),
            Some(row) => self.ticket_from_row(row).await.map(|(t, hash, _)| Some((t, hash))),
        }
    }

    async fn list_tickets(
        &self,
        status: Option<TicketStatus>,
        limit: u32,
    ) -> PortResult<Vec<Ticket>> {
        let rows = self
            .query(
                &format!("SELECT {TICKET_COLUMNS} FROM tickets WHERE CAST(?1 AS TEXT) IS NULL OR status = ?1 ORDER BY updated_at DESC LIMIT ?2"),
                vec![status.map(|s| s.as_str()).into(), u64::from(limit).into()],
            )
            .await?;
        let mut tickets = Vec::with_capacity(rows.len());
        for row in &rows {
            tickets.push(self.ticket_from_row(row).await?.0);
        }
        Ok(tickets)
    }

    async fn update_ticket(
        &self,
        id: &str,
        change: &TicketChange,
        actor: &str,
        revision: &str,
        now_ms: u64,
    ) -> PortResult<TicketUpdate> {
        let rows = self
            .query(&format!("SELECT {TICKET_COLUMNS} FROM tickets WHERE id = ?1"), vec![id.into()])
            .await?;
        let Some(row) = rows.first() else { return Ok(TicketUpdate::NotFound) };
        let (current, _, current_revision) = self.ticket_from_row(row).await?;
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
            .query("SELECT at, actor, action, detail FROM ticket_audit WHERE ticket_id = ?1 ORDER BY id", vec![id.into()])
            .await?;
        rows.iter()
            .map(|r| {
                Ok(AuditEntry {
                    at: format_timestamp(int(r, 0)?),
                    actor: text(r, 1)?,
                    action: text(r, 2)?,
                    detail: serde_json::from_str(&text(r, 3)?).unwrap_or(serde_json::Value::Null),
                })
            })
            .collect()
    }
}
