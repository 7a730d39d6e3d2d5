#!/usr/bin/env python3
"""Ranking evaluation: Docent's search against page and chunk BM25 on sets no one here wrote.

Usage:
    python3 tests/eval/ranking.py --django DIR --postgres DIR [--python DIR] [--sqlalchemy DIR]
        [--sphinx DIR] [--octave DIR] [--javadoc DIR] [--rustdoc DIR] [--doxygen DIR]
        [--docent PATH] [--work DIR]
        [--split dev|test|all] [--modes lexical,hybrid] [--json OUT] [--misses]

DIR are the HTML manuals as Debian packages them (`python-django-doc`, `postgresql-doc-15`,
under /usr/share/doc/*/html). The sets are built from the manuals' own author-written parts:

- django-api: Sphinx `genindex.html` entries for Python objects (classes, methods, functions,
  attributes), asked as `Class.method` / `module.function`; relevant: the pages the entry links.
- django-concepts: `genindex.html` entries for settings, template tags and filters, signals,
  lookups, commands and glossary terms, asked as their index text (`LOCALE_PATHS setting`).
- django-faq: every FAQ question (an `h2`/`h3` ending in `?` under `faq/`) whose answer links a
  reference page; relevant: the linked pages. `faq/` is left out of the indexed corpus.
- python-api, python-concepts and python-faq (with `--python`, the `python3.11-doc` manual): its
  general index's entries (`genindex-all.html`, not the C API's or the release notes'): for
  standard-library objects, asked by their last two names (`os.remove`, `Future.add_done_callback`),
  and the others with the glossary's terms, asked by their index text ("try statement"); and the
  same FAQ set as Django's from Python's FAQ, about three times as many questions.
- python-options and sphinx-options (with `--python` / `--sphinx`): the general index's
  command-line options ("--buffer unittest command line option"), asked by their index text;
  relevant: the page the entry links.
- sqlalchemy-api and sqlalchemy-faq (with `--sqlalchemy`, the `python-sqlalchemy-doc` manual, a
  fourth one, added after the ranking was tuned on the others and never tuned on): its general
  index's entries for `sqlalchemy.*` objects (not parameters, not the changelog's), asked by their
  last two names (`Session.merge`, `functions.next_value`), and its FAQ's questions as above. Its
  theme is not Sphinx's own: the index is `<dt>`/`<dd>` lists, read by `sqlalchemy_index_set`.
- sphinx-api and sphinx-concepts (with `--sphinx`, the `sphinx-doc` manual, a fifth, looked at
  only to check a change of this session on a theme-free Sphinx manual): its general index's
  entries for objects asked by their last two names (`BuildEnvironment.app`), and its other entries
  (`html_theme configuration value`, `toctree (directive)`); not the changelog's or man pages'.
- octave-functions and octave-concepts (with `--octave`, the `octave.html` directory of Debian's
  `octave-doc`, a sixth manual and the first made by texinfo, added to check session 24's texinfo
  fixes and never tuned on): its Function Index's and Concept Index's entries, asked as written
  (`ezcontourf`, "and operator"); relevant: every page the entry links.
- javadoc-api (with `--javadoc`, a Javadoc API directory: Debian's `libcommons-lang3-java-doc`,
  a seventh manual, never tuned on): the members its `index-all.html` lists (methods, fields,
  constructors), asked as `Class.member` (`StringUtils.abbreviate`); relevant: the class's page.
- rustdoc-api (with `--rustdoc`, a rustdoc crate's directory: `std` of Debian's `rust-doc`, an
  eighth manual, never tuned on): its types' and traits' own methods, asked as `Type::method`
  (`Vec::push`); relevant: the pages of the types that define them (a re-exported type's both).
- doxygen-functions (with `--doxygen`, a Doxygen HTML directory: Debian's `libsdl2-doc`, a ninth
  manual, never tuned on): the functions its `globals_func*.html` list, asked as written there
  (`SDL_CreateWindow()`); relevant: the header's page that documents them.
- rustdoc-types and javadoc-types (with `--rustdoc`, `--javadoc`): the structs, enums and traits
  of the crate, the classes of `allclasses-index.html`, by name (`HashMap`, `StringUtils`);
  relevant: their pages. Added in session 29 after the change doxygen-types showed, never tuned on.
- doxygen-types (with `--doxygen`): the structs and unions its `annotated.html` lists, asked by
  name (`SDL_Keysym`); relevant: the page Doxygen gives each. Added in session 29 with the change
  it showed (a type's own page below the header file's that declares it), so not a held-out set.
- postgres-index: `bookindex.html` terms (`INSERT RETURNING`); relevant: the linked pages.
- postgres-60: the hand-made `postgres-queries.jsonl` beside this script.

Index-term sets are samples drawn with a fixed seed; every set is cut, by the same seed, into a
`dev` half (look at it while changing the ranking) and a `test` half (report it); up to 600 more
entries of an index-term set's draw form a `wide` split for tuning (the question sets have none;
`--split all` is dev and test, and `--write-sets` writes those).
Systems, all run here in the same invocation: Docent (`docent index`, then `docent search --jsonl
--k 10` per mode), page BM25 (crude text of each whole HTML page, SQLite FTS5 bm25) and chunk BM25
(Docent's own stored chunks, plain FTS5 bm25 over title, heading and text, best chunk per page).

With `vector` among the modes, one more baseline: Docent's vector ranking (the configured embedding
model over Docent's chunks, best chunk per page) fused with page BM25 by reciprocal rank fusion
(k = 60): with `DOCENT_EMBEDDINGS` naming e5, the "e5 + BM25" anchor.

Metrics per query, on pages (URL path without fragment, first occurrence kept): hit@5, MRR@10,
nav@5 (a table of contents or an index among the first five pages) and distinct pages among the
first ten results.
"""

import argparse
import html
import json
import os
import random
import re
import sqlite3
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bm25_baseline  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SEED = 20261204
PER_SPLIT = 150
# Index-term entries beyond the two halves, drawn by the same seed (so never in either): a wider
# set to look at while tuning, since a dev half of 150 moves by a query at a time.
WIDE = 600
# The manuals' tables of contents and indexes (paths from the manual's root): pages that exist to
# point at other pages, which a result list should not spend its top five on.
NAV_PAGES = ("contents.html", "genindex.html", "py-modindex.html", "bookindex.html", "index.html",
             "_modules/index.html")


def is_nav(page):
    """A table of contents or an index: one of `NAV_PAGES`, a letter of a split general index
    (Python's `genindex-A.html`), or a texinfo manual's index (Octave's `Concept-Index.html`)."""
    return (page in NAV_PAGES or re.fullmatch(r"genindex-[^/]+\.html", page) is not None
            or re.fullmatch(r"[A-Za-z-]+-Index\.html", page) is not None)


def strip_tags(fragment):
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def page_of(href, base):
    """`href` found in the page at `base` (a path relative to the manual), as a manual path."""
    path = href.split("#")[0]
    if not path or path.startswith(("http:", "https:", "mailto:")):
        return None
    return os.path.normpath(os.path.join(os.path.dirname(base), path)).replace(os.sep, "/")


def sphinx_index_entries(path):
    """Every link of a Sphinx general index page as (entry text, linked page, fragment): a nested
    entry's text is its parent's and its own ("LOCALE_PATHS" → "setting")."""
    text = open(path, encoding="utf-8").read()
    parent = ""
    # Top-level entries (indented six spaces) link directly or head a nested list of links (eight
    # spaces): "LOCALE_PATHS" → "setting", "localize" → "template filter", "template tag".
    for item in re.finditer(r"\n( +)<li>(.*?)(?=\n +<li>|</ul>)", text, re.S):
        nested, body = len(item.group(1)) > 6, item.group(2)
        if not nested:
            parent = strip_tags(body.split("<a", 1)[0])
        for href, label in re.findall(r'<a href="([^"]+)">(.*?)</a>', body):
            page = page_of(href, os.path.basename(path))
            fragment = href.split("#", 1)[1] if "#" in href else ""
            label = strip_tags(label)
            if page and not label.startswith("["):
                yield (f"{parent} {label}" if nested and parent else label), page, fragment


def django_index_sets(root):
    api, concepts = {}, {}
    for query, page, fragment in sphinx_index_entries(os.path.join(root, "genindex.html")):
        if page.startswith(("faq/", "releases/")):
            continue
        if fragment.startswith("django.") and "." in fragment:
            parts = fragment.split(".")
            api.setdefault(".".join(parts[-2:]), set()).add(page)
        elif fragment.startswith(("std-", "term-")):
            concepts.setdefault(query, set()).add(page)
    return api, concepts


def dotted_name(fragment):
    """An index entry's fragment as the object's dotted path (`os.path.join`), its parts if every
    one is an identifier, else None."""
    parts = fragment.split(".")
    return parts if all(re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", p) for p in parts) else None


def python_index_sets(root):
    """Python's general index (`genindex-all.html`), not the C API's entries nor the FAQ's or the
    release notes': entries for standard-library objects, asked by their last two names
    (`os.remove`, `path.join`, `Future.add_done_callback`), and the other entries and glossary
    terms, asked by their index text ("try statement", "method resolution order")."""
    api, concepts = {}, {}
    for query, page, fragment in sphinx_index_entries(os.path.join(root, "genindex-all.html")):
        if page.startswith(("faq/", "whatsnew/", "c-api/")):
            continue
        parts = dotted_name(fragment)
        if parts and len(parts) >= 2:
            api.setdefault(".".join(parts[-2:]), set()).add(page)
        elif fragment.startswith(("index-", "term-")) and re.search(r"[A-Za-z]{3}", query):
            concepts.setdefault(query, set()).add(page)
    return api, concepts


def options_index_set(index):
    """A Sphinx general index's command-line options ("--buffer unittest command line option" →
    the page that describes it), asked by their index text."""
    options = {}
    for query, page, fragment in sphinx_index_entries(index):
        if fragment.startswith("cmdoption-") and re.match(r"--?[A-Za-z]", query):
            options.setdefault(query, set()).add(page)
    return options


def sqlalchemy_index_set(root):
    """SQLAlchemy's general index (its own theme: every entry a link whose fragment is the object's
    dotted path): `sqlalchemy.*` objects, asked by their last two names, relevant where they link.
    Parameters (`….params.…`) and the changelog's entries are left out."""
    text = open(os.path.join(root, "genindex.html"), encoding="utf-8").read()
    api = {}
    for page, fragment in re.findall(r'<a href="([^"#]+)#([^"]*)">', text):
        parts = dotted_name(fragment)
        if (page.startswith(("faq/", "changelog/")) or ".params." in fragment
                or not parts or parts[0] != "sqlalchemy"):
            continue
        api.setdefault(".".join(parts[-2:]), set()).add(page)
    return api


def sphinx_manual_index_sets(root):
    """Sphinx's own manual: its general index's entries for objects (asked by their last two
    names) and its other entries (asked by their index text), not the changelog's, man pages' or
    modules' entries."""
    api, concepts = {}, {}
    for query, page, fragment in sphinx_index_entries(os.path.join(root, "genindex.html")):
        if page.startswith(("changes", "man/")):
            continue
        parts = dotted_name(fragment)
        if parts and len(parts) >= 2:
            api.setdefault(".".join(parts[-2:]), set()).add(page)
        elif re.search(r"[A-Za-z]{3}", query) and not fragment.startswith("module-"):
            concepts.setdefault(query, set()).add(page)
    return api, concepts


def faq_sections(root):
    """Every FAQ question of a Sphinx manual (`faq/` under `root`) as (its page, the question, the
    answer's HTML): the body's headings with a permalink, most ending in "?", some a statement of
    the trouble ("Some objects aren't appearing in the admin."), each with what follows it up to
    the next heading. The sidebar and footer are cut off first: the last answer of a page would
    otherwise link the next chapter."""
    faq = os.path.join(root, "faq")
    for name in sorted(os.listdir(faq)):
        if name == "index.html":
            continue
        base = f"faq/{name}"
        text = open(os.path.join(faq, name), encoding="utf-8").read()
        body = text.split('<div class="body"', 1)[-1]
        body = re.split(r'<div class="(?:sphinxsidebar|related|footer)', body)[0]
        parts = re.split(r"(<h[23][^>]*>(?:(?!</h[23]>).)*?headerlink.*?</h[23]>)", body, flags=re.S)
        for heading, answer in zip(parts[1::2], parts[2::2]):
            yield base, strip_tags(heading).rstrip("¶").strip(), answer


def faq_links(base, answer):
    """The manual pages an FAQ answer links: not other FAQ pages, nor tables of contents or indexes."""
    return {
        p for p in (page_of(h, base) for h in re.findall(r'href="([^"]+)"', answer))
        if p and not p.startswith("faq/") and p.endswith(".html") and not is_nav(p)
    }


def faq_set(root):
    """FAQ questions whose answer links a page of the manual, with those pages."""
    questions = {}
    for base, question, answer in faq_sections(root):
        pages = faq_links(base, answer)
        if pages:
            questions[question] = pages
    return questions


def postgres_index_set(root):
    text = open(os.path.join(root, "bookindex.html"), encoding="utf-8").read()
    terms = {}
    parent = None
    for dt in re.finditer(r"<dt[^>]*>(.*?)</dt>(<dd>)?", text, re.S):
        body = dt.group(1)
        label = strip_tags(re.split(r",\s*<a ", body, maxsplit=1)[0]).rstrip(",")
        pages = {page_of(h, "bookindex.html") for h in re.findall(r'class="indexterm" href="([^"]+)"', body)}
        pages.discard(None)
        # A top-level entry opens a nested <dl> of sub-entries when followed by <dd>.
        nested = dt.start() > 0 and text[max(0, dt.start() - 8):dt.start()].endswith("<dl>")
        query = f"{parent} {label}" if nested and parent else label
        if not nested:
            parent = label
        if pages and "(see" not in body:
            terms[query] = pages
    return terms


def texinfo_index_set(path):
    """A texinfo (`makeinfo --html`) index page's entries: {entry text: the pages it links}. An
    entry made more than once ("addition" in Arithmetic Ops and in Operator Overloading) links
    each of its pages."""
    text = open(path, encoding="utf-8").read()
    base = os.path.basename(path)
    entries = {}
    for href, label in re.findall(r'<tr><td></td><td valign="top"><a href="([^"]+)">(.*?)</a>:</td>', text):
        page = page_of(href, base)
        if page and page != base:
            entries.setdefault(strip_tags(label), set()).add(page)
    return entries


def javadoc_index_set(root):
    """A Javadoc manual's members (`index-all.html`: methods, fields, constructors) as
    {"Class.member": the pages of the classes that have it}, the overloads of a name one entry."""
    text = open(os.path.join(root, "index-all.html"), encoding="utf-8").read()
    entries = {}
    pattern = r'<dt><a href="([^"#]+)#[^"]*" class="member-name-link">([^<(]+)'
    for href, member in re.findall(pattern, text):
        page = page_of(href, "index-all.html")
        owner = os.path.splitext(os.path.basename(href))[0]
        if page and not page.startswith("src-html/"):
            entries.setdefault(f"{owner}.{member.strip()}", set()).add(page)
    return entries


def rustdoc_api_set(root):
    """A rustdoc crate's methods as `Type::method` (`Vec::push`, `Iterator::collect`) → the pages
    of the types (or traits) that define them: a type's own methods (before its trait
    implementations, which repeat every implemented trait's methods) and a trait's methods. A type
    re-exported under two paths has both pages."""
    entries = {}
    for base, _, files in os.walk(root):
        for file in files:
            kind = re.fullmatch(r"(struct|enum|union|trait|primitive)\.([A-Za-z0-9_]+)\.html", file)
            if not kind:
                continue
            path = os.path.join(base, file)
            text = open(path, encoding="utf-8").read()
            text = text.split('id="trait-implementations"', 1)[0]
            page = os.path.relpath(path, root).replace(os.sep, "/")
            for method in set(re.findall(r'<section id="(?:ty)?method\.([A-Za-z0-9_]+)"', text)):
                entries.setdefault(f"{kind.group(2)}::{method}", set()).add(page)
    return entries


def doxygen_function_set(root):
    """A Doxygen manual's functions (`globals_func*.html`: "SDL_CreateWindow() : SDL_video.h") →
    the header's page that documents them, asked as written there (`SDL_CreateWindow()`)."""
    entries = {}
    for file in sorted(os.listdir(root)):
        if not re.fullmatch(r"globals_func(_[a-z_0-9]+)?\.html", file):
            continue
        text = open(os.path.join(root, file), encoding="utf-8").read()
        for name, href in re.findall(r'<li>([A-Za-z_][A-Za-z0-9_]*\(\))&#160;:&#160;<a class="el" href="([^"#]+)', text):
            entries.setdefault(name, set()).add(href)
    return entries


def rustdoc_type_set(root):
    """A rustdoc crate's structs, enums and traits by name (`HashMap`) → their pages (a type
    re-exported under two paths has both)."""
    entries = {}
    for base, _, files in os.walk(root):
        for file in files:
            kind = re.fullmatch(r"(?:struct|enum|trait)\.([A-Za-z0-9_]+)\.html", file)
            if kind:
                page = os.path.relpath(os.path.join(base, file), root).replace(os.sep, "/")
                entries.setdefault(kind.group(1), set()).add(page)
    return entries


def javadoc_type_set(root):
    """A Javadoc API's classes, interfaces and enums as `allclasses-index.html` names them
    (`StringUtils`, `Range`, `AbstractCircuitBreaker.State`) → their pages."""
    text = open(os.path.join(root, "allclasses-index.html"), encoding="utf-8").read()
    entries = {}
    for href, name in re.findall(r'<a href="([^"#]+\.html)" title="[^"]*">([A-Za-z0-9_.]+)</a>', text):
        entries.setdefault(name, set()).add(href)
    return entries


def doxygen_type_set(root):
    """A Doxygen manual's structs and unions (`annotated.html`: "SDL_Keysym") → the page Doxygen
    gives each (`struct_s_d_l___keysym.html`), asked by name."""
    text = open(os.path.join(root, "annotated.html"), encoding="utf-8").read()
    entries = {}
    for href, name in re.findall(r'<a class="el" href="([^"#]*(?:struct|union)_[^"#]+\.html)"[^>]*>([A-Za-z_][A-Za-z0-9_]*)</a>', text):
        entries.setdefault(name, set()).add(href)
    return entries


def split_sample(name, entries, per_split):
    """`entries` ({query: pages}) drawn with the fixed seed and cut into dev and test halves; with
    `per_split`, up to `WIDE` more entries of the same draw form the `wide` split."""
    rng = random.Random(f"{SEED}:{name}")
    keys = sorted(entries)
    rng.shuffle(keys)
    sample = keys[: 2 * per_split] if per_split else keys
    wide = keys[2 * per_split: 2 * per_split + WIDE] if per_split else []
    half = (len(sample) + 1) // 2
    return [
        {"q": q, "relevant": sorted(entries[q]), "split": "dev" if i < half else "test"}
        for i, q in enumerate(sample)
    ] + [{"q": q, "relevant": sorted(entries[q]), "split": "wide"} for q in wide]


def build_sets(django, postgres, python=None, sqlalchemy=None, sphinx=None, octave=None,
               javadoc=None, rustdoc=None, doxygen=None):
    sets = {}
    if django:
        api, concepts = django_index_sets(django)
        sets["django-api"] = ("django", split_sample("django-api", api, PER_SPLIT))
        sets["django-concepts"] = ("django", split_sample("django-concepts", concepts, PER_SPLIT))
        sets["django-faq"] = ("django", split_sample("django-faq", faq_set(django), 0))
    if python:
        api, concepts = python_index_sets(python)
        sets["python-api"] = ("python", split_sample("python-api", api, PER_SPLIT))
        sets["python-concepts"] = ("python", split_sample("python-concepts", concepts, PER_SPLIT))
        sets["python-faq"] = ("python", split_sample("python-faq", faq_set(python), 0))
        options = options_index_set(os.path.join(python, "genindex-all.html"))
        sets["python-options"] = ("python", split_sample("python-options", options, PER_SPLIT))
    if sqlalchemy:
        sets["sqlalchemy-api"] = ("sqlalchemy", split_sample("sqlalchemy-api", sqlalchemy_index_set(sqlalchemy), PER_SPLIT))
        sets["sqlalchemy-faq"] = ("sqlalchemy", split_sample("sqlalchemy-faq", faq_set(sqlalchemy), 0))
    if sphinx:
        api, concepts = sphinx_manual_index_sets(sphinx)
        sets["sphinx-api"] = ("sphinx", split_sample("sphinx-api", api, PER_SPLIT))
        sets["sphinx-concepts"] = ("sphinx", split_sample("sphinx-concepts", concepts, PER_SPLIT))
        options = options_index_set(os.path.join(sphinx, "genindex.html"))
        sets["sphinx-options"] = ("sphinx", split_sample("sphinx-options", options, PER_SPLIT))
    if octave:
        for name, page in [("functions", "Function-Index.html"), ("concepts", "Concept-Index.html")]:
            entries = texinfo_index_set(os.path.join(octave, page))
            sets[f"octave-{name}"] = ("octave", split_sample(f"octave-{name}", entries, PER_SPLIT))
    if doxygen:
        sets["doxygen-functions"] = ("doxygen", split_sample("doxygen-functions", doxygen_function_set(doxygen), PER_SPLIT))
        sets["doxygen-types"] = ("doxygen", split_sample("doxygen-types", doxygen_type_set(doxygen), PER_SPLIT))
    if rustdoc:
        sets["rustdoc-api"] = ("rustdoc", split_sample("rustdoc-api", rustdoc_api_set(rustdoc), PER_SPLIT))
        sets["rustdoc-types"] = ("rustdoc", split_sample("rustdoc-types", rustdoc_type_set(rustdoc), PER_SPLIT))
    if javadoc:
        sets["javadoc-api"] = ("javadoc", split_sample("javadoc-api", javadoc_index_set(javadoc), PER_SPLIT))
        sets["javadoc-types"] = ("javadoc", split_sample("javadoc-types", javadoc_type_set(javadoc), PER_SPLIT))
    if postgres:
        sets["postgres-index"] = ("postgres", split_sample("postgres-index", postgres_index_set(postgres), PER_SPLIT))
        with open(os.path.join(HERE, "postgres-queries.jsonl"), encoding="utf-8") as f:
            hand = {json.loads(line)["q"]: set(json.loads(line)["relevant"]) for line in f if line.strip()}
        sets["postgres-60"] = ("postgres", split_sample("postgres-60", hand, 0))
    return sets


def page_path(url, corpus_root_marker):
    path = url.split("#")[0].split("?")[0]
    i = path.find(corpus_root_marker)
    return path[i + len(corpus_root_marker):] if i >= 0 else path.split("/", 3)[-1]


def score(queries, results, marker):
    hits5 = mrr = nav = distinct = 0.0
    misses = []
    for query, result in zip(queries, results):
        pages = []
        for r in result:
            p = page_path(r["url"], marker)
            if p not in pages:
                pages.append(p)
        distinct += len({page_path(r["url"], marker) for r in result[:10]})
        relevant = set(query["relevant"])
        rank = next((i + 1 for i, p in enumerate(pages[:10]) if p in relevant), None)
        hits5 += bool(rank and rank <= 5)
        mrr += 1.0 / rank if rank else 0.0
        nav += any(is_nav(p) for p in pages[:5])
        if not rank:
            misses.append({"q": query["q"], "relevant": query["relevant"], "got": pages[:5]})
    n = max(1, len(queries))
    return {"n": len(queries), "hit@5": hits5 / n, "mrr@10": mrr / n, "nav@5": int(nav),
            "pages@10": distinct / n}, misses


# What each corpus's index leaves out: the FAQ whose questions are a set.
LEFT_OUT = {"django": ["faq/"], "python": ["faq/"], "sqlalchemy": ["faq/"], "git": ["gitfaq*"],
            "sqlite": ["faq.html"]}


def docent_index(docent, site, db, excludes):
    if os.path.exists(db):
        return
    command = [docent, "index", site, "--db", db]
    for glob in excludes:
        command += ["--exclude", glob]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def docent_search(docent, db, queries, mode, k=10):
    lines = "".join(json.dumps({"q": q["q"]}) + "\n" for q in queries)
    out = subprocess.run([docent, "search", "--db", db, "--jsonl", "--k", str(k), "--mode", mode],
                         input=lines, capture_output=True, text=True, check=True).stdout
    return [json.loads(line).get("results", []) for line in out.splitlines() if line.strip()]


def page_bm25(site, excludes, queries, k=10):
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE pages USING fts5(path UNINDEXED, title UNINDEXED, body)")
    rows = ((rel, *bm25_baseline.extract(full)) for rel, full in bm25_baseline.html_files(site)
            if not any(rel.startswith(e.strip("/") + "/") for e in excludes))
    db.executemany("INSERT INTO pages (path, title, body) VALUES (?, ?, ?)", rows)
    return [bm25_baseline.search(db, q["q"], k) for q in queries]


def chunk_bm25(docent_db, queries):
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE c USING fts5(url UNINDEXED, body)")
    source = sqlite3.connect(docent_db)
    db.executemany("INSERT INTO c (url, body) VALUES (?, ?)",
                   source.execute("SELECT url, title || ' ' || heading || ' ' || text FROM chunks"))
    results = []
    for q in queries:
        match = bm25_baseline.fts_query(q["q"])
        rows = db.execute("SELECT url, bm25(c) FROM c WHERE c MATCH ? ORDER BY bm25(c) LIMIT 200",
                          (match,)).fetchall() if match else []
        best, seen = [], set()
        for url, rank in rows:
            page = url.split("#")[0]
            if page not in seen:
                seen.add(page)
                best.append({"url": url, "score": -rank})
        results.append(best[:10])
    return results


def rrf(marker, *rankings, k=60):
    """Reciprocal rank fusion of result lists by page (a page's first place in each list counts)."""
    fused = []
    for lists in zip(*rankings):
        scores = {}
        for results in lists:
            pages = list(dict.fromkeys(page_path(r["url"], marker) for r in results))
            for rank, page in enumerate(pages):
                scores[page] = scores.get(page, 0.0) + 1.0 / (k + rank + 1)
        ranked = sorted(scores.items(), key=lambda x: -x[1])[:10]
        fused.append([{"url": f"http://127.0.0.1/{p}", "score": s} for p, s in ranked])
    return fused


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--django", help="python-django-doc html directory")
    parser.add_argument("--postgres", help="postgresql-doc-15 html directory")
    parser.add_argument("--python", help="python3.11-doc html directory (its FAQ's questions)")
    parser.add_argument("--sqlalchemy", help="python-sqlalchemy-doc html directory (never tuned on)")
    parser.add_argument("--sphinx", help="sphinx-doc html directory (never tuned on)")
    parser.add_argument("--octave", help="octave-doc's octave.html directory (texinfo; never tuned on)")
    parser.add_argument("--rustdoc", help="a rustdoc crate directory, e.g. rust-doc's html/std (never tuned on)")
    parser.add_argument("--doxygen", help="a Doxygen html directory, e.g. libsdl2-doc's (never tuned on)")
    parser.add_argument("--javadoc", help="a Javadoc API directory, e.g. libcommons-lang3-java-doc's (never tuned on)")
    parser.add_argument("--docent", default="target/release/docent")
    parser.add_argument("--work", default=os.path.expanduser("~/.cache/docent/ranking-eval"))
    parser.add_argument("--split", default="test", choices=["dev", "test", "wide", "all"])
    parser.add_argument("--modes", default="lexical,hybrid")
    parser.add_argument("--reindex", action="store_true", help="index the corpora again")
    parser.add_argument("--write-sets", help="write the sets as JSONL files into this directory")
    parser.add_argument("--json", help="write every figure as JSON here")
    parser.add_argument("--misses", help="list the queries a system missed: SYSTEM:SET")
    args = parser.parse_args()

    sets = build_sets(args.django, args.postgres, args.python, args.sqlalchemy, args.sphinx,
                      args.octave, args.javadoc, args.rustdoc, args.doxygen)
    sites = {"django": args.django, "postgres": args.postgres, "python": args.python,
             "sqlalchemy": args.sqlalchemy, "sphinx": args.sphinx, "octave": args.octave,
             "javadoc": args.javadoc, "rustdoc": args.rustdoc, "doxygen": args.doxygen}
    corpora = {name: (site, LEFT_OUT.get(name, [])) for name, site in sites.items()}
    os.makedirs(args.work, exist_ok=True)
    if args.write_sets:
        os.makedirs(args.write_sets, exist_ok=True)
        for name, (_, entries) in sets.items():
            with open(os.path.join(args.write_sets, f"{name}.jsonl"), "w", encoding="utf-8") as f:
                f.writelines(json.dumps(e) + "\n" for e in entries if e["split"] != "wide")
    dbs = {}
    for corpus, (site, excludes) in corpora.items():
        if site:
            db = os.path.join(args.work, f"{corpus}.db")
            if args.reindex and os.path.exists(db):
                os.remove(db)
            docent_index(args.docent, site, db, excludes)
            dbs[corpus] = db

    systems = [f"docent-{m}" for m in args.modes.split(",") if m] + ["page-bm25", "chunk-bm25"]
    if "vector" in args.modes.split(","):
        systems += ["vector+page-bm25"]
    figures, unstable = {}, {}
    for name, (corpus, entries) in sets.items():
        queries = [e for e in entries
                   if e["split"] == args.split or (args.split == "all" and e["split"] != "wide")]
        if not queries:
            continue
        site, excludes = corpora[corpus]
        marker = site.rstrip("/") + "/"
        for system in systems:
            if system.startswith("docent-"):
                mode = system[len("docent-"):]
                results = docent_search(args.docent, dbs[corpus], queries, mode)
                # The first ten results must not depend on how many were asked for.
                longer = docent_search(args.docent, dbs[corpus], queries, mode, k=30)
                unstable[system] = unstable.get(system, 0) + sum(
                    [r["url"] for r in a] != [r["url"] for r in b[:10]] for a, b in zip(results, longer))
            elif system == "page-bm25":
                results = page_bm25(site, excludes, queries)
            elif system == "vector+page-bm25":
                # The embedding model's ranking (Docent's vector mode: its chunks, best per page)
                # fused with plain page BM25: the usual "dense + BM25" baseline.
                dense = docent_search(args.docent, dbs[corpus], queries, "vector", k=100)
                results = rrf(marker, dense, page_bm25(site, excludes, queries, k=100))
            else:
                results = chunk_bm25(dbs[corpus], queries)
            figures[(name, system)], misses = score(queries, results, marker)
            if args.misses == f"{system}:{name}":
                for miss in misses:
                    print(json.dumps(miss), file=sys.stderr)

    print(f"split: {args.split}; seed {SEED}")
    print(f"| set | n | " + " | ".join(systems) + " |")
    print("|---|---|" + "---|" * len(systems))
    for name in sets:
        if (name, systems[0]) not in figures:
            continue
        row = [figures[(name, s)] for s in systems]
        cells = [f"{f['hit@5']:.3f} / {f['mrr@10']:.3f}" + (f" (nav {f['nav@5']})" if f["nav@5"] else "")
                 for f in row]
        print(f"| {name} | {row[0]['n']} | " + " | ".join(cells) + " |")
    print("cells: hit@5 / MRR@10 (nav: queries with a contents or index page in the top five)")
    scored = [n for n in sets if (n, systems[0]) in figures]
    print("pages@10: " + ", ".join(
        f"{s} {sum(figures[(n, s)]['pages@10'] for n in scored) / max(1, len(scored)):.1f}"
        for s in systems))
    print("queries whose first ten change between --k 10 and --k 30: " + ", ".join(
        f"{s} {n}" for s, n in unstable.items()))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump([{"set": n, "system": s, **v} for (n, s), v in figures.items()], f, indent=1)


if __name__ == "__main__":
    main()
