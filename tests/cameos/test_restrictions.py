"""Restrictions by meaning, measured on a labelled set written before any threshold was tried
(tests/cameos/data/restrictions.jsonl: restriction, prompt, refused)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from cameos.restrictions import (
    TOPIC_THRESHOLD,
    PromptView,
    prompt_pieces,
    restriction_breaks,
    restriction_topic,
    restrictions_embed,
)
from moderation.public import text_embed

DATA = Path(__file__).parent / "data" / "restrictions.jsonl"
PRECISION_FLOOR = 0.9
RECALL_FLOOR = 0.9


@pytest.mark.parametrize(
    ("restriction", "topic"),
    [
        ("no political content", "political content"),
        ("never make me say anything about my employer", "say anything about my employer"),
        ("Don't show me smoking.", "smoking"),
        ("keep me out of anything religious", "religious"),
        ("please never ever make me cry", "cry"),
        ("I don't want to be in horror movies", "be in horror movies"),
        ("red hats only", "red hats only"),
    ],
)
def test_the_topic_is_the_restriction_without_its_negation(restriction, topic):
    assert restriction_topic(restriction) == topic


def measured() -> tuple[float, float, list[str]]:
    rows = [json.loads(line) for line in DATA.read_text().splitlines() if line.strip()]
    vectors = restrictions_embed([r["restriction"] for r in rows])
    tp = fp = fn = 0
    wrong = []
    for row, vector in zip(rows, vectors, strict=True):
        refused = restriction_breaks(PromptView.of(row["prompt"]), row["restriction"], vector)
        tp += refused and row["refused"]
        fp += refused and not row["refused"]
        fn += not refused and row["refused"]
        if refused != row["refused"]:
            wrong.append(f"{row['restriction']!r} / {row['prompt']!r}: refused={refused}")
    return tp / max(tp + fp, 1), tp / max(tp + fn, 1), wrong


def test_the_labelled_set_is_big_enough_and_balanced():
    rows = [json.loads(line) for line in DATA.read_text().splitlines() if line.strip()]
    assert len(rows) >= 60
    assert 0.3 < sum(r["refused"] for r in rows) / len(rows) < 0.7


def test_precision_and_recall_on_the_labelled_set():
    precision, recall, wrong = measured()
    assert precision >= PRECISION_FLOOR, wrong
    assert recall >= RECALL_FLOOR, wrong


def test_a_restriction_naming_a_policy_category_uses_its_scores():
    # "no violence" refuses a prompt the violence category scores, even worded far from "violence"
    view = PromptView.of("@erin stabbing someone with a knife")
    assert view.category_scores()["violence"] > 0.35
    vector = restrictions_embed(["no violence"])[0]
    assert restriction_breaks(view, "no violence", vector)
    assert not restriction_breaks(
        PromptView.of("@erin chopping onions with a chef's knife"), "no violence", vector
    )


def test_the_prompts_quick_vectors_decide_as_float32_does():
    # A request reads the prompt with the encoder's bfloat16 copy (where the CPU has bfloat16): its
    # similarities to the stored (float32) topics stay within 0.002, and no pair of the labelled set
    # lands on the other side of the threshold.
    rows = [json.loads(line) for line in DATA.read_text().splitlines() if line.strip()]
    topics = restrictions_embed([r["restriction"] for r in rows])
    for row, topic in zip(rows, topics, strict=True):
        pieces = prompt_pieces(row["prompt"])
        quick = float((text_embed(pieces, quick=True) @ topic).max())
        exact = float((text_embed(pieces) @ topic).max())
        assert abs(quick - exact) < 0.002, row
        assert (quick >= TOPIC_THRESHOLD) is (exact >= TOPIC_THRESHOLD), row


def test_no_part_of_a_long_prompt_escapes_a_restriction():
    """A restricted topic after many harmless clauses, or on a line of its own, is still read: long
    prompts are read in runs of clauses, never cut off."""
    vector = restrictions_embed(["no political content"])[0]
    harmless = ", ".join(f"a {colour} kite over the {place}" for colour, place in _SCENERY)
    for prompt in (
        f"@erin flying kites: {harmless}, @erin giving a speech at a campaign rally",
        "@erin on a calm beach at dawn with seagulls overhead and waves rolling in slowly\n"
        "@erin giving a speech at a campaign rally",
    ):
        assert restriction_breaks(PromptView.of(prompt), "no political content", vector), prompt
    assert len(prompt_pieces(f"@erin flying kites: {harmless}")) <= 25  # the cost stays bounded
    assert not restriction_breaks(
        PromptView.of(f"@erin flying kites: {harmless}"), "no political content", vector
    )


_SCENERY = [
    (colour, place)
    for colour in ("red", "blue", "green", "yellow", "white", "orange")
    for place in ("sea", "hills", "park", "lake", "beach", "fields")
]


def test_the_quick_encoders_forward_pass_is_transformers_one():
    # embed_quick runs BERT layer by layer (moderation.text.embed._bert_hidden): in float32 that is
    # transformers' forward pass, padding included; in bfloat16 its vectors stay next to float32's.
    from moderation.text.embed import encoder

    texts = ["x", "a person surfing", "a person and a person at a campaign rally, waving flags in the rain"]
    exact = encoder()(texts)
    np.testing.assert_allclose(encoder().quick(bfloat16=False)(texts), exact, atol=1e-6)
    assert float((encoder().quick(bfloat16=True)(texts) * exact).sum(1).min()) > 0.9999
