"""Reads of remix lineage: a video's ancestors up to the original, its direct remixes, and the tree of
its descendants to a bounded depth, each node with its counts.

The path is materialised (`Video.lineage`, root first), so ancestors are a slice of one array and a
lookup of those ids by primary key, whatever the depth; remixes of one post come from the partial index
`video_remixes`, whatever the width. See docs/architecture.md, "Remix lineage".

Every node is either the viewer's card of a post they may see (`posts_visible_to`) or a tombstone that
says why not and nothing of whom: "deleted" (by its owner, or gone with their account), "removed" (by a
moderator), "hidden" (its creator and the viewer block each other, one way or the other) or
"unavailable" (back among its owner's drafts, or its owner deactivated).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from django.contrib.postgres.expressions import ArraySubquery
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import BooleanField, ExpressionWrapper, F, Func, OuterRef, Q, QuerySet, Value

from accounts.public import block_partner_ids
from config.errors import KinoError
from feed import errors, selectors
from feed.models import Video, VideoStats

State = Video.State

DEPTH_DEFAULT, DEPTH_MAX = 2, 5  # levels of descendants a tree shows
CHILDREN_MAX = 10  # remixes shown under one node of a tree, newest first (the rest: `/remixes`)
NODES_MAX = 200  # descendants in one tree, nearest levels first

DELETED, REMOVED, HIDDEN, UNAVAILABLE = "deleted", "removed", "hidden", "unavailable"
REASONS = (DELETED, REMOVED, HIDDEN, UNAVAILABLE)


@dataclass(frozen=True)
class LineageNode:
    """One video of a chain: its card when the viewer may see it, else a tombstone (`reason`)."""

    id: UUID
    depth: int  # how many ancestors it has (0: an original)
    reason: str | None  # None when available; then `video` is its card
    video: Video | None
    remixes_count: int  # direct remixes that are posted
    descendants_count: int  # posted remixes at any depth below it
    children: tuple[LineageNode, ...] = ()
    more_children: bool = False  # it has remixes this tree does not show

    @property
    def available(self) -> bool:
        return self.reason is None


# --- nodes from rows ---------------------------------------------------------------------------


def _access(*, viewer_id: UUID) -> dict[str, ExpressionWrapper]:
    """Whether the viewer may see a row as a post, and whether its creator and the viewer block each
    other: what a node needs besides the card, in the same query.

    `available` is `posts_visible_to` written as a condition on the row and its owner: as an EXISTS over
    that queryset, PostgreSQL hashes every post there is before reading a single remix (tests hold the
    two to the same answer)."""
    blocked = Q(owner_id__in=block_partner_ids(user_id=viewer_id))
    available = Q(state=State.POSTED, owner__is_active=True) & ~blocked
    return {
        "available": ExpressionWrapper(available, output_field=BooleanField()),
        "hidden": ExpressionWrapper(blocked, output_field=BooleanField()),
    }


def _reason(video: Video | None) -> str | None:
    """Why a node is a tombstone (None: it is not). What became of a video comes before who made it,
    so a block never turns a deleted node into a hidden one."""
    if video is None or video.state == State.DELETED:
        return DELETED  # a missing row went with its owner's account
    if video.state == State.REMOVED:
        return REMOVED
    if video.hidden:  # type: ignore[attr-defined]  # annotated by _access
        return HIDDEN
    return None if video.available else UNAVAILABLE  # type: ignore[attr-defined]


def _counts(video: Video | None) -> tuple[int, int]:
    try:
        stats = video.stats if video is not None else None
    except VideoStats.DoesNotExist:
        stats = None
    return (stats.remixes, stats.descendants) if stats is not None else (0, 0)


def node_of(video: Video, **tree: Any) -> LineageNode:
    """The node of a card annotated with `_access` (`tree`: its children and `more_children`)."""
    return _node(video.id, video.depth, video, **tree)


def _node(video_id: UUID, depth: int, video: Video | None, **tree: Any) -> LineageNode:
    reason = _reason(video)
    remixes, descendants = _counts(video)
    card = video if reason is None else None  # a tombstone shows nothing of the video or its creator
    return LineageNode(video_id, depth, reason, card, remixes, descendants, **tree)


def _rows(ids: Iterable[UUID], *, viewer_id: UUID) -> dict[UUID, Video]:
    """The rows of `ids` that still exist, as cards with access: one query for any number."""
    wanted = list(ids)
    if not wanted:
        return {}
    videos = selectors.video_cards(Video.objects.filter(id__in=wanted).order_by(), viewer_id=viewer_id)
    return {video.id: video for video in videos.annotate(**_access(viewer_id=viewer_id))}


# --- ancestors -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PathCursor:
    """A position in a video's path (0: the root): a page lists the nodes just below `bound`
    (towards the root), or, `upward`, the ones just above it (towards the video)."""

    bound: int
    upward: bool = False


@dataclass(frozen=True)
class AncestorsPage:
    depth: int  # the video's own depth: its path has this many nodes
    nodes: list[LineageNode]  # parent-most first


class _PathSlice(Func):
    """`array[lo:hi]`: 1-based, both ends included, clamped by PostgreSQL to the array's bounds."""

    output_field = ArrayField(models.UUIDField())

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:  # type: ignore[override]
        (path, path_params), (lo, lo_params), (hi, hi_params) = (
            compiler.compile(expression) for expression in self.get_source_expressions()
        )
        return f"({path})[{lo}:{hi}]", [*path_params, *lo_params, *hi_params]


def _slice_bounds(cursor: PathCursor | None, limit: int) -> tuple[Any, Any]:
    """The 1-based slice of the path that a page shows (see PathCursor); the first page ends at the
    parent, whose position only the row knows."""
    if cursor is None:
        return F("depth") - (limit - 1), F("depth")
    if cursor.upward:
        return Value(cursor.bound + 2), Value(cursor.bound + limit + 1)
    return Value(cursor.bound - limit + 1), Value(cursor.bound)


def ancestors_page(
    *, viewer_id: UUID, video_id: UUID, cursor: PathCursor | None, limit: int
) -> AncestorsPage:
    """One page of a visible video's ancestors, parent first: one query for the video and its slice of
    the path, one for those nodes' cards, whatever the depth. 404 when the viewer may not see it."""
    lo, hi = _slice_bounds(cursor, limit)
    row = (
        selectors.videos_visible_to(viewer_id=viewer_id)
        .filter(id=video_id)
        .annotate(part=_PathSlice(F("lineage"), lo, hi))
        .values_list("depth", "part")
        .first()
    )
    if row is None:
        raise KinoError(errors.VIDEO_NOT_FOUND)
    depth, part = row
    first = depth - limit + 1 if cursor is None else lo.value
    start = max(first, 1) - 1  # the position of part[0]
    rows = _rows(part, viewer_id=viewer_id)
    nodes = [_node(node_id, start + i, rows.get(node_id)) for i, node_id in enumerate(part)]
    return AncestorsPage(depth=depth, nodes=nodes[::-1])


# --- remixes ---------------------------------------------------------------------------------


def _listed_remixes(*, viewer_id: UUID) -> QuerySet[Video]:
    """The remixes a list shows: posts the viewer may see, and tombstones that still have posted
    remixes below them (so the chain reads on). A hidden or unavailable leaf is left out, as are
    drafts (the partial index `video_remixes` holds no drafts)."""
    return (
        Video.objects.exclude(state=State.DRAFT)
        .annotate(**_access(viewer_id=viewer_id))
        .filter(Q(available=True) | Q(stats__descendants__gt=0))
        .order_by("-created_at", "-id")
    )


def remixes_of(*, viewer_id: UUID, video_id: UUID) -> QuerySet[Video]:
    """Direct remixes of a visible video, newest first, for a cursor page (404 when the viewer may not
    see the video). Rows come with what `node_of` needs."""
    if not selectors.videos_visible_to(viewer_id=viewer_id).filter(id=video_id).exists():
        raise KinoError(errors.VIDEO_NOT_FOUND)
    return selectors.video_cards(
        _listed_remixes(viewer_id=viewer_id).filter(remix_of_id=video_id), viewer_id=viewer_id
    )


# --- the descendant tree -----------------------------------------------------------------------


def _children_ids(parents: Sequence[UUID], *, viewer_id: UUID, per_parent: int) -> dict[UUID, list[UUID]]:
    """The newest `per_parent` listed remixes of each parent, in one query: a correlated subquery per
    parent, each reading `per_parent` entries of the partial index (never a whole wide node)."""
    remixes = _listed_remixes(viewer_id=viewer_id).filter(remix_of_id=OuterRef("id")).values("id")
    rows = (
        Video.objects.filter(id__in=parents)
        .order_by()
        .annotate(kids=ArraySubquery(remixes[:per_parent]))
        .values_list("id", "kids")
    )
    return dict(rows)


@dataclass
class _Levels:
    """The shape of a tree while it is read, level by level."""

    children: dict[UUID, list[UUID]]
    more: set[UUID]
    budget: int = NODES_MAX

    def take(self, parents: list[UUID], found: dict[UUID, list[UUID]]) -> list[UUID]:
        """Each parent's first remixes, within the per-node and total caps; the ones taken."""
        taken: list[UUID] = []
        for parent in parents:
            kids = found.get(parent) or []
            self.children[parent] = kids[: min(CHILDREN_MAX, self.budget)]
            if len(kids) > len(self.children[parent]):
                self.more.add(parent)
            taken += self.children[parent]
            self.budget -= len(self.children[parent])
        return taken


def _tree_shape(root_id: UUID, *, viewer_id: UUID, depth: int) -> _Levels:
    """Which descendants a tree shows, breadth first (nearest levels, then newest first): one query
    per level and one more that only asks whether the last nodes have remixes of their own."""
    levels = _Levels(children={}, more=set())
    parents = [root_id]
    for level in range(1, depth + 2):
        if level > depth or levels.budget == 0:
            found = _children_ids(parents, viewer_id=viewer_id, per_parent=1)
            levels.more.update(parent for parent in parents if found.get(parent))
            break
        found = _children_ids(parents, viewer_id=viewer_id, per_parent=CHILDREN_MAX + 1)
        parents = levels.take(parents, found)
        if not parents:
            break
    return levels


def lineage_tree(*, viewer_id: UUID, video_id: UUID, depth: int = DEPTH_DEFAULT) -> LineageNode:
    """A visible video and its descendants `depth` levels down (at most CHILDREN_MAX under a node and
    NODES_MAX in all): at most depth + 3 queries, whatever the width or depth of the data.
    404 when the viewer may not see the video."""
    root = selectors.video_get_for_viewer(viewer_id=viewer_id, video_id=video_id)
    levels = _tree_shape(root.id, viewer_id=viewer_id, depth=depth)
    rows = _rows((kid for kids in levels.children.values() for kid in kids), viewer_id=viewer_id)

    def build(video_id: UUID, depth: int) -> dict[str, Any]:
        """A node's children, each with its own (a row gone since the shape was read: a tombstone)."""
        kids = tuple(
            _node(kid, depth + 1, rows.get(kid), **build(kid, depth + 1))
            for kid in levels.children.get(video_id, [])
        )
        return {"children": kids, "more_children": video_id in levels.more}

    remixes, descendants = _counts(root)
    # The root is the video the viewer asked for and may see (their own draft too): always its card.
    return LineageNode(root.id, root.depth, None, root, remixes, descendants, **build(root.id, root.depth))
