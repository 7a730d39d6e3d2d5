#!/usr/bin/env python3
"""Main-content extraction evaluation: `docent extract` beside trafilatura.

    python3 tests/eval/extraction.py --docent target/release/docent [--split dev|test] [--docs]

Scores every page of a split of the page sets in tests/eval/extraction/ (token 4-gram precision,
recall and F1 against the ground truth; see tests/eval/extraction/README.md) and prints a markdown
table per set, then the pages where docent scores worst. With --docs it also runs the docs-pages
checks over the Debian packages python-django-doc and postgresql-doc-15 (fetched with
`apt-get download` into a cache directory unless --docs-root points at an unpacked copy).

trafilatura comes from a venv (DOCENT_EXTRACTION_VENV, default ~/.cache/docent/venv-extraction)
that this script creates from tests/eval/extraction/requirements.txt on first use.
"""

import argparse
import gzip
import json
import os
import re
import subprocess
import sys
import tempfile
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from html.parser import HTMLParser
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "extraction"
# Sets whose licences do not allow redistribution (L3S-GN1: research use only; CleanEval: none
# stated) are not in the repository: build_sets.py writes them here, on the machine that uses them.
LOCAL_DATA = Path.home() / ".cache" / "docent" / "extraction-sets"
SETS = ["readability", "l3s-gn1", "cleaneval"]
N = 4
# Output with fewer words than this counts as empty (it has no 4-gram at all below 4).
EMPTY_WORDS = 4
DOCS_PACKAGES = ["python-django-doc", "postgresql-doc-15"]


def ensure_trafilatura():
    """Re-runs this script under the venv's Python when trafilatura is not importable here."""
    try:
        import trafilatura  # noqa: F401
        return
    except ImportError:
        pass
    venv = Path(os.environ.get("DOCENT_EXTRACTION_VENV", Path.home() / ".cache/docent/venv-extraction"))
    python = venv / "bin" / "python"
    req = DATA / "requirements.txt"
    stamp = venv / ".docent-requirements"
    if not python.exists() or not stamp.exists() or stamp.read_text() != req.read_text():
        print(f"installing trafilatura into {venv}", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                        "-r", str(req)], check=True)
        stamp.write_text(req.read_text())
    if Path(sys.prefix).resolve() == venv.resolve():
        sys.exit("trafilatura does not import inside its venv")
    os.execv(str(python), [str(python), __file__, *sys.argv[1:]])


# ---------------------------------------------------------------------------------------------
# Markdown to plain text, the same for every system.

IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
LINK = re.compile(r"\[([^\]]*)\]\((?:[^()]|\([^)]*\))*\)")
REF_LINK = re.compile(r"\[([^\]]*)\]\[[^\]]*\]")
REF_DEF = re.compile(r"^\s*\[[^\]]+\]:\s*\S+.*$", re.M)
AUTOLINK = re.compile(r"<((?:https?|mailto|ftp):[^>\s]+)>")
FENCE = re.compile(r"^\s*(```|~~~).*$", re.M)
HEADING = re.compile(r"^\s{0,3}#{1,6}\s+", re.M)
QUOTE = re.compile(r"^\s*(>\s?)+", re.M)
BULLET = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+", re.M)
RULE = re.compile(r"^\s*(?:[-*_]\s*){3,}$", re.M)
TABLE_SEP = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(?:\|\s*:?-{2,}:?\s*)*\|?\s*$", re.M)
ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|<>~])")
HTML_TAG = re.compile(r"</?[A-Za-z][^>]*>")


def plain_text(markdown):
    """Markdown reduced to its text: links and images to their text (images dropped: alt text is
    rarely part of a ground truth), no heading, list, quote, table or emphasis marks, no escapes."""
    t = IMAGE.sub("", markdown)
    t = LINK.sub(r"\1", t)
    t = REF_LINK.sub(r"\1", t)
    t = REF_DEF.sub("", t)
    t = AUTOLINK.sub(r"\1", t)
    t = FENCE.sub("", t)
    t = TABLE_SEP.sub("", t)
    t = RULE.sub("", t)
    t = HEADING.sub("", t)
    t = QUOTE.sub("", t)
    t = BULLET.sub("", t)
    t = HTML_TAG.sub("", t)
    t = ESCAPE.sub(r"\1", t)
    t = t.replace("|", " ").replace("`", "")
    # Emphasis marks: * anywhere, _ only outside words (snake_case identifiers keep theirs).
    t = t.replace("*", "")
    t = re.sub(r"(?<!\w)_+|_+(?!\w)", "", t)
    return t


def tokens(text):
    return re.findall(r"\w+", text.lower())


def ngrams(toks):
    return Counter(tuple(toks[i:i + N]) for i in range(len(toks) - N + 1))


def score(pred_toks, truth_toks):
    p, t = ngrams(pred_toks), ngrams(truth_toks)
    overlap = sum((p & t).values())
    np_, nt = sum(p.values()), sum(t.values())
    prec = overlap / np_ if np_ else 0.0
    rec = overlap / nt if nt else 0.0
    f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    return {"p": prec, "r": rec, "f1": f1, "overlap": overlap, "pred": np_, "truth": nt}


# ---------------------------------------------------------------------------------------------
# The systems.

def run_docent(binary, html, url=None):
    with tempfile.NamedTemporaryFile("w", suffix=".html", encoding="utf-8", delete=False) as f:
        f.write(html)
        path = f.name
    try:
        cmd = [binary, "extract", path] + (["--url", url] if url else [])
        out = subprocess.run(cmd, capture_output=True, timeout=120)
        if out.returncode != 0:
            return ""
        return out.stdout.decode("utf-8", errors="replace")
    finally:
        os.unlink(path)


def run_trafilatura(html, url, precision):
    import trafilatura
    try:
        out = trafilatura.extract(html, url=url or None, output_format="markdown",
                                  favor_precision=precision, include_comments=False)
    except Exception:  # a crash scores as an empty page
        out = None
    return out or ""


SYSTEMS = ["docent", "trafilatura", "trafilatura-precision"]


def extract_all(binary, pages, jobs):
    """{system: [markdown per page]}, in page order."""
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        docent = list(pool.map(lambda p: run_docent(binary, p["html"]), pages))
    return {
        "docent": docent,
        "trafilatura": [run_trafilatura(p["html"], p.get("url"), False) for p in pages],
        "trafilatura-precision": [run_trafilatura(p["html"], p.get("url"), True) for p in pages],
    }


# ---------------------------------------------------------------------------------------------
# Page sets.

def set_path(name, split):
    """The set's file in the repository, else in LOCAL_DATA; None when neither has it."""
    for folder in (DATA, LOCAL_DATA):
        path = folder / f"{name}-{split}.jsonl.gz"
        if path.exists():
            return path
    return None


def load(name, split):
    with gzip.open(set_path(name, split), "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def summarise(rows):
    n = len(rows)
    ov = sum(r["overlap"] for r in rows)
    pr = sum(r["pred"] for r in rows)
    tr = sum(r["truth"] for r in rows)
    mp = ov / pr if pr else 0.0
    mr = ov / tr if tr else 0.0
    return {
        "n": n,
        "p": sum(r["p"] for r in rows) / n,
        "r": sum(r["r"] for r in rows) / n,
        "f1": sum(r["f1"] for r in rows) / n,
        "micro_p": mp, "micro_r": mr,
        "micro_f1": 2 * mp * mr / (mp + mr) if mp + mr else 0.0,
        "empty": sum(1 for r in rows if r["empty"]),
    }


def table(title, summaries):
    lines = [f"### {title}", "",
             "| system | P | R | F1 | micro P | micro R | micro F1 | empty | pages |",
             "|---|---|---|---|---|---|---|---|---|"]
    for system, s in summaries.items():
        lines.append(f"| {system} | {s['p']:.3f} | {s['r']:.3f} | **{s['f1']:.3f}** | {s['micro_p']:.3f} | "
                     f"{s['micro_r']:.3f} | {s['micro_f1']:.3f} | {s['empty']} | {s['n']} |")
    return "\n".join(lines)


def why(row):
    if row["empty"]:
        return "empty output"
    if row["p"] < 0.5 and row["r"] >= 0.5:
        return "kept boilerplate (low precision)"
    if row["r"] < 0.5 and row["p"] >= 0.5:
        return "missed content (low recall)"
    if row["p"] < 0.5 and row["r"] < 0.5:
        return "wrong block (low both)"
    return "partial"


def evaluate_sets(args):
    all_rows = {s: [] for s in SYSTEMS}
    per_page = []
    for name in args.sets:
        if set_path(name, args.split) is None:
            print(f"({name}: not on this machine; build it with extraction/build_sets.py, see "
                  f"extraction/README.md)\n")
            continue
        pages = load(name, args.split)
        outputs = extract_all(args.docent, pages, args.jobs)
        rows = {s: [] for s in SYSTEMS}
        for i, page in enumerate(pages):
            truth = tokens(page["truth"])
            record = {"id": page["id"], "url": page.get("url", ""), "truth_words": len(truth)}
            for system in SYSTEMS:
                pred = tokens(plain_text(outputs[system][i]))
                r = score(pred, truth)
                r["empty"] = len(pred) < EMPTY_WORDS
                r["words"] = len(pred)
                r["id"] = page["id"]
                r["url"] = page.get("url", "")
                rows[system].append(r)
                record[system] = {k: r[k] for k in ("p", "r", "f1", "words", "empty")}
            per_page.append(record)
        for system in SYSTEMS:
            all_rows[system].extend(rows[system])
        print(table(f"{name} ({args.split}, {len(pages)} pages)",
                    {s: summarise(rows[s]) for s in SYSTEMS}))
        print()
    if len(args.sets) > 1:
        print(table(f"all sets ({args.split}, {len(all_rows['docent'])} pages)",
                    {s: summarise(all_rows[s]) for s in SYSTEMS}))
        print()
    if args.worst:
        traf = {r["id"]: r for r in all_rows["trafilatura"]}
        worst = sorted(all_rows["docent"], key=lambda r: (r["f1"], r["id"]))[:args.worst]
        print(f"### Worst {len(worst)} pages by docent F1 ({args.split})", "")
        print("| page | docent P / R / F1 | docent words | truth words | trafilatura F1 | looks like |")
        print("|---|---|---|---|---|---|")
        truth_words = {p["id"]: p["truth_words"] for p in per_page}
        for r in worst:
            print(f"| {r['id']} | {r['p']:.2f} / {r['r']:.2f} / {r['f1']:.2f} | {r['words']} | "
                  f"{truth_words[r['id']]} | {traf[r['id']]['f1']:.2f} | {why(r)} |")
        print()
    if args.per_page:
        with open(args.per_page, "w", encoding="utf-8") as f:
            for record in per_page:
                f.write(json.dumps(record) + "\n")


# ---------------------------------------------------------------------------------------------
# Docs pages.

class ProseWords(HTMLParser):
    """Counts the words inside <p> elements (outside script/style): a page 'has prose' above 30."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.in_p = 0
        self.skip = 0
        self.words = 0

    def handle_starttag(self, tag, attrs):
        if tag == "p":
            self.in_p += 1
        elif tag in ("script", "style"):
            self.skip += 1

    def handle_endtag(self, tag):
        if tag == "p" and self.in_p:
            self.in_p -= 1
        elif tag in ("script", "style") and self.skip:
            self.skip -= 1

    def handle_data(self, data):
        if self.in_p and not self.skip:
            self.words += len(re.findall(r"\w+", data))


PROSE_WORDS = 30


def prose_words(html):
    p = ProseWords()
    p.feed(html)
    p.close()
    return p.words


def docs_root(args):
    if args.docs_root:
        return Path(args.docs_root)
    cache = Path(os.environ.get("DOCENT_EXTRACTION_DOCS", Path.home() / ".cache/docent/extraction-docs"))
    root = cache / "root"
    if all((root / "usr/share/doc" / pkg / "html").is_dir() for pkg in DOCS_PACKAGES):
        return root
    cache.mkdir(parents=True, exist_ok=True)
    print(f"downloading {' '.join(DOCS_PACKAGES)} into {cache}", file=sys.stderr)
    subprocess.run(["apt-get", "download", *DOCS_PACKAGES], cwd=cache, check=True, stdout=sys.stderr)
    for deb in sorted(cache.glob("*.deb")):
        subprocess.run(["dpkg", "-x", str(deb), str(root)], check=True)
    return root


def squash(text):
    return re.sub(r"\s+", " ", text).strip()


def contains(text, phrase):
    """Whether `phrase` occurs in `text` as whole words (case-sensitive, whitespace collapsed)."""
    return re.search(r"(?<!\w)" + re.escape(squash(phrase)) + r"(?!\w)", text) is not None


def evaluate_docs(args):
    root = docs_root(args) / "usr/share/doc"
    checks = json.loads((DATA / "docs-checks.json").read_text(encoding="utf-8"))
    versions = {}
    for pkg in DOCS_PACKAGES:
        changelog = root / pkg / "changelog.Debian.gz"
        if changelog.exists():
            with gzip.open(changelog, "rt", encoding="utf-8", errors="replace") as f:
                m = re.match(r"\S+ \(([^)]+)\)", f.readline())
                versions[pkg] = m.group(1) if m else "?"
    print(f"### Docs pages: {', '.join(f'{k} {v}' for k, v in versions.items())}", "")

    # Kept and dropped strings on hand-checked pages.
    results = {s: {"must": 0, "must_total": 0, "must_not": 0, "must_not_total": 0, "misses": []}
               for s in SYSTEMS}
    for check in checks:
        html = (root / check["page"]).read_text(encoding="utf-8", errors="replace")
        outs = {
            "docent": run_docent(args.docent, html),
            "trafilatura": run_trafilatura(html, None, False),
            "trafilatura-precision": run_trafilatura(html, None, True),
        }
        for system, md in outs.items():
            text = squash(plain_text(md))
            res = results[system]
            for s in check.get("must", []):
                res["must_total"] += 1
                if contains(text, s):
                    res["must"] += 1
                else:
                    res["misses"].append(f"{check['page']}: missing {s!r}")
            for s in check.get("must_not", []):
                res["must_not_total"] += 1
                if not contains(text, s):
                    res["must_not"] += 1
                else:
                    res["misses"].append(f"{check['page']}: kept {s!r}")

    # No page with prose may come back empty.
    pages = sorted(p for pkg in DOCS_PACKAGES for p in (root / pkg / "html").rglob("*.html"))
    htmls = [p.read_text(encoding="utf-8", errors="replace") for p in pages]
    prose = [i for i, h in enumerate(htmls) if prose_words(h) >= PROSE_WORDS]
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        docent_out = list(pool.map(lambda i: run_docent(args.docent, htmls[i]), prose))
    empties = {"docent": [pages[i] for i, md in zip(prose, docent_out)
                          if len(tokens(plain_text(md))) < EMPTY_WORDS]}
    for system, precision in (("trafilatura", False), ("trafilatura-precision", True)):
        empties[system] = [pages[i] for i in prose
                           if len(tokens(plain_text(run_trafilatura(htmls[i], None, precision)))) < EMPTY_WORDS]

    print(f"{len(checks)} hand-checked pages; {len(pages)} HTML pages, {len(prose)} with prose "
          f"(at least {PROSE_WORDS} words in <p>).", "")
    print("| system | kept (must appear) | dropped (must not appear) | prose pages empty |")
    print("|---|---|---|---|")
    for system in SYSTEMS:
        r = results[system]
        print(f"| {system} | {r['must']}/{r['must_total']} | {r['must_not']}/{r['must_not_total']} | "
              f"{len(empties[system])}/{len(prose)} |")
    print()
    for system in SYSTEMS:
        for miss in results[system]["misses"]:
            print(f"- {system}: {miss}")
        for p in empties[system][:10]:
            print(f"- {system}: empty {p.relative_to(root)}")
    print()


def main():
    ap = argparse.ArgumentParser(description="Extraction evaluation: docent extract vs trafilatura.")
    ap.add_argument("--docent", required=True, help="path to the docent binary")
    ap.add_argument("--split", choices=["dev", "test"], default="test")
    ap.add_argument("--sets", nargs="+", choices=SETS, default=SETS)
    ap.add_argument("--worst", type=int, default=10, help="list this many pages with the lowest docent F1")
    ap.add_argument("--per-page", metavar="FILE", help="write per-page scores as JSON lines")
    ap.add_argument("--docs", action="store_true", help="also run the docs-pages checks")
    ap.add_argument("--docs-only", action="store_true", help="run only the docs-pages checks")
    ap.add_argument("--docs-root", help="a directory holding usr/share/doc/<package>/html (default: download)")
    ap.add_argument("--jobs", type=int, default=2, help="docent processes at once")
    args = ap.parse_args()
    args.docent = str(Path(args.docent).resolve())
    ensure_trafilatura()
    if not args.docs_only:
        evaluate_sets(args)
    if args.docs or args.docs_only:
        evaluate_docs(args)


if __name__ == "__main__":
    main()
