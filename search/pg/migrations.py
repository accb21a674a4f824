"""The PostgreSQL schema, as numbered migrations applied by `archivio` itself.

Each migration runs once, in its own transaction, and is recorded in
`schema_version`; a transaction-level advisory lock makes concurrent starts
(several web servers at once) apply each one exactly once.

Migrations 1 and 2 made the text search configurations `archivio_it`
(unaccent, then the Snowball Italian stemmer with its stop list) and
`archivio_exact` (words as they are) that derived the vectors `tsv` and
`tsv_exact` from text split by the engine's tokenizer. Since migration 3
the engine writes both vectors itself (search.pg.textprep: its analyzers'
terms and positions as tsvector literals, as in the whoosh index: stems
of accented words, stop words decided before folding, compounds), and
each row records the analysis version that derived them; rows of an
older analysis are reported by `check` until `rebuild`. The two
configurations are left in place, unused. Migration 4 adds the semantic
extra's `article_vectors`, empty until `archivio embed`. Migration 7
keeps each article's shared story beside it for counting, migration 8 the
length of each vector (BM25's document length), migration 9 the counts
of browsing's facets, migration 10 the dates of the story bands, and
migration 11 keeps the vectors in the article's row.
"""

from __future__ import annotations

import psycopg

# pg_advisory_xact_lock key of the migrations ("ARCHIMIG").
MIGRATION_LOCK = 0x4152_4348_494D_4947 - 2**63

TOKEN_TYPES = (
    "asciiword, word, numword, asciihword, hword, numhword, "
    "hword_asciipart, hword_part, hword_numpart, int, uint"
)

MIGRATIONS: list[tuple[int, str, str]] = [
    (
        1,
        "articles, Italian text search configuration, vocabulary",
        f"""
        CREATE EXTENSION IF NOT EXISTS unaccent;
        CREATE EXTENSION IF NOT EXISTS pg_trgm;
        CREATE TEXT SEARCH DICTIONARY archivio_it_stem (
            TEMPLATE = snowball, Language = italian, StopWords = italian
        );
        CREATE TEXT SEARCH CONFIGURATION archivio_it (COPY = simple);
        ALTER TEXT SEARCH CONFIGURATION archivio_it
            ALTER MAPPING FOR {TOKEN_TYPES} WITH unaccent, archivio_it_stem;
        CREATE TABLE articles (
            id text PRIMARY KEY,
            title text NOT NULL,
            subtitle text,
            author text,
            author_key text NOT NULL DEFAULT '',
            date date,
            category text,
            category_key text NOT NULL DEFAULT '',
            body text NOT NULL,
            url text,
            source text,
            content_hash text NOT NULL,
            fingerprint text NOT NULL,
            url_key text,
            -- title A, subtitle B, body D; NULL until indexed (import --no-index)
            tsv tsvector
        );
        CREATE INDEX articles_tsv ON articles USING gin (tsv);
        CREATE INDEX articles_date ON articles (date);
        CREATE INDEX articles_author_key ON articles (author_key);
        CREATE INDEX articles_category_key ON articles (category_key);
        CREATE INDEX articles_fingerprint ON articles (fingerprint);
        CREATE INDEX articles_url_key ON articles (url_key);
        CREATE INDEX articles_unindexed ON articles (id) WHERE tsv IS NULL;
        -- Document frequencies: kind 'w' = words as typed (folded), 's' = stems.
        CREATE TABLE vocabulary (
            kind char(1) NOT NULL,
            term text NOT NULL,
            ndoc integer NOT NULL,
            PRIMARY KEY (kind, term)
        );
        CREATE INDEX vocabulary_words_trgm ON vocabulary USING gin (term gin_trgm_ops) WHERE kind = 'w';
        CREATE INDEX vocabulary_prefix ON vocabulary (kind, term text_pattern_ops);
        """,
    ),
    (
        2,
        "unstemmed vector for exact phrases",
        f"""
        CREATE TEXT SEARCH CONFIGURATION archivio_exact (COPY = simple);
        ALTER TEXT SEARCH CONFIGURATION archivio_exact ALTER MAPPING FOR {TOKEN_TYPES} WITH simple;
        -- NULL until derived (indexed imports, rebuild): phrases then match on stems alone.
        ALTER TABLE articles ADD COLUMN tsv_exact tsvector;
        CREATE INDEX articles_tsv_exact ON articles USING gin (tsv_exact);
        """,
    ),
    (
        3,
        "analysis version of the search vectors",
        """
        -- Which analysis (search.analysis.ANALYSIS_VERSION) derived a row's
        -- vectors, written from then on by the engine itself as tsvector
        -- literals; NULL: derived before (by archivio_it), to be rebuilt.
        ALTER TABLE articles ADD COLUMN analysis smallint;
        """,
    ),
    (
        4,
        "article vectors of the semantic extra",
        """
        -- The semantic extra (search.semantic, search.pg.vectors): one
        -- embedding per article, float32 bytes, from the text whose content
        -- hash is `digest` (current while it equals articles.content_hash)
        -- and by `model`. A table of its own: rebuilds rewrite every row of
        -- `articles`, which need not carry 1.5 kB more each; any row here
        -- means the extra is on. Removals take the vectors with them.
        CREATE TABLE article_vectors (
            id text PRIMARY KEY REFERENCES articles (id) ON DELETE CASCADE,
            digest text NOT NULL,
            model text NOT NULL,
            vec bytea NOT NULL
        );
        """,
    ),
    (
        5,
        "archive events for monitoring",
        """
        -- search.freshness: the last import, the changes of the searchable
        -- index (kind -> last time in Unix seconds, how many times), as the
        -- whoosh backend's store keeps them.
        CREATE TABLE archive_events (
            kind text PRIMARY KEY,
            at double precision NOT NULL,
            times bigint NOT NULL
        );
        """,
    ),
    (
        6,
        "stories: signatures and band keys of near-duplicate detection",
        """
        -- search.stories: each article's story (the id of the story's first
        -- article), its MinHash signature and its LSH band keys. A removed
        -- article takes its rows with it; its copies keep the story's name.
        CREATE TABLE stories (
            id text PRIMARY KEY REFERENCES articles (id) ON DELETE CASCADE,
            story text NOT NULL,
            signature bytea NOT NULL
        );
        CREATE INDEX stories_story ON stories (story);
        CREATE TABLE story_bands (
            key bigint NOT NULL,
            id text NOT NULL REFERENCES articles (id) ON DELETE CASCADE
        );
        CREATE INDEX story_bands_key ON story_bands (key);
        CREATE INDEX story_bands_id ON story_bands (id);
        """,
    ),
    (
        7,
        "the shared story of each article, kept by a trigger",
        """
        -- An article's story when other articles tell it too (search.stories),
        -- NULL when it stands alone; kept by the trigger below on `stories`
        -- whatever writes it. With the partial index, counting the stories
        -- among a search's matches visits only the matches that share one
        -- (the index's bitmap ANDed with the text index's): 1.5 s -> ms at
        -- 100k articles, where joining every match to `stories` took it.
        ALTER TABLE articles ADD COLUMN shared_story text;
        CREATE INDEX articles_shared_story ON articles (shared_story) WHERE shared_story IS NOT NULL;
        UPDATE articles a SET shared_story = s.story FROM stories s
            WHERE s.id = a.id AND EXISTS (SELECT 1 FROM stories o WHERE o.story = s.story AND o.id <> s.id);
        CREATE FUNCTION archivio_share_story() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            told text;
            shared boolean;
        BEGIN
            -- The story the row left and the one it joined: each one's members
            -- share it when there are two or more of them.
            FOREACH told IN ARRAY ARRAY[
                CASE WHEN TG_OP <> 'INSERT' THEN OLD.story END,
                CASE WHEN TG_OP <> 'DELETE' THEN NEW.story END
            ] LOOP
                CONTINUE WHEN told IS NULL;
                shared := (SELECT count(*) FROM (SELECT 1 FROM stories WHERE story = told LIMIT 2) two) = 2;
                UPDATE articles SET shared_story = CASE WHEN shared THEN told END
                    WHERE id IN (SELECT id FROM stories WHERE story = told)
                      AND shared_story IS DISTINCT FROM CASE WHEN shared THEN told END;
            END LOOP;
            IF TG_OP = 'UPDATE' AND OLD.id <> NEW.id THEN
                UPDATE articles SET shared_story = NULL WHERE id = OLD.id AND shared_story IS NOT NULL;
            END IF;
            RETURN NULL;
        END $$;
        CREATE TRIGGER stories_share AFTER INSERT OR UPDATE OF story, id OR DELETE ON stories
            FOR EACH ROW EXECUTE FUNCTION archivio_share_story();
        """,
    ),
    (
        8,
        "vector lengths in positions, for BM25's length normalisation",
        """
        -- The positions of a vector, as ts_rank's normalisation counts them
        -- (a lexeme without positions counts 1): the document length of BM25
        -- (search.pg.searching), kept by PostgreSQL beside each vector.
        CREATE FUNCTION archivio_positions(v tsvector) RETURNS integer
            LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
            RETURN (SELECT coalesce(sum(coalesce(array_length(positions, 1), 1)), 0)::integer
                    FROM unnest(v));
        ALTER TABLE articles
            ADD COLUMN tsv_length integer GENERATED ALWAYS AS (archivio_positions(tsv)) STORED,
            ADD COLUMN tsv_exact_length integer GENERATED ALWAYS AS (archivio_positions(tsv_exact)) STORED;
        -- Their means over the indexed articles (search.pg.store.refresh_average_lengths).
        WITH a AS (SELECT avg(tsv_length) AS tsv, avg(tsv_exact_length) AS tsv_exact
                   FROM articles WHERE tsv IS NOT NULL)
        INSERT INTO vocabulary (kind, term, ndoc)
        SELECT 'n', 'tsv', round(tsv)::integer FROM a WHERE tsv IS NOT NULL
        UNION ALL
        SELECT 'n', 'tsv_exact', round(tsv_exact)::integer FROM a WHERE tsv_exact IS NOT NULL
        ON CONFLICT (kind, term) DO UPDATE SET ndoc = EXCLUDED.ndoc;
        """,
    ),
    (
        9,
        "facet counts of the indexed articles, kept by triggers; indexes in both date orders",
        """
        -- How many indexed articles each (author, category, day) has: the
        -- totals and facets of browsing without words read these rows (7,896
        -- for the 100,000 articles of the dev corpus x5) instead of every
        -- article's. Kept by the triggers below in the transaction of the
        -- import, removal or rebuild that changes an article, whatever
        -- writes it; a value's row goes when its count reaches 0.
        CREATE TABLE facet_counts (
            author_key text NOT NULL,
            author text,
            category_key text NOT NULL,
            category text,
            date date,
            n integer NOT NULL,
            UNIQUE NULLS NOT DISTINCT (author_key, author, category_key, category, date)
        );
        CREATE INDEX facet_counts_spent ON facet_counts (n) WHERE n <= 0;
        INSERT INTO facet_counts
            SELECT author_key, author, category_key, category, date, count(*) FROM articles
            WHERE tsv IS NOT NULL GROUP BY 1, 2, 3, 4, 5;
        CREATE FUNCTION archivio_count_facets() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            -- The row the article leaves and the one it joins (ON CONFLICT
            -- finds a row by the unique index, NULLs included).
            IF TG_OP <> 'INSERT' AND OLD.tsv IS NOT NULL THEN
                INSERT INTO facet_counts
                    VALUES (OLD.author_key, OLD.author, OLD.category_key, OLD.category, OLD.date, -1)
                    ON CONFLICT (author_key, author, category_key, category, date)
                    DO UPDATE SET n = facet_counts.n - 1;
                DELETE FROM facet_counts WHERE n <= 0;
            END IF;
            IF TG_OP <> 'DELETE' AND NEW.tsv IS NOT NULL THEN
                INSERT INTO facet_counts
                    VALUES (NEW.author_key, NEW.author, NEW.category_key, NEW.category, NEW.date, 1)
                    ON CONFLICT (author_key, author, category_key, category, date)
                    DO UPDATE SET n = facet_counts.n + 1;
            END IF;
            RETURN NULL;
        END $$;
        CREATE TRIGGER articles_facet_counts AFTER INSERT OR DELETE ON articles
            FOR EACH ROW EXECUTE FUNCTION archivio_count_facets();
        -- A rebuild rewrites every row's vectors: only a change of a counted
        -- column (or of being indexed) reaches the function.
        CREATE TRIGGER articles_facet_counts_change
            AFTER UPDATE OF author_key, author, category_key, category, date, tsv ON articles
            FOR EACH ROW WHEN (
                OLD.author_key IS DISTINCT FROM NEW.author_key OR OLD.author IS DISTINCT FROM NEW.author
                OR OLD.category_key IS DISTINCT FROM NEW.category_key
                OR OLD.category IS DISTINCT FROM NEW.category OR OLD.date IS DISTINCT FROM NEW.date
                OR (OLD.tsv IS NULL) <> (NEW.tsv IS NULL))
            EXECUTE FUNCTION archivio_count_facets();
        CREATE FUNCTION archivio_forget_facets() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            TRUNCATE facet_counts;
            RETURN NULL;
        END $$;
        CREATE TRIGGER articles_facet_counts_truncate AFTER TRUNCATE ON articles
            FOR EACH STATEMENT EXECUTE FUNCTION archivio_forget_facets();
        -- Browsing lists the newest (or the oldest) first, ties by id
        -- (searching.ORDERS): an index in each order stops at the page,
        -- where `date` alone (ascending, NULLs last) read and sorted every
        -- article (89 ms for the first page of 100,000; 0.1 ms so).
        CREATE INDEX articles_newest ON articles (date DESC NULLS LAST, id);
        CREATE INDEX articles_oldest ON articles (date ASC NULLS LAST, id);
        DROP INDEX articles_date;
        """,
    ),
    (
        10,
        "story bands with their holders' dates",
        """
        -- Story detection asks for the holders of a band key a few days
        -- apart (search.stories.StoryRow): with the date in the band's row
        -- and its index, the span is tested in the index, before any
        -- article is read (joined to every holder's article, 70% of a 1M
        -- import went there).
        ALTER TABLE story_bands ADD COLUMN date date;
        UPDATE story_bands b SET date = a.date FROM articles a WHERE a.id = b.id;
        DROP INDEX story_bands_key;
        CREATE INDEX story_bands_key ON story_bands (key, date, id);
        """,
    ),
    (
        11,
        "search vectors kept in the article's row",
        """
        -- A row over ~2 kB had its largest values moved to the TOAST table,
        -- the two vectors first (1.7 + 2.6 kB on average at 100k articles):
        -- ranking then fetched each match's vectors through the TOAST index
        -- at every ts_rank, or copied them once (~15 us a match). Kept in
        -- the row up to a page (8,160 bytes), 89% of the articles' vectors
        -- stay there and are ranked where they lie (searching._top). The
        -- UPDATE rewrites each vector so that it moves in (the same value:
        -- concatenating an empty vector adds nothing): 62 s at 100k
        -- articles, while searches go on (the lock of the target,
        -- SHARE UPDATE EXCLUSIVE, lets them). The storage MAIN, whose lock
        -- stops them, comes last, a moment before the commit: from then on
        -- a row too long for a page sends its body out first, its vectors
        -- only if still too long (in the rows rewritten here, the largest
        -- value left first: `rebuild` writes them anew).
        ALTER TABLE articles SET (toast_tuple_target = 8160);
        UPDATE articles SET tsv = tsv || ''::tsvector, tsv_exact = tsv_exact || ''::tsvector
            WHERE tsv IS NOT NULL;
        ALTER TABLE articles ALTER COLUMN tsv SET STORAGE MAIN, ALTER COLUMN tsv_exact SET STORAGE MAIN;
        """,
    ),
]

LATEST = MIGRATIONS[-1][0]


def migrate(conn: psycopg.Connection) -> list[int]:
    """Applies the migrations this database lacks; returns their numbers."""
    applied: list[int] = []
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_version ("
            "version integer PRIMARY KEY, description text NOT NULL, "
            "applied_at timestamptz NOT NULL DEFAULT now())"
        )
    for version, description, sql in MIGRATIONS:
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
            done = conn.execute("SELECT 1 FROM schema_version WHERE version = %s", (version,)).fetchone()
            if done:
                continue
            conn.execute(sql)
            conn.execute(
                "INSERT INTO schema_version (version, description) VALUES (%s, %s)", (version, description)
            )
            applied.append(version)
    return applied


def current_version(conn: psycopg.Connection) -> int:
    """The newest migration applied (0: none; a replica reports its primary's)."""
    exists = conn.execute("SELECT to_regclass('schema_version') IS NOT NULL").fetchone()[0]
    if not exists:
        return 0
    return conn.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()[0]
