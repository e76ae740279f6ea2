"""Seeding a simulated world (bench/recommender_sim.py) into Kino's tables, fast: COPY for every big
table (members, videos, follows, likes, view events, vectors), the counters from the rows in one
statement, the HNSW index dropped before the vectors go in and built once after (timed: that is the
index build the bench records).

The rows are the ones the services write (posted videos with their lineage, likes, view events the
client would have sent, follows), at the times the simulator gave them: day `SPLIT_DAY` is now.
Only what happened before the split goes in; the test period stays in memory (the truth the offline
metrics are measured against). A video's content vector is the real model's vector of its prompt;
the blended `vector` starts equal to it (R1's `collab_train` blends behaviour in afterwards).
"""

from __future__ import annotations

import io
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from bench.recommender_sim import DAY_S, SPLIT_DAY, World, remixes

TEENS = 5  # the world's last members are 15 (the filtered pages are a teen's)
# Videos appropriate for teens: the largest selectivity the filtered pages are measured at, set before
# the HNSW index is built (an UPDATE of most rows afterwards would re-insert each into the index).
TEEN_OK_SHARE = 0.1
DURATION_MS = 8_000
HNSW_INDEX = "video_vector_hnsw"
NULL = "\\N"  # COPY's null


@dataclass
class Seeded:
    """The database ids of the world's members and videos (index = the simulator's number), and what
    seeding took."""

    user_ids: list[uuid.UUID]
    video_ids: list[uuid.UUID]  # originals, then the remixes
    teen_ids: list[uuid.UUID]
    remix_of: np.ndarray  # [remixes] the source video's number
    now: datetime
    timings: dict[str, float]
    counts: dict[str, int]


def _ids(rng: np.random.Generator, n: int) -> list[uuid.UUID]:
    raw = rng.integers(0, 2**63, size=(n, 2), dtype=np.int64).astype(np.uint64)
    return [uuid.UUID(int=(int(a) << 64 | int(b)), version=4) for a, b in raw]


def _copy(table: str, columns: str, lines: list[str]) -> None:
    from django.db import connection

    with connection.cursor() as cursor, cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        buffer = io.StringIO()
        for n, line in enumerate(lines, 1):
            buffer.write(line)
            buffer.write("\n")
            if n % 50_000 == 0:
                copy.write(buffer.getvalue())
                buffer = io.StringIO()
        copy.write(buffer.getvalue())


def sql(statement: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(statement, params or [])
        return cursor.fetchall() if cursor.description else []


def moment(now: datetime, day: float) -> datetime:
    """The simulator's `day` in real time: the split is `now`."""
    return now - timedelta(seconds=(SPLIT_DAY - float(day)) * DAY_S)


def _when(now: datetime, day: float) -> str:
    return moment(now, day).isoformat()


def seed_members(user_ids: list[uuid.UUID], now: datetime) -> None:
    """Members "sim<n>", adults but the last TEENS (15), one password hash for all, and profiles."""
    from django.contrib.auth.hashers import make_password

    password = make_password("bench-password-1")
    stamp = now.isoformat()
    teen_birth = (now.date() - timedelta(days=15 * 365 + 30)).isoformat()
    teens_from = len(user_ids) - TEENS
    rows = [(u, f"sim{n}", teen_birth if n >= teens_from else "1990-01-01") for n, u in enumerate(user_ids)]
    _copy(
        "accounts_user",
        "id, username, email, password, birthdate, is_active, is_staff, is_superuser, first_name, last_name,"
        " date_joined, created_at, updated_at",
        [
            f"{u}\t{name}\t{name}@example.com\t{password}\t{born}\tt\tf\tf\t\t\t{stamp}\t{stamp}\t{stamp}"
            for u, name, born in rows
        ],
    )
    _copy(
        "accounts_profile",
        "user_id, display_name, bio, avatar, created_at, updated_at",
        [f"{u}\tSim {name}\t\t\t{stamp}\t{stamp}" for u, name, _ in rows],
    )


VIDEO_COLUMNS = (
    "id, owner_id, state, source_job_id, remix_of_id, lineage, depth, remix_allowed, prompt, caption, video,"
    " poster, size_bytes, width, height, duration_ms, fps, has_audio, engine, created_at, updated_at,"
    " posted_at, removed_reason"
)


def _video_line(vid: uuid.UUID, owner: uuid.UUID, source: uuid.UUID | None, prompt: str, at: str) -> str:
    """A posted video's row; no caption (its content vector is then the model's vector of the prompt,
    as recommender.vectors.video_text reads a video)."""
    lineage, remix_of, depth = (f"{{{source}}}", str(source), 1) if source else ("{}", NULL, 0)
    return (
        f"{vid}\t{owner}\tposted\t{uuid.uuid4()}\t{remix_of}\t{lineage}\t{depth}\tt\t{prompt}\t\t"
        f"bench/clip.mp4\tbench/poster.jpg\t1000\t256\t448\t{DURATION_MS}\t24\tt\tbuiltin\t{at}\t{at}\t{at}\t"
    )


def seed_videos(world: World, seeded: Seeded) -> None:
    """The originals and the members' remixes (same prompt, a lineage of one), posted."""
    now, users, videos = seeded.now, seeded.user_ids, seeded.video_ids
    originals = len(world.video_day)
    lines = [
        _video_line(
            videos[v],
            users[world.video_creator[v]],
            None,
            world.prompt_texts[world.video_prompt[v]],
            _when(now, world.video_day[v]),
        )
        for v in range(originals)
    ]
    made = remixes(world)
    for n, (u, source, day) in enumerate(zip(made["user"], made["video"], made["day"], strict=True)):
        lines.append(
            _video_line(
                videos[originals + n],
                users[u],
                videos[source],
                world.prompt_texts[world.video_prompt[source]],
                _when(now, day),
            )
        )
    _copy("feed_video", VIDEO_COLUMNS, lines)


def seed_follows(world: World, seeded: Seeded) -> None:
    users, stamp = seeded.user_ids, _when(seeded.now, 0.0)
    _copy(
        "accounts_follow",
        "id, follower_id, followee_id, created_at",
        [f"{uuid.uuid4()}\t{users[a]}\t{users[b]}\t{stamp}" for a, b in world.follows],
    )


def seed_interactions(world: World, seeded: Seeded, *, since: float = 0.0, until: float = SPLIT_DAY) -> int:
    """What members did between days `since` and `until`: one view event per exposure (see_less, a
    skip, or watch_progress with the watched time), a share event, and a like row for each like.
    Returns the view events written."""
    e = world.exposures
    rows = np.flatnonzero((e["day"] >= since) & (e["day"] < until))
    users, videos, now = seeded.user_ids, seeded.video_ids, seeded.now
    events, likes = [], []
    for r in rows:
        u, v, at = users[e["user"][r]], videos[e["video"][r]], _when(now, e["day"][r])
        watched = float(e["watched"][r])
        kind = "see_less" if e["see_less"][r] else "skip" if watched < 0.2 else "watch_progress"
        events.append(f"{u}\t{v}\tsim{r}\t{kind}\t{int(watched * DURATION_MS)}\t{at}\t{at}")
        if e["shared"][r]:
            events.append(f"{u}\t{v}\tsim{r}s\tshare\t0\t{at}\t{at}")
        if e["liked"][r]:
            likes.append(f"{u}\t{v}\t{at}")
    _copy(
        "feed_viewevent",
        "user_id, video_id, client_event_id, kind, watch_ms, occurred_at, received_at",
        events,
    )
    _copy("feed_like", "user_id, video_id, created_at", likes)
    return len(rows)


def seed_counters() -> None:
    """feed's counters from the rows: likes, posted remixes (direct and all), views, watch time, shares."""
    sql("DELETE FROM feed_videostats")
    sql(
        """INSERT INTO feed_videostats (video_id, likes, comments, remixes, descendants, views, watch_ms,
               shares, downloads)
           SELECT v.id, coalesce(l.n, 0), 0, coalesce(r.n, 0), coalesce(r.n, 0), coalesce(e.views, 0),
               coalesce(e.watch_ms, 0), coalesce(e.shares, 0), 0
           FROM feed_video v
           LEFT JOIN (SELECT video_id, count(*) AS n FROM feed_like GROUP BY video_id) l ON l.video_id = v.id
           LEFT JOIN (SELECT remix_of_id, count(*) AS n FROM feed_video GROUP BY remix_of_id) r
               ON r.remix_of_id = v.id
           LEFT JOIN (SELECT video_id, count(*) FILTER (WHERE kind <> 'share') AS views,
                          sum(watch_ms) AS watch_ms, count(*) FILTER (WHERE kind = 'share') AS shares
                      FROM feed_viewevent GROUP BY video_id) e ON e.video_id = v.id"""
    )


def halfvec_text(vector: np.ndarray) -> str:
    return "[" + ",".join(f"{x:.5f}" for x in vector) + "]"


def seed_vectors(world: World, seeded: Seeded) -> None:
    """Every posted video's row in recommender_videovector: the content vector of its prompt (the real
    model's), `vector` equal to it until ALS blends behaviour in; in feeds; its words judged fit for teens
    (the world's prompts are; teen_ok: see TEEN_OK_SHARE)."""
    made = remixes(world)
    prompts = np.concatenate([world.video_prompt, world.video_prompt[made["video"]]])
    creators = np.concatenate([world.video_creator, made["user"]])
    days = np.concatenate([world.video_day, made["day"]])
    originals = len(world.video_day)
    texts = [halfvec_text(v) for v in world.prompt_vectors]
    videos, users, now = seeded.video_ids, seeded.user_ids, seeded.now
    lines = []
    for n, video_id in enumerate(videos):
        source = videos[made["video"][n - originals]] if n >= originals else NULL
        text = texts[prompts[n]]
        at = _when(now, days[n])
        lines.append(f"{video_id}\t{users[creators[n]]}\t{at}\t{source}\t{text}\t{text}\tt\tt\tt\t{at}")
    _copy(
        "recommender_videovector",
        "video_id, creator_id, posted_at, remix_of_id, content, vector, in_feeds, teen_ok, teen_text_ok,"
        " updated_at",
        lines,
    )


def teen_ok_set(share: float) -> None:
    """`teen_ok` on `share` of the videos (by a hash of the id, so each smaller share is inside the
    larger): only the world's few teens see the difference, and the filtered pages are theirs."""
    sql(
        "UPDATE recommender_videovector SET teen_ok = (abs(hashtext(video_id::text)) %% 100000) < %s"
        " WHERE teen_ok IS DISTINCT FROM ((abs(hashtext(video_id::text)) %% 100000) < %s)",
        [int(share * 100_000), int(share * 100_000)],
    )


def hnsw_drop() -> str:
    """Drop the HNSW index, if it is there (its definition, from the model, is returned to build it
    again after the rows are in)."""
    from django.db import connection

    from recommender.models import VideoVector

    index = next(i for i in VideoVector._meta.indexes if i.name == HNSW_INDEX)
    with connection.schema_editor(atomic=False) as editor:
        definition = str(index.create_sql(VideoVector, editor))
    sql(f"DROP INDEX IF EXISTS {HNSW_INDEX}")
    return definition


def hnsw_build(definition: str) -> dict[str, float]:
    """Build the HNSW index as a migration would, timed; its size on disk."""
    sql("SET maintenance_work_mem = '4GB'")  # M's 1.1 M vectors outgrow 1 GB
    started = time.perf_counter()
    sql(definition)
    took = time.perf_counter() - started
    size = sql("SELECT pg_relation_size(%s::regclass)", [HNSW_INDEX])[0][0]
    return {"index_build_s": round(took, 1), "index_size_mb": round(size / 2**20, 1)}


def seeded_ids(world: World, seed: int = 25, *, seeded_before: bool = False) -> Seeded:
    """The database ids the world's members and videos get (decided by `seed`: a database seeded
    before from the same world is read again with them, and its `now`: when the members joined)."""
    from django.utils import timezone

    now = sql("SELECT max(date_joined) FROM accounts_user")[0][0] if seeded_before else None
    rng = np.random.default_rng(seed)
    made = remixes(world)
    user_ids = _ids(rng, world.tier.users)
    return Seeded(
        user_ids=user_ids,
        video_ids=_ids(rng, len(world.video_day) + len(made["user"])),
        teen_ids=user_ids[-TEENS:],
        remix_of=made["video"],
        now=now or timezone.now(),
        timings={},
        counts={
            "videos": len(world.video_day) + len(made["user"]),
            "remixes": len(made["user"]),
            "users": world.tier.users,
            "teens": TEENS,
            "follows": len(world.follows),
        },
    )


def training_reset(seeded: Seeded, logged_from: float) -> None:
    """Back to the state `seed_world(logged_from=)` left: what a training (interrupted, or done) wrote
    goes, so a resumed run trains afresh on the seeded world."""
    from recommender.models import (
        CollabModel,
        Impression,
        RankerModel,
        UserFactors,
        UserVector,
        VideoFactors,
    )

    tables = [
        m._meta.db_table
        for m in (UserVector, UserFactors, VideoFactors, CollabModel, RankerModel, Impression)
    ]
    sql(f"TRUNCATE {', '.join(tables)}")
    since = moment(seeded.now, logged_from)
    sql("DELETE FROM feed_viewevent WHERE occurred_at >= %s", [since])
    sql("DELETE FROM feed_like WHERE created_at >= %s", [since])
    sql("UPDATE recommender_videovector SET vector = content WHERE vector IS DISTINCT FROM content")
    seed_counters()


def seed_world(world: World, *, logged_from: float | None = None, seed: int = 25) -> Seeded:
    """Everything before the split (or only up to `logged_from`: the rest goes in with
    `seed_interactions` after the ranker's impressions of that period are logged)."""
    seeded = seeded_ids(world, seed)
    steps = (
        ("members", lambda: seed_members(seeded.user_ids, seeded.now)),
        ("videos", lambda: seed_videos(world, seeded)),
        ("follows", lambda: seed_follows(world, seeded)),
        ("interactions", lambda: seed_interactions(world, seeded, until=logged_from or SPLIT_DAY)),
        ("vectors", lambda: (seed_vectors(world, seeded), teen_ok_set(TEEN_OK_SHARE))),
    )
    definition = hnsw_drop()  # built once after the rows are in (timed below)
    for name, step in steps:
        started = time.perf_counter()
        step()
        seeded.timings[f"seed_{name}_s"] = round(time.perf_counter() - started, 1)
    seeded.timings.update({f"seed_{k}": v for k, v in hnsw_build(definition).items()})
    return seeded
