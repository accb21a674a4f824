"""From the reader's query text to whoosh queries.

whoosh's parser reads the syntax (quotes, OR, NOT, -word, word*, fields)
on the unstemmed `exact` field; a rewrite pass then maps each plain word to
the stemmed fields, adds synonyms and typo corrections, and builds the
graded fallback and the proximity boost used by the searcher.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

from whoosh import query as wq
from whoosh.fields import Schema
from whoosh.qparser import QueryParser, plugins
from whoosh.query.compound import PreloadedOr
from whoosh.reading import IndexReader

from .analysis import DEFAULT_ANALYSIS, TypedWord, fold, nfc, normalize_key, typed_words
from .dictionary import Dictionary, italian
from .graded import BestOf, GradedOr
from .numbers import with_number_words
from .ranking import Ranking
from .spelling import RESPELL_RATIO, TYPO_RATIO, close_words, max_typos, slips
from .synonyms import Synonyms
from .thesaurus import MAX_PER_WORD, system_thesaurus

MAX_QUERY_CHARS = 1000
MAX_WORDS = 40
MIN_PREFIX = 2
MAX_EXPANSION = 200
# Bounds on the costliest parts of a query, so that no query text can keep
# the searcher busy for long: wildcard patterns (each expands to many terms),
# words inside quotes (phrase matching on very common words is slow), and
# typo correction (a scan of the vocabulary per unknown word).
MAX_PATTERNS = 4
MAX_PHRASE_WORDS = 12
MAX_SLOP = 10
# Articles holding every word of the phrases (their rarest word bounds it):
# each one needs a check of word positions, the slow part of a phrase. The
# bound grows with the archive past MAX_PHRASE_CANDIDATES, up to a share of
# it: in a million articles "tampone" is in tens of thousands, and
# "abbiamo il tampone" is still a reasonable phrase (0.9 s the first time,
# then cached); "il la di", in nearly every article, is not.
MAX_PHRASE_CANDIDATES = 15_000
MAX_PHRASE_SHARE = 0.10
MAX_TYPO_WORDS = 4
# Known words tried as possible typos when no article holds every word.
MAX_RESPELL_WORDS = 6
MAX_TYPO_CHARS = 30

# The English names of the stored author and category fields ("author:") would
# otherwise reach fields that are stored but not searchable.
FIELD_ALIASES = {
    "title": ["titolo"],
    "author_key": ["autore", "author"],
    "category_key": ["categoria", "category"],
}
KEY_FIELDS = ("author_key", "category_key")
# The fields a query may name. The others (id, date, year) are the engine's
# own: whoosh's field parsers raise on what a reader can type there
# (`date:"roma"`: ValueError, `date:""`: a bare Exception), so `date:` is
# read as a plain word, as an unknown `foo:` always was.
QUERY_FIELDS = ("exact", "text", "title", *KEY_FIELDS)


class QueryError(ValueError):
    """A query the engine cannot run; the message is for the reader (Italian)."""


@dataclass
class Highlight:
    """What to mark in a text: what the search itself matched (search.snippets).

    `stems`: a word is marked when its stem is one of these (the query's
    words, one-word synonyms, typo corrections), so the inflections the
    stemmed search finds are marked too. `words`: exact folded words (a
    wildcard's expansions: the words it searched, not every word sharing its
    literal start). `phrases`: (folded words, slop) of quoted phrases and
    multi-word synonyms, marked only where the words stand together, as the
    phrase query matched them: "covid 19" never marks a bare "19"."""

    stems: set[str] = field(default_factory=set)
    words: set[str] = field(default_factory=set)
    phrases: set[tuple[tuple[str, ...], int]] = field(default_factory=set)

    def add_phrase(self, words: Iterable[str], slop: int = 1) -> None:
        """A phrase; a one-word phrase is that exact word."""
        words = tuple(words)
        if len(words) > 1:
            self.phrases.add((words, max(1, slop)))
        elif words:
            self.words.add(words[0])


@dataclass
class ParsedQuery:
    text: str
    strict: wq.Query
    loose: wq.Query | None
    proximity: wq.Query | None
    highlight: Highlight
    suggestion: str | None = None
    # The query settled against the archive's matches (QueryBuilder.refine),
    # given a function counting a query's matches and whether every word
    # already meets in some article; None when there is nothing to settle.
    refine: Callable[[Callable[[wq.Query], int], bool], ParsedQuery] | None = None
    # The reader quoted a phrase (not negated): those exact words were asked for.
    quotes_phrase: bool = False
    # What gives the fallback's optional bonus for thesaurus synonyms of the
    # words (search.thesaurus): it ranks, never matches. Called only when a
    # search falls back: the thesaurus is not even read for the others.
    related_of: Callable[[], wq.Query | None] | None = field(default=None, repr=False)

    @cached_property
    def related(self) -> wq.Query | None:
        return self.related_of() if self.related_of is not None else None


def _parser(schema: Schema) -> QueryParser:
    # Same field objects (analyzers), only the fields a query may name.
    parser = QueryParser("exact", Schema(**{name: schema[name] for name in QUERY_FIELDS if name in schema}))
    # Apostrophes are elisions in Italian, never quotes; ranges are not offered.
    parser.remove_plugin_class(plugins.SingleQuotePlugin)
    parser.remove_plugin_class(plugins.RangePlugin)
    # A minus only negates at the start of a word, so Covid-19 stays one term.
    parser.add_plugin(
        plugins.PlusMinusPlugin(plusexpr=r"(?:(?<=\s)|^)\+(?=\w)", minusexpr=r"(?:(?<=\s)|^)-(?=[\w\"])")
    )
    parser.add_plugin(plugins.FieldAliasPlugin(FIELD_ALIASES))
    return parser


_PARSERS: dict[int, tuple[Schema, QueryParser]] = {}


def parser_for(schema: Schema) -> QueryParser:
    """One parser per open index schema (schemas are unhashable: key by id)."""
    entry = _PARSERS.get(id(schema))
    if entry is None or entry[0] is not schema:
        if len(_PARSERS) > 16:
            _PARSERS.clear()
        entry = _PARSERS[id(schema)] = (schema, _parser(schema))
    return entry[1]


# Answers a memo of _remembered holds before it is emptied.
MEMO_KEYS = 100_000


def _remembered(owner: object, name: str, key: Hashable, compute: Callable[[], Any]) -> Any:
    """compute(), remembered under `key` in the dict `name` kept on `owner`,
    an object that outlives the query (the index's reader or analyzer);
    the dict is emptied past MEMO_KEYS. Safe between threads: at worst two
    compute the same answer."""
    memo = owner.__dict__.setdefault(name, {})
    found = memo.get(key, memo)  # the memo itself: not there (None is an answer)
    if found is memo:
        if len(memo) > MEMO_KEYS:
            memo.clear()
        found = memo[key] = compute()
    return found


class QueryBuilder:
    """Builds a ParsedQuery against one index reader."""

    def __init__(
        self, reader: IndexReader, synonyms: Synonyms, ranking: Ranking, dictionary: Dictionary | None = None
    ) -> None:
        self.reader = reader
        # Words it knows are never taken for typos (search.dictionary).
        self.dictionary = dictionary if dictionary is not None else italian()
        # Number words and digits are synonyms too (search.numbers).
        self.synonyms = with_number_words(synonyms) if ranking.number_words else synonyms
        self.ranking = ranking
        self.highlight = Highlight()
        self.corrections: dict[str, str] = {}
        self.plain_stems: list[str] = []
        self.plain_words: list[str] = []
        # Top-level plain words and the clause each became (see respell).
        self.word_clauses: list[tuple[str, wq.Query]] = []
        # Each positive phrase's clause and its words' clauses (see loosen).
        self.phrase_words: list[tuple[wq.Query, list[wq.Query]]] = []
        self.quoted = False
        # Unknown words and their close spellings, most common first.
        self.typo_options: dict[str, list[str]] = {}
        # Query words go through the index's own analyzer, so an index built
        # with other analysis choices (see the relevance harness) still works.
        self._stem_analyzer = reader.schema["text"].analyzer
        self._stems: dict[str, str | None] = {}
        self._config = getattr(self._stem_analyzer, "config", DEFAULT_ANALYSIS)
        # The query's words as typed (accents, compounds' parts), by exact form.
        self.typed: dict[str, TypedWord] = {}
        # Words whose stem as meant differs from their folded form's ("sanita"
        # typed for "sanità"): also searched as written, in `exact`.
        self._accented: set[str] = set()
        # Set when a query holds only stop words: they are searched in `exact`.
        self._stopword_fallback = False
        self._typo_words = 0
        # Articles a close spelling must be in to count, while typo_candidates runs.
        self.least_frequency = 0
        self._expansion = MAX_EXPANSION

    def doc_frequency(self, fieldname: str, text: str) -> int:
        """The reader's doc_frequency, remembered on the reader for as long as
        it lives (its segments never change): whoosh looks each up in every
        segment's term dictionary through file reads, ~30 µs a segment, and a
        search asks for ~100 (9% of a filtered search at 1M articles)."""
        return _remembered(
            self.reader, "_archivio_df", (fieldname, text), lambda: self.reader.doc_frequency(fieldname, text)
        )

    def stem(self, word: str) -> str | None:
        """The indexed form of a (folded) word as the reader meant it; None for
        a stop word. Stems come from accented words: a word typed with its
        accents is stemmed as typed ("sanità": sanit); one typed without them
        whose final vowel, accented, makes another stem the archive holds is
        read that way ("sanita": sanit, not san of "sano"), since Italian
        writes accents on the final vowel only."""
        if word not in self._stems:
            typed = self.typed.get(word)
            plain = self._analysed_stem(word)
            meant = plain
            if typed is not None and typed.typed != word:
                meant = self._analysed_stem(typed.typed)
            elif plain is not None and word.isascii() and word[-1:] in _ACCENTED:
                accented = self._analysed_stem(word[:-1] + _ACCENTED[word[-1]])
                if accented not in (None, plain) and self.doc_frequency("text", accented) > 0:
                    meant = accented
            if meant != plain and meant is not None:
                self._accented.add(word)
            self._stems[word] = meant
        return self._stems[word]

    def _analysed_stem(self, word: str) -> str | None:
        # Remembered on the analyzer, which outlives the query (the index's
        # schema holds it): the thesaurus bonus alone stems ~90 words a
        # query, at ~5 µs each through the analyzer's tokens.
        def analysed() -> str | None:
            tokens = [t.text for t in self._stem_analyzer(word)]
            return tokens[0] if len(tokens) == 1 else (None if not tokens else fold(word))

        return _remembered(self._stem_analyzer, "_archivio_stems", word, analysed)

    def build(self, text: str) -> ParsedQuery:
        # Lone surrogates (undecodable bytes in a command-line argument) are not text.
        text = nfc(_SURROGATES.sub(" ", text).strip())
        if not text:
            raise QueryError("Scrivi almeno una parola da cercare.")
        if len(text) > MAX_QUERY_CHARS:
            raise QueryError(f"La ricerca è troppo lunga: al massimo {MAX_QUERY_CHARS} caratteri.")
        if len(text.split()) > MAX_WORDS:
            raise QueryError(f"La ricerca ha troppe parole: al massimo {MAX_WORDS}.")
        try:
            parsed = parser_for(self.reader.schema).parse(text)
        except Exception:  # whoosh's parser has no single error type (nor Italian messages)
            raise QueryError(
                "Ricerca non comprensibile: controlla virgolette, parentesi e campi "
                "(titolo:, autore:, categoria:)."
            ) from None
        self._check_costs(parsed)
        self.typed = typed_words(text, self._config)
        strict = self.rewrite(parsed, top=True)
        strict = strict.normalize() if strict is not None else wq.NullQuery
        if strict is wq.NullQuery or not _has_positive(strict):
            # Only stop words, or names that are stop words too ("Fosse", "chi
            # sono io"): searched as written, in the unstemmed `exact` field.
            self.highlight, self.plain_stems, self.plain_words, self.word_clauses = Highlight(), [], [], []
            self._stopword_fallback = True
            strict = self.rewrite(parsed, top=True)
            strict = strict.normalize() if strict is not None else wq.NullQuery
        if strict is wq.NullQuery or not _has_positive(strict):
            raise QueryError(
                "La ricerca non contiene parole utili (solo parole comuni come «il», «di», «che», "
                "o solo esclusioni). Aggiungi almeno una parola significativa."
            )
        parsed = ParsedQuery(
            text=text,
            strict=strict,
            loose=self.loosen(strict),
            proximity=self.proximity(),
            highlight=self.highlight,
            suggestion=self.suggest(text),
            quotes_phrase=self.quoted,
            related_of=self.related,
        )
        if isinstance(strict, wq.And):
            parsed.refine = lambda count, all_meet: self.refine(parsed, count, all_meet)
        return parsed

    def _check_costs(self, parsed: wq.Query) -> None:
        """Refuses the query shapes whose cost has no useful bound."""
        patterns = phrase_words = candidates = 0
        for q in _walk(parsed):
            if isinstance(q, wq.Every):
                raise QueryError(
                    "«*» da solo non è una ricerca: scrivi almeno una parola "
                    "(le ricerche che iniziano con un carattere jolly non sono supportate)."
                )
            if isinstance(q, (wq.Prefix, wq.Wildcard)):
                patterns += 1
            elif isinstance(q, wq.Phrase):
                phrase_words += len(q.words)
                if q.slop > MAX_SLOP:
                    raise QueryError(
                        f"Distanza tra le parole della frase troppo grande (~{q.slop}): "
                        f"al massimo ~{MAX_SLOP}."
                    )
                candidates += min((self.doc_frequency(q.fieldname, w) for w in q.words), default=0)
        if patterns > MAX_PATTERNS:
            raise QueryError(f"Troppi caratteri jolly (* o ?): al massimo {MAX_PATTERNS} parole per ricerca.")
        if phrase_words > MAX_PHRASE_WORDS:
            raise QueryError(
                f"Frase tra virgolette troppo lunga: al massimo {MAX_PHRASE_WORDS} parole "
                "(scegli le più caratteristiche)."
            )
        if candidates > max(MAX_PHRASE_CANDIDATES, MAX_PHRASE_SHARE * self.reader.doc_count()):
            raise QueryError(
                "Frase tra virgolette fatta solo di parole molto comuni: "
                "aggiungi almeno una parola più caratteristica."
            )
        self._expansion = MAX_EXPANSION // max(patterns, 1)

    # -- rewriting the parsed tree -------------------------------------------------

    def rewrite(self, q: wq.Query, top: bool = False, negated: bool = False) -> wq.Query | None:
        if isinstance(q, wq.Not):
            child = self.rewrite(q.query, negated=not negated)
            return wq.Not(child) if child is not None else None
        if isinstance(q, wq.AndNot):
            positive = self.rewrite(q.a, top=top, negated=negated)
            negative = self.rewrite(q.b, negated=not negated)
            if positive is None:
                return None
            return wq.AndNot(positive, negative) if negative is not None else positive
        if isinstance(q, wq.BinaryQuery):  # AndMaybe (+word), Require, Otherwise
            a = self.rewrite(q.a, top=top, negated=negated)
            b = self.rewrite(q.b, negated=negated)
            if a is None or b is None:
                return a if b is None else b
            return q.__class__(a, b)
        if isinstance(q, wq.And):
            children = self.rewrite_sequence(q.subqueries, top=top, negated=negated)
            return wq.And(children) if children else None
        if isinstance(q, wq.CompoundQuery):
            children = [c for c in (self.rewrite(s, negated=negated) for s in q.subqueries) if c is not None]
            return q.__class__(children) if children else None
        if isinstance(q, wq.Term):
            if q.fieldname == "exact":
                return self.word_clause(q.text, negated, top=top)
            if q.fieldname in KEY_FIELDS:
                return self.key_clause(q.fieldname, str(q.text))
            if not negated and q.fieldname == "title":
                self.highlight.stems.add(q.text)
            return q
        if isinstance(q, wq.Phrase):
            if q.fieldname in KEY_FIELDS:
                return self.key_clause(q.fieldname, " ".join(q.words))
            if not _has_positions(self.reader, q.fieldname):
                # `text:"..."` on an index whose `text` keeps no positions: all the words.
                return wq.And([wq.Term(q.fieldname, w) for w in q.words])
            if not negated:
                self.highlight.add_phrase(q.words, q.slop)
                self.quoted = True
            clause = self.phrase_clause(q)
            if not negated and q.fieldname == "exact":
                self.phrase_words.append((clause, self.relaxed_phrase(q.words)))
            return clause
        if isinstance(q, (wq.Prefix, wq.Wildcard)):
            return self.expand_pattern(q, negated)
        if q is wq.NullQuery:
            return None
        return q

    def rewrite_sequence(self, subqueries: list[wq.Query], top: bool, negated: bool) -> list[wq.Query]:
        """Rewrites an AND sequence, replacing multi-word synonyms first."""
        out: list[wq.Query] = []
        i = 0
        while i < len(subqueries):
            q = subqueries[i]
            run = _word_run(subqueries, i)
            n, variants = self.synonym_match(run) if run else (0, [])
            if n > 1 and not negated:
                words = run[:n]
                out.append(self.synonym_group(tuple(words), variants))
                i += n
                continue
            clause = self.rewrite(q, top=top, negated=negated)
            if clause is not None:
                out.append(clause)
            i += 1
        return out

    def word_clause(self, word: str, negated: bool, top: bool = False) -> wq.Query | None:
        """A plain word: its stem in text and title, plus synonyms or typo fixes."""
        stemmed = self.stem(word)
        if stemmed is None:
            if not self._stopword_fallback:
                return None
            if not negated:
                self.highlight.words.add(word)
            return wq.Term("exact", word)
        if negated:
            return wq.Or(self.written_clauses(word, [wq.Term("text", stemmed)]))
        _, variants = self.synonym_match([word])
        own = self.written_clauses(word, [self.stem_clause(word)])
        clause = own[0] if len(own) == 1 else wq.Or(own)
        if self.ranking.exact_form_boost and word not in self._accented:
            # The word as typed outranks its stem's other forms (porto, not
            # porta). A bonus only, never a match: `exact` is accent-folded,
            # and "sara" must not find "sarà", a stop word.
            clause = wq.AndMaybe(clause, wq.Term("exact", word, boost=self.ranking.exact_form_boost))
        self.highlight.stems.add(stemmed)
        if top:
            self.plain_stems.append(stemmed)
            self.plain_words.append(word)
        others = [self.variant_clause(variant) for variant in variants]
        if not variants:
            others += [self.typo_clause(candidate) for candidate in self.typo_candidates(word)]
        if others and self.ranking.max_alternatives:
            # One word, one weight: the best of the word and its synonyms or
            # spellings, not their sum (an article naming "Covid-19" and
            # "SARS-CoV-2" is not five times about "coronavirus").
            clause = BestOf([clause, *others])
        elif others:
            clause = wq.Or([clause, *others])
        if top:
            self.word_clauses.append((word, clause))
        return clause

    def synonym_match(self, words: list[str]) -> tuple[int, list[tuple[str, ...]]]:
        """The longest synonym form that `words` start with, as written, else
        by stems (Ranking.synonyms_by_stem): (its length, its variants)."""
        n, variants = self.synonyms.match(words, 0)
        if n or not self.ranking.synonyms_by_stem:
            return n, variants
        stems = [self.stem(w) or w for w in words]  # a stop word as written, as in the forms
        return self.synonyms.match_stems(stems, 0, self._analysed_stem, self._config)

    def typo_clause(self, candidate: str) -> wq.Query:
        """A close spelling standing in for a misspelt word, weighted below
        typed words, with the synonyms the spelling itself would bring:
        "coronavirs" finds what "coronavirus" finds (covid, sars-cov-2...)."""
        self.highlight.stems.add(self.stem(candidate))
        clause = self.stem_clause(candidate)
        _, variants = self.synonym_match([candidate])
        if variants:
            clause = wq.Or([clause] + [self.variant_clause(v) for v in variants])
        clause.boost = self.ranking.typo_boost
        return clause

    def written_clauses(self, word: str, clauses: list[wq.Query]) -> list[wq.Query]:
        """`clauses` for a word, plus its spellings as written: a word whose
        accents change its stem, as its exact (folded) form (the articles
        that wrote "sanita" for "sanità"); a compound asked for by its joined
        form, as the phrase of its parts ("centro destra")."""
        out = list(clauses)
        if word in self._accented:
            out.append(wq.Term("exact", word))
        typed = self.typed.get(word)
        if typed is not None and typed.parts:
            out.append(wq.Phrase("exact", list(typed.parts)))
            self.highlight.add_phrase(typed.parts)
        return out

    def phrase_clause(self, q: wq.Phrase) -> wq.Query:
        """A phrase; with compounds asked for by their joined form, also the
        phrase with their parts ("il centro-destra": il centrodestra, il
        centro destra), the parts being where a hyphenated text has them."""
        if q.fieldname != "exact":
            return q
        words: list[str] = []
        for word in q.words:
            typed = self.typed.get(word)
            words += list(typed.parts) if typed is not None and typed.parts else [word]
        if words == list(q.words):
            return q
        self.highlight.add_phrase(words, q.slop)
        return wq.Or([q, wq.Phrase("exact", words, slop=q.slop, boost=q.boost)])

    def relaxed_phrase(self, words: list[str]) -> list[wq.Query]:
        """A phrase's words as the fallback's word groups: each word that is
        not a stop word, by its stem, once."""
        by_stem: dict[str, str] = {}
        for word in words:
            stemmed = self.stem(word)
            if stemmed is not None:
                by_stem.setdefault(stemmed, word)
        return [self.stem_clause(word) for word in by_stem.values()]

    def stem_clause(self, word: str, boost: float = 1.0) -> wq.Query:
        s = self.stem(word) or word
        if not self.ranking.title_boost:
            return wq.Term("text", s, boost=boost)
        return wq.Or(
            [
                wq.Term("text", s, boost=boost),
                wq.Term("title", s, boost=boost * self.ranking.title_boost),
            ]
        )

    def variant_clause(self, words: tuple[str, ...]) -> wq.Query:
        if len(words) == 1:
            self.highlight.stems.add(self.stem(words[0]) or words[0])
            return self.stem_clause(words[0])
        self.highlight.add_phrase(words)
        return wq.Phrase("exact", list(words))

    def synonym_group(self, words: tuple[str, ...], variants: list[tuple[str, ...]]) -> wq.Query:
        return wq.Or([self.variant_clause(words)] + [self.variant_clause(v) for v in variants])

    def typo_candidates(self, word: str) -> list[str]:
        """Close spellings of a word that looks misspelt, most common first.

        A word looks misspelt when the Italian dictionary doesn't know it and
        the archive either lacks it or holds a close spelling TYPO_RATIO times
        as frequent ("coronavirs", 4 articles of the dev corpus, next to
        "coronavirus", 7,640). Only such frequent spellings are offered: for
        a missing word, those not themselves TYPO_RATIO times rarer than
        another of its close spellings, unless the dictionary knows them
        (not "corovirus", 1 article)."""
        maxdist = max_typos(word)
        if not maxdist or len(word) > MAX_TYPO_CHARS or self._typo_words >= MAX_TYPO_WORDS:
            return []
        if self.dictionary.knows(word):
            return []
        own = self.doc_frequency("exact", word)
        if not own:
            # An unseen inflection of an archive word ("regioni" where only
            # "regione" occurs) is as common as its stem.
            stemmed = self.stem(word)
            own = self.doc_frequency("text", stemmed) if stemmed else 0
        if own * TYPO_RATIO > self.reader.doc_count():
            return []  # no spelling can be common enough: no scan
        self._typo_words += 1
        # A backend may screen its neighbours with it (search.pg.vocabulary).
        self.least_frequency = least = TYPO_RATIO * own
        try:
            close = close_words(word, maxdist, self.known_words, self.spelling_neighbours)
        finally:
            self.least_frequency = 0
        found = []
        for distance, candidate in close:
            frequency = self.doc_frequency("exact", candidate)
            if frequency >= least and self.stem(candidate) is not None:
                found.append((distance, -frequency, candidate))
        commonest = max((-f for _, f, _ in found), default=0)
        found = [c for c in found if -c[1] * TYPO_RATIO > commonest or self.dictionary.knows(c[2])]
        found.sort()
        best = [c for _, _, c in found[: self.ranking.max_typo_candidates]]
        if best:
            self.corrections[word] = best[0]
            self.typo_options[word] = best
        return best

    def known_words(self, words: Iterable[str]) -> set[str]:
        """Those of `words` in the archive's vocabulary (accent-folded,
        unstemmed). A backend answers it faster from its own vocabulary
        (search.whoosh_sqlite.querybuilder, search.pg.vocabulary)."""
        return {w for w in words if self.doc_frequency("exact", w) > 0}

    def spelling_neighbours(self, word: str, maxdist: int) -> Iterable[str | bytes]:
        """Vocabulary words that may lie within `maxdist` edits of `word`, with
        its first letter: a superset, screened again by the caller. Here every
        word with that letter; a backend narrows it (see known_words)."""
        return self.reader.expand_prefix("exact", word[:1])

    def key_clause(self, fieldname: str, value: str) -> wq.Query:
        return key_query(self.reader, fieldname, value)

    def refine(self, parsed: ParsedQuery, count: Callable[[wq.Query], int], all_meet: bool) -> ParsedQuery:
        """The query settled by what the archive holds (`count` counts a
        query's matches): respelled when the words never all meet, and its
        suggestion chosen by context."""
        if not all_meet and self.ranking.respell and len(self.word_clauses) > 1:
            parsed = self.respell(parsed, count) or parsed
        if any(len(options) > 1 for options in self.typo_options.values()):
            parsed = self.choose(parsed, count)
        return replace(parsed, refine=None)

    def placed_words(
        self, strict: wq.And, first: int | None = None
    ) -> Iterator[tuple[str, wq.Query, wq.Query]]:
        """(word, its clause, the clause as it stands in `strict`) for the
        top-level words (the `first` ones) whose clause normalize() left whole."""
        for word, clause in self.word_clauses[:first]:
            target = clause.normalize()
            if target in strict.subqueries:
                yield word, clause, target

    def choose(self, parsed: ParsedQuery, count: Callable[[wq.Query], int]) -> ParsedQuery:
        """ "Forse cercavi" for an unknown word with several close spellings:
        the one found with the other words in most articles, not merely the
        commonest ("maestro di judo milazo": Milazzo, not Milano). The query
        itself already matches every close spelling; only the suggestion
        changes. Ties prefer a slip of the word (spelling.slips: "vacino" is
        "vaccino" rather than "vicino" when both meet the other words), then
        the commoner word."""
        changed = False
        for word, _, target in self.placed_words(parsed.strict):
            options = self.typo_options.get(word, [])
            if len(options) < 2:
                continue

            def meets(candidate: str, target: wq.Query = target) -> int:
                return count(_swapped(parsed.strict, target, self.stem_clause(candidate)))

            slipped = set(slips(word))
            # max keeps the first of equals: the commoner.
            best = max(options, key=lambda c, slipped=slipped: (meets(c), c in slipped))
            if best != self.corrections.get(word):
                self.corrections[word] = best
                changed = True
        return replace(parsed, suggestion=self.suggest(parsed.text)) if changed else parsed

    def respell(self, parsed: ParsedQuery, count: Callable[[wq.Query], int]) -> ParsedQuery | None:
        """For a query no article fully matches: one known word respelled by a
        slip (spelling.slips) so that all the words meet ("camilla giorgi" typed, the
        articles write "Camila Giorgi"). Among the respellings that find
        something, the one finding most articles wins (the other words pick
        the reading, as a proofreader would); None when none does.

        Only here are words that typo_candidates left alone tried as typos:
        when the words as typed meet in some article, that is what the reader
        meant. Never a word of the Italian dictionary ("valle" is not respelled
        "vale"), and only towards a spelling in RESPELL_RATIO times as many
        articles ("accompagnati" is not respelled "accompgnati", 1 article)."""
        best: tuple[int, str, str, wq.Query] | None = None
        for word, clause, target in self.placed_words(parsed.strict, MAX_RESPELL_WORDS):
            if not self.respellable(word):
                continue
            stemmed = self.stem(word)
            own = self.doc_frequency("exact", word)
            known = self.known_words(c for c in slips(word) if c[:1] == word[:1])
            for candidate in slips(word):
                if candidate not in known:
                    continue
                if self.stem(candidate) in (None, stemmed):
                    continue
                frequency = self.doc_frequency("exact", candidate)
                if frequency <= own or frequency < RESPELL_RATIO * own:
                    continue
                alternative = wq.Or([clause, self.stem_clause(candidate, boost=self.ranking.typo_boost)])
                strict = _swapped(parsed.strict, target, alternative)
                found = count(strict)
                if found and (best is None or found > best[0]):
                    best = (found, word, candidate, strict)
        if best is None:
            return None
        _, word, candidate, strict = best
        self.corrections[word] = candidate
        highlight = replace(self.highlight, stems=self.highlight.stems | {self.stem(candidate) or candidate})
        return replace(
            parsed,
            strict=strict,
            loose=self.loosen(strict),
            highlight=highlight,
            suggestion=self.suggest(parsed.text),
        )

    def respellable(self, word: str) -> bool:
        """Whether respell may try slips of `word`: not corrected already, long
        enough for a typo, and not a word of the Italian dictionary."""
        return word not in self.corrections and max_typos(word) > 0 and not self.dictionary.knows(word)

    def expand_pattern(self, q: wq.Query, negated: bool) -> wq.Query | None:
        """word* and wild?cards, with bounded expansion over the vocabulary."""
        text = q.text + "*" if isinstance(q, wq.Prefix) else q.text
        literal = re.match(r"[^*?]*", text).group()
        if len(literal) < MIN_PREFIX:
            raise QueryError(
                f"«{text}»: metti almeno {MIN_PREFIX} lettere prima di * o ? "
                "(le ricerche che iniziano con un carattere jolly non sono supportate)."
            )
        pattern = re.compile(re.escape(text).replace(r"\*", ".*").replace(r"\?", ".") + "$")
        terms = []
        for term in self.reader.expand_prefix(q.fieldname, literal):
            term = term.decode() if isinstance(term, bytes) else term
            if pattern.match(term):
                terms.append(term)
            if len(terms) >= self._expansion * 5:
                break
        terms.sort(key=lambda t: -self.doc_frequency(q.fieldname, t))
        terms = terms[: self._expansion]
        if not negated and q.fieldname in ("exact", "text", "title"):
            # The expanded words themselves (stems in the stemmed fields): what the query searches.
            marks = self.highlight.words if q.fieldname == "exact" else self.highlight.stems
            marks.update(terms)
        if not terms:
            return wq.Term(q.fieldname, literal)
        return PreloadedOr([wq.Term(q.fieldname, t) for t in terms])

    # -- derived queries ---------------------------------------------------------------

    def loosen(self, strict: wq.Query) -> wq.Query | None:
        """The graded fallback: any term may match; more matching terms rank
        higher. A quoted phrase also counts as its words (Ranking.relax_phrases)."""
        if isinstance(strict, wq.AndNot):
            loose = self.loosen(strict.a)
            return wq.AndNot(loose, strict.b) if loose is not None else None
        if not isinstance(strict, wq.And):
            # One clause: nothing to grade. A lone quoted phrase stays exact:
            # the reader asked for those words in that order, nothing else.
            return None
        positives = [c for c in strict.subqueries if not isinstance(c, wq.Not)]
        negatives = [c.query for c in strict.subqueries if isinstance(c, wq.Not)]
        if len(positives) < 2:
            return None
        positives = [group for clause in positives for group in self.groups_of(clause)]
        # The coordination factor counts the word groups a document holds
        # (a wildcard's expansions are one group).
        loose = GradedOr(positives, exponent=self.ranking.coord_exponent)
        return wq.AndNot(loose, wq.Or(negatives)) if negatives else loose

    def groups_of(self, clause: wq.Query) -> list[wq.Query]:
        """The fallback's word groups of one clause of the strict query: the
        clause itself, and for a phrase (relaxed) its words too."""
        if self.ranking.relax_phrases:
            for phrase, words in self.phrase_words:
                if clause == phrase:
                    return [clause, *words]
        return [clause]

    def proximity(self) -> wq.Query | None:
        """Optional bonus when the words appear close together, or as a title phrase."""
        stems = self.plain_stems
        if len(stems) < 2 or not self.ranking.proximity_boost:
            return None
        # Indexes built since `text` lost its positions measure distances
        # between the words as typed, in `exact`.
        near = ("text", stems) if _has_positions(self.reader, "text") else ("exact", self.plain_words)
        return wq.Or(
            [
                wq.Phrase(*near, slop=self.ranking.proximity_slop, boost=self.ranking.proximity_boost),
                wq.Phrase("title", stems, slop=2, boost=self.ranking.proximity_boost),
            ]
        )

    def related(self) -> wq.Query | None:
        """The thesaurus bonus (search.thesaurus): for each plain word, the best
        of its first MAX_PER_WORD synonyms (those with a stem of their own),
        at Ranking.thesaurus_weight; None without a thesaurus or a weight."""
        weight = self.ranking.thesaurus_weight
        thesaurus = system_thesaurus() if weight > 0 and len(self.plain_stems) > 1 else None
        if thesaurus is None:
            return None
        own = set(self.plain_stems)
        groups: list[wq.Query] = []
        for stem in dict.fromkeys(self.plain_stems):
            stems: dict[str, str] = {}
            for word in thesaurus.synonyms(stem, self._analysed_stem):
                other = self._analysed_stem(fold(word))
                if other and other not in own and other not in stems:
                    stems[other] = word
                if len(stems) == MAX_PER_WORD:
                    break
            clauses = [self.stem_clause(fold(w), boost=weight) for w in stems.values()]
            if clauses:
                groups.append(clauses[0] if len(clauses) == 1 else BestOf(clauses))
        return wq.Or(groups) if groups else None

    def suggest(self, text: str) -> str | None:
        """ "Forse cercavi": the query with unknown words replaced by close ones."""
        if not self.corrections:
            return None

        def replace(m: re.Match) -> str:
            return self.corrections.get(fold(m.group().lower()), m.group())

        suggestion = re.sub(r"\w+", replace, text)
        return suggestion if suggestion != text else None


def _swapped(strict: wq.And, target: wq.Query, replacement: wq.Query) -> wq.Query:
    """`strict` with its clause `target` replaced."""
    return wq.And([replacement if q == target else q for q in strict.subqueries]).normalize()


def key_query(reader: IndexReader, fieldname: str, value: str) -> wq.Query:
    """A keyword field (author_key, category_key) matching `value`: its
    normalized key if present, else every key holding all its words."""
    key = normalize_key(value)
    if reader.doc_frequency(fieldname, key):
        return wq.Term(fieldname, key)
    words = key.split()
    keys = (k.decode() if isinstance(k, bytes) else k for k in reader.lexicon(fieldname))
    matching = [k for k in keys if words and all(w in k.split() for w in words)]
    if not matching:
        return wq.Term(fieldname, key)  # matches nothing, honestly
    return wq.Or([wq.Term(fieldname, k) for k in matching[:MAX_EXPANSION]])


def _word_run(subqueries: list[wq.Query], start: int) -> list[str]:
    """The plain words (exact terms) starting at `start`, for synonym matching."""
    words = []
    for q in subqueries[start:]:
        if isinstance(q, wq.Term) and q.fieldname == "exact":
            words.append(q.text)
        else:
            break
    return words


_SURROGATES = re.compile("[\ud800-\udfff]")
# A final vowel and its accent (the grave: Snowball reads acute accents as grave).
_ACCENTED = {"a": "à", "e": "è", "i": "ì", "o": "ò", "u": "ù"}


def _walk(q: wq.Query) -> Iterator[wq.Query]:
    yield q
    for child in q.children():
        yield from _walk(child)


def _has_positions(reader: IndexReader, fieldname: str) -> bool:
    if fieldname not in reader.schema:  # whoosh's Schema has no .get()
        return False
    fmt = reader.schema[fieldname].format
    return fmt is not None and fmt.supports("positions")


def _has_positive(q: wq.Query) -> bool:
    if isinstance(q, wq.Not):
        return False
    if isinstance(q, wq.AndNot):
        return _has_positive(q.a)
    if isinstance(q, wq.CompoundQuery):
        return any(_has_positive(c) for c in q.subqueries)
    return q is not wq.NullQuery
