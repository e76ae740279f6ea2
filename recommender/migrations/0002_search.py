"""What search reads fast: trigrams of names and handles, and the words of captions.

`kino_trgm(text)` is a name's trigram set and `kino_trgm_similarity(a, b)` the similarity of two
sets: shared over all (Jaccard), pg_trgm's `similarity()`. Where the server has pg_trgm,
`kino_trgm` is its `show_trgm` (C, fast); where it has not (the embedded PostgreSQL ships only
plpgsql and vector), it is the same rule in SQL: lowercase, split into words on anything but
letters and digits, each word padded with two spaces before and one after, every three characters
once. Search has one code path either way: GIN indexes over `kino_trgm(column)` (the built-in
array operator class, no extension) find the names that share a trigram with the query, and
`kino_trgm_similarity` orders them.

The indexes sit on the tables that own the text (accounts', cameos', feed's), so they follow every
write with no copy to keep in step; Django does not manage them, this migration does.
"""

from django.db import migrations

FALLBACK_TRGM = """
CREATE OR REPLACE FUNCTION kino_trgm(t text) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT coalesce(array_agg(DISTINCT substr('  ' || w || ' ', i, 3) ORDER BY substr('  ' || w || ' ', i, 3)), '{}')
  FROM regexp_split_to_table(lower(t), '[^[:alnum:]]+') AS w, generate_series(1, length(w) + 1) AS i
  WHERE w <> ''
$$;
"""

PG_TRGM = """
CREATE OR REPLACE FUNCTION kino_trgm(t text) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$ SELECT show_trgm(t) $$;
"""

SIMILARITY = """
CREATE OR REPLACE FUNCTION kino_trgm_similarity(a text[], b text[]) RETURNS float8
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT CASE WHEN shared = 0 THEN 0::float8
              ELSE shared::float8 / (cardinality(a) + cardinality(b) - shared) END
  FROM (SELECT count(*) AS shared FROM unnest(a) AS g WHERE g = ANY (b)) AS s
$$;
"""

INDEXES = """
CREATE INDEX search_user_username_trgm ON accounts_user USING gin (kino_trgm(username));
CREATE INDEX search_profile_display_name_trgm ON accounts_profile USING gin (kino_trgm(display_name));
CREATE INDEX search_cameo_handle_trgm ON cameos_cameo USING gin (kino_trgm(handle));
CREATE INDEX search_video_caption_words ON feed_video
  USING gin (to_tsvector('english'::regconfig, caption)) WHERE state = 'posted';
"""

DROP = """
DROP INDEX IF EXISTS search_user_username_trgm;
DROP INDEX IF EXISTS search_profile_display_name_trgm;
DROP INDEX IF EXISTS search_cameo_handle_trgm;
DROP INDEX IF EXISTS search_video_caption_words;
DROP FUNCTION IF EXISTS kino_trgm_similarity(text[], text[]);
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
