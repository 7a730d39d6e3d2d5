#!/usr/bin/env python3
"""Plain page-level BM25 baseline for the retrieval evaluation set.

Usage:
    python3 tests/eval/bm25_baseline.py --site /usr/share/doc/postgresql-doc-15/html \
        --queries tests/eval/postgres-queries.jsonl --out results.jsonl [--k 10]

Extracts each HTML page's text crudely (tags dropped, <script>/<style> skipped),
indexes whole pages in an in-memory SQLite FTS5 table (unicode61 tokenizer,
FTS5's built-in bm25(), k1=1.2, b=0.75), runs every query as its alphanumeric
words ORed together, and writes one {"results": [{"url", "title", "score"}, ...]}
line per query, with urls like "http://127.0.0.1/page.html", for evaluate.py.

Standard library only (needs an sqlite3 built with FTS5).
"""

import argparse
import json
import os
import re
import sqlite3
from html.parser import HTMLParser


class TextExtractor(HTMLParser):
    """Collects text outside <script> and <style>, and the <title>."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts, self.title, self.skip, self.in_title = [], "", 0, False

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self.skip += 1
        elif tag == "title":
            self.in_title = True

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self.skip = max(0, self.skip - 1)
        elif tag == "title":
            self.in_title = False

    def handle_data(self, data):
        if self.skip:
            return
        if self.in_title:
            self.title += data
        self.parts.append(data)


def extract(path):
    parser = TextExtractor()
    with open(path, encoding="utf-8", errors="replace") as f:
        parser.feed(f.read())
    return " ".join(parser.title.split()), " ".join(" ".join(parser.parts).split())


def html_files(site):
    for root, _, files in os.walk(site):
        for name in sorted(files):
            if name.endswith((".html", ".htm")):
                full = os.path.join(root, name)
                yield os.path.relpath(full, site).replace(os.sep, "/"), full


def build_index(site):
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE pages USING fts5(path UNINDEXED, title UNINDEXED, body)")
    rows = ((rel, *extract(full)) for rel, full in html_files(site))
    db.executemany("INSERT INTO pages (path, title, body) VALUES (?, ?, ?)", rows)
    return db


def fts_query(q):
    """Alphanumeric words, each quoted, ORed together (duplicates dropped)."""
    words = dict.fromkeys(w.lower() for w in re.findall(r"[^\W_]+", q))
    return " OR ".join(f'"{w}"' for w in words)


def search(db, q, k):
    match = fts_query(q)
    if not match:
        return []
    rows = db.execute(
        "SELECT path, title, bm25(pages) FROM pages WHERE pages MATCH ? ORDER BY bm25(pages) LIMIT ?", (match, k)
    )
    # bm25() is negative, lower is better; report it as a positive score.
    return [{"url": f"http://127.0.0.1/{path}", "title": title, "score": -score} for path, title, score in rows]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", required=True, help="directory of HTML pages")
    parser.add_argument("--queries", required=True, help='JSONL of {"q": ...}')
    parser.add_argument("--out", default="results.jsonl")
    parser.add_argument("--k", type=int, default=10, help="results per query")
    args = parser.parse_args()

    db = build_index(args.site)
    with open(args.queries, encoding="utf-8") as f:
        queries = [json.loads(line)["q"] for line in f if line.strip()]
    with open(args.out, "w", encoding="utf-8") as out:
        for q in queries:
            out.write(json.dumps({"results": search(db, q, args.k)}) + "\n")
    pages = db.execute("SELECT count(*) FROM pages").fetchone()[0]
    print(f"indexed {pages} pages, wrote {len(queries)} result lines to {args.out}")


if __name__ == "__main__":
    main()
