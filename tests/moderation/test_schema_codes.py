"""The accounts operations that moderation's checks guard list its codes in the schema, though
accounts never imports moderation (the hooks carry the codes)."""

from __future__ import annotations

import pytest

from tests.openapi import operations


def codes_of(operation_id: str, status: str) -> str:
    (operation,) = [op for op in operations() if op.id == operation_id]
    return operation.spec["responses"][status]["description"]


@pytest.mark.parametrize(
    ("operation_id", "status", "code"),
    [
        ("POST /api/v1/auth/signup", "400", "text_public_figure"),
        ("POST /api/v1/auth/signup", "400", "text_refused"),
        ("PATCH /api/v1/me", "400", "text_refused"),
        ("PATCH /api/v1/me", "503", "moderation_unavailable"),
        ("PUT /api/v1/me/avatar", "400", "likeness_public_figure"),
        ("PUT /api/v1/me/avatar", "503", "moderation_unavailable"),
    ],
)
def test_guarded_accounts_operations_list_moderations_codes(operation_id, status, code):
    assert f"`{code}`" in codes_of(operation_id, status)
