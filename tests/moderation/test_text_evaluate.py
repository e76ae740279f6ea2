"""The text policy's measurement: the held-out set is large enough, written apart from the exemplars
(no text in both), and `text_policy_evaluate` reports what bench/moderation.py reads."""

from __future__ import annotations

from collections import Counter

import pytest

from moderation.text.categories import CATEGORIES, exemplars_load
from moderation.text.evaluate import figures_index, heldout_load, text_policy_evaluate
from moderation.text.normalize import clean_text


def test_the_heldout_set_is_large_enough_and_shares_no_text_with_the_exemplars():
    rows = heldout_load()
    counts = Counter(r["label"] for r in rows)
    for category in CATEGORIES:
        assert counts[category] >= 60, category
    assert counts["benign"] >= 300
    assert counts["adversarial"] >= 60
    exemplars = {clean_text(e.text).strip() for e in exemplars_load()}
    assert not [r["text"] for r in rows if clean_text(r["text"]).strip() in exemplars]


def test_every_benign_name_lookalike_in_the_heldout_set_passes_the_name_matcher():
    names = figures_index()
    benign = [r["text"] for r in heldout_load() if r["label"] == "benign"]
    assert [t for t in benign if names.find(t) is not None] == []


@pytest.mark.django_db
def test_the_evaluation_reports_per_category_rates_and_the_adversarial_block_rate():
    result = text_policy_evaluate()
    assert set(result["categories"]) == set(CATEGORIES)
    for category, rates in result["categories"].items():
        assert rates["n"] >= 60
        assert 0.0 <= rates["precision"] <= 1.0
        # Floors well under what the set measures today (README), so a regression shows
        assert rates["recall"] >= 0.75, (category, rates)
    assert result["benign_false_positive_rate"] <= 0.15
    assert result["adversarial_n"] >= 60
    assert result["adversarial_block_rate"] >= 0.9
    for category, teen in result["teen"]["categories"].items():
        assert teen["recall"] >= result["categories"][category]["recall"]
