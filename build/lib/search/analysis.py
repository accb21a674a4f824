"""Italian text analysis: a whoosh pipeline composed from small filters.

The same chain runs at index and query time, so every normalisation below
is applied to both sides identically. Tokens keep their character offsets
into the original text, which is what lets snippets show the reader's own
words.

Analysis version 2 (ANALYSIS_VERSION), per tokenizer match:

- the match is read in NFC (a decomposed "e" + U+0301 is one letter), with
  soft hyphens and zero-width joiners dropped;
- every apostrophe look-alike (' ’ ‘ ʼ ʻ ´ ` ′ ＇) is an apostrophe, and an
  elided function word before one is dropped (l', dell', quest', c'...):
  the words that are stop words, or stop words less their final vowel;
  sant', bell', grand', mezz' are content words and stay;
- what remains of a word joined by apostrophes or hyphens (Sant'Anna,
  centro-destra, Covid-19) is a compound: each part at its own position,
  plus the parts joined ("santanna", "centrodestra", "covid19": every run
  of two or more parts, for compounds of up to four) at the position of
  their first part, so the joined spelling meets the split one; a query
  asks for the joined form;
- thousands separators go: 1.000 = 1000, 1.000.000 = 1000000 (not 2,5 nor
  12.3.2020);
- stop words are decided on the accented word ("sarà" is one, "Sara" is
  not), stems are taken from the accented word and then folded ("sanità"
  -> "sanit", not "san" of "sano"; "città" and "citta" still meet).

Version 1 (indexes built before versions were recorded) folded accents
first; it is kept so that such an index answers queries with the analysis
that built it until `archivio rebuild`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache

from unidecode import unidecode
from whoosh.analysis import CompositeAnalyzer, Filter, LowercaseFilter, Token, Tokenizer
from whoosh.lang import stemmer_for_language, stopwords_for_language

ANALYSIS_VERSION = 2

# -- characters ------------------------------------------------------------------------------

# U+0027 ' U+2019 ’ U+2018 ‘ U+02BC ʼ U+02BB ʻ U+00B4 ´ U+0060 ` U+2032 ′ U+FF07 ＇
APOSTROPHES = "'\u2019\u2018\u02bc\u02bb\u00b4`\u2032\uff07"
# U+002D - U+2010 ‐ U+2011 ‑ (the non-breaking hyphen)
HYPHENS = "-\u2010\u2011"
# Invisible inside a word: soft hyphen, zero-width non-joiner and joiner, word joiner, BOM.
INVISIBLE = "\u00ad\u200c\u200d\u2060\ufeff"
# Combining marks: the accents of decomposed (NFD) text.
_MARKS = "\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f"

_MARK = f"[{_MARKS}{INVISIBLE}]"
_JOINER = "[" + re.escape(APOSTROPHES + HYPHENS) + "]"

# Version 2: a word is a run of letters/digits (combining marks and invisible
# joiners included), possibly joined to others by apostrophes and hyphens
# (elisions and compounds, taken apart by the analysis, which also splits at
# ʼ and ʻ, letters to \w); dotted acronyms (U.S.A.) and numbers with
# separators (2,5 / 1.200) stay one token. The three kinds are tried in this
# order; their common first character is matched once, up front, and the
# repeats are possessive (together as fast as version 1's pattern: it runs
# over every text at rebuild and in every snippet).
TOKEN_PATTERN = re.compile(
    rf"""
    \w                                            # every token starts with a word character
    (?:
        \.(?:\w\.)+(?!\w)                         # acronyms with dots: U.S.A.
      | (?<=\d)\d*(?:[.,]\d+)+                     # numbers with separators: 2,5  1.200
      | \w*+(?:{_MARK}+\w*+)*+                     # words (decomposed accents included),
        (?:{_JOINER}(?:\d+(?:[.,]\d+)+|\w++(?:{_MARK}+\w*+)*+))*+  # elisions, compounds
    )
    """,
    re.VERBOSE | re.UNICODE,
)

# Version 1's tokenizer: three apostrophes, no hyphens, no combining marks.
# The three kinds are tried in this order; their common first character is
# matched once, up front (a third faster than three whole alternatives).
TOKEN_PATTERN_V1 = re.compile(
    r"""
    \w                                # every token starts with a word character
    (?:
        \.(?:\w\.)+(?!\w)             # acronyms with dots: U.S.A.
      | (?<=\d)\d*(?:[.,]\d+)+        # numbers with separators: 2,5  1.200
      | \w*(?:['’`]\w+)*              # words, with elisions kept attached
    )
    """,
    re.VERBOSE | re.UNICODE,
)
APOSTROPHES_V1 = "'’`"

_SEPARATORS = re.compile(_JOINER)
_INVISIBLE = re.compile(f"[{INVISIBLE}]")
# Italian thousands: 1.000, 25.000.000, 1.000,50 (never 1.5, 12.3.2020 or 0.500).
_THOUSANDS = re.compile(r"[1-9]\d{0,2}(?:\.\d{3})+(?:,\d+)?")
# A compound of more parts than this is a list or a slug ("la-nuova-legge-di-..."):
# its parts are indexed, not its runs.
MAX_JOINED_PARTS = 4

# -- stop words and elisions -----------------------------------------------------------------

_RAW_STOPWORDS = frozenset(stopwords_for_language("it"))
# The same accent, either way: "perchè" (a common misspelling) is "perché".
# (Snowball's Italian stemmer makes the same substitution before stemming.)
_ACUTE_TO_GRAVE = str.maketrans("áéíóú", "àèìòù")
ACCENTED_STOPWORDS = frozenset(w.translate(_ACUTE_TO_GRAVE) for w in _RAW_STOPWORDS)


def is_stopword(word: str) -> bool:
    """Whether a lower-case, unfolded word is an Italian stop word: "sarà"
    is, "sara" (Sara) is not."""
    return word.translate(_ACUTE_TO_GRAVE) in ACCENTED_STOPWORDS


def _elided_forms() -> frozenset[str]:
    """What may stand before an elision apostrophe and be dropped: a stop
    word (l, dell, un, c, dov: Snowball's list has the elided forms) or a stop
    word less its final vowel (quest', quell', m', t', ch', com', anch',
    tutt'), plus Lucene's Italian articles (coll', pell', gl'). Not sant',
    bell', grand', mezz': santo, bello, grande, mezzo are content words."""
    forms = {w for w in ACCENTED_STOPWORDS if w.isascii()}
    forms |= {w[:-1] for w in ACCENTED_STOPWORDS if len(w) > 1 and w[-1] in "aeiou"}
    forms |= {"coll", "pell", "gl", "agl", "dagl", "degl", "negl", "sugl"}
    return frozenset(forms)


ELIDED_FORMS = _elided_forms()

# Version 1's list, sant' included.
ELIDED_PREFIXES = frozenset(
    [
        "l", "d", "un", "dell", "all", "nell", "dall", "sull", "coll", "pell", "quest", "quell",
        "c", "s", "m", "t", "v", "n", "sant", "bell", "nessun", "buon", "tutt", "senz", "com",
        "dov", "anch", "mezz", "grand", "ciascun", "alcun", "qualcun", "ch", "gl",
    ]
)  # fmt: skip


@lru_cache(maxsize=100_000)
def fold(text: str) -> str:
    """Accent folding: città -> citta, perché -> perche; cached per word."""
    if text.isascii():
        return text
    return unidecode(text).lower()


def nfc(text: str) -> str:
    """The composed (NFC) form: "e" + U+0301 -> "é". Cheap on text already composed."""
    if text.isascii() or unicodedata.is_normalized("NFC", text):
        return text
    return unicodedata.normalize("NFC", text)


def italian_stopwords() -> frozenset[str]:
    """whoosh's Italian stop list, folded the way version 1 folded tokens."""
    return frozenset(fold(w) for w in _RAW_STOPWORDS)


# Folded stop words: version 1's list, and what autocomplete leaves out.
STOPWORDS = italian_stopwords()

_snowball_it = stemmer_for_language("it")


@lru_cache(maxsize=100_000)
def stem(word: str) -> str:
    """Snowball Italian stem of a lower-case word (accented or not; not folded)."""
    if word.isdigit() or len(word) < 4:
        return word
    return _snowball_it(word)


_LIGHT_VOWELS = str.maketrans("àáâèéêìíîòóôùúû", "aaaeeeiiiooouuu")


@lru_cache(maxsize=500_000)
def light_stem(word: str) -> str:
    """The Lucene/Savoy Italian light stemmer: strips one final vowel (two
    after i or h). Kept for comparison in the relevance harness."""
    if len(word) < 6:
        return word
    word = word.translate(_LIGHT_VOWELS)
    last, before = word[-1], word[-2]
    if last in "ei" and before in "ih" or last in "ao" and before == "i":
        return word[:-2]
    return word[:-1] if last in "aeio" else word


@dataclass(frozen=True)
class AnalysisConfig:
    """Analysis choices; the defaults are what the relevance harness chose.
    `version` is the analysis an index was built with (pickled in its schema)."""

    stemmer: str = "snowball"  # "snowball", "light" or "none"
    fold_accents: bool = True
    elision: bool = True
    version: int = ANALYSIS_VERSION

    def __setstate__(self, state: dict) -> None:
        # Indexes built before versions were recorded pickled no version: 1.
        for key, value in {"version": 1, **state}.items():
            object.__setattr__(self, key, value)

    def stem_function(self) -> Callable[[str], str] | None:
        return {"snowball": stem, "light": light_stem, "none": None}[self.stemmer]

    @property
    def pattern(self) -> re.Pattern:
        return TOKEN_PATTERN if self.version >= 2 else TOKEN_PATTERN_V1


DEFAULT_ANALYSIS = AnalysisConfig()


# -- the filters: the definition of the tokens --------------------------------------------------


class ItalianTokenizer(Tokenizer):
    """Splits text into word tokens with positions and character offsets.
    Acronyms lose their dots (U.S.A. -> USA); in version 2, numbers their
    thousands separators (1.000 -> 1000)."""

    def __init__(self, version: int = ANALYSIS_VERSION) -> None:
        self.version = version

    def __call__(  # noqa: PLR0913 - whoosh's tokenizer signature
        self,
        value: str,
        positions: bool = False,
        chars: bool = False,
        keeporiginal: bool = False,
        removestops: bool = True,
        start_pos: int = 0,
        start_char: int = 0,
        tokenize: bool = True,
        mode: str = "",
        **kwargs,
    ) -> Iterator[Token]:
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        if not tokenize:
            token.original = token.text = value
            token.boost = 1.0
            if positions:
                token.pos = start_pos
            if chars:
                token.startchar = start_char
                token.endchar = start_char + len(value)
            yield token
            return
        pos = start_pos
        pattern = TOKEN_PATTERN if self.version >= 2 else TOKEN_PATTERN_V1
        for match in pattern.finditer(value):
            # Version 2 reads acronyms and numbers whole in CompoundFilter.
            text = _whole_token(match.group(), 1) if self.version < 2 else match.group()
            token.text = text
            token.boost = 1.0
            token.stopped = False
            if keeporiginal:
                token.original = text
            if positions:
                token.pos = pos
                pos += 1
            if chars:
                token.startchar = start_char + match.start()
                token.endchar = start_char + match.end()
            yield token


def _whole_token(text: str, version: int) -> str:
    """U.S.A. -> USA; in version 2, 1.000 -> 1000."""
    if text[-1:] == "." and text.count(".") >= 2 and not text[0].isdigit():
        return text.replace(".", "")
    if version >= 2 and text[:1].isdigit() and _THOUSANDS.fullmatch(text):
        return text.replace(".", "")
    return text


class ElisionFilter(Filter):
    """Version 1: drops elided articles: l'Ucraina -> Ucraina, dell’Europa -> Europa.

    An apostrophe joining two words that is not a known elision (O'Neill)
    splits them into two tokens, so either half can be searched.
    """

    def __call__(self, tokens: Iterable[Token]) -> Iterator[Token]:
        for t in tokens:
            text = t.text
            if not any(a in text for a in APOSTROPHES_V1):
                yield t
                continue
            parts = re.split(r"['’`]", text)
            offset = 0
            chars = t.chars
            start = t.startchar if chars else 0
            for i, part in enumerate(parts):
                last = i == len(parts) - 1
                if not last and part.lower() in ELIDED_PREFIXES:
                    offset += len(part) + 1
                    continue
                if part:
                    t.text = part
                    if chars:
                        t.startchar = start + offset
                        t.endchar = start + offset + len(part)
                    yield t
                offset += len(part) + 1


class CompoundFilter(Filter):
    """Version 2: a token in NFC, without elided function words, and taken
    apart at apostrophes and hyphens: each part at its own position (later
    tokens move on), then the joined runs of parts at their first part's
    position ("Covid-19": covid, 19, covid19). In a query, a compound is its
    joined form alone."""

    def __init__(self, elision: bool = True) -> None:
        self.elision = elision

    def __call__(self, tokens: Iterable[Token]) -> Iterator[Token]:
        shift = 0
        for t in tokens:
            positions, chars = t.positions, t.chars
            base = t.pos + shift if positions else 0
            start = t.startchar if chars else 0
            parts, width = _compound(t.text, self.elision, t.mode == "query")
            for text, s, e, offset in parts:
                t.text = text
                if positions:
                    t.pos = base + offset
                if chars:
                    t.startchar, t.endchar = start + s, start + e
                yield t
            shift += width - 1


class AccentFoldFilter(Filter):
    """Folds accents and other diacritics to ASCII (after lower-casing)."""

    def __call__(self, tokens: Iterable[Token]) -> Iterator[Token]:
        for t in tokens:
            t.text = fold(t.text)
            if t.text:
                yield t


class ItalianStopFilter(Filter):
    """Removes Italian stop words, keeping position gaps for phrase queries.
    Version 2 decides on the accented word (`is_stopword`), version 1 on the
    folded one (a folded stop list)."""

    def __init__(self, stoplist: frozenset[str] | None = None) -> None:
        self.stoplist = stoplist

    def __call__(self, tokens: Iterable[Token]) -> Iterator[Token]:
        stoplist = self.stoplist
        for t in tokens:
            stopped = t.text in stoplist if stoplist is not None else is_stopword(t.text)
            if stopped:
                if not t.removestops:
                    t.stopped = True
                    yield t
                continue
            t.stopped = False
            yield t


class ItalianStemFilter(Filter):
    """Snowball Italian stemming: elezione, elezioni -> elezion."""

    is_morph = True

    def __init__(self, stemfn=stem) -> None:
        self.stemfn = stemfn

    def __call__(self, tokens: Iterable[Token]) -> Iterator[Token]:
        stemfn = self.stemfn
        for t in tokens:
            if not t.stopped:
                t.text = stemfn(t.text)
            yield t


def _pieces(text: str, elision: bool) -> list[tuple[str, int, int]]:
    """A version 2 token's words (start, end in the token): split at
    apostrophes and hyphens, elided function words dropped (an elision ends
    at an apostrophe, never at a hyphen); in NFC, invisible characters
    dropped, acronyms and numbers read whole (U.S.A., 1.000), case kept."""
    if not _SEPARATORS.search(text):
        word = _clean(_whole_token(text, 2))
        return [(word, 0, len(text))] if word else []
    pieces: list[tuple[str, int, int]] = []
    segment: list[tuple[str, int, int]] = []
    pos = 0
    for m in _SEPARATORS.finditer(text + "-"):  # the last hyphen ends the last segment
        segment.append((text[pos : m.start()], pos, m.start()))
        if m.group() in HYPHENS:
            last = len(segment) - 1
            pieces += [p for i, p in enumerate(segment) if i == last or not _is_elided(p[0], elision)]
            segment = []
        pos = m.end()
    return [(w, s, e) for w, s, e in ((_clean(_whole_token(p, 2)), s, e) for p, s, e in pieces if p) if w]


def _joinable(words: list[str]) -> bool:
    """Whether the parts of a compound are also indexed joined: two to
    MAX_JOINED_PARTS parts, a letter among them (not 2019-2020)."""
    return 2 <= len(words) <= MAX_JOINED_PARTS and any(c.isalpha() for w in words for c in w)


def _compound(text: str, elision: bool, query: bool) -> tuple[list[tuple[str, int, int, int]], int]:
    """A version 2 token as (word, start, end, position offset), and the
    positions it takes: each part at its own position, then the runs of two
    or more parts joined, at their first part's position (longest first);
    in a query, a joinable compound is its whole joined form alone."""
    parts = _pieces(text, elision)
    n = len(parts)
    out = [(w, s, e, i) for i, (w, s, e) in enumerate(parts)]
    if not _joinable([w for w, _, _ in parts]):
        return out, max(n, 1)
    if query:
        return [("".join(w for w, _, _ in parts), parts[0][1], parts[-1][2], 0)], 1
    joined = [
        ("".join(w for w, _, _ in parts[i:j]), parts[i][1], parts[j - 1][2], i)
        for i in range(n - 1)
        for j in range(i + 2, n + 1)
    ]
    return sorted(out + joined, key=lambda p: (p[3], p[1] - p[2])), n


def _is_elided(piece: str, elision: bool) -> bool:
    return elision and _clean(piece).lower() in ELIDED_FORMS


def _clean(piece: str) -> str:
    """A piece of a token in NFC, without invisible joiners (soft hyphens)."""
    if piece.isascii():
        return piece
    return nfc(_INVISIBLE.sub("", piece))


def _base_chain(config: AnalysisConfig):
    if config.version < 2:
        chain = ItalianTokenizer(1)
        if config.elision:
            chain = chain | ElisionFilter()
        chain = chain | LowercaseFilter()
        if config.fold_accents:
            chain = chain | AccentFoldFilter()
        return chain
    return ItalianTokenizer(config.version) | CompoundFilter(config.elision) | LowercaseFilter()


def reference_chain(config: AnalysisConfig = DEFAULT_ANALYSIS, stemming: bool = True) -> CompositeAnalyzer:
    """The chain as separate whoosh filters: the definition of the tokens.
    ItalianAnalyzer produces exactly its output, faster."""
    chain = _base_chain(config)
    fold_last = config.version >= 2 and config.fold_accents
    if not stemming:
        return chain | AccentFoldFilter() if fold_last else chain
    if config.version < 2:
        chain = chain | ItalianStopFilter(STOPWORDS if config.fold_accents else _RAW_STOPWORDS)
    else:
        chain = chain | ItalianStopFilter()
    stemfn = config.stem_function()
    if stemfn:
        chain = chain | ItalianStemFilter(stemfn)
    return chain | AccentFoldFilter() if fold_last else chain


# -- the fused analysis -----------------------------------------------------------------------

# One analysed form of a tokenizer match: (text, start, end, stopped, position
# offset), the offsets relative to the start of the match.
Part = tuple[str, int, int, bool, int]
# A match's parts and the number of positions it takes.
Analysed = tuple[tuple[Part, ...], int]
# Distinct matches each analysis cache keeps. Measured on the dev corpus
# rebuild (19,902 articles): 300,000 entries 19.0-19.5 s and 369-378 MB,
# 50,000 19.7-20.7 s and 325-328 MB (word frequencies are Zipfian: the
# common words stay cached). An entry costs ~450 bytes, and an archive of
# long articles with 200,000 distinct words filled three such caches (the
# long-articles bomb of bench/bombs.py: 545 -> 445 MB on 64 of its articles).
WORD_CACHE_SIZE = 50_000
_WORD_CACHES: dict[tuple[AnalysisConfig, bool, bool, bool], Callable[[str], Analysed]] = {}


def _word_analysis(
    config: AnalysisConfig, stemming: bool, morph: bool, query: bool = False
) -> Callable[[str], Analysed]:
    """A cached function: tokenizer match -> what the chain makes of it.

    Every filter of the chain maps a token to tokens without looking at its
    neighbours, so the output for a match depends on the match text alone:
    it is computed once and then looked up. `reference_word_analysis` runs
    the filters themselves on the token; `_direct_analysis` does the same
    steps without Token objects (a rebuild meets ~100,000 new words), and
    the analysis tests check that both agree. `query`: a compound is its
    joined form alone."""
    key = (config, stemming, morph, query)
    fn = _WORD_CACHES.get(key)
    if fn is not None:
        return fn
    stemfn = config.stem_function() if stemming and morph else None

    @lru_cache(maxsize=WORD_CACHE_SIZE)
    def analyse(match: str) -> Analysed:
        if config.version < 2:
            stoplist = (STOPWORDS if config.fold_accents else _RAW_STOPWORDS) if stemming else None
            return _direct_analysis_v1(match, config, stoplist, stemfn), 1
        return _direct_analysis(match, config, stemming, stemfn, query)

    _WORD_CACHES[key] = analyse
    return analyse


def reference_word_analysis(
    match: str, config: AnalysisConfig, stemming: bool, morph: bool = True, query: bool = False
) -> Analysed:
    """What the reference filters make of one tokenizer match (the definition
    `_direct_analysis` must agree with)."""
    chain = reference_chain(config, stemming)
    filters = chain.items[1:]
    if not morph:
        filters = [f for f in filters if not getattr(f, "is_morph", False)]
    token = Token(positions=True, chars=True, removestops=False, mode="query" if query else "index")
    token.text = whole = _whole_token(match, 1) if config.version < 2 else match
    token.boost, token.stopped, token.pos = 1.0, False, 0
    token.startchar, token.endchar = 0, len(match)
    stream: Iterator[Token] = iter([token])
    for f in filters:
        stream = f(stream)
    parts = tuple((t.text, t.startchar, t.endchar, bool(t.stopped), t.pos) for t in stream)
    if config.version < 2:
        return parts, 1
    return parts, _compound(whole, config.elision, query)[1]


def _direct_analysis(
    match: str,
    config: AnalysisConfig,
    stemming: bool,
    stemfn: Callable[[str], str] | None,
    query: bool,
) -> Analysed:
    """Version 2, the filters' steps in order: acronym and thousands
    (ItalianTokenizer), CompoundFilter, LowercaseFilter, ItalianStopFilter,
    ItalianStemFilter, AccentFoldFilter."""
    if match.isalpha() and "\u02bb" not in match and "\u02bc" not in match:
        parts, width = [(nfc(match), 0, len(match), 0)], 1  # a plain word: most of them
    else:
        parts, width = _compound(match, config.elision, query)
    out = []
    for piece, start, end, offset in parts:
        word = piece.lower()
        stopped = stemming and is_stopword(word)
        if stemfn is not None and not stopped:
            word = stemfn(word)
        if config.fold_accents:
            word = fold(word)
            if not word:
                continue
        out.append((word, start, end, stopped, offset))
    return tuple(out), width


_APOSTROPHE_SPLIT_V1 = re.compile(r"['’`]")


def _direct_analysis_v1(
    match: str,
    config: AnalysisConfig,
    stoplist: frozenset[str] | None,
    stemfn: Callable[[str], str] | None,
) -> tuple[Part, ...]:
    """Version 1, the filters' steps in order: ElisionFilter,
    LowercaseFilter, AccentFoldFilter, ItalianStopFilter, ItalianStemFilter."""
    text = _whole_token(match, 1)
    if config.elision and any(a in text for a in APOSTROPHES_V1):
        pieces = []
        offset = 0
        parts = _APOSTROPHE_SPLIT_V1.split(text)
        for i, part in enumerate(parts):
            if i < len(parts) - 1 and part.lower() in ELIDED_PREFIXES:
                offset += len(part) + 1
                continue
            if part:
                pieces.append((part, offset, offset + len(part)))
            offset += len(part) + 1
    else:
        pieces = [(text, 0, len(match))]
    out = []
    for piece, start, end in pieces:
        word = piece.lower()
        if config.fold_accents:
            word = fold(word)
            if not word:
                continue
        stopped = stoplist is not None and word in stoplist
        if stemfn is not None and not stopped:
            word = stemfn(word)
        out.append((word, start, end, stopped, 0))
    return tuple(out)


class ItalianAnalyzer(Tokenizer):
    """The whole chain (tokenizer, elision and compounds, lower case, stop
    words, stemming, folding) in one pass: a regex match, then one cached
    lookup per word instead of a generator hop per filter per token.
    Indexing calls `term_positions` / `term_counts`, which skip Token
    objects altogether.

    Only the configuration is kept (and pickled into the index's schema,
    with the analysis version); the caches live in this module."""

    def __init__(self, config: AnalysisConfig = DEFAULT_ANALYSIS, stemming: bool = True) -> None:
        self.config = config
        self.stemming = stemming

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, ItalianAnalyzer)
            and self.config == other.config
            and self.stemming == other.stemming
        )

    def __hash__(self) -> int:
        return hash((self.config, self.stemming))

    @property
    def is_morph(self) -> bool:  # type: ignore[override]
        return self.stemming and self.config.stem_function() is not None

    def has_morph(self) -> bool:
        return self.is_morph

    def __call__(  # noqa: PLR0913 - whoosh's tokenizer signature
        self,
        value: str,
        positions: bool = False,
        chars: bool = False,
        keeporiginal: bool = False,
        removestops: bool = True,
        start_pos: int = 0,
        start_char: int = 0,
        tokenize: bool = True,
        mode: str = "",
        no_morph: bool = False,
        **kwargs,
    ) -> Iterator[Token]:
        if not tokenize:
            # The value as one token: rare (whoosh's query parser), so the reference chain.
            yield from reference_chain(self.config, self.stemming)(
                value,
                positions=positions,
                chars=chars,
                keeporiginal=keeporiginal,
                removestops=removestops,
                start_pos=start_pos,
                start_char=start_char,
                tokenize=False,
                mode=mode,
                no_morph=no_morph,
                **kwargs,
            )
            return
        analyse = _word_analysis(self.config, self.stemming, not no_morph, mode == "query")
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        pos = start_pos
        version = self.config.version
        for match in self.config.pattern.finditer(value):
            parts, width = analyse(match.group())
            for text, start, end, stopped, offset in parts:
                if stopped and removestops:
                    continue
                token.text = text
                token.boost = 1.0
                token.stopped = stopped
                if keeporiginal:
                    token.original = _whole_token(match.group(), version)
                if positions:
                    token.pos = pos + offset
                if chars:
                    at = start_char + match.start()
                    token.startchar = at + start
                    token.endchar = at + end
                yield token
            pos += width

    def word_parts(self, match: str) -> tuple[Part, ...]:
        """What the chain makes of one tokenizer match: (text, start, end,
        stopped, position offset) per token, offsets relative to the match
        (cached)."""
        return _word_analysis(self.config, self.stemming, True)(match)[0]

    def words(self, value: str) -> Iterator[str]:
        """The tokenizer's matches in `value`, as `word_parts` takes them."""
        return (m.group() for m in self.config.pattern.finditer(value))

    def term_positions(self, value: str) -> dict[str, list[int]]:
        """Indexed term -> its positions in `value` (stop words left out)."""
        analyse = _word_analysis(self.config, self.stemming, True)
        out: dict[str, list[int]] = {}
        pos = 0
        for match in self.config.pattern.findall(value):
            parts, width = analyse(match)
            for text, _, _, stopped, offset in parts:
                if stopped:
                    continue
                found = out.get(text)
                if found is None:
                    out[text] = [pos + offset]
                else:
                    found.append(pos + offset)
            pos += width
        return out

    def term_counts(self, value: str) -> dict[str, int]:
        """Indexed term -> how many times it occurs in `value` (stop words left out)."""
        analyse = _word_analysis(self.config, self.stemming, True)
        out: dict[str, int] = {}
        get = out.get
        for match in self.config.pattern.findall(value):
            for text, _, _, stopped, _ in analyse(match)[0]:
                if not stopped:
                    out[text] = get(text, 0) + 1
        return out


@dataclass(frozen=True)
class TypedWord:
    """A query word as the reader typed it: lower case, accents kept (for its
    stem), and the parts of a compound (their exact forms) whose joined form
    the query asks for."""

    typed: str
    parts: tuple[str, ...] = ()


def typed_words(value: str, config: AnalysisConfig = DEFAULT_ANALYSIS) -> dict[str, TypedWord]:
    """The words of a query text keyed by their exact form (folded), as the
    query side meets them after whoosh's parser, with what the exact form
    lost: the accents ("sanità"), the parts of a joined compound."""
    if config.version < 2:
        return {}
    out: dict[str, TypedWord] = {}
    for match in config.pattern.findall(value):
        words = [w.lower() for w, _, _ in _pieces(match, config.elision)]
        if _joinable(words):
            found = [("".join(words), tuple(_exact_form(w, config) for w in words))]
        else:
            found = [(w, ()) for w in words]
        for typed, parts in found:
            key = _exact_form(typed, config)
            if key and key not in out and (parts or key != typed):
                out[key] = TypedWord(typed, parts)
    return out


def _exact_form(word: str, config: AnalysisConfig) -> str:
    return fold(word) if config.fold_accents else word


_PAIR_CACHES: dict[AnalysisConfig, Callable[[str], tuple[tuple, tuple, int]]] = {}


def stems_and_words(
    value: str, config: AnalysisConfig = DEFAULT_ANALYSIS
) -> tuple[dict[bytes, int], dict[bytes, list[int]]]:
    """One pass over a text for both full-text fields: the stemmed terms'
    counts (`text`) and the unstemmed words' positions (`exact`), as UTF-8
    bytes (what the index stores); the same as the two analyzers'
    term_counts and term_positions, tokenizing once."""
    analyse = _PAIR_CACHES.get(config)
    if analyse is None:
        exact = _word_analysis(config, False, True)
        stemmed = _word_analysis(config, True, True)

        @lru_cache(maxsize=WORD_CACHE_SIZE)
        def analyse(match: str) -> tuple[tuple, tuple, int]:
            words, width = exact(match)
            return (
                tuple((t.encode("utf-8"), offset) for t, _, _, stopped, offset in words if not stopped),
                tuple(t.encode("utf-8") for t, _, _, stopped, _ in stemmed(match)[0] if not stopped),
                width,
            )

        _PAIR_CACHES[config] = analyse
    counts: dict[bytes, int] = {}
    positions: dict[bytes, list[int]] = {}
    count = counts.get
    pos = 0
    for match in config.pattern.findall(value):
        words, stems, width = analyse(match)
        for word, offset in words:
            found = positions.get(word)
            if found is None:
                positions[word] = [pos + offset]
            else:
                found.append(pos + offset)
        for stem_ in stems:
            counts[stem_] = count(stem_, 0) + 1
        pos += width
    return counts, positions


def stemming_analyzer(config: AnalysisConfig = DEFAULT_ANALYSIS) -> ItalianAnalyzer:
    """Analyzer of the stemmed full-text fields (title, subtitle, body)."""
    return ItalianAnalyzer(config, stemming=True)


def exact_analyzer(config: AnalysisConfig = DEFAULT_ANALYSIS) -> ItalianAnalyzer:
    """Analyzer of the unstemmed twin: folded words, stop words kept, so
    phrases like "stato di diritto" and exact word forms still match."""
    return ItalianAnalyzer(config, stemming=False)


def normalize_key(value: str | None) -> str:
    """Key for keyword filters: case-, accent- and spacing-insensitive."""
    if not value:
        return ""
    return " ".join(fold(nfc(value).lower()).split())
