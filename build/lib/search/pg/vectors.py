"""The PostgreSQL archive's article vectors (the semantic extra, search.semantic).

They live beside the articles, in `article_vectors` (migration 4): an
article's id, the content hash of the text it was embedded from, the
model, and the vector as float32 bytes (as in the whoosh backend's
vectors file). A vector counts only while its digest is the article's
content hash, so an updated article is embedded again and never ranked by
its old text; a removed article takes its vector with it (ON DELETE
CASCADE); a rebuild, which re-derives only the search columns, leaves them
alone. Any row means the extra is on: `archivio embed` fills the table,
`archivio embed --drop` empties it.

search.semantic imports numpy, which importing search.pg must not load
(tests/test_architecture.py): it is imported here inside the functions
that run the model or read vectors, never at module level.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import psycopg
from psycopg.rows import dict_row

from ..article import Article
from .connection import Database
from .store import COLUMNS, article_from_row

if TYPE_CHECKING:
    import numpy as np

    from ..semantic import Embedder

Rerank = Callable[[str, list[tuple[str, float]]], list[tuple[str, float]]]
# search.semantic.RERANK_DEPTH, which search.pg cannot import at load time
# (search.semantic loads numpy); tests/test_semantic.py checks they agree.
RERANK_DEPTH = 30

# The vectors still current: embedded from the text the article has now.
_CURRENT = "article_vectors v JOIN articles a ON a.id = v.id AND a.content_hash = v.digest"
# Articles read at once to be embedded (search.whoosh_sqlite.semantic reads as many).
READ_BATCH = 256


def enabled(conn: psycopg.Connection) -> bool:
    """Whether the archive has vectors: the extra is on."""
    return conn.execute("SELECT EXISTS (SELECT 1 FROM article_vectors)").fetchone()[0]


def embedded_count(conn: psycopg.Connection) -> int | None:
    """Articles with a current vector (None: no vectors, the extra is off)."""
    current, every = conn.execute(
        "SELECT count(*) FILTER (WHERE v.digest = a.content_hash), count(*) "
        "FROM article_vectors v JOIN articles a ON a.id = v.id"
    ).fetchone()
    return current if every else None


def drop(conn: psycopg.Connection) -> bool:
    """Removes every vector (the caller holds the writer lock); whether there were any.
    TRUNCATE gives the space back at once (a DELETE would leave it to vacuum)."""
    with conn.transaction():
        if not enabled(conn):
            return False
        conn.execute("TRUNCATE article_vectors")
    return True


def embed(
    db: Database,
    lock_timeout: float,
    progress: Callable[[int], None] | None = None,
    total: Callable[[int], None] | None = None,
) -> int:
    """`archivio embed`: every article without a current vector embedded, the
    model running outside the writer lock and each batch written under it,
    in its own transaction (search.semantic.embedding.embed_into); returns
    how many. Raises SemanticUnavailable when the extra is not installed."""
    from ..semantic import load_embedder
    from ..semantic.embedding import embed_into

    return embed_into(Sink(db, lock_timeout), load_embedder(), progress, total)


def embed_new(db: Database, conn: psycopg.Connection) -> int:
    """After an import or a rebuild (whose writer lock `conn` holds): the new
    and changed articles embedded, when the extra is on and installed."""
    if not enabled(conn):
        return 0
    from ..semantic import load_embedder
    from ..semantic.embedding import embed_into
    from ..semantic.model import installed

    if not installed():
        return 0
    return embed_into(Sink(db, 0.0, held=conn), load_embedder())


class Sink:
    """`article_vectors` as search.semantic.embedding.VectorSink: each
    `locked()` block takes the writer lock on a connection of its own, or
    runs on `held`, a connection of a writer that holds it already."""

    def __init__(self, db: Database, lock_timeout: float, held: psycopg.Connection | None = None) -> None:
        self.db, self.lock_timeout, self.held = db, lock_timeout, held
        self._conn: psycopg.Connection | None = held
        self._model = ""
        # Whether the table had rows when last seen: empty afterwards means dropped.
        self._on = False

    @contextmanager
    def locked(self) -> Iterator[psycopg.Connection]:
        if self.held is not None:
            yield self.held
            return
        with self.db.writing(self.lock_timeout) as conn:
            self._conn = conn
            try:
                yield conn
            finally:
                self._conn = None

    def _locked_conn(self) -> psycopg.Connection:
        assert self._conn is not None, "called outside locked()"
        return self._conn

    def open(self, embedder: Embedder) -> str:
        conn = self._locked_conn()
        self._model = embedder.name
        self._on = enabled(conn)
        other = conn.execute(
            "SELECT model FROM article_vectors WHERE model <> %s LIMIT 1", (embedder.name,)
        ).fetchone()
        return other[0] if other else embedder.name

    def todo(self) -> list[str]:
        rows = self._locked_conn().execute(
            "SELECT a.id FROM articles a "
            "LEFT JOIN article_vectors v ON v.id = a.id AND v.digest = a.content_hash "
            "WHERE v.id IS NULL ORDER BY a.id"
        )
        return [row[0] for row in rows]

    def articles(self, ids: list[str]) -> Iterator[tuple[Article, str]]:
        """Read a chunk at a time, each with its content hash in the same
        statement, on the primary (a replica may lag); no connection is held
        while the model runs."""
        for start in range(0, len(ids), READ_BATCH):
            chunk = ids[start : start + READ_BATCH]
            with self._reading() as conn, conn.cursor(row_factory=dict_row) as cur:
                rows = cur.execute(
                    f"SELECT {COLUMNS}, content_hash FROM articles WHERE id = ANY(%s)", (chunk,)
                ).fetchall()
            found = {row["id"]: (article_from_row(row), row["content_hash"]) for row in rows}
            for i in chunk:
                if i in found:
                    yield found[i]

    @contextmanager
    def _reading(self) -> Iterator[psycopg.Connection]:
        if self.held is not None:
            yield self.held
        else:
            with self.db.primary.connection() as conn:
                yield conn

    def put(self, rows: list[tuple[str, str, np.ndarray]]) -> bool:
        """One transaction; the vectors of articles removed meanwhile are left out."""
        conn = self._locked_conn()
        with conn.transaction():
            if self._on and not enabled(conn):
                return False
            cur = conn.execute(
                """INSERT INTO article_vectors (id, digest, model, vec)
                   SELECT v.id, v.digest, %s, v.vec
                   FROM unnest(%s::text[], %s::text[], %s::bytea[]) AS v (id, digest, vec)
                   JOIN articles a ON a.id = v.id
                   ON CONFLICT (id) DO UPDATE
                   SET digest = EXCLUDED.digest, model = EXCLUDED.model, vec = EXCLUDED.vec""",
                (
                    self._model,
                    [i for i, _, _ in rows],
                    [d for _, d, _ in rows],
                    [v.astype("<f4").tobytes() for _, _, v in rows],
                ),
            )
            self._on = self._on or cur.rowcount > 0
        return True


def reranker(conn: psycopg.Connection, weight: float) -> Rerank | None:
    """What re-ranks a fallback's first candidates by meaning, reading on
    `conn` (a search's snapshot); None when the weight is 0. Without
    current vectors for them (the extra off) or without the extra installed
    it gives the candidates back as they are, having loaded nothing."""
    if weight <= 0:
        return None

    def rerank(text: str, ranked: list[tuple[str, float]]) -> list[tuple[str, float]]:
        try:
            with conn.transaction():  # a savepoint: a failed read costs the re-ranking, never the search
                rows = conn.execute(
                    f"SELECT v.id, v.model, v.vec FROM {_CURRENT} WHERE v.id = ANY(%s)",
                    ([key for key, _ in ranked],),
                ).fetchall()
        except psycopg.Error:
            return ranked
        if len(rows) < 2:
            return ranked
        from ..semantic import SemanticUnavailable, load_embedder, rerank_by_meaning
        from ..semantic.model import installed

        if not installed():
            return ranked
        try:
            embedder = load_embedder()
        except SemanticUnavailable:
            return ranked
        import numpy as np

        vectors = {
            key: np.frombuffer(vec, dtype="<f4")
            for key, model, vec in rows
            if model == embedder.name and len(vec) == 4 * embedder.dim
        }
        return rerank_by_meaning(text, ranked, embedder, lambda _ids: vectors, weight)

    return rerank
