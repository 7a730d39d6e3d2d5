// Docent chat page: posts the question to /api/chat and renders the server-sent events as they arrive.
// Everything from the server (crawled passages, model text, titles, URLs) is untrusted: the markdown
// renderer below builds DOM nodes with createElement and textContent only — never innerHTML — and the
// only links in an answer are Docent's own citations (http(s) sources); links written in the text stay
// text, with their URL shown.
"use strict";

const log = document.getElementById("log");
const form = document.getElementById("ask");
const input = document.getElementById("question");
const sendButton = document.getElementById("send");
let sessionId = sessionStorage.getItem("docent-session") || null;
// The conversation on this page and the sources shown, carried into a ticket on escalation.
const transcript = [];
const shownSources = new Map();

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

// An absolute http(s) URL for `url` (relative URLs resolve against this page), or null.
function safeUrl(url) {
  if (typeof url !== "string" || /[\u0000-\u001f]/.test(url)) return null;
  try {
    const parsed = new URL(url, location.href);
    return parsed.protocol === "http:" || parsed.protocol === "https:" ? parsed.href : null;
  } catch {
    return null;
  }
}

function externalLink(href, className) {
  const a = el("a", className);
  a.href = href;
  a.target = "_blank";
  a.rel = "noopener noreferrer";
  return a;
}

// ---- Markdown: a small, strict subset rendered straight to DOM nodes.

const WORD = /[\p{L}\p{N}_]/u;

// Inline markdown: `code`, **bold**, *italic* / _italic_, [text](url) and <https://autolink> (as
// inert text), citations [n] or [1, 2], backslash escapes. Anything that does not parse stays literal text.
function renderInline(text, sources, parent, inLink = false) {
  let plain = "";
  const flush = () => {
    if (plain) parent.append(document.createTextNode(plain));
    plain = "";
  };
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    const rest = text.slice(i);
    if (c === "\\" && i + 1 < text.length && /[\\`*_[\]()<>#!-]/.test(text[i + 1])) {
      plain += text[i + 1];
      i += 2;
      continue;
    }
    if (c === "`") {
      const run = rest.match(/^`+/)[0];
      const close = text.indexOf(run, i + run.length);
      if (close !== -1) {
        flush();
        parent.append(el("code", null, text.slice(i + run.length, close).replace(/^ (.+) $/, "$1")));
        i = close + run.length;
        continue;
      }
      plain += run;
      i += run.length;
      continue;
    }
    if (c === "*" && rest.startsWith("**")) {
      const close = text.indexOf("**", i + 2);
      if (close > i + 2 && !/\s/.test(text[i + 2]) && !/\s/.test(text[close - 1])) {
        flush();
        renderInline(text.slice(i + 2, close), sources, parent.appendChild(el("strong")), inLink);
        i = close + 2;
        continue;
      }
    } else if (c === "*" || c === "_") {
      // Emphasis opens before a non-space and, for "_", not inside a word (snake_case, __dunder).
      const before = i > 0 ? text[i - 1] : " ";
      const opens = text[i + 1] && !/\s/.test(text[i + 1]) && text[i + 1] !== c && (c === "*" || !WORD.test(before));
      if (opens) {
        let close = text.indexOf(c, i + 1);
        while (close !== -1) {
          const after = text[close + 1] || " ";
          const fits = !/\s/.test(text[close - 1]) && after !== c && (c === "*" || !WORD.test(after));
          if (fits) break;
          close = text.indexOf(c, close + 1);
        }
        if (close !== -1) {
          flush();
          renderInline(text.slice(i + 1, close), sources, parent.appendChild(el("em")), inLink);
          i = close + 1;
          continue;
        }
      }
    } else if (c === "[") {
      const cite = rest.match(/^\[(\d{1,3}(?:\s*,\s*\d{1,3})*)\]/);
      if (cite && !inLink) {
        const numbers = cite[1].split(",").map((n) => Number(n.trim()));
        const found = numbers.map((n) => sources.find((s) => s.number === n));
        if (found.every((s) => s && safeUrl(s.url))) {
          flush();
          numbers.forEach((n, k) => {
            const source = found[k];
            const a = externalLink(safeUrl(source.url), "cite");
            a.textContent = `[${n}]`;
            a.setAttribute("aria-label", `Source ${n}: ${source.title || source.url}`);
            parent.append(a);
          });
          i += cite[0].length;
          continue;
        }
      }
      // A link written in the text (a crawled page's, or a model's) is not Docent's to vouch for:
      // only citations link. It shows as its words and, visibly, where it would lead.
      const link = rest.match(/^\[([^\]\n]+)\]\(([^()\s]+)\)/);
      if (link && !inLink) {
        if (safeUrl(link[2])) {
          flush();
          const label = el("span", "inert-link");
          renderInline(link[1], sources, label, true);
          parent.append(label, document.createTextNode(` (${link[2]})`));
          i += link[0].length;
          continue;
        }
        // A link to anything but http(s) stays visible as the text it is.
        plain += link[0];
        i += link[0].length;
        continue;
      }
    } else if (c === "<" && !inLink) {
      const auto = rest.match(/^<(https?:\/\/[^\s<>]+)>/);
      if (auto) {
        plain += auto[1];
        i += auto[0].length;
        continue;
      }
    }
    plain += c;
    i += 1;
  }
  flush();
}

// Inline content whose single newlines become line breaks.
function renderLines(lines, sources, parent) {
  lines.forEach((line, k) => {
    if (k > 0) parent.append(el("br"));
    renderInline(line, sources, parent);
  });
  return parent;
}

const FENCE = /^ {0,3}(`{3,}|~{3,})(.*)$/;
const HEADING = /^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$/;
const QUOTE = /^ {0,3}> ?/;
const ITEM = /^ {0,3}([-*+]|\d{1,9}[.)])\s+(.*)$/;
const RULE = /^ {0,3}([-*_])(\s*\1){2,}\s*$/;
const TABLE_ROW = /^ {0,3}\|.*\|\s*$/;
const TABLE_RULE = /^ {0,3}\|(\s*:?-{3,}:?\s*\|)+\s*$/;

// The cells of a table row `| a | b |`.
function tableCells(line) {
  return line.trim().slice(1, -1).split("|").map((cell) => cell.trim());
}

// Block markdown: fenced code, headings, quotes (nested blocks), lists, tables, rules, paragraphs. A fence
// still open while the answer streams renders as code so far.
function renderBlocks(text, sources, parent) {
  const lines = text.replace(/\r\n?/g, "\n").split("\n");
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (!line.trim()) {
      i += 1;
      continue;
    }
    const fence = line.match(FENCE);
    if (fence) {
      const marker = fence[1];
      const body = [];
      i += 1;
      while (i < lines.length && !(lines[i].trim().startsWith(marker) && /^[`~]+$/.test(lines[i].trim()))) {
        body.push(lines[i]);
        i += 1;
      }
      i += 1; // the closing fence
      const code = el("code", null, body.join("\n"));
      const language = fence[2].trim().split(/\s/)[0];
      if (/^[\w+-]{1,20}$/.test(language)) code.dataset.language = language;
      const pre = el("pre");
      pre.append(code);
      parent.append(pre);
      continue;
    }
    const heading = line.match(HEADING);
    if (heading) {
      const h = el(`h${Math.min(heading[1].length + 2, 6)}`);
      renderInline(heading[2], sources, h);
      parent.append(h);
      i += 1;
      continue;
    }
    if (RULE.test(line)) {
      parent.append(el("hr"));
      i += 1;
      continue;
    }
    if (TABLE_ROW.test(line)) {
      // Rows up to the first line that is not one; a rule row under the first makes it the header.
      const rows = [];
      while (i < lines.length && TABLE_ROW.test(lines[i])) {
        rows.push(lines[i]);
        i += 1;
      }
      const table = el("table");
      let body = rows;
      if (rows.length > 1 && TABLE_RULE.test(rows[1])) {
        const head = el("thead");
        const tr = el("tr");
        for (const cell of tableCells(rows[0])) {
          const th = el("th");
          renderInline(cell, sources, th);
          tr.append(th);
        }
        head.append(tr);
        table.append(head);
        body = rows.slice(2);
      }
      const tbody = el("tbody");
      for (const row of body) {
        if (TABLE_RULE.test(row)) continue;
        const tr = el("tr");
        for (const cell of tableCells(row)) {
          const td = el("td");
          renderInline(cell, sources, td);
          tr.append(td);
        }
        tbody.append(tr);
      }
      table.append(tbody);
      const scroll = el("div");
      scroll.className = "table";
      scroll.append(table);
      parent.append(scroll);
      continue;
    }
    if (QUOTE.test(line)) {
      const inner = [];
      while (i < lines.length && QUOTE.test(lines[i])) {
        inner.push(lines[i].replace(QUOTE, ""));
        i += 1;
      }
      const quote = el("blockquote");
      renderBlocks(inner.join("\n"), sources, quote);
      parent.append(quote);
      continue;
    }
    const item = line.match(ITEM);
    if (item) {
      const ordered = /\d/.test(item[1]);
      const list = el(ordered ? "ol" : "ul");
      if (ordered && Number.parseInt(item[1], 10) !== 1) list.start = Number.parseInt(item[1], 10);
      let current = null;
      while (i < lines.length && lines[i].trim()) {
        const next = lines[i].match(ITEM);
        if (next && /\d/.test(next[1]) === ordered) {
          current = [next[2]];
          list.append(renderLines(current, sources, el("li")));
        } else if (next || FENCE.test(lines[i]) || QUOTE.test(lines[i]) || HEADING.test(lines[i])) {
          break;
        } else {
          // A continuation line of the item above.
          current.push(lines[i].trim());
          list.lastChild.replaceChildren();
          renderLines(current, sources, list.lastChild);
        }
        i += 1;
      }
      parent.append(list);
      continue;
    }
    const paragraph = [];
    while (i < lines.length && lines[i].trim() && !FENCE.test(lines[i]) && !HEADING.test(lines[i]) && !QUOTE.test(lines[i]) && !ITEM.test(lines[i]) && !TABLE_ROW.test(lines[i])) {
      paragraph.push(lines[i]);
      i += 1;
    }
    parent.append(renderLines(paragraph, sources, el("p")));
  }
  return parent;
}

function renderMarkdown(text, sources) {
  return renderBlocks(text, sources, document.createDocumentFragment());
}

// ---- The conversation.

function renderSources(list, sources) {
  list.replaceChildren();
  for (const source of sources) {
    const item = el("li");
    const href = safeUrl(source.url);
    const label = source.heading ? `${source.title} — ${source.heading}` : source.title || source.url;
    if (href) {
      const link = externalLink(href);
      link.textContent = label;
      item.append(link);
    } else {
      item.textContent = label;
    }
    if (source.snippet) item.title = source.snippet;
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
    for (const line of raw.split("\n").map((l) => l.replace(/\r$/, ""))) {
      if (line.startsWith("event:")) name = line.slice(6).trim();
      else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
    }
    if (data.length) {
      let parsed;
      try {
        parsed = JSON.parse(data.join("\n"));
      } catch {
        continue;
      }
      onEvent(name, parsed);
    }
  }
  return buffer;
}

// Seconds to wait from a Retry-After header (delta seconds or an HTTP date), or null.
function retrySeconds(header) {
  if (!header) return null;
  if (/^\d+$/.test(header.trim())) return Math.max(1, Number(header.trim()));
  const when = Date.parse(header);
  return Number.isNaN(when) ? null : Math.max(1, Math.ceil((when - Date.now()) / 1000));
}

async function ask(question) {
  const turn = el("li", "turn");
  const answer = el("div", "answer");
  answer.dataset.state = "streaming";
  const body = el("div", "answer-text", "…");
  const sourcesList = el("ol", "sources");
  sourcesList.setAttribute("aria-label", "Sources");
  answer.append(body, sourcesList);
  turn.append(el("div", "question", question), answer);
  log.append(turn);
  log.setAttribute("aria-busy", "true");
  turn.scrollIntoView({ block: "end" });

  let text = "";
  let sources = [];
  let ended = false;
  const render = () => {
    body.replaceChildren(renderMarkdown(text, sources));
  };
  const showError = (message) => {
    if (!text) body.replaceChildren();
    const p = el("p", "error", message);
    p.setAttribute("role", "alert");
    body.append(p);
  };
  try {
    const response = await fetch("/api/chat", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
      body: JSON.stringify(sessionId ? { message: question, session_id: sessionId } : { message: question }),
    });
    if (!response.ok) {
      let message = `The assistant could not answer (HTTP ${response.status}).`;
      try {
        const error = (await response.json()).error;
        if (error && typeof error.message === "string" && error.message) message = error.message;
      } catch {}
      if (response.status === 429) {
        const seconds = retrySeconds(response.headers.get("Retry-After"));
        message = seconds
          ? `You're asking too quickly — try again in ${seconds} second${seconds === 1 ? "" : "s"}.`
          : "You're asking too quickly — try again in a moment.";
      }
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
          sources = Array.isArray(data.sources) ? data.sources : [];
          renderSources(sourcesList, sources);
          if (text) render();
        } else if (name === "delta") {
          text += typeof data.text === "string" ? data.text : "";
          render();
        } else if (name === "done") {
          ended = true;
          if (!text) body.replaceChildren();
          finish(answer, question, text, sources, data);
        } else if (name === "error") {
          ended = true;
          showError(data.message || "The answer was interrupted.");
        }
      });
    }
    if (!ended) showError("The answer was cut off. Please ask again.");
  } catch (error) {
    showError(`Connection problem: ${error.message}`);
  } finally {
    answer.dataset.state = "done";
    log.setAttribute("aria-busy", "false");
  }
}

// A finished answer: remember the session, mark cached answers, offer feedback and escalation.
function finish(answer, question, text, sources, done) {
  if (typeof done.session_id === "string" && done.session_id) {
    sessionId = done.session_id;
    sessionStorage.setItem("docent-session", sessionId);
  }
  transcript.push({ role: "user", text: question }, { role: "assistant", text });
  for (const source of sources) if (safeUrl(source.url)) shownSources.set(source.url, source.title || "");
  const meta = el("div", "answer-meta");
  if (done.cached) {
    const badge = el("span", "badge", "cached");
    badge.title = "This answer was served from the cache";
    meta.append(badge);
  }
  if (typeof done.answer_id === "string" && done.answer_id) {
    answer.dataset.answerId = done.answer_id;
    meta.append(feedbackControls(done.answer_id));
  }
  if (meta.childNodes.length) answer.append(meta);
  if (done.escalate) offerTicket(answer, question);
}

// Thumbs up / down (with an optional comment) for one answer, posted to /api/feedback.
function feedbackControls(answerId) {
  const box = el("div", "feedback");
  box.setAttribute("role", "group");
  box.setAttribute("aria-label", "Was this answer helpful?");
  const up = el("button", "vote", "👍");
  up.type = "button";
  up.setAttribute("aria-label", "Helpful");
  up.title = "Helpful";
  const down = el("button", "vote", "👎");
  down.type = "button";
  down.setAttribute("aria-label", "Not helpful");
  down.title = "Not helpful";
  const status = el("span", "feedback-status");
  status.setAttribute("role", "status");
  box.append(el("span", "feedback-label", "Helpful?"), up, down, status);

  let commentForm = null;
  const buttons = () => [up, down, ...(commentForm ? commentForm.querySelectorAll("button, textarea") : [])];
  const send = async (rating, comment) => {
    buttons().forEach((b) => (b.disabled = true));
    status.textContent = "Sending…";
    const payload = { answer_id: answerId, rating };
    if (comment) payload.comment = comment;
    try {
      const response = await fetch("/api/feedback", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(payload),
      });
      if (response.ok) {
        status.textContent = "Thanks for the feedback";
        (rating === "up" ? up : down).setAttribute("aria-pressed", "true");
        if (commentForm) commentForm.hidden = true;
        return;
      }
      let message = `Could not send the feedback (HTTP ${response.status}).`;
      try {
        const error = (await response.json()).error;
        if (error && error.message) message = error.message;
      } catch {}
      status.textContent = message;
    } catch (error) {
      status.textContent = `Connection problem: ${error.message}`;
    }
    buttons().forEach((b) => (b.disabled = false));
  };

  up.addEventListener("click", () => send("up"));
  down.addEventListener("click", () => {
    if (commentForm) return;
    commentForm = el("form", "feedback-comment");
    const id = `comment-${answerId}`;
    const label = el("label", null, "What was wrong? (optional)");
    label.htmlFor = id;
    const comment = el("textarea");
    comment.id = id;
    comment.rows = 2;
    comment.maxLength = 2000;
    const submit = el("button", null, "Send feedback");
    submit.type = "submit";
    commentForm.append(label, comment, submit);
    box.after(commentForm);
    up.disabled = true;
    down.setAttribute("aria-expanded", "true");
    commentForm.addEventListener("submit", (event) => {
      event.preventDefault();
      send("down", comment.value.trim());
    });
    comment.focus();
  });
  return box;
}

// "Create a ticket": shown when the docs had no answer or a person was asked for.
function offerTicket(container, question) {
  const box = el("form", "ticket");
  const intro = el("p", null, "Need a person? Create a ticket and the support team will follow up.");
  const email = el("input");
  email.type = "email";
  email.placeholder = "Your email (optional)";
  email.setAttribute("aria-label", "Your email");
  const details = el("textarea");
  details.rows = 3;
  details.value = question;
  details.setAttribute("aria-label", "What do you need help with?");
  const button = el("button", null, "Create a ticket");
  button.type = "submit";
  const status = el("p", "ticket-status");
  status.setAttribute("role", "status");
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
        const seconds = retrySeconds(response.headers.get("Retry-After"));
        status.textContent = `You have opened several tickets just now — please wait ${seconds || "a few"} seconds.`;
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

let asking = false;
form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const question = input.value.trim();
  if (!question || asking) return; // one question at a time (Enter works while the button is disabled)
  input.value = "";
  asking = true;
  sendButton.disabled = true;
  try {
    await ask(question);
  } finally {
    asking = false;
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
