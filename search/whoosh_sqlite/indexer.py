"""The whoosh index on disk: generations, atomic rebuilds, incremental updates.

Layout of the index directory:

    CURRENT        name of the live generation; replaced atomically
    gen-000003/    the live whoosh index
    gen-000002/    the previous one, kept so readers still open on it finish
    gen-000004.building/   a rebuild in progress (left over if it was killed)

A rebuild writes a whole new generation beside the live one and switches
CURRENT with os.replace, so a reader sees the old index or the new one,
never a half-built one; a killed rebuild leaves CURRENT untouched.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from whoosh import index as whoosh_index
from whoosh.filedb.filestore import FileStorage
from whoosh.index import Index
from whoosh.scoring import WeightingModel
from whoosh.searching import Searcher
from whoosh.writing import IndexWriter

from ..analysis import ANALYSIS_VERSION, DEFAULT_ANALYSIS, AnalysisConfig
from ..article import Article
from ..errors import IndexMissing
from .documents import document, index_schema
from .formats import ArchivioCodec
from .indexing.builder import add_segments, build, merge_tiers
from .segcache import forget_segments, retire_index_states

CURRENT = "CURRENT"
BUILDING = ".building"
# whoosh's own write lock: how long an incremental writer waits for it.
WRITER_TIMEOUT = 10.0


def outdated_analysis(version: int) -> str:
    """What `check` says of an index (or vectors) built by an older analysis."""
    return (
        f"L'indice è stato costruito con un'analisi del testo precedente (versione {version}, "
        f"attuale {ANALYSIS_VERSION}): le ricerche funzionano con quella, ma accenti, apostrofi, "
        "parole composte e numeri sono trattati come prima. Esegui `archivio rebuild` "
        "(o `check --fix`) per ricostruirlo."
    )


class IndexManager:
    def __init__(
        self,
        index_dir: str | Path,
        weighting: WeightingModel | None = None,
        analysis: AnalysisConfig = DEFAULT_ANALYSIS,
    ) -> None:
        self.dir = Path(index_dir)
        self.weighting = weighting
        # Used for new generations only; an index keeps the schema it was built with.
        self.analysis = analysis
        self._local = threading.local()
        # Segment ids this index has had (see _note_segments).
        self._segments: set[str] = set()
        self._segments_lock = threading.Lock()

    # -- locating ------------------------------------------------------------

    def current_generation(self) -> Path | None:
        try:
            name = (self.dir / CURRENT).read_bytes().decode("ascii").strip()
        except (FileNotFoundError, NotADirectoryError, UnicodeDecodeError):
            return None
        # Anything but a generation name (garbage, "../elsewhere") is no index.
        if not _GENERATION.fullmatch(name):
            return None
        path = self.dir / name
        return path if path.is_dir() else None

    def exists(self) -> bool:
        return self.current_generation() is not None

    def open(self) -> Index:
        gen = self.current_generation()
        if gen is None:
            raise IndexMissing(f"Indice non trovato in {self.dir}. Esegui `archivio rebuild` per crearlo.")
        try:
            # Without mmap: whoosh copies each mmapped segment file it opens into
            # a BytesIO, so every searcher (one per server thread) would hold its
            # own copy of the index in memory (270 MB each on the dev corpus),
            # for no speed gain. Plain file reads go through the page cache.
            return FileStorage(str(gen), supports_mmap=False).open_index()
        except Exception as e:  # whoosh raises several kinds for a damaged index
            raise damaged(gen, e) from e

    def open_searcher(self, attempts: int = 3) -> Searcher:
        """A searcher on the live index. Opening reads every segment, so a
        truncated or missing segment file raises IndexMissing here, not in
        the middle of a search. A failure is retried briefly first: a
        concurrent commit can remove the table of contents just listed, or
        merged segments, while they are opened."""
        for attempt in range(attempts):
            try:
                ix = self.open()
                return ix.searcher(weighting=self.weighting) if self.weighting else ix.searcher()
            except Exception as e:  # IndexMissing, EOFError, struct.error, UnpicklingError, OSError...
                gen = self.current_generation()
                if attempt == attempts - 1 or gen is None:
                    if isinstance(e, IndexMissing):
                        raise
                    raise damaged(gen or self.dir, e) from e
                time.sleep(0.05)
        raise AssertionError("unreachable")

    # -- reading ---------------------------------------------------------------

    def searcher(self) -> Searcher:
        """A searcher for this thread, reused until the index changes.

        whoosh readers share file handles, so each thread keeps its own.
        The freshness check is throttled: it lists a directory.
        """
        local = self._local
        now = time.monotonic()
        searcher: Searcher | None = getattr(local, "searcher", None)
        if searcher is not None and now - local.checked < 0.5:
            return searcher
        gen = self.current_generation()
        if searcher is not None and gen == local.generation and searcher.up_to_date():
            local.checked = now
            return searcher
        if searcher is not None:
            searcher.close()
        local.searcher = None
        fresh = self.open_searcher()
        local.searcher, local.generation, local.checked = fresh, gen, now
        self._note_segments(fresh)
        return fresh

    def _note_segments(self, searcher: Searcher) -> None:
        """Tells the caches which segments this index no longer has, and (when
        this searcher is the index on disk) that whole-index data of earlier
        states is stale. Judged by the index on disk, not by this searcher,
        which another thread's commit may already have overtaken: a live
        segment is never dropped."""
        seen = {sub.reader().segment().segment_id() for sub, _ in searcher.leaf_searchers()}
        try:
            on_disk = {seg.segment_id() for seg in self.open()._segments()}
        except IndexMissing:
            return
        with self._segments_lock:
            self._segments |= seen
            gone = self._segments - on_disk
            self._segments -= gone
            owned = self._segments | gone
        forget_segments(gone)
        if seen == on_disk:
            retire_index_states(owned, on_disk)

    def close(self) -> None:
        searcher = getattr(self._local, "searcher", None)
        if searcher is not None:
            searcher.close()
            self._local.searcher = None

    # -- writing ---------------------------------------------------------------

    def rebuild(
        self,
        articles: Iterable[Article],
        procs: int = 1,
        progress: Callable[[int], None] | None = None,
        total: int | None = None,
        before_switch: Callable[[Path | None, Path], object] | None = None,
    ) -> int:
        """Indexes `articles` (`total` of them, if known) into a new
        generation, then switches to it. `before_switch(live, new)` adds to
        the new generation what must switch with it (the article vectors)."""
        self.dir.mkdir(parents=True, exist_ok=True)
        self._remove_stale_builds()
        name = self._next_generation_name()
        building = self.dir / (name + BUILDING)
        building.mkdir()
        try:
            ix = whoosh_index.create_in(str(building), index_schema(self.analysis))
            # search.whoosh_sqlite.indexing.builder: parallel analysis, postings written in bulk, one
            # segment per `chunk` articles (bounded memory).
            count = build(ix, (document(a) for a in articles), procs=procs, progress=progress, total=total)
            if progress:
                progress(count)
            ix.close()
            if before_switch is not None:
                before_switch(self.current_generation(), building)
            _fsync_dir(building)
        except BaseException:
            # A failed rebuild (a dead worker, a full disk) leaves nothing behind.
            shutil.rmtree(building, ignore_errors=True)
            raise
        final = self.dir / name
        os.rename(building, final)
        self._switch_to(name)
        self.close()  # this thread reads its own writes at once
        self._remove_old_generations(keep={name, self._previous})
        return count

    def writer(self, ix: Index | None = None) -> IndexWriter:
        """A writer on the live index, or on `ix` opened from it (incremental import or removal)."""
        return (ix or self.open()).writer(timeout=WRITER_TIMEOUT, codec=ArchivioCodec())

    def update(self, articles: Iterable[Article], delete_ids: Iterable[str] = ()) -> None:
        """Removes `delete_ids` and adds or replaces `articles`, in one commit.
        The new articles are written as a segment of their own by the bulk
        builder (whoosh's writer would analyse and pool them one posting at a
        time); small segments are merged by `merge_tiers`."""
        self._remove_stale_builds()  # the caller holds the writer lock
        ix = self.open()
        # The last version of each article (an import may hold one twice).
        latest = {article.id: article for article in articles}
        writer = self.writer(ix)
        try:
            # One searcher for all the deletions (whoosh opens one per call otherwise);
            # an update replaces the article.
            with writer.searcher() as searcher:
                for article_id in [*delete_ids, *latest]:
                    writer.delete_by_term("id", article_id, searcher=searcher)
            docs = [document(article) for article in latest.values()]
            add_segments(ix, writer, docs)
            writer.commit(mergetype=merge_tiers)
        except BaseException:
            writer.cancel()
            raise
        self.close()  # this thread reads its own writes at once

    def doc_ids(self) -> set[str]:
        with self.open_searcher() as s:
            try:
                return {fields["id"] for fields in s.all_stored_fields()}
            except Exception as e:  # a damaged stored-fields file
                raise damaged(self.current_generation() or self.dir, e) from e

    def doc_count(self) -> int:
        with self.open_searcher() as s:
            return s.doc_count()

    def analysis_version(self) -> int:
        """The analysis the live index was built with, as its schema records it
        (1: built before versions were recorded). Queries and incremental
        imports use that analysis: the index's own analyzers."""
        analyzer = self.open().schema["text"].analyzer
        config = getattr(analyzer, "config", None)
        return getattr(config, "version", 1)

    # -- generations -------------------------------------------------------------

    _previous: str | None = None

    def _next_generation_name(self) -> str:
        suffixes = (p.name[len("gen-") :].removesuffix(BUILDING) for p in self.dir.glob("gen-*"))
        numbers = [int(n) for n in suffixes if n.isascii() and n.isdigit()]
        return f"gen-{max(numbers, default=0) + 1:06d}"

    def _switch_to(self, name: str) -> None:
        current = self.current_generation()
        self._previous = current.name if current else None
        tmp = self.dir / (CURRENT + ".tmp")
        with open(tmp, "w") as f:
            f.write(name + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.dir / CURRENT)
        _fsync_dir(self.dir)

    def _stale_builds(self) -> list[Path]:
        # A killed rebuild leaves its `.building` generation; a killed import
        # its builder's temporary `runs-*` folder inside the live generation.
        found = list(self.dir.glob("gen-*" + BUILDING))
        found += [p for p in self.dir.glob("gen-*/runs-*") if not p.parent.name.endswith(BUILDING)]
        return found

    def _remove_stale_builds(self) -> None:
        for p in self._stale_builds():
            shutil.rmtree(p, ignore_errors=True)

    def leftover_builds(self) -> list[tuple[str, int]]:
        """The folders of rebuilds and imports that stopped (name, bytes). Only
        meaningful while no writer holds the lock: a running writer has one."""
        return sorted((str(p.relative_to(self.dir)), _tree_bytes(p)) for p in self._stale_builds())

    def remove_leftovers(self) -> list[tuple[str, int]]:
        """Removes what `leftover_builds` lists (the caller holds the writer lock)."""
        found = self.leftover_builds()
        self._remove_stale_builds()
        return found

    def size(self) -> int:
        """Bytes of the live generation: about what a rebuild needs free beside it."""
        gen = self.current_generation()
        return _tree_bytes(gen) if gen else 0

    def _remove_old_generations(self, keep: set[str | None]) -> None:
        for p in self.dir.glob("gen-*"):
            if p.name not in keep and not p.name.endswith(BUILDING):
                shutil.rmtree(p, ignore_errors=True)


_GENERATION = re.compile(r"gen-\d{6,}")


def damaged(where: Path, error: BaseException) -> IndexMissing:
    if isinstance(error, ImportError):
        # whoosh pickles the schema's classes by module path: an index written
        # before the engine became `archivio.search` names `search.…` ones.
        return IndexMissing(
            f"Indice scritto da una versione precedente di Archivio in {where}. "
            "Esegui `archivio rebuild` per ricostruirlo dall'archivio (nessun articolo va perso)."
        )
    return IndexMissing(
        f"Indice danneggiato in {where} ({error.__class__.__name__}). "
        "Esegui `archivio rebuild` per ricostruirlo dall'archivio."
    )


def _tree_bytes(path: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):  # removed meanwhile
                total += os.lstat(os.path.join(root, name)).st_size
    return total


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
