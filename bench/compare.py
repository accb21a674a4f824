"""Which targets moved between two run files of bench.relevance.

    python -m bench.compare before-hard.jsonl after-hard.jsonl --queries hard
    python -m bench.compare before-dev.jsonl after-dev.jsonl

For each query whose first relevant article changed rank within the top
10 (None: not in it), prints kind, qid, rank before -> after, and the
query, then the count of queries that went up and down. Run it after
each ranking change, before and after (the issue-16 rule: no tuning to
single queries; a change must be read on the whole set).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from bench.data import hard_queries_path, load_queries, queries_path


def first_relevant(ids: list[str], relevant: list[str], k: int = 10) -> int | None:
    for n, i in enumerate(ids[:k]):
        if i in relevant:
            return n + 1
    return None


def read_run(path: str) -> dict[str, list[str]]:
    lines = Path(path).read_text().splitlines()
    return {row["qid"]: row["ids"] for row in map(json.loads, lines) if row}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("before")
    ap.add_argument("after")
    ap.add_argument("--queries", help="dev (default), hard, or a query file")
    args = ap.parse_args(argv)
    named = {"hard": hard_queries_path(), "dev": queries_path(), None: queries_path()}
    path = named.get(args.queries, args.queries)
    before, after = read_run(args.before), read_run(args.after)
    up = down = 0
    for q in load_queries(path):
        a = first_relevant(before.get(q["qid"], []), q["relevant"])
        b = first_relevant(after.get(q["qid"], []), q["relevant"])
        if a == b:
            continue
        better = b is not None and (a is None or b < a)
        up, down = up + better, down + (not better)
        print(f"{q['kind']:<11} {q['qid']:<12} {a} -> {b}  {q['query']}")
    print(f"{up} up, {down} down")


if __name__ == "__main__":
    main()
