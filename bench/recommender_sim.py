"""The recommender's simulated world: members with hidden tastes, creators, videos on topics, a
follow graph and interactions drawn by a stated behaviour model (bench/recommender.py seeds it and
measures the feed against it; tests/recommender/test_bench_small.py runs a small one).

The world (all of it decided by one seed, numpy only, no database):

- Topics: 24, each with subjects, actions and settings; a video's prompt is one of each from its
  topic ("a street chef flipping noodles in a night market"). Prompts are drawn from a pool of
  `prompts` distinct texts and several videos share one (takes of the same prompt, as people post
  them): the content vectors are the real model's embeddings of the pool (embedding every one of
  100,000 texts would take longer on 2 cores than everything else together).
- Creators: the first `creators` members; each has one or two home topics (80 % of their videos come
  from them) and a quality offset; a video's hidden quality is its creator's plus noise.
- Members: 2-4 interests each (topics, Dirichlet weights). Each interest has a hidden taste vector:
  the topic's centroid pulled toward one prompt of it (people like *kinds* of cooking, not cooking).
  affinity(u, v) = max over interests of cos(taste, content(v)) + 0.1 log(K w).
- Follows: 5 + Poisson(10) creators each, 70 % among creators of the member's interests, 30 %
  among all (both by creator popularity).
- Exposures (the old feed that logged the history): at a time uniform over the window, a video
  posted before it, from the member's interests (40 %, recent ones favoured), followed creators
  (20 %), popular (25 %: best quality of 8 drawn) or anything (15 %). A few members watch a lot
  (log-normal activity).
- Behaviour: utility = 6 (affinity - 0.45) + 0.8 quality + 0.7 followed + logistic noise.
  Watched fraction = sigmoid(utility); liked when utility > 3; shared when > 3.5 (1 in 4);
  remixed when > 4.5 (1 in 4; the remix is a new posted video by the member, from the same prompt);
  "see less" when utility < -3 (1 in 3); a skip when the watched fraction is under 0.2.
- Time: 30 days; videos are posted over the first 24; the split is at day 24 (time-ordered): the
  database holds what happened before it, the test is what members did after it. Day 24 is "now".

Gains for the offline ranking metrics: remixed 3, liked or shared 2, watched >= 70 % 1, else 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

DAY_S = 86_400.0
DAYS = 30.0
SPLIT_DAY = 24.0
TOPICS: tuple[tuple[str, tuple[str, ...], tuple[str, ...], tuple[str, ...]], ...] = (
    (
        "cooking",
        ("a street chef", "a grandmother", "a pastry cook", "two friends"),
        ("flipping noodles", "baking sourdough bread", "frying dumplings", "plating a dessert"),
        ("in a night market", "in a rustic kitchen", "over a campfire", "in a tiny apartment"),
    ),
    (
        "surfing",
        ("a surfer", "a longboarder", "a kid on a bodyboard", "a pro surfer"),
        ("riding a huge wave", "wiping out", "paddling out", "carving a barrel"),
        ("at sunset", "in Hawaii", "on a stormy sea", "at a crowded beach"),
    ),
    (
        "horror",
        ("a ghost", "a masked stranger", "a creepy doll", "a zombie"),
        ("crawling out of a well", "knocking on a window", "whispering in the dark", "chasing a girl"),
        ("in an abandoned hospital", "in a foggy forest", "in a haunted house", "in a basement"),
    ),
    (
        "cats",
        ("a fluffy kitten", "a grumpy cat", "a ginger cat", "a black cat"),
        ("knocking cups off a table", "chasing a laser dot", "sleeping in a box", "playing with yarn"),
        ("on a sunny windowsill", "in a living room", "on a bookshelf", "in a cardboard castle"),
    ),
    (
        "space",
        ("an astronaut", "a rover", "a space station", "a rocket"),
        ("floating past Saturn", "landing on Mars", "docking in orbit", "launching into the stars"),
        ("near a nebula", "over the moon", "through an asteroid field", "above the earth"),
    ),
    (
        "football",
        ("a striker", "a goalkeeper", "a youth team", "a football fan"),
        ("scoring a bicycle kick", "saving a penalty", "celebrating a goal", "dribbling past defenders"),
        ("in a packed stadium", "on a muddy pitch", "in a street match", "in the rain"),
    ),
    (
        "dance",
        ("a ballet dancer", "a breakdancer", "a salsa couple", "a hip hop crew"),
        ("spinning on one hand", "performing a duet", "doing a flash mob", "dancing in sync"),
        ("on a city rooftop", "on a theatre stage", "in a subway station", "at a wedding"),
    ),
    (
        "cars",
        ("a vintage sports car", "a rally car", "a muscle car", "an electric supercar"),
        ("drifting around a corner", "racing at full speed", "jumping over a crest", "doing donuts"),
        ("on a mountain road", "on a desert track", "at a night street race", "on a snowy circuit"),
    ),
    (
        "gardening",
        ("a gardener", "an old farmer", "a child", "a botanist"),
        ("planting tomatoes", "pruning roses", "watering seedlings", "harvesting pumpkins"),
        ("in a greenhouse", "in a backyard garden", "on an allotment", "on a balcony"),
    ),
    (
        "fantasy",
        ("a dragon", "a wizard", "an elf archer", "a knight"),
        ("casting a fire spell", "guarding a treasure", "flying over a castle", "fighting a troll"),
        ("in an enchanted forest", "in a crystal cave", "over a medieval city", "in a misty valley"),
    ),
    (
        "dogs",
        ("a golden retriever", "a corgi", "a husky", "a dachshund puppy"),
        ("catching a frisbee", "running on the beach", "rolling in the snow", "fetching a stick"),
        ("in a park", "in the mountains", "in a backyard", "at a dog show"),
    ),
    (
        "fitness",
        ("a weightlifter", "a yoga teacher", "a marathon runner", "a boxer"),
        ("lifting a heavy barbell", "holding a handstand", "sprinting uphill", "hitting a punching bag"),
        ("in a gym", "on a beach at dawn", "in a boxing ring", "on a mountain trail"),
    ),
    (
        "city",
        ("a cyclist", "a taxi", "a crowd of commuters", "a street musician"),
        ("weaving through traffic", "crossing a busy street", "playing saxophone", "waiting for a train"),
        ("in Tokyo at night", "in New York", "in a rainy Paris", "in neon-lit Hong Kong"),
    ),
    (
        "ocean",
        ("a humpback whale", "a sea turtle", "a school of fish", "a diver"),
        ("swimming through coral", "breaching the surface", "exploring a shipwreck", "gliding past kelp"),
        ("in clear blue water", "in the deep sea", "near a reef", "under arctic ice"),
    ),
    (
        "music",
        ("a rock band", "a pianist", "a DJ", "an orchestra"),
        ("playing a guitar solo", "performing a concert", "mixing a track", "tuning instruments"),
        ("at a festival", "in a recording studio", "in a concert hall", "in a small bar"),
    ),
    (
        "comedy",
        ("a clumsy waiter", "a stand-up comedian", "a prankster", "two clowns"),
        ("slipping on a banana peel", "telling a joke", "pulling a prank", "juggling pies"),
        ("at a fancy dinner", "on a comedy stage", "in an office", "at a birthday party"),
    ),
    (
        "architecture",
        ("a glass skyscraper", "a gothic cathedral", "a modern villa", "a wooden cabin"),
        ("being built", "lit up at dusk", "seen from a drone", "covered in ivy"),
        ("in a futuristic city", "in a snowy landscape", "on a cliff", "by a lake"),
    ),
    (
        "skateboarding",
        ("a skateboarder", "a teenage skater", "a skate crew", "an old skater"),
        ("landing a kickflip", "grinding a rail", "dropping into a bowl", "falling off a ramp"),
        ("at a skate park", "in an empty pool", "down a city street", "in a parking garage"),
    ),
    (
        "painting",
        ("a painter", "a street artist", "a child", "an art student"),
        ("painting a mural", "sketching a portrait", "splashing watercolours", "spraying graffiti"),
        ("in a sunlit studio", "on a brick wall", "in a gallery", "by a river"),
    ),
    (
        "birds",
        ("an eagle", "a flock of parrots", "a hummingbird", "an owl"),
        ("diving for a fish", "feeding on nectar", "flying in formation", "hunting at night"),
        ("over a canyon", "in a rainforest", "in a flower garden", "in a snowy forest"),
    ),
    (
        "travel",
        ("a backpacker", "a couple", "a vlogger", "a family"),
        ("hiking to a waterfall", "riding a hot air balloon", "exploring old ruins", "taking a night train"),
        ("in Iceland", "in Morocco", "in the Alps", "in Peru"),
    ),
    (
        "robots",
        ("a humanoid robot", "a tiny robot", "a giant mech", "a robot dog"),
        ("learning to walk", "making coffee", "fighting another robot", "repairing itself"),
        ("in a laboratory", "in a factory", "in a ruined city", "in a kitchen"),
    ),
    (
        "weather",
        ("a tornado", "a lightning storm", "a blizzard", "a double rainbow"),
        ("forming over the plains", "striking a tree", "sweeping across a town", "appearing after rain"),
        ("in Kansas", "over the ocean", "in the mountains", "over a city skyline"),
    ),
    (
        "fashion",
        ("a model", "a tailor", "a designer", "a street style crowd"),
        ("walking the runway", "sewing a gown", "trying on outfits", "posing for photos"),
        ("at fashion week", "in an atelier", "in a vintage shop", "on a Milan street"),
    ),
)
STYLES = ("", ", cinematic", ", slow motion", ", handheld footage", ", timelapse", ", drone shot")


@dataclass(frozen=True)
class Tier:
    """Sizes of one world. `interactions` counts the exposures before the split (the database's
    view events, one per exposure); likes, shares and remixes come on top of them."""

    name: str
    videos: int
    users: int
    interactions: int
    prompts: int
    eval_users: int
    load_requests: int = 25  # per client, each scenario of the load test

    @property
    def creators(self) -> int:
        return max(10, self.users // 10)


TIERS = {
    "small": Tier("small", videos=2_000, users=200, interactions=20_000, prompts=600, eval_users=60),
    "S": Tier("S", videos=100_000, users=10_000, interactions=1_000_000, prompts=8_000, eval_users=400),
    "M": Tier(
        "M", videos=1_000_000, users=100_000, interactions=10_000_000, prompts=40_000, eval_users=1_000
    ),
}


@dataclass
class World:
    """Everything the simulator decided; arrays are indexed by member, video or exposure number."""

    tier: Tier
    prompt_texts: list[str]
    prompt_topic: np.ndarray  # [P]
    prompt_vectors: np.ndarray  # [P, 384] unit, the real model's
    topic_centroids: np.ndarray  # [T, 384] unit
    creator_topics: np.ndarray  # [C, 2] home topics (the same twice for one)
    creator_quality: np.ndarray  # [C]
    video_creator: np.ndarray  # [V] member index
    video_prompt: np.ndarray  # [V]
    video_quality: np.ndarray  # [V]
    video_day: np.ndarray  # [V] posting time in days
    interests: np.ndarray  # [U, 4] topic ids (-1: none)
    interest_weights: np.ndarray  # [U, 4]
    tastes: np.ndarray  # [U, 4, 384] unit (zero rows for no interest)
    follows: np.ndarray  # [F, 2] (member, creator member)
    exposures: dict[str, np.ndarray] = field(default_factory=dict)  # user, video, day, outcome columns

    @property
    def video_topic(self) -> np.ndarray:
        return self.prompt_topic[self.video_prompt]

    def video_vectors(self, videos: np.ndarray) -> np.ndarray:
        return self.prompt_vectors[self.video_prompt[videos]]

    @cached_property
    def follow_keys(self) -> np.ndarray:
        """member * users + creator for every follow, sorted (for `followed`)."""
        return np.unique(self.follows[:, 0].astype(np.int64) * self.tier.users + self.follows[:, 1])

    def followed(self, users: np.ndarray, creators: np.ndarray) -> np.ndarray:
        """Whether each member follows the creator beside it: a search in the sorted keys (np.isin
        sorted all 1.5 M of them again at every call, 2 s a call at M)."""
        keys, table = users.astype(np.int64) * self.tier.users + creators, self.follow_keys
        at = np.minimum(np.searchsorted(table, keys), max(0, len(table) - 1))
        return table[at] == keys if len(table) else np.zeros(len(keys), bool)


def prompt_pool(count: int, rng: np.random.Generator) -> tuple[list[str], np.ndarray]:
    """`count` distinct prompts spread evenly over the topics (capped by what the words allow)."""
    per_topic = max(1, count // len(TOPICS))
    texts: list[str] = []
    topics: list[int] = []
    for t, (_, subjects, actions, places) in enumerate(TOPICS):
        combos = len(subjects) * len(actions) * len(places) * len(STYLES)
        for n in rng.choice(combos, size=min(per_topic, combos), replace=False):
            s, rest = divmod(int(n), len(actions) * len(places) * len(STYLES))
            a, rest = divmod(rest, len(places) * len(STYLES))
            p, style = divmod(rest, len(STYLES))
            texts.append(f"{subjects[s]} {actions[a]} {places[p]}{STYLES[style]}")
            topics.append(t)
    return texts, np.asarray(topics)


def _unit(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    return x / np.maximum(norms, 1e-9)


def world_make(tier: Tier, embed: Any, seed: int = 25) -> World:
    """The world of `tier`: `embed(texts) -> [n, 384]` unit vectors (the real model)."""
    rng = np.random.default_rng(seed)
    texts, prompt_topic = prompt_pool(tier.prompts, rng)
    vectors = np.asarray(embed(texts), dtype=np.float32)
    topics = len(TOPICS)
    centroids = _unit(np.stack([vectors[prompt_topic == t].mean(0) for t in range(topics)]))
    creators = tier.creators
    home = rng.integers(0, topics, size=(creators, 2))
    single = rng.random(creators) < 0.5  # half the creators keep to one topic
    home[single, 1] = home[single, 0]
    creator_quality = rng.normal(0.0, 0.5, creators)
    video_creator, video_prompt, video_quality, video_day = _videos(
        tier, rng, home, creator_quality, prompt_topic
    )
    interests, weights, tastes = _tastes(tier.users, rng, vectors, prompt_topic, centroids)
    follows = _follows(tier.users, rng, home, creator_quality, interests)
    world = World(
        tier,
        texts,
        prompt_topic,
        vectors,
        centroids,
        home,
        creator_quality,
        video_creator,
        video_prompt,
        video_quality,
        video_day,
        interests,
        weights,
        tastes,
        follows,
    )
    world.exposures = _behave(world, _expose(world, rng), rng)
    return world


def _videos(
    tier: Tier, rng: np.random.Generator, home: np.ndarray, quality: np.ndarray, prompt_topic: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Originals, oldest first: creator (Zipf-ish activity), topic (home 80 %), prompt, quality, day."""
    activity = rng.pareto(1.5, tier.creators) + 1.0
    creator = rng.choice(tier.creators, size=tier.videos, p=activity / activity.sum())
    topic = np.where(
        rng.random(tier.videos) < 0.8,
        home[creator, rng.integers(0, 2, tier.videos)],
        rng.integers(0, len(TOPICS), tier.videos),
    )
    by_topic = [np.flatnonzero(prompt_topic == t) for t in range(len(TOPICS))]
    prompt = np.asarray([by_topic[t][rng.integers(0, len(by_topic[t]))] for t in topic])
    video_quality = quality[creator] + rng.normal(0.0, 0.7, tier.videos)
    day = np.sort(rng.uniform(0.0, SPLIT_DAY, tier.videos))
    return creator, prompt, video_quality, day


def _tastes(
    users: int, rng: np.random.Generator, vectors: np.ndarray, prompt_topic: np.ndarray, centroids: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    count = rng.integers(2, 5, users)
    interests = np.full((users, 4), -1)
    weights = np.zeros((users, 4))
    tastes = np.zeros((users, 4, vectors.shape[1]), np.float32)
    for u in range(users):
        k = int(count[u])
        chosen = rng.choice(len(centroids), size=k, replace=False)
        interests[u, :k] = chosen
        weights[u, :k] = rng.dirichlet(np.full(k, 1.5))
        for j, t in enumerate(chosen):
            members = np.flatnonzero(prompt_topic == t)
            tastes[u, j] = centroids[t] + 0.8 * vectors[members[rng.integers(0, len(members))]]
    return interests, weights, _unit(tastes).astype(np.float32)


def _follows(
    users: int, rng: np.random.Generator, home: np.ndarray, quality: np.ndarray, interests: np.ndarray
) -> np.ndarray:
    popularity = np.exp(2.0 * quality)
    pairs = set()
    by_topic = [np.flatnonzero((home == t).any(1)) for t in range(len(TOPICS))]
    for u in range(users):
        for _ in range(5 + rng.poisson(10)):
            if rng.random() < 0.7:
                pool = by_topic[interests[u, rng.integers(0, (interests[u] >= 0).sum())]]
            else:
                pool = np.arange(len(home))
            if len(pool) == 0:
                continue
            p = popularity[pool] / popularity[pool].sum()
            creator = int(rng.choice(pool, p=p))
            if creator != u:
                pairs.add((u, creator))
    return np.asarray(sorted(pairs), dtype=np.int64).reshape(-1, 2)


SOURCES = ("interest", "follow", "popular", "random")


def _sorted_by(keys: np.ndarray, days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Videos ordered by (key, day): the order, the sorted combined keys, and where each key starts."""
    order = np.lexsort((days, keys))
    combined = keys[order] * 100.0 + days[order]
    starts = np.searchsorted(keys[order], np.arange(keys.max() + 2))
    return order, combined, starts


def _pick_before(
    rng: np.random.Generator,
    group: np.ndarray,
    day: np.ndarray,
    by: tuple[np.ndarray, np.ndarray, np.ndarray],
    recent: int,
) -> np.ndarray:
    """For each exposure, a video of `group` posted before `day` (-1 when none); 70 % of the time one
    of the `recent` newest of them."""
    order, combined, starts = by
    end = np.searchsorted(combined, group * 100.0 + day)
    start = starts[group]
    available = end - start
    low = np.where(rng.random(len(day)) < 0.7, np.maximum(start, end - recent), start)
    chosen = low + np.floor(rng.random(len(day)) * (end - low)).astype(np.int64)
    return np.where(available > 0, order[np.minimum(chosen, len(order) - 1)], -1)


def _expose(world: World, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Who was shown what and when, by the old feed (see the module's docstring), oldest first,
    each (member, video) once."""
    tier, videos = world.tier, len(world.video_day)
    total = int(tier.interactions * DAYS / SPLIT_DAY * 1.08)  # a few repeats are dropped below
    activity = rng.lognormal(0.0, 1.0, tier.users)
    user = rng.choice(tier.users, size=total, p=activity / activity.sum())
    day = rng.uniform(0.2, DAYS, total)
    source = np.searchsorted(np.cumsum([0.4, 0.2, 0.25, 0.15]), rng.random(total), side="right")
    posted = np.searchsorted(world.video_day, day)
    video = np.floor(rng.random(total) * posted).astype(np.int64)  # random
    draws = np.floor(rng.random((total, 8)) * posted[:, None]).astype(np.int64)
    best = draws[np.arange(total), np.argmax(world.video_quality[draws], axis=1)]
    video = np.where(source == 2, best, video)
    cumulative = np.cumsum(world.interest_weights, axis=1)[user]
    slot = np.minimum((rng.random(total)[:, None] > cumulative).sum(1), 3)
    topic = np.maximum(world.interests[user, slot], 0)
    per_topic_recent = max(1, int(videos / len(TOPICS) / SPLIT_DAY * 3))
    in_topic = _pick_before(rng, topic, day, _sorted_by(world.video_topic, world.video_day), per_topic_recent)
    video = np.where((source == 0) & (in_topic >= 0), in_topic, video)
    video = np.where(source == 1, _followed_video(world, rng, user, day, video), video)
    order = np.argsort(day, kind="stable")
    user, video, day, source = user[order], video[order], day[order], source[order]
    _, first = np.unique(user.astype(np.int64) * videos + video, return_index=True)
    keep = np.sort(first)
    return {"user": user[keep], "video": video[keep], "day": day[keep], "source": source[keep]}


def _followed_video(
    world: World, rng: np.random.Generator, user: np.ndarray, day: np.ndarray, fallback: np.ndarray
) -> np.ndarray:
    """A post of one of the member's followed creators from before `day` (else `fallback`)."""
    follows = world.follows
    starts = np.searchsorted(follows[:, 0], np.arange(world.tier.users + 1))
    count = starts[user + 1] - starts[user]
    edge = starts[user] + np.floor(rng.random(len(user)) * np.maximum(count, 1)).astype(np.int64)
    creator = follows[np.minimum(edge, len(follows) - 1), 1]
    picked = _pick_before(rng, creator, day, _sorted_by(world.video_creator, world.video_day), 10)
    return np.where((count > 0) & (picked >= 0), picked, fallback)


def affinity(world: World, users: np.ndarray, videos: np.ndarray) -> np.ndarray:
    """The hidden affinity of each (member, video) pair (see the module's docstring)."""
    out = np.empty(len(users), np.float32)
    for begin in range(0, len(users), 20_000):
        u, v = users[begin : begin + 20_000], videos[begin : begin + 20_000]
        cos = np.einsum("nkd,nd->nk", world.tastes[u], world.video_vectors(v))
        w = world.interest_weights[u]
        bonus = np.where(w > 0, 0.1 * np.log(np.maximum(w, 1e-9) * 4), -np.inf)
        out[begin : begin + 20_000] = (cos + bonus).max(1)
    return out


def expected_utility(world: World, users: np.ndarray, videos: np.ndarray) -> np.ndarray:
    """The behaviour model's utility without its noise (the oracle's score)."""
    followed = world.followed(users, world.video_creator[videos])
    return 6.0 * (affinity(world, users, videos) - 0.45) + 0.8 * world.video_quality[videos] + 0.7 * followed


def _behave(world: World, exposed: dict[str, np.ndarray], rng: np.random.Generator) -> dict[str, np.ndarray]:
    """What each member did with what they were shown (see the module's docstring)."""
    n = len(exposed["user"])
    utility = expected_utility(world, exposed["user"], exposed["video"]) + rng.logistic(0.0, 1.0, n)
    watched = 1.0 / (1.0 + np.exp(-utility))
    liked = utility > 3.0
    shared = (utility > 3.5) & (rng.random(n) < 0.25)
    remixed = (utility > 4.5) & (rng.random(n) < 0.25)
    see_less = (utility < -3.0) & (rng.random(n) < 1 / 3)
    gain = np.select([remixed, liked | shared, watched >= 0.7], [3, 2, 1], 0)
    return {
        **exposed,
        "watched": watched.astype(np.float32),
        "liked": liked,
        "shared": shared,
        "remixed": remixed,
        "see_less": see_less,
        "gain": gain,
    }


# --- the offline evaluation ---------------------------------------------------------


def popularity(world: World) -> np.ndarray:
    """Per video: positive outcomes (gain > 0) before the split, the popularity baseline's score."""
    e = world.exposures
    train = (e["day"] < SPLIT_DAY) & (e["gain"] > 0)
    return np.bincount(e["video"][train], minlength=len(world.video_day)).astype(np.float64)


@dataclass(frozen=True)
class Case:
    """One test member: candidates (video numbers) and the gain of each from what they did after
    the split (unseen ones 0)."""

    user: int
    videos: np.ndarray
    gains: np.ndarray


def eval_cases(world: World, count: int, negatives: int = 100, seed: int = 7) -> list[Case]:
    """Members with a positive outcome after the split, each with their test exposures (videos they
    had not met before the split) plus `negatives` videos they never met."""
    rng = np.random.default_rng(seed)
    e = world.exposures
    test = e["day"] >= SPLIT_DAY
    positive_users = np.unique(e["user"][test & (e["gain"] > 0)])
    chosen = rng.choice(positive_users, size=min(count, len(positive_users)), replace=False)
    met_by: dict[int, set[int]] = {}
    for u, v in zip(e["user"][~test], e["video"][~test], strict=True):
        met_by.setdefault(int(u), set()).add(int(v))
    cases = []
    for u in sorted(int(x) for x in chosen):
        rows = np.flatnonzero(test & (e["user"] == u))
        met = met_by.get(u, set())
        rows = np.asarray([r for r in rows if int(e["video"][r]) not in met], dtype=np.int64)
        if not (e["gain"][rows] > 0).any():
            continue
        shown = {int(v) for v in e["video"][rows]} | met
        pool = [int(v) for v in rng.choice(len(world.video_day), size=negatives * 2) if int(v) not in shown]
        others = np.unique(np.asarray(pool[:negatives], dtype=np.int64))
        cases.append(
            Case(
                u,
                np.concatenate([e["video"][rows], others]),
                np.concatenate([e["gain"][rows], np.zeros(len(others))]),
            )
        )
    return cases


def ndcg_at(scores: np.ndarray, gains: np.ndarray, k: int = 20) -> float:
    """NDCG@k with exponential gains (2^g - 1); ties in score broken by position (stable)."""
    top = np.argsort(-scores, kind="stable")[:k]
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    dcg = float(((2.0 ** gains[top] - 1) * discounts[: len(top)]).sum())
    ideal = np.sort(gains)[::-1][:k]
    idcg = float(((2.0**ideal - 1) * discounts[: len(ideal)]).sum())
    return dcg / idcg if idcg > 0 else 0.0


def recall_at(scores: np.ndarray, gains: np.ndarray, k: int = 20) -> float:
    """Of the videos the member acted on (gain > 0), the share in the top k."""
    relevant = gains > 0
    top = np.argsort(-scores, kind="stable")[:k]
    return float(relevant[top].sum() / relevant.sum()) if relevant.any() else 0.0


def evaluate(cases: list[Case], scorers: dict[str, Any]) -> dict[str, dict[str, float]]:
    """{scorer: {"ndcg_at_20", "recall_at_20"}}: the mean over cases; `scorers[name](case) -> scores`.
    Candidates are shuffled once per case first, so no scorer gains from their order."""
    rng = np.random.default_rng(11)
    sums: dict[str, list[float]] = {name: [0.0, 0.0] for name in scorers}
    for case in cases:
        perm = rng.permutation(len(case.videos))
        shuffled = Case(case.user, case.videos[perm], case.gains[perm])
        for name, scorer in scorers.items():
            scores = np.asarray(scorer(shuffled), dtype=np.float64)
            sums[name][0] += ndcg_at(scores, shuffled.gains)
            sums[name][1] += recall_at(scores, shuffled.gains)
    n = max(1, len(cases))
    return {
        name: {"ndcg_at_20": round(s[0] / n, 4), "recall_at_20": round(s[1] / n, 4)}
        for name, s in sums.items()
    }


def remixes(world: World) -> dict[str, np.ndarray]:
    """The remixes members posted before the split: (member, source video, day)."""
    e = world.exposures
    rows = np.flatnonzero(e["remixed"] & (e["day"] < SPLIT_DAY))
    return {"user": e["user"][rows], "video": e["video"][rows], "day": e["day"][rows]}
