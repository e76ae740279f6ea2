"""The security battery (tests/security.py) against a live Kino, small: every part finds nothing.

One stack serves the whole file (uvicorn, two processes, on the test database; no Celery worker, as
nothing here renders), with the settings the battery needs (`security.STACK_ENV`). Each test commits
its own data (transactional_db) and the calling process writes files where the servers read them.
bench/security.py runs the same parts with larger numbers.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests import security
from tests.live import LiveStack

pytestmark = pytest.mark.slow
FUZZ_EXAMPLES = 15
RACE_ROUNDS = 6


@pytest.fixture(scope="module")
def stack(django_db_setup: None, tmp_path_factory: pytest.TempPathFactory) -> Any:
    folder = tmp_path_factory.mktemp("security")
    (folder / "mail").mkdir()
    stack = LiveStack(folder / "mail", worker=False, env=security.STACK_ENV).start()
    yield stack
    stack.stop()


@pytest.fixture
def live(stack: LiveStack, transactional_db: None, settings: Any) -> str:
    settings.MEDIA_ROOT = stack.mail_dir.parent / "media"  # where the servers read and write
    return stack.base


def assert_clean(tally: security.Tally, at_least: int) -> None:
    assert not tally.violations, "\n".join(tally.violations)
    assert tally.server_errors == 0
    assert tally.cases >= at_least, tally.cases  # the part ran, or its silence means nothing


def test_hostile_inputs_get_no_5xx_and_errors_in_the_kino_shape(live):
    assert_clean(security.hostile_inputs(live), at_least=len(security.JSON_CASES) + 30)


def test_forged_tokens_are_refused_on_rest_and_the_websocket(live):
    tally = security.forged_tokens(live)
    assert_clean(tally, at_least=3 * len(tally.details["tokens"]) + len(tally.details["refresh_tokens"]))


def test_the_authorization_matrix_holds_for_every_operation(live):
    assert_clean(security.authz_matrix(live), at_least=5 * 20)


def test_a_moderator_changes_no_powers_or_passwords_in_the_admin(live):
    assert_clean(security.admin_privileges(live), at_least=20)


def test_a_follow_never_survives_a_block_that_raced_it(live):
    assert_clean(security.race_follow_block(live, RACE_ROUNDS), at_least=RACE_ROUNDS)


def test_racing_redemptions_of_one_invite_make_one_account(live):
    assert_clean(security.race_invite_redeem(live, RACE_ROUNDS), at_least=RACE_ROUNDS)


def test_a_deletion_racing_logins_leaves_no_account_and_no_live_token(live):
    assert_clean(security.race_deletion_logins(live, RACE_ROUNDS), at_least=RACE_ROUNDS)


def test_a_deleted_account_leaves_no_files_and_no_working_links(live):
    tally = security.deletion_files(live)
    assert_clean(tally, at_least=6)
    assert tally.details["files_left"] == []


def test_fuzzed_requests_get_no_5xx_and_errors_in_the_kino_shape(live):
    tally = security.fuzz(live, FUZZ_EXAMPLES)
    assert_clean(tally, at_least=FUZZ_EXAMPLES * tally.details["operations"])
