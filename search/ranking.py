"""Ranking knobs in one place, so the relevance harness can compare them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Ranking:
    # Extra weight of a match in the title over the same match in the text.
    title_boost: float = 1.0
    # Bonus for documents where the query words appear close together or as
    # a title phrase. Off: on the dev queries it cost a little (MRR@10 0.979
    # with 1.0 and 0.5, 0.980 without; phrase kind 0.958 vs 0.969) and time.
    proximity_boost: float = 0.0
    proximity_slop: int = 4
    # Weight of a typo-corrected word relative to a typed one.
    typo_boost: float = 0.8
    max_typo_candidates: int = 3
    # When no article holds every word, try known words respelled (one edit).
    respell: bool = True
    # Coordination of the fallback (search.graded): a document holding m of
    # the query's n word groups scores its summed score times
    # (m / n) ** coord_exponent, so more matching words rank higher. 0: a
    # plain sum (rarer words first, however few).
    coord_exponent: float = 1.0
    # Fall back to any-term matching when all terms find nothing.
    fallback: bool = True
    # In the fallback of a query with other words, a quoted phrase also
    # counts as its words (a reader half-remembers a quote: "è mia
    # proprietà" for "è di mia proprietà"): each word one more group, the
    # exact phrase still one group of its own. A lone phrase stays exact.
    relax_phrases: bool = True
    # Weight of a word found as typed (accents folded) on top of its stem:
    # "porto" ranks an article about the port above one about a door
    # ("porta", the same Snowball stem). dev-hard MRR@10 0.869 -> 0.877 at
    # 0.6 (0.875 at 0.3 and 0.45, 0.877 at 1.0 with elision 0.883 -> 0.833);
    # dev unchanged (0.986).
    exact_form_boost: float = 0.6
    # One word, one weight: a word and its synonyms (or close spellings)
    # score as the best of them, not their sum. Neutral on both query sets
    # (dev 0.986, dev-hard 0.877, no target moved), but an article naming
    # "covid" and "sars-cov-2" no longer weighs twice "coronavirus".
    max_alternatives: bool = True
    # Number words and digits as synonyms (search.numbers): "quindici" = 15,
    # "ventunenne" = "21enne" = "21 anni".
    number_words: bool = True
    # Synonym forms also met by their stems when no form matches as written
    # ("pontefici" finds what "pontefice" finds).
    synonyms_by_stem: bool = True
    # Thesaurus synonyms of the words (search.thesaurus) as a bonus in the
    # fallback, at this weight (0: off).
    thesaurus_weight: float = 0.3
    # When fewer than FILL_BELOW articles hold every word, those holding
    # only some are ranked together with them by relevance, their score
    # times this (0: every all-words article first, as before; 1: alike).
    # A partial match that scores much better is usually the article meant:
    # dev-hard MRR@10 0.877 -> 0.884 at 0.8, dev unchanged (0.986); 0.9
    # cost dev 0.004, 1.0 cost 0.010. Not when the query quotes a phrase
    # (the reader asked for those exact words). Date sorts keep the groups.
    partial_weight: float = 0.8
    # The semantic extra (search.semantic): weight of the query-article
    # similarity's standard score against the lexical score over the top
    # one, in the fallback's first RERANK_DEPTH (0: off).
    semantic_weight: float = 0.2
    # The recency boost, when a search asks for it (search.recency): weight
    # of the newest articles' bonus, and the age that halves it.
    recency_weight: float = 0.2
    recency_half_life_days: float = 90.0
    # BM25 parameters (the whoosh engine).
    k1: float = 1.2
    b: float = 0.75
    # PostgreSQL's ranking (search.pg.searching): ts_rank's weights of D
    # (body), C (unused), B (subtitle) and A (title) matches, read as term
    # frequencies (a title match is 10 body ones) under BM25's saturation
    # and length normalisation (k1, b above) when pg_bm25 is on, else under
    # ts_rank's own normalisation (1: divided by 1 + log(document length)),
    # which favours short fields and short articles far more than BM25 (dev
    # MRR@10 0.975, hard 0.824 at 20k, against 0.987 and 0.887); and, in the
    # fallback, each word group held adds this many times its idf, so that
    # articles with more (and rarer) words come first whatever their rank.
    pg_weights: tuple[float, float, float, float] = (0.1, 0.2, 0.4, 1.0)
    pg_rank_normalization: int = 1
    pg_group_bonus: float = 1.0
    pg_bm25: bool = True
    # The partial matches' weight (partial_weight, as the whoosh engine's).
    # Without pg_bm25, 0.5 fits best: a title holding 4 of 5 words outscored
    # the article holding all 5 in its body by 2.5x (dev 0.965 at 0.8, 0.975 at 0.5).
    pg_partial_weight: float = 0.8


# -- related articles (both backends) --

# Key terms that describe an article: more finds vaguer neighbours.
KEY_TERMS = 12


MAX_RELATED = 50
