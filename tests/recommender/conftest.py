"""What every recommender test starts from."""

from __future__ import annotations

import pytest

from recommender import ranking


@pytest.fixture(autouse=True)
def _no_ranker_remembered() -> None:
    """The process keeps the active ranker for RECOMMENDER_RANKER_RELOAD_S; a model one test trained
    (its rows rolled back) must not score the next test's feed."""
    ranking._loaded["at"] = -1e9
