#!/usr/bin/env python3
"""Answer evaluation: Docent's answers against the answers a manual's authors wrote.

Usage:
    python3 tests/eval/answers.py --django DIR [--postgres DIR] [--python DIR] [--sqlalchemy DIR]
        [--docent PATH] [--work DIR]
        [--split dev|test|all] [--json OUT] [--show N] [--ceiling]

DIR are the HTML manuals as Debian packages them (`python-django-doc`, `postgresql-doc-15`, under
/usr/share/doc/*/html). The questions are every heading of Django's FAQ (`faq/`, left out of the
indexed corpus) with the text its authors wrote under it; its links into the manual are the pages
a good answer cites. Cut into `dev` and `test` halves by a fixed seed.

Each question is asked with `docent ask --jsonl` (the chat's own pipeline, natively, with no
language model: the extractive answer) over the Django manual. Figures per set:

- cited@1 / cited@3: a page the reference answer links is the first source / among the first
  three (questions whose answer links a page);
- recall: the share of the reference answer's distinct content words found in Docent's answer;
- cut: the share of quoted prose passages that start or end inside a sentence of the page (checked
  against the stored text; a passage not found there must end at `.`, `!`, `?`, `:` or a closing
  quote or bracket);
- nav: answers that quote a table of contents or an index page;
- declined: answers that say nothing was found;
- words: words per answer, the notice left out (the reference answers' own average beside it).

With --ceiling, what quoting alone could reach: for each question, the best recall of any run of
as many words as Docent's answers average, taken from the stored text of the pages its reference
links, and from any page of the manual. The window is chosen knowing the reference answer, so no
extractive answer of that length can do better.

With --postgres, the same questions are also asked over the PostgreSQL manual, which cannot answer
them (another product): there, declining is right. With --python, Python's own FAQ (`faq/` of
`python3.11-doc`, left out the same way) is asked over the Python manual, a second answerable set;
with --sqlalchemy, SQLAlchemy's (`python-sqlalchemy-doc`), a third, on a manual the answers were
never tuned on; with --git, Git's (`gitfaq.html` of `git-doc`, AsciiDoc rather than Sphinx: each
question a definition list's term, its answer the description after it), a fourth, of 20 questions.

With --worker URL (a running Docent, e.g. `infra/scripts/dev.sh` on workerd), the Django questions
are asked end to end through `POST /api/chat` instead; `--crawl` first serves the Django manual on
loopback and crawls it there through `POST /api/crawls` (`faq/` excluded), waiting for the job.
"""

import argparse
import html
import json
import os
import random
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ranking  # noqa: E402

SEED = 20261204
STOPWORDS = set("""a an and are as at be but by can could do does did for from has have how i if in
into is it its may me might more most my no not of on or our should so some such than that the their
them then there these they this those to too use used using very was we were what when where which
who why will with would you your also just only other own same up out about any all each both""".split())
NOTICE = re.compile(r"^_[^\n]*_\n\n", re.S)


def content_words(text):
    return {w for w in re.findall(r"[a-z0-9_]+", text.lower()) if w not in STOPWORDS and len(w) > 1}


def gitfaq_sections(root):
    """Git's FAQ as (its page, the question, the answer's HTML): each term of its definition lists
    and the description after it."""
    text = open(os.path.join(root, "gitfaq.html"), encoding="utf-8").read()
    for question, answer in re.findall(r'<dt class="hdlist1">(.*?)</dt>\s*<dd>(.*?)</dd>', text, re.S):
        # Inline markup is part of a word (`<code>user.name</code>?`), not a space.
        yield "gitfaq.html", " ".join(html.unescape(re.sub(r"<[^>]+>", "", question)).split()), answer


def sqlitefaq_sections(root):
    """SQLite's FAQ as (its page, the question, the answer's HTML): each bold question after an
    anchor `qN`, its number dropped, and the block quote after it."""
    text = open(os.path.join(root, "faq.html"), encoding="utf-8").read()
    pattern = r'<a name="q\d+"></a>\s*<p><b>\(\d+\)(.*?)</b></p>(.*?)(?=<a name="q\d+"></a>|</body>|$)'
    for question, answer in re.findall(pattern, text, re.S):
        yield "faq.html", " ".join(html.unescape(re.sub(r"<[^>]+>", "", question)).split()), answer


FAQ_SECTIONS = {"git": gitfaq_sections, "sqlite": sqlitefaq_sections}


def faq_questions(root, name="django"):
    """Every FAQ question (`ranking.faq_sections`, or the manual's own reader in `FAQ_SECTIONS`)
    with its answer's text and the manual pages the answer links, cut into halves by the seed."""
    questions = []
    sections = FAQ_SECTIONS.get(name, ranking.faq_sections)(root)
    for base, question, answer in sections:
        reference = ranking.strip_tags(answer)
        if len(content_words(reference)) >= 5:
            pages = sorted(ranking.faq_links(base, answer))
            questions.append({"q": question, "reference": reference, "relevant": pages})
    rng = random.Random(f"{SEED}:{name}-faq-answers")
    rng.shuffle(questions)
    half = (len(questions) + 1) // 2
    for i, q in enumerate(questions):
        q["split"] = "dev" if i < half else "test"
    return questions


def ask(docent, db, questions):
    lines = "".join(json.dumps({"q": q["q"]}) + "\n" for q in questions)
    out = subprocess.run([docent, "ask", "--db", db, "--jsonl", "--timings"], input=lines,
                         capture_output=True, text=True, check=True)
    timing = out.stderr.strip().splitlines()[-1] if out.stderr.strip() else ""
    return [json.loads(line) for line in out.stdout.splitlines() if line.strip()], timing


def ask_worker(base, questions):
    """The chat's answers over HTTP: `sources`, `delta` and `done` events gathered per question."""
    import time
    import urllib.error
    import urllib.request
    replies, took = [], []
    for q in questions:
        body = json.dumps({"message": q["q"]}).encode()
        request = urllib.request.Request(f"{base}/api/chat", data=body,
                                         headers={"Content-Type": "application/json"})
        while True:
            started = time.monotonic()
            try:
                events = urllib.request.urlopen(request, timeout=60).read().decode()
                break
            except urllib.error.HTTPError as e:
                # Over the chat's per-client rate limit: wait as asked, then ask again.
                if e.code != 429:
                    raise
                time.sleep(int(e.headers.get("Retry-After", "5")))
        took.append((time.monotonic() - started) * 1000)
        reply = {"answer": "", "sources": [], "mode": ""}
        for block in events.split("\n\n"):
            name = next((l[6:].strip() for l in block.splitlines() if l.startswith("event:")), "")
            data = "\n".join(l[5:].lstrip() for l in block.splitlines() if l.startswith("data:"))
            if not data:
                continue
            data = json.loads(data)
            if name == "sources":
                reply["sources"] = data["sources"]
            elif name == "delta":
                reply["answer"] += data["text"]
            elif name == "done":
                reply["mode"] = data["mode"]
        replies.append(reply)
    took.sort()
    return replies, f"{len(took)} questions (worker): p50 {took[len(took) // 2]:.2f} ms" if took else ""


def crawl_on_worker(base, site):
    """Serves `site` on a loopback port and crawls it on the Worker at `base`, to the end."""
    import http.server
    import functools
    import threading
    import time
    import urllib.request
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=site)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    admin = {"Authorization": "Bearer docent-dev-admin-key", "Content-Type": "application/json"}
    start = {"url": f"http://127.0.0.1:{server.server_port}/index.html", "exclude": ["faq/**"],
             "max_pages": 5000, "max_depth": 20}
    job = json.load(urllib.request.urlopen(urllib.request.Request(
        f"{base}/api/crawls", data=json.dumps(start).encode(), headers=admin)))
    while True:
        time.sleep(5)
        state = json.load(urllib.request.urlopen(urllib.request.Request(
            f"{base}/api/crawls/{job['id']}", headers=admin)))
        if state["status"] not in ("queued", "running"):
            print(f"crawl {state['status']}: {json.dumps(state.get('pages'))}", file=sys.stderr)
            return server


def quoted_passages(answer):
    """The quoted prose passages of an extractive answer (code blocks left out)."""
    passages, current, fence = [], [], False
    for line in answer.splitlines() + [""]:
        if line.startswith(">"):
            body = line[1:].lstrip()
            if body.startswith(("```", "~~~")):
                fence = not fence
                continue
            if fence:
                continue
            if body:
                current.append(body)
                continue
        if current:
            passages.append(" ".join(current))
            current = []
    return passages


def corpus_text(db):
    """Every stored chunk's text, whitespace collapsed, one per line: where quotes come from."""
    import sqlite3
    rows = sqlite3.connect(db).execute("SELECT text FROM chunks")
    return "\n".join(" ".join(line.split()) for (text,) in rows for line in text.split("\n\n"))


def is_cut(passage, corpus):
    """A quoted passage is cut when it does not start and end where a sentence or block of the
    page does. Found in the stored text, its edges are checked there (at every place it occurs: a
    short passage such as a signature also occurs inside sentences elsewhere); otherwise
    (reformatted) it must end at a sentence's end. A passage that is one code span (a signature
    the answer sets as code) is looked for without its backticks too, and as stored with only its
    name marked (`` `os.remove`(path) ``)."""
    if re.match(r"^(\d+\.|[-*]) ", passage) or passage.startswith("|"):
        return False  # list items and table rows are whole units
    passage = re.sub(r"\s*\[\d+\]$", "", passage).strip()  # the citation after a quote
    if passage.endswith("…"):
        return True
    text = " ".join(passage.split())
    forms = [text]
    if re.fullmatch(r"`[^`]+`", text):
        forms.append(text[1:-1])
        # A signature the answer sets as code whole, stored with only its name marked.
        name, paren, rest = text[1:-1].partition("(")
        if paren:
            forms.append(f"`{name}`({rest}")
    found = False
    for form in forms:
        at = corpus.find(form)
        while at >= 0:
            found = True
            before = corpus[max(0, at - 2):at]
            after = corpus[at + len(form):at + len(form) + 1]
            starts = at == 0 or before.endswith("\n") or before in (". ", "? ", "! ", ": ")
            ends = after in ("", "\n") or bool(re.search(r"""[.!?:)"'”’`]$""", form)) and after == " "
            if starts and ends:
                return False
            at = corpus.find(form, at + 1)
    if not found:
        return not re.search(r"""[.!?:)"'”’`]$""", text)
    return True


def ceiling(questions, db, marker, width):
    """Per question, the best recall of a `width`-word run of one page's stored text: over the
    pages the reference links (questions that link one) and over every page."""
    import collections
    import sqlite3
    pages = collections.defaultdict(list)
    for url, text in sqlite3.connect(db).execute("SELECT url, text FROM chunks ORDER BY url_key, ordinal"):
        pages[ranking.page_path(url, marker)].append(text)
    tokens = {p: [content_words(w) for w in " ".join(t).split()] for p, t in pages.items()}

    def best(reference, words):
        seen, best_count = collections.Counter(), 0
        for i, found in enumerate(words):
            seen.update(found & reference)
            if i >= width:
                for w in words[i - width] & reference:
                    seen[w] -= 1
                    if not seen[w]:
                        del seen[w]
            best_count = max(best_count, len(seen))
        return best_count / len(reference)

    linked, anywhere = [], []
    for q in questions:
        reference = content_words(q["reference"])
        scores = {p: best(reference, words) for p, words in tokens.items()}
        anywhere.append(max(scores.values()))
        in_linked = [scores[p] for p in q["relevant"] if p in scores]
        if in_linked:
            linked.append(max(in_linked))
    return sum(linked) / max(1, len(linked)), len(linked), sum(anywhere) / max(1, len(anywhere))


def score(questions, replies, marker, corpus):
    n = len(questions)
    cited1 = cited3 = linked = recall = declined = nav = words = 0.0
    cut = passages = 0
    for q, r in zip(questions, replies):
        answer = NOTICE.sub("", r.get("answer", ""))
        pages = [ranking.page_path(s["url"], marker) for s in r.get("sources", [])]
        if q["relevant"]:
            linked += 1
            cited1 += bool(pages[:1] and pages[0] in q["relevant"])
            cited3 += any(p in q["relevant"] for p in pages[:3])
        reference = content_words(q["reference"])
        recall += len(reference & content_words(answer)) / len(reference)
        declined += r.get("mode") == "no_evidence"
        quoted = quoted_passages(answer)
        passages += len(quoted)
        cut += sum(is_cut(p, corpus) for p in quoted)
        quoted_sources = len(re.findall(r"^\*\*.*\*\* \[\d+\]$", answer, re.M))
        nav += any(ranking.is_nav(p) for p in pages[:quoted_sources])
        words += len(answer.split())
    return {
        "n": n, "linked": int(linked),
        "cited@1": cited1 / max(1, linked), "cited@3": cited3 / max(1, linked),
        "recall": recall / max(1, n), "cut": cut / max(1, passages), "passages": passages,
        "nav": int(nav), "declined": int(declined), "words": words / max(1, n),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--django", required=True)
    parser.add_argument("--postgres")
    parser.add_argument("--python", help="python3.11-doc html directory: its FAQ asked of it")
    parser.add_argument("--sqlalchemy", help="python-sqlalchemy-doc html directory: its FAQ asked of it")
    parser.add_argument("--git", help="git-doc directory (/usr/share/doc/git-doc): its FAQ asked of it")
    parser.add_argument("--sqlite", help="sqlite3-doc directory (/usr/share/doc/sqlite3): its FAQ asked of it")
    parser.add_argument("--docent", default="target/release/docent")
    parser.add_argument("--work", default=os.path.expanduser("~/.cache/docent/answer-eval"))
    parser.add_argument("--split", default="test", choices=["dev", "test", "all"])
    parser.add_argument("--json")
    parser.add_argument("--show", type=int, default=0, help="print the first N answers")
    parser.add_argument("--worker", help="ask a running Docent at this URL instead of `docent ask`")
    parser.add_argument("--crawl", action="store_true", help="with --worker: crawl the manual there first")
    parser.add_argument("--ceiling", action="store_true",
                        help="also the best recall a run of as many words could reach")
    args = parser.parse_args()
    os.makedirs(args.work, exist_ok=True)

    def split(qs):
        return [q for q in qs if args.split in ("all", q["split"])]

    questions = split(faq_questions(args.django))
    reference_words = sum(len(q["reference"].split()) for q in questions) / max(1, len(questions))
    # (name, manual, left out, where page paths start, the questions asked of it)
    left_out = ranking.LEFT_OUT
    corpora = [("django", args.django, left_out["django"], "python-django-doc/html/", questions)]
    if args.worker:
        corpora = [("django-worker", args.django, left_out["django"], "python-django-doc/html/",
                    questions)]
    else:
        if args.postgres:
            corpora.append(("postgres", args.postgres, [], "postgresql-doc-15/html/", questions))
        if args.python:
            corpora.append(("python", args.python, left_out["python"], args.python.rstrip("/") + "/",
                            split(faq_questions(args.python, "python"))))
        if args.sqlalchemy:
            corpora.append(("sqlalchemy", args.sqlalchemy, left_out["sqlalchemy"],
                            args.sqlalchemy.rstrip("/") + "/",
                            split(faq_questions(args.sqlalchemy, "sqlalchemy"))))
        if args.git:
            corpora.append(("git", args.git, left_out["git"], args.git.rstrip("/") + "/",
                            split(faq_questions(args.git, "git"))))
        if args.sqlite:
            corpora.append(("sqlite", args.sqlite, left_out["sqlite"], args.sqlite.rstrip("/") + "/",
                            split(faq_questions(args.sqlite, "sqlite"))))
    figures = {}
    print(f"split: {args.split}; seed {SEED}; {len(questions)} Django questions; reference answers average {reference_words:.0f} words")
    print("| corpus | n | cited@1 | cited@3 | recall | cut | nav | declined | words | latency |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, site, excludes, marker, asked in corpora:
        # The native index of the same manual is what cut quotes are checked against.
        db = os.path.join(args.work, f"{name.replace('-worker', '')}.db")
        ranking.docent_index(args.docent, site, db, excludes)
        if args.worker:
            server = crawl_on_worker(args.worker, site) if args.crawl else None
            replies, timing = ask_worker(args.worker.rstrip("/"), asked)
            if server:
                server.shutdown()
        else:
            replies, timing = ask(args.docent, db, asked)
        f = score(asked, replies, marker, corpus_text(db))
        f["timing"] = timing
        figures[name] = f
        latency = re.search(r"p50 [\d.]+ ms", timing)
        print(f"| {name} | {f['n']} | {f['cited@1']:.3f} | {f['cited@3']:.3f} | {f['recall']:.3f} | "
              f"{f['cut']:.3f} ({f['passages']}) | {f['nav']} | {f['declined']} | {f['words']:.0f} | "
              f"{latency.group(0) if latency else '?'} |")
        answerable = name != "postgres"
        if args.ceiling and answerable:
            width = max(1, round(f["words"]))
            f["ceiling_linked"], linked, f["ceiling_anywhere"] = ceiling(asked, db, marker, width)
            print(f"\nceiling at {width} words: recall {f['ceiling_linked']:.3f} from the linked pages "
                  f"({linked} questions), {f['ceiling_anywhere']:.3f} from any page ({f['n']})\n")
        for q, r in list(zip(asked, replies))[: args.show if answerable else 0]:
            print(f"\n### {q['q']}\nlinks: {q['relevant']}\n{r.get('answer', r)}\n")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(figures, f, indent=1)


if __name__ == "__main__":
    main()
