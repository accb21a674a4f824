"""Autocomplete from the whoosh index and the SQLite store: the `Source`
that search.suggest's `assemble` reads (the vocabulary, sample texts, titles)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import numpy as np
from whoosh import query as wq
from whoosh.searching import Searcher

from ..analysis import STOPWORDS
from ..recency import NO_DATE, _dates
from ..suggest import (
    MAX_ADJACENCY_CHECKS,
    MAX_ADJACENCY_DOCS,
    MAX_CONTEXT_CHECKS,
    MAX_SCAN,
    MIN_TITLE_PREFIX,
    MIN_WORD_PREFIX,
    SPARSE_DATES,
    Completion,
    Suggestion,
    TitleHit,
    assemble,
)
from .ranking.docsets import members
from .ranking.phrases import term_positions
from .ranking.topk import docsets_for
from .store import Store


def suggest(searcher: Searcher, store: Store, prefix: str, limit: int = 8) -> list[Suggestion]:
    """Up to `limit` suggestions for the text typed so far (words, then titles)."""
    return assemble(prefix, limit, searcher.schema["exact"].analyzer, WhooshSource(searcher, store))


class WhooshSource:
    """Autocomplete sources from a whoosh searcher and the SQLite store."""

    def __init__(self, searcher: Searcher, store: Store) -> None:
        self.searcher = searcher
        self.reader = searcher.reader()
        self.store = store
        # Document sets as bitmaps (cached per segment, shared with searching).
        self.ds = docsets_for(searcher)

    def _analyze(self, fieldname: str, text: str) -> list[str]:
        """Words as the index's own analyzer for `fieldname` turns them into terms."""
        return [t.text for t in self.searcher.schema[fieldname].analyzer(text)]

    def completions(self, last: str, head: list[str], limit: int) -> list[Completion]:
        reader = self.reader
        found: list[tuple[int, str]] = []
        for n, term in enumerate(reader.expand_prefix("exact", last)):
            if n >= MAX_SCAN:
                break
            term = term.decode() if isinstance(term, bytes) else term
            if term == last or term in STOPWORDS or len(term) < MIN_WORD_PREFIX + 1:
                continue
            found.append((-reader.doc_frequency("exact", term), term))
        found.sort()
        if not head:
            return [Completion(term, -n) for n, term in found[:limit]]
        ds = self.ds
        together = ds.live
        for word in head:
            if word not in STOPWORDS:
                together &= ds.term("exact", word)
        before = ds.term("exact", head[-1]) & together
        # Whether a completion follows the word before it is read from word
        # positions (slow in whoosh's reader): the likeliest are read first,
        # those whose articles mostly hold that word too ("giuseppe con":
        # "conte" before the commoner "controllo"); the order shown is by
        # articles, as PostgreSQL's.
        candidates: list[tuple[int, str, int]] = []
        for n, term in found[:MAX_CONTEXT_CHECKS]:
            bits = ds.term("exact", term) & together
            if bits:
                candidates.append((-n, term, bits))
        ranked = sorted(candidates, key=lambda c: -((c[2] & before).bit_count() ** 2) / c[0])
        checks: list[tuple[str, list[int]]] = []
        budget = MAX_ADJACENCY_DOCS
        for _, term, bits in ranked:
            docs = members(bits & before)[: min(MAX_ADJACENCY_CHECKS, budget)]
            if docs:
                checks.append((term, docs))
                budget -= len(docs)
            if budget <= 0:
                break
        follows = {term for term, found in self._following(head[-1], checks, 1).items() if found}
        chosen = [Completion(term, docs, term in follows) for docs, term, _ in candidates]
        adjacent = [c for c in chosen if c.adjacent]
        return adjacent[:limit] if adjacent else chosen[:limit]

    def _following(self, prev: str, checks: list[tuple[str, list[int]]], want: int) -> dict[str, list[int]]:
        """For each (term, ascending documents) of `checks`: the first `want`
        of its documents where the term comes right after `prev`, read from
        the segments' cached position lists (search.scorer)."""
        out: dict[str, list[int]] = {}
        for term, docs in checks:
            found: list[int] = []
            for doc in docs:
                after = set(self._positions(prev, doc))
                if after and any(p - 1 in after for p in self._positions(term, doc)):
                    found.append(doc)
                    if len(found) >= want:
                        break
            out[term] = found
        return out

    def _positions(self, word: str, doc: int) -> list[int]:
        """The positions of `word` in document `doc` of the `exact` field."""
        for reader, offset in self.ds.leaves:
            if offset <= doc < offset + reader.doc_count_all():
                btext = word.encode("utf-8")
                ids, values = term_positions(reader, "exact", btext)
                i = int(np.searchsorted(ids, doc - offset))
                if i < len(ids) and ids[i] == doc - offset:
                    return reader.schema["exact"].format.decode_positions(values[i])
                return []
        return []

    def _docs(self, q: wq.Query) -> list[int]:
        """Live documents matching `q`, in order."""
        return members(self.ds.query(q))

    def doc_frequencies(self, words: Iterable[str]) -> dict[str, int]:
        return {w: self.reader.doc_frequency("exact", w) for w in words}

    def samples(self, phrases: list[tuple[str, ...]], per_phrase: int) -> dict[tuple[str, ...], list[str]]:
        ds = self.ds
        chosen: dict[tuple[str, ...], list[int]] = {}
        for phrase in phrases:
            bits = ds.live
            for word in phrase:
                bits &= ds.term("exact", word)
            docs = members(bits)
            if len(phrase) == 1:
                chosen[phrase] = docs[:per_phrase]
            elif len(phrase) == 2:
                checks = [(phrase[1], docs[:MAX_ADJACENCY_CHECKS])]
                chosen[phrase] = self._following(phrase[0], checks, per_phrase)[phrase[1]]
            else:
                q = wq.Phrase("exact", list(phrase))
                chosen[phrase] = [d for d in self.searcher.docs_for_query(q) if (bits >> d) & 1][:per_phrase]
        ids = {d: self.searcher.stored_fields(d)["id"] for docs in chosen.values() for d in docs}
        articles = self.store.get_many(sorted(set(ids.values())))
        return {
            phrase: [_full_text(articles[ids[d]]) for d in docs if ids[d] in articles]
            for phrase, docs in chosen.items()
        }

    def titles(self, head: list[str], terms: list[str], prefix: str, limit: int) -> list[TitleHit]:
        clauses: list[wq.Query] = [wq.Term("title", t) for t in self._analyze("title", " ".join(head))]
        alternatives: list[wq.Query] = []
        for term in terms:
            stems = self._analyze("title", term)
            if stems:
                alternatives.append(wq.Term("title", stems[0]))
        if not terms and len(prefix) >= MIN_TITLE_PREFIX:
            # A partial word is a prefix of its stem, or its stem is a prefix of it.
            prefixes = {prefix, *self._analyze("title", prefix)}
            alternatives.append(wq.Or([wq.Prefix("title", p) for p in sorted(prefixes)]))
        out: list[TitleHit] = []
        seen: set[str] = set()
        for alternative in alternatives or [None]:
            parts = clauses + ([alternative] if alternative is not None else [])
            if not parts:
                break
            for hit in self._newest(wq.And(parts) if len(parts) > 1 else parts[0], 2 * limit):
                if hit.title not in seen:
                    seen.add(hit.title)
                    out.append(hit)
            if len(out) >= limit:
                break
        return out[:limit]

    def _newest(self, q: wq.Query, limit: int) -> list[TitleHit]:
        """The first `limit` articles matching `q`, newest first, then by id
        (undated last), as PostgreSQL's ORDER BY date DESC NULLS LAST, id."""
        bits = self.ds.query(q)
        if bits.bit_count() <= SPARSE_DATES:
            values = _dates(self.searcher, members(bits))
        else:
            values = self._newest_dates(bits, limit)
        dated = sorted((v, d) for d, v in values.items() if v != NO_DATE)[::-1]
        keep = [d for _, d in dated]
        if len(dated) > limit:
            # Every article sharing the date of the last one kept: ties are cut by id below.
            cut = dated[limit - 1][0]
            keep = [d for v, d in dated if v >= cut]
        if len(keep) < limit:
            keep += sorted(d for d, v in values.items() if v == NO_DATE)
        ids = {d: self.searcher.stored_fields(d)["id"] for d in keep}
        articles = self.store.get_many(list(ids.values()))
        found = [articles[ids[d]] for d in keep if ids[d] in articles]
        hits = [TitleHit(a.id, a.title, a.date) for a in found]
        hits.sort(key=lambda h: (*_newest_first(h.date), h.article_id))
        return hits[:limit]

    def _newest_dates(self, bits: int, limit: int) -> dict[int, int]:
        """Date column values of the newest `limit` documents of a large set
        in each segment (with those sharing the last one's date), walking the
        segment's documents sorted by date (search.docsets, cached); and of
        the undated ones."""
        out: dict[int, int] = {}
        for reader, offset in self.ds.leaves:
            n = reader.doc_count_all()
            local = (bits >> offset) & ((1 << n) - 1)
            if not local:
                continue
            if not reader.has_column("date"):
                out.update((offset + d, NO_DATE) for d in members(local))
                continue
            values, order, present = self.ds._sorted_column(reader, "date")
            out.update((offset + d, NO_DATE) for d in members(local & ~present))
            local &= present
            taken = 0
            for k in range(len(order) - 1, -1, -1):
                if taken >= limit and values[k] != values[k + 1]:
                    break
                d = order[k]
                if (local >> d) & 1:
                    out[offset + d] = values[k]
                    taken += 1
        return out


def _newest_first(day: date | None) -> tuple[bool, int]:
    """Sort key: newest first, undated last."""
    return day is None, -(day or date.min).toordinal()


def _full_text(article) -> str:  # noqa: ANN001 - an Article
    return "\n".join(p for p in (article.title, article.subtitle, article.body) if p)
