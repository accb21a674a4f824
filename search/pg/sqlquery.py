"""The shared query builder's whoosh query trees as SQL over `articles`.

Text clauses become one `tsquery` where they can (so the GIN index answers
a whole AND or OR at once); keyword clauses (autore:, categoria:) become
column comparisons. Stems are lexemes of `tsv`, words as written (the
`exact` field) lexemes of `tsv_exact`, the unstemmed vector: both hold
the engine's own terms (search.pg.textprep). A quoted phrase of typed
words must hold those very words in that order: `<->` between the words
in `tsv_exact`, so "eroe civile" does not find "eroi civili". A clause
on `tsv_exact` is ranked on it too (its fields weighted as in `tsv`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from whoosh import query as wq

from ..analysis import normalize_key
from ..article import author_name
from ..filters import FILTER_KINDS, Filters
from ..queryparse import KEY_FIELDS, key_query
from .textprep import lexeme
from .vocabulary import VocabularyReader


@dataclass(frozen=True)
class Clause:
    """A boolean SQL expression over one `articles` row, and its tsquery when
    the clause is text only."""

    sql: str
    params: tuple
    ts: str | None = None
    # False: `sql` tests more than `column @@ ts`, and `ts` only ranks.
    pure: bool = True
    # The vector `ts` is for: `tsv` (stems) or `tsv_exact` (words as written).
    column: str = "tsv"
    # The tsquery `sql` tests, when it is `column @@ match` (None: `ts`):
    # `ts` without the title-only alternatives of a word it holds anyway.
    match: str | None = None
    # A combination of clauses: its SQL operator and the clauses (flattened
    # into a combination by the same operator).
    joiner: str | None = None
    parts: tuple[Clause, ...] = ()

    @property
    def mergeable(self) -> bool:
        """The clause is `column @@ ts` and nothing else: tsqueries can be combined."""
        return self.ts is not None and self.pure

    @property
    def matching(self) -> str | None:
        return self.match if self.match is not None else self.ts


NOTHING = Clause("FALSE", ())


def text_clause(ts: str, column: str = "tsv", match: str | None = None) -> Clause:
    """`column @@ match`, ranked by `ts` (match: `ts` itself when None)."""
    return Clause(f"{column} @@ %s::tsquery", (match or ts,), ts, column=column, match=match)


def all_of(clauses: list[Clause]) -> Clause | None:
    return _joined(clauses, " AND ", " & ")


def any_of(clauses: list[Clause]) -> Clause | None:
    return _joined(clauses, " OR ", " | ")


def _joined(clauses: list[Clause], operator: str, ts_operator: str) -> Clause | None:
    """The clauses joined by `operator`: one tsquery when all are plain text matches."""
    if not clauses:
        return None
    if len(clauses) == 1:
        return clauses[0]
    # (a OR b) OR c is a OR b OR c: its text parts can then merge.
    clauses = [part for c in clauses for part in (c.parts if c.joiner == operator else (c,))]
    columns = {c.column for c in clauses}
    if not all(c.mergeable for c in clauses) or len(columns) > 1:
        # The text matches on one vector as one tsquery, beside the others:
        # `stem | stem:A | exact word` is then two index scans, not three
        # clauses the planner chose to test on every row (2.4 s at 100k).
        merged: dict[str, list[Clause]] = {}
        for c in clauses:
            if c.mergeable:
                merged.setdefault(c.column, []).append(c)
        if any(len(same) > 1 for same in merged.values()):
            singles = [c for c in clauses if not c.mergeable]
            groups = [_joined(same, operator, ts_operator) for same in merged.values()]
            return _combined([g for g in groups if g is not None] + singles, operator, ts_operator)
        return _combined(clauses, operator, ts_operator)
    ts = ts_operator.join(f"({c.ts})" for c in clauses)
    matches = [c.matching for c in clauses]
    if ts_operator == " | ":
        # A word or the word in the title: the word. A weight in a tsquery
        # makes the GIN index (which has no weights) send every match to
        # be checked on its row, a vector read per match: a count of a
        # common word took 659 ms for 40k matches instead of 64 ms.
        plain = set(matches)
        matches = [m for m in matches if not (m.endswith(":A") and m[:-2] in plain)]  # type: ignore[union-attr]
    match = ts_operator.join(f"({m})" for m in dict.fromkeys(matches))
    return text_clause(ts, columns.pop(), match if match != ts else None)


def _combined(clauses: list[Clause], operator: str, ts_operator: str) -> Clause:
    """Clauses joined in SQL; their tsqueries joined too, for ranking: all of
    them when all are text on one vector, else those on the stems."""
    ranked = [c for c in clauses if c.ts]
    column = "tsv"
    if len(ranked) == len(clauses) and len({c.column for c in ranked}) == 1:
        column = ranked[0].column
    ranked = [c for c in ranked if c.column == column]
    ts = ts_operator.join(f"({c.ts})" for c in ranked) if ranked else None
    sql = operator.join(f"({c.sql})" for c in clauses)
    params = tuple(p for c in clauses for p in c.params)
    return Clause(sql, params, ts, pure=False, column=column, joiner=operator, parts=tuple(clauses))


def none_of(clause: Clause) -> Clause:
    if clause.mergeable:
        return text_clause(f"!({clause.ts})", clause.column, f"!({clause.matching})")
    return Clause(f"NOT coalesce(({clause.sql}), FALSE)", clause.params)


def compile_query(q: wq.Query) -> Clause | None:
    """The SQL of a rewritten query (None: it matches nothing to add)."""
    if isinstance(q, wq.Not):
        inner = compile_query(q.query)
        return none_of(inner) if inner is not None else None
    if isinstance(q, wq.AndNot):
        positive, negative = compile_query(q.a), compile_query(q.b)
        if positive is None:
            return None
        return all_of([positive, none_of(negative)]) if negative is not None else positive
    if isinstance(q, (wq.AndMaybe, wq.Otherwise)):  # the optional part only ranks
        return compile_query(q.a)
    if isinstance(q, wq.Require):
        return all_of([c for c in (compile_query(q.a), compile_query(q.b)) if c is not None])
    if isinstance(q, wq.And):
        return all_of([p for p in (compile_query(s) for s in q.subqueries) if p is not None])
    if isinstance(q, wq.CompoundQuery):  # Or, PreloadedOr, DisjunctionMax
        return any_of([p for p in (compile_query(s) for s in q.subqueries) if p is not None])
    if isinstance(q, wq.Term):
        return _term(q.fieldname, q.text)
    if isinstance(q, wq.Phrase):
        return _phrase(q)
    if q is wq.NullQuery:
        return None
    return NOTHING  # a query shape the builder never makes (ranges, wildcards left unexpanded)


def _term(fieldname: str, text: str | bytes) -> Clause | None:
    text = text.decode() if isinstance(text, bytes) else str(text)
    if fieldname in KEY_FIELDS:
        return Clause(f"{fieldname} = %s", (text,))
    if fieldname not in ("text", "title", "exact"):
        return NOTHING
    lex = lexeme(text)
    if lex is None:
        return None
    if fieldname == "exact":  # a word as written (stop words too)
        return text_clause(lex, "tsv_exact")
    return text_clause(f"{lex}:A" if fieldname == "title" else lex)


def _phrase(q: wq.Phrase) -> Clause | None:
    if q.fieldname not in ("exact", "title"):
        return all_of([c for c in (_term(q.fieldname, w) for w in q.words) if c is not None])
    lexemes = [lex for lex in (lexeme(w) for w in q.words) if lex is not None]
    if q.fieldname == "title":  # stems of the title, as their positions in `tsv`
        lexemes = [f"{lex}:A" for lex in lexemes]
    column = "tsv_exact" if q.fieldname == "exact" else "tsv"
    if not lexemes:
        return None
    if q.slop > 1:  # no word-distance window in tsquery: all the words
        return text_clause(" & ".join(lexemes), column)
    return text_clause(" <-> ".join(lexemes), column)


def _author_clause(filters: Filters, reader: VocabularyReader) -> Clause:
    return compile_query(key_query(reader, "author_key", author_name(filters.author))) or NOTHING


def _category_clause(filters: Filters, reader: VocabularyReader) -> Clause:
    return Clause("category_key = ANY(%s)", ([normalize_key(c) for c in filters.categories],))


def _dates_clause(filters: Filters, reader: VocabularyReader) -> Clause:
    dates = [Clause("date >= %s", (filters.since,))] if filters.since else []
    dates += [Clause("date <= %s", (filters.until,))] if filters.until else []
    return all_of(dates)  # type: ignore[return-value]


# Each filter of search.filters.FILTER_KINDS, by name, as SQL.
SQL_FILTERS: dict[str, Callable[[Filters, VocabularyReader], Clause]] = {
    "author": _author_clause,
    "category": _category_clause,
    "dates": _dates_clause,
}


def filter_clauses(filters: Filters, reader: VocabularyReader) -> dict[str, Clause]:
    """Each set filter, as SQL, by FilterKind name (as the whoosh engine's
    FilterParts), so that facets can leave one out."""
    return {
        kind.name: SQL_FILTERS[kind.name](filters, reader) for kind in FILTER_KINDS if kind.is_set(filters)
    }


def compile_filters(filters: Filters, reader: VocabularyReader) -> Clause | None:
    """The filters' SQL: author words, categories, date range."""
    return all_of(list(filter_clauses(filters, reader).values()))


def groups_of(q: wq.Query) -> list[wq.Query]:
    """The positive top-level parts of a strict query, each ranked on its own."""
    if isinstance(q, wq.AndNot):
        return groups_of(q.a)
    if isinstance(q, wq.AndMaybe) and _is_form_bonus(q.b):
        return [q]  # one word with its exact-form bonus (Ranking.exact_form_boost)
    if isinstance(q, (wq.AndMaybe, wq.Require)):
        return groups_of(q.a)
    if isinstance(q, wq.And):
        return [c for c in q.subqueries if not isinstance(c, wq.Not)]
    return [q]


def _is_form_bonus(q: wq.Query) -> bool:
    """The optional part the query builder gives a word: its form as typed."""
    return isinstance(q, wq.Term) and q.fieldname == "exact"


def lexemes_of(q: wq.Query) -> list[tuple[str, str]]:
    """The terms a positive clause looks for, as (field, term): stems of
    `text`, words of `exact` (for document frequencies)."""
    out: list[tuple[str, str]] = []
    for node in positive_nodes(q):
        if isinstance(node, wq.Term) and node.fieldname in ("text", "title", "exact"):
            term = node.text.decode() if isinstance(node.text, bytes) else node.text
            out.append(("exact" if node.fieldname == "exact" else "text", term))
        elif isinstance(node, wq.Phrase):
            out += [("exact" if node.fieldname == "exact" else "text", w) for w in node.words]
    return out


def positive_nodes(q: wq.Query) -> Iterator[wq.Query]:
    """`q` and its descendants, leaving out what a NOT excludes."""
    if isinstance(q, wq.Not):
        return
    yield q
    for child in q.children():
        yield from positive_nodes(child)


__all__ = ["Clause", "compile_filters", "compile_query", "groups_of", "lexemes_of"]
