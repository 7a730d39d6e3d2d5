#!/usr/bin/env python3
"""A single-page Sphinx FAQ (`faq.html`) as a ranking probe: each question whose answer links pages
of the manual, against those pages.

Usage:
    python3 tests/eval/faq_probe.py --manual DIR --docent PATH --db PATH [--show]

DIR is a Sphinx HTML manual with a `faq.html` (e.g. Debian `python-celery-doc`'s or
`python-scrapy-doc`'s `html/`). The manual is indexed into --db (once; `faq.html`, `_sources/` and
`_modules/` left out) and each question asked with `docent search --k 10`. Printed: hit@5 / MRR@10
for Docent, chunk BM25 over Docent's chunks and page BM25 (`ranking.py`'s baselines). A probe, not
an evaluation set: once its misses have been read, it no longer measures what it did not shape.
"""

import argparse
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ranking  # noqa: E402

LEFT_OUT = ["faq.html", "_sources/", "_modules/"]


def questions(root):
    text = open(os.path.join(root, "faq.html"), encoding="utf-8").read()
    body = text.split('<div class="body"', 1)[-1]
    body = re.split(r'<div class="(?:sphinxsidebar|related|footer)', body)[0]
    parts = re.split(r"(<h[2345][^>]*>(?:(?!</h[2345]>).)*?headerlink.*?</h[2345]>)", body, flags=re.S)
    found = []
    for heading, answer in zip(parts[1::2], parts[2::2]):
        pages = {p for p in (ranking.page_of(h, "faq.html") for h in re.findall(r'href="([^"]+)"', answer))
                 if p and p != "faq.html" and p.endswith(".html") and not ranking.is_nav(p)
                 and not p.startswith("http")}
        if pages:
            found.append({"q": ranking.strip_tags(heading).rstrip("¶").strip(), "relevant": sorted(pages)})
    return found


def ranks(qs, results, root):
    out = []
    for q, result in zip(qs, results):
        pages = list(dict.fromkeys(ranking.page_path(r["url"], root) for r in result))
        out.append(next((i + 1 for i, p in enumerate(pages) if p in q["relevant"]), None))
    return out


def figure(found):
    hit = sum(1 for r in found if r and r <= 5) / len(found)
    mrr = sum(1 / r for r in found if r) / len(found)
    return f"{hit:.3f} / {mrr:.3f}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--manual", required=True)
    parser.add_argument("--docent", default="target/release/docent")
    parser.add_argument("--db", required=True)
    parser.add_argument("--show", action="store_true", help="each question's rank and first pages")
    args = parser.parse_args()
    root = args.manual.rstrip("/") + "/"
    qs = questions(root)
    if not qs:
        sys.exit(f"no question of {root}faq.html links a page of the manual: nothing to probe")
    if not os.path.exists(args.db):
        command = [args.docent, "index", root, "--db", args.db]
        for glob in LEFT_OUT:
            command += ["--exclude", glob]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    docent = ranking.docent_search(args.docent, args.db, qs, "auto")
    print(f"{len(qs)} questions with links")
    print(f"docent {figure(ranks(qs, docent, root))}  chunk-bm25 "
          f"{figure(ranks(qs, ranking.chunk_bm25(args.db, qs), root))}  page-bm25 "
          f"{figure(ranks(qs, ranking.page_bm25(root, [g.rstrip('/') for g in LEFT_OUT], qs), root))}")
    if args.show:
        for q, r, result in zip(qs, ranks(qs, docent, root), docent):
            pages = list(dict.fromkeys(ranking.page_path(x["url"], root) for x in result))
            print(r, q["q"][:90], "| relevant", q["relevant"][:3], "| first", pages[:3])


if __name__ == "__main__":
    main()
