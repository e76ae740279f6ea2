"""What search reads fast: the trigrams of names and handles, and the words of captions.

`kino_trgm(text)` is a name's trigram set and `kino_trgm_similarity(name, kino_trgm(query))` the
similarity of the two sets: shared over all (Jaccard), pg_trgm's `similarity()`. Where the server
has pg_trgm, `kino_trgm` is its `show_trgm` (C); where it has not (the embedded PostgreSQL ships
only plpgsql and vector), it is the same rule in SQL: lowercase, split into words on anything but
letters and digits, each word padded with two spaces before and one after, every three characters
once.

Search does not compute a similarity per candidate name: with names that share a common start
("sim1" .. "sim10000") every name is a candidate, and a trigram set built in SQL costs tens of
microseconds. `recommender_searchtrigram` holds one row per (trigram, name) with the name's
trigram count (`size`), for usernames (field 0), display names (1) and cameo handles (2), keyed
(trigram, field, size, owner): a posting list per trigram, in order of size. The similarity comes
from counts alone, shared / (size + query size - shared), the same number as
`kino_trgm_similarity` (recommender.search says how a search reads the lists). Triggers on the
tables that own the names keep it in step with every insert, rename and delete (COPY included),
so no app has to remember to; one code path whether or not the server has pg_trgm (only
`kino_trgm` differs).

The caption index is the expression Django's `SearchVector("caption", config="english")` writes
(feed.public.posts_matching_words), on posted videos only.
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

TRIGRAMS = """
CREATE TABLE recommender_searchtrigram (
  trigram text NOT NULL,
  field smallint NOT NULL,
  owner_id uuid NOT NULL,
  size smallint NOT NULL,
  PRIMARY KEY (trigram, field, size, owner_id)
);
CREATE INDEX recommender_searchtrigram_owner ON recommender_searchtrigram (owner_id, field, trigram);

CREATE FUNCTION search_trigrams_set(owner uuid, which smallint, name text) RETURNS void
LANGUAGE sql AS $$
  DELETE FROM recommender_searchtrigram WHERE owner_id = owner AND field = which;
  INSERT INTO recommender_searchtrigram (trigram, field, owner_id, size)
  SELECT g, which, owner, cardinality(t.set)
  FROM (SELECT kino_trgm(coalesce(name, ''))) AS t(set), unnest(t.set) AS g;
$$;

-- A posting list's first `most` names, shortest first: a plpgsql function so that each call is
-- planned for its trigram (an ordered index scan that stops after `most` rows, where a plan for
-- "some trigram" inside a bigger statement may fetch and sort the whole list).
CREATE FUNCTION search_postings(g text, which smallint, most int) RETURNS SETOF uuid
LANGUAGE plpgsql STABLE AS $$
BEGIN
  RETURN QUERY SELECT t.owner_id FROM recommender_searchtrigram t
    WHERE t.trigram = g AND t.field = which ORDER BY t.size, t.owner_id LIMIT most;
END $$;

-- TG_ARGV: the field's number, the row's id column, its name column.
CREATE FUNCTION search_trigrams_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    DELETE FROM recommender_searchtrigram
    WHERE owner_id = (to_jsonb(OLD) ->> TG_ARGV[1])::uuid AND field = TG_ARGV[0]::smallint;
    RETURN OLD;
  END IF;
  PERFORM search_trigrams_set(
    (to_jsonb(NEW) ->> TG_ARGV[1])::uuid, TG_ARGV[0]::smallint, to_jsonb(NEW) ->> TG_ARGV[2]
  );
  RETURN NEW;
END $$;
"""

# (table, field, id column, name column)
NAMED = [
    ("accounts_user", 0, "id", "username"),
    ("accounts_profile", 1, "user_id", "display_name"),
    ("cameos_cameo", 2, "id", "handle"),
]


def _triggers(table: str, field: int, id_column: str, name_column: str) -> str:
    args = f"{field}, {id_column}, {name_column}"
    # Names from NAMED above, never input.
    return f"""
CREATE TRIGGER search_trigrams_{name_column} AFTER INSERT OR DELETE ON {table}
  FOR EACH ROW EXECUTE FUNCTION search_trigrams_sync({args});
CREATE TRIGGER search_trigrams_{name_column}_renamed AFTER UPDATE OF {name_column} ON {table}
  FOR EACH ROW WHEN (OLD.{name_column} IS DISTINCT FROM NEW.{name_column})
  EXECUTE FUNCTION search_trigrams_sync({args});
SELECT search_trigrams_set({id_column}, {field}::smallint, {name_column}) FROM {table};
"""  # noqa: S608


INDEXES = """
CREATE INDEX search_video_caption_words ON feed_video
  USING gin (to_tsvector('english'::regconfig, COALESCE(caption, ''))) WHERE state = 'posted';
"""

DROP = """
DROP INDEX IF EXISTS search_video_caption_words;
DROP TRIGGER IF EXISTS search_trigrams_username ON accounts_user;
DROP TRIGGER IF EXISTS search_trigrams_username_renamed ON accounts_user;
DROP TRIGGER IF EXISTS search_trigrams_display_name ON accounts_profile;
DROP TRIGGER IF EXISTS search_trigrams_display_name_renamed ON accounts_profile;
DROP TRIGGER IF EXISTS search_trigrams_handle ON cameos_cameo;
DROP TRIGGER IF EXISTS search_trigrams_handle_renamed ON cameos_cameo;
DROP FUNCTION IF EXISTS search_trigrams_sync();
DROP FUNCTION IF EXISTS search_postings(text, smallint, int);
DROP FUNCTION IF EXISTS search_trigrams_set(uuid, smallint, text);
DROP TABLE IF EXISTS recommender_searchtrigram;
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
        migrations.RunSQL(TRIGRAMS + "".join(_triggers(*named) for named in NAMED) + INDEXES, DROP),
    ]
