#!/usr/bin/env python3
"""Glossary evaluation: "What is X?" asked of every term a manual's own glossary defines.

Usage:
    python3 tests/eval/glossary.py [--python DIR] [--django DIR] [--sphinx DIR]
        [--sqlalchemy DIR] [--postgres DIR] [--docent PATH] [--work DIR] [--split dev|test|all]
        [--show N]

DIR are the HTML manuals as Debian packages them (`python3.11-doc`, `python-django-doc`,
`sphinx-doc`, `python-sqlalchemy-doc`: Sphinx glossaries; `postgresql-doc-15`: DocBook's). Each
term of `glossary.html` is asked as "What is TERM?" with `docent ask --jsonl` (no language model:
the extractive answer) over its manual, indexed as `ranking.py` indexes it (the same `--work`
directory serves both). Figures per manual:

- quoted: the answer quotes the glossary's own definition (its first eight words, in order);
- glossary first: the glossary is the answer's first source;
- words: words per answer (the notice left out);
- compared: "What is the difference between A and B?" for the half's terms taken two by two in
  their shuffled order (pairs of one entry's spellings left out): the answer quotes both
  definitions.

Each manual's terms are cut into `dev` and `test` halves by a fixed seed (20261204): choices are
made on `dev`, figures reported on `test`.
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
from answers import NOTICE, SEED, ask  # noqa: E402

SPHINX_ENTRY = re.compile(r"((?:<dt[^>]*>.*?</dt>\s*)+)<dd[^>]*>(.*?)</dd>", re.S)
DOCBOOK_ENTRY = re.compile(
    r'<dt[^>]*>\s*<span class="glossterm">(.*?)</span>\s*</dt>\s*<dd[^>]*>(.*?)</dd>', re.S)


def words(text):
    return re.findall(r"\w+", text.lower())


def glossary_entries(path):
    """(term, definition) for each entry of a glossary page (DocBook's `glossterm`s, else
    Sphinx's `<dt>`s, several to an entry for its spellings) with the first paragraph of its
    definition."""
    text = open(path, encoding="utf-8").read()
    entries = []
    pairs = [([ranking.strip_tags(term)], dd) for term, dd in DOCBOOK_ENTRY.findall(text)]
    if not pairs:
        pairs = [([ranking.strip_tags(t) for t in re.findall(r"<dt[^>]*>(.*?)</dt>", dts, re.S)],
                  dd) for dts, dd in SPHINX_ENTRY.findall(text)]
    for terms, dd in pairs:
        first = re.search(r"<p[^>]*>(.*?)</p>", dd, re.S)
        definition = ranking.strip_tags(first.group(1) if first else dd)
        for term in terms:
            # Asked without the sense a glossary adds in brackets ("Backend (process)").
            term = re.sub(r"\s*\([^)]*\)$", "", html.unescape(term).replace("¶", "").strip())
            # A "See X" entry points elsewhere; too short a definition cannot be told apart.
            if term and len(words(definition)) >= 8 and not definition.startswith("See ") \
                    and term not in [t for t, _ in entries]:
                entries.append((term, definition))
    return entries


def quotes(answer, definition):
    """Whether `answer` quotes the definition's first eight words in order."""
    body = " ".join(words(NOTICE.sub("", answer)))
    return " ".join(words(definition)[:8]) in body


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name in ("python", "django", "sphinx", "sqlalchemy", "postgres"):
        parser.add_argument(f"--{name}", help=f"the {name} manual's html directory")
    parser.add_argument("--docent", default="target/release/docent")
    parser.add_argument("--work", default=os.path.expanduser("~/.cache/docent/ranking-eval"))
    parser.add_argument("--split", default="test", choices=["dev", "test", "all"])
    parser.add_argument("--show", type=int, default=0, help="print N answers that miss")
    args = parser.parse_args()
    excludes = {"python": ["faq/"], "django": ["faq/"], "sqlalchemy": ["faq/"]}
    os.makedirs(args.work, exist_ok=True)
    print("| manual | terms | quoted | glossary first | words | compared (pairs) |")
    print("|---|---|---|---|---|---|")
    for name in ("python", "django", "sphinx", "sqlalchemy", "postgres"):
        site = getattr(args, name)
        if not site:
            continue
        entries = glossary_entries(os.path.join(site, "glossary.html"))
        random.Random(f"{SEED}:{name}-glossary").shuffle(entries)
        half = (len(entries) + 1) // 2
        entries = {"dev": entries[:half], "test": entries[half:], "all": entries}[args.split]
        db = os.path.join(args.work, f"{name}.db")
        ranking.docent_index(args.docent, site, db, excludes.get(name, []))
        questions = [{"q": f"What is {term}?"} for term, _ in entries]
        replies, _ = ask(args.docent, db, questions)
        quoted = first = total_words = 0
        missed = []
        for (term, definition), reply in zip(entries, replies):
            answer = reply.get("answer", "")
            sources = reply.get("sources", [])
            hit = quotes(answer, definition)
            quoted += hit
            first += bool(sources) and sources[0]["url"].split("#")[0].endswith("/glossary.html")
            total_words += len(NOTICE.sub("", answer).split())
            if not hit:
                missed.append((term, answer))
        pairs = [(a, b) for a, b in zip(entries[::2], entries[1::2]) if a[1] != b[1]]
        asked = [{"q": f"What is the difference between {a} and {b}?"} for (a, _), (b, _) in pairs]
        compared_replies, _ = ask(args.docent, db, asked) if asked else ([], "")
        both = sum(quotes(r.get("answer", ""), a[1]) and quotes(r.get("answer", ""), b[1])
                   for (a, b), r in zip(pairs, compared_replies))
        n = max(1, len(entries))
        print(f"| {name} | {len(entries)} | {quoted / n:.3f} | {first / n:.3f} | "
              f"{total_words / n:.0f} | {both / max(1, len(pairs)):.3f} ({len(pairs)}) |")
        for term, answer in missed[:args.show]:
            print(f"\n### What is {term}?\n{answer}\n")


if __name__ == "__main__":
    main()
