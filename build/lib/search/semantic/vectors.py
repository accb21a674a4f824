"""A generation's article vectors: one SQLite file beside the whoosh index.

Rows are (article id, content hash, float32 vector): a vector counts only
while the article still has that content, so an updated article is
embedded again and never ranked by its old text. The file lives in the
index generation it belongs to, so a rebuild switches index and vectors
together (search.whoosh_sqlite.indexer); it is written in WAL mode,
committed per batch (an interrupted `archivio embed` resumes where it
stopped), and read by any number of searchers.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np

FILE_NAME = "vectors.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS vectors (id TEXT PRIMARY KEY, digest TEXT NOT NULL, vec BLOB NOT NULL);
"""


class VectorFile:
    """The vectors of one generation, for one model."""

    def __init__(self, path: Path, model: str = "", dim: int = 0, create: bool = False) -> None:
        self.path = path
        if not create and not path.exists():
            raise FileNotFoundError(path)
        self.db = sqlite3.connect(path, timeout=30, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.executescript(_SCHEMA)
        meta = dict(self.db.execute("SELECT key, value FROM meta"))
        if create and not meta:
            with self.db:
                self.db.executemany("INSERT INTO meta VALUES (?, ?)", [("model", model), ("dim", str(dim))])
            meta = {"model": model, "dim": str(dim)}
        self.model = meta.get("model", "")
        self.dim = int(meta.get("dim", "0") or 0)

    def close(self) -> None:
        self.db.close()

    def count(self) -> int:
        return self.db.execute("SELECT count(*) FROM vectors").fetchone()[0]

    def count_current(self, store: Path) -> int:
        """How many vectors are current for the articles of the SQLite store
        at `store` (same id, same content hash), joined in SQLite."""
        self.db.execute("ATTACH DATABASE ? AS store", (str(store),))
        try:
            join = "JOIN store.articles a ON a.id = v.id AND a.content_hash = v.digest"
            return self.db.execute(f"SELECT count(*) FROM vectors v {join}").fetchone()[0]
        finally:
            self.db.execute("DETACH DATABASE store")

    def digests(self) -> dict[str, str]:
        """Every article embedded, with the content hash it was embedded from."""
        return dict(self.db.execute("SELECT id, digest FROM vectors"))

    def put(self, rows: Iterable[tuple[str, str, np.ndarray]]) -> None:
        """Adds or replaces vectors (id, content hash, vector), in one commit."""
        with self.db:
            self.db.executemany(
                "INSERT OR REPLACE INTO vectors VALUES (?, ?, ?)",
                [(i, d, np.asarray(v, dtype=np.float32).tobytes()) for i, d, v in rows],
            )

    def remove(self, ids: Iterable[str]) -> None:
        with self.db:
            self.db.executemany("DELETE FROM vectors WHERE id = ?", [(i,) for i in ids])

    def get(self, digests: Mapping[str, str]) -> dict[str, np.ndarray]:
        """The vectors of these articles ({id: content hash}) that are current."""
        if not digests:
            return {}
        ids = list(digests)
        out: dict[str, np.ndarray] = {}
        for start in range(0, len(ids), 500):  # SQLite's variable limit
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = self.db.execute(f"SELECT id, digest, vec FROM vectors WHERE id IN ({marks})", chunk)
            for i, d, v in rows:
                if digests[i] == d and len(v) == 4 * self.dim:
                    out[i] = np.frombuffer(v, dtype=np.float32)
        return out

    def copy_current(self, target: VectorFile, current: Mapping[str, str]) -> int:
        """Copies into `target` the vectors still current ({id: content hash}
        of the articles now in the store); returns how many."""
        everything = self.db.execute("SELECT id, digest, vec FROM vectors")
        rows = [(i, d, v) for i, d, v in everything if current.get(i) == d]
        with target.db:
            target.db.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?, ?)", rows)
        return len(rows)
