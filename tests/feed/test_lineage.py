"""Remix lineage through the API: ancestors up to the root, direct remixes, the descendant tree, counts
per node; tombstones where a node is gone or hidden, and bounded queries for deep and wide chains."""

from __future__ import annotations

import json
from datetime import timedelta
from uuid import UUID, uuid4

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.services import member_deactivate, member_delete
from feed import lineage
from feed.models import Video, VideoStats
from feed.selectors import posts_visible_to
from feed.services import draft_create_for_job, video_delete, video_post, video_remove, video_unpost
from mediakit import EncodedClip
from tests.factories import BlockFactory, PostFactory, UserFactory, VideoFactory

pytestmark = pytest.mark.django_db

CLIP = EncodedClip(
    mp4=b"\x00\x00\x00\x18ftypisom" + bytes(64),
    poster_jpeg=b"\xff\xd8poster\xff\xd9",
    width=256,
    height=448,
    duration_ms=2000,
    fps=8.0,
    has_audio=False,
)


def post(owner, *, remix_of: UUID | None = None, caption: str = "") -> UUID:
    """A generation's draft (a remix of `remix_of`), posted: the way the app makes a post."""
    receipt = draft_create_for_job(
        owner_id=owner.id,
        job_id=uuid4(),
        prompt="a paper boat",
        media=CLIP,
        engine="test",
        remix_of_id=remix_of,
    )
    video_post(owner_id=owner.id, video_id=receipt.video_id, caption=caption)
    return receipt.video_id


def chain(*owners) -> list[UUID]:
    """root -> remix -> remix of remix ..., one post per owner, root first."""
    ids: list[UUID] = []
    for owner in owners:
        ids.append(post(owner, remix_of=ids[-1] if ids else None))
    return ids


def get(client, url: str, status: int = 200):
    response = client.get(url)
    assert response.status_code == status, response.content[:500]
    return response.json()


def ancestors(client, video_id, **params):
    query = "&".join(f"{key}={value}" for key, value in params.items())
    return get(client, f"/api/v1/videos/{video_id}/ancestors?{query}")


def ids_of(nodes) -> list[str]:
    return [node["id"] for node in nodes]


def tombstone(node) -> tuple[bool, str | None, object]:
    return node["available"], node["reason"], node["video"]


def tree_ids(node) -> dict:
    """A tree as {id: its subtree}, to compare shapes."""
    return {child["id"]: tree_ids(child) for child in node["children"]}


def bulk_posts(owner, count: int, *, parent: Video | None = None, chain_of: bool = False) -> list[Video]:
    """`count` posts and their counters in two INSERTs: remixes of `parent` (one level, newest first by
    created_at), or with `chain_of` each a remix of the one before (a chain `count` deep)."""
    now = timezone.now()
    videos: list[Video] = []
    for i in range(count):
        above = videos[-1] if chain_of and videos else parent
        path = [*above.lineage, above.id] if above else []
        videos.append(
            Video(
                owner=owner,
                state=Video.State.POSTED,
                posted_at=now,
                created_at=now - timedelta(seconds=i if not chain_of else count - i),
                prompt=f"take {i}",
                width=256,
                height=448,
                duration_ms=1000,
                fps=8.0,
                has_audio=False,
                engine="test",
                remix_of_id=above.id if above else None,
                lineage=path,
                depth=len(path),
            )
        )
    Video.objects.bulk_create(videos)
    VideoStats.objects.bulk_create([VideoStats(video=video) for video in videos])
    return videos


# --- a chain built through the services ---------------------------------------------------------


def test_a_chain_reads_from_the_leaf_up_to_the_root_and_back_down(auth_client):
    # Given root -> remix -> remix of remix, by three members, posted through the services
    alice, bob, carol, viewer = UserFactory.create_batch(4)
    root, remix, leaf = chain(alice, bob, carol)
    client = auth_client(viewer)

    # When a fourth member reads the leaf's ancestors
    page = ancestors(client, leaf)

    # Then the parent comes first, then the root, each a full card with its depth
    assert ids_of(page["results"]) == [str(remix), str(root)]
    assert [node["depth"] for node in page["results"]] == [1, 0]
    assert all(node["available"] and node["reason"] is None for node in page["results"])
    assert page["results"][0]["video"]["id"] == str(remix)
    assert page["results"][0]["video"]["remix_of"] == str(root)
    assert (page["next"], page["previous"]) == (None, None)
    # And the root's remixes and tree read back down the same chain
    remixes = get(client, f"/api/v1/videos/{root}/remixes")
    assert ids_of(remixes["results"]) == [str(remix)]
    tree = get(client, f"/api/v1/videos/{root}/lineage")
    assert tree["id"] == str(root)
    assert tree_ids(tree) == {str(remix): {str(leaf): {}}}
    assert tree["children"][0]["children"][0]["video"]["id"] == str(leaf)
    # An original has no ancestors
    assert ancestors(client, root)["results"] == []


def test_counts_follow_posts_unposts_and_deletes(auth_client):
    # Given root -> a -> b, and a second remix of the root
    alice, bob, carol = UserFactory.create_batch(3)
    client = auth_client(alice)
    root, a, b = chain(alice, bob, carol)
    other = post(carol, remix_of=root)

    def counts(video_id):
        node = get(client, f"/api/v1/videos/{video_id}/lineage?depth=1")
        return node["remixes_count"], node["descendants_count"]

    # Then direct remixes and posted descendants at any depth
    assert (counts(root), counts(a), counts(b)) == ((2, 3), (1, 1), (0, 0))
    # The same counts ride on ancestor and remix nodes
    assert [(n["remixes_count"], n["descendants_count"]) for n in ancestors(client, b)["results"]] == [
        (1, 1),
        (2, 3),
    ]
    # When the leaf goes back to its owner's drafts, every ancestor counts one fewer
    video_unpost(owner_id=carol.id, video_id=b)
    assert (counts(root), counts(a)) == ((2, 2), (0, 0))
    # When it is posted again, back up
    video_post(owner_id=carol.id, video_id=b)
    assert (counts(root), counts(a)) == ((2, 3), (1, 1))
    # When the middle post is deleted, it leaves the root's counts; its remix still counts below it
    video_delete(owner_id=bob.id, video_id=a)
    assert counts(root) == (1, 2)
    # When a draft (never posted) is deleted, nothing changes
    draft = draft_create_for_job(
        owner_id=carol.id, job_id=uuid4(), prompt="p", media=CLIP, engine="test", remix_of_id=root
    )
    video_delete(owner_id=carol.id, video_id=draft.video_id)
    video_delete(owner_id=carol.id, video_id=other)
    assert counts(root) == (0, 1)


# --- tombstones ----------------------------------------------------------------------------


def test_a_deleted_middle_node_stays_a_tombstone_and_the_chain_still_reads(auth_client):
    # Given root -> middle -> leaf, and the middle's creator deletes it
    alice, bob, carol, viewer = UserFactory.create_batch(4)
    root, middle, leaf = chain(alice, bob, carol)
    video_delete(owner_id=bob.id, video_id=middle)
    client = auth_client(viewer)

    # When the leaf's ancestors are read
    nodes = ancestors(client, leaf)["results"]

    # Then the middle is a tombstone in its place, saying nothing of the video or its creator
    assert ids_of(nodes) == [str(middle), str(root)]
    assert tombstone(nodes[0]) == (False, "deleted", None)
    assert nodes[0]["depth"] == 1
    assert nodes[1]["available"] is True
    # And the root's remixes and tree still lead to the leaf through it
    remixes = get(client, f"/api/v1/videos/{root}/remixes")["results"]
    assert ids_of(remixes) == [str(middle)]
    assert tombstone(remixes[0]) == (False, "deleted", None)
    tree = get(client, f"/api/v1/videos/{root}/lineage")
    assert tree_ids(tree) == {str(middle): {str(leaf): {}}}
    assert tree["children"][0]["children"][0]["available"] is True


def test_a_tombstone_without_posted_remixes_is_left_out_of_the_remixes(auth_client):
    # Given two remixes of a root, one deleted and one removed, neither remixed itself
    alice, bob = UserFactory.create_batch(2)
    root = post(alice)
    deleted, removed, kept = (post(bob, remix_of=root) for _ in range(3))
    video_delete(owner_id=bob.id, video_id=deleted)
    video_remove(video_id=removed, by_id=None, reason="spam")

    # Then the root's remixes list only the post that is still there
    page = get(auth_client(alice), f"/api/v1/videos/{root}/remixes")
    assert ids_of(page["results"]) == [str(kept)]
    assert ids_of(get(auth_client(alice), f"/api/v1/videos/{root}/lineage")["children"]) == [str(kept)]


@pytest.mark.parametrize(
    ("fate", "reason"),
    [
        pytest.param("removed", "removed", id="removed-by-a-moderator"),
        pytest.param("unposted", "unavailable", id="back-among-drafts"),
        pytest.param("account-deleted", "deleted", id="gone-with-its-account"),
        pytest.param("account-deactivated", "unavailable", id="creator-deactivated"),
    ],
)
def test_a_middle_node_that_is_gone_reads_as_a_tombstone(auth_client, fate, reason):
    # Given root -> middle -> leaf, and then the middle goes one way or another
    alice, bob, carol, viewer = UserFactory.create_batch(4)
    root, middle, leaf = chain(alice, bob, carol)
    if fate == "removed":
        video_remove(video_id=middle, by_id=None, reason="spam")
    elif fate == "unposted":
        video_unpost(owner_id=bob.id, video_id=middle)
    elif fate == "account-deleted":
        member_delete(user=bob)
        assert not Video.objects.filter(id=middle).exists()
    else:
        member_deactivate(user=bob)

    # When the leaf's ancestors are read
    nodes = ancestors(auth_client(viewer), leaf)["results"]

    # Then the middle keeps its place as a tombstone that says why, and the root still reads
    assert ids_of(nodes) == [str(middle), str(root)]
    assert tombstone(nodes[0]) == (False, reason, None)
    assert nodes[1]["video"]["id"] == str(root)


@pytest.mark.parametrize("who_blocks", ["viewer-blocks-creator", "creator-blocks-viewer"])
def test_a_blocked_creators_node_shows_as_hidden_and_never_says_whose(auth_client, who_blocks):
    # Given root -> middle (bob's) -> leaf, and a block between bob and the viewer
    alice, bob, carol, viewer = UserFactory.create_batch(4)
    root, middle, leaf = chain(alice, bob, carol)
    leaf_by_bob = post(bob, remix_of=root)
    blocker, blocked = (viewer, bob) if who_blocks == "viewer-blocks-creator" else (bob, viewer)
    assert auth_client(blocker).post(f"/api/v1/users/{blocked.username}/block").status_code in {200, 201, 204}
    client = auth_client(viewer)

    # When the viewer reads the chain, from the leaf up and from the root down
    up = ancestors(client, leaf)
    down = get(client, f"/api/v1/videos/{root}/remixes")
    tree = get(client, f"/api/v1/videos/{root}/lineage")

    # Then bob's node is hidden in place; his remix that has none of its own is left out
    assert ids_of(up["results"]) == [str(middle), str(root)]
    assert tombstone(up["results"][0]) == (False, "hidden", None)
    assert ids_of(down["results"]) == [str(middle)]
    assert tombstone(down["results"][0]) == (False, "hidden", None)
    assert tree_ids(tree) == {str(middle): {str(leaf): {}}}
    assert tree["children"][0]["reason"] == "hidden"
    # And nothing in the answers names bob
    for body in (up, down, tree):
        assert bob.username not in json.dumps(body)
    # His own posts are not there for the viewer to ask about
    assert get(client, f"/api/v1/videos/{leaf_by_bob}/ancestors", status=404)["error"]["code"] == (
        "video_not_found"
    )


def test_a_node_is_available_exactly_when_posts_visible_to_says_the_viewer_sees_it(auth_client):
    # Given a path through videos of every state, by members in every standing with the viewer
    viewer, plain, blocked, blocking, gone = UserFactory.create_batch(5)
    BlockFactory(blocker=viewer, blocked=blocked)
    BlockFactory(blocker=blocking, blocked=viewer)
    member_deactivate(user=gone)
    path = [
        VideoFactory(owner=owner, state=state, posted_at=timezone.now()).id
        for owner in (plain, blocked, blocking, gone, viewer)
        for state in Video.State.values
    ]
    leaf = PostFactory(owner=plain, remix_of_id=path[-1], lineage=path, depth=len(path))

    # When the viewer reads the leaf's ancestors
    nodes = ancestors(auth_client(viewer), leaf.id, limit=100)["results"]

    # Then the nodes shown are the posts the feed's own visibility rule lets the viewer see
    visible = posts_visible_to(viewer_id=viewer.id).filter(id__in=path).values_list("id", flat=True)
    assert {node["id"] for node in nodes if node["available"]} == {str(video_id) for video_id in visible}
    assert len(visible) == 2  # the plain member's post and the viewer's own
    reasons = {node["id"]: node["reason"] for node in nodes}
    assert reasons[str(path[Video.State.values.index("removed")])] == "removed"
    assert sorted(set(reasons.values()), key=str) == sorted({None, *lineage.REASONS}, key=str)


def test_only_videos_the_viewer_may_see_have_a_lineage(auth_client):
    # Given a draft (a remix not posted yet): its owner sees its lineage, nobody else does
    alice, bob = UserFactory.create_batch(2)
    root = post(alice)
    draft = draft_create_for_job(
        owner_id=bob.id, job_id=uuid4(), prompt="p", media=CLIP, engine="test", remix_of_id=root
    ).video_id
    for endpoint in ("ancestors", "remixes", "lineage"):
        get(auth_client(alice), f"/api/v1/videos/{draft}/{endpoint}", status=404)
        get(auth_client(alice), f"/api/v1/videos/{uuid4()}/{endpoint}", status=404)
    assert ids_of(ancestors(auth_client(bob), draft)["results"]) == [str(root)]
    # And a draft is not among its parent's remixes, nor in its tree
    assert get(auth_client(alice), f"/api/v1/videos/{root}/remixes")["results"] == []
    tree = get(auth_client(bob), f"/api/v1/videos/{draft}/lineage")
    assert (tree["id"], tree["available"], tree["video"]["state"]) == (str(draft), True, "draft")


# --- deep chains ----------------------------------------------------------------------------


def queries(client, url: str) -> tuple[list[str], dict]:
    with CaptureQueriesContext(connection) as captured:
        body = get(client, url)
    return [query["sql"] for query in captured.captured_queries], body


def test_a_thousand_deep_chain_answers_with_as_many_queries_as_a_short_one(auth_client):
    # Given a chain 1,000 deep and one 3 deep
    owner, viewer = UserFactory.create_batch(2)
    deep = bulk_posts(owner, 1001, chain_of=True)
    short = bulk_posts(owner, 4, chain_of=True)
    client = auth_client(viewer)
    assert deep[-1].depth == 1000

    # When the deepest node's and the short chain's leaf's ancestors are read
    deep_sql, deep_page = queries(client, f"/api/v1/videos/{deep[-1].id}/ancestors?limit=100")
    short_sql, short_page = queries(client, f"/api/v1/videos/{short[-1].id}/ancestors?limit=100")

    # Then both take the same few queries (authentication, the video with its slice of the path, cards)
    assert len(deep_sql) == len(short_sql) == 3, "\n".join(deep_sql)
    assert ids_of(deep_page["results"]) == [str(v.id) for v in deep[-2:-102:-1]]
    assert [n["depth"] for n in deep_page["results"]] == list(range(999, 899, -1))
    assert ids_of(short_page["results"]) == [str(v.id) for v in short[-2::-1]]


def test_paging_a_deep_chain_visits_every_ancestor_once_in_order_both_ways(auth_client):
    # Given a chain 250 deep
    owner, viewer = UserFactory.create_batch(2)
    videos = bulk_posts(owner, 251, chain_of=True)
    client = auth_client(viewer)

    # When its leaf's ancestors are paged through, 40 at a time, and then back
    seen: list[str] = []
    pages = []
    page = ancestors(client, videos[-1].id, limit=40)
    while True:
        pages.append(page)
        seen += ids_of(page["results"])
        if page["next"] is None:
            break
        page = get(client, page["next"])
    back: list[list[str]] = []
    while page["previous"] is not None:
        page = get(client, page["previous"])
        back.append(ids_of(page["results"]))

    # Then every ancestor comes once, parent first, down to the root, and back up page by page
    assert seen == [str(v.id) for v in reversed(videos[:-1])]
    assert len(pages) == 7
    assert pages[0]["previous"] is None
    assert back == [ids_of(p["results"]) for p in reversed(pages[:-1])]


@pytest.mark.parametrize(
    "cursor",
    [
        pytest.param("garbage", id="not-a-cursor"),
        pytest.param("WzAsZmFsc2Vd:forged", id="forged-signature"),
        pytest.param("WzAsZmFsc2Vd", id="unsigned-position"),
        pytest.param("", id="empty"),
    ],
)
def test_a_tampered_ancestors_cursor_is_invalid_cursor(auth_client, cursor):
    owner = UserFactory()
    videos = bulk_posts(owner, 30, chain_of=True)
    body = get(auth_client(owner), f"/api/v1/videos/{videos[-1].id}/ancestors?cursor={cursor}", status=400)
    assert body["error"]["code"] == "invalid_cursor"


def test_an_ancestors_cursor_is_only_good_for_its_own_video(auth_client):
    # Given the next link of one chain's leaf
    owner = UserFactory()
    one, other = bulk_posts(owner, 30, chain_of=True), bulk_posts(owner, 30, chain_of=True)
    client = auth_client(owner)
    next_link = ancestors(client, one[-1].id, limit=5)["next"]
    cursor = next_link.split("cursor=")[1].split("&")[0]

    # When it is used on another video, it is refused
    body = get(client, f"/api/v1/videos/{other[-1].id}/ancestors?cursor={cursor}", status=400)
    assert body["error"]["code"] == "invalid_cursor"


# --- wide nodes -------------------------------------------------------------------------------


def test_a_wide_node_pages_its_remixes_newest_first_without_repeats(auth_client):
    # Given 300 remixes of one post
    owner, viewer = UserFactory.create_batch(2)
    root = PostFactory(owner=owner)
    remixes = bulk_posts(owner, 300, parent=root)
    client = auth_client(viewer)

    # When they are paged through, 100 at a time
    seen: list[str] = []
    counts = []
    url: str | None = f"/api/v1/videos/{root.id}/remixes?limit=100"
    while url:
        sql, page = queries(client, url)
        counts.append(len(sql))
        seen += ids_of(page["results"])
        url = page["next"]

    # Then each comes once, newest first, with the same few queries per page
    assert seen == [str(v.id) for v in remixes]
    assert len(set(counts)) == 1, counts
    assert counts[0] == 3, counts  # authentication, the video's visibility, the page
    assert get(client, f"/api/v1/videos/{root.id}/remixes?cursor=nope", status=400)["error"]["code"] == (
        "invalid_cursor"
    )


def test_a_tree_caps_each_node_and_the_whole_and_flags_what_it_leaves_out(auth_client):
    # Given a root with 12 remixes, the newest of which has 12 of its own, each of those 12 again
    owner, viewer = UserFactory.create_batch(2)
    root = PostFactory(owner=owner)
    first = bulk_posts(owner, 12, parent=root)
    second = bulk_posts(owner, 12, parent=first[0])
    for video in second:
        bulk_posts(owner, 12, parent=video)
    client = auth_client(viewer)

    # When the tree is read two levels down
    tree = get(client, f"/api/v1/videos/{root.id}/lineage?depth=2")

    # Then each node shows its 10 newest remixes, and says it has more
    assert ids_of(tree["children"]) == [str(v.id) for v in first[: lineage.CHILDREN_MAX]]
    assert tree["more_children"] is True
    newest = tree["children"][0]
    assert ids_of(newest["children"]) == [str(v.id) for v in second[: lineage.CHILDREN_MAX]]
    assert newest["more_children"] is True
    # The last level shown says whether it has remixes below the depth asked
    assert all(node["more_children"] and node["children"] == [] for node in newest["children"])
    assert tree["children"][1]["more_children"] is False
    # And three levels down the total cap holds: 200 descendants, nearest levels first
    deep = get(client, f"/api/v1/videos/{root.id}/lineage?depth=3")
    assert count_nodes(deep) - 1 == 10 + 10 + 100 <= lineage.NODES_MAX


def count_nodes(node) -> int:
    return 1 + sum(count_nodes(child) for child in node["children"])


def test_the_total_cap_keeps_the_nearest_levels(auth_client):
    # Given a root with 10 remixes, each with 10, each of those with 10 (1,110 descendants)
    owner, viewer = UserFactory.create_batch(2)
    root = PostFactory(owner=owner)
    level1 = bulk_posts(owner, 10, parent=root)
    level2 = [kid for parent in level1 for kid in bulk_posts(owner, 10, parent=parent)]
    for parent in level2:
        bulk_posts(owner, 10, parent=parent)
    client = auth_client(viewer)

    # When the tree is read three levels down
    sql, tree = queries(client, f"/api/v1/videos/{root.id}/lineage?depth=3")

    # Then it holds 200 descendants: both first levels whole, then the third until the cap
    assert count_nodes(tree) - 1 == lineage.NODES_MAX
    third = [node for child in tree["children"] for node in child["children"]]
    assert [len(node["children"]) for node in third] == [10] * 9 + [0] * 91
    # Those left without their remixes say they have some; those shown whole do not
    assert [node["more_children"] for node in third] == [False] * 9 + [True] * 91
    # In a bounded number of queries: the root, one per level and one probe below it, the cards, auth
    assert len(sql) <= 3 + 3 + 1, "\n".join(sql)


def test_a_tree_takes_as_many_queries_for_a_wide_node_as_for_a_small_one(auth_client):
    # Given a chain two remixes deep, and a node 50 wide whose newest remixes have 20 each
    owner, viewer = UserFactory.create_batch(2)
    small, wide = PostFactory(owner=owner), PostFactory(owner=owner)
    bulk_posts(owner, 1, parent=bulk_posts(owner, 1, parent=small)[0])
    for parent in bulk_posts(owner, 50, parent=wide)[:3]:
        bulk_posts(owner, 20, parent=parent)
    client = auth_client(viewer)
    # When both trees are read two levels down
    small_sql, small_tree = queries(client, f"/api/v1/videos/{small.id}/lineage?depth=2")
    wide_sql, wide_tree = queries(client, f"/api/v1/videos/{wide.id}/lineage?depth=2")
    # Then they take the same queries: rows grow, queries do not
    assert count_nodes(small_tree) == 3
    assert count_nodes(wide_tree) == 1 + 10 + 30
    assert len(small_sql) == len(wide_sql), "\n".join(wide_sql)
    assert len(wide_sql) == 6  # authentication, the video, two levels, whether the last has remixes, cards


@pytest.mark.parametrize("depth", ["0", "6", "two", "-1", "99999999999999999999"])
def test_a_tree_depth_out_of_range_is_invalid_input(auth_client, depth):
    owner = UserFactory()
    video = PostFactory(owner=owner)
    body = get(auth_client(owner), f"/api/v1/videos/{video.id}/lineage?depth={depth}", status=400)
    assert body["error"]["code"] == "invalid_input"
    assert list(body["error"]["fields"]) == ["depth"]


def test_a_video_of_someone_elses_is_not_found_the_same_as_an_unknown_one(auth_client):
    owner, stranger = UserFactory.create_batch(2)
    draft = VideoFactory(owner=owner)
    for endpoint in ("ancestors", "remixes", "lineage"):
        hidden = auth_client(stranger).get(f"/api/v1/videos/{draft.id}/{endpoint}")
        unknown = auth_client(stranger).get(f"/api/v1/videos/{uuid4()}/{endpoint}")
        assert (hidden.status_code, hidden.content) == (unknown.status_code, unknown.content)
        assert hidden.status_code == 404
