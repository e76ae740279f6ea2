"""The security battery (issue 20), run against a live Kino over HTTP: one source for the suite and the bench.

Each part takes the server's base URL and returns a `Tally`: how many cases it sent and a description
of each violation (request and answer), so tests/test_security.py asserts none and bench/security.py
counts them into bench/results/security.json.

- `hostile_inputs`: the hostile corpus (shared with tests/test_hostile.py) and inputs only a real server
  sees (bodies over the limits, bytes that are not UTF-8), with a member's token. Violation: a 5xx, a 4xx
  not in the error shape, or not the code the corpus names.
- `forged_tokens`: tokens signed with no key, a wrong key, the old shared dev key, the installation's
  SECRET_KEY or the wrong algorithm; expired; a refresh token as an access token; of a deleted, a
  deactivated or a never-existing member; tampered; garbage. On `GET /api/v1/me` and on the WebSocket
  handshake (`?token=` and `Authorization: Bearer`). Violation: anything but 401 / a refused handshake.
  Controls: a token signed with the JWT key gets through, and a link signed with the caller's SECRET_KEY
  is the server's, or the refusals would prove nothing.
- `authz_matrix`: every operation of the live schema x anonymous, another member, a member the owner
  blocked, a moderator and the owner (last). Violation: an anonymous non-401 outside `PUBLIC`, a member's
  valid token refused, a private object (a job, a draft) not a 404 to anyone but its owner, a member the
  owner blocked not a 404 where usernames are involved, or any change to the owner's data by the others.
- `admin_privileges`: a moderator logged in through /admin/login/ (session and CSRF) tries to raise
  anyone's powers, open and post password forms, edit staff, the moderators group, groups and users.
  Violation: a 5xx, or afterwards any change of powers, passwords, groups or accounts in the database.
- `race_follow_block`, `race_invite_redeem`, `race_deletion_logins`: races over HTTP judged by the
  database: no follow with a block either way; one account per invite; a deletion racing logins leaves no
  5xx, no account and no live token.
- `deletion_files`: a member with a draft, an avatar and a job's start image deletes their account over
  HTTP. Violation: a file left in storage, or an old link not answering 404.
- `fuzz`: schemathesis from the live schema, N examples per operation (positive and negative, and with
  the path naming the member's own objects). Violation: a 5xx, or an error not in the Kino shape.

The calling process makes members, objects and files with its own ORM and default_storage, so it must
share the live server's database and MEDIA_ROOT (tests/test_security.py's fixture and bench/security.py
see to that). Django must be set up before this module is imported.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlparse
from uuid import uuid4

import httpx
import jwt
import websockets
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group, Permission
from django.core import signing
from django.core.files.storage import default_storage
from django.db.models import Exists, OuterRef, Q
from PIL import Image
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from accounts.models import Block, Follow, Profile, User
from accounts.roles import MODERATORS, moderators_group_sync
from feed.models import DataExport, Video
from generation.models import Job
from tests.factories import (
    PASSWORD,
    BlockFactory,
    CommentFactory,
    InviteFactory,
    JobFactory,
    PostFactory,
    UserFactory,
    VideoCameoFactory,
    VideoFactory,
)
from tests.moderation.casework import a_decision_about
from tests.openapi import METHODS, PUBLIC

FIXTURES = Path(__file__).parent / "fixtures"
SCHEMA_HEADERS = {"Accept": "application/vnd.oai.openapi+json"}
# The key every installation shared before each made its own (issue 20): it must sign nothing now.
OLD_DEV_KEY = "dev-only-insecure-key-7c1f0b9e4a2d8e6f5b3a1c9d7e5f3a1b9c7d5e3f1a9b7c5d"
# What the live servers need for the battery: its logins all come from 127.0.0.1 and race deletions on
# purpose, so the per-address lockout must not trip (it has its own tests); fuzzed generations must not
# meet the daily quota or the active-job cap before their bodies are read.
STACK_ENV = {
    "LOGIN_MAX_FAILURES": "1000000",
    "THROTTLE_INVITE_CHECK": "100000/min",
    "GENERATION_DAILY_SECONDS": "10000000",
    "GENERATION_MAX_ACTIVE": "100000",
}


@dataclass
class Tally:
    """What one part sent and what it found."""

    cases: int = 0
    server_errors: int = 0
    violations: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    def check(self, ok: bool, violation: str) -> bool:
        self.cases += 1
        if not ok:
            self.violations.append(violation)
        return ok

    def answered(self, response: httpx.Response, what: str, *, ok: bool = True) -> bool:
        """One request's verdict: never a 5xx, and whatever `ok` adds."""
        if response.status_code >= 500:
            self.server_errors += 1
        return self.check(ok and response.status_code < 500, f"{what}: {described(response)}")

    def flag(self, violation: str) -> None:
        """A violation found after the fact (in the database), not one more request."""
        self.violations.append(violation)

    def as_dict(self) -> dict[str, Any]:
        return {
            "cases": self.cases,
            "server_errors": self.server_errors,
            "violations": self.violations,
            **self.details,
        }


def described(response: httpx.Response) -> str:
    request = response.request
    return f"{request.method} {request.url} -> {response.status_code} {response.content[:300]!r}"


def error_shaped(response: httpx.Response) -> bool:
    """The Kino error shape: {"error": {"code", "message", "fields"}}."""
    try:
        body = response.json()
    except ValueError:
        return False
    error = body.get("error") if isinstance(body, dict) else None
    return set(body) == {"error"} and isinstance(error, dict) and set(error) == {"code", "message", "fields"}


def error_code(response: httpx.Response) -> str | None:
    return response.json()["error"]["code"] if error_shaped(response) else None


def refused_as(response: httpx.Response, code: str | None) -> bool:
    """A 2xx/3xx where no code is named; else a 4xx in the error shape, with `code` if one is named."""
    if response.status_code < 400:
        return code is None
    return (
        400 <= response.status_code < 500 and error_shaped(response) and code in (None, error_code(response))
    )


# --- members ----------------------------------------------------------------------------------------


@cache
def live_password_hash() -> str:
    """PASSWORD as the live servers (production hashers) check it: hashed once, shared by every member."""
    return make_password(PASSWORD, hasher="pbkdf2_sha256")


def member(**kwargs: Any) -> User:
    """A member who can log in to the live servers with PASSWORD (no per-member hashing cost)."""
    user = UserFactory(password=None, **kwargs)
    user.password = live_password_hash()
    User.objects.filter(id=user.id).update(password=user.password)
    return user


def moderator(**kwargs: Any) -> User:
    """Staff in the moderators group (accounts/roles.py), nothing more."""
    moderators_group_sync()
    user = member(is_staff=True, **kwargs)
    user.groups.add(Group.objects.get(name=MODERATORS))
    return user


def bearer(user: User) -> dict[str, str]:
    return {"Authorization": f"Bearer {AccessToken.for_user(user)}"}


# --- hostile inputs ---------------------------------------------------------------------------------


def cursor(raw: str) -> str:
    return base64.b64encode(raw.encode()).decode()


def mutated_pngs() -> list[bytes]:
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), "blue").save(buffer, format="PNG")
    good = buffer.getvalue()
    return [good[:40], good[:8] + b"\x00" * 40, good.replace(b"IHDR", b"IHDX"), good + b"<?php echo 1; ?>"]


@dataclass(frozen=True)
class Hostile:
    id: str
    method: str
    url: str
    body: str | bytes | None = None  # sent as application/json
    code: str | None = None  # the error code it must get (a 4xx), where the corpus names one


JSON_CASES = [
    Hostile(
        "cursor-bad-position",
        "get",
        "/api/v1/generations?cursor=" + cursor("p=not-a-date"),
        code="invalid_cursor",
    ),
    Hostile(
        "cursor-bad-date",
        "get",
        "/api/v1/me/drafts?cursor=" + cursor("o=5&p=2026-13-45"),
        code="invalid_cursor",
    ),
    Hostile("cursor-huge-offset", "get", "/api/v1/generations?cursor=" + cursor("o=99999999999999999999999")),
    Hostile("cursor-nul", "get", "/api/v1/generations?cursor=%00"),
    Hostile("limit-huge", "get", "/api/v1/generations?limit=99999999999999999999999"),
    Hostile("json-nested-1000", "post", "/api/v1/waitlist", "[" * 1000 + "]" * 1000, "malformed_request"),
    Hostile(
        "json-nested-100", "post", "/api/v1/waitlist", '{"a":' * 100 + "1" + "}" * 100, "malformed_request"
    ),
    Hostile("lone-surrogate-key", "post", "/api/v1/waitlist", '{"\\ud800": 1}', "malformed_request"),
    Hostile(
        "lone-surrogate-value", "post", "/api/v1/waitlist", '{"email": "\\udfff@x.io"}', "malformed_request"
    ),
    Hostile("nul-in-text", "patch", "/api/v1/me", '{"bio": "\\u0000"}', "invalid_input"),
    Hostile("huge-float", "post", "/api/v1/generations", '{"prompt": "x", "duration_s": 4, "seed": 1e400}'),
    Hostile(
        "huge-int",
        "post",
        "/api/v1/generations",
        '{"prompt": "x", "duration_s": 99999999999999999999}',
        "invalid_input",
    ),
    Hostile("nan", "post", "/api/v1/generations", '{"prompt": "x", "duration_s": NaN}'),
    Hostile("nul-in-code", "get", "/api/v1/invites/%00", code="not_found"),
    Hostile("nul-in-username", "get", "/api/v1/users/%00", code="not_found"),
    Hostile("nul-in-nested-path", "get", "/api/v1/users/a%00b/followers", code="not_found"),
    Hostile("bad-uuid", "get", "/api/v1/generations/not-a-uuid", code="not_found"),
    Hostile("bidi-username", "get", "/api/v1/users/" + "\u202e" * 40, code="user_not_found"),
]
# Bodies that are valid JSON but not an object: each a 4xx.
NOT_OBJECT_BODIES = ("[]", "1", '"text"', "null", "true", json.dumps({"email": ["a@b.co"]}))
# Only a real server sees these: the ASGI app's and the parsers' limits, and bytes that are not UTF-8.
WIRE_CASES = [
    Hostile(
        "json-over-limit",
        "post",
        "/api/v1/waitlist",
        '{"email": "' + "a" * 300_000 + '"}',
        "request_too_large",
    ),
    Hostile("not-utf8", "post", "/api/v1/waitlist", b'{"email": "\xff\xfe@x.io"}', "malformed_request"),
    Hostile("not-utf8-in-path", "get", "/api/v1/users/%ff%fe"),
    *(
        Hostile(f"not-an-object-{i}", "post", "/api/v1/waitlist", body)
        for i, body in enumerate(NOT_OBJECT_BODIES)
    ),
]
IMAGE_CASES = ("broken-exif", "truncated", "zeroed", "bad-chunk", "polyglot")
IMAGE_TARGETS = (("avatar", "/api/v1/me/avatar", "put"), ("start_image", "/api/v1/generations", "post"))
CHARSETS = ("zlib", "base64", "no-such-charset", "undefined", "punycode", "rot13")
CHARSET_PATHS = ("/beta/", "/admin/login/", "/api/v1/waitlist")


def hostile_images() -> list[bytes]:
    """In IMAGE_CASES' order: all but the polyglot are broken (the polyglot is taken, re-encoded)."""
    return [(FIXTURES / "broken_exif.png").read_bytes(), *mutated_pngs()]


def hostile_inputs(base: str) -> Tally:
    tally = Tally()
    with httpx.Client(base_url=base, timeout=60, headers=bearer(member())) as http:
        for case in [*JSON_CASES, *WIRE_CASES]:
            body = case.body.encode() if isinstance(case.body, str) else case.body
            headers = {"Content-Type": "application/json"} if body is not None else {}
            response = http.request(case.method.upper(), case.url, content=body, headers=headers)
            tally.answered(response, f"hostile {case.id}", ok=_not_a_bare_4xx(response, case.code))
        _hostile_images(http, tally)
        _hostile_charsets(http, tally)
    return tally


def _not_a_bare_4xx(response: httpx.Response, code: str | None) -> bool:
    if code is not None:
        return response.status_code >= 400 and refused_as(response, code)
    return response.status_code < 400 or refused_as(response, None)


def _hostile_images(http: httpx.Client, tally: Tally) -> None:
    oversized = b"\x89PNG\r\n\x1a\n" + b"\x00" * (settings.REQUEST_MAX_BYTES + 1024)
    for name, url, method in IMAGE_TARGETS:
        form = {"prompt": "a ball", "duration_s": "4"} if name == "start_image" else {}
        for case, data in [*zip(IMAGE_CASES, hostile_images(), strict=True), ("over-limit", oversized)]:
            response = http.request(
                method.upper(), url, data=form, files={name: ("image.png", data, "image/png")}
            )
            if case == "polyglot":
                ok = _not_a_bare_4xx(response, None)
            elif case == "over-limit":
                ok = refused_as(response, "request_too_large") and response.status_code == 413
            else:
                ok = response.status_code >= 400 and refused_as(response, None)
                if case == "broken-exif":
                    ok = ok and error_code(response) in ("image_invalid", "start_image_unsupported")
            tally.answered(response, f"hostile image {case} as {name}", ok=ok)


def _hostile_charsets(http: httpx.Client, tally: Tally) -> None:
    body = b'--B\r\nContent-Disposition: form-data; name="email"\r\n\r\na@b.co\r\n--B--\r\n'
    for path in CHARSET_PATHS:
        for charset in CHARSETS:
            headers = {"Content-Type": f"multipart/form-data; boundary=B; charset={charset}"}
            response = http.post(path, content=body, headers=headers)
            # Every page refuses it before any view (and before CSRF); the API in its error shape.
            ok = response.status_code == 400
            if path.startswith("/api/"):
                ok = ok and refused_as(response, "malformed_request")
            tally.answered(response, f"hostile charset {charset} to {path}", ok=ok)


# --- forged tokens ----------------------------------------------------------------------------------


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _claims(user_id: Any, *, lifetime_s: int = 300, kind: str = "access") -> dict[str, Any]:
    now = int(time.time())
    return {
        "token_type": kind,
        "exp": now + lifetime_s,
        "iat": now,
        "jti": uuid4().hex,
        "user_id": str(user_id),
    }


def _unsigned(claims: dict[str, Any], alg: str = "none") -> str:
    return f"{_b64({'alg': alg, 'typ': 'JWT'})}.{_b64(claims)}."


def forged_token_set() -> dict[str, str]:
    """Every kind of token that must not let anyone in, by name."""
    victim, other, inactive, doomed = member(), member(), member(is_active=False), member()
    jwt_key = settings.SIMPLE_JWT["SIGNING_KEY"]
    doomed_token = str(AccessToken.for_user(doomed))
    doomed.delete()
    header, payload, signature = str(AccessToken.for_user(victim)).split(".")
    swapped = {**json.loads(base64.urlsafe_b64decode(payload + "==")), "user_id": str(other.id)}
    no_user = {k: v for k, v in _claims(victim.id).items() if k != "user_id"}
    return {
        "alg-none": _unsigned(_claims(victim.id)),
        "alg-None": _unsigned(_claims(victim.id), alg="None"),
        "hs256-random-key": jwt.encode(_claims(victim.id), secrets.token_urlsafe(48), algorithm="HS256"),
        "hs256-old-dev-key": jwt.encode(_claims(victim.id), OLD_DEV_KEY, algorithm="HS256"),
        "hs256-secret-key": jwt.encode(_claims(victim.id), settings.SECRET_KEY, algorithm="HS256"),
        "hs512-jwt-key": jwt.encode(_claims(victim.id), jwt_key, algorithm="HS512"),
        "expired": jwt.encode(_claims(victim.id, lifetime_s=-60), jwt_key, algorithm="HS256"),
        "refresh-as-access": str(RefreshToken.for_user(victim)),
        "tampered-user-id": f"{header}.{_b64(swapped)}.{signature}",
        "signature-stripped": f"{header}.{payload}.",
        "deleted-member": doomed_token,
        "deactivated-member": str(AccessToken.for_user(inactive)),
        "never-existed": jwt.encode(_claims(uuid4()), jwt_key, algorithm="HS256"),
        # Signed with the right key, naming a member in another shape (a token of another service or an
        # older id scheme sharing the key): as dead as one naming nobody.
        "not-a-uuid-user": jwt.encode(
            {**_claims(victim.id), "user_id": "1 OR 1=1"}, jwt_key, algorithm="HS256"
        ),
        "no-user-claim": jwt.encode(no_user, jwt_key, algorithm="HS256"),
        "garbage": "garbage",
        "three-dots": "a.b.c",
        "empty": "",
        "long": "x" * 4000,
    }


def forged_refresh_set() -> dict[str, str]:
    """Every kind of refresh token that must not get a new pair, by name."""
    victim, doomed = member(), member()
    jwt_key = settings.SIMPLE_JWT["SIGNING_KEY"]
    doomed_refresh = str(RefreshToken.for_user(doomed))
    doomed.delete()

    def refresh(**claims: Any) -> dict[str, Any]:
        return {**_claims(victim.id, lifetime_s=3600, kind="refresh"), **claims}

    return {
        "access-as-refresh": str(AccessToken.for_user(victim)),
        "refresh-alg-none": _unsigned(refresh()),
        "refresh-old-dev-key": jwt.encode(refresh(), OLD_DEV_KEY, algorithm="HS256"),
        "refresh-secret-key": jwt.encode(refresh(), settings.SECRET_KEY, algorithm="HS256"),
        "refresh-expired": jwt.encode(refresh(exp=int(time.time()) - 60), jwt_key, algorithm="HS256"),
        "refresh-deleted-member": doomed_refresh,
        "refresh-never-existed": jwt.encode(refresh(user_id=str(uuid4())), jwt_key, algorithm="HS256"),
        "refresh-not-a-uuid-user": jwt.encode(refresh(user_id="1 OR 1=1"), jwt_key, algorithm="HS256"),
        "refresh-garbage": "garbage",
    }


async def _handshake(url: str, headers: dict[str, str]) -> int:
    """101 if the socket opened, else the status the handshake was refused with (0: no HTTP answer)."""
    try:
        async with websockets.connect(url, additional_headers=headers, open_timeout=20):
            return 101
    except websockets.InvalidStatus as exc:
        return exc.response.status_code
    except (websockets.InvalidHandshake, OSError, TimeoutError):
        return 0


async def _handshakes(ws: str, tokens: dict[str, str]) -> dict[tuple[str, str], int]:
    answers = {}
    for name, token in tokens.items():
        answers[name, "query"] = await _handshake(f"{ws}?token={quote(token)}", {})
        answers[name, "header"] = await _handshake(ws, {"Authorization": f"Bearer {token}".strip()})
    return answers


def forged_tokens(base: str) -> Tally:
    tally = Tally()
    tokens = forged_token_set()
    ws = base.replace("http", "ws", 1) + "/ws/"
    with httpx.Client(base_url=base, timeout=30) as http:
        _forged_token_controls(http, ws, tally)
        for name, token in tokens.items():
            response = http.get("/api/v1/me", headers={"Authorization": f"Bearer {token}".strip()})
            ok = response.status_code == 401 and error_shaped(response)
            tally.answered(response, f"forged token {name} on REST", ok=ok)
        refreshes = _forged_refreshes(http, tally)
    for (name, how), status in asyncio.run(_handshakes(ws, tokens)).items():
        if status >= 500:
            tally.server_errors += 1
        tally.check(
            400 <= status < 500, f"forged token {name} in the WebSocket {how}: handshake answered {status}"
        )
    tally.details["tokens"] = sorted(tokens)
    tally.details["refresh_tokens"] = refreshes
    return tally


def _forged_refreshes(http: httpx.Client, tally: Tally) -> list[str]:
    """Forged and dead refresh tokens on POST /api/v1/auth/token/refresh: each a 401."""
    tokens = forged_refresh_set()
    tokens["refresh-used-once"] = used = str(RefreshToken.for_user(member()))
    first = http.post("/api/v1/auth/token/refresh", json={"refresh": used})
    if first.status_code != 200:
        tally.flag(
            f"control: a fresh refresh token was refused, so no refusal proves anything: {described(first)}"
        )
    for name, token in tokens.items():
        response = http.post("/api/v1/auth/token/refresh", json={"refresh": token})
        ok = response.status_code == 401 and error_shaped(response)
        tally.answered(response, f"forged refresh token {name}", ok=ok)
    return sorted(tokens)


def _forged_token_controls(http: httpx.Client, ws: str, tally: Tally) -> None:
    """The refusals prove something only if the right key gets in and SECRET_KEY is the server's."""
    user = member()
    token = jwt.encode(_claims(user.id), settings.SIMPLE_JWT["SIGNING_KEY"], algorithm="HS256")
    me = http.get("/api/v1/me", headers={"Authorization": f"Bearer {token}".strip()})
    if me.status_code != 200:
        tally.flag(
            f"control: a token signed with the JWT key was refused, so no refusal proves anything: "
            f"{described(me)}"
        )
    if asyncio.run(_handshake(f"{ws}?token={token}", {})) != 101:
        tally.flag("control: the WebSocket refused a token signed with the JWT key")
    link = signing.TimestampSigner(salt="kino.feed.media").sign(f"{uuid4()}:video:0")
    signed = http.get(f"/media/signed/{link}")
    if (signed.status_code, error_code(signed)) != (404, "not_found"):
        tally.flag(
            f"control: a link signed with this process's SECRET_KEY is not the server's: {described(signed)}"
        )


# --- the authorization matrix -----------------------------------------------------------------------

# Path parameters that name an object only its owner may see.
PRIVATE_PARAMS = {
    "job_id",
    "video_id",
    "group_id",
    "export_id",
    "decision_id",
    "cameo_id",  # an "only me" cameo (its owner's endpoints are the owner's alone at any level)
    "request_id",
    "registration_id",
    "handle",  # the same cameo, by its handle
    "guardianship_id",  # a guardian link: its two members' alone
    "checkin_id",  # a wellbeing check-in card: the member it was shown to
}
# Operations that answer a hidden object exactly as they answer one that does not exist, not with a 404.
SAME_AS_UNKNOWN = {("delete", "/api/v1/users/{username}/block")}
OBJECT_BUILDERS: dict[str, Callable[[User], str]] = {
    "job_id": lambda owner: str(JobFactory(user=owner).id),
    "video_id": lambda owner: a_video_of(owner),
    "username": lambda owner: owner.username,
    "code": lambda owner: InviteFactory().code,
    "comment_id": lambda owner: str(CommentFactory(author=owner).id),
    "group_id": lambda owner: str(a_notification_of(owner)),
    "export_id": lambda owner: str(DataExport.objects.create(user=owner).id),
    "decision_id": lambda owner: str(a_decision_about(owner).id),
    "cameo_id": lambda owner: str(a_cameo_of(owner).id),
    "request_id": lambda owner: a_request_for(owner),
    "registration_id": lambda owner: a_registration_of(owner),
    "handle": lambda owner: a_cameo_of(owner).handle,
    "guardianship_id": lambda owner: a_guardianship_of(owner),
    "checkin_id": lambda owner: a_checkin_of(owner),
}
UNKNOWN_VALUES = {
    "job_id": "8d5e0ad2-8a41-4c1c-9f59-1d1f3c1e6a11",
    "video_id": "8d5e0ad2-8a41-4c1c-9f59-1d1f3c1e6a11",
    "username": "nobody.at.all",
    "code": "ZZZZZZZZZZZZZZZZ",
    "comment_id": "8d5e0ad2-8a41-4c1c-9f59-1d1f3c1e6a11",
    "group_id": "8d5e0ad2-8a41-4c1c-9f59-1d1f3c1e6a11",
    "export_id": "8d5e0ad2-8a41-4c1c-9f59-1d1f3c1e6a11",
    "decision_id": "8d5e0ad2-8a41-4c1c-9f59-1d1f3c1e6a11",
    "cameo_id": "8d5e0ad2-8a41-4c1c-9f59-1d1f3c1e6a11",
    "request_id": "8d5e0ad2-8a41-4c1c-9f59-1d1f3c1e6a11",
    "registration_id": "8d5e0ad2-8a41-4c1c-9f59-1d1f3c1e6a11",
    "handle": "nobody-at-all",
    "guardianship_id": "8d5e0ad2-8a41-4c1c-9f59-1d1f3c1e6a11",
    "checkin_id": "8d5e0ad2-8a41-4c1c-9f59-1d1f3c1e6a11",
}


def a_guardianship_of(owner: User) -> str:
    """A link the owner is the guardian of (an invitation the teen has yet to confirm)."""
    from django.utils import timezone

    from recommender.models import Guardianship

    today = timezone.localdate()
    teen = UserFactory(birthdate=today.replace(year=today.year - 15))
    return str(Guardianship.objects.create(guardian=owner, teen=teen, invited_by="guardian").id)


def a_checkin_of(owner: User) -> str:
    from recommender.models import CheckIn

    return str(CheckIn.objects.create(user_id=owner.id).id)


def a_cameo_of(owner: User) -> Any:  # a cameos.models.Cameo
    """The owner's cameo ("only me"), made once per owner: an operation naming a cameo and a request
    or a video names the same cameo in both."""
    from cameos.models import Cameo
    from tests.cameos.factories import CameoFactory

    return Cameo.objects.filter(owner=owner).first() or CameoFactory(owner=owner)


def a_video_of(owner: User) -> str:
    """The owner's draft, casting the owner's cameo when they have one (a cameo's oversight of it)."""
    from cameos.models import Cameo

    video = VideoFactory(owner=owner)
    for cameo_id in Cameo.objects.filter(owner=owner).values_list("id", flat=True):
        VideoCameoFactory(video=video, cameo_id=cameo_id, cameo_owner=owner)
    return str(video.id)


def a_request_for(owner: User) -> str:
    """Another member's request, waiting, to use the owner's cameo."""
    from tests.cameos.factories import ApprovalFactory

    return str(ApprovalFactory(cameo=a_cameo_of(owner), state="requested").id)


def a_registration_of(owner: User) -> str:
    from datetime import timedelta

    from django.utils import timezone

    from cameos.models import Registration

    registration = Registration.objects.create(
        owner=owner,
        head_turns=["left", "right"],
        phrase="4 7 2 9",
        expires_at=timezone.now() + timedelta(minutes=5),
    )
    return str(registration.id)


def a_notification_of(owner: User) -> Any:
    """A group of the owner's notifications: another member liked one of their posts."""
    from feed.notifications import notification_send

    post = PostFactory(owner=owner)
    return notification_send(
        recipient_id=owner.id, type="liked", actor_id=member().id, target_kind="video", target_id=post.id
    )


ACTORS = ("anonymous", "member", "blocked", "moderator", "owner")  # the owner last: it may delete


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    has_body: bool

    @property
    def params(self) -> list[str]:
        return [part[1:-1] for part in self.path.split("/") if part.startswith("{")]

    def url(self, values: dict[str, str]) -> str:
        path = self.path
        for name, value in values.items():
            path = path.replace(f"{{{name}}}", quote(value, safe=""))
        return path


def schema_operations(base: str) -> list[Operation]:
    schema = httpx.get(f"{base}/api/schema/", headers=SCHEMA_HEADERS, timeout=30).json()
    return [
        Operation(method, path, "requestBody" in spec)
        for path, item in schema["paths"].items()
        for method, spec in item.items()
        if method in METHODS
    ]


def owner_data(owner_id: Any) -> dict[str, Any]:
    """Everything of the owner's that another member must not be able to change."""
    return {
        "account": list(
            User.objects.filter(id=owner_id).values_list(
                "is_active", "is_staff", "is_superuser", "password", "email"
            )
        ),
        "profile": list(
            Profile.objects.filter(user_id=owner_id).values_list("display_name", "bio", "avatar")
        ),
        "jobs": sorted(Job.objects.filter(user_id=owner_id).values_list("id", "state")),
        "videos": sorted(Video.objects.filter(owner_id=owner_id).values_list("id", "state")),
        "follows": sorted(Follow.objects.filter(follower_id=owner_id).values_list("followee_id", flat=True)),
        "blocks": sorted(Block.objects.filter(blocker_id=owner_id).values_list("blocked_id", flat=True)),
    }


def authz_matrix(base: str) -> Tally:
    tally = Tally()
    members = {"member": bearer(member()), "moderator": bearer(moderator()), "anonymous": {}}
    with httpx.Client(base_url=base, timeout=30) as http:
        for operation in schema_operations(base):
            _authz_operation(http, operation, members, tally)
    return tally


def _authz_operation(http: httpx.Client, operation: Operation, members: dict[str, Any], tally: Tally) -> None:
    label = f"{operation.method.upper()} {operation.path}"
    unbuildable = [name for name in operation.params if name not in OBJECT_BUILDERS]
    if unbuildable:
        tally.flag(f"{label}: no builder for path parameters {unbuildable} (add one to OBJECT_BUILDERS)")
        return
    owner, blocked = member(), member()
    BlockFactory(blocker=owner, blocked=blocked)
    values = {name: OBJECT_BUILDERS[name](owner) for name in operation.params}
    headers = {**members, "blocked": bearer(blocked), "owner": bearer(owner)}
    before = owner_data(owner.id)
    for actor in ACTORS:
        if actor == "owner" and (after := owner_data(owner.id)) != before:
            tally.flag(f"{label}: the owner's data changed while others called it: {before} -> {after}")
        response = _authz_call(http, operation, values, headers[actor])
        ok = _authz_expected(operation, actor, response)
        if ok is None:  # answered as for an unknown object, word for word
            unknown = _authz_call(http, operation, UNKNOWN_VALUES, headers[actor])
            ok = (response.status_code, response.content) == (unknown.status_code, unknown.content)
        tally.answered(response, f"authz {label} as {actor}", ok=ok)


def _authz_call(
    http: httpx.Client, operation: Operation, values: dict[str, str], headers: dict[str, str]
) -> Any:
    # A body that parses, so that only the caller's identity can refuse the call.
    body = {"json": {}} if operation.has_body else {}
    return http.request(operation.method.upper(), operation.url(values), headers=headers, **body)


def _authz_expected(operation: Operation, actor: str, response: httpx.Response) -> bool | None:
    """True/False, or None for "the same answer as for an object that does not exist"."""
    status, public = response.status_code, (operation.method, operation.path) in PUBLIC
    if actor == "anonymous":
        return status != 401 if public else (status == 401 and error_code(response) == "not_authenticated")
    if public:
        return True
    if status == 401:
        return False  # a member's valid token refused
    private = bool(PRIVATE_PARAMS & set(operation.params))
    if actor == "owner":
        return not (operation.params and status == 404)
    hidden = private or (actor == "blocked" and "username" in operation.params)
    if not hidden:
        return True
    if (operation.method, operation.path) in SAME_AS_UNKNOWN:
        return None
    return status == 404 and error_shaped(response)


# --- privilege changes in the admin -----------------------------------------------------------------

HIJACK = "hijacked-pass-123"


@dataclass(frozen=True)
class Attempt:
    name: str
    path: str
    form: dict[str, Any] | None = None  # None: a GET


def powers() -> dict[str, Any]:
    """Every account's powers and password, and every group's permissions."""
    users = User.objects.prefetch_related("groups", "user_permissions")
    return {
        "users": {
            user.username: (
                user.is_superuser,
                user.is_staff,
                user.is_active,
                user.password,
                sorted(group.name for group in user.groups.all()),
                sorted(perm.codename for perm in user.user_permissions.all()),
            )
            for user in users
        },
        "groups": {
            group.name: sorted(perm.codename for perm in group.permissions.all())
            for group in Group.objects.prefetch_related("permissions")
        },
    }


def _user_form(user: User, **fields: Any) -> dict[str, Any]:
    return {
        "username": user.username,
        "email": user.email,
        "is_active": "on",
        "profile-TOTAL_FORMS": "1",
        "profile-INITIAL_FORMS": "1",
        "profile-MIN_NUM_FORMS": "0",
        "profile-MAX_NUM_FORMS": "1",
        **fields,
    }


def admin_attempts(cast: dict[str, User]) -> list[Attempt]:
    every_perm = list(Permission.objects.values_list("id", flat=True))
    return [*_power_attempts(cast, every_perm), *_staff_attempts(cast), *_group_attempts(every_perm)]


def _power_attempts(cast: dict[str, User], every_perm: list[int]) -> list[Attempt]:
    every_group = list(Group.objects.values_list("id", flat=True))
    raised = {"is_staff": "on", "is_superuser": "on", "groups": every_group, "user_permissions": every_perm}
    attempts = []
    for label, user in cast.items():
        page = f"/admin/accounts/user/{user.id}"
        attempts += [
            Attempt(f"give {label} every power", f"{page}/change/", _user_form(user, **raised)),
            Attempt(f"open the password form of {label}", f"{page}/password/"),
            Attempt(
                f"set the password of {label}",
                f"{page}/password/",
                {"password1": HIJACK, "password2": HIJACK},
            ),
        ]
    return attempts


def _staff_attempts(cast: dict[str, User]) -> list[Attempt]:
    staffer, boss = cast["a staff member"], cast["a superuser"]
    intruder = {
        "username": "intruder",
        "email": "intruder@example.com",
        "password1": HIJACK,
        "password2": HIJACK,
        "usable_password": "true",
        "is_staff": "on",
        "is_superuser": "on",
    }
    deactivate = {"action": "deactivate", "index": "0", "_selected_action": [str(staffer.id), str(boss.id)]}
    return [
        Attempt(
            "rename a staff member",
            f"/admin/accounts/user/{staffer.id}/change/",
            _user_form(staffer, username="renamed", email="renamed@example.com"),
        ),
        Attempt(
            "change their own password without the old one",
            "/admin/password_change/",
            {"old_password": "wrong", "new_password1": HIJACK, "new_password2": HIJACK},
        ),
        Attempt("open the user add form", "/admin/accounts/user/add/"),
        Attempt("add a superuser", "/admin/accounts/user/add/", intruder),
        Attempt("deactivate a staff member and a superuser", "/admin/accounts/user/", deactivate),
        Attempt("delete a superuser", f"/admin/accounts/user/{boss.id}/delete/", {"post": "yes"}),
    ]


def _group_attempts(every_perm: list[int]) -> list[Attempt]:
    moderators = f"/admin/auth/group/{Group.objects.get(name=MODERATORS).id}"
    return [
        Attempt("open the moderators group", f"{moderators}/change/"),
        Attempt(
            "give the moderators group every permission",
            f"{moderators}/change/",
            {"name": MODERATORS, "permissions": every_perm},
        ),
        Attempt("delete the moderators group", f"{moderators}/delete/", {"post": "yes"}),
        Attempt("open the group add form", "/admin/auth/group/add/"),
        Attempt(
            "add a group with every permission",
            "/admin/auth/group/add/",
            {"name": "root", "permissions": every_perm},
        ),
        Attempt("open the permission list", "/admin/auth/permission/"),
    ]


def admin_login(browser: httpx.Client, username: str) -> httpx.Response:
    browser.get("/admin/login/")
    form = {
        "username": username,
        "password": PASSWORD,
        "next": "/admin/",
        "csrfmiddlewaretoken": _csrf(browser),
    }
    return browser.post("/admin/login/?next=/admin/", data=form)


def _csrf(browser: httpx.Client) -> str:
    return browser.cookies.get("csrftoken", "")


def admin_privileges(base: str) -> Tally:
    tally = Tally(details={"attempts": []})
    mod = moderator()
    cast = {
        "their own account": mod,
        "a member": member(),
        "a staff member": member(is_staff=True),
        "a superuser": member(is_staff=True, is_superuser=True),
    }
    with httpx.Client(base_url=base, timeout=30) as browser:
        if not _admin_controls(browser, mod, tally):
            return tally
        before = powers()
        for attempt in admin_attempts(cast):
            if attempt.form is None:
                response = browser.get(attempt.path)
            else:
                form = {**attempt.form, "csrfmiddlewaretoken": _csrf(browser)}
                response = browser.post(attempt.path, data=form)
            ok = b"CSRF verification failed" not in response.content  # a refusal that proves nothing
            tally.answered(response, f"admin: a moderator tries to {attempt.name}", ok=ok)
            tally.details["attempts"].append({"attempt": attempt.name, "status": response.status_code})
    after = powers()
    for kind in ("users", "groups"):
        for name in sorted(set(before[kind]) | set(after[kind])):
            was, now = before[kind].get(name), after[kind].get(name)
            if was != now:
                tally.flag(f"admin: {kind[:-1]} {name!r} changed: {was} -> {now}")
    return tally


def _admin_controls(browser: httpx.Client, mod: User, tally: Tally) -> bool:
    """The refusals prove something only if the moderator's session and CSRF token do work: they log in,
    list members and deactivate one (what moderators may do)."""
    login = admin_login(browser, mod.username)
    listing = browser.get("/admin/accounts/user/")
    spare = member()
    form = {"action": "deactivate", "index": "0", "_selected_action": [str(spare.id)]}
    action = browser.post("/admin/accounts/user/", data={**form, "csrfmiddlewaretoken": _csrf(browser)})
    spare.refresh_from_db()
    if (login.status_code, listing.status_code, spare.is_active) != (302, 200, False):
        tally.flag(
            f"control: the moderator could not log in, list members and deactivate one ({described(login)}; "
            f"{described(listing)}; {described(action)}), so no refusal proves anything"
        )
        return False
    return True


# --- races ------------------------------------------------------------------------------------------


def together(
    base: str, calls: list[Callable[[httpx.Client], httpx.Response]]
) -> list[httpx.Response | Exception]:
    """Each call in its own thread and connection, released at the same instant."""
    barrier = threading.Barrier(len(calls))
    results: list[httpx.Response | Exception] = [RuntimeError("not run")] * len(calls)

    def run(index: int, call: Callable[[httpx.Client], httpx.Response]) -> None:
        with httpx.Client(base_url=base, timeout=60) as http:
            http.get("/healthz")  # the connection is open before the start
            barrier.wait()
            try:
                results[index] = call(http)
            except httpx.HTTPError as exc:
                results[index] = exc

    threads = [threading.Thread(target=run, args=item) for item in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def _statuses(results: list[httpx.Response | Exception]) -> list[int | str]:
    return [r.status_code if isinstance(r, httpx.Response) else type(r).__name__ for r in results]


def _clean(results: list[httpx.Response | Exception]) -> bool:
    """Every call answered, none with a 5xx, every refusal in the error shape."""
    return all(
        isinstance(r, httpx.Response) and (r.status_code < 400 or refused_as(r, None)) for r in results
    )


def follows_with_a_block(user_ids: list[Any]) -> int:
    """Follows among these members with a block between the two, either way (the invariant: none)."""
    blocked = Block.objects.filter(
        Q(blocker=OuterRef("follower"), blocked=OuterRef("followee"))
        | Q(blocker=OuterRef("followee"), blocked=OuterRef("follower"))
    )
    return Follow.objects.filter(Exists(blocked), follower_id__in=user_ids).count()


def _follow(follower: User, followee: User) -> Callable[[httpx.Client], httpx.Response]:
    headers = bearer(follower)
    return lambda http: http.post(f"/api/v1/users/{followee.username}/follow", headers=headers)


def _block(blocker: User, blocked: User) -> Callable[[httpx.Client], httpx.Response]:
    headers = bearer(blocker)
    return lambda http: http.post(f"/api/v1/users/{blocked.username}/block", headers=headers)


def race_follow_block(base: str, rounds: int) -> Tally:
    """A follows B while a block between them (B blocks A, or A blocks B) lands at the same time."""
    tally, ids, follows = Tally(), [], Counter()
    for i in range(rounds):
        a, b = member(), member()
        blocker, blocked = (b, a) if i % 2 == 0 else (a, b)
        ids += [a.id, b.id]
        results = together(base, [_follow(a, b), _block(blocker, blocked)])
        statuses = _statuses(results)
        follows[str(statuses[0])] += 1
        block_made = Block.objects.filter(blocker=blocker, blocked=blocked).exists()
        tally.server_errors += sum(1 for s in statuses if isinstance(s, int) and s >= 500)
        tally.check(
            _clean(results) and block_made, f"follow/block round {i}: {statuses}, block made: {block_made}"
        )
    if survivors := follows_with_a_block(ids):
        tally.flag(f"follow/block: {survivors} follow rows with a block between the pair")
    # Both outcomes seen means the two really raced (the follow first, then removed; or refused).
    tally.details.update(follows_with_a_block=survivors, follow_answers=dict(follows))
    return tally


def _signup(code: str, username: str) -> Callable[[httpx.Client], httpx.Response]:
    payload = {
        "invite_code": code,
        "username": username,
        "email": f"{username}@example.com",
        "password": PASSWORD,
        "birthdate": "1995-01-01",
    }
    return lambda http: http.post("/api/v1/auth/signup", json=payload)


def race_invite_redeem(base: str, rounds: int, racers: int = 4) -> Tally:
    """`racers` people redeem one invite at the same instant: exactly one account."""
    tally = Tally()
    for i in range(rounds):
        invite = InviteFactory()
        names = [f"racer{i}x{j}{uuid4().hex[:6]}" for j in range(racers)]
        results = together(base, [_signup(invite.code, name) for name in names])
        statuses = _statuses(results)
        made = User.objects.filter(username__in=names).count()
        tally.server_errors += sum(1 for s in statuses if isinstance(s, int) and s >= 500)
        ok = _clean(results) and made == 1 and statuses.count(201) == 1
        tally.check(ok, f"invite round {i}: answers {statuses}, {made} accounts made")
    return tally


def _login(username: str) -> Callable[[httpx.Client], httpx.Response]:
    return lambda http: http.post("/api/v1/auth/token", json={"username": username, "password": PASSWORD})


def _delete_me(headers: dict[str, str]) -> Callable[[httpx.Client], httpx.Response]:
    return lambda http: http.request("DELETE", "/api/v1/me", json={"password": PASSWORD}, headers=headers)


def race_deletion_logins(base: str, rounds: int, logins: int = 3) -> Tally:
    """A member deletes their account while `logins` logins with the right password race it."""
    tally, logins_answered = Tally(), Counter()
    for i in range(rounds):
        user = member()
        results = together(base, [*([_login(user.username)] * logins), _delete_me(bearer(user))])
        statuses = _statuses(results)
        logins_answered.update(str(status) for status in statuses[:-1])
        tally.server_errors += sum(1 for s in statuses if isinstance(s, int) and s >= 500)
        gone = not User.objects.filter(id=user.id).exists()
        ok = _clean(results) and statuses[-1] == 204 and set(statuses[:-1]) <= {200, 401} and gone
        live_tokens = _tokens_still_working(base, [r for r in results[:-1] if isinstance(r, httpx.Response)])
        tally.check(
            ok and not live_tokens,
            f"deletion round {i}: {statuses}, gone: {gone}, live tokens: {live_tokens}",
        )
    tally.details["login_answers"] = dict(logins_answered)  # 200s and 401s: the logins really raced
    return tally


def _tokens_still_working(base: str, logins: list[httpx.Response]) -> list[str]:
    """Tokens a login got during the race that still work once the account is gone."""
    alive = []
    with httpx.Client(base_url=base, timeout=30) as http:
        for pair in (r.json() for r in logins if r.status_code == 200):
            if (
                http.get("/api/v1/me", headers={"Authorization": f"Bearer {pair['access']}"}).status_code
                != 401
            ):
                alive.append("access")
            if http.post("/api/v1/auth/token/refresh", json={"refresh": pair["refresh"]}).status_code != 401:
                alive.append("refresh")
    return alive


# --- what a deletion leaves -------------------------------------------------------------------------


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(buffer, format="PNG")
    return buffer.getvalue()


def deletion_files(base: str, members: int = 1) -> Tally:
    """Members with a draft, an avatar and a job's start image delete their accounts over HTTP."""
    tally = Tally()
    tally.details["files_left"] = []
    with httpx.Client(base_url=base, timeout=30) as http:
        for _ in range(members):
            _deletion_round(http, tally)
    return tally


def _deletion_round(http: httpx.Client, tally: Tally) -> None:
    user = member()
    headers = bearer(user)
    video = VideoFactory(owner=user)
    start = default_storage.save(f"generation/start/{uuid4().hex}.webp", io.BytesIO(b"RIFF....WEBPVP8 "))
    JobFactory(user=user, start_image=start)
    avatar = http.put("/api/v1/me/avatar", files={"avatar": ("a.png", _png(), "image/png")}, headers=headers)
    tally.answered(avatar, "deletion: the avatar upload", ok=avatar.status_code == 200)
    user.profile.refresh_from_db()
    files = [video.video.name, video.poster.name, start, user.profile.avatar.name]
    links = http.get(f"/api/v1/videos/{video.id}", headers=headers).json()
    paths = [urlparse(links[part]).path for part in ("video_url", "poster_url")]
    before = [http.get(path) for path in paths]
    if not all(default_storage.exists(name) for name in files) or any(r.status_code != 200 for r in before):
        tally.flag(
            f"control: files or links missing before the deletion, so their absence proves nothing: {files}"
        )
    deleted = http.request("DELETE", "/api/v1/me", json={"password": PASSWORD}, headers=headers)
    tally.answered(deleted, "deletion: DELETE /api/v1/me", ok=deleted.status_code == 204)
    for name in files:
        if not tally.check(not default_storage.exists(name), f"deletion: {name} is still in storage"):
            tally.details["files_left"].append(name)
    for path in paths:
        response = http.get(path)
        tally.answered(
            response,
            "deletion: an old signed link",
            ok=(response.status_code, error_code(response)) == (404, "not_found"),
        )


# --- fuzz -------------------------------------------------------------------------------------------


def fuzz_cast() -> dict[str, Any]:
    """A member with something in every list, and the path values that name their own objects."""
    from accounts import services

    fuzzer, friend = member(), member()
    services.follow_create(actor=fuzzer, target=friend)
    services.follow_create(actor=friend, target=fuzzer)
    services.member_invites_grant(user=fuzzer)
    InviteFactory(code="FUZZFUZZFUZZFUZZ")
    values = {
        "job_id": str(JobFactory(user=fuzzer).id),
        "video_id": str(VideoFactory(owner=fuzzer).id),
        "username": friend.username,
        "code": "FUZZFUZZFUZZFUZZ",
    }
    return {"member": fuzzer, "values": values}


def fuzz(base: str, examples: int) -> Tally:
    """schemathesis from the live schema: `examples` cases per operation, each sent to the live server."""
    import requests
    import schemathesis

    schema = schemathesis.openapi.from_url(f"{base}/api/schema/", headers=SCHEMA_HEADERS, timeout=30)
    cast = fuzz_cast()
    tally = Tally(details={"examples_per_operation": examples, "operations": 0, "unsent": 0})
    with requests.Session() as session:
        for result in schema.get_all_operations():
            operation = result.ok()
            tally.details["operations"] += 1
            _fuzz_operation(base, operation, cast, examples, session, tally)
    return tally


def _fuzz_strategy(operation: Any, values: dict[str, str]) -> Any:
    import schemathesis
    from hypothesis import strategies as st

    modes = (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE)
    strategies = [operation.as_strategy(generation_mode=mode) for mode in modes]
    names = [p.name for p in operation.path_parameters]
    if names and all(name in values for name in names):
        own = {name: values[name] for name in names}
        strategies += [operation.as_strategy(generation_mode=mode, path_parameters=own) for mode in modes]
    return st.one_of(strategies)


def _fuzz_operation(
    base: str, operation: Any, cast: dict[str, Any], examples: int, session: Any, tally: Tally
) -> None:
    import requests
    from hypothesis import HealthCheck, Phase, given
    from hypothesis import settings as hypothesis_settings

    headers = bearer(cast["member"])  # fresh for each operation: a token lives 15 minutes

    @hypothesis_settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=False,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate],
    )
    @given(_fuzz_strategy(operation, cast["values"]))
    def send(case: Any) -> None:
        try:
            response = case.call(base_url=base, session=session, headers=headers, timeout=60)
        except (requests.RequestException, ValueError, UnicodeError):
            tally.details["unsent"] += 1  # the HTTP client refused to send it (a header it cannot encode)
            return
        tally.cases += 1
        status = response.status_code
        if status >= 500 or (status >= 400 and not error_shaped(response)):
            tally.server_errors += status >= 500
            tally.flag(
                f"fuzz {case.method} {case.formatted_path} -> {status} {response.content[:300]!r}\n"
                f"    {case.as_curl_command(headers=headers)}"
            )

    send()


# --- the whole battery ------------------------------------------------------------------------------


def battery(base: str, *, fuzz_examples: int, race_rounds: int, deletions: int = 1) -> dict[str, Tally]:
    """Every part, in an order where none disturbs the next (the fuzz last: it makes jobs and blocks)."""
    return {
        "hostile": hostile_inputs(base),
        "forged_tokens": forged_tokens(base),
        "authz": authz_matrix(base),
        "admin": admin_privileges(base),
        "race_follow_block": race_follow_block(base, race_rounds),
        "race_invite_redeem": race_invite_redeem(base, race_rounds),
        "race_deletion_logins": race_deletion_logins(base, race_rounds),
        "deletion_files": deletion_files(base, deletions),
        "fuzz": fuzz(base, fuzz_examples),
    }
