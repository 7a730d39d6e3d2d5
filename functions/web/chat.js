// Docent chat page: posts the question to /api/chat and renders the server-sent events as they arrive.
// Everything from the server is treated as untrusted text: it is HTML-escaped before the small markdown
// renderer adds its own tags, and only http(s) source URLs become links.
"use strict";

const log = document.getElementById("log");
const form = document.getElementById("ask");
const input = document.getElementById("question");
const sendButton = document.getElementById("send");
let sessionId = sessionStorage.getItem("docent-session") || null;
// The conversation on this page and the sources shown, carried into a ticket on escalation.
const transcript = [];
const shownSources = new Map();

function escapeHtml(text) {
  return text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

function safeUrl(url) {
  try {
    const parsed = new URL(url, location.href);
    return parsed.protocol === "http:" || parsed.protocol === "https:" ? parsed.href : null;
  } catch {
    return null;
  }
}

// Inline markdown on already-escaped text: code, bold, emphasis, citations [n].
function inline(escaped, sources) {
  return escaped
    .replace(/`([^`]+)`/g, "<code>$1</code>")
    .replace(/\*\*([^*]+)\*\*/g, "<strong>$1</strong>")
    .replace(/(^|[^\w])_([^_]+)_(?=[^\w]|$)/g, "$1<em>$2</em>")
    .replace(/\[(\d{1,2})\]/g, (whole, n) => {
      const source = sources[Number(n) - 1];
      const href = source && safeUrl(source.url);
      return href ? `<a class="cite" href="${escapeHtml(href)}" target="_blank" rel="noopener">[${n}]</a>` : whole;
    });
}

// Block markdown: fenced code, headings, quotes, lists, paragraphs.
function renderMarkdown(text, sources) {
  const out = [];
  const blocks = text.split(/\n{2,}/);
  for (const block of blocks) {
    const fence = block.match(/^(```|~~~)[^\n]*\n([\s\S]*?)(\n\1)?$/);
    if (fence) {
      out.push(`<pre><code>${escapeHtml(fence[2])}</code></pre>`);
      continue;
    }
    const escaped = escapeHtml(block);
    const heading = escaped.match(/^(#{1,6}) (.*)$/);
    if (heading) {
      const level = Math.min(heading[1].length + 2, 6);
      out.push(`<h${level}>${inline(heading[2], sources)}</h${level}>`);
    } else if (escaped.startsWith("&gt; ")) {
      const body = escaped.split("\n").map((l) => l.replace(/^&gt; ?/, "")).join("<br>");
      out.push(`<blockquote>${inline(body, sources)}</blockquote>`);
    } else if (/^([-*]|\d+\.) /.test(escaped)) {
      const items = escaped.split("\n").map((l) => `<li>${inline(l.replace(/^([-*]|\d+\.) /, ""), sources)}</li>`);
      out.push(`<ul>${items.join("")}</ul>`);
    } else {
      out.push(`<p>${inline(escaped, sources).replace(/\n/g, "<br>")}</p>`);
    }
  }
  return out.join("");
}

function renderSources(list, sources) {
  list.replaceChildren();
  for (const source of sources) {
    const item = document.createElement("li");
    const href = safeUrl(source.url);
    const label = source.heading ? `${source.title} — ${source.heading}` : source.title || source.url;
    if (href) {
      const link = document.createElement("a");
      link.href = href;
      link.target = "_blank";
      link.rel = "noopener";
      link.textContent = label;
      item.append(link);
    } else {
      item.textContent = label;
    }
    list.append(item);
  }
}

function parseEvents(buffer, onEvent) {
  // Returns the unconsumed tail of the buffer.
  let boundary;
  while ((boundary = buffer.indexOf("\n\n")) !== -1) {
    const raw = buffer.slice(0, boundary);
    buffer = buffer.slice(boundary + 2);
    let name = "message";
    const data = [];
    for (const line of raw.split("\n")) {
      if (line.startsWith("event:")) name = line.slice(6).trim();
      else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
    }
    if (data.length) onEvent(name, JSON.parse(data.join("\n")));
  }
  return buffer;
}

async function ask(question) {
  const turn = document.createElement("li");
  turn.className = "turn";
  const q = document.createElement("div");
  q.className = "question";
  q.textContent = question;
  const answer = document.createElement("div");
  answer.className = "answer";
  answer.setAttribute("data-state", "streaming");
  const body = document.createElement("div");
  body.className = "answer-text";
  body.textContent = "…";
  const sourcesList = document.createElement("ol");
  sourcesList.className = "sources";
  answer.append(body, sourcesList);
  turn.append(q, answer);
  log.append(turn);

  let text = "";
  let sources = [];
  const showError = (message) => {
    const p = document.createElement("p");
    p.className = "error";
    p.textContent = message;
    body.append(p);
  };
  try {
    const response = await fetch("/api/chat", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(sessionId ? { message: question, session_id: sessionId } : { message: question }),
    });
    if (!response.ok) {
      const retry = response.headers.get("Retry-After");
      let message = `The assistant could not answer (HTTP ${response.status}).`;
      try {
        message = (await response.json()).error.message;
      } catch {}
      if (response.status === 429) message = `Too many questions at once — please wait ${retry || "a few"} seconds and try again.`;
      body.textContent = "";
      showError(message);
      return;
    }
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer = parseEvents(buffer + value, (name, data) => {
        if (name === "sources") {
          sources = data.sources || [];
          renderSources(sourcesList, sources);
        } else if (name === "delta") {
          text += data.text;
          body.innerHTML = renderMarkdown(text, sources);
        } else if (name === "done") {
          sessionId = data.session_id;
          sessionStorage.setItem("docent-session", sessionId);
          transcript.push({ role: "user", text: question }, { role: "assistant", text });
          for (const source of sources) if (safeUrl(source.url)) shownSources.set(source.url, source.title || "");
          if (data.escalate) offerTicket(answer, question);
        } else if (name === "error") {
          showError(data.message || "The answer was interrupted.");
        }
      });
    }
  } catch (error) {
    showError(`Connection problem: ${error.message}`);
  } finally {
    answer.setAttribute("data-state", "done");
  }
}

// "Create a ticket": shown when the docs had no answer or a person was asked for.
function offerTicket(container, question) {
  const box = document.createElement("form");
  box.className = "ticket";
  const intro = document.createElement("p");
  intro.textContent = "Need a person? Create a ticket and the support team will follow up.";
  const email = document.createElement("input");
  email.type = "email";
  email.placeholder = "Your email (optional)";
  email.setAttribute("aria-label", "Your email");
  const details = document.createElement("textarea");
  details.rows = 3;
  details.value = question;
  details.setAttribute("aria-label", "What do you need help with?");
  const button = document.createElement("button");
  button.type = "submit";
  button.textContent = "Create a ticket";
  const status = document.createElement("p");
  status.className = "ticket-status";
  box.append(intro, email, details, button, status);
  container.append(box);
  box.addEventListener("submit", async (event) => {
    event.preventDefault();
    button.disabled = true;
    const body = {
      subject: question.slice(0, 200),
      description: details.value.slice(0, 10000),
      transcript: transcript.slice(-50),
      sources: [...shownSources].slice(0, 20).map(([url, title]) => ({ url, title })),
    };
    if (email.value.trim()) body.email = email.value.trim();
    try {
      const response = await fetch("/api/tickets", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
      const data = await response.json();
      if (response.status === 201) {
        const tickets = JSON.parse(localStorage.getItem("docent-tickets") || "{}");
        tickets[data.ticket.id] = data.access_token;
        localStorage.setItem("docent-tickets", JSON.stringify(tickets));
        box.replaceChildren(status);
        status.textContent = `Ticket ${data.ticket.id} created. We will get back to you.`;
      } else if (response.status === 429) {
        status.textContent = `You have opened several tickets just now — please wait ${response.headers.get("Retry-After") || "a few"} seconds.`;
        button.disabled = false;
      } else {
        status.textContent = (data.error && data.error.message) || `Could not create the ticket (HTTP ${response.status}).`;
        button.disabled = false;
      }
    } catch (error) {
      status.textContent = `Connection problem: ${error.message}`;
      button.disabled = false;
    }
  });
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const question = input.value.trim();
  if (!question) return;
  input.value = "";
  sendButton.disabled = true;
  try {
    await ask(question);
  } finally {
    sendButton.disabled = false;
    input.focus();
  }
});

input.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey) {
    event.preventDefault();
    form.requestSubmit();
  }
});
