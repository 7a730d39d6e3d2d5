"""Embeds Docent's widget in a third-party page with hostile CSS, in headless Chromium (Selenium).

Usage: browser_widget.py <docent base URL> <fixture site base URL> <host page port>

Run by tests/e2e/tests/browser.rs, which started Docent with DOCENT_ALLOWED_ORIGINS naming
http://127.0.0.1:<host page port> only. This script serves the third-party page on that port; the
same page opened as http://localhost:<port> is another origin, which Docent must refuse. The widget
is used as a visitor would (launcher, example question, citation, rating, Escape) and checked with
axe-core (DOCENT_AXE names axe.min.js). A JSON report goes to stdout for the Rust test to
cross-check against the server (the rating).
"""

import http.server
import os
import sys
import tempfile
import threading

from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from browser_chat import axe_violations, check, click, run_session, wait

EXAMPLE = "Where does Lantern keep its build cache?"
ACCENT = "#0b57d0"
ACCENT_RGB = "rgb(11, 87, 208)"
TITLE = "Lantern help"

# A host page whose CSS attacks everything it can reach, and which uses the widget's own class
# names for its own elements: neither side may change the other.
HOST_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Lantern — third-party docs</title>
<style>
* {{ font-family: "Comic Sans MS", cursive !important; font-size: 31px !important; color: #ff0000 !important;
     line-height: 3 !important; letter-spacing: 4px !important; }}
button, textarea, ol, li, div {{ display: inline !important; background: lime !important; border: 9px dashed red !important;
     position: static !important; visibility: hidden !important; width: 3px !important; }}
docent-widget {{ opacity: .2 !important; }}
</style></head>
<body><main><h1>Lantern docs</h1>
<ol class="log"><li class="turn"><div class="answer" id="host-answer">The host page's own answer box.</div></li></ol>
<section id="help"></section>
</main>
<script src="{docent}/widget.js" data-target="#help" data-title="Inline help"></script>
<script src="{docent}/widget.js" data-title="{title}" data-color="{accent}" data-examples="{example}|How do I install Lantern?"></script>
</body></html>
"""

step = "starting"


def serve_host_page(port, docent):
    page = HOST_PAGE.format(docent=docent, title=TITLE, accent=ACCENT, example=EXAMPLE).encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200 if self.path == "/docs.html" else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            if self.path == "/docs.html":
                self.wfile.write(page)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def shadow(driver):
    hosts = driver.find_elements(By.CSS_SELECTOR, "docent-widget")
    check(len(hosts) == 1, f"expected one <docent-widget> on the page, found {len(hosts)}")
    return hosts[0], hosts[0].shadow_root


def style(driver, element, prop):
    return driver.execute_script("return getComputedStyle(arguments[0]).getPropertyValue(arguments[1])", element, prop)


def snapshot(driver, name):
    """Saves a screenshot under DOCENT_SCREENSHOTS, when set (to look at the widget by eye)."""
    folder = os.environ.get("DOCENT_SCREENSHOTS")
    if folder:
        os.makedirs(folder, exist_ok=True)
        driver.save_screenshot(os.path.join(folder, name))


def open_widget(driver):
    host, root = shadow(driver)
    launcher = root.find_element(By.CSS_SELECTOR, "button.launcher")
    check(launcher.is_displayed(), "the launcher is not visible on the hostile page")
    launcher.click()
    panel = root.find_element(By.CSS_SELECTOR, ".panel")
    wait(driver, 5, lambda d: panel.is_displayed(), "the panel did not open")
    check(launcher.get_attribute("aria-expanded") == "true", "the launcher does not say the panel is open")
    return host, root, launcher, panel


def run(driver, base, site, port):
    global step
    report = {}

    step = "opening the third-party page"
    driver.get(f"http://127.0.0.1:{port}/docs.html")
    host, root = shadow(driver)
    launcher = root.find_element(By.CSS_SELECTOR, "button.launcher")

    step = "checking that the host page's CSS does not reach the widget"
    check(style(driver, launcher, "background-color") == ACCENT_RGB, f"launcher colour is {style(driver, launcher, 'background-color')}, not data-color")
    check(style(driver, launcher, "visibility") == "visible", "the host page's CSS hid the launcher")
    check(style(driver, host, "opacity") == "1", f"the host page's CSS dimmed the widget to {style(driver, host, 'opacity')}")
    check("Comic Sans" not in style(driver, launcher, "font-family"), "the host page's font reached the widget")
    check(style(driver, launcher, "font-size") == "16px", f"launcher font size is {style(driver, launcher, 'font-size')}")

    step = "checking that the widget's CSS does not leak into the host page"
    own = driver.find_element(By.ID, "host-answer")
    check(style(driver, own, "border-top-left-radius") == "0px", "the widget's .answer style reached the host page")
    check(style(driver, own, "box-shadow") == "none", "the widget's .answer shadow reached the host page")

    step = "checking the inline widget (data-target)"
    inline_hosts = driver.find_elements(By.CSS_SELECTOR, "#help > .docent-inline")
    check(len(inline_hosts) == 1, f"expected the inline widget in #help, found {len(inline_hosts)}")
    inline = inline_hosts[0].shadow_root
    check(inline.find_element(By.CSS_SELECTOR, "h1").text == "Inline help", "the inline widget's title is not its data-title")
    inline_box = inline.find_element(By.CSS_SELECTOR, "#question")
    check(inline_box.is_displayed() and inline_box.size["width"] > 150, f"the inline question box is hidden or squeezed ({inline_box.size})")
    check(not inline.find_elements(By.CSS_SELECTOR, "button.launcher"), "the inline widget has a launcher")

    step = "opening the panel with the launcher"
    host, root, launcher, panel = open_widget(driver)
    question_box = root.find_element(By.CSS_SELECTOR, "#question")
    active = driver.execute_script("return arguments[0].shadowRoot.activeElement", host)
    check(active == question_box, "opening the panel did not move focus to the question box")
    check(root.find_element(By.CSS_SELECTOR, "h1").text == TITLE, "data-title is not the panel's title")
    check(panel.get_attribute("role") == "dialog", "the panel is not a dialog")
    about = root.find_element(By.CSS_SELECTOR, ".about")
    wait(driver, 10, lambda d: "indexed page" in about.text, f"the panel never said what is indexed: {about.text!r}")
    report["about"] = about.text

    step = "asking an example question"
    examples = [b.text for b in root.find_elements(By.CSS_SELECTOR, ".examples button")]
    check(examples == [EXAMPLE, "How do I install Lantern?"], f"example questions shown: {examples}")
    driver.execute_script(
        """
        window.__renders = [];
        const log = arguments[0].shadowRoot.querySelector('#log');
        new MutationObserver((records) => {
          for (const r of records) {
            // The nodes each render added (the callback runs after several renders may have
            // happened, so the target's text now would be the last render's).
            if (!r.target.classList || !r.target.classList.contains('answer-text') || !r.addedNodes.length) continue;
            let length = 0;
            r.addedNodes.forEach((n) => { length += (n.textContent || '').length; });
            window.__renders.push(length);
          }
        }).observe(log, {childList: true, subtree: true});
        """,
        host,
    )
    click(driver, root.find_element(By.CSS_SELECTOR, ".examples button"))
    wait(driver, 5, lambda d: root.find_elements(By.CSS_SELECTOR, "#log > .turn"), "the example question started no turn")
    turn = root.find_element(By.CSS_SELECTOR, "#log > .turn")
    answer = turn.find_element(By.CSS_SELECTOR, ".answer")
    wait(driver, 20, lambda d: answer.get_attribute("data-state") == "done", "the answer never finished")
    text = turn.find_element(By.CSS_SELECTOR, ".answer-text").get_attribute("textContent")
    check(".lantern/cache" in text, f"the answer does not quote the storage page: {text!r}")
    renders = driver.execute_script("return window.__renders")
    check(len(renders) >= 2 and renders[0] < renders[-1], f"the answer did not stream (renders: {renders})")
    report["renders"] = len(renders)

    snapshot(driver, "widget-answer.png")

    step = "following a citation"
    cites = turn.find_elements(By.CSS_SELECTOR, ".answer-text a.cite")
    check(cites, f"no citation in the answer: {text!r}")
    href = cites[0].get_attribute("href")
    report["cite_href"] = href
    check(href.startswith(site + "/"), f"the citation links {href}, outside the crawled site")
    home = driver.current_window_handle
    click(driver, cites[0])
    wait(driver, 10, lambda d: len(d.window_handles) == 2, "clicking the citation opened no new tab")
    driver.switch_to.window([h for h in driver.window_handles if h != home][0])
    wait(driver, 10, lambda d: d.execute_script("return document.readyState") == "complete" and d.title, "the cited page did not load")
    report["followed_url"] = driver.current_url
    anchor = href.partition("#")[2]
    check(anchor and driver.find_elements(By.ID, anchor), f"the cited page has no element #{anchor}")
    driver.close()
    driver.switch_to.window(home)

    step = "rating the answer"
    up = turn.find_element(By.CSS_SELECTOR, ".feedback button.vote")
    check(up.get_attribute("aria-label") == "Helpful", "the first vote button is not 'Helpful'")
    click(driver, up)
    status = turn.find_element(By.CSS_SELECTOR, ".feedback-status")
    wait(driver, 10, lambda d: status.text not in ("", "Sending…"), "the rating got no reply")
    check(status.text == "Thanks for the feedback", f"the rating was not recorded: {status.text!r}")
    report["answer_id"] = answer.get_attribute("data-answer-id")
    check(turn.find_elements(By.CSS_SELECTOR, ".code button.copy") or "```" not in text, "a code block has no copy button")

    step = "checking accessibility with axe-core (panel open, answer shown)"
    report["widget_violations"] = axe_violations(driver, "document.querySelector('docent-widget')")
    check(not report["widget_violations"], f"axe-core found serious or critical problems in the widget: {report['widget_violations']}")

    step = "closing the panel with Escape"
    root.find_element(By.CSS_SELECTOR, "#question").send_keys(Keys.ESCAPE)
    wait(driver, 5, lambda d: not panel.is_displayed(), "Escape did not close the panel")
    active = driver.execute_script("return arguments[0].shadowRoot.activeElement", host)
    check(active == launcher, "closing the panel did not return focus to the launcher")
    check(launcher.get_attribute("aria-expanded") == "false", "the launcher still says the panel is open")

    step = "opening the panel on a phone-sized window"
    driver.set_window_size(390, 844)
    host, root, launcher, panel = open_widget(driver)
    width = driver.execute_script("return [arguments[0].getBoundingClientRect().width, window.innerWidth]", panel)
    check(abs(width[0] - width[1]) < 1, f"on a phone the panel is {width[0]} px wide in a {width[1]} px window")
    snapshot(driver, "widget-phone.png")
    close = root.find_element(By.CSS_SELECTOR, "button.close")
    check(close.is_displayed(), "the panel's close button is not visible on a phone")
    close.click()
    wait(driver, 5, lambda d: not panel.is_displayed(), "the close button did not close the panel")
    driver.set_window_size(1000, 900)

    step = "asking from a page whose origin is not allowed"
    driver.get(f"http://localhost:{port}/docs.html")
    host, root, launcher, panel = open_widget(driver)
    box = root.find_element(By.CSS_SELECTOR, "#question")
    box.send_keys("Where does Lantern keep its build cache? (refused origin)")
    box.send_keys(Keys.ENTER)
    turn_css = "#log > .turn"
    wait(driver, 5, lambda d: root.find_elements(By.CSS_SELECTOR, turn_css), "no turn for the refused question")
    answer = root.find_element(By.CSS_SELECTOR, f"{turn_css} .answer")
    wait(driver, 10, lambda d: answer.get_attribute("data-state") == "done", "the refused question never ended")
    errors = answer.find_elements(By.CSS_SELECTOR, ".error")
    check(errors and errors[0].get_attribute("role") == "alert", "the refusal is not shown as an alert")
    report["refused_message"] = errors[0].text
    check("Could not reach the assistant" in errors[0].text, f"unexpected refusal message: {errors[0].text!r}")
    check(not answer.find_elements(By.CSS_SELECTOR, "a.cite"), "a refused page still got an answer with citations")

    step = "checking the chat page with axe-core"
    driver.get(base + "/")
    wait(driver, 5, lambda d: d.find_elements(By.ID, "question"), "the chat page did not mount")
    box = driver.find_element(By.ID, "question")
    box.send_keys(EXAMPLE)
    box.send_keys(Keys.ENTER)
    wait(driver, 20, lambda d: d.find_elements(By.CSS_SELECTOR, "#log > .turn .answer[data-state=done]"), "the chat page's answer never finished")
    snapshot(driver, "chat-page.png")
    report["page_violations"] = axe_violations(driver, "document")
    check(not report["page_violations"], f"axe-core found serious or critical problems on the chat page: {report['page_violations']}")
    return report


def screenshot(driver):
    shot = os.path.join(tempfile.gettempdir(), "docent-widget-failure.png")
    driver.save_screenshot(shot)
    print(f"screenshot at the failure: {shot}", file=sys.stderr)


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    base, site, port = sys.argv[1].rstrip("/"), sys.argv[2].rstrip("/"), int(sys.argv[3])
    server = serve_host_page(port, base)
    try:
        run_session("widget test", lambda driver: run(driver, base, site, port), lambda: step, screenshot)
    finally:
        server.shutdown()


if __name__ == "__main__":
    main()
