// Docent's operator console: a page over the admin API, nothing else. The admin key is asked for
// once and kept in sessionStorage (this tab only). Everything shown from the API is set as text,
// never as HTML: questions and answers come from readers.
"use strict";

const KEY = "docent-admin-key";
const REFRESH_MS = 2000;
const $ = (selector) => document.querySelector(selector);

function storedKey() {
  try { return sessionStorage.getItem(KEY); } catch { return null; }
}
function storeKey(value) {
  try { value ? sessionStorage.setItem(KEY, value) : sessionStorage.removeItem(KEY); } catch { /* private mode */ }
}

let adminKey = storedKey();
let view = "overview";
let timer = null;

class Unauthorized extends Error {}

async function api(path, options = {}) {
  const headers = { Authorization: `Bearer ${adminKey}` };
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method: options.method || "GET",
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  if (response.status === 401) throw new Unauthorized();
  const text = await response.text();
  const type = response.headers.get("content-type") || "";
  const data = type.includes("json") && text ? JSON.parse(text) : text;
  if (!response.ok) {
    const message = data && data.error ? data.error.message : `HTTP ${response.status}`;
    throw new Error(message);
  }
  return data;
}

/** An element with attributes and children (strings become text nodes). */
function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function fill(tbody, rows, columns, empty) {
  tbody.replaceChildren(
    ...(rows.length ? rows : [el("tr", {}, el("td", { colspan: columns, class: "empty" }, empty))]),
  );
}

const when = (value) => {
  if (value === null || value === undefined) return "–";
  const date = typeof value === "number" ? new Date(value) : new Date(value);
  return Number.isNaN(date.getTime()) ? String(value) : date.toLocaleString();
};
const number = (n) => (n === null || n === undefined ? "–" : Number(n).toLocaleString());
const badge = (text) => el("span", { class: `badge ${text}` }, text);

// --- Prometheus text, for the gauges and histograms the console draws.

function parseMetrics(text) {
  const samples = [];
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!match) continue;
    const labels = {};
    for (const pair of (match[2] || "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) {
      labels[pair[1]] = pair[2].replace(/\\(.)/g, (_, c) => (c === "n" ? "\n" : c));
    }
    samples.push({ name: match[1], labels, value: Number(match[3]) });
  }
  return samples;
}

function quantile(buckets, q) {
  const total = buckets.length ? buckets[buckets.length - 1].count : 0;
  if (!total) return null;
  const rank = q * total;
  let lower = { le: 0, count: 0 };
  for (const bucket of buckets) {
    if (bucket.count >= rank) {
      if (!Number.isFinite(bucket.le)) return lower.le;
      const within = bucket.count - lower.count;
      return lower.le + (bucket.le - lower.le) * (within > 0 ? (rank - lower.count) / within : 1);
    }
    lower = bucket;
  }
  return lower.le;
}

// --- Charts: bars drawn as SVG.

/** An empty chart of `width` x `height` and the function that adds an element to it. */
function chartCanvas(width, height, label) {
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("class", "chart");
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", label);
  const add = (name, attributes, text) => {
    const node = document.createElementNS("http://www.w3.org/2000/svg", name);
    for (const [k, v] of Object.entries(attributes)) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    svg.append(node);
    return node;
  };
  return [svg, add];
}

function barChart(series, { format, label }) {
  const width = 760, height = 220, left = 64, bottom = 46, top = 14;
  const max = Math.max(...series.map((s) => s.value), 0) || 1;
  const slot = (width - left - 10) / Math.max(series.length, 1);
  const [svg, add] = chartCanvas(width, height, label);
  add("text", { x: 4, y: top + 8 }, format(max));
  add("text", { x: 4, y: height - bottom }, format(0));
  series.forEach((point, i) => {
    const h = ((height - top - bottom) * point.value) / max;
    const x = left + i * slot + slot * 0.15;
    const bar = add("rect", {
      x, y: height - bottom - h, width: slot * 0.7, height: Math.max(h, 0.5),
      class: "bar",
    });
    const title = document.createElementNS("http://www.w3.org/2000/svg", "title");
    title.textContent = `${point.label}: ${format(point.value)}`;
    bar.append(title);
    add("text", { x: x, y: height - bottom + 14 }, point.label.length > 12 ? point.label.slice(0, 11) + "…" : point.label);
  });
  if (!series.length) add("text", { x: left, y: height / 2 }, "nothing recorded yet");
  return svg;
}

/** Horizontal bars, two per row (p50 and p95), for latencies by route. */
function latencyChart(rows) {
  const width = 760, rowHeight = 34, left = 190, top = 22;
  const height = top + rows.length * rowHeight + 10;
  const max = Math.max(...rows.map((r) => r.p95), 0) || 1;
  const [svg, add] = chartCanvas(width, Math.max(height, 60), "response time by route, p50 and p95");
  add("text", { x: left, y: 14 }, "p50 (blue) and p95 (amber), milliseconds");
  rows.forEach((row, i) => {
    const y = top + i * rowHeight;
    add("text", { x: 6, y: y + 18 }, row.route);
    for (const [j, key] of [[0, "p50"], [1, "p95"]]) {
      const w = ((width - left - 70) * row[key]) / max;
      add("rect", { x: left, y: y + 4 + j * 13, width: Math.max(w, 1), height: 11, class: j ? "bar alt" : "bar" });
      add("text", { x: left + Math.max(w, 1) + 4, y: y + 13 + j * 13 }, `${Math.round(row[key])} ms`);
    }
  });
  if (!rows.length) add("text", { x: left, y: 40 }, "no requests recorded yet");
  return svg;
}

// --- Views.

async function overview() {
  const [index, alerts, metrics, letters] = await Promise.all([
    api("/api/index"), api("/api/alerts"), api("/metrics"), api("/api/dead-letters"),
  ]);
  const samples = parseMetrics(metrics);
  const sum = (name, filter = () => true) =>
    samples.filter((s) => s.name === name && filter(s.labels)).reduce((a, s) => a + s.value, 0);
  const firing = alerts.alerts.filter((a) => a.severity);
  const cards = [
    ["Pages indexed", number(index.documents)],
    ["Passages", number(index.chunks)],
    ["Questions answered", number(sum("docent_questions_total"))],
    ["Answer cache hits", number(sum("docent_cache_lookups_total", (l) => l.cache === "answer" && l.result === "hit"))],
    ["Crawl backlog", number(sum("docent_crawl_backlog"))],
    ["Dead letters", number(letters.dead_letters.length)],
    ["Alerts firing", number(firing.length)],
  ];
  $("#overview-cards").replaceChildren(...cards.map(([label, value]) => el("div", { class: "card" }, el("b", {}, value), el("span", {}, label))));
  fill($("#alerts tbody"), alerts.alerts.map((a) => el("tr", {},
    el("td", {}, a.rule, el("div", { class: "muted" }, a.summary)),
    el("td", {}, a.severity ? badge(a.severity) : a.since ? badge("ok") : el("span", { class: "muted" }, "not evaluated yet")),
    el("td", {}, when(a.since)),
    el("td", {}, a.value === null ? "–" : `${Number(a.value.toPrecision(3))} ${a.unit}`),
    el("td", { class: "muted" }, `warning ${a.warning ?? "–"} · critical ${a.critical ?? "–"}`),
  )), 5, "no rules");
  $("#backlog").replaceChildren(...["critical", "high", "normal", "low"].map((tier) =>
    el("div", { class: "card" }, el("b", {}, number(sum("docent_crawl_backlog", (l) => l.priority === tier))), el("span", {}, tier))));
}

const finishedPages = (job) => job.pages.indexed + job.pages.unchanged + job.pages.skipped + job.pages.failed;

/** Time left at the pace so far: the URLs still queued over the rate at which URLs finished. */
function eta(job) {
  if (job.status !== "running" || !job.started_at) return "–";
  const elapsed = (Date.now() - new Date(job.started_at).getTime()) / 1000;
  const finished = finishedPages(job);
  if (finished === 0 || elapsed <= 0) return "…";
  const left = Math.max(job.pages.discovered - finished, 0);
  const seconds = Math.round((left * elapsed) / finished);
  return seconds < 90 ? `${seconds} s` : `${Math.round(seconds / 60)} min`;
}

async function crawls() {
  const [{ crawls: jobs }, schedules] = await Promise.all([api("/api/crawls"), api("/api/schedules")]);
  $("#schedule-note").textContent = schedules.last_checked_at
    ? `The cron last checked the schedules at ${when(schedules.last_checked_at)}.`
    : "The cron has not checked the schedules yet.";
  fill($("#schedule-table tbody"), schedules.sources.map((source) => el("tr", {},
    el("td", { class: "url" }, source.url),
    el("td", {}, el("code", {}, source.schedule)),
    el("td", {}, source.next_run_at ? when(source.next_run_at) : "never"),
    el("td", {}, source.last_crawl ? [badge(source.last_crawl.status), " ", when(source.last_crawl.finished_at || source.last_crawl.created_at)] : "not crawled yet"),
  )), 4, "no scheduled sources (DOCENT_CRAWL_SOURCES)");
  fill($("#crawl-table tbody"), jobs.map((job) => {
    const finished = finishedPages(job);
    const active = job.status === "queued" || job.status === "running";
    const progress = el("progress", { max: Math.max(job.pages.discovered, 1), value: finished, "aria-label": `crawl of ${job.url}` });
    return el("tr", { "data-job": job.id },
      el("td", { class: "url" }, job.url, job.pages.left_out
        ? el("div", { class: "note" }, `stopped at max_pages (${job.max_pages}): ${number(job.pages.left_out)} more URLs found were not crawled`)
        : null),
      el("td", {}, badge(job.status)),
      el("td", {}, progress, " ", `${number(finished)} / ${number(job.pages.discovered)}`),
      el("td", { class: "muted" }, `${number(job.pages.indexed)} indexed · ${number(job.pages.unchanged)} unchanged · ${number(job.pages.skipped)} skipped · ${number(job.pages.failed)} failed`),
      el("td", {}, active ? eta(job) : when(job.finished_at)),
      el("td", {}, active ? el("button", { class: "act", onclick: () => act(() => api(`/api/crawls/${encodeURIComponent(job.id)}`, { method: "DELETE" })) }, "Cancel") : null),
    );
  }), 6, "no crawls yet: start one above");
}

async function deadLetters() {
  const { dead_letters: letters } = await api("/api/dead-letters");
  fill($("#dead-letter-table tbody"), letters.map((letter) => el("tr", {},
    el("td", { class: "url" }, letter.url),
    el("td", {}, letter.attempts),
    el("td", {}, letter.reason),
    el("td", {}, when(letter.at)),
    el("td", {}, el("button", { class: "act", onclick: () => act(() => api("/api/dead-letters/replay", { method: "POST", body: { job: letter.job } })) }, "Replay")),
  )), 5, "no dead letters");
  $("#replay-all").disabled = letters.length === 0;
}

async function answers() {
  const [gaps, feedback, tickets] = await Promise.all([
    api("/api/gaps"), api("/api/feedback?rating=down"), api("/api/tickets"),
  ]);
  fill($("#gap-table tbody"), gaps.declined.map((gap) => el("tr", {},
    el("td", {}, gap.question), el("td", {}, `${gap.times}×`), el("td", {}, when(gap.last_asked_at)))), 3, "none declined");
  fill($("#downvote-table tbody"), feedback.feedback.map((f) => el("tr", {},
    el("td", {}, f.question),
    el("td", {}, el("details", {}, el("summary", {}, f.answer.slice(0, 80) + (f.answer.length > 80 ? "…" : "")), el("pre", { style: "white-space:pre-wrap" }, f.answer))),
    el("td", {}, f.comment || "–"),
    el("td", {}, when(f.created_at)))), 4, "no down-votes");
  fill($("#ticket-table tbody"), tickets.tickets.map((t) => el("tr", {},
    el("td", {}, t.subject), el("td", {}, badge(t.status)), el("td", {}, when(t.created_at)))), 3, "no tickets");
}

async function usage() {
  const [report, metrics] = await Promise.all([api("/api/usage?days=14"), api("/metrics")]);
  const byDay = new Map();
  for (const row of report.days) {
    const day = byDay.get(row.day) || { cost: 0, calls: 0, failures: 0 };
    day.cost += row.cost_usd; day.calls += row.requests; day.failures += row.failures;
    byDay.set(row.day, day);
  }
  const days = [...byDay.entries()].sort(([a], [b]) => a.localeCompare(b));
  $("#cost-chart").replaceChildren(barChart(days.map(([day, d]) => ({ label: day.slice(5), value: d.cost })),
    { format: (v) => `$${v.toFixed(v < 1 ? 4 : 2)}`, label: "estimated model cost per day" }));
  $("#calls-chart").replaceChildren(barChart(days.map(([day, d]) => ({ label: day.slice(5), value: d.calls })),
    { format: (v) => number(Math.round(v)), label: "model calls per day" }));
  const routes = new Map();
  for (const s of parseMetrics(metrics)) {
    if (s.name !== "docent_http_request_duration_seconds_bucket") continue;
    const list = routes.get(s.labels.route) || [];
    list.push({ le: s.labels.le === "+Inf" ? Infinity : Number(s.labels.le), count: s.value });
    routes.set(s.labels.route, list);
  }
  const rows = [];
  for (const [route, buckets] of [...routes.entries()].sort()) {
    buckets.sort((a, b) => a.le - b.le);
    const p50 = quantile(buckets, 0.5), p95 = quantile(buckets, 0.95);
    if (p50 !== null) rows.push({ route, p50: p50 * 1000, p95: p95 * 1000 });
  }
  $("#latency-chart").replaceChildren(latencyChart(rows));
}

const VIEWS = { overview, crawls, "dead-letters": deadLetters, answers, usage };

async function refresh() {
  clearTimeout(timer);
  try {
    await VIEWS[view]();
    $("#updated").textContent = `updated ${new Date().toLocaleTimeString()}`;
  } catch (error) {
    if (error instanceof Unauthorized) return signOut("The admin key was refused.");
    $("#updated").textContent = `refresh failed: ${error.message}`;
  }
  timer = setTimeout(refresh, REFRESH_MS);
}

async function act(action) {
  try {
    await action();
  } catch (error) {
    if (error instanceof Unauthorized) return signOut("The admin key was refused.");
    alert(error.message);
  }
  refresh();
}

function show(name) {
  view = name;
  for (const button of document.querySelectorAll("nav button")) {
    button.toggleAttribute("aria-current", button.dataset.view === name);
    if (button.dataset.view === name) button.setAttribute("aria-current", "page");
  }
  for (const section of document.querySelectorAll("main section")) section.hidden = section.id !== name;
  refresh();
}

function signOut(message) {
  clearTimeout(timer);
  adminKey = null;
  storeKey(null);
  $("#app").hidden = true;
  $("#login").hidden = false;
  $("#login-error").textContent = message || "";
  $("#admin-key").focus();
}

async function signIn(event) {
  event.preventDefault();
  adminKey = $("#admin-key").value.trim();
  try {
    await api("/api/index");
  } catch (error) {
    return signOut(error instanceof Unauthorized ? "That is not the admin key." : error.message);
  }
  storeKey(adminKey);
  $("#login").hidden = true;
  $("#app").hidden = false;
  show(view);
}

document.addEventListener("DOMContentLoaded", () => {
  $("#login-form").addEventListener("submit", signIn);
  $("#sign-out").addEventListener("click", () => signOut());
  for (const button of document.querySelectorAll("nav button")) {
    button.addEventListener("click", () => show(button.dataset.view));
  }
  $("#start-crawl").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    const body = { url: form.get("url"), priority: form.get("priority") };
    if (form.get("max_pages")) body.max_pages = Number(form.get("max_pages"));
    try {
      await api("/api/crawls", { method: "POST", body });
      $("#crawl-error").textContent = "";
      event.target.reset();
    } catch (error) {
      $("#crawl-error").textContent = error.message;
    }
    refresh();
  });
  $("#replay-all").addEventListener("click", () => act(() => api("/api/dead-letters/replay", { method: "POST", body: {} })));
  if (adminKey) {
    $("#app").hidden = false;
    show(view);
  } else {
    signOut();
  }
});
