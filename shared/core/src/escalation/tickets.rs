//! Support tickets: the escalation path when the assistant does not know, or a person is wanted.

use serde::{Deserialize, Serialize};

/// Where a ticket is in its lifecycle (open → pending → resolved → closed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum TicketStatus {
    Open,
    Pending,
    Resolved,
    Closed,
}

impl TicketStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TicketStatus::Open => "open",
            TicketStatus::Pending => "pending",
            TicketStatus::Resolved => "resolved",
            TicketStatus::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "open" => TicketStatus::Open,
            "pending" => TicketStatus::Pending,
            "resolved" => TicketStatus::Resolved,
            "closed" => TicketStatus::Closed,
            _ => return None,
        })
    }

    /// The lifecycle: open → pending → resolved → closed, with reopening of pending and resolved
    /// tickets; a closed ticket is final (a new question gets a new ticket).
    pub fn can_become(self, next: TicketStatus) -> bool {
        use TicketStatus::*;
        matches!(
            (self, next),
            (Open, Pending | Resolved | Closed)
                | (Pending, Open | Resolved | Closed)
                | (Resolved, Open | Closed)
        )
    }
}

/// One message of the conversation that led to the ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct TranscriptTurn {
    #[cfg_attr(feature = "schema", schemars(extend("enum" = ["user", "assistant"])))]
    pub role: String,
    #[cfg_attr(feature = "schema", schemars(length(max = MAX_TURN_CHARS)))]
    pub text: String,
}

/// A source the assistant showed, carried into the ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct TicketSource {
    /// An http(s) URL.
    #[cfg_attr(
        feature = "schema",
        schemars(length(max = MAX_SOURCE_URL_CHARS), regex(pattern = "^https?://"))
    )]
    pub url: String,
    #[serde(default)]
    pub title: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct TicketComment {
    pub author: String,
    pub text: String,
    #[cfg_attr(feature = "schema", schemars(extend("format" = "date-time")))]
    pub at: String,
}

/// One change to a ticket, as the audit log records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct AuditEntry {
    #[cfg_attr(feature = "schema", schemars(extend("format" = "date-time")))]
    pub at: String,
    /// `requester`, `admin` or `mcp`.
    pub actor: String,
    /// `created`, `status_changed`, `assigned` or `commented`.
    pub action: String,
    pub detail: serde_json::Value,
}

/// A support ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Ticket {
    pub id: String,
    pub status: TicketStatus,
    pub subject: String,
    pub description: String,
    pub email: Option<String>,
    pub assignee: Option<String>,
    /// The conversation that led to the ticket.
    pub transcript: Vec<TranscriptTurn>,
    /// The sources the assistant showed.
    pub sources: Vec<TicketSource>,
    pub comments: Vec<TicketComment>,
    #[cfg_attr(feature = "schema", schemars(extend("format" = "date-time")))]
    pub created_at: String,
    #[cfg_attr(feature = "schema", schemars(extend("format" = "date-time")))]
    pub updated_at: String,
}

/// A ticket to create, already validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTicket {
    pub id: String,
    /// SHA-256 of the requester's access token; the token itself is never stored.
    pub token_hash: String,
    pub subject: String,
    pub description: String,
    pub email: Option<String>,
    pub transcript: Vec<TranscriptTurn>,
    pub sources: Vec<TicketSource>,
    /// Who created it (`requester`, `admin`, `mcp`), for the audit log.
    pub actor: String,
}

/// A change to a ticket; every field that is set becomes one audit entry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TicketChange {
    pub status: Option<TicketStatus>,
    /// `Some(None)` unassigns.
    pub assignee: Option<Option<String>>,
    pub comment: Option<String>,
}

pub const MAX_SUBJECT_CHARS: usize = 200;
pub const MAX_DESCRIPTION_CHARS: usize = 10_000;
pub const MAX_TRANSCRIPT_TURNS: usize = 50;
pub const MAX_TURN_CHARS: usize = 8_000;
pub const MAX_SOURCES: usize = 20;
pub const MAX_SOURCE_URL_CHARS: usize = 2_000;
/// The longest email address (RFC 5321's path limit).
pub const MAX_EMAIL_CHARS: usize = 254;

/// Checks the free-text parts of a new ticket; the error names the field.
pub fn validate_new_ticket(
    subject: &str, description: &str, email: Option<&str>, transcript: &[TranscriptTurn],
    sources: &[TicketSource],
) -> Result<(), String> {
    if subject.trim().is_empty() || subject.chars().count() > MAX_SUBJECT_CHARS {
        return Err(format!("subject must be 1 to {MAX_SUBJECT_CHARS} characters"));
    }
    if description.chars().count() > MAX_DESCRIPTION_CHARS {
        return Err(format!("description is limited to {MAX_DESCRIPTION_CHARS} characters"));
    }
    if let Some(email) = email {
        let valid = email.len() <= MAX_EMAIL_CHARS
            && email.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty() && domain.contains('.') && !email.contains(char::is_whitespace)
            });
        if !valid {
            return Err("email is not a valid address".into());
        }
    }
    if transcript.len() > MAX_TRANSCRIPT_TURNS {
        return Err(format!("transcript is limited to {MAX_TRANSCRIPT_TURNS} turns"));
    }
    if let Some(turn) = transcript.iter().find(|t| {
        !matches!(t.role.as_str(), "user" | "assistant") || t.text.chars().count() > MAX_TURN_CHARS
    }) {
        return Err(format!("transcript turns need role user or assistant and at most {MAX_TURN_CHARS} characters (got role `{}`)", turn.role));
    }
    if sources.len() > MAX_SOURCES
        || sources.iter().any(|s| {
            !(s.url.starts_with("http://") || s.url.starts_with("https://"))
                || s.url.len() > MAX_SOURCE_URL_CHARS
        })
    {
        return Err(format!("sources: at most {MAX_SOURCES}, each with an http(s) url"));
    }
    Ok(())
}

/// True when the user is asking for a person rather than for documentation.
pub fn wants_human(message: &str) -> bool {
    let lowered = message.to_lowercase();
    const PHRASES: [&str; 9] = [
        "talk to a human",
        "speak to a human",
        "real person",
        "human agent",
        "talk to someone",
        "speak to someone",
        "contact support",
        "support ticket",
        "open a ticket",
    ];
    PHRASES.iter().any(|p| lowered.contains(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifecycle() {
        use TicketStatus::*;
        assert!(
            Open.can_become(Pending) && Pending.can_become(Resolved) && Resolved.can_become(Closed)
        );
        assert!(Resolved.can_become(Open), "a resolved ticket can be reopened");
        assert!(!Closed.can_become(Open), "closed is final");
        assert!(!Open.can_become(Open));
        for s in [Open, Pending, Resolved, Closed] {
            assert_eq!(TicketStatus::parse(s.as_str()), Some(s));
        }
    }

    #[test]
    fn validation_names_the_field() {
        let turn = |role: &str| TranscriptTurn { role: role.into(), text: "hi".into() };
        let source = |url: &str| TicketSource { url: url.into(), title: String::new() };
        assert_eq!(
            validate_new_ticket(
                "Help",
                "",
                Some("a@b.co"),
                &[turn("user")],
                &[source("https://d.test/")]
            ),
            Ok(())
        );
        assert!(validate_new_ticket(" ", "", None, &[], &[]).unwrap_err().starts_with("subject"));
        assert!(validate_new_ticket("x", "", Some("not-an-email"), &[], &[])
            .unwrap_err()
            .starts_with("email"));
        assert!(validate_new_ticket("x", "", None, &[turn("system")], &[])
            .unwrap_err()
            .contains("role `system`"));
        assert!(validate_new_ticket("x", "", None, &[], &[source("javascript:alert(1)")])
            .unwrap_err()
            .starts_with("sources"));
    }

    #[test]
    fn asking_for_a_person() {
        assert!(wants_human("Can I talk to a human please?"));
        assert!(wants_human("I want to open a ticket"));
        assert!(!wants_human("How do I configure the human-readable log format?"));
    }
}
