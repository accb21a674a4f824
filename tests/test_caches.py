"""Caches let go of what the index no longer holds, so a long-running server's
memory does not grow with every import (issue: soak test RSS)."""

from __future__ import annotations

import json
import threading

from archivio.search import Archive
from archivio.search.whoosh_sqlite import segcache
from archivio.search.whoosh_sqlite.resultcache import ResultCache
from archivio.search.whoosh_sqlite.segcache import _LRU, _segments_of, cache


def write_articles(path, start: int, count: int) -> None:
    with path.open("w") as f:
        for n in range(start, start + count):
            body = f"Il consiglio comunale discute il bilancio numero {n} e il piano per il porto."
            f.write(json.dumps({"id": f"c-{n}", "title": f"Seduta {n}", "body": body}) + "\n")


def new_archive(tmp_path, count: int) -> Archive:
    """An archive of `count` articles, its result cache off (searches reach the caches)."""
    source = tmp_path / "a.jsonl"
    write_articles(source, 0, count)
    archive = Archive(tmp_path / "data", tmp_path / "index")
    archive.result_cache = None
    archive.import_paths([source])
    return archive


def import_more(archive: Archive, tmp_path, start: int, count: int) -> None:
    """An incremental import; this thread's next search opens a fresh searcher."""
    source = tmp_path / "b.jsonl"
    write_articles(source, start, count)
    archive.import_paths([source])
    archive.index.close()


def segment_ids(archive: Archive) -> set[str]:
    searcher = archive.index.searcher()
    return {sub.reader().segment().segment_id() for sub, _ in searcher.leaf_searchers()}


def cached_segments() -> set[str]:
    return {s for key in cache.held() for s in _segments_of(key)}


def test_a_rebuild_drops_the_cached_data_of_the_old_segments(tmp_path):
    archive = new_archive(tmp_path, 50)
    archive.search("bilancio porto", category="Cronaca")
    archive.search("consiglio")
    old = segment_ids(archive)
    assert old <= cached_segments()
    archive.rebuild()
    archive.search("bilancio porto")
    new = segment_ids(archive)
    assert old.isdisjoint(new)
    assert new <= cached_segments()
    assert old.isdisjoint(cached_segments())
    # A searcher opened before the rebuild cannot put them back.
    with cache.lock:
        assert old <= cache.gone
    archive.close()


def test_an_import_keeps_the_untouched_segments_cached(tmp_path):
    archive = new_archive(tmp_path, 50)
    archive.search("bilancio")
    before = segment_ids(archive)
    import_more(archive, tmp_path, 50, 10)
    result = archive.search("bilancio")
    assert result.total == 60
    after = segment_ids(archive)
    assert before <= after  # an incremental import adds a segment, merges nothing here
    assert after <= cached_segments()
    archive.close()


def whole_index_states() -> set[tuple[str, ...]]:
    """The segment lists named by the cached whole-index data (term and
    champion bitmaps, whoosh query results)."""
    return {key[1] for key in cache.held() if isinstance(key[1], tuple)}


def test_an_import_retires_the_whole_index_data_of_the_state_before(tmp_path):
    archive = new_archive(tmp_path, 50)
    archive.search("bilancio porto")
    before = segment_ids(archive)
    assert any(set(state) == before for state in whole_index_states())
    import_more(archive, tmp_path, 50, 10)
    assert archive.search("bilancio porto").total == 60
    after = segment_ids(archive)
    mine = {state for state in whole_index_states() if not after.isdisjoint(state)}
    # Every segment of the first state is still there, yet its data went.
    assert mine and all(set(state) == after for state in mine)
    archive.close()


def test_threads_share_one_copy_of_the_whole_index_bitmaps(tmp_path):
    archive = new_archive(tmp_path, 50)
    archive.search("bilancio")

    current = segment_ids(archive)

    def keys() -> list[tuple]:
        return [k for k in cache.held() if k[0] == "terms" and set(k[1]) == current]

    seen = keys()
    worker = threading.Thread(target=lambda: archive.search("bilancio"))  # a searcher of its own
    worker.start()
    worker.join()
    assert seen and keys() == seen
    archive.close()


def test_result_cache_keeps_only_the_current_index_version():
    results = ResultCache(size=10)
    results.put((("seg-a", 0), "q1"), "old 1")
    results.put((("seg-a", 0), "q2"), "old 2")
    assert results.get((("seg-a", 0), "q1")) == "old 1"
    results.put((("seg-b", 0), "q1"), "new 1")
    assert results.get((("seg-a", 0), "q2")) is None
    assert results.get((("seg-b", 0), "q1")) == "new 1"


def test_the_result_cache_tells_every_filter_apart(tmp_path):
    """The cache keys on the whole Filters value: each filter field, changed
    alone, gives its own answer, the same as with the cache off."""
    import dataclasses

    from archivio.search.results import Filters

    source = tmp_path / "f.jsonl"
    rows = [
        {
            "id": "f-1",
            "title": "Porto",
            "body": "Il porto di Genova.",
            "author": "Anna Neri",
            "category": "cronaca",
            "date": "2024-03-01",
        },
        {
            "id": "f-2",
            "title": "Porto",
            "body": "Il porto di Napoli.",
            "author": "Luca Bassi",
            "category": "economia",
            "date": "2025-06-01",
        },
    ]
    source.write_text("".join(json.dumps(r) + "\n" for r in rows))
    archive = Archive(tmp_path / "data", tmp_path / "index")
    archive.import_paths([source])
    archive.result_cache = ResultCache(16)
    searches = [
        {},
        {"author": "Neri"},
        {"category": "economia"},
        {"since": "2025-01-01"},
        {"until": "2024-12-31"},
    ]
    # One search per Filters field, plus none: a field missing here fails the test.
    assert len(searches) == len(dataclasses.fields(Filters)) + 1
    cached = [sorted(h.article.id for h in archive.search("porto", **s).hits) for s in searches]
    assert cached == [["f-1", "f-2"], ["f-1"], ["f-2"], ["f-2"], ["f-1"]]
    assert len(archive.result_cache._items) == len(searches)
    archive.result_cache = None
    assert [sorted(h.article.id for h in archive.search("porto", **s).hits) for s in searches] == cached


def held_bytes(lru: _LRU) -> int:
    return sum(size for _, size in (*lru.window.values(), *lru.items.values()))


def cycle(lru: _LRU, keys: list[tuple], size: int) -> int:
    """One pass of searches asking for `keys` in turn, each put when
    missing (as the engine does); the hits."""
    hits = 0
    for key in keys:
        if lru.get(key) is None:
            lru.put(key, key, size)
        else:
            hits += 1
    return hits


def test_items_asked_in_turn_beyond_the_budget_are_partly_kept():
    """18 items of 100 bytes asked in turn through a budget of 1,000 (a
    window of 100, a main part of 900): a least-recently-used cache would
    hit none of them, pass after pass; the first nine stay, and are hit on
    every later pass. The budget always holds."""
    lru = _LRU(1_000)
    keys = [("postings", f"seg{n}", "text", b"w") for n in range(18)]
    assert cycle(lru, keys, 100) == 0
    for _ in range(3):
        assert cycle(lru, keys, 100) == 9
        assert lru.used <= 1_000 and held_bytes(lru) == lru.used
    assert set(lru.held()) >= set(keys[:9])


def test_an_item_used_more_often_takes_the_place_of_one_used_less():
    lru = _LRU(1_000)
    once = [("terms", f"seg{n}", "x") for n in range(10)]
    cycle(lru, once, 100)  # the main part full of items used once
    often = ("postings", "seg", "text", b"di")
    for _ in range(3):
        assert lru.get(often) is None
    lru.put(often, "di", 100)
    cycle(lru, [("terms", "seg-other", "y")], 100)  # pushes it out of the window
    assert often in lru.items and once[0] not in lru.held()
    # An item used no more often than the one it would push out is let go.
    rare = ("postings", "seg", "text", b"rarissima")
    lru.put(rare, "r", 100)
    cycle(lru, [("terms", "seg-other", "z")], 100)
    assert rare not in lru.held() and often in lru.items


def test_a_new_item_stays_while_its_search_runs():
    """Whatever the counts, the newest items are in the window: a search's
    own data is not let go while it runs."""
    lru = _LRU(1_000)
    cycle(lru, [("terms", f"seg{n}", "x") for n in range(10)] * 3, 100)
    new = ("positions", "seg", "text", b"non")
    lru.put(new, "p", 90)
    assert lru.get(new) == "p"
    lru.forget({"seg"})
    assert new not in lru.held() and lru.used == held_bytes(lru)


def test_use_counts_stay_bounded_and_keep_the_most_used(monkeypatch):
    """Past COUNTED_KEYS counted keys the counts are halved until half are
    left: the dict stays bounded whatever the counts, and the keys still in
    use outweigh the ones used once."""
    monkeypatch.setattr(segcache, "COUNTED_KEYS", 100)
    lru = _LRU(1_000)
    hot = [("terms", f"hot{n}", "x") for n in range(10)]
    for _ in range(8):
        for key in hot:
            lru.get(key)
    for n in range(1_000):
        for _ in range(4):  # four uses each: one halving would keep them all
            before = len(lru.uses)
            lru.get(("terms", f"cold{n}", "x"))
            # Halved down to half: not again at the next new key.
            assert len(lru.uses) <= 100 and (len(lru.uses) >= before or len(lru.uses) <= 50)
        if n % 10 == 0:  # still in use, as a common word's postings are
            for key in hot:
                lru.get(key)
    assert all(key in lru.uses for key in hot)
    assert ("terms", "cold0", "x") not in lru.uses  # used long ago, then no more


def test_remembered_document_frequencies_are_the_readers(tmp_path):
    """The query builder remembers document frequencies on the index
    reader: the same numbers as whoosh's, and a reader after an import
    counts the new articles (the memo lives and dies with its reader)."""
    from archivio.search.whoosh_sqlite.querybuilder import WhooshQueryBuilder

    archive = new_archive(tmp_path, 30)
    try:

        def frequencies() -> tuple[dict, dict]:
            reader = archive.index.searcher().reader()
            builder = WhooshQueryBuilder(reader, archive.synonyms, archive.ranking)
            terms = [(f, t) for f in ("exact", "text") for t in reader.lexicon(f)]
            ours = {(f, t): builder.doc_frequency(f, t) for f, t in terms}
            assert ours == {(f, t): builder.doc_frequency(f, t) for f, t in terms}  # from the memo
            return ours, {(f, t): reader.doc_frequency(f, t) for f, t in terms}

        ours, whooshs = frequencies()
        assert ours == whooshs and ours["exact", b"porto"] == 30
        import_more(archive, tmp_path, 30, 12)
        ours, whooshs = frequencies()
        assert ours == whooshs and ours["exact", b"porto"] == 42
    finally:
        archive.close()
