"""Stories on the dev corpus (search.stories): how many stories with copies
an import finds, what grouping costs at import, and a random sample of
pairs to read by hand (the precision quoted in the README was counted on
such a sample).

    .venv/bin/python -m bench.stories                  # figures, 50 pairs (seed 11)
    .venv/bin/python -m bench.stories --sample 0       # figures only

It imports the corpus twice into temporary SQLite stores (the whoosh
backend's store, no index): with story detection, and without it.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from collections import Counter
from pathlib import Path

from archivio.search.importers import scan_paths
from archivio.search.importing import STORE_BATCH, ImportReport, article_batches
from archivio.search.stories import similarity
from archivio.search.whoosh_sqlite import store as store_module
from bench.data import corpus_path


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
    args = parser.parse_args()
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


if __name__ == "__main__":
    main()
