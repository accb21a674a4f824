"""The canonical archive store: one SQLite database (WAL mode).

The store is the source of truth; the whoosh index is derived from it and
can always be rebuilt from it.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Iterator
from datetime import date
from pathlib import Path

from ..article import FIELDS, Article, author_key, author_name
from ..stories import Candidate, StoryRow, Wanted, assign_stories, band_keys
from ..upserts import ADDED, DUPLICATE, UNCHANGED, UPDATED, fingerprint, url_key

# 2: author_key is the byline's name alone (article.author_key), not the
# whole byline: a store of version 1 has its keys recomputed on opening.
# 3: story_bands holds each holder's date: an older table is rebuilt.
SCHEMA_VERSION = 3
# Characters of article text a streaming read holds at once. 500 rows of
# articles at the 1,000,000-character cap were 500 MB: the long-articles
# bomb's rebuild peaked at 840 MB with 512 such articles (bench/bombs.py).
READ_CHARS = 8_000_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS articles (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    subtitle TEXT,
    author TEXT,
    author_key TEXT NOT NULL DEFAULT '',
    date TEXT,
    category TEXT,
    category_key TEXT NOT NULL DEFAULT '',
    body TEXT NOT NULL,
    url TEXT,
    source TEXT,
    content_hash TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    url_key TEXT
);
CREATE INDEX IF NOT EXISTS articles_fingerprint ON articles(fingerprint);
CREATE INDEX IF NOT EXISTS articles_url_key ON articles(url_key);
CREATE INDEX IF NOT EXISTS articles_date ON articles(date);
CREATE INDEX IF NOT EXISTS articles_author_key ON articles(author_key);
CREATE INDEX IF NOT EXISTS articles_category_key ON articles(category_key);
CREATE TABLE IF NOT EXISTS stories (
    id TEXT PRIMARY KEY,
    story TEXT NOT NULL,
    signature BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS stories_story ON stories(story);
-- One B-tree, no rowid nor second index: ~45 bytes a band, 16 per article
-- (an article's bands are found again from its stored signature). The
-- holder's date ('' when undated) filters a key's holders by their days
-- without reading their articles (search.stories.StoryRow).
CREATE TABLE IF NOT EXISTS story_bands (
    key INTEGER NOT NULL,
    date TEXT NOT NULL,
    id TEXT NOT NULL,
    PRIMARY KEY (key, date, id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS archive_events (
    kind TEXT PRIMARY KEY,
    at REAL NOT NULL,
    times INTEGER NOT NULL
);
"""


# Version 3: the bands of version 2 with their holders' dates.
_DATED_BANDS = [
    """CREATE TABLE story_bands_dated (
           key INTEGER NOT NULL, date TEXT NOT NULL, id TEXT NOT NULL, PRIMARY KEY (key, date, id)
       ) WITHOUT ROWID""",
    """INSERT INTO story_bands_dated
           SELECT b.key, coalesce(a.date, ''), b.id FROM story_bands b JOIN articles a ON a.id = b.id
           ORDER BY 1, 2, 3""",
    "DROP TABLE story_bands",
    "ALTER TABLE story_bands_dated RENAME TO story_bands",
]


def _in_chunks(ids: list[str], size: int = 500) -> Iterator[tuple[list[str], str]]:
    """`ids` in chunks that fit SQLite's variable limit, each with its `?` marks."""
    for start in range(0, len(ids), size):
        chunk = ids[start : start + size]
        yield chunk, ",".join("?" * len(chunk))


class Store:
    """Articles by id, in SQLite. Not thread-safe: one Store per thread."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(_SCHEMA)
        # Setting it is a write: a reader opening its connection would wait
        # for an import's transaction to end (and fail on a read-only store).
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        if version != SCHEMA_VERSION:
            self._migrate(version)

    def _migrate(self, version: int) -> None:
        with self.transaction():
            if version == 1:
                self.db.create_function("author_key", 1, author_key, deterministic=True)
                self.db.execute("UPDATE articles SET author_key = author_key(author)")
            columns = {r[1] for r in self.db.execute("PRAGMA table_info(story_bands)")}
            if "date" not in columns:
                # One statement at a time: executescript would commit first.
                for statement in _DATED_BANDS:
                    self.db.execute(statement)
            self.db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    def close(self) -> None:
        self.db.close()

    # -- writing -----------------------------------------------------------

    def upsert_many(self, articles: Iterable[Article]) -> list[tuple[str, Article]]:
        """Adds or updates articles in one transaction, with their stories
        (search.stories); returns each status."""
        results = []
        with self.transaction():
            for article in articles:
                results.append((self._upsert(article), article))
            assign_stories(self, [a for status, a in results if status in (ADDED, UPDATED)])
        return results

    # -- stories (search.stories.StoryStore) ----------------------------------

    def story_candidates(self, wanted: list[Wanted], exclude: list[str]) -> list[tuple[int, Candidate]]:
        # CROSS JOIN keeps this order: a probe of the bands per wanted key (left
        # to choose, SQLite scanned every band per batch: quadratic in the archive).
        # The span is tested on the band's date, before any article is read.
        self.db.execute("CREATE TEMP TABLE IF NOT EXISTS wanted_spans (key INTEGER, first TEXT, last TEXT)")
        self.db.execute("CREATE TEMP TABLE IF NOT EXISTS batch_ids (id TEXT PRIMARY KEY)")
        self.db.execute("DELETE FROM wanted_spans")
        self.db.execute("DELETE FROM batch_ids")
        self.db.executemany(
            "INSERT INTO wanted_spans VALUES (?, ?, ?)",
            [(k, first and first.isoformat(), last and last.isoformat()) for k, first, last in wanted],
        )
        self.db.executemany("INSERT OR IGNORE INTO batch_ids VALUES (?)", [(i,) for i in exclude])
        rows = self.db.execute(
            """SELECT DISTINCT b.key, s.id, s.story, s.signature, a.date, a.source
               FROM wanted_spans w CROSS JOIN story_bands b ON b.key = w.key
               JOIN articles a ON a.id = b.id JOIN stories s ON s.id = b.id
               WHERE (w.first IS NULL OR b.date = '' OR b.date BETWEEN w.first AND w.last)
                 AND b.id NOT IN (SELECT id FROM batch_ids)
               ORDER BY b.key, b.id"""
        )
        return [
            (r[0], Candidate(r[1], r[2], r[3], date.fromisoformat(r[4]) if r[4] else None, r[5] or ""))
            for r in rows
        ]

    def save_stories(self, rows: list[StoryRow]) -> None:
        self._forget_bands([r.id for r in rows])
        self.db.executemany(
            "INSERT OR REPLACE INTO stories (id, story, signature) VALUES (?, ?, ?)",
            [(r.id, r.story, r.signature) for r in rows],
        )
        # In key order: one pass down the B-tree, not 8,000 random inserts (the
        # table outgrows SQLite's page cache: 1.25 ms an article at 20,000).
        bands = sorted((k, r.date.isoformat() if r.date else "", r.id) for r in rows for k in r.keys)
        self.db.executemany("INSERT INTO story_bands (key, date, id) VALUES (?, ?, ?)", bands)

    def _forget_bands(self, ids: list[str]) -> None:
        """Removes the band keys of these articles' stored signatures."""
        for chunk, marks in _in_chunks(ids):
            stored = self.db.execute(f"SELECT id, signature FROM stories WHERE id IN ({marks})", chunk)
            self.db.executemany(
                "DELETE FROM story_bands WHERE key = ? AND id = ?",
                [(key, article_id) for article_id, sig in stored.fetchall() for key in band_keys(sig)],
            )

    def assign_missing_stories(self) -> int:
        """Stories for the articles stored before story detection existed,
        oldest first (a rebuild calls it); returns how many."""
        done = 0
        while True:
            ids = [
                r[0]
                for r in self.db.execute(
                    """SELECT id FROM articles WHERE id NOT IN (SELECT id FROM stories)
                       ORDER BY date, id LIMIT 500"""
                )
            ]
            if not ids:
                return done
            found = self.get_many(ids)
            with self.transaction():
                assign_stories(self, [found[i] for i in ids])
            done += len(ids)

    def copy_counts(self, article_ids: list[str]) -> dict[str, int]:
        """For each of `article_ids` with copies, how many."""
        return {i: len(others) for i, others in self.story_members(article_ids).items()}

    def other_sources(self, article_ids: list[str]) -> dict[str, list[Article]]:
        """Each article's copies (the other articles of its story), oldest first."""
        members = self.story_members(article_ids)
        found = self.get_many([i for ids in members.values() for i in ids])
        return {a: [found[i] for i in ids if i in found] for a, ids in members.items()}

    def shared_stories(self) -> list[tuple[str, str]]:
        """(id, story) of every article whose story holds another one too."""
        return self.db.execute(
            """SELECT id, story FROM stories WHERE story IN
                   (SELECT story FROM stories GROUP BY story HAVING count(*) > 1)"""
        ).fetchall()

    def story_members(self, article_ids: list[str]) -> dict[str, list[str]]:
        """For each of `article_ids` with copies, the ids of the other
        articles of its story, oldest first."""
        if not article_ids:
            return {}
        marks = ",".join("?" * len(article_ids))
        rows = self.db.execute(
            f"""SELECT mine.id, other.id FROM stories mine
                JOIN stories other ON other.story = mine.story AND other.id != mine.id
                JOIN articles a ON a.id = other.id
                WHERE mine.id IN ({marks}) ORDER BY a.date, other.id""",
            article_ids,
        )
        members: dict[str, list[str]] = {}
        for mine, other in rows:
            members.setdefault(mine, []).append(other)
        return members

    def _upsert(self, article: Article) -> str:
        digest = article.content_hash()
        fp = fingerprint(article)
        ukey = url_key(article.url)
        row = self.db.execute("SELECT content_hash FROM articles WHERE id = ?", (article.id,)).fetchone()
        if row is None:
            twin = self.db.execute(
                "SELECT id FROM articles WHERE fingerprint = ? "
                "OR (url_key IS NOT NULL AND url_key = ?) LIMIT 1",
                (fp, ukey),
            ).fetchone()
            if twin is not None:
                article.id = twin["id"]
                return DUPLICATE
        elif row["content_hash"] == digest:
            return UNCHANGED
        self.db.execute(
            """INSERT OR REPLACE INTO articles
               (id, title, subtitle, author, author_key, date, category, category_key,
                body, url, source, content_hash, fingerprint, url_key)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            (
                article.id,
                article.title,
                article.subtitle,
                article.author,
                article.author_key,
                article.date.isoformat() if article.date else None,
                article.category,
                article.category_key,
                article.body,
                article.url,
                article.source,
                digest,
                fp,
                ukey,
            ),
        )
        return ADDED if row is None else UPDATED

    def delete(self, ids: Iterable[str]) -> list[str]:
        """Deletes articles; returns the ids that existed."""
        removed = []
        with self.transaction():
            for article_id in ids:
                cur = self.db.execute("DELETE FROM articles WHERE id = ?", (article_id,))
                if cur.rowcount:
                    removed.append(article_id)
                    # Its copies keep their story's name (the id of its first article).
                    self._forget_bands([article_id])
                    self.db.execute("DELETE FROM stories WHERE id = ?", (article_id,))
        return removed

    def transaction(self):
        return _Transaction(self.db)

    # -- reading -----------------------------------------------------------

    def get(self, article_id: str) -> Article | None:
        row = self.db.execute("SELECT * FROM articles WHERE id = ?", (article_id,)).fetchone()
        return _article(row) if row else None

    def get_many(self, ids: list[str]) -> dict[str, Article]:
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = self.db.execute(f"SELECT * FROM articles WHERE id IN ({marks})", ids)
        return {row["id"]: _article(row) for row in rows}

    def iter_all(self, batch: int = 500, chars: int = READ_CHARS) -> Iterator[Article]:
        """Streams every article in id order, a batch at a time (bounded
        memory): `batch` articles, or fewer once their text reaches `chars`."""
        last = ""
        while True:
            rows: list[sqlite3.Row] = []
            size = 0
            # Rows are stepped one at a time: the batch stops at the cap without
            # reading the rest of the LIMIT.
            cursor = self.db.execute("SELECT * FROM articles WHERE id > ? ORDER BY id LIMIT ?", (last, batch))
            for row in cursor:
                rows.append(row)
                size += len(row["body"] or "")
                if size >= chars:
                    break
            cursor.close()
            if not rows:
                return
            for row in rows:
                yield _article(row)
            last = rows[-1]["id"]

    def content_hashes(self, ids: list[str] | None = None) -> dict[str, str]:
        """{id: content hash} of these articles (None: all, in id order)."""
        if ids is None:
            return dict(self.db.execute("SELECT id, content_hash FROM articles ORDER BY id"))
        out: dict[str, str] = {}
        for chunk, marks in _in_chunks(ids):
            out.update(self.db.execute(f"SELECT id, content_hash FROM articles WHERE id IN ({marks})", chunk))
        return out

    def ids(self) -> set[str]:
        return {row[0] for row in self.db.execute("SELECT id FROM articles")}

    def count(self) -> int:
        return self.db.execute("SELECT count(*) FROM articles").fetchone()[0]

    def note_event(self, kind: str) -> None:
        """One more `kind` event (search.freshness), now."""
        self.db.execute(
            """INSERT INTO archive_events (kind, at, times) VALUES (?, ?, 1)
               ON CONFLICT(kind) DO UPDATE SET at = excluded.at, times = times + 1""",
            (kind, time.time()),
        )

    def events(self) -> dict[str, tuple[float, int]]:
        """kind -> (last time, how many times)."""
        return {r[0]: (r[1], r[2]) for r in self.db.execute("SELECT kind, at, times FROM archive_events")}

    def stats(self, top: int = 10) -> dict:
        db = self.db
        first, last = db.execute("SELECT min(date), max(date) FROM articles").fetchone()

        def top_values(column: str, key: str) -> list[dict]:
            rows = db.execute(
                f"""SELECT min({column}) AS value, count(*) AS n FROM articles
                    WHERE {key} != '' GROUP BY {key} ORDER BY n DESC, value LIMIT ?""",
                (top,),
            )
            shown = author_name if column == "author" else str
            return [{"value": shown(r["value"]), "count": r["n"]} for r in rows]

        return {
            "articles": self.count(),
            "first_date": first,
            "last_date": last,
            "authors": top_values("author", "author_key"),
            "categories": top_values("category", "category_key"),
            "sources": [
                {"value": r[0], "count": r[1]}
                for r in db.execute(
                    "SELECT source, count(*) n FROM articles WHERE source IS NOT NULL "
                    "GROUP BY source ORDER BY n DESC, source LIMIT ?",
                    (top,),
                )
            ],
        }

    def display_names(self, key_column: str, keys: list[str]) -> dict[str, str]:
        """Display value for each normalized key (author_key or category_key)."""
        column = {"author_key": "author", "category_key": "category"}[key_column]
        if not keys:
            return {}
        marks = ",".join("?" * len(keys))
        rows = self.db.execute(
            f"SELECT {key_column}, min({column}) FROM articles WHERE {key_column} IN ({marks}) "
            f"GROUP BY {key_column}",
            keys,
        )
        return {k: v for k, v in rows}

    def integrity_ok(self) -> bool:
        return self.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


class _Transaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.db.execute("COMMIT")
        elif self.db.in_transaction:
            # SQLITE_FULL (and a few other errors) already rolled it back:
            # a second ROLLBACK would raise over the real error.
            self.db.execute("ROLLBACK")


def _article(row: sqlite3.Row) -> Article:
    values = {name: row[name] for name in FIELDS}
    values["date"] = date.fromisoformat(values["date"]) if values["date"] else None
    return Article(**values)
