"""Every operation documents its error answers: the error body, and the codes it can give per status."""

from __future__ import annotations

import re

import pytest

from config.errors import error_codes
from tests.openapi import PUBLIC, Operation, operations

PUBLIC_PATHS = {path for _, path in PUBLIC}


@pytest.mark.parametrize("operation", operations(), ids=lambda op: op.id)
def test_each_error_status_names_its_codes_and_the_error_body(operation: Operation):
    errors = {status: answer for status, answer in operation.spec["responses"].items() if status >= "400"}
    assert errors, f"{operation.id} documents no error answer"
    if operation.path not in PUBLIC_PATHS:
        assert "401" in errors
    declared = error_codes()
    for status, answer in errors.items():
        body = answer["content"]["application/json"]["schema"]
        assert body == {"$ref": "#/components/schemas/Error"}, (operation.id, status)
        codes = re.findall(r"`([a-z_]+)`", answer["description"])
        assert codes, (operation.id, status, answer["description"])
        for code in codes:
            assert code in declared, f"{operation.id} documents an undeclared code {code}"
            assert str(declared[code].status) == status, (
                f"{operation.id}: {code} is a {declared[code].status}"
            )
