"""Schemathesis against /api/schema/: whatever it sends, the API answers as the schema says.

Never a 5xx; errors in the Kino shape; every status, content type and body one the operation
declares (so a client generated from the schema can parse every answer).
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from rest_framework_simplejwt.tokens import RefreshToken
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from tests.factories import InviteFactory, UserFactory


@schemathesis.check
def error_has_the_kino_shape(ctx, response, case):
    if response.status_code < 400:
        return
    try:
        body = response.json()
    except ValueError:
        raise AssertionError(
            f"{response.status_code} for {case.method} {case.formatted_path} is not JSON: "
            f"{response.content[:200]!r}"
        ) from None
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "fields"}, body
    assert isinstance(body["error"]["code"], str)


def _load_schema():
    from config.wsgi import application

    loaded = schemathesis.openapi.from_wsgi("/api/schema/", application)
    loaded.config.generation.update(
        modes=[schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE]
    )
    return loaded


# The schema view reads no database, so it can be loaded at collection time.
schema = _load_schema()


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    error_has_the_kino_shape,
]


@pytest.fixture
def _keep_test_connection():
    """As Django's test client does: the WSGI handler must not close the test transaction's connection."""
    from django.core import signals
    from django.db import close_old_connections

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def member_headers(db):
    # A member with something in every list, so list endpoints serialize real rows.
    member = UserFactory(username="fuzzer")
    friend = UserFactory(username="friend")
    from accounts import services

    services.follow_create(actor=member, target=friend)
    services.follow_create(actor=friend, target=member)
    services.member_invites_grant(user=member)
    InviteFactory(code="FUZZFUZZFUZZFUZZ")
    return {"Authorization": f"Bearer {RefreshToken.for_user(member).access_token}"}


@pytest.mark.slow
@schema.parametrize()
@hypothesis_settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@pytest.mark.usefixtures("_keep_test_connection")
def test_no_input_crashes_the_api(case, member_headers):
    case.call_and_validate(headers=member_headers, checks=CHECKS)
