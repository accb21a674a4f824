"""Reference search systems (SQLite FTS5, plain whoosh) to benchmark Archivio against.

Both expose build(records), search(query_text, filters, limit) -> [id], close(),
plus build_seconds and size_bytes() so the benchmark can report cost as well as quality.
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Iterable
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
                "CREATE VIRTUAL TABLE fts USING fts5(title, body,"
                " tokenize='unicode61 remove_diacritics 2')"
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

    def search(
        self, query_text: str, filters: dict | None = None, limit: int = 10
    ) -> list[str]:
        expr = self.match_expression(query_text)
        if not expr:
            return []
        sql = [
            "SELECT d.id FROM fts JOIN docs d ON d.rowid = fts.rowid WHERE fts MATCH ?"
        ]
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
            names = [
                t.decode()
                for t in self.searcher.lexicon("author")
                if needle in t.decode()
            ]
            if not names:
                raise LookupError(needle)
            parts.append(Or([Term("author", n) for n in names]))
        return And(parts) if parts else None

    def search(
        self, query_text: str, filters: dict | None = None, limit: int = 10
    ) -> list[str]:
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
