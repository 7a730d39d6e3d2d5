"""Derives a misspelled copy of a query set: one content word of five letters or more per query gets a
typical typing error (two neighbouring letters swapped, or a doubled letter written once), chosen
deterministically so the set is reproducible. Users misspell; lexical search cannot match what they
meant; the built-in embedder reads a misspelled query word as the word one edit away.

    python3 tests/eval/make_typos.py < tests/eval/postgres-queries.jsonl > tests/eval/postgres-queries-typos.jsonl
"""
import json
import re
import sys
import zlib


def misspell(word, seed):
    doubled = [i for i in range(1, len(word)) if word[i] == word[i - 1] and word[i].isalpha()]
    if doubled:
        i = doubled[seed % len(doubled)]
        return word[:i] + word[i + 1:]
    # Swap two neighbouring letters away from the first one (people rarely get that wrong).
    i = 1 + seed % (len(word) - 2)
    return word[:i] + word[i + 1] + word[i] + word[i + 2:]


def main():
    for line in sys.stdin:
        if not line.strip():
            continue
        item = json.loads(line)
        words = re.findall(r"[A-Za-z]{5,}", item["q"])
        if words:
            seed = zlib.crc32(item["q"].encode())
            target = words[seed % len(words)]
            item["q"] = item["q"].replace(target, misspell(target, seed), 1)
        print(json.dumps(item))


if __name__ == "__main__":
    main()
