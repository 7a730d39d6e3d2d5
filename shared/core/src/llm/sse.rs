//! Server-sent events framing (the `text/event-stream` format of the HTML standard).

/// Frames one event: `event: <name>` and the payload as `data:` lines, ended by a blank line.
pub fn event(name: &str, data: &serde_json::Value) -> String {
    // serde_json never emits raw newlines, so the payload is always a single data line.
    format!("event: {name}\ndata: {data}\n\n")
}

/// An SSE stream parser for clients of Docent's and providers' streams: feed bytes, get events.
#[derive(Debug, Default)]
pub struct EventParser {
    buffer: String,
    name: Option<String>,
    data: Vec<String>,
}

/// One parsed event; `name` is `message` when the stream did not name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedEvent {
    pub name: String,
    pub data: String,
}

impl EventParser {
    pub fn feed(&mut self, text: &str) -> Vec<ParsedEvent> {
        self.buffer.push_str(text);
        let mut events = Vec::new();
        while let Some(end) = self.buffer.find('\n') {
            let line: String = self.buffer.drain(..=end).collect();
            let line = line.trim_end_matches(['\n', '\r']);
            if line.is_empty() {
                if !self.data.is_empty() {
                    events.push(ParsedEvent {
                        name: self.name.take().unwrap_or_else(|| "message".into()),
                        data: self.data.join("\n"),
                    });
                }
                self.data.clear();
                self.name = None;
            } else if let Some(value) = line.strip_prefix("data:") {
                self.data.push(value.strip_prefix(' ').unwrap_or(value).to_string());
            } else if let Some(value) = line.strip_prefix("event:") {
                self.name = Some(value.trim().to_string());
            }
        }
        events
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_and_parses_back() {
        let framed = event("delta", &serde_json::json!({"text": "line one\nline two"}));
        assert_eq!(framed, "event: delta\ndata: {\"text\":\"line one\\nline two\"}\n\n");
        let mut parser = EventParser::default();
        // Split mid-line to prove buffering.
        let (a, b) = framed.split_at(10);
        assert!(parser.feed(a).is_empty());
        let events = parser.feed(&format!("{b}: comment\ndata: x\n\n"));
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].name, "delta");
        assert_eq!(events[1], ParsedEvent { name: "message".into(), data: "x".into() });
    }
}
