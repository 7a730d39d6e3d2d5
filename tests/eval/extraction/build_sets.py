#!/usr/bin/env python3
"""Builds the extraction page sets in this directory from local git snapshots of their sources.

Not needed to run the evaluation: its output (`<set>-<split>.jsonl.gz`) is committed. It is kept so
the sampling can be checked and repeated. Each source is read with `git show <commit>:<path>` from a
bare clone given on the command line, pinned to the commit named in README.md:

    python3 build_sets.py --readability /path/to/mozilla/readability.git \
        --l3s /path/to/geodrome/page-signal.git --cleaneval /path/to/j-szulc/html-cleaning-dataset-merged.git

Every output line is {"id", "url", "html", "truth"}: `html` is the page decoded to text (see
`decode_page`), `truth` the ground-truth main content as plain text, one block per line.
"""

import argparse
import gzip
import json
import random
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

SEED = 20231123
OUT = Path(__file__).resolve().parent
# Sets that may not be redistributed stay on this machine (extraction.py looks there too).
LOCAL_OUT = Path.home() / ".cache" / "docent" / "extraction-sets"
REDISTRIBUTABLE = {"readability"}

SOURCES = {
    "readability": "ab4027a8b37669745016869a37a504727992b2ba",
    "l3s": "186d8153b3d111f84865ddc180600a9cbe35ac7f",
    "cleaneval": "46e01a04b47051838a228bf23631430b2c9de375",
}
# Pages per set, before the dev/test split (half each).
SAMPLE = {"readability": 60, "l3s-gn1": 90, "cleaneval": 90}
MIN_TRUTH_WORDS = 50

BLOCK_TAGS = {
    "address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt", "figcaption", "figure",
    "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "nav", "ol",
    "p", "pre", "section", "table", "tr", "td", "th", "ul", "title",
}
SKIP_TAGS = {"script", "style", "noscript", "template"}
VOID_TAGS = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param",
             "source", "track", "wbr"}


def git_show(repo, commit, path):
    return subprocess.run(["git", "-C", repo, "show", f"{commit}:{path}"], check=True,
                          capture_output=True).stdout


def git_ls(repo, commit, path):
    out = subprocess.run(["git", "-C", repo, "ls-tree", "--name-only", f"{commit}:{path}"], check=True,
                         capture_output=True, text=True).stdout
    return sorted(line for line in out.splitlines() if line and not line.startswith("."))


def decode_page(raw):
    """UTF-8 if it decodes, else the charset the page declares, else Windows-1252."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    m = re.search(rb'charset\s*=\s*["\']?([A-Za-z0-9_.:-]+)', raw[:4096], re.I)
    if m:
        try:
            return raw.decode(m.group(1).decode("ascii"))
        except (LookupError, UnicodeDecodeError):
            pass
    return raw.decode("cp1252", errors="replace")


def tidy(text):
    lines = (re.sub(r"\s+", " ", line).strip() for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


class TextOf(HTMLParser):
    """Visible text of an HTML fragment, a line break at each block element.

    With `keep` set, only text whose innermost `x-nc-sel*` span class is in `keep` is collected
    (the L3S-GN1 annotation), and elements marked `x-nc-invisible` are skipped.
    """

    def __init__(self, keep=None):
        super().__init__(convert_charrefs=True)
        self.keep = keep
        self.stack = []  # (tag, label or None, invisible)
        self.skip = 0
        self.parts = []

    def _label(self):
        for _, label, _ in reversed(self.stack):
            if label is not None:
                return label
        return None

    def handle_starttag(self, tag, attrs):
        if tag in BLOCK_TAGS:
            self.parts.append("\n")
        if tag in SKIP_TAGS:
            self.skip += 1
        if tag in VOID_TAGS:
            return
        classes = (dict(attrs).get("class") or "").split()
        label = next((c for c in classes if c.startswith("x-nc-sel")), None)
        self.stack.append((tag, label, "x-nc-invisible" in classes))

    def handle_endtag(self, tag):
        if tag in BLOCK_TAGS:
            self.parts.append("\n")
        if tag in SKIP_TAGS and self.skip:
            self.skip -= 1
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                break

    def handle_data(self, data):
        if self.skip or any(inv for _, _, inv in self.stack):
            return
        if self.keep is not None and self._label() not in self.keep:
            return
        self.parts.append(data)

    def text(self):
        return tidy("".join(self.parts))


def text_of(html, keep=None):
    p = TextOf(keep)
    p.feed(html)
    p.close()
    return p.text()


def readability_pages(repo):
    commit = SOURCES["readability"]
    for case in git_ls(repo, commit, "test/test-pages"):
        base = f"test/test-pages/{case}"
        html = decode_page(git_show(repo, commit, f"{base}/source.html"))
        truth = text_of(decode_page(git_show(repo, commit, f"{base}/expected.html")))
        yield {"id": f"readability/{case}", "url": "http://fakehost/test/page.html", "html": html,
               "truth": truth}


def l3s_pages(repo):
    commit = SOURCES["l3s"]
    base = "L3S-GN1-20100130203947-00001"
    urls = {}
    for line in decode_page(git_show(repo, commit, f"{base}/url-mapping.txt")).splitlines():
        if "\t" in line:
            uuid, url = line.split("\t", 1)
            urls[uuid.strip("<>").removeprefix("urn:uuid:")] = url.strip()
    for name in git_ls(repo, commit, f"{base}/annotated"):
        uuid = name.removesuffix(".html")
        html = decode_page(git_show(repo, commit, f"{base}/original/{name}"))
        annotated = decode_page(git_show(repo, commit, f"{base}/annotated/{name}"))
        # Headline, full text and supplemental text (captions, dates), as WCEB counts them.
        truth = text_of(annotated, keep={"x-nc-sel1", "x-nc-sel2", "x-nc-sel3"})
        yield {"id": f"l3s-gn1/{uuid}", "url": urls.get(uuid, ""), "html": html, "truth": truth}


def cleaneval_pages(repo):
    commit = SOURCES["cleaneval"]
    have = set(git_ls(repo, commit, "cleaneval-final/input"))
    for name in git_ls(repo, commit, "cleaneval-final/GoldStandard"):
        num = name.removesuffix(".txt")
        if f"{num}.html" not in have:
            continue
        gold = decode_page(git_show(repo, commit, f"cleaneval-final/GoldStandard/{name}"))
        m = re.match(r"\s*URL:\s*(\S+)", gold)
        url = m.group(1) if m else ""
        gold = re.sub(r"^\s*URL:[^\n]*\n", "", gold)
        # The gold standard marks blocks with <p>, <h> and <l> at line starts; drop the marks.
        gold = re.sub(r"<(?:p|h|l)>", "\n", gold)
        html = decode_page(git_show(repo, commit, f"cleaneval-final/input/{num}.html"))
        m = re.match(r'\s*<text id="([^"]*)"', html)
        if not url and m:
            url = m.group(1)
        # Each input page is wrapped in a CleanEval <text id=… title=… encoding=…> element.
        html = re.sub(r"\A\s*<text [^>]*>\s*", "", html)
        html = re.sub(r"\s*</text>\s*\Z", "", html)
        yield {"id": f"cleaneval/{num}", "url": url, "html": html, "truth": tidy(gold)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--readability", required=True)
    ap.add_argument("--l3s", required=True)
    ap.add_argument("--cleaneval", required=True)
    args = ap.parse_args()
    sets = {
        "readability": readability_pages(args.readability),
        "l3s-gn1": l3s_pages(args.l3s),
        "cleaneval": cleaneval_pages(args.cleaneval),
    }
    for name, pages in sets.items():
        pool = [p for p in pages if len(re.findall(r"\w+", p["truth"])) >= MIN_TRUTH_WORDS]
        pool.sort(key=lambda p: p["id"])
        rng = random.Random(f"{SEED}-{name}")
        chosen = rng.sample(pool, SAMPLE[name])
        half = len(chosen) // 2
        for split, part in (("dev", chosen[:half]), ("test", chosen[half:])):
            part = sorted(part, key=lambda p: p["id"])
            folder = OUT if name in REDISTRIBUTABLE else LOCAL_OUT
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"{name}-{split}.jsonl.gz"
            # mtime=0 keeps the file byte-identical across rebuilds.
            with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0,
                                                        compresslevel=9) as f:
                for p in part:
                    f.write((json.dumps(p, ensure_ascii=False) + "\n").encode("utf-8"))
            print(f"{path.name}: {len(part)} pages (pool {len(pool)}), {path.stat().st_size} bytes",
                  file=sys.stderr)


if __name__ == "__main__":
    main()
