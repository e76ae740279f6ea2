"""The embedded services refuse to borrow a server that is not theirs."""

from __future__ import annotations

import pytest

from config import embedded


def test_redis_on_our_port_serving_another_folder_is_refused(tmp_path):
    other_checkout = embedded.EmbeddedRedis(tmp_path / "redis", embedded.redis_port())
    with pytest.raises(RuntimeError, match="KINO_REDIS_PORT"):
        other_checkout.start()


def test_postgres_url_points_at_the_var_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("KINO_VAR_DIR", str(tmp_path))
    assert embedded.postgres_url() == f"postgres://postgres@/kino?host={tmp_path / 'pgdata'}"
