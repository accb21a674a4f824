"""The Italian dictionary: which words are real Italian, for typo tolerance.

A word the dictionary knows is never corrected nor respelled, even when the
archive lacks it ("precipizio" is not a typo of "precipito") or holds a
commoner close spelling ("valle" is not a typo of "vale").

The dictionary is Debian's `hunspell-it` (/usr/share/hunspell/it_IT.aff and
.dic: 95,000 stems and the affix rules that inflect them), read by Hunspell
itself, the maintained C library (Debian's `libhunspell-1.7-0`), through
ctypes: loading takes ~50 ms and ~11 MB, a lookup ~2.5 µs. Measured
alternatives: spylls, the pure-Python port (last release 2022), took 4.4 s and
85 MB to load it_IT and 1.2 ms a lookup; the PyPI bindings (pyhunspell 2018,
cyhunspell 2021) are unmaintained and need a compiler; a word list expanded
with `unmunch` holds 3.1 million folded forms (46 MB); pyspellchecker's
bundled Italian list (120,000 subtitle words) lacks "cerebrale" and
"ventunenne".

The archive's words are accent-folded ("citta"), the dictionary's are not
("città"): a word is known when it, or it with its last vowel accented
(Italian writes accents on the last vowel: of the 34,119 accented forms of
it_IT, 16 carry one elsewhere), is accepted, in lower case, capitalized
(names: "Milano") or upper case (acronyms).

Without the library or the dictionary files (a machine without them) every
word counts as unknown: typo tolerance then rests on the archive's word
frequencies alone, and a warning says so once per process.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import threading
from pathlib import Path

log = logging.getLogger(__name__)

# Where distributions put hunspell dictionaries (Debian first); overridden by
# ARCHIVIO_DICTIONARY, the path of the .aff/.dic pair without extension.
DICTIONARY_DIRS = (
    "/usr/share/hunspell",
    "/usr/share/myspell/dicts",
    "/usr/share/myspell",
    "/usr/local/share/hunspell",
    "/opt/homebrew/share/hunspell",
)
DICTIONARY_NAME = "it_IT"
# The shared library's names: Debian's soname first, then what find_library finds.
LIBRARY_NAMES = ("libhunspell-1.7.so.0", "libhunspell-1.7.dylib")
# Answers remembered per process (a lookup costs 2.5-35 µs, a cached one ~0.1 µs).
MAX_CACHED = 65_536
INSTALL_HINT = "su Debian/Ubuntu: apt-get install hunspell-it libhunspell-1.7-0"

_ACCENTED = {"a": "à", "e": "èé", "i": "ì", "o": "ò", "u": "ù"}


class Dictionary:
    """A hunspell dictionary, asked about accent-folded lower-case words.

    `available` is False when the library or the files are missing (`reason`
    says which, in Italian); then `knows` is always False.
    """

    def __init__(self, path: str | os.PathLike | None = None) -> None:
        self.available = False
        self.reason: str | None = None
        self._handle: int | None = None
        self._lib: ctypes.CDLL | None = None
        # Hunspell's spell() is not documented as thread-safe; the web server
        # searches from several threads.
        self._lock = threading.Lock()
        self._known: dict[str, bool] = {}
        prefix = Path(path) if path is not None else _find_dictionary()
        if prefix is None:
            self.reason = f"dizionario italiano {DICTIONARY_NAME} (hunspell-it) non trovato"
            return
        aff, dic = prefix.with_name(prefix.name + ".aff"), prefix.with_name(prefix.name + ".dic")
        if not (aff.is_file() and dic.is_file()):
            self.reason = f"dizionario {prefix}.aff/.dic non trovato"
            return
        lib = _load_library()
        if lib is None:
            self.reason = "libreria hunspell (libhunspell) non trovata"
            return
        handle = lib.Hunspell_create(os.fsencode(aff), os.fsencode(dic))
        if not handle:
            self.reason = f"dizionario {prefix} illeggibile"
            return
        self._lib, self._handle, self.available = lib, handle, True

    def spell(self, word: str) -> bool:
        """Whether hunspell accepts `word` exactly as written."""
        if not self.available:
            return False
        try:
            encoded = word.encode("utf-8")
        except UnicodeEncodeError:  # lone surrogates
            return False
        if b"\0" in encoded:
            return False
        with self._lock:
            return bool(self._lib.Hunspell_spell(self._handle, encoded))

    def knows(self, word: str) -> bool:
        """Whether `word` (folded, lower case) is a word of the dictionary."""
        if not self.available or not word.isalpha():
            return False
        found = self._known.get(word)
        if found is None:
            found = any(
                self.spell(s) or self.spell(s.capitalize()) or self.spell(s.upper()) for s in _spellings(word)
            )
            if len(self._known) >= MAX_CACHED:
                self._known.clear()
            self._known[word] = found
        return found

    def __del__(self) -> None:
        if self._handle and self._lib is not None:
            self._lib.Hunspell_destroy(self._handle)
            self._handle = None


def _spellings(word: str) -> list[str]:
    """The word, then with its last vowel accented (citta -> città)."""
    return [word] + [word[:-1] + a for a in _ACCENTED.get(word[-1], "")]


def _find_dictionary() -> Path | None:
    configured = os.environ.get("ARCHIVIO_DICTIONARY")
    if configured:
        return Path(configured)
    for folder in DICTIONARY_DIRS:
        prefix = Path(folder) / DICTIONARY_NAME
        if prefix.with_name(DICTIONARY_NAME + ".dic").is_file():
            return prefix
    return None


def _load_library() -> ctypes.CDLL | None:
    found = (ctypes.util.find_library(n) for n in ("hunspell-1.7", "hunspell"))
    names = [*LIBRARY_NAMES, *filter(None, found)]
    for name in names:
        try:
            lib = ctypes.CDLL(name)
        except OSError:
            continue
        lib.Hunspell_create.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
        lib.Hunspell_create.restype = ctypes.c_void_p
        lib.Hunspell_spell.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
        lib.Hunspell_spell.restype = ctypes.c_int
        lib.Hunspell_destroy.argtypes = [ctypes.c_void_p]
        lib.Hunspell_destroy.restype = None
        return lib
    return None


_ITALIAN: Dictionary | None = None
_ITALIAN_LOCK = threading.Lock()


def italian() -> Dictionary:
    """The process's Italian dictionary, loaded on first use (~50 ms)."""
    global _ITALIAN
    if _ITALIAN is None:
        with _ITALIAN_LOCK:
            if _ITALIAN is None:
                found = Dictionary()
                if not found.available:
                    log.warning(
                        "Avviso: %s (%s). I suggerimenti ortografici si basano solo sulle "
                        "frequenze delle parole nell'archivio: parole italiane corrette ma assenti "
                        "dall'archivio possono essere corrette per errore.",
                        found.reason,
                        INSTALL_HINT,
                    )
                _ITALIAN = found
    return _ITALIAN
