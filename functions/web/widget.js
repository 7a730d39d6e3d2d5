// Docent chat: the embeddable widget and the chat page's component, one script.
//
//   <script src="https://<docent>/widget.js" data-title="Ask the docs" data-color="#0b57d0"
//           data-examples="How do I install it?|Where is the cache?" data-position="right"></script>
//
// Without data-target it adds a floating button that opens a chat panel; with data-target="#id" it
// fills that element (inline); data-mode="page" is Docent's own chat page. On other sites the UI lives
// in a shadow root: the host page's CSS cannot reach it and its CSS cannot leak. It talks to the
// Docent that served this script (CORS: the site's origin must be in DOCENT_ALLOWED_ORIGINS).
//
// Everything from the server (crawled passages, model text, titles, URLs) is untrusted: the markdown
// renderer builds DOM nodes with createElement and textContent only — never innerHTML — and the only
// links in an answer are Docent's own citations (http(s) sources); links written in the text stay
// text, with their URL shown.
(() => {
"use strict";

// currentScript is null only for a module or a script run after its element was removed; then the
// last widget.js tag on the page is the one.
const script = document.currentScript || [...document.querySelectorAll('script[src*="widget.js"]')].pop();
// The Docent that served this script answers the questions.
const BASE = new URL(script.src, location.href).origin;
const SESSION_KEY = "docent-session";

// Web storage that throws (storage blocked by the visitor, a sandboxed frame) or is full costs the
// conversation its memory across page loads, never the widget.
function stored(area, key) {
  try {
    return window[area].getItem(key);
  } catch {
    return null;
  }
}
function store(area, key, value) {
  try {
    window[area].setItem(key, value);
  } catch {}
}


// ---- Style: custom properties on :host (in a shadow root) or :root (the page), classes below. Sizes
// are in em, not rem: rem follows the host page's root font size.

const STYLE = `
:host, :root {
  --docent-accent: #2856d8; --fg: #1d2330; --muted: #566070; --bg: #f6f7f9; --card: #fff;
  --line: #d6dbe4; --code: #eef0f4; --err: #b3261e; --link: var(--docent-accent);
}
@media (prefers-color-scheme: dark) {
  :host, :root {
    --fg: #e6e8ee; --muted: #aab1bf; --bg: #15181e; --card: #1f232b; --line: #394150; --code: #2a2f39;
    --err: #ff8a80; --link: #9bbcff;
  }
}
:host {
  all: initial !important; display: block !important; position: static !important;
  font: 16px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif !important; color: var(--fg) !important;
  visibility: visible !important; opacity: 1 !important; transform: none !important; filter: none !important;
}
:host(.docent-inline) { height: 100% !important; }
* { box-sizing: border-box; }
html.docent-page { scroll-padding-bottom: 7rem; }
.docent-page body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
.docent-chat { display: flex; flex-direction: column; height: 100%; background: var(--bg); color: var(--fg); text-align: left; }
.docent-page .docent-chat { max-width: 760px; margin: 0 auto; padding: 1em; min-height: 100vh; height: auto; }
.docent-chat header { padding: 0 0 .4em; }
.docent-chat h1 { margin: 0; font-size: 1.3em; line-height: 1.3; }
.about { margin: .2em 0 .6em; color: var(--muted); font-size: .9em; }
.examples { display: flex; flex-wrap: wrap; gap: .4em; margin-bottom: .6em; }
.examples[hidden] { display: none; }
.example { font: inherit; font-size: .85em; padding: .2em .6em; border: 1px solid var(--line); border-radius: 999px; background: var(--card); color: var(--fg); cursor: pointer; }
.log { list-style: none; padding: 0; margin: 0; flex: 1 1 auto; min-height: 0; }
.turn { margin: 0 0 1em; }
.question { font-weight: 600; margin-bottom: .4em; overflow-wrap: anywhere; }
.answer { background: var(--card); border-radius: 8px; padding: .8em 1em; box-shadow: 0 1px 2px rgba(0,0,0,.08); overflow-wrap: anywhere; }
.answer blockquote { margin: .5em 0; padding-left: .8em; border-left: 3px solid var(--line); }
.answer .table { overflow-x: auto; margin: .5em 0; }
.answer table { border-collapse: collapse; font-size: .9em; }
.answer th, .answer td { border: 1px solid var(--line); padding: .25em .5em; text-align: left; vertical-align: top; }
.answer th { background: var(--code); }
.answer .code { position: relative; }
.answer pre { background: var(--code); padding: .6em; overflow-x: auto; border-radius: 4px; margin: .5em 0; }
.answer code { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: .9em; }
.copy { position: absolute; top: .3em; right: .3em; font: inherit; font-size: .75em; padding: .05em .5em; border: 1px solid var(--line); border-radius: 4px; background: var(--card); color: var(--fg); cursor: pointer; }
.answer .error { color: var(--err); }
.answer ul, .answer ol:not(.sources) { margin: .4em 0; padding-left: 1.4em; }
.answer p { margin: .4em 0; }
.answer hr { border: 0; border-top: 1px solid var(--line); }
.sources { margin: .6em 0 0; padding-left: 1.2em; font-size: .9em; color: var(--muted); }
.sources a, .answer a { color: var(--link); }
.cite { font-size: .8em; vertical-align: super; text-decoration: none; }
.inert-link { text-decoration: underline dotted; }
.ask { display: flex; gap: .5em; position: sticky; bottom: 0; background: var(--bg); padding: .5em 0; }
.ask textarea { flex: 1; font: inherit; padding: .6em; border: 1px solid var(--line); border-radius: 6px; resize: vertical; background: var(--card); color: var(--fg); min-width: 0; }
.ask button { font: inherit; padding: 0 1.2em; border: 0; border-radius: 6px; background: var(--docent-accent); color: #fff; cursor: pointer; }
.ask button:disabled { opacity: .6; cursor: wait; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
.ticket { margin-top: .8em; padding-top: .6em; border-top: 1px solid var(--line); display: grid; gap: .4em; }
.ticket p { margin: 0; }
.ticket input, .ticket textarea, .feedback-comment textarea { font: inherit; padding: .4em; border: 1px solid var(--line); border-radius: 4px; background: var(--card); color: var(--fg); }
.ticket button, .feedback-comment button { justify-self: start; font: inherit; padding: .3em .9em; border: 0; border-radius: 4px; background: var(--docent-accent); color: #fff; cursor: pointer; }
.ticket-status { color: var(--muted); }
.answer-meta { display: flex; flex-wrap: wrap; align-items: center; gap: .5em; margin-top: .6em; font-size: .85em; color: var(--muted); }
.badge { padding: 0 .4em; border: 1px solid var(--line); border-radius: 999px; font-size: .75em; }
.feedback { display: flex; align-items: center; gap: .3em; }
.feedback .vote { font: inherit; padding: .1em .4em; border: 1px solid var(--line); border-radius: 4px; background: var(--card); cursor: pointer; }
.feedback .vote[aria-pressed="true"] { border-color: var(--docent-accent); }
.feedback .vote:disabled { cursor: default; opacity: .6; }
.feedback-comment { display: grid; gap: .3em; margin-top: .4em; font-size: .9em; }
button:focus-visible, a:focus-visible, textarea:focus-visible, input:focus-visible { outline: 2px solid var(--docent-accent); outline-offset: 2px; }
.launcher { position: fixed; bottom: 1.25em; z-index: 2147483646; display: flex; align-items: center; gap: .4em; font: inherit; font-weight: 600; padding: .7em 1.1em; border: 0; border-radius: 999px; background: var(--docent-accent); color: #fff; box-shadow: 0 4px 14px rgba(0,0,0,.25); cursor: pointer; }
.launcher-icon { display: inline-grid; place-items: center; width: 1.4em; height: 1.4em; border-radius: 50%; background: rgba(255,255,255,.25); }
.right { right: 1.25em; }
.left { left: 1.25em; }
.panel { position: fixed; bottom: 5em; z-index: 2147483647; width: min(420px, calc(100vw - 2em)); height: min(640px, calc(100vh - 6.5em)); padding: 1em 1em 0; border-radius: 12px; background: var(--bg); box-shadow: 0 10px 40px rgba(0,0,0,.3); overflow: hidden; }
.panel[hidden] { display: none; }
.panel .docent-chat { height: 100%; }
.panel header { padding-right: 2em; }
.panel .log, :host(.docent-inline) .log { overflow-y: auto; overscroll-behavior: contain; }
.close { position: absolute; top: .5em; right: .6em; font: inherit; font-size: 1.4em; line-height: 1; padding: .1em .5em; border: 0; border-radius: 4px; background: transparent; color: var(--fg); cursor: pointer; }
@media (max-width: 520px) {
  .panel { inset: 0; width: 100vw; height: 100%; border-radius: 0; bottom: 0; }
  .launcher-text { display: none; }
}
`;

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
    const parsed = new URL(url, BASE);
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
      parent.append(codeBlock(pre, code));
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

// A fenced code block with its copy button.
function codeBlock(pre, code) {
  const box = el("div", "code");
  const copy = el("button", "copy", "Copy");
  copy.type = "button";
  copy.setAttribute("aria-label", "Copy code");
  copy.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(code.textContent);
      copy.textContent = "Copied";
    } catch {
      copy.textContent = "Copy failed";
    }
    setTimeout(() => (copy.textContent = "Copy"), 2000);
  });
  box.append(copy, pre);
  return box;
}

function api(path, init) {
  return fetch(BASE + path, init);
}

// ---- One chat: the conversation, the question box, feedback and tickets, inside `root`.

function createChat(root, options) {
  const frame = el("div", "docent-chat");
  const header = el("header");
  const heading = el("h1", null, options.title);
  heading.id = "docent-title";
  header.append(heading);
  const about = el("p", "about", "Answers from the indexed pages, with sources.");
  about.id = "docent-about";
  header.append(about);
  const examples = el("div", "examples");
  examples.setAttribute("role", "group");
  examples.setAttribute("aria-label", "Example questions");
  // A div, not a list: role=log replaces a list's semantics, and its items would be orphans.
  const log = el("div", "log");
  log.id = "log";
  log.setAttribute("role", "log");
  log.setAttribute("aria-live", "polite");
  log.setAttribute("aria-label", "Conversation");
  const form = el("form", "ask");
  form.id = "ask";
  form.autocomplete = "off";
  form.setAttribute("aria-label", "Ask a question");
  const label = el("label", "visually-hidden", "Your question");
  label.htmlFor = "question";
  const input = el("textarea");
  input.id = "question";
  input.name = "question";
  input.rows = 2;
  input.maxLength = 4000;
  input.placeholder = "Ask a question…";
  input.required = true;
  const sendButton = el("button", null, "Ask");
  sendButton.type = "submit";
  sendButton.id = "send";
  form.append(label, input, sendButton);
  frame.append(header, examples, log, form);
  root.append(frame);

  let sessionId = stored("sessionStorage", SESSION_KEY) || null;
  // The conversation so far and the sources shown, carried into a ticket on escalation.
  const transcript = [];
  const shownSources = new Map();
  const scrollToEnd = (node) => {
    if (log.scrollHeight > log.clientHeight) log.scrollTop = log.scrollHeight;
    else node.scrollIntoView({ block: "end" });
  };

  function showExamples(questions) {
    examples.replaceChildren();
    for (const question of questions.slice(0, 6)) {
      const button = el("button", "example", question);
      button.type = "button";
      button.addEventListener("click", () => {
        input.value = question;
        form.requestSubmit();
      });
      examples.append(button);
    }
    examples.hidden = !examples.childNodes.length;
  }
  showExamples(options.examples);

  // What is indexed, and the deployment's example questions unless the page gave its own.
  api("/api/about", { headers: { Accept: "application/json" } })
    .then((response) => (response.ok ? response.json() : null))
    .then((info) => {
      if (!info) return;
      const sites = (info.sites || []).map((s) => s.site.replace(/^https?:\/\//, ""));
      const last = (info.sites || []).map((s) => s.last_crawled_at).filter(Boolean).sort().pop();
      let text = `Answers from ${info.documents} indexed page${info.documents === 1 ? "" : "s"}`;
      if (sites.length) text += ` of ${sites.slice(0, 3).join(", ")}${sites.length > 3 ? ` and ${sites.length - 3} more` : ""}`;
      if (last) text += `, last crawled ${new Date(last).toLocaleDateString()}`;
      about.textContent = `${text}, with sources.`;
      if (!options.examples.length && Array.isArray(info.examples)) showExamples(info.examples);
    })
    .catch(() => {});

  async function ask(question) {
    const turn = el("div", "turn");
    const answer = el("div", "answer");
    answer.dataset.state = "streaming";
    const body = el("div", "answer-text", "…");
    const sourcesList = el("ol", "sources");
    sourcesList.setAttribute("aria-label", "Sources");
    answer.append(body, sourcesList);
    turn.append(el("div", "question", question), answer);
    log.append(turn);
    log.setAttribute("aria-busy", "true");
    scrollToEnd(turn);

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
      const response = await api("/api/chat", {
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
      // A network failure, or a page whose origin Docent does not admit (the browser hides which).
      showError(`Could not reach the assistant (${error.message}). If this site embeds it, its origin may need to be allowed.`);
    } finally {
      answer.dataset.state = "done";
      log.setAttribute("aria-busy", "false");
    }
  }

  // A finished answer: remember the session, mark cached answers, offer feedback and escalation.
  function finish(answer, question, text, sources, done) {
    if (typeof done.session_id === "string" && done.session_id) {
      sessionId = done.session_id;
      store("sessionStorage", SESSION_KEY, sessionId);
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
        const response = await api("/api/feedback", {
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
        const response = await api("/api/tickets", {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify(body),
        });
        const data = await response.json();
        if (response.status === 201) {
          let tickets = {};
          try {
            tickets = JSON.parse(stored("localStorage", "docent-tickets") || "{}");
          } catch {}
          tickets[data.ticket.id] = data.access_token;
          store("localStorage", "docent-tickets", JSON.stringify(tickets));
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
  return { frame, input };
}

// ---- Mounting: Docent's own page, inline in a host element, or a floating launcher and panel.

const settings = script.dataset;
const options = {
  title: (settings.title || "Ask the docs").slice(0, 80),
  examples: (settings.examples || "").split("|").map((q) => q.trim()).filter(Boolean).slice(0, 6),
};

// One stylesheet object, adopted by the document (page mode) or by each shadow root: constructed
// stylesheets are CSSOM, so a strict Content-Security-Policy (style-src 'self') admits them.
const sheet = new CSSStyleSheet();
sheet.replaceSync(STYLE);

function theme(host) {
  const color = settings.color;
  if (color && CSS.supports("color", color)) host.style.setProperty("--docent-accent", color);
}

function isolated(host) {
  const shadow = host.attachShadow({ mode: "open" });
  shadow.adoptedStyleSheets = [sheet];
  theme(host);
  return shadow;
}

function mountPage(target) {
  document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];
  document.documentElement.classList.add("docent-page");
  theme(document.documentElement);
  createChat(target, options).input.focus();
}

function mountInline(target) {
  const host = el("div", "docent-inline");
  target.append(host);
  createChat(isolated(host), options);
}

function mountFloating() {
  const host = el("docent-widget");
  const shadow = isolated(host);
  const side = settings.position === "left" ? "left" : "right";
  const launcher = el("button", `launcher ${side}`);
  launcher.type = "button";
  launcher.setAttribute("aria-expanded", "false");
  launcher.setAttribute("aria-controls", "docent-panel");
  const icon = el("span", "launcher-icon", "?");
  icon.setAttribute("aria-hidden", "true");
  // The accessible name starts with the visible word, and says what the button opens.
  launcher.append(icon, el("span", "launcher-text", "Ask"), el("span", "visually-hidden", ` — open the ${options.title} chat`));
  const panel = el("div", `panel ${side}`);
  panel.id = "docent-panel";
  panel.setAttribute("role", "dialog");
  panel.setAttribute("aria-labelledby", "docent-title");
  panel.hidden = true;
  const close = el("button", "close", "×");
  close.type = "button";
  close.setAttribute("aria-label", "Close chat");
  panel.append(close);
  shadow.append(launcher, panel);
  const chat = createChat(panel, options);
  const open = (show) => {
    panel.hidden = !show;
    launcher.setAttribute("aria-expanded", String(show));
    if (show) chat.input.focus();
    else launcher.focus();
  };
  launcher.addEventListener("click", () => open(panel.hidden));
  close.addEventListener("click", () => open(false));
  panel.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      event.stopPropagation();
      open(false);
    }
  });
  document.body.append(host);
  if (settings.open === "true") open(true);
}

function mount() {
  const target = settings.target ? document.querySelector(settings.target) : null;
  if (settings.target && !target) {
    console.error(`Docent widget: no element matches data-target="${settings.target}"`);
    return;
  }
  if (settings.mode === "page") mountPage(target || document.body);
  else if (target) mountInline(target);
  else mountFloating();
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", mount);
else mount();
})();
