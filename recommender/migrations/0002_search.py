"""What search reads fast: trigrams of names and handles, and the words of captions.

`kino_trgm(text)` is a name's trigram set and `kino_trgm_similarity(name, kino_trgm(query))`
the similarity of the two sets: shared over all (Jaccard), pg_trgm's `similarity()`. Where the
server has pg_trgm, `kino_trgm` is its `show_trgm` (C, fast); where it has not (the embedded
PostgreSQL ships only plpgsql and vector), it is the same rule in SQL: lowercase, split into
words on anything but letters and digits, each word padded with two spaces before and one after,
every three characters once. Search has one code path either way: GIN indexes over
`kino_trgm(column)` (the built-in array operator class, no extension) find the names that share
a trigram with the query, and `kino_trgm_similarity` orders them.

The indexes sit on the tables that own the text (accounts', cameos', feed's), so they follow every
write with no copy to keep in step; Django does not manage them, this migration does. The caption
index is the expression Django's `SearchVector("caption", config="english")` writes.
"""

from django.db import migrations

# A name's trigrams, read off one padded string: every run of characters that are not letters or
# digits becomes three spaces (one closing the word before, two opening the next), so the
# three-character windows are pg_trgm's, plus windows ending in two spaces, which are not
# trigrams and are left out. No set-returning regex: this runs for every candidate of a search.
FALLBACK_TRGM = """
CREATE OR REPLACE FUNCTION kino_trgm(t text) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT coalesce(array_agg(DISTINCT g ORDER BY g), '{}')
  FROM (SELECT '  ' || regexp_replace(lower(t), '[^[:alnum:]]+', '   ', 'g') || ' ' AS padded) AS p,
       LATERAL generate_series(1, length(p.padded) - 2) AS i,
       LATERAL substr(p.padded, i, 3) AS g
  WHERE substr(g, 2, 2) <> '  '
$$;
"""

PG_TRGM = """
CREATE OR REPLACE FUNCTION kino_trgm(t text) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$ SELECT show_trgm(t) $$;
"""

# Similarity of a name to a query's trigrams (`kino_trgm(query)`, a constant the planner folds).
SIMILARITY = """
CREATE OR REPLACE FUNCTION kino_trgm_similarity(t text, q text[]) RETURNS float8
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT CASE WHEN shared = 0 THEN 0::float8 ELSE shared::float8 / (size + cardinality(q) - shared) END
  FROM (SELECT count(*) FILTER (WHERE g = ANY (q)) AS shared, count(*) AS size
        FROM unnest(kino_trgm(t)) AS g) AS s
$$;
"""

INDEXES = """
CREATE INDEX search_user_username_trgm ON accounts_user USING gin (kino_trgm(username));
CREATE INDEX search_profile_display_name_trgm ON accounts_profile USING gin (kino_trgm(display_name));
CREATE INDEX search_cameo_handle_trgm ON cameos_cameo USING gin (kino_trgm(handle));
CREATE INDEX search_video_caption_words ON feed_video
  USING gin (to_tsvector('english'::regconfig, COALESCE(caption, ''))) WHERE state = 'posted';
"""

DROP = """
DROP INDEX IF EXISTS search_user_username_trgm;
DROP INDEX IF EXISTS search_profile_display_name_trgm;
DROP INDEX IF EXISTS search_cameo_handle_trgm;
DROP INDEX IF EXISTS search_video_caption_words;
DROP FUNCTION IF EXISTS kino_trgm_similarity(text, text[]);
DROP FUNCTION IF EXISTS kino_trgm(text);
"""


def trigram_functions(apps, schema_editor):
    """pg_trgm's `show_trgm` where the server can install it (a trusted extension: the database's
    owner may), the SQL rule otherwise."""
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")
        has_pg_trgm = cursor.fetchone() is not None
        if has_pg_trgm:
            cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        cursor.execute(PG_TRGM if has_pg_trgm else FALLBACK_TRGM)
        cursor.execute(SIMILARITY)


class Migration(migrations.Migration):
    dependencies = [
        ("recommender", "0001_vector_extension"),
        ("accounts", "0002_user_deactivate_permission"),
        ("cameos", "0001_cameos"),
        ("feed", "0005_cameo_notifications"),
    ]

    operations = [
        migrations.RunPython(trigram_functions, migrations.RunPython.noop),
        migrations.RunSQL(INDEXES, DROP),
    ]
