"""A hostile corpus: inputs that once answered 5xx, and their kin. None gets a 5xx; those that are
wrong get a 4xx in the error shape, with the code named here.

The classes (issue 20, item 7): a cursor that decodes but holds a bad position; JSON nested deep;
a NUL in a path; text that is not Unicode; an image whose EXIF is broken; a body in a charset that
is not text; plus huge numbers, mutated images and odd unicode.
"""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import pytest
from PIL import Image

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
FIXTURES = Path(__file__).parent / "fixtures"


def cursor(raw: str) -> str:
    return base64.b64encode(raw.encode()).decode()


def image_file(data: bytes, name: str = "image.png") -> io.BytesIO:
    handle = io.BytesIO(data)
    handle.name = name
    return handle


def mutated_pngs() -> list[bytes]:
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), "blue").save(buffer, format="PNG")
    good = buffer.getvalue()
    return [good[:40], good[:8] + b"\x00" * 40, good.replace(b"IHDR", b"IHDX"), good + b"<?php echo 1; ?>"]


JSON_CASES = [
    pytest.param(
        "get",
        "/api/v1/generations?cursor=" + cursor("p=not-a-date"),
        None,
        "invalid_cursor",
        id="cursor-bad-position",
    ),
    pytest.param(
        "get",
        "/api/v1/me/drafts?cursor=" + cursor("o=5&p=2026-13-45"),
        None,
        "invalid_cursor",
        id="cursor-bad-date",
    ),
    pytest.param(
        "get",
        "/api/v1/generations?cursor=" + cursor("o=99999999999999999999999"),
        None,
        None,
        id="cursor-huge-offset",
    ),
    pytest.param("get", "/api/v1/generations?cursor=%00", None, None, id="cursor-nul"),
    pytest.param("get", "/api/v1/generations?limit=99999999999999999999999", None, None, id="limit-huge"),
    pytest.param(
        "post", "/api/v1/waitlist", "[" * 1000 + "]" * 1000, "malformed_request", id="json-nested-1000"
    ),
    pytest.param(
        "post", "/api/v1/waitlist", '{"a":' * 100 + "1" + "}" * 100, "malformed_request", id="json-nested-100"
    ),
    pytest.param("post", "/api/v1/waitlist", '{"\\ud800": 1}', "malformed_request", id="lone-surrogate-key"),
    pytest.param(
        "post",
        "/api/v1/waitlist",
        '{"email": "\\udfff@x.io"}',
        "malformed_request",
        id="lone-surrogate-value",
    ),
    pytest.param("patch", "/api/v1/me", '{"bio": "\\u0000"}', "invalid_input", id="nul-in-text"),
    pytest.param(
        "post",
        "/api/v1/generations",
        '{"prompt": "x", "duration_s": 4, "seed": 1e400}',
        None,
        id="huge-float",
    ),
    pytest.param(
        "post",
        "/api/v1/generations",
        '{"prompt": "x", "duration_s": 99999999999999999999}',
        "invalid_input",
        id="huge-int",
    ),
    pytest.param("post", "/api/v1/generations", '{"prompt": "x", "duration_s": NaN}', None, id="nan"),
    pytest.param("get", "/api/v1/invites/%00", None, "not_found", id="nul-in-code"),
    pytest.param("get", "/api/v1/users/%00", None, "not_found", id="nul-in-username"),
    pytest.param("get", "/api/v1/users/a%00b/followers", None, "not_found", id="nul-in-nested-path"),
    pytest.param("get", "/api/v1/generations/not-a-uuid", None, "not_found", id="bad-uuid"),
    pytest.param("get", "/api/v1/users/" + "\u202e" * 40, None, "user_not_found", id="bidi-username"),
]


@pytest.mark.parametrize(("method", "url", "body", "code"), JSON_CASES)
def test_hostile_json_and_paths_never_get_a_5xx(auth_client, method, url, body, code):
    client = auth_client(UserFactory())
    kwargs = {"data": body, "content_type": "application/json"} if body is not None else {}
    response = getattr(client, method)(url, **kwargs)
    assert response.status_code < 500, (response.status_code, response.content[:300])
    if code:
        assert 400 <= response.status_code < 500
        error = response.json()["error"]
        assert set(error) == {"code", "message", "fields"}
        assert error["code"] == code


@pytest.mark.parametrize(
    ("field", "url", "method"),
    [("avatar", "/api/v1/me/avatar", "put"), ("start_image", "/api/v1/generations", "post")],
    ids=["avatar", "start-image"],
)
@pytest.mark.parametrize(
    "index", range(5), ids=["broken-exif", "truncated", "zeroed", "bad-chunk", "polyglot"]
)
def test_hostile_images_never_get_a_5xx(auth_client, field, url, method, index):
    images = [(FIXTURES / "broken_exif.png").read_bytes(), *mutated_pngs()]
    payload = {field: image_file(images[index])}
    if field == "start_image":
        payload.update(prompt="a ball", duration_s="4")
    response = getattr(auth_client(UserFactory()), method)(url, payload, format="multipart")
    assert response.status_code < 500, response.content[:300]
    if index < 4:  # broken: refused; the polyglot is taken, its payload dropped by the re-encode
        assert 400 <= response.status_code < 500
    if index == 0:
        assert response.json()["error"]["code"] in ("image_invalid", "start_image_unsupported")


@pytest.mark.parametrize("path", ["/beta/", "/admin/login/", "/api/v1/waitlist"])
@pytest.mark.parametrize("charset", ["zlib", "base64", "no-such-charset"])
def test_a_body_in_a_charset_that_is_not_text_is_a_400(client, path, charset):
    body = b'--B\r\nContent-Disposition: form-data; name="email"\r\n\r\na@b.co\r\n--B--\r\n'
    response = client.generic(
        "POST", path, body, content_type=f"multipart/form-data; boundary=B; charset={charset}"
    )
    assert response.status_code == 400
    if path.startswith("/api/"):
        assert response.json()["error"]["code"] == "malformed_request"


def test_the_broken_exif_fixture_is_what_crashed_before():
    from PIL import ImageOps

    image = Image.open(io.BytesIO((FIXTURES / "broken_exif.png").read_bytes()))
    image.load()
    with pytest.raises(SyntaxError):  # what exif_transpose raised outside the guard: a 500
        ImageOps.exif_transpose(image)


def test_a_json_list_as_a_body_and_json_scalars_are_4xx(api):
    for body in ("[]", "1", '"text"', "null", "true", json.dumps({"email": ["a@b.co"]})):
        response = api.post("/api/v1/waitlist", body, content_type="application/json")
        assert 400 <= response.status_code < 500, (body, response.status_code)
