"""Social reads under load -> bench/results/feed.json.

    .venv/bin/python bench/feed.py            (about 10 minutes on 2 cores, most of it seeding)

Seeds 10,000 members, 100,000 posts spread over them, 1,000,000 likes, a remix chain 1,000 deep and
one post with 100,000 direct remixes, then measures p50 and p99 of six requests at 20 concurrent
clients on the real ASGI server (uvicorn, two processes, as `make run` serves): a profile grid page,
the ancestors of the chain's deepest node, a page of the wide post's remixes, the notifications page,
a batch of 500 client events, and `GET /api/v1/me` (the trivial authenticated baseline) in the same
run; and each again from one client alone (its service time, no queueing). Targets (issue 21): each
p99 <= 50 ms, the event batch <= 100 ms.

Seeding: the likes, posts and chains go in with set-based SQL (the rows the services write, in
bulk: a million likes one service call at a time would take an hour); counters are then set from
the rows in one UPDATE each, and the notification groups of the measured members through the real
`notification_send`. Its own database (kino_feedbench, made afresh) and Redis database 12; the
tests' database and a `make run` one are never touched.

While tuning: `--reuse` keeps kino_feedbench when it exists (and what the seeding noted in
bench-feed/seeded.json) and measures without seeding again; `--alone` measures only one client alone
(the service times); `--only profile,trivial` measures only those requests. With either of the last
two nothing is written to bench/results: results for the record come from a plain run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
import time
import uuid
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.fresh import fresh_environment  # noqa: E402  (after the path)

RESULTS = ROOT / "bench" / "results" / "feed.json"
DATABASE = "kino_feedbench"
CLIENTS = 20
DEEP, WIDE = 1_000, 100_000


def setup_environment(workdir: Path, *, reuse: bool = False) -> bool:
    return fresh_environment(workdir, database=DATABASE, redis_db=12, reuse=reuse)


# --- seeding ------------------------------------------------------------------------


def sql(statement: str, params: list[Any] | None = None) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(statement, params or [])


def seed_members(users: int) -> None:
    """Members and their profiles, one INSERT each (one password hash, computed once)."""
    from django.contrib.auth.hashers import make_password

    password = make_password("bench-password-1")
    sql(
        """INSERT INTO accounts_user (id, username, email, password, birthdate, is_active, is_staff,
               is_superuser, first_name, last_name, date_joined, created_at, updated_at)
           SELECT gen_random_uuid(), 'bench' || n, 'bench' || n || '@example.com', %s, '1990-01-01',
               true, false, false, '', '', now(), now(), now()
           FROM generate_series(1, %s) AS n""",
        [password, users],
    )
    sql(
        """INSERT INTO accounts_profile (user_id, display_name, bio, avatar, created_at, updated_at)
           SELECT id, 'Bench ' || username, '', '', now(), now() FROM accounts_user"""
    )


VIDEO_COLUMNS = """(id, owner_id, state, source_job_id, remix_of_id, lineage, depth, remix_allowed, prompt,
    caption, video, poster, size_bytes, width, height, duration_ms, fps, has_audio, engine, created_at,
    updated_at, posted_at, removed_reason)"""


def seed_posts(posts: int) -> None:
    """`posts` posts, round-robin over the members, an hour apart in time (newest last)."""
    sql(
        f"""WITH members AS (SELECT id, row_number() OVER (ORDER BY username) - 1 AS i FROM accounts_user),
                total AS (SELECT count(*) AS c FROM members)
            INSERT INTO feed_video {VIDEO_COLUMNS}
            SELECT gen_random_uuid(), m.id, 'posted', gen_random_uuid(), NULL, '{{}}', 0, true,
                'a paper boat, take ' || n, 'caption ' || n, 'bench/clip.mp4', 'bench/poster.jpg',
                1000, 256, 448, 4000, 24, true, 'builtin', ts, ts, ts, ''
            FROM generate_series(1, %s) AS n
            CROSS JOIN total
            JOIN members m ON m.i = n %% total.c
            CROSS JOIN LATERAL (SELECT now() - make_interval(secs => (%s - n) * 36) AS ts) t""",  # noqa: S608
        [posts, posts],
    )


def seed_chain(owner: str, depth: int) -> tuple[str, str]:
    """A remix chain `depth` remixes deep below a root: (root id, deepest id)."""
    ids = [str(uuid.uuid4()) for _ in range(depth + 1)]
    sql(
        f"""INSERT INTO feed_video {VIDEO_COLUMNS}
            SELECT ids[n]::uuid, (SELECT id FROM accounts_user WHERE username = %s), 'posted',
                gen_random_uuid(), CASE WHEN n > 1 THEN ids[n - 1]::uuid END,
                ids[1:n - 1]::uuid[], n - 1, true, 'remix ' || n, 'remix ' || n, 'bench/clip.mp4',
                'bench/poster.jpg', 1000, 256, 448, 4000, 24, true, 'builtin', now(), now(), now(), ''
            FROM (SELECT %s::text[] AS ids) AS chain, generate_series(1, %s) AS n""",  # noqa: S608
        [owner, ids, depth + 1],
    )
    return ids[0], ids[-1]


def seed_wide(root_owner: str, width: int) -> str:
    """One post with `width` direct remixes by everyone: the root's id."""
    root = str(uuid.uuid4())
    sql(
        f"""INSERT INTO feed_video {VIDEO_COLUMNS}
            SELECT %s::uuid, id, 'posted', gen_random_uuid(), NULL, '{{}}', 0, true, 'the wide one',
                'the wide one', 'bench/clip.mp4', 'bench/poster.jpg', 1000, 256, 448, 4000, 24, true,
                'builtin', now(), now(), now(), ''
            FROM accounts_user WHERE username = %s""",  # noqa: S608
        [root, root_owner],
    )
    sql(
        f"""WITH members AS (SELECT id, row_number() OVER (ORDER BY username) - 1 AS i FROM accounts_user),
                total AS (SELECT count(*) AS c FROM members)
            INSERT INTO feed_video {VIDEO_COLUMNS}
            SELECT gen_random_uuid(), m.id, 'posted', gen_random_uuid(), %s::uuid, ARRAY[%s::uuid], 1,
                true, 'wide remix ' || n, 'wide remix ' || n, 'bench/clip.mp4', 'bench/poster.jpg', 1000,
                256, 448, 4000, 24, true, 'builtin', ts, ts, ts, ''
            FROM generate_series(1, %s) AS n CROSS JOIN total JOIN members m ON m.i = n %% total.c
            CROSS JOIN LATERAL (SELECT now() - make_interval(secs => (%s - n)) AS ts) t""",  # noqa: S608
        [root, root, width, width],
    )
    return root


def seed_likes(likes: int, posts: int) -> None:
    """`likes` distinct (member, post) pairs over the ordinary posts: member k likes a run of posts."""
    sql(
        """WITH members AS (SELECT id, row_number() OVER (ORDER BY username) - 1 AS i FROM accounts_user),
                videos AS (SELECT id, row_number() OVER (ORDER BY created_at, id) - 1 AS j FROM feed_video
                           WHERE depth = 0 AND prompt LIKE 'a paper boat%%'),
                total AS (SELECT count(*) AS c FROM members)
           INSERT INTO feed_like (user_id, video_id, created_at)
           SELECT m.id, v.id, now() - make_interval(secs => n)
           FROM generate_series(0, %s - 1) AS n CROSS JOIN total
           JOIN members m ON m.i = n %% total.c
           JOIN videos v ON v.j = ((n / total.c) * 7919 + (n %% total.c) * 13) %% %s
           ON CONFLICT DO NOTHING""",
        [likes, posts],
    )


def seed_counters() -> None:
    sql(
        """INSERT INTO feed_videostats (video_id, likes, comments, remixes, descendants, views, watch_ms,
               shares, downloads)
           SELECT v.id, coalesce(l.n, 0), 0, coalesce(r.n, 0), coalesce(r.n, 0), 0, 0, 0, 0
           FROM feed_video v
           LEFT JOIN (SELECT video_id, count(*) AS n FROM feed_like GROUP BY video_id) l ON l.video_id = v.id
           LEFT JOIN (SELECT remix_of_id, count(*) AS n FROM feed_video GROUP BY remix_of_id) r
               ON r.remix_of_id = v.id"""
    )
    sql(
        """UPDATE feed_videostats s SET descendants = d.n
           FROM (SELECT a AS id, count(*) AS n FROM feed_video, unnest(lineage) AS a GROUP BY a) d
           WHERE s.video_id = d.id"""
    )
    sql("ANALYZE")


def seed_notifications(usernames: list[str], per_member: int) -> None:
    """The measured members' notifications, through the real sender: likes of their posts (grouped),
    follows, and mentions (never grouped)."""
    from django.db import transaction

    from accounts.models import User
    from feed.models import NotificationGroup, Video
    from feed.notifications import notification_send

    actors = list(User.objects.filter(username__startswith="bench").values_list("id", flat=True)[:500])
    for username in usernames:
        member = User.objects.get(username=username)
        posts = list(Video.objects.filter(owner=member).values_list("id", flat=True)[:40])
        with transaction.atomic():
            for n in range(per_member):
                kind = (NotificationGroup.Type.LIKED, NotificationGroup.Type.MENTIONED)[n % 2]
                notification_send(
                    recipient_id=member.id,
                    type=kind,
                    actor_id=actors[n % len(actors)],
                    target_kind="video",
                    target_id=posts[n % len(posts)],
                    data={"excerpt": "bench"},
                )


def seed_media(workdir: Path) -> None:
    media = workdir / "media" / "bench"
    media.mkdir(parents=True, exist_ok=True)
    (media / "clip.mp4").write_bytes(b"\x00\x00\x00\x18ftypisom" + bytes(1000))
    (media / "poster.jpg").write_bytes(b"\xff\xd8\xff\xd9")


def seed(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    import django

    django.setup()
    started = time.monotonic()
    seed_members(args.users)
    seed_posts(args.posts)
    root, deepest = seed_chain("bench2", DEEP)
    wide = seed_wide("bench3", args.wide)
    seed_likes(args.likes, args.posts)
    seed_counters()
    clients = [f"bench{n}" for n in range(10, 10 + CLIENTS)]
    seed_notifications(clients, args.notifications)
    seed_media(workdir)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM feed_video")
        videos = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM feed_like")
        likes = cursor.fetchone()[0]
    from feed.models import Video

    event_videos = [str(v) for v in Video.objects.filter(remix_of_id=wide).values_list("id", flat=True)[:50]]
    return {
        "clients": clients,
        "event_videos": event_videos,
        "deepest": deepest,
        "root": root,
        "wide": wide,
        "sizes": {"users": args.users, "posts": videos, "likes": likes, "deep": DEEP, "wide": args.wide},
        "seed_s": round(time.monotonic() - started),
    }


# --- load ---------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


class Connection:
    """A bare HTTP/1.1 keep-alive client: on two cores the load generator shares the CPU with the server,
    and httpx spent as much of it per request as a trivial endpoint's whole handling."""

    def __init__(self, host: str, port: int, token: str) -> None:
        self.host, self.port, self.token = host, port, token
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, body: Any) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        payload = json.dumps(body).encode() if body is not None else b""
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            f"Authorization: Bearer {self.token}\r\nAccept: application/json\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
        )
        self.writer.write(head.encode() + payload)
        assert self.reader is not None
        header = await self.reader.readuntil(b"\r\n\r\n")
        status = int(header.split(b" ", 2)[1])
        length = int(header.lower().split(b"content-length:", 1)[1].split(b"\r\n", 1)[0])
        await self.reader.readexactly(length)
        return status

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def measure(
    base: str, tokens: list[str], make: Any, requests_per_client: int, warmup: int
) -> dict[str, float]:
    """`make(client_index, i) -> (method, path, json)`, CLIENTS clients at once, each one after another."""
    latencies: list[float] = []
    failures = 0
    host, port = base.removeprefix("http://").split(":")

    async def client(index: int) -> None:
        nonlocal failures
        connection = Connection(host, int(port), tokens[index])
        try:
            for i in range(warmup + requests_per_client):
                method, path, body = make(index, i)
                started = time.perf_counter()
                status = await connection.request(method, path, body)
                elapsed = (time.perf_counter() - started) * 1000
                if status >= 300:
                    failures += 1
                elif i >= warmup:
                    latencies.append(elapsed)
        finally:
            connection.close()

    await asyncio.gather(*(client(index) for index in range(len(tokens))))
    if not latencies:
        raise RuntimeError("every request failed")
    return {
        "p50_ms": round(percentile(latencies, 0.5), 1),
        "p99_ms": round(percentile(latencies, 0.99), 1),
        "requests": len(latencies),
        "failures": failures,
    }


def scenarios(seeded: dict[str, Any]) -> dict[str, Any]:
    from django.utils import timezone

    clients, wide, deepest = seeded["clients"], seeded["wide"], seeded["deepest"]
    now = timezone.now().isoformat()
    run = uuid.uuid4().hex[:8]  # event ids new in each run, also on a reused database

    def batch(index: int, i: int) -> tuple[str, str, Any]:
        events = [
            {
                "id": f"b{run}-{index}-{i}-{n}",
                "type": ("impression", "view_start", "watch_progress")[n % 3],
                "video_id": seeded["event_videos"][n % len(seeded["event_videos"])],
                "at": now,
                **({"watch_ms": 1500} if n % 3 == 2 else {}),
            }
            for n in range(500)
        ]
        return "POST", "/api/v1/events", {"events": events}

    return {
        "trivial": lambda index, i: ("GET", "/api/v1/me", None),
        "profile": lambda index, i: (
            "GET",
            f"/api/v1/users/{clients[(index + i) % len(clients)]}/posts",
            None,
        ),
        "lineage_ancestors": lambda index, i: ("GET", f"/api/v1/videos/{deepest}/ancestors", None),
        "lineage_remixes": lambda index, i: ("GET", f"/api/v1/videos/{wide}/remixes", None),
        "notifications": lambda index, i: ("GET", "/api/v1/notifications", None),
        "events_batch": batch,
    }


def run_load(seeded: dict[str, Any], workdir: Path, args: argparse.Namespace) -> dict[str, Any]:
    from accounts.models import User
    from accounts.services import tokens_issue
    from tests.live import LiveStack

    tokens = [tokens_issue(user_id=User.objects.get(username=u).id)["access"] for u in seeded["clients"]]
    (workdir / "mail").mkdir(parents=True, exist_ok=True)
    stack = LiveStack(workdir / "mail", web_workers=2, worker=False).start()
    try:
        measured: dict[str, Any] = {}
        for name, make in scenarios(seeded).items():
            if args.only and name not in args.only:
                continue
            if args.alone:
                measured[name] = {}
            else:
                measured[name] = asyncio.run(measure(stack.base, tokens, make, args.requests, args.warmup))
            # One client alone: the request's own service time, without queueing behind 19 others.
            alone = asyncio.run(measure(stack.base, tokens[:1], make, args.requests * 2, args.warmup))
            measured[name]["alone_p50_ms"] = alone["p50_ms"]
            measured[name]["alone_p99_ms"] = alone["p99_ms"]
            print(name, measured[name], flush=True)
        if args.alone or args.only:
            return measured
        # The baseline again at the end: the machine's drift over the run, in the same file.
        measured["trivial_again"] = asyncio.run(
            measure(stack.base, tokens, scenarios(seeded)["trivial"], args.requests, args.warmup)
        )
        return measured
    finally:
        stack.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--posts", type=int, default=100_000)
    parser.add_argument("--likes", type=int, default=1_000_000)
    parser.add_argument("--wide", type=int, default=WIDE)
    parser.add_argument("--notifications", type=int, default=200, help="per measured member")
    parser.add_argument("--requests", type=int, default=25, help="measured requests per client")
    parser.add_argument("--warmup", type=int, default=3, help="unmeasured requests per client first")
    parser.add_argument("--reuse", action="store_true", help="measure on the last seeded database, if any")
    parser.add_argument("--alone", action="store_true", help="one client alone only; no results file")
    parser.add_argument("--only", type=lambda names: names.split(","), help="comma-separated requests")
    args = parser.parse_args(argv)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request would drown the output
    from config import embedded

    workdir = embedded.var_dir() / "bench-feed"
    started = time.monotonic()
    noted = workdir / "seeded.json"
    if setup_environment(workdir, reuse=args.reuse and noted.exists()):
        import django

        django.setup()
        seeded = json.loads(noted.read_text())
        print("reused", seeded["sizes"], flush=True)
    else:
        seeded = seed(args, workdir)
        noted.write_text(json.dumps(seeded))
        print("seeded", seeded["sizes"], f"in {seeded['seed_s']} s", flush=True)
    measured = run_load(seeded, workdir, args)
    if args.alone or args.only:
        print(json.dumps({name: measured[name] for name in measured}, indent=2))
        return 0
    names = ["profile", "lineage_ancestors", "lineage_remixes", "notifications", "events_batch", "trivial"]
    command = " ".join([".venv/bin/python bench/feed.py", *(argv if argv is not None else sys.argv[1:])])
    result = {
        "p99_ms": {name: measured[name]["p99_ms"] for name in names},
        "p50_ms": {name: measured[name]["p50_ms"] for name in names},
        "targets_p99_ms": {**dict.fromkeys(names[:4], 50), "events_batch": 100},
        "alone_p50_ms": {name: measured[name]["alone_p50_ms"] for name in names},
        "throughput_vs_trivial": {
            name: round(measured["trivial"]["p50_ms"] / measured[name]["p50_ms"], 2) for name in names
        },
        **seeded["sizes"],
        "clients": CLIENTS,
        "details": measured,
        "seed_s": seeded["seed_s"],
        "seconds": round(time.monotonic() - started),
        "cores": os.cpu_count(),
        "date": date.today().isoformat(),
        "command": command.strip(),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: result[k] for k in ("p99_ms", "p50_ms")}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
