"""Reference search systems (SQLite FTS5, plain whoosh, tantivy) to benchmark Archivio against.

Each exposes build(records), add(records), search(query_text, filters, limit) -> [id],
close(), plus build_seconds and size_bytes() so the benchmark can report cost as well
as quality. Filters mean the same in all of them: the category equal after norm(),
the date within since/until (ISO dates, both inclusive), the author containing the
needle after norm(); a record without the field never passes its filter.
"""

from __future__ import annotations

import copy
import re
import sqlite3
import time
from collections.abc import Iterable
from datetime import date
from pathlib import Path

from unidecode import unidecode
from whoosh import index
from whoosh.analysis import StandardAnalyzer
from whoosh.fields import ID, TEXT, Schema
from whoosh.qparser import AndGroup, MultifieldParser, OrGroup
from whoosh.query import And, Or, Query, Term, TermRange

_WORD = re.compile(r"\w+")
# Same shape as whoosh's default tokenizer, so "3.5" survives as one term.
_WHOOSH_WORD = re.compile(r"\w+(?:\.\w+)*")


def norm(value: str | None) -> str:
    """Case- and accent-insensitive key used for category/author filters."""
    return unidecode(value).lower().strip() if value else ""


def body_text(rec: dict) -> str:
    # The subtitle is short and rare (268 records); folding it into the body
    # keeps both baselines to two weighted columns.
    return "\n".join(p for p in (rec.get("body"), rec.get("subtitle")) if p)


def _dir_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def _check_mode(mode: str) -> str:
    if mode not in ("any", "all"):
        raise ValueError(f"mode must be 'any' or 'all', not {mode!r}")
    return mode


class Fts5Baseline:
    """SQLite FTS5 with bm25 (title x3); filters live on a plain side table."""

    def __init__(self, path: str | Path, mode: str = "any") -> None:
        self.path = Path(path)
        self.mode = _check_mode(mode)
        self.build_seconds = 0.0
        self.conn = sqlite3.connect(self.path)

    def build(self, records: Iterable[dict]) -> None:
        start = time.perf_counter()
        with self.conn:  # one transaction for the whole load
            self.conn.execute(
                "CREATE TABLE docs (rowid INTEGER PRIMARY KEY, id TEXT UNIQUE,"
                " category TEXT, date TEXT, author TEXT)"
            )
            self.conn.execute(
                "CREATE VIRTUAL TABLE fts USING fts5(title, body, tokenize='unicode61 remove_diacritics 2')"
            )
            self._insert(records)
        self.build_seconds = time.perf_counter() - start

    def add(self, records: Iterable[dict]) -> None:
        """Appends records to a built index, in one transaction."""
        with self.conn:
            self._insert(records)

    def _insert(self, records: Iterable[dict]) -> None:
        first = self.conn.execute("SELECT coalesce(max(rowid), 0) FROM docs").fetchone()[0] + 1
        rows = list(enumerate(records, first))
        self.conn.executemany(
            "INSERT INTO docs VALUES (?, ?, ?, ?, ?)",
            [(i, r["id"], norm(r.get("category")), r.get("date"), norm(r.get("author"))) for i, r in rows],
        )
        self.conn.executemany(
            "INSERT INTO fts (rowid, title, body) VALUES (?, ?, ?)",
            [(i, r.get("title") or "", body_text(r)) for i, r in rows],
        )

    def match_expression(self, query_text: str) -> str:
        # Quoting every word makes FTS5 operators/syntax in user text inert.
        words = [f'"{w}"' for w in _WORD.findall(query_text)]
        return (" AND " if self.mode == "all" else " OR ").join(words)

    def search(self, query_text: str, filters: dict | None = None, limit: int = 10) -> list[str]:
        expr = self.match_expression(query_text)
        if not expr:
            return []
        sql = ["SELECT d.id FROM fts JOIN docs d ON d.rowid = fts.rowid WHERE fts MATCH ?"]
        args: list = [expr]
        filters = filters or {}
        if filters.get("category"):
            sql.append("AND d.category = ?")
            args.append(norm(filters["category"]))
        if filters.get("since"):
            sql.append("AND d.date >= ?")
            args.append(filters["since"])
        if filters.get("until"):
            sql.append("AND d.date <= ?")
            args.append(filters["until"])
        if filters.get("author"):
            # instr rather than LIKE, so % and _ in user text need no escaping.
            sql.append("AND instr(d.author, ?) > 0")
            args.append(norm(filters["author"]))
        sql.append("ORDER BY bm25(fts, 3.0, 1.0) LIMIT ?")
        args.append(limit)
        return [row[0] for row in self.conn.execute(" ".join(sql), args)]

    def size_bytes(self) -> int:
        files = self.path.parent.glob(self.path.name + "*")  # db plus any -wal/-journal
        return sum(f.stat().st_size for f in files if f.is_file())

    def close(self) -> None:
        self.conn.close()


class WhooshBaseline:
    """Out-of-the-box whoosh: StandardAnalyzer, default writer, BM25F."""

    def __init__(self, dirpath: str | Path, mode: str = "all") -> None:
        self.dirpath = Path(dirpath)
        self.mode = _check_mode(mode)
        self.build_seconds = 0.0
        self.schema = Schema(
            id=ID(stored=True, unique=True),
            title=TEXT(analyzer=StandardAnalyzer()),
            body=TEXT(analyzer=StandardAnalyzer()),
            category=ID,
            date=ID,  # ISO "YYYY-MM-DD" sorts lexically, so TermRange works
            author=ID,
        )
        group = AndGroup if self.mode == "all" else OrGroup
        self.parser = MultifieldParser(["title", "body"], self.schema, group=group)
        self.ix = None
        self.searcher = None

    def build(self, records: Iterable[dict]) -> None:
        start = time.perf_counter()
        self.dirpath.mkdir(parents=True, exist_ok=True)
        self.ix = index.create_in(str(self.dirpath), self.schema)
        self._write(records)
        self.build_seconds = time.perf_counter() - start
        self.searcher = self.ix.searcher()

    def add(self, records: Iterable[dict]) -> None:
        """Appends records to a built index: one commit, whoosh's default writer and merge policy."""
        self.ix = index.open_dir(str(self.dirpath))
        self._write(records)

    def _write(self, records: Iterable[dict]) -> None:
        writer = self.ix.writer()
        for r in records:
            doc = {"id": r["id"], "title": r.get("title") or "", "body": body_text(r)}
            # ID fields reject None, so absent values are simply left out.
            for field, value in (
                ("category", norm(r.get("category"))),
                ("date", r.get("date")),
                ("author", norm(r.get("author"))),
            ):
                if value:
                    doc[field] = value
            writer.add_document(**doc)
        writer.commit()

    def parse(self, query_text: str) -> Query | None:
        # Keep only word tokens: drops quotes, colons, brackets, wildcards; lowercasing
        # stops AND/OR/NOT in user text being read as operators.
        words = _WHOOSH_WORD.findall(query_text.lower())
        return self.parser.parse(" ".join(words)) if words else None

    def filter_query(self, filters: dict | None) -> Query | None:
        """Filter as a whoosh query; raises LookupError if no author can match."""
        filters = filters or {}
        parts: list[Query] = []
        if filters.get("category"):
            parts.append(Term("category", norm(filters["category"])))
        if filters.get("since") or filters.get("until"):
            parts.append(TermRange("date", filters.get("since"), filters.get("until")))
        if filters.get("author"):
            # "Contains" semantics: expand to every indexed author with the substring.
            needle = norm(filters["author"])
            names = [t.decode() for t in self.searcher.lexicon("author") if needle in t.decode()]
            if not names:
                raise LookupError(needle)
            parts.append(Or([Term("author", n) for n in names]))
        return And(parts) if parts else None

    def search(self, query_text: str, filters: dict | None = None, limit: int = 10) -> list[str]:
        q = self.parse(query_text)
        if q is None:
            return []
        try:
            flt = self.filter_query(filters)
        except LookupError:
            # Whoosh treats an empty compound filter as falsy, i.e. as *no* filter.
            return []
        return [hit["id"] for hit in self.searcher.search(q, filter=flt, limit=limit)]

    def size_bytes(self) -> int:
        return _dir_size(self.dirpath)

    def close(self) -> None:
        if self.searcher is not None:
            self.searcher.close()
        if self.ix is not None:
            self.ix.close()


# The Italian chain of TantivyBaseline. Stop words are removed before folding
# because tantivy's list is accented ("più", "perché", "sarà"): after folding
# they would no longer match it (the rule search.analysis follows too). Measured on
# dev-hard, the other order scores MRR@10 0.758 against 0.760: no matter either way.
TANTIVY_ITALIAN = "it_stem"


def tantivy_italian_analyzer():
    """Simple tokenizer, lowercase, Italian stop words, ASCII folding, Snowball Italian stemmer."""
    import tantivy

    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.stopword("italian"))
        .filter(tantivy.Filter.ascii_fold())
        .filter(tantivy.Filter.stemmer("italian"))
        .build()
    )


def _day(value: str) -> int:
    """The ISO date "2020-05-10" as 20200510, the integer the tantivy index keeps per record."""
    return int(date.fromisoformat(value[:10]).strftime("%Y%m%d"))


class TantivyBaseline:
    """tantivy (Rust, through its official Python bindings) with an Italian chain.

    BM25 over title (boost x3 by default, FTS5's weight) and body, any term:
    the query is never parsed by tantivy's query language; it is analyzed with
    the index's own chain and rebuilt as an OR of term queries, so quotes,
    colons, brackets, AND or * in user text are ordinary characters. Filters
    are Must clauses scoring 0. One searcher is kept open after the build:
    searches run in-process, warm.

    tantivy sums a BM25 per field, each with its own idf and saturation, where
    FTS5 weights the title's term frequency inside one BM25: the same x3 counts
    for much more here (with_title_boost(1.0) shares the index and tells how much).
    """

    def __init__(self, dirpath: str | Path, title_boost: float = 3.0) -> None:
        import tantivy  # the reference engine is optional: only this class needs it

        self._tantivy = tantivy
        self.dirpath = Path(dirpath)
        self.title_boost = title_boost
        self.build_seconds = 0.0
        self.analyzer = tantivy_italian_analyzer()
        builder = tantivy.SchemaBuilder()
        builder.add_text_field("id", stored=True, tokenizer_name="raw")
        builder.add_text_field("title", tokenizer_name=TANTIVY_ITALIAN)
        builder.add_text_field("body", tokenizer_name=TANTIVY_ITALIAN)
        builder.add_text_field("category", tokenizer_name="raw")
        builder.add_integer_field("day", indexed=True, fast=True)  # yyyymmdd
        builder.add_text_field("author", tokenizer_name="raw")
        self.schema = builder.build()
        self.index = None
        self.searcher = None
        self.authors: set[str] = set()

    def build(self, records: Iterable[dict]) -> None:
        start = time.perf_counter()
        self.dirpath.mkdir(parents=True, exist_ok=True)
        self.index = self._tantivy.Index(self.schema, path=str(self.dirpath), reuse=False)
        self.index.register_tokenizer(TANTIVY_ITALIAN, self.analyzer)
        self._write(records)
        self.build_seconds = time.perf_counter() - start

    def add(self, records: Iterable[dict]) -> None:
        """Appends records to a built (or opened) index: one commit, tantivy's default merge policy."""
        self._write(records)

    def open(self) -> TantivyBaseline:
        """The index built earlier in `dirpath` (another process), with a searcher."""
        self.index = self._tantivy.Index(self.schema, path=str(self.dirpath), reuse=True)
        self.index.register_tokenizer(TANTIVY_ITALIAN, self.analyzer)
        self.searcher = self.index.searcher()
        return self

    def _write(self, records: Iterable[dict]) -> None:
        # One indexing thread: documents keep the records' order, so equal scores
        # rank the same way in every run (several threads interleave them by chance).
        writer = self.index.writer(num_threads=1)
        for r in records:
            doc = self._tantivy.Document(id=r["id"], title=r.get("title") or "", body=body_text(r))
            # Absent values are left out, so no filter on that field can pass them.
            if norm(r.get("category")):
                doc.add_text("category", norm(r.get("category")))
            if r.get("date"):
                doc.add_integer("day", _day(r["date"]))
            if norm(r.get("author")):
                doc.add_text("author", norm(r.get("author")))
                self.authors.add(norm(r.get("author")))
            writer.add_document(doc)
        writer.commit()
        writer.wait_merging_threads()
        self.index.reload()
        self.searcher = self.index.searcher()

    def with_title_boost(self, boost: float) -> TantivyBaseline:
        """The same built index and searcher, searched with another title boost."""
        other = copy.copy(self)
        other.title_boost = boost
        return other

    def terms(self, query_text: str) -> list[str]:
        """The query's distinct terms through the index's Italian chain (stop words gone)."""
        return list(dict.fromkeys(self.analyzer.analyze(query_text)))

    def text_query(self, query_text: str):
        """OR of every term in title (x title_boost) and body; None when no term is left."""
        Query = self._tantivy.Query
        clauses = []
        for term in self.terms(query_text):
            title = Query.term_query(self.schema, "title", term)
            clauses.append(Query.boost_query(title, self.title_boost))
            clauses.append(Query.term_query(self.schema, "body", term))
        if not clauses:
            return None
        return Query.boolean_query([(self._tantivy.Occur.Should, c) for c in clauses])

    def filter_queries(self, filters: dict | None) -> list:
        """Filters as tantivy queries; raises LookupError if no author can match."""
        Query, filters = self._tantivy.Query, filters or {}
        parts = []
        if filters.get("category"):
            parts.append(Query.term_query(self.schema, "category", norm(filters["category"])))
        if filters.get("since") or filters.get("until"):
            parts.append(
                Query.range_query(
                    self.schema,
                    "day",
                    self._tantivy.FieldType.Integer,
                    _day(filters["since"]) if filters.get("since") else None,
                    _day(filters["until"]) if filters.get("until") else None,
                )
            )
        if filters.get("author"):
            # "Contains" semantics, as the other baselines: every indexed author with the substring.
            needle = norm(filters["author"])
            names = sorted(a for a in self.authors if needle in a)
            if not names:
                raise LookupError(needle)
            parts.append(Query.term_set_query(self.schema, "author", names))
        return [Query.const_score_query(p, 0.0) for p in parts]

    def search(self, query_text: str, filters: dict | None = None, limit: int = 10) -> list[str]:
        text = self.text_query(query_text)
        if text is None:
            return []
        try:
            parts = self.filter_queries(filters)
        except LookupError:
            return []
        Must = self._tantivy.Occur.Must
        query = self._tantivy.Query.boolean_query([(Must, text)] + [(Must, p) for p in parts])
        hits = self.searcher.search(query, limit=limit, count=False).hits
        return [self.searcher.doc(address)["id"][0] for _score, address in hits]

    def size_bytes(self) -> int:
        return _dir_size(self.dirpath)

    def close(self) -> None:
        self.searcher = None
        self.index = None
