"""Italian text analysis: a whoosh pipeline composed from small filters.

The same chain runs at index and query time, so every normalisation below
(elision, lower case, accent folding, stop words, stemming) is applied to
both sides identically. Tokens keep their character offsets into the
original text, which is what lets snippets show the reader's own words.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache

from unidecode import unidecode
from whoosh.analysis import CompositeAnalyzer, Filter, LowercaseFilter, Token, Tokenizer
from whoosh.lang import stemmer_for_language, stopwords_for_language

# A word is a run of letters/digits; internal apostrophes (both kinds) keep
# an elided article attached so ElisionFilter can split it off; dotted
# acronyms (U.S.A.) and decimal numbers (2,5 / 1.200) stay one token.
# The three kinds are tried in this order; their common first character is
# matched once, up front (a third faster than three whole alternatives: the
# pattern runs over every text at rebuild and in every snippet).
TOKEN_PATTERN = re.compile(
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

APOSTROPHES = "'’`"

# Articles, prepositions and adverbs that elide before a vowel in Italian.
ELIDED_PREFIXES = frozenset(
    [
        "l",
        "d",
        "un",
        "dell",
        "all",
        "nell",
        "dall",
        "sull",
        "coll",
        "pell",
        "quest",
        "quell",
        "c",
        "s",
        "m",
        "t",
        "v",
        "n",
        "sant",
        "bell",
        "nessun",
        "buon",
        "tutt",
        "senz",
        "com",
        "dov",
        "anch",
        "mezz",
        "grand",
        "ciascun",
        "alcun",
        "qualcun",
        "ch",
        "gl",
    ]
)


class ItalianTokenizer(Tokenizer):
    """Splits text into word tokens with positions and character offsets."""

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
        for match in TOKEN_PATTERN.finditer(value):
            text = match.group()
            if text[-1] == "." and text.count(".") >= 2 and not text[0].isdigit():
                text = text.replace(".", "")  # U.S.A. -> USA
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


class ElisionFilter(Filter):
    """Drops elided articles: l'Ucraina -> Ucraina, dell’Europa -> Europa.

    An apostrophe joining two words that is not a known elision (O'Neill)
    splits them into two tokens, so either half can be searched.
    """

    def __call__(self, tokens: Iterable[Token]) -> Iterator[Token]:
        for t in tokens:
            text = t.text
            if not any(a in text for a in APOSTROPHES):
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


@lru_cache(maxsize=200_000)
def fold(text: str) -> str:
    """Accent folding: città -> citta, perché -> perche; cached per word."""
    if text.isascii():
        return text
    return unidecode(text).lower()


class AccentFoldFilter(Filter):
    """Folds accents and other diacritics to ASCII (after lower-casing)."""

    def __call__(self, tokens: Iterable[Token]) -> Iterator[Token]:
        for t in tokens:
            t.text = fold(t.text)
            if t.text:
                yield t


def italian_stopwords() -> frozenset[str]:
    """whoosh's Italian stop list, folded the way tokens are folded."""
    return frozenset(fold(w) for w in stopwords_for_language("it"))


STOPWORDS = italian_stopwords()


class ItalianStopFilter(Filter):
    """Removes Italian stop words, keeping position gaps for phrase queries."""

    def __init__(self, stoplist: frozenset[str] = STOPWORDS) -> None:
        self.stoplist = stoplist

    def __call__(self, tokens: Iterable[Token]) -> Iterator[Token]:
        stoplist = self.stoplist
        for t in tokens:
            if t.text in stoplist:
                if not t.removestops:
                    t.stopped = True
                    yield t
                continue
            t.stopped = False
            yield t


_snowball_it = stemmer_for_language("it")


@lru_cache(maxsize=500_000)
def stem(word: str) -> str:
    """Snowball Italian stem of an already folded, lower-case word."""
    if word.isdigit() or len(word) < 4:
        return word
    return _snowball_it(word)


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
    """Analysis choices; the defaults are what the relevance harness chose."""

    stemmer: str = "snowball"  # "snowball", "light" or "none"
    fold_accents: bool = True
    elision: bool = True

    def stem_function(self) -> Callable[[str], str] | None:
        return {"snowball": stem, "light": light_stem, "none": None}[self.stemmer]


DEFAULT_ANALYSIS = AnalysisConfig()
_RAW_STOPWORDS = frozenset(stopwords_for_language("it"))


def _base_chain(config: AnalysisConfig):
    chain = ItalianTokenizer()
    if config.elision:
        chain = chain | ElisionFilter()
    chain = chain | LowercaseFilter()
    if config.fold_accents:
        chain = chain | AccentFoldFilter()
    return chain


def reference_chain(config: AnalysisConfig = DEFAULT_ANALYSIS, stemming: bool = True) -> CompositeAnalyzer:
    """The chain as separate whoosh filters: the definition of the tokens.
    ItalianAnalyzer produces exactly its output, faster."""
    if not stemming:
        return _base_chain(config)
    chain = _base_chain(config) | ItalianStopFilter(STOPWORDS if config.fold_accents else _RAW_STOPWORDS)
    stemfn = config.stem_function()
    return chain | ItalianStemFilter(stemfn) if stemfn else chain


# One analysed form of a tokenizer match: (text, start, end, stopped), the
# offsets relative to the start of the match.
Part = tuple[str, int, int, bool]
WORD_CACHE_SIZE = 300_000
_WORD_CACHES: dict[tuple[AnalysisConfig, bool, bool], Callable[[str], tuple[Part, ...]]] = {}


def _word_analysis(config: AnalysisConfig, stemming: bool, morph: bool) -> Callable[[str], tuple[Part, ...]]:
    """A cached function: tokenizer match -> what the chain makes of it.

    Every filter of the chain maps a token to tokens without looking at its
    neighbours, so the output for a match depends on the match text alone:
    it is computed once and then looked up. `reference_word_analysis` runs
    the filters themselves on the token; `_direct_analysis` does the same
    steps without Token objects (a rebuild meets ~100,000 new words), and
    the analysis tests check that both agree."""
    key = (config, stemming, morph)
    fn = _WORD_CACHES.get(key)
    if fn is not None:
        return fn
    stemfn = config.stem_function() if stemming and morph else None
    stoplist = (STOPWORDS if config.fold_accents else _RAW_STOPWORDS) if stemming else None

    @lru_cache(maxsize=WORD_CACHE_SIZE)
    def analyse(match: str) -> tuple[Part, ...]:
        return _direct_analysis(match, config, stoplist, stemfn)

    _WORD_CACHES[key] = analyse
    return analyse


def reference_word_analysis(
    match: str, config: AnalysisConfig, stemming: bool, morph: bool = True
) -> tuple[Part, ...]:
    """What the reference filters make of one tokenizer match (the definition
    `_direct_analysis` must agree with)."""
    filters = reference_chain(config, stemming).items[1:]
    if not morph:
        filters = [f for f in filters if not getattr(f, "is_morph", False)]
    token = Token(positions=False, chars=True, removestops=False)
    token.text = _fix_acronym(match)
    token.boost, token.stopped = 1.0, False
    token.startchar, token.endchar = 0, len(match)
    stream: Iterator[Token] = iter([token])
    for f in filters:
        stream = f(stream)
    return tuple((t.text, t.startchar, t.endchar, bool(t.stopped)) for t in stream)


_APOSTROPHE_SPLIT = re.compile(r"['’`]")


def _direct_analysis(
    match: str,
    config: AnalysisConfig,
    stoplist: frozenset[str] | None,
    stemfn: Callable[[str], str] | None,
) -> tuple[Part, ...]:
    """The filters' steps in order, on plain strings: ElisionFilter,
    LowercaseFilter, AccentFoldFilter, ItalianStopFilter, ItalianStemFilter."""
    text = _fix_acronym(match)
    if config.elision and any(a in text for a in APOSTROPHES):
        pieces = []
        offset = 0
        parts = _APOSTROPHE_SPLIT.split(text)
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
        out.append((word, start, end, stopped))
    return tuple(out)


def _fix_acronym(text: str) -> str:
    """U.S.A. -> USA, as ItalianTokenizer does."""
    if text[-1] == "." and text.count(".") >= 2 and not text[0].isdigit():
        return text.replace(".", "")
    return text


class ItalianAnalyzer(Tokenizer):
    """The whole chain (tokenizer, elision, lower case, folding, stop words,
    stemming) in one pass: a regex match, then one cached lookup per word
    instead of a generator hop per filter per token. Indexing calls
    `term_positions` / `term_counts`, which skip Token objects altogether.

    Only the configuration is kept (and pickled into the index's schema);
    the caches live in this module."""

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
        analyse = _word_analysis(self.config, self.stemming, not no_morph)
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        pos = start_pos
        for match in TOKEN_PATTERN.finditer(value):
            for text, start, end, stopped in analyse(match.group()):
                if stopped and removestops:
                    continue
                token.text = text
                token.boost = 1.0
                token.stopped = stopped
                if keeporiginal:
                    token.original = _fix_acronym(match.group())
                if positions:
                    token.pos = pos
                if chars:
                    offset = start_char + match.start()
                    token.startchar = offset + start
                    token.endchar = offset + end
                yield token
            pos += 1

    def word_parts(self, match: str) -> tuple[Part, ...]:
        """What the chain makes of one tokenizer match: (text, start, end,
        stopped) per token, offsets relative to the match (cached)."""
        return _word_analysis(self.config, self.stemming, True)(match)

    def term_positions(self, value: str) -> dict[str, list[int]]:
        """Indexed term -> its positions in `value` (stop words left out)."""
        analyse = _word_analysis(self.config, self.stemming, True)
        out: dict[str, list[int]] = {}
        for pos, match in enumerate(TOKEN_PATTERN.findall(value)):
            for text, _, _, stopped in analyse(match):
                if stopped:
                    continue
                found = out.get(text)
                if found is None:
                    out[text] = [pos]
                else:
                    found.append(pos)
        return out

    def term_counts(self, value: str) -> dict[str, int]:
        """Indexed term -> how many times it occurs in `value` (stop words left out)."""
        analyse = _word_analysis(self.config, self.stemming, True)
        out: dict[str, int] = {}
        get = out.get
        for match in TOKEN_PATTERN.findall(value):
            for text, _, _, stopped in analyse(match):
                if not stopped:
                    out[text] = get(text, 0) + 1
        return out


_PAIR_CACHES: dict[AnalysisConfig, Callable[[str], tuple[tuple[bytes, ...], tuple[bytes, ...]]]] = {}


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
        def analyse(match: str) -> tuple[tuple[bytes, ...], tuple[bytes, ...]]:
            return (
                tuple(t.encode("utf-8") for t, _, _, stopped in exact(match) if not stopped),
                tuple(t.encode("utf-8") for t, _, _, stopped in stemmed(match) if not stopped),
            )

        _PAIR_CACHES[config] = analyse
    counts: dict[bytes, int] = {}
    positions: dict[bytes, list[int]] = {}
    count = counts.get
    for pos, match in enumerate(TOKEN_PATTERN.findall(value)):
        words, stems = analyse(match)
        for word in words:
            found = positions.get(word)
            if found is None:
                positions[word] = [pos]
            else:
                found.append(pos)
        for stem_ in stems:
            counts[stem_] = count(stem_, 0) + 1
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
    return " ".join(fold(value.lower()).split())
