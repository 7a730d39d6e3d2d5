#!/usr/bin/env python3
"""Score search results against a retrieval evaluation set.

Usage:
    python3 tests/eval/evaluate.py --queries tests/eval/postgres-queries.jsonl \
        --results results.jsonl [--label NAME] [--json] [--misses]

--queries: one {"q": ..., "relevant": ["page.html", ...]} per line.
--results: one {"results": [{"url": ...}, ...]} per line, in the same order as
           the queries (the output of `docent search --db X --jsonl` fed the
           queries file on stdin).

A result URL matches a relevant page when its path (scheme, host, query string
and #fragment ignored) ends with "/" + the page name. Several results for the
same page (e.g. different #sections) count once, at the first one's rank.

Metrics:
    hit@5   fraction of queries with a relevant page among the first 5 pages
    MRR@10  mean of 1/rank of the first relevant page within 10 (0 if none)

Standard library only.
"""

import argparse
import json
import sys
from urllib.parse import unquote, urlsplit


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def page_path(url):
    """The URL's path without scheme, host, query or fragment."""
    return unquote(urlsplit(url).path)


def ranked_pages(results):
    """Result paths in order, each page kept once (first occurrence)."""
    seen, pages = set(), []
    for result in results:
        path = page_path(result.get("url", ""))
        if path not in seen:
            seen.add(path)
            pages.append(path)
    return pages


def first_relevant_rank(pages, relevant):
    """1-based rank of the first page matching a relevant name, or None."""
    for rank, path in enumerate(pages, start=1):
        if any(path.endswith("/" + name) or path == name for name in relevant):
            return rank
    return None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", required=True)
    parser.add_argument("--results", required=True)
    parser.add_argument("--label", default=None, help="name printed with the figures")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--misses", action="store_true", help="also list queries with no relevant page in the top 10")
    args = parser.parse_args()

    queries = read_jsonl(args.queries)
    results = read_jsonl(args.results)
    if len(queries) != len(results):
        sys.exit(f"{args.results} has {len(results)} lines but {args.queries} has {len(queries)} queries")

    hits, rr, misses = 0, 0.0, []
    for query, result in zip(queries, results):
        rank = first_relevant_rank(ranked_pages(result.get("results", [])), query["relevant"])
        if rank is not None and rank <= 5:
            hits += 1
        if rank is not None and rank <= 10:
            rr += 1.0 / rank
        else:
            misses.append(query["q"])

    n = len(queries)
    report = {"label": args.label, "queries": n, "hit@5": hits / n if n else 0.0, "mrr@10": rr / n if n else 0.0}
    if args.json:
        if args.misses:
            report["misses"] = misses
        print(json.dumps(report))
        return
    prefix = f"{args.label}: " if args.label else ""
    print(f"{prefix}hit@5 = {report['hit@5']:.3f}  MRR@10 = {report['mrr@10']:.3f}  (n = {n})")
    if args.misses:
        for q in misses:
            print(f"  miss: {q}")


if __name__ == "__main__":
    main()
