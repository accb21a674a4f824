"""More-like-this in PostgreSQL: the article's most distinctive stems
(term frequency × idf, from its own vector and the vocabulary), searched
for with the backend's relevance score, the article itself left out."""

from __future__ import annotations

import psycopg
from whoosh import query as wq

from ..article import Article
from ..ranking import KEY_TERMS, MAX_RELATED
from . import store
from .searching import scorer
from .sqlquery import compile_query
from .vocabulary import VocabularyReader


def related(conn: psycopg.Connection, article_id: str, limit: int = 5) -> list[Article]:
    limit = max(0, min(limit, MAX_RELATED))
    if not limit:
        return []
    reader = VocabularyReader(conn)
    total = max(reader.doc_count(), 1)
    rows = conn.execute(
        """SELECT t.lexeme FROM articles a, unnest(a.tsv) AS t
           JOIN vocabulary v ON v.kind = 's' AND v.term = t.lexeme
           WHERE a.id = %s AND v.ndoc > 1
           ORDER BY cardinality(t.positions) * ln(%s::float8 / v.ndoc) DESC, t.lexeme
           LIMIT %s""",
        (article_id, total, KEY_TERMS),
    ).fetchall()
    if not rows:
        return []
    groups: list[wq.Query] = [wq.Term("text", lx) for (lx,) in rows]
    where = compile_query(wq.Or(groups))
    if where is None:
        return []
    score = scorer(reader, groups)
    ids = [
        r[0]
        for r in conn.execute(
            f"""SELECT id, {score.sql} AS score FROM articles WHERE {where.sql} AND id != %s
                ORDER BY score DESC, id LIMIT %s""",
            score.params + where.params + (article_id, limit),
        )
    ]
    found = store.get_many(conn, ids)
    return [found[i] for i in ids if i in found]
