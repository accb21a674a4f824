"""Stories on the dev corpus (search.stories): how many stories with copies
an import finds, what grouping costs at import, and a random sample of
pairs to read by hand (the precision quoted in the README was counted on
such a sample).

    .venv/bin/python -m bench.stories                  # figures, 50 pairs (seed 11)
    .venv/bin/python -m bench.stories --sample 0       # figures only
    .venv/bin/python -m bench.stories --search --data-dir D --index-dir I   # folding's cost
    .venv/bin/python -m bench.stories --search --backend postgres --dsn DSN

It imports the corpus twice into temporary SQLite stores (the whoosh
backend's store, no index): with story detection, and without it. With
--search, it times the dev queries on an archive that holds the dev
corpus, each story once (the default) and every copy (fold=False), the
result cache off, side by side: medians of 3 runs per query, p50 and p95,
and how the first pages changed.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path

from archivio.search import BACKENDS, QueryError, open_archive
from archivio.search.importers import scan_paths
from archivio.search.importing import STORE_BATCH, ImportReport, article_batches
from archivio.search.stories import similarity
from archivio.search.whoosh_sqlite import store as store_module
from bench.data import corpus_path, load_queries, queries_path
from bench.metrics import percentiles


def import_seconds(folder: Path, stories: bool) -> tuple[float, store_module.Store]:
    """Seconds to store the corpus, with or without story detection."""
    store = store_module.Store(folder / "archive.sqlite")
    original = store_module.assign_stories
    if not stories:
        store_module.assign_stories = lambda _store, _articles: {}
    try:
        started = time.perf_counter()
        report = ImportReport()
        for batch, _ in article_batches(scan_paths([corpus_path()]), report, STORE_BATCH):
            store.upsert_many(batch)
        return time.perf_counter() - started, store
    finally:
        store_module.assign_stories = original


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sample", type=int, default=50, help="pairs to print for reading (0: none)")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--search", action="store_true", help="time searches folded and not, on an archive")
    parser.add_argument("--backend", choices=BACKENDS, default="whoosh")
    parser.add_argument("--data-dir")
    parser.add_argument("--index-dir")
    parser.add_argument("--dsn")
    args = parser.parse_args()
    if args.search:
        search_cost(args)
        return
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "with").mkdir()
        (Path(tmp) / "without").mkdir()
        plain, _ = import_seconds(Path(tmp) / "without", stories=False)
        grouped, store = import_seconds(Path(tmp) / "with", stories=True)
        articles = store.count()
        rows = store.db.execute("SELECT id, story, signature FROM stories").fetchall()
        sizes = Counter(story for _, story, _ in rows)
        groups = {story: n for story, n in sizes.items() if n > 1}
        print(f"articles: {articles}")
        print(f"stories with copies: {len(groups)}, holding {sum(groups.values())} articles")
        print("sizes:", dict(sorted(Counter(groups.values()).items())))
        extra = grouped - plain
        print(
            f"import into the store: {plain:.1f} s without stories, {grouped:.1f} s with "
            f"(+{extra:.1f} s, {1000 * extra / articles:.2f} ms per article)"
        )
        if not args.sample:
            return
        signatures = {i: bytes(sig) for i, _, sig in rows}
        first_of = {story: story for story in groups}
        pairs = [(first_of[story], i) for i, story, _ in rows if story in groups and i != story]
        random.seed(args.seed)
        for n, (a_id, b_id) in enumerate(random.sample(pairs, min(args.sample, len(pairs)))):
            found = store.get_many([a_id, b_id])
            a, b = found[a_id], found[b_id]
            print(f"\n#{n} similarity {similarity(signatures[a_id], signatures[b_id]):.2f}")
            for label, x in (("A", a), ("B", b)):
                print(f"  {label} {x.date} {x.source}: {x.title[:100]}")
                print(f"    {x.body[:160]!r}")
        store.close()


def search_cost(args: argparse.Namespace) -> None:
    """The dev queries folded and not, side by side (see the module's doc)."""
    os.environ["ARCHIVIO_RESULT_CACHE"] = "0"
    archive = open_archive(args.backend, data_dir=args.data_dir, index_dir=args.index_dir, dsn=args.dsn)
    queries = load_queries(queries_path())

    def timed(q: dict, fold: bool):
        f = q.get("filters") or {}
        started = time.perf_counter()
        try:
            result = archive.search(q["query"], fold=fold, **{k: f.get(k) for k in ("author", "category")})
        except QueryError:
            return None, 0.0
        return result, (time.perf_counter() - started) * 1000

    for q in queries[:20]:  # warm-up
        timed(q, True)
        timed(q, False)
    times: dict[bool, list[float]] = {True: [], False: []}
    changed = folded_hits = fewer = 0
    for q in queries:
        runs: dict[bool, list[float]] = {True: [], False: []}
        answers: dict[bool, object] = {}
        for _ in range(3):
            for fold in (False, True):
                answers[fold], ms = timed(q, fold)
                runs[fold].append(ms)
        folded, every = answers[True], answers[False]
        if folded is None or every is None:  # refused either way: not timed
            continue
        for fold in (True, False):
            times[fold].append(statistics.median(runs[fold]))
        changed += [h.article.id for h in folded.hits] != [h.article.id for h in every.hits]
        folded_hits += sum(h.copies > 0 for h in folded.hits)
        fewer += (folded.stories or 0) < folded.total
    for fold, label in ((False, "every copy"), (True, "each story once")):
        p = percentiles(times[fold])
        print(f"{label:>16}: p50 {p[50]:.1f} ms, p95 {p[95]:.1f} ms")
    ratio = statistics.median(a / b for a, b in zip(times[True], times[False], strict=True) if b)
    print(f"median ratio folded/every copy, per query: {ratio:.2f}")
    print(
        f"of {len(queries)} dev queries: {fewer} count fewer stories than articles, "
        f"{changed} have a different first page, {folded_hits} first-page results carry copies"
    )
    archive.close()


if __name__ == "__main__":
    main()
