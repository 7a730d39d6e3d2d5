"""Drives Docent's operator console (/admin) in headless Chromium (Selenium), as an operator would.

Usage: browser_admin.py <docent base URL> <fixture site base URL> <admin key>

Run by tests/e2e/tests/browser.rs, which serves tests/fixtures/site with /faq.html failing its first
six requests (so the crawl dead-letters it) and has asked one question the pages cannot answer and
down-voted another answer. Steps: a wrong key is refused, the right one signs in; a crawl started
from the form is watched progressing to its end; the dead letter is replayed from its view and the
crawl finishes again with every page; the content gaps and the down-vote are listed; the latency
chart has bars; axe-core finds no serious or critical violation. With DOCENT_SCREENSHOTS set, each
view is saved there as a PNG. A JSON report goes to stdout.
"""

import os
import sys
import time

from selenium.webdriver.common.by import By

from browser_chat import axe_violations, check, click, run_session, wait

step = "starting"


def at(name):
    global step
    step = name


def screenshot(driver, name):
    directory = os.environ.get("DOCENT_SCREENSHOTS")
    if directory:
        os.makedirs(directory, exist_ok=True)
        driver.save_screenshot(os.path.join(directory, f"console-{name}.png"))


def open_view(driver, name):
    click(driver, driver.find_element(By.CSS_SELECTOR, f'nav button[data-view="{name}"]'))
    wait(driver, 5, lambda d: d.find_element(By.ID, name).is_displayed(), f"the {name} view shows")


# The crawl's row read in one script (the console re-renders rows while it refreshes): its status,
# progress value and maximum, or null while it is not listed.
CRAWL_ROW = """
for (const row of document.querySelectorAll('#crawl-table tbody tr[data-job]')) {
  if (!row.querySelector('td.url').textContent.startsWith(arguments[0])) continue;
  const bar = row.querySelector('progress');
  return [row.querySelector('.badge').textContent, Number(bar.value), Number(bar.max), row.children[3].textContent];
}
return null;
"""


def crawl_row(driver, url):
    state = driver.execute_script(CRAWL_ROW, url)
    return tuple(state) if state else None


def watch_crawl(driver, url, seconds, until=lambda state: True):
    """Polls the crawl's row until it ends (and `until` holds for its last state); every (status,
    value, max, pages) seen, in order."""
    seen = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        state = crawl_row(driver, url)
        if state is not None:
            if not seen or seen[-1] != state:
                seen.append(state)
            if state[0] in ("done", "failed") and until(state):
                return seen
        time.sleep(0.1)
    raise AssertionError(f"the crawl of {url} did not end in {seconds} s; seen {seen}")


def run(driver, base, site, key):
    report = {}
    at("opening the console")
    driver.get(f"{base}/admin")
    wait(driver, 10, lambda d: d.find_element(By.ID, "login").is_displayed(), "the sign-in form shows")
    at("signing in with a wrong key")
    box = driver.find_element(By.ID, "admin-key")
    box.send_keys("not-the-key")
    click(driver, driver.find_element(By.CSS_SELECTOR, "#login-form button"))
    wait(driver, 10, lambda d: "not the admin key" in d.find_element(By.ID, "login-error").text, "a wrong key is refused")
    at("signing in")
    box = driver.find_element(By.ID, "admin-key")
    box.clear()
    box.send_keys(key)
    click(driver, driver.find_element(By.CSS_SELECTOR, "#login-form button"))
    wait(driver, 10, lambda d: d.find_element(By.ID, "app").is_displayed(), "the console shows after signing in")
    wait(driver, 10, lambda d: "Pages indexed" in d.find_element(By.ID, "overview-cards").text, "the overview cards show")
    alerts = wait(driver, 10, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#alerts tbody tr")) >= 6 and d.find_elements(By.CSS_SELECTOR, "#alerts tbody tr"), "the alert rules are listed")
    report["alert_rules"] = len(alerts)
    violations = axe_violations(driver, "document")
    check(not violations, f"axe-core violations on the overview: {violations}")
    screenshot(driver, "overview")

    at("reading the schedules")
    open_view(driver, "crawls")
    schedules = wait(driver, 10, lambda d: "0 3 * * *" in d.find_element(By.ID, "schedule-table").text and d.find_element(By.ID, "schedule-table").text, "the scheduled source is listed")
    report["schedules"] = schedules
    at("starting a crawl from the form")
    start = f"{site}/index.html"
    driver.find_element(By.CSS_SELECTOR, '#start-crawl input[name="url"]').send_keys(start)
    click(driver, driver.find_element(By.CSS_SELECTOR, "#start-crawl button"))
    wait(driver, 10, lambda d: crawl_row(d, start) is not None, "the new crawl is listed")
    at("watching the crawl progress")
    seen = watch_crawl(driver, start, 90)
    report["crawl_states"] = seen
    check(any(s in ("queued", "running") for s, _, _, _ in seen), f"the crawl was seen before it ended: {seen}")
    check(any(v < m for _, v, m, _ in seen[:-1]), f"the progress bar moved: {seen}")
    check("1 failed" in seen[-1][3], f"the failing page ended failed: {seen[-1]}")
    status, value, maximum, _ = seen[-1]
    check(value == maximum, f"the bar is full at the end: {seen[-1]}")
    report["first_end"] = status
    screenshot(driver, "crawls")

    at("replaying the dead letter")
    open_view(driver, "dead-letters")
    rows = wait(driver, 10, lambda d: [r for r in d.find_elements(By.CSS_SELECTOR, "#dead-letter-table tbody tr") if "faq.html" in r.text], "the failed page is a dead letter")
    report["dead_letter"] = rows[0].find_element(By.CSS_SELECTOR, "td.url").text
    screenshot(driver, "dead-letters")
    click(driver, rows[0].find_element(By.TAG_NAME, "button"))
    wait(driver, 10, lambda d: "no dead letters" in d.find_element(By.ID, "dead-letter-table").text, "the replayed dead letter leaves the list")
    at("watching the replayed crawl end")
    open_view(driver, "crawls")
    # The table may still show the first end for a moment: wait for the replayed page's.
    seen = watch_crawl(driver, start, 60, until=lambda state: "0 failed" in state[3])
    report["after_replay"] = seen[-1]
    check(seen[-1][0] == "done", f"the crawl ends done after the replay: {seen}")

    at("reading the content gaps and down-votes")
    open_view(driver, "answers")
    wait(driver, 10, lambda d: "Kubernetes" in d.find_element(By.ID, "gap-table").text, "the declined question is a content gap")
    wait(driver, 10, lambda d: "install" in d.find_element(By.ID, "downvote-table").text.lower(), "the down-voted answer is listed")
    report["gaps"] = driver.find_element(By.CSS_SELECTOR, "#gap-table tbody").text
    screenshot(driver, "answers")

    at("reading the charts")
    open_view(driver, "usage")
    bars = wait(driver, 10, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#latency-chart svg rect")) >= 2 and d.find_elements(By.CSS_SELECTOR, "#latency-chart svg rect"), "the latency chart has bars")
    report["latency_bars"] = len(bars)
    violations = axe_violations(driver, "document")
    check(not violations, f"axe-core violations on the usage view: {violations}")
    screenshot(driver, "usage")
    return report


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    base, site, key = sys.argv[1].rstrip("/"), sys.argv[2].rstrip("/"), sys.argv[3]
    run_session("console test", lambda driver: run(driver, base, site, key), lambda: step)


if __name__ == "__main__":
    main()
