#!/usr/bin/env python3
"""Search on Postgres against search on SQLite: the same build, the same sets, both stores.

Usage:
    python3 tests/eval/store_parity.py --sets DIR --work DIR --postgres URL_TEMPLATE
        --manual CORPUS=DIR [--manual CORPUS=DIR ...] [--docent PATH] [--split dev|test] [--index]

--sets is a directory of `ranking.py --write-sets` files (`django-api.jsonl`, …); --work is
`ranking.py`'s --work, holding each corpus's SQLite index (`django.db`, …); --postgres names each
corpus's Postgres database, `{corpus}` standing for its name
(`postgres://docent:docent@127.0.0.1:55439/{corpus}`: create the databases first, e.g. with
`createdb`). --manual gives each corpus's HTML directory, as `ranking.py` reads it (the sets of a
corpus without one are skipped). With --index, each manual is first indexed into its Postgres
database as `ranking.py` indexes it into SQLite (`faq/` left out of the three manuals whose FAQ is
a set). Every set is searched with `docent search --mode auto --k 10` on both stores and scored as
`ranking.py` scores it (hit@5 / MRR@10).
"""

import argparse
import glob
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ranking  # noqa: E402

def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--postgres", required=True, help="a URL with {corpus} for the database name")
    parser.add_argument("--manual", action="append", default=[], help="CORPUS=DIR")
    parser.add_argument("--docent", default="target/release/docent")
    parser.add_argument("--split", default="test", choices=["dev", "test"])
    parser.add_argument("--index", action="store_true", help="index the manuals into Postgres first")
    args = parser.parse_args()
    if "{corpus}" not in args.postgres:
        sys.exit("--postgres must name each corpus's database with {corpus}")
    manuals = dict(m.split("=", 1) for m in args.manual)
    if args.index:
        for corpus, site in manuals.items():
            command = [args.docent, "index", site, "--db", args.postgres.format(corpus=corpus)]
            for pattern in ranking.LEFT_OUT.get(corpus, []):
                command += ["--exclude", pattern]
            subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    print(f"split: {args.split}; hit@5 / MRR@10, `docent search --mode auto --k 10`")
    print("| set | n | SQLite | Postgres |")
    print("|---|---|---|---|")
    for path in sorted(glob.glob(os.path.join(args.sets, "*.jsonl"))):
        name = os.path.basename(path)[:-len(".jsonl")]
        corpus = name.split("-")[0]
        if corpus not in manuals:
            continue
        with open(path, encoding="utf-8") as f:
            queries = [q for q in map(json.loads, f) if q["split"] == args.split]
        marker = manuals[corpus].rstrip("/") + "/"
        cells = []
        for db in (os.path.join(args.work, f"{corpus}.db"), args.postgres.format(corpus=corpus)):
            results = ranking.docent_search(args.docent, db, queries, "auto")
            figures, _ = ranking.score(queries, results, marker)
            cells.append(f"{figures['hit@5']:.3f} / {figures['mrr@10']:.3f}")
        print(f"| {name} | {len(queries)} | {cells[0]} | {cells[1]} |")


if __name__ == "__main__":
    main()
