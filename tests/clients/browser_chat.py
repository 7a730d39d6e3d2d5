"""Drives Docent's chat page in headless Chromium (Debian's chromium + chromedriver, through Selenium).

Usage: browser_chat.py <docent base URL> <fixture site base URL>

Run by tests/e2e/tests/browser.rs after it crawled tests/fixtures/inject. The page is used as a person
would: questions are typed and sent, citations clicked, feedback given, a ticket opened. Checks that
only the browser can make fail here with a message naming the step; on success a JSON report goes to
stdout for the Rust test to cross-check against the server (citation URLs, feedback, tickets).
"""

import json
import os
import re
import shutil
import signal
import sys
import tempfile
import time

from selenium import webdriver
from selenium.common.exceptions import TimeoutException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

TOTAL_SECONDS = 60
PAGE_TITLE = "Docent — ask the docs"
CACHE_QUESTION = "Where does Lantern keep its build cache?"
PAYLOAD_QUESTION = "How does the quarantine filter escape markup, print comments literally and neutralise links?"
NOTHING_QUESTION = "xylophone quantum marmalade"
COMMENT = "Quoted the escaping section, but I wanted the layouts one (browser test)"
# What the crawled templates page says, which must show as text and never run.
PAYLOAD_TEXTS = [
    '<script>window.__pwned=1;document.title="pwned"</script>',
    "<img src=x onerror=\"window.__pwned=2;document.title='pwned'\">",
]
INLINE_CODE_PAYLOAD = "<img src=y onerror=window.__pwned=3>"
LINK_PAYLOAD = "[click me](javascript:window.__pwned=4)"

step = "starting"


class Failure(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Failure(message)


def on_alarm(signum, frame):
    raise Failure(f"gave up after {TOTAL_SECONDS} s in total")


def start_browser(user_data_dir):
    options = webdriver.ChromeOptions()
    options.binary_location = os.environ.get("DOCENT_CHROMIUM", "/usr/bin/chromium")
    for argument in [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1000,900",
        f"--user-data-dir={user_data_dir}",
    ]:
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # An explicit driver path: Selenium Manager (which would download drivers) never runs.
    service = Service(os.environ.get("DOCENT_CHROMEDRIVER", "/usr/bin/chromedriver"))
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_page_load_timeout(20)
    driver.set_script_timeout(20)
    return driver


def wait(driver, seconds, condition, message):
    try:
        return WebDriverWait(driver, seconds, poll_frequency=0.05).until(lambda d: condition(d))
    except TimeoutException:
        raise Failure(f"{message} (waited {seconds} s)") from None


# Records every render of an answer while it streams (the nodes added to .answer-text each time), and
# every body sent to /api/chat, so the test sees what happened between its polls.
INSTRUMENT = """
window.__renders = [];
window.__chatBodies = [];
const log = document.getElementById('log');
new MutationObserver((records) => {
  for (const r of records) {
    if (!r.target.classList || !r.target.classList.contains('answer-text') || !r.addedNodes.length) continue;
    const turn = Array.from(log.children).indexOf(r.target.closest('.turn'));
    let length = 0;
    r.addedNodes.forEach((n) => { length += (n.textContent || '').length; });
    window.__renders.push({turn, length, streaming: r.target.parentElement.dataset.state === 'streaming'});
  }
}).observe(log, {childList: true, subtree: true});
const originalFetch = window.fetch;
window.fetch = function (url, init) {
  if (String(url).endsWith('/api/chat')) window.__chatBodies.push(init && init.body);
  return originalFetch.apply(this, arguments);
};
"""

# Anything in the conversation that could run code or load something.
ACTIVE_CONTENT = """
const root = arguments[0];
const found = [];
for (const node of root.querySelectorAll('*')) {
  const tag = node.tagName.toLowerCase();
  if (['script', 'img', 'iframe', 'object', 'embed', 'svg', 'math', 'style', 'link', 'meta', 'base', 'video', 'audio', 'source'].includes(tag)) found.push('<' + tag + '>');
  for (const attribute of node.attributes) {
    if (attribute.name.startsWith('on')) found.push(tag + '[' + attribute.name + ']');
    if (['href', 'src', 'action', 'formaction'].includes(attribute.name) && !/^https?:/.test(node[attribute.name] || attribute.value)) found.push(tag + '[' + attribute.name + '=' + attribute.value + ']');
  }
}
return found;
"""


AXE_RUN = """
const done = arguments[arguments.length - 1];
axe.run(CONTEXT, {resultTypes: ['violations']})
  .then((result) => done(result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map((n) => n.target)}))))
  .catch((error) => done([{id: 'axe-error', impact: 'critical', help: String(error)}]));
"""


def axe_violations(driver, context):
    """The serious and critical accessibility violations axe-core (DOCENT_AXE: axe.min.js from npm)
    finds in `context` (a JavaScript expression: `document`, or an element; open shadow roots
    included)."""
    path = os.environ.get("DOCENT_AXE")
    check(path and os.path.isfile(path), f"DOCENT_AXE does not name axe.min.js: {path!r} (npm install puts it in node_modules/axe-core)")
    if not driver.execute_script("return typeof window.axe === 'object'"):
        with open(path, encoding="utf-8") as f:
            driver.execute_script(f.read())
    return driver.execute_async_script(AXE_RUN.replace("CONTEXT", context))


def click(driver, element):
    """Scrolls the element to the middle of the window (clear of the sticky question box), then clicks."""
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
    element.click()


def ask(driver, question, use_enter=False):
    """Types the question, sends it, waits for its answer to finish; returns the turn element."""
    before = len(driver.find_elements(By.CSS_SELECTOR, "#log > .turn"))
    box = driver.find_element(By.ID, "question")
    box.send_keys(question)
    if use_enter:
        box.send_keys(Keys.ENTER)
    else:
        click(driver, driver.find_element(By.ID, "send"))
    turn_css = f"#log > .turn:nth-child({before + 1})"
    wait(driver, 5, lambda d: d.find_elements(By.CSS_SELECTOR, turn_css), f"no conversation turn appeared for {question!r}")
    wait(
        driver,
        20,
        lambda d: d.find_element(By.CSS_SELECTOR, f"{turn_css} .answer").get_attribute("data-state") == "done",
        f"the answer to {question!r} never finished",
    )
    return driver.find_element(By.CSS_SELECTOR, turn_css)


def answer_text(turn):
    return turn.find_element(By.CSS_SELECTOR, ".answer-text").get_attribute("textContent")


def give_feedback(driver, turn, rating, comment=None):
    buttons = turn.find_elements(By.CSS_SELECTOR, ".feedback button.vote")
    check(len(buttons) == 2, f"expected thumbs up and down under the answer, found {len(buttons)} buttons (did done carry an answer_id?)")
    labels = [b.get_attribute("aria-label") for b in buttons]
    check(labels == ["Helpful", "Not helpful"], f"feedback buttons are labelled {labels}")
    click(driver, buttons[0] if rating == "up" else buttons[1])
    if rating == "down":
        box = wait(driver, 5, lambda d: turn.find_elements(By.CSS_SELECTOR, ".feedback-comment textarea"), "thumbs down offered no comment box")[0]
        label = turn.find_element(By.CSS_SELECTOR, f"label[for='{box.get_attribute('id')}']").text
        check("What was wrong" in label, f"the comment box is labelled {label!r}")
        box.send_keys(comment)
        click(driver, turn.find_element(By.CSS_SELECTOR, ".feedback-comment button[type=submit]"))
    status = turn.find_element(By.CSS_SELECTOR, ".feedback-status")
    wait(driver, 10, lambda d: status.text not in ("", "Sending…"), f"no reply to the {rating} feedback")
    check(status.text == "Thanks for the feedback", f"feedback ({rating}) was not recorded; the page says {status.text!r}")
    disabled = [b.get_attribute("aria-label") for b in buttons if not b.is_enabled()]
    check(disabled == ["Helpful", "Not helpful"], f"after feedback only {disabled} are disabled")


def run(driver, base, site):
    global step
    report = {}

    step = "opening the chat page"
    driver.get(base + "/")
    check(driver.title == PAGE_TITLE, f"page title is {driver.title!r}")
    log = driver.find_element(By.ID, "log")
    check(log.get_attribute("aria-live") == "polite", "the conversation is not an aria-live region")
    driver.execute_script(INSTRUMENT)

    step = "asking about the cache directory"
    turn = ask(driver, CACHE_QUESTION)
    text = answer_text(turn)
    report["first_answer"] = text
    check(".lantern/cache" in text, f"the answer does not quote the storage page: {text!r}")
    codes = [c.text for c in turn.find_elements(By.CSS_SELECTOR, ".answer-text code")]
    check(".lantern/cache" in codes, f"inline code was not rendered as <code> (code elements: {codes})")
    # The quoted section's table is a table, inside the quote, under its header row.
    tables = turn.find_elements(By.CSS_SELECTOR, ".answer-text blockquote table")
    check(len(tables) == 1, f"the quoted table was not rendered as one <table> in the quote: {text!r}")
    headers = [th.text for th in tables[0].find_elements(By.CSS_SELECTOR, "thead th")]
    check(headers == ["Folder", "Contents"], f"table header cells are {headers}")
    cells = [td.text for td in tables[0].find_elements(By.CSS_SELECTOR, "tbody td")]
    check(cells == ["objects", "compiled pages", "images", "resized images"], f"table body cells are {cells}")
    renders = [r for r in driver.execute_script("return window.__renders") if r["turn"] == 0 and r["streaming"]]
    report["first_answer_renders"] = len(renders)
    check(len(renders) >= 2, f"the answer was rendered {len(renders)} time(s) while streaming; expected once per delta")
    check(renders[0]["length"] < renders[-1]["length"], f"the streamed answer did not grow: {renders}")
    check(renders[-1]["length"] == len(text), "the last streamed render is not the final answer")

    step = "checking the citations"
    cites = turn.find_elements(By.CSS_SELECTOR, ".answer-text a.cite")
    check(cites, f"no citation links in the answer: {text!r}")
    report["cite_hrefs"] = [c.get_attribute("href") for c in cites]
    check(all(h.startswith(site + "/") for h in report["cite_hrefs"]), f"citations link outside the crawled site: {report['cite_hrefs']}")
    source_links = [a.get_attribute("href") for a in turn.find_elements(By.CSS_SELECTOR, ".sources li a")]
    for cite in cites:
        number = int(cite.text.strip("[]"))
        check(0 < number <= len(source_links), f"citation {cite.text} has no source in the list ({len(source_links)} sources)")
        check(cite.get_attribute("href") == source_links[number - 1], f"citation {cite.text} links {cite.get_attribute('href')}, its source is {source_links[number - 1]}")
        check(cite.get_attribute("target") == "_blank", f"citation {cite.text} does not open a new tab")
        rel = (cite.get_attribute("rel") or "").split()
        check("noopener" in rel and "noreferrer" in rel, f"citation {cite.text} has rel={rel}")
    for link in turn.find_elements(By.CSS_SELECTOR, ".sources a"):
        rel = (link.get_attribute("rel") or "").split()
        check("noopener" in rel and "noreferrer" in rel, f"source link {link.get_attribute('href')} has rel={rel}")

    step = "following the first citation"
    home = driver.current_window_handle
    click(driver, cites[0])
    wait(driver, 10, lambda d: len(d.window_handles) == 2, "clicking the citation opened no new tab")
    driver.switch_to.window([h for h in driver.window_handles if h != home][0])
    wait(driver, 10, lambda d: d.execute_script("return document.readyState") == "complete" and d.title, "the cited page did not load")
    report["followed_url"] = driver.current_url
    report["followed_title"] = driver.title
    anchor = report["cite_hrefs"][0].partition("#")[2]
    check(anchor and driver.find_elements(By.ID, anchor), f"the cited page {driver.current_url} has no element #{anchor}")
    report["followed_heading"] = driver.find_element(By.ID, anchor).text
    check(driver.execute_script("return window.opener") is None, "the cited page can reach the chat page through window.opener")
    driver.close()
    driver.switch_to.window(home)

    step = "asking about escaping (crawled text with script and img payloads)"
    session = driver.execute_script("return sessionStorage.getItem('docent-session')")
    check(session and re.fullmatch(r"[0-9a-f]{32}", session), f"no session id kept after the first answer: {session!r}")
    turn = ask(driver, PAYLOAD_QUESTION, use_enter=True)
    time.sleep(0.5)  # an injected <img onerror> would fire on its failed load within this
    bodies = [json.loads(b) for b in driver.execute_script("return window.__chatBodies")]
    check(bodies[0] == {"message": CACHE_QUESTION}, f"first request body: {bodies[0]}")
    check(bodies[1] == {"message": PAYLOAD_QUESTION, "session_id": session}, f"the follow-up did not carry the session: {bodies[1]}")
    text = answer_text(turn)
    report["payload_answer"] = text
    pwned = driver.execute_script("return window.__pwned === undefined ? null : window.__pwned")
    check(pwned is None, f"crawled markup ran in the page: window.__pwned = {pwned}")
    check(driver.title == PAGE_TITLE, f"crawled markup changed the page title to {driver.title!r}")
    active = driver.execute_script(ACTIVE_CONTENT, log)
    check(not active, f"the conversation contains active content: {active}")
    for payload in PAYLOAD_TEXTS + [LINK_PAYLOAD]:
        check(payload in text, f"the payload {payload!r} is not shown as text in the answer: {text!r}")
    # Links the crawled page wrote (as markdown text or as <a>) are shown, URL and all, never linked:
    # the only links in an answer are Docent's citations to the crawled site.
    # (An <a> to another site is already kept as its words by the extractor.)
    for written in ["Reset your password (https://evil.example/reset)", "or real ones such as sign in again."]:
        check(written in text, f"the crawled link {written!r} is not shown as inert text: {text!r}")
    answer_links = [(a.text, a.get_attribute("href")) for a in turn.find_elements(By.CSS_SELECTOR, ".answer-text a")]
    check(answer_links, "the answer has no citation links")
    for label, href in answer_links:
        check(re.fullmatch(r"\[\d+\]", label) and href.startswith(site + "/"), f"a link in the answer that is not a citation: {label!r} -> {href}")
    codes = [c.text for c in turn.find_elements(By.CSS_SELECTOR, ".answer-text code")]
    check(INLINE_CODE_PAYLOAD in codes, f"the inline-code payload is not shown as code (code elements: {codes})")
    check(turn.find_elements(By.CSS_SELECTOR, ".answer-text blockquote"), "the quoted passage is not a blockquote")

    step = "giving feedback"
    first, second = driver.find_elements(By.CSS_SELECTOR, "#log > .turn")[:2]
    give_feedback(driver, first, "up")
    give_feedback(driver, second, "down", COMMENT)
    report["up_answer_id"] = first.find_element(By.CSS_SELECTOR, ".answer").get_attribute("data-answer-id")
    report["down_answer_id"] = second.find_element(By.CSS_SELECTOR, ".answer").get_attribute("data-answer-id")
    report["comment"] = COMMENT
    report["payload_question"] = PAYLOAD_QUESTION

    step = "asking something the docs do not cover and opening a ticket"
    turn = ask(driver, NOTHING_QUESTION)
    buttons = [b for b in turn.find_elements(By.CSS_SELECTOR, ".ticket button") if b.text == "Create a ticket"]
    check(buttons, "no 'Create a ticket' offer after an answer that found nothing")
    click(driver, buttons[0])
    status = turn.find_element(By.CSS_SELECTOR, ".ticket-status")
    wait(driver, 10, lambda d: status.text, "creating the ticket got no reply")
    match = re.fullmatch(r"Ticket (\S+) created\. We will get back to you\.", status.text)
    check(match, f"the ticket was not created: {status.text!r}")
    report["ticket_id"] = match.group(1)

    step = "asking too quickly"
    report["rate_limited"] = None
    for attempt in range(4):
        turn = ask(driver, CACHE_QUESTION)
        errors = turn.find_elements(By.CSS_SELECTOR, ".answer-text .error")
        if errors:
            report["rate_limited"] = errors[0].text
            check(errors[0].get_attribute("role") == "alert", "the error is not announced (role=alert)")
            break
    check(report["rate_limited"], "no question was refused after 4 more (the test runs with DOCENT_CHAT_RATE_LIMIT=3)")
    seconds = re.fullmatch(r"You're asking too quickly — try again in (\d+) seconds?\.", report["rate_limited"])
    check(seconds and 1 <= int(seconds.group(1)) <= 60, f"unexpected rate-limit message: {report['rate_limited']!r}")

    step = "reading the browser console"
    problems = [
        entry["message"]
        for entry in driver.get_log("browser")
        if entry["level"] in ("SEVERE", "WARNING") and "Failed to load resource" not in entry["message"]
    ]
    check(not problems, f"the page logged errors: {problems}")
    return report


def run_session(label, run, current_step, diagnose=lambda driver: None):
    """Runs `run(driver)` in a fresh headless Chromium within TOTAL_SECONDS and prints its report as
    JSON; on a failure prints `label`, the step `current_step()` names, `diagnose(driver)`'s output and
    the browser console, and exits 1. Shared by the chat page and widget scripts."""
    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(TOTAL_SECONDS)
    started = time.monotonic()
    user_data_dir = tempfile.mkdtemp(prefix="docent-chromium-")
    driver = None
    try:
        driver = start_browser(user_data_dir)
        report = run(driver)
        report["seconds"] = round(time.monotonic() - started, 1)
        print(json.dumps(report))
    except (Failure, WebDriverException, AssertionError, ValueError, KeyError, IndexError) as error:
        message = error.msg if isinstance(error, WebDriverException) else str(error)
        where = current_step() if driver is not None else "starting Chromium"
        print(f"{label} failed while {where}: {type(error).__name__}: {message}", file=sys.stderr)
        if driver is not None:
            try:
                diagnose(driver)
                for entry in driver.get_log("browser"):
                    print(f"console {entry['level']}: {entry['message']}", file=sys.stderr)
            except Exception:
                pass
        sys.exit(1)
    finally:
        signal.alarm(0)
        if driver is not None:
            try:
                driver.quit()
            except Exception:
                pass
        shutil.rmtree(user_data_dir, ignore_errors=True)


def show_conversation(driver):
    html = driver.execute_script("const l = document.getElementById('log'); return l ? l.outerHTML : document.documentElement.outerHTML")
    print(f"conversation at the failure:\n{html[:6000]}", file=sys.stderr)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    base, site = sys.argv[1].rstrip("/"), sys.argv[2].rstrip("/")
    run_session("browser test", lambda driver: run(driver, base, site), lambda: step, show_conversation)


if __name__ == "__main__":
    main()
