"""The speed-ups must not change answers: the bulk builder writes what
whoosh's writer writes, the fast scorer gives whoosh's scores, and the
bitmaps hold the documents whoosh's matchers find."""

from __future__ import annotations

import itertools
import json
import random
from datetime import datetime

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from whoosh import index
from whoosh import query as wq
from whoosh.codec.whoosh3 import W3LeafMatcher
from whoosh.fields import ID, KEYWORD, TEXT
from whoosh.index import Index

from archivio.search.analysis import TOKEN_PATTERN, exact_analyzer
from archivio.search.graded import BestOf, GradedOr
from archivio.search.ranking import Ranking
from archivio.search.spelling import edit_distance
from archivio.search.whoosh_sqlite import lexicon, postingblocks
from archivio.search.whoosh_sqlite.documents import index_schema
from archivio.search.whoosh_sqlite.formats import ArchivioCodec
from archivio.search.whoosh_sqlite.indexing import builder
from archivio.search.whoosh_sqlite.ranking import scorer, storymap, topk
from archivio.search.whoosh_sqlite.ranking.docsets import DocSets, from_ids, member_array, members
from archivio.search.whoosh_sqlite.ranking.scorer import QueryScorer
from archivio.search.whoosh_sqlite.ranking.topk import best, score_docs, top_partial
from archivio.search.whoosh_sqlite.searching import weighting

WORDS = [
    "il",
    "la",
    "di",
    "che",
    "elezioni",
    "regionali",
    "veneto",
    "sindaco",
    "comune",
    "porto",
    "genova",
    "alluvione",
    "liguria",
    "pace",
    "ucraina",
    "città",
    "perché",
    "dell’Europa",
    "l'Ucraina",
    "U.S.A.",
    "2,5",
    "1.200",
    "Covid-19",
    "pane",
    "prezzo",
    "sciopero",
    "museo",
    "firenze",
    "ciclismo",
    "treno",
    "ospedale",
    "vaccino",
    "ricerca",
]


def _docs(n: int, seed: int = 7) -> list[dict]:
    """Articles of random words: common words reach several posting blocks."""
    rng = random.Random(seed)
    docs = []
    for i in range(n):
        title = " ".join(rng.choices(WORDS, k=5))
        body = " ".join(rng.choices(WORDS, weights=range(len(WORDS), 0, -1), k=rng.randint(20, 200)))
        text = f"{title}\n{body}"
        doc = {"id": f"a{i:04d}", "text": text, "title": title, "exact": text, "author": "", "category": ""}
        if i % 3:
            doc["category_key"] = rng.choice(["cronaca", "sport", "politica"])
            doc["date"] = datetime(2020 + i % 5, 1 + i % 12, 1 + i % 28)
            doc["year"] = 2020 + i % 5
        if i % 7 == 0:
            doc["author_key"] = rng.choice(["mario rossi", "giulia ferraro"])
        docs.append(doc)
    return docs


def _postings(reader) -> dict:
    out = {}
    for fieldname, text in reader.all_terms():
        m = reader.postings(fieldname, text)
        rows = []
        while m.is_active():
            rows.append((m.id(), m.weight(), m.value()))
            m.next()
        info = reader.term_info(fieldname, text)
        stats = (info.weight(), info.doc_frequency(), info.min_length(), info.max_length(), info.max_weight())
        out[fieldname, text] = (rows, stats)
    return out


@pytest.fixture(scope="module")
def docs() -> list[dict]:
    return _docs(700)


@pytest.fixture(scope="module")
def whoosh_index(tmp_path_factory, docs):
    ix = index.create_in(str(tmp_path_factory.mktemp("whoosh")), index_schema())
    writer = ix.writer(codec=ArchivioCodec())
    for doc in docs:
        writer.add_document(**doc)
    writer.commit()
    return ix


def _same_index(ours, theirs, count: int) -> None:
    assert _postings(ours) == _postings(theirs)
    for docnum in range(count):
        assert ours.stored_fields(docnum) == theirs.stored_fields(docnum)
        for fieldname in ("text", "title", "exact"):
            assert ours.doc_field_length(docnum, fieldname) == theirs.doc_field_length(docnum, fieldname)
    for fieldname in ("text", "title", "exact"):
        assert ours.field_length(fieldname) == theirs.field_length(fieldname)


# (processes, articles per segment, least postings per term range): one
# segment in one or several parts, several segments, many term ranges.
@pytest.mark.parametrize(
    "procs, chunk, min_range, part_chars",
    [
        (1, 10_000, 50_000, 8_000_000),
        (2, 10_000, 50_000, 8_000_000),
        (2, 300, 50_000, 8_000_000),
        (2, 10_000, 200, 8_000_000),
        # Parts cut by their text's length (~20 articles each), in one process and two.
        (1, 10_000, 50_000, 10_000),
        (2, 300, 50_000, 10_000),
    ],
)
def test_builder_writes_what_whoosh_writes(
    tmp_path, monkeypatch, docs, whoosh_index, procs, chunk, min_range, part_chars
):
    monkeypatch.setattr(builder, "MIN_RANGE", min_range)
    monkeypatch.setattr(builder, "PART_CHARS", part_chars)
    ix = index.create_in(str(tmp_path), index_schema())
    assert builder.build(ix, docs, procs=procs, chunk=chunk) == len(docs)
    _same_index(index.open_dir(str(tmp_path)).reader(), whoosh_index.reader(), len(docs))
    assert not list(tmp_path.glob("runs-*"))  # the run files are gone


def test_builder_on_awkward_articles(tmp_path, monkeypatch):
    """Words that index as two terms or none, empty and missing texts, and an
    article past 65,535 words (its positions take 4 bytes)."""
    long_text = " ".join(WORDS[i % len(WORDS)] for i in range(70_000)) + " coda"
    texts = [
        "O'Neill e d'Alema, l’Ucraina",
        "",
        "il la di che",
        long_text,
        "città perché U.S.A. 1.000",
        "il centro-destra e i no-vax di Sant'Anna: anti-Covid-19, Pe\u0301rez e lʼUcraina",
    ]
    docs = [
        {"id": f"x{i}", "text": t, "title": t[:40], "exact": t, "author": "", "category": ""}
        for i, t in enumerate(texts)
    ]
    docs.append({"id": "x-none", "author": "", "category": ""})
    (tmp_path / "whoosh").mkdir()
    (tmp_path / "ours").mkdir()
    theirs = index.create_in(str(tmp_path / "whoosh"), index_schema())
    writer = theirs.writer(codec=ArchivioCodec())
    for doc in docs:
        writer.add_document(**doc)
    writer.commit()
    ix = index.create_in(str(tmp_path / "ours"), index_schema())
    monkeypatch.setattr(builder, "PART", 2)  # the long article and its neighbours in one part
    assert builder.build(ix, docs, procs=1) == len(docs)
    ours = index.open_dir(str(tmp_path / "ours")).reader()
    _same_index(ours, theirs.reader(), len(docs))
    last = exact_analyzer().term_positions(long_text)["coda"][0]
    assert last >= len(TOKEN_PATTERN.findall(long_text)) - 1  # compounds take a position per part
    assert last > 0xFFFF
    assert ours.postings("exact", b"coda").value_as("positions") == [last]
    assert {b"neill", b"alema", b"ucraina", b"1000", b"perez"} <= set(ours.lexicon("exact"))

    # A compound's parts at their own positions, its joined runs at their first part's.
    def positions(word: str, docnum: int = 5) -> list[int]:
        m = ours.postings("exact", word.encode())
        m.skip_to(docnum)
        assert m.id() == docnum
        return m.value_as("positions")

    words = ("centrodestra", "destra", "anticovid19", "covid19", "19", "santanna", "anna", "ucraina")
    assert {w: positions(w) for w in words} == {
        "centrodestra": [1], "destra": [2], "anticovid19": [10], "covid19": [11], "19": [12],
        "santanna": [8], "anna": [9], "ucraina": [15],
    }  # fmt: skip


@pytest.fixture(scope="module")
def searcher(whoosh_index):
    s = whoosh_index.searcher(weighting=weighting(Ranking()))
    yield s
    s.close()


def _term(field: str, word: str) -> wq.Term:
    return wq.Term(field, word)


QUERIES = [
    wq.And([wq.Or([_term("text", "elezion"), _term("title", "elezion")]), _term("text", "venet")]),
    GradedOr([_term("text", "pac"), _term("text", "ucrain"), wq.Phrase("exact", ["covid", "19"])]),
    GradedOr([wq.Or([_term("text", "port"), _term("title", "port")]), _term("text", "genov")], exponent=2.0),
    # The fallback as the whoosh engine's searching ranks it: without the
    # excluded words, with the proximity bonus.
    wq.AndMaybe(
        wq.AndNot(
            GradedOr([_term("text", "sindac"), _term("text", "port"), _term("text", "genov")]),
            _term("text", "tren"),
        ),
        wq.Phrase("exact", ["porto", "genova"], slop=4),
    ),
    wq.AndMaybe(_term("text", "sindac"), wq.Phrase("exact", ["porto", "genova"], slop=4)),
    wq.And([_term("text", "muse"), wq.Not(_term("text", "firenz"))]),
    wq.AndNot(_term("text", "tren"), _term("title", "tren")),
    # One word and its alternatives, max-combined (Ranking.max_alternatives).
    wq.And(
        [
            BestOf(
                [
                    wq.Or(
                        [_term("text", "port"), _term("title", "port"), wq.Term("exact", "porto", boost=0.6)]
                    ),
                    _term("text", "genov"),
                ]
            ),
            _term("text", "sindac"),
        ]
    ),
]


@pytest.mark.parametrize("q", QUERIES, ids=range(len(QUERIES)))
def test_docsets_match_whoosh(searcher, q):
    ds = DocSets(searcher)
    assert members(ds.query(q)) == sorted(q.docs(searcher))


@pytest.mark.parametrize("count", [0, 1, 37, 2_000, 9_000, 10_000])
def test_bitmap_members_as_an_array(count):
    ids = sorted(random.Random(count).sample(range(10_000), count))
    bits = from_ids(ids, 10_000)
    assert members(bits) == ids
    assert member_array(bits).tolist() == ids


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 3_000).flatmap(lambda n: st.tuples(st.just(n), st.lists(st.integers(0, n - 1)))))
def test_a_bitmap_holds_exactly_its_ids(case):
    """from_ids (numpy) is the bitmap a bit per id would make, whatever the
    order, repeats and container of the ids."""
    nbits, ids = case
    expected = 0
    for d in ids:
        expected |= 1 << d
    assert from_ids(ids, nbits) == expected
    assert from_ids(iter(ids), nbits) == expected
    assert from_ids(np.asarray(ids, dtype=np.uint32), nbits) == expected


def test_cached_postings_are_whooshs_weights(searcher, segmented_searcher):
    """Every term's cached arrays: whoosh's ids and weights, the weights
    narrowed to one byte only when each is the same number there."""
    narrowed = 0
    for s in (searcher, segmented_searcher):
        for reader, _ in s.reader().leaf_readers():
            for fieldname, btext in reader.all_terms():
                m = reader.postings(fieldname, btext)
                expected = []
                while m.is_active():
                    expected.append((m.id(), m.weight()))
                    m.next()
                ids, weights = postingblocks.postings(reader, fieldname, btext)
                assert list(zip(ids.tolist(), weights.astype(np.float64).tolist(), strict=True)) == expected
                narrowed += weights.dtype == np.uint8
    assert narrowed > 100


def test_ranges_and_keys_match_whoosh(searcher):
    ds = DocSets(searcher)
    for q in (
        wq.DateRange("date", datetime(2021, 3, 1), datetime(2022, 6, 30)),
        wq.DateRange("date", None, datetime(2021, 1, 1)),
        wq.Term("category_key", "sport"),
        wq.NumericRange("year", 2021, 2023),
    ):
        assert members(ds.query(q)) == sorted(q.docs(searcher)), q


def _segments(path, docs: list[dict], cuts: tuple[int, ...], deleted: list[dict] | None = None) -> Index:
    """`docs` in one segment per slice between `cuts`, then `deleted` removed
    in a commit of its own (an archive after imports and a removal)."""
    ix = index.create_in(str(path), index_schema())
    for start, end in itertools.pairwise((0, *cuts, len(docs))):
        writer = ix.writer(codec=ArchivioCodec())
        for doc in docs[start:end]:
            writer.add_document(**doc)
        writer.commit(merge=False)
    if deleted:
        writer = ix.writer(codec=ArchivioCodec())
        for doc in deleted:
            writer.delete_by_term("id", doc["id"])
        writer.commit(merge=False)
    return ix


@pytest.fixture(scope="module")
def segmented_searcher(tmp_path_factory, docs):
    """The same articles in three segments (an archive after two small imports)."""
    ix = _segments(tmp_path_factory.mktemp("segments"), docs, (500, 600))
    s = ix.searcher(weighting=weighting(Ranking()))
    assert len(s.leaf_searchers()) == 3
    yield s
    s.close()


def _negates(q: wq.Query) -> bool:
    return isinstance(q, (wq.Not, wq.AndNot)) or any(_negates(c) for c in q.children())


# A term finds the documents of a batch by binary search in its postings
# (GATHER_BELOW 0) or through the batch's map of places (every term).
LOOKUPS = pytest.mark.parametrize("gather_below", [0, 10**9], ids=["binary-search", "map-of-places"])


@LOOKUPS
@pytest.mark.parametrize("segmented", [False, True], ids=["one-segment", "three-segments"])
@pytest.mark.parametrize("q", QUERIES, ids=range(len(QUERIES)))
def test_fast_scores_are_whooshs(searcher, segmented_searcher, q, segmented, gather_below, monkeypatch):
    monkeypatch.setattr(scorer, "GATHER_BELOW", gather_below)
    s = segmented_searcher if segmented else searcher
    matching = members(DocSets(s).query(q))
    expected = dict(score_docs(s, q, matching, None))
    # The scorer is only offered documents known to match (the bitmaps apply
    # the NOTs); those of a positive query's words may still miss the query.
    negated = _negates(q)
    offered = matching if negated else members(DocSets(s).query(wq.Or(list(q.leaves()))))
    docnums, scores = QueryScorer(s, q).scores(np.array(offered, dtype=np.int64))
    found = dict(zip(docnums.tolist(), scores.tolist(), strict=True))
    assert found.keys() == expected.keys()
    for docnum, score in expected.items():
        assert found[docnum] == pytest.approx(score, rel=1e-12)
    assert QueryScorer(s, q).bound() >= max(expected.values()) * (1 - 1e-12)


@LOOKUPS
def test_a_scorer_reused_for_other_batches_scores_each_as_a_new_one(
    segmented_searcher, gather_below, monkeypatch
):
    """top_partial scores batch after batch with one compiled query: the
    places of one batch must not leak into the next."""
    monkeypatch.setattr(scorer, "GATHER_BELOW", gather_below)
    s = segmented_searcher
    q = QUERIES[0]
    offered = members(DocSets(s).query(wq.Or(list(q.leaves()))))
    assert len(offered) > 20
    batches = [offered[::2], offered[1::2], offered[::3], offered[:5]]
    reused = QueryScorer(s, q)
    for batch in batches:
        docs = np.array(batch, dtype=np.int64)
        again, fresh = reused.scores(docs), QueryScorer(s, q).scores(docs)
        assert again[0].tolist() == fresh[0].tolist()
        assert again[1].tolist() == fresh[1].tolist()


GROUPS = [
    wq.Or([_term("text", "sindac"), _term("title", "sindac")]),
    _term("text", "alluvion"),
    wq.Phrase("exact", ["porto", "genova"]),
    wq.Or([_term("text", "vaccin"), _term("text", "ospedal")]),
]


@pytest.mark.parametrize("exponent", [0.0, 1.0, 2.0])
def test_a_graded_score_is_the_groups_sum_times_the_coordination_factor(segmented_searcher, exponent):
    s = segmented_searcher
    q = GradedOr(GROUPS, exponent=exponent)
    each = [dict(score_docs(s, g, members(DocSets(s).query(g)), None)) for g in GROUPS]
    scored = dict(score_docs(s, q, members(DocSets(s).query(q)), None))
    assert set(scored) == set().union(*each)
    held = {len([1 for g in each if d in g]) for d in scored}
    assert held == {1, 2, 3, 4}  # the test sees every count of groups
    for docnum, score in scored.items():
        matched = [g[docnum] for g in each if docnum in g]
        assert score == pytest.approx(sum(matched) * (len(matched) / len(GROUPS)) ** exponent, rel=1e-12)


def test_whooshs_collector_ranks_a_graded_query_as_the_scorer(segmented_searcher):
    s = segmented_searcher
    q = GradedOr(GROUPS)
    collected = [(hit.docnum, hit.score) for hit in s.search(q, limit=30)]
    docnums, scores = QueryScorer(s, q).scores(np.array(members(DocSets(s).query(q)), dtype=np.int64))
    expected = best(list(zip(docnums.tolist(), scores.tolist(), strict=True)), 30)
    assert [d for d, _ in collected] == [d for d, _ in expected]
    assert [score for _, score in collected] == pytest.approx([score for _, score in expected], rel=1e-12)


@pytest.mark.parametrize("batch", [0, 7, 10**6], ids=["bucket-by-bucket", "small-batches", "one-batch"])
@pytest.mark.parametrize("exponent", [0.0, 1.0, 3.0])
def test_partial_buckets_prune_to_the_exact_top(segmented_searcher, monkeypatch, exponent, batch):
    """Bucket by bucket with the bounds times the factor, the partial matches'
    top k is the exact one (every bucket scored in full: no champions),
    whether buckets are scored one at a time or together (BATCH_DOCS)."""
    monkeypatch.setattr(topk, "SCORE_EACH", 20)
    monkeypatch.setattr(topk, "PARTIAL_BUDGET", 10**6)
    monkeypatch.setattr(topk, "BATCH_DOCS", batch)
    s = segmented_searcher
    ds = DocSets(s)
    q = GradedOr(GROUPS, exponent=exponent)
    every = ds.query(wq.And(GROUPS))
    partial = ds.query(q) & ~every
    assert partial.bit_count() > 100
    # With the optional proximity bonus too, as search.whoosh_sqlite.searching asks for it.
    for ranked in (q, wq.AndMaybe(q, wq.Phrase("exact", ["sindaco", "genova"], slop=4))):
        exact = best(score_docs(s, ranked, members(partial), None), 15)
        found = top_partial(s, ds, ranked, partial, 15, None)
        assert [d for d, _ in found] == [d for d, _ in exact]
        assert [x for _, x in found] == pytest.approx([x for _, x in exact], rel=1e-12)


@pytest.mark.parametrize("budget", [25, 60, 150])
def test_batched_buckets_rank_as_one_bucket_at_a_time_past_the_budget(
    segmented_searcher, monkeypatch, budget
):
    """Past PARTIAL_BUDGET big buckets offer only their champions: scoring the
    full buckets together changes neither which buckets those are nor the
    top k (the same documents, the same scores)."""
    monkeypatch.setattr(topk, "SCORE_EACH", 20)
    monkeypatch.setattr(topk, "CHAMPIONS", 5)
    monkeypatch.setattr(topk, "PARTIAL_BUDGET", budget)
    s = segmented_searcher
    ds = DocSets(s)
    q = GradedOr(GROUPS, exponent=1.0)
    partial = ds.query(q) & ~ds.query(wq.And(GROUPS))
    rankings = []
    for batch in (0, 7, 10**6):
        monkeypatch.setattr(topk, "BATCH_DOCS", batch)
        rankings.append(top_partial(s, ds, q, partial, 15, None))
    assert len(rankings[0]) == 15
    assert rankings[1] == rankings[0]
    assert rankings[2] == rankings[0]


@pytest.mark.parametrize("segmented", [False, True], ids=["one-segment", "three-segments"])
def test_posting_blocks_read_in_one_piece_are_whooshs_postings(searcher, segmented_searcher, segmented):
    """Every term of every field: the blocks cut from one read of the posting
    list give whoosh's matcher's ids, weights and values, in order."""
    s = segmented_searcher if segmented else searcher
    whole = 0
    for reader, _ in s.reader().leaf_readers():
        for fieldname, btext in reader.all_terms():
            expected = []
            m = reader.postings(fieldname, btext)
            while m.is_active():
                expected.append((m.id(), m.weight(), m.value()))
                m.next()
            found = [
                (i, w, v)
                for ids, weights, values in postingblocks.posting_blocks(
                    reader, fieldname, btext, weights=True, values=True
                )
                for i, w, v in zip(ids, weights, values, strict=True)
            ]
            assert found == expected, (fieldname, btext)
            m = reader.postings(fieldname, btext)
            if isinstance(m, W3LeafMatcher) and len(expected) > 128:
                whole += postingblocks._whole_list(m) is not None
    assert whole > 10  # many-block lists took the one-read path


def test_a_segments_ids_read_whole_are_its_term_dictionarys(tmp_path, docs):
    """storymap finds an id's document number by its term (big segments) or
    by reading a small segment's stored ids: the same numbers, deleted
    documents included, _MISSING for ids elsewhere."""
    ix = _segments(tmp_path, docs, (300, 450), deleted=docs[::9])
    sought = [d["id"] for d in docs[::3]] + ["nessuno", "a9999"]
    with ix.searcher() as s:
        for reader, _ in s.reader().leaf_readers():
            by_lookup = storymap._numbers_by_lookup(reader, sought)
            assert storymap._numbers_by_reading(reader, sought) == by_lookup
            found = {i: n for i, n in by_lookup.items() if n != storymap._MISSING}
            assert found and all(reader.stored_fields(n)["id"] == i for i, n in found.items())


@pytest.mark.parametrize("deleted", [0, 30], ids=["no-deletions", "deletions"])
def test_facet_counts_are_the_live_documents_holding_each_value(tmp_path, docs, deleted):
    """The value-number arrays count as whoosh's own postings do (deleted
    documents left out, documents without a value counted nowhere), and as
    the one-bitmap-per-value counts they replaced, over three segments."""
    ix = _segments(tmp_path, docs, (300, 450), deleted=docs[::7][:deleted])  # many of them with an author
    rng = random.Random(5)
    with ix.searcher() as s:
        ds = DocSets(s)
        live = member_array(ds.live).tolist()
        assert len(live) == len(docs) - deleted
        subsets = [list(range(s.doc_count_all())), live, rng.sample(live, 60), live[-1:], []]
        for fieldname in ("author_key", "category_key", "year"):
            values = {d[fieldname] for d in docs if fieldname in d}
            holding = {v: set(s.docs_for_query(wq.Term(fieldname, v))) for v in values}
            for subset in subsets:
                bits = from_ids(subset, ds.nbits)
                expected = {v: len(ids & set(subset)) for v, ids in holding.items() if ids & set(subset)}
                assert ds.facet_counts(bits, fieldname) == expected
                assert ds._counts_by_bitmaps(bits, fieldname) == expected
            assert ds._codes(fieldname) is not None  # one value per document: the arrays were used


@pytest.mark.parametrize("segmented", [False, True], ids=["one-segment", "three-segments"])
def test_a_terms_bound_is_whooshs_max_quality(searcher, segmented_searcher, segmented):
    s = segmented_searcher if segmented else searcher
    for fieldname, text in {("text", "elezion"), ("title", "port"), ("exact", "genova")}:
        q = wq.Term(fieldname, text)
        context = s.context(needs_current=True)
        qualities = [q.matcher(sub, context).max_quality() for sub, _ in s.leaf_searchers()]
        assert QueryScorer(s, q).bound() == pytest.approx(max(qualities), rel=1e-12)
        scores = [score for _, score in score_docs(s, q, members(DocSets(s).query(q)), None)]
        assert max(scores) <= QueryScorer(s, q).bound() * (1 + 1e-12)


def test_the_lexicon_answers_as_whooshs_term_dictionary(segmented_searcher):
    reader = segmented_searcher.reader()
    vocabulary = {w.decode() for w in reader.lexicon("exact")}
    assert {"genova", "ucraina", "covid", "19"} <= vocabulary
    probes = vocabulary | {"genov", "genovaa", "ucrainaa", "zzz", "x" * 40}
    assert lexicon.known_words(reader, "exact", probes) == vocabulary
    for word in ("genoca", "ucrania", "ciclizmo", "ospedalle"):
        close = {w for w in vocabulary if w[:1] == word[:1] and edit_distance(word, w) <= 2}
        assert close and close <= lexicon.near_words(reader, "exact", word, 2)


@pytest.mark.parametrize("segmented", [False, True])
def test_the_lexicon_reads_every_fields_terms_as_whoosh_lists_them(searcher, segmented_searcher, segmented):
    """One read of the term file (lexicon._field_terms) gives whoosh's own walk
    of the term dictionary: the same words in the same order, per segment and
    field (keyword fields and non-ASCII words included), and the same masks."""
    s = segmented_searcher if segmented else searcher
    # Text terms (numeric and date fields' binary terms end in NUL bytes,
    # which numpy's byte strings drop; the lexicon is read for `exact`).
    fields = [name for name in s.schema.names() if isinstance(s.schema[name], (TEXT, KEYWORD, ID))]
    compared = 0
    for reader, _ in s.reader().leaf_readers():
        for name in [*fields, "nessun_campo"]:
            words, lengths = lexicon._field_terms(reader, name)
            expected = (
                [w for w in reader.lexicon(name) if 0 < len(w) <= lexicon.MAX_BYTES]
                if (name in s.schema)
                else []
            )
            assert words.tolist() == expected
            assert lengths.tolist() == [len(w) for w in expected]
            compared += len(expected)
        built = lexicon.segment_lexicon(reader, "exact")
        masks = [lexicon.letter_mask(w.decode("utf-8", "replace")) for w in built.words]
        assert built.masks.tolist() == masks
    assert compared > 500


def _commit(ix, docs: list[dict]) -> list[int]:
    """An incremental commit as IndexManager.update makes it; the segment sizes after it."""
    writer = ix.writer(codec=ArchivioCodec())
    builder.add_segments(ix, writer, docs)
    writer.commit(mergetype=builder.merge_tiers)
    return sorted(s.doc_count_all() for s in index.open_dir(ix.storage.folder)._segments())


def test_an_incremental_segment_holds_what_whooshs_writer_writes(tmp_path, docs, whoosh_index):
    ix = index.create_in(str(tmp_path), index_schema())
    builder.build(ix, docs[:500])
    assert _commit(ix, docs[500:]) == [200, 500]
    ours, theirs = index.open_dir(str(tmp_path)).reader(), whoosh_index.reader()
    rows = {key: postings for key, (postings, _) in _postings(ours).items()}
    assert rows == {key: postings for key, (postings, _) in _postings(theirs).items()}
    for docnum in range(len(docs)):
        assert ours.stored_fields(docnum) == theirs.stored_fields(docnum)
        assert ours.doc_field_length(docnum, "exact") == theirs.doc_field_length(docnum, "exact")


def test_small_segments_merge_in_tiers(tmp_path, docs):
    ix = index.create_in(str(tmp_path), index_schema())
    builder.build(ix, docs[:500])
    for start in range(500, 660, 40):
        sizes = _commit(ix, docs[start : start + 40])
    # Four 40-article segments became one; the big one was never rewritten.
    assert sizes == [160, 500]


def test_a_rebuilds_segments_are_never_merged(tmp_path, docs):
    ix = index.create_in(str(tmp_path), index_schema())
    builder.build(ix, docs[:600], chunk=100)
    assert _commit(ix, docs[600:605]) == [5, 100, 100, 100, 100, 100, 100]


_EXACT_WORDS = sorted({t.text for t in exact_analyzer()(" ".join(WORDS))})


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    words=st.lists(st.sampled_from(_EXACT_WORDS), min_size=2, max_size=5),
    slop=st.integers(min_value=0, max_value=6),
    segmented=st.booleans(),
)
def test_phrases_match_whooshs_span_matcher(searcher, segmented_searcher, words, slop, segmented):
    """search.whoosh_sqlite.ranking.phrases checks positions itself (whoosh's matcher is ~3x
    slower and has no budget): the same documents for any phrase and slop."""
    s = segmented_searcher if segmented else searcher
    q = wq.Phrase("exact", words, slop=slop)
    assert members(DocSets(s).query(q)) == sorted(q.docs(s))


def test_a_phrase_past_its_budget_is_refused_with_the_reason(tmp_path, monkeypatch):
    """A phrase's count is never a guess: past PHRASE_LIMIT the search is
    refused, in Italian; within it the same search answers."""
    from archivio.search import Archive, QueryError
    from archivio.search.whoosh_sqlite import segcache
    from archivio.search.whoosh_sqlite.ranking import docsets

    records = tmp_path / "note.jsonl"
    body = "il sindaco di Genova e il porto di Genova"
    records.write_text("".join(json.dumps({"title": f"Nota {i}", "body": body}) + "\n" for i in range(300)))
    archive = Archive(data_dir=tmp_path / "data", index_dir=tmp_path / "index")
    assert archive.import_paths([records]).added == 300
    assert archive.search('"il porto di genova"').exact_total == 300
    segcache.clear_cache()
    archive.result_cache.clear()
    monkeypatch.setattr(docsets, "PHRASE_LIMIT", -1.0)
    with pytest.raises(QueryError, match="troppo comune per contarla"):
        archive.search('"il porto di genova"')
    assert archive.search("porto genova").exact_total == 300


def test_a_compiled_query_scores_any_later_set_of_documents_as_a_fresh_one(segmented_searcher):
    """top_partial scores bucket after bucket with one QueryScorer: a sloppy
    phrase's matcher, which only moves forward, starts again for a set of
    documents before the last one it was asked about."""
    s = segmented_searcher
    q = wq.AndMaybe(GradedOr(GROUPS), wq.Phrase("exact", ["sindaco", "genova"], slop=4))
    docs = np.array(members(DocSets(s).query(q)), dtype=np.int64)
    late, early = docs[len(docs) // 2 :], docs[: len(docs) // 2]
    reused = QueryScorer(s, q)
    for part in (late, early, docs):
        got, fresh = reused.scores(part), QueryScorer(s, q).scores(part)
        assert got[0].tolist() == fresh[0].tolist()
        assert got[1].tolist() == fresh[1].tolist()
