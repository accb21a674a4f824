"""The `articles` table: the canonical store of the PostgreSQL backend.

Same statuses as the SQLite store (added, updated, unchanged, duplicate:
same url, or same title, date and body), decided a batch at a time. Writing
an article also writes its search vector and its vocabulary counts, in the
caller's transaction: a search never sees half an article.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import psycopg
from psycopg.rows import dict_row

from ..analysis import ANALYSIS_VERSION
from ..article import FIELDS, Article
from ..stories import Candidate, StoryRow, Wanted, assign_stories
from ..upserts import ADDED, DUPLICATE, UNCHANGED, UPDATED, fingerprint, url_key
from .textprep import EXACT_TSV_SQL, TSV_SQL, terms, vector_params

COLUMNS = ", ".join(FIELDS)
# Characters of article text a streaming read holds at once (search.whoosh_sqlite.store.READ_CHARS).
READ_CHARS = 8_000_000

_UPSERT = f"""
INSERT INTO articles (id, title, subtitle, author, author_key, date, category, category_key,
                      body, url, source, content_hash, fingerprint, url_key, tsv, tsv_exact, analysis)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s,
        CASE WHEN %s THEN {TSV_SQL} END, CASE WHEN %s THEN {EXACT_TSV_SQL} END,
        CASE WHEN %s THEN {ANALYSIS_VERSION} END)
ON CONFLICT (id) DO UPDATE SET
    title = EXCLUDED.title, subtitle = EXCLUDED.subtitle, author = EXCLUDED.author,
    author_key = EXCLUDED.author_key, date = EXCLUDED.date, category = EXCLUDED.category,
    category_key = EXCLUDED.category_key, body = EXCLUDED.body, url = EXCLUDED.url,
    source = EXCLUDED.source, content_hash = EXCLUDED.content_hash,
    fingerprint = EXCLUDED.fingerprint, url_key = EXCLUDED.url_key, tsv = EXCLUDED.tsv,
    tsv_exact = EXCLUDED.tsv_exact, analysis = EXCLUDED.analysis
"""


def article_from_row(row: dict) -> Article:
    return Article(**{name: row[name] for name in FIELDS})


def upsert_many(conn: psycopg.Connection, articles: list[Article], index: bool) -> list[tuple[str, Article]]:
    """Adds or updates `articles` (in the caller's transaction); each one's status.

    With `index`, the search vector and the vocabulary follow; without, the
    article waits (tsv NULL) for `rebuild` or the next indexed import.
    """
    ids = list(dict.fromkeys(a.id for a in articles))
    existing = {
        row[0]: (row[1], row[2])
        for row in conn.execute(
            "SELECT id, content_hash, tsv IS NOT NULL FROM articles WHERE id = ANY(%s)", (ids,)
        )
    }
    prints = [fingerprint(a) for a in articles]
    ukeys = [url_key(a.url) for a in articles]
    by_print: dict[str, str] = {}
    by_url: dict[str, str] = {}
    for row in conn.execute(
        "SELECT id, fingerprint, url_key FROM articles WHERE fingerprint = ANY(%s) OR url_key = ANY(%s)",
        (prints, [u for u in ukeys if u]),
    ):
        by_print.setdefault(row[1], row[0])
        if row[2]:
            by_url.setdefault(row[2], row[0])
    results: list[tuple[str, Article]] = []
    rows: list[tuple] = []
    replaced: list[str] = []  # indexed articles whose stored terms leave the vocabulary
    added_terms: Counter = Counter()
    batch_terms: dict[str, set] = {}  # the terms each id adds in this batch
    for article, fp, ukey in zip(articles, prints, ukeys, strict=True):
        digest = article.content_hash()
        known = existing.get(article.id)
        if known is None:
            twin = by_print.get(fp) or (by_url.get(ukey) if ukey else None)
            if twin is not None:
                article.id = twin
                results.append((DUPLICATE, article))
                continue
        elif known[0] == digest:
            results.append((UNCHANGED, article))
            continue
        if article.id in batch_terms:
            # The same id again in this batch: its earlier version here is replaced.
            added_terms.subtract(batch_terms.pop(article.id))
        elif known is not None and known[1]:
            replaced.append(article.id)
        existing[article.id] = (digest, index)
        by_print.setdefault(fp, article.id)
        if ukey:
            by_url.setdefault(ukey, article.id)
        if index:
            batch_terms[article.id] = terms(article)
            added_terms.update(batch_terms[article.id])
        results.append((ADDED if known is None else UPDATED, article))
        rows.append(_row(article, digest, fp, ukey, index))
    if replaced:
        removed_terms = Counter()
        for old in get_many(conn, replaced).values():
            removed_terms.update(terms(old))
        added_terms.subtract(removed_terms)
    if rows:
        with conn.cursor() as cur:
            cur.executemany(_UPSERT, rows)
        assign_stories(StoryRows(conn), [a for status, a in results if status in (ADDED, UPDATED)])
    apply_vocabulary(conn, added_terms)
    return results


class StoryRows:
    """search.stories.StoryStore on one connection (inside the import's transaction)."""

    def __init__(self, conn: psycopg.Connection) -> None:
        self.conn = conn

    def story_candidates(self, wanted: list[Wanted], exclude: list[str]) -> list[tuple[int, Candidate]]:
        rows = self.conn.execute(
            """SELECT DISTINCT b.key, s.id COLLATE "C", s.story, s.signature, a.date, a.source
               FROM unnest(%s::bigint[], %s::date[], %s::date[]) AS w (key, first, last)
               JOIN story_bands b ON b.key = w.key
               JOIN stories s ON s.id = b.id JOIN articles a ON a.id = b.id
               WHERE (w.first IS NULL OR b.date IS NULL OR b.date BETWEEN w.first AND w.last)
                 AND NOT (b.id = ANY(%s))
               ORDER BY 1, 2""",
            ([k for k, _, _ in wanted], [f for _, f, _ in wanted], [t for _, _, t in wanted], exclude),
        )
        return [(r[0], Candidate(r[1], r[2], bytes(r[3]), r[4], r[5] or "")) for r in rows]

    def save_stories(self, rows: list[StoryRow]) -> None:
        with self.conn.cursor() as cur:
            cur.execute("DELETE FROM story_bands WHERE id = ANY(%s)", ([r.id for r in rows],))
            cur.executemany(
                """INSERT INTO stories (id, story, signature) VALUES (%s, %s, %s)
                   ON CONFLICT (id) DO UPDATE SET story = EXCLUDED.story, signature = EXCLUDED.signature""",
                [(r.id, r.story, r.signature) for r in rows],
            )
            bands = [(k, r.date, r.id) for r in rows for k in r.keys]
            cur.execute(
                """INSERT INTO story_bands (key, date, id)
                   SELECT * FROM unnest(%s::bigint[], %s::date[], %s::text[])""",
                ([b[0] for b in bands], [b[1] for b in bands], [b[2] for b in bands]),
            )


def assign_missing_stories(conn: psycopg.Connection) -> int:
    """Stories for the articles stored before story detection existed,
    oldest first, a transaction per 500; returns how many."""
    done = 0
    while True:
        ids = [
            r[0]
            for r in conn.execute(
                """SELECT id FROM articles a WHERE NOT EXISTS (SELECT 1 FROM stories s WHERE s.id = a.id)
                   ORDER BY date NULLS FIRST, id LIMIT 500"""
            )
        ]
        if not ids:
            return done
        found = get_many(conn, ids)
        with conn.transaction():
            assign_stories(StoryRows(conn), [found[i] for i in ids if i in found])
        done += len(ids)


def copy_counts(conn: psycopg.Connection, article_ids: list[str]) -> dict[str, int]:
    """For each of `article_ids` with copies, how many."""
    return {i: len(others) for i, others in story_members(conn, article_ids).items()}


def other_sources(conn: psycopg.Connection, article_ids: list[str]) -> dict[str, list[Article]]:
    """Each article's copies (the other articles of its story), oldest first."""
    members = story_members(conn, article_ids)
    found = get_many(conn, [i for ids in members.values() for i in ids])
    return {a: [found[i] for i in ids if i in found] for a, ids in members.items()}


def story_members(conn: psycopg.Connection, article_ids: list[str]) -> dict[str, list[str]]:
    """As search.whoosh_sqlite.store.Store.story_members."""
    members: dict[str, list[str]] = {}
    rows = conn.execute(
        """SELECT mine.id, other.id FROM stories mine
           JOIN stories other ON other.story = mine.story AND other.id != mine.id
           JOIN articles a ON a.id = other.id
           WHERE mine.id = ANY(%s) ORDER BY a.date NULLS FIRST, other.id COLLATE "C"
        """,
        (article_ids,),
    )
    for mine, other in rows:
        members.setdefault(mine, []).append(other)
    return members


def _row(article: Article, digest: str, fp: str, ukey: str | None, index: bool) -> tuple:
    title, subtitle, body, *exact = vector_params(article) if index else ("",) * 6
    return (
        article.id,
        article.title,
        article.subtitle,
        article.author,
        article.author_key,
        article.date,
        article.category,
        article.category_key,
        article.body,
        article.url,
        article.source,
        digest,
        fp,
        ukey,
        index,
        title,
        subtitle,
        body,
        index,
        *exact,
        index,
    )


# textprep.AVERAGE_LENGTHS, from the lengths PostgreSQL keeps (migration 8).
_AVERAGE_LENGTHS_SQL = """
WITH a AS (SELECT avg(tsv_length) AS tsv, avg(tsv_exact_length) AS tsv_exact
           FROM articles WHERE tsv IS NOT NULL)
INSERT INTO vocabulary (kind, term, ndoc)
SELECT 'n', 'tsv', round(tsv)::integer FROM a WHERE tsv IS NOT NULL
UNION ALL
SELECT 'n', 'tsv_exact', round(tsv_exact)::integer FROM a WHERE tsv_exact IS NOT NULL
"""


def refresh_average_lengths(conn: psycopg.Connection) -> None:
    """Recounts the mean vector lengths; none when no article is indexed.
    A scan of every row (67-93 ms at 100k articles): once per import,
    removal or rebuild that changed the index, not per batch (at 1M, per
    batch would add ~20 minutes to an import); between an import's batches
    ranking reads the means from before it."""
    conn.execute("DELETE FROM vocabulary WHERE (kind, term) IN (('n', 'tsv'), ('n', 'tsv_exact'))")
    conn.execute(_AVERAGE_LENGTHS_SQL)


# The rows facet_counts holds (migration 9), counted from the articles.
_FACETS_DERIVED = (
    "SELECT author_key, author, category_key, category, date, count(*)::int FROM articles "
    "WHERE tsv IS NOT NULL GROUP BY 1, 2, 3, 4, 5"
)


def facet_rows_off(conn: psycopg.Connection) -> int:
    """How many rows of facet_counts differ from the counts of the indexed
    articles, either way (0: in step; its triggers keep it so, unless they
    were disabled or the table written by hand). ~0.3 s at 100k articles."""
    sql = (
        f"SELECT count(*) FROM (({_FACETS_DERIVED} EXCEPT ALL SELECT * FROM facet_counts) "
        f"UNION ALL (SELECT * FROM facet_counts EXCEPT ALL {_FACETS_DERIVED})) AS off"
    )
    return int(conn.execute(sql).fetchone()[0])


def recount_facets(conn: psycopg.Connection) -> None:
    """facet_counts counted anew from the articles (a rebuild ends so)."""
    conn.execute("DELETE FROM facet_counts")
    conn.execute(f"INSERT INTO facet_counts {_FACETS_DERIVED}")


def apply_vocabulary(conn: psycopg.Connection, delta: Counter) -> None:
    """Adds document-count changes to the vocabulary; drops terms left at zero."""
    changes = sorted((k, t, n) for (k, t), n in delta.items() if n)
    if not changes:
        return
    kinds, words, counts = (list(c) for c in zip(*changes, strict=True))
    conn.execute(
        """INSERT INTO vocabulary (kind, term, ndoc)
           SELECT * FROM unnest(%s::char[], %s::text[], %s::int[])
           ON CONFLICT (kind, term) DO UPDATE SET ndoc = vocabulary.ndoc + EXCLUDED.ndoc""",
        (kinds, words, counts),
    )
    if any(n < 0 for n in counts):
        conn.execute("DELETE FROM vocabulary WHERE ndoc <= 0")


def delete(conn: psycopg.Connection, ids: list[str]) -> list[str]:
    """Deletes articles and their vocabulary counts; returns the ids that existed."""
    found = get_many(conn, ids, indexed_only=True)
    removed_terms: Counter = Counter()
    for article in found.values():
        removed_terms.update(terms(article))
    gone = {row[0] for row in conn.execute("DELETE FROM articles WHERE id = ANY(%s) RETURNING id", (ids,))}
    apply_vocabulary(conn, Counter({k: -n for k, n in removed_terms.items()}))
    return [i for i in dict.fromkeys(ids) if i in gone]


def get(conn: psycopg.Connection, article_id: str) -> Article | None:
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(f"SELECT {COLUMNS} FROM articles WHERE id = %s", (article_id,)).fetchone()
    return article_from_row(row) if row else None


def get_many(conn: psycopg.Connection, ids: list[str], indexed_only: bool = False) -> dict[str, Article]:
    if not ids:
        return {}
    where = " AND tsv IS NOT NULL" if indexed_only else ""
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(f"SELECT {COLUMNS} FROM articles WHERE id = ANY(%s){where}", (list(ids),))
        return {row["id"]: article_from_row(row) for row in rows}


def iter_all(
    conn: psycopg.Connection, batch: int = 500, where: str = "TRUE", chars: int = READ_CHARS
) -> Iterator[Article]:
    """Every article (matching `where`) in id order, a batch at a time (keyset
    paging): `batch` articles, or fewer once their text reaches `chars` (the
    server cuts the batch, so the client never receives more)."""
    last = ""
    while True:
        with conn.cursor(row_factory=dict_row) as cur:
            rows = cur.execute(
                f"""SELECT {COLUMNS} FROM (
                        SELECT *, sum(own) OVER (ORDER BY id) AS upto FROM (
                            SELECT {COLUMNS}, coalesce(length(body), 0) AS own FROM articles
                            WHERE id > %s AND ({where}) ORDER BY id LIMIT %s
                        ) AS page
                    ) AS sized
                    WHERE upto - own < %s ORDER BY id""",
                (last, batch, chars),
            ).fetchall()
        if not rows:
            return
        for row in rows:
            yield article_from_row(row)
        last = rows[-1]["id"]


def count(conn: psycopg.Connection, where: str = "TRUE") -> int:
    return conn.execute(f"SELECT count(*) FROM articles WHERE {where}").fetchone()[0]


def stats(conn: psycopg.Connection, top: int = 10) -> dict:
    """The same figures as search.whoosh_sqlite.store.Store.stats."""
    first, last, total = conn.execute("SELECT min(date), max(date), count(*) FROM articles").fetchone()

    def top_values(column: str, key: str) -> list[dict]:
        rows = conn.execute(
            f"""SELECT min({column} COLLATE "C") AS value, count(*) AS n FROM articles
                WHERE {key} != '' GROUP BY {key} ORDER BY n DESC, value LIMIT %s""",
            (top,),
        )
        return [{"value": r[0], "count": r[1]} for r in rows]

    sources = conn.execute(
        "SELECT source, count(*) n FROM articles WHERE source IS NOT NULL "
        'GROUP BY source ORDER BY n DESC, source COLLATE "C" LIMIT %s',
        (top,),
    )
    return {
        "articles": total,
        "first_date": first.isoformat() if first else None,
        "last_date": last.isoformat() if last else None,
        "authors": top_values("author", "author_key"),
        "categories": top_values("category", "category_key"),
        "sources": [{"value": r[0], "count": r[1]} for r in sources],
    }


def ids(conn: psycopg.Connection, where: str = "TRUE") -> set[str]:
    return {row[0] for row in conn.execute(f"SELECT id FROM articles WHERE {where}")}


def note_event(conn: psycopg.Connection, kind: str) -> None:
    """One more `kind` event (search.freshness), now."""
    conn.execute(
        """INSERT INTO archive_events (kind, at, times) VALUES (%s, extract(epoch FROM clock_timestamp()), 1)
           ON CONFLICT (kind) DO UPDATE SET at = EXCLUDED.at, times = archive_events.times + 1""",
        (kind,),
    )


def events(conn: psycopg.Connection) -> dict[str, tuple[float, int]]:
    """kind -> (last time, how many times)."""
    rows = conn.execute("SELECT kind, at, times FROM archive_events")
    return {kind: (float(at), int(times)) for kind, at, times in rows}
