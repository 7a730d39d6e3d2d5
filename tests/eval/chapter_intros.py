#!/usr/bin/env python3
"""Pages with a table of contents: does `docent extract` keep the paragraphs beside it?

    python3 tests/eval/chapter_intros.py <postgresql-doc-15/html> --docent target/release/docent
    python3 tests/eval/chapter_intros.py <python-django-doc/html> --marker toctree-wrapper --docent ...

For every page whose HTML holds the marker (DocBook's `class="toc"` by default, Sphinx's
`toctree-wrapper`), takes each `<p>` of at least 40 characters and looks for its first 30 letters
and digits in the extracted text (both reduced to letters and digits, so markup and spacing do not
count). Prints how many pages lose at least one paragraph, and which. A crude check of one failure
(a chapter's introduction dropped beside a longer table of contents), not a quality score.
"""

import argparse
import html
import os
import re
import subprocess


def paragraphs(page):
    texts = (re.sub(r"\s+", " ", html.unescape(re.sub("<[^>]+>", "", p))).strip()
             for p in re.findall(r"<p>(.*?)</p>", page, re.S))
    return [t for t in texts if len(t) > 40]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("site")
    parser.add_argument("--docent", default="target/release/docent")
    parser.add_argument("--marker", default='class="toc"')
    args = parser.parse_args()
    pages = sorted(os.path.relpath(os.path.join(d, f), args.site)
                   for d, _, files in os.walk(args.site) for f in files if f.endswith(".html"))
    checked, losing = 0, []
    for rel in pages:
        text = open(os.path.join(args.site, rel), encoding="utf-8", errors="replace").read()
        page_paragraphs = paragraphs(text) if args.marker in text else []
        if not page_paragraphs:
            continue
        checked += 1
        out = subprocess.run([args.docent, "extract", os.path.join(args.site, rel)],
                             capture_output=True, text=True, check=True).stdout
        kept = re.sub(r"\W+", "", out)
        lost = [p for p in page_paragraphs if re.sub(r"\W+", "", p)[:30] not in kept]
        if lost:
            losing.append((rel, len(lost), len(page_paragraphs), lost[0][:70]))
    print(f"{checked} pages with {args.marker} and paragraphs; {len(losing)} lose at least one")
    for rel, n, of, first in losing:
        print(f"  {rel}: {n} of {of} lost, first: {first}")


if __name__ == "__main__":
    main()
