"""A serving process warms the models its apps registered before it serves (config.boot)."""

from __future__ import annotations

import logging

from config import boot


def test_warmers_run_and_a_failing_one_is_logged(caplog):
    ran: list[str] = []

    def fails() -> None:
        raise OSError("no model file")

    def loads() -> None:
        ran.append("loaded")

    saved = list(boot._warmers)
    boot._warmers[:] = [fails, loads]
    try:
        with caplog.at_level(logging.ERROR, logger="config.boot"):
            boot.boot_warm()
    finally:
        boot._warmers[:] = saved
    assert ran == ["loaded"]  # one failing warmer does not stop the next
    assert [r.getMessage() for r in caplog.records] == ["boot.warm_failed"]


def test_moderation_warms_the_text_policy():
    from moderation.text.categories import exemplar_model
    from moderation.text.embed import encoder

    assert {encoder, exemplar_model} <= set(boot._warmers)
