"""A hostile corpus: inputs that once answered 5xx, and their kin. None gets a 5xx; those that are
wrong get a 4xx in the error shape, with the code named here.

The classes (issue 20, item 7): a cursor that decodes but holds a bad position; JSON nested deep;
a NUL in a path; text that is not Unicode; an image whose EXIF is broken; a body in a charset that
is not text; plus huge numbers, mutated images and odd unicode.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from tests import security
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
FIXTURES = Path(__file__).parent / "fixtures"


def image_file(data: bytes, name: str = "image.png") -> io.BytesIO:
    handle = io.BytesIO(data)
    handle.name = name
    return handle


# The corpus lives in tests/security.py, which also sends it to a live server (tests/test_security.py).
JSON_CASES = [pytest.param(c.method, c.url, c.body, c.code, id=c.id) for c in security.JSON_CASES]


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


@pytest.mark.parametrize(("field", "url", "method"), security.IMAGE_TARGETS, ids=["avatar", "start-image"])
@pytest.mark.parametrize("index", range(len(security.IMAGE_CASES)), ids=security.IMAGE_CASES)
def test_hostile_images_never_get_a_5xx(auth_client, field, url, method, index):
    payload = {field: image_file(security.hostile_images()[index])}
    if field == "start_image":
        payload.update(prompt="a ball", duration_s="4")
    response = getattr(auth_client(UserFactory()), method)(url, payload, format="multipart")
    assert response.status_code < 500, response.content[:300]
    if index < 4:  # broken: refused; the polyglot is taken, its payload dropped by the re-encode
        assert 400 <= response.status_code < 500
    if index == 0:
        assert response.json()["error"]["code"] in ("image_invalid", "start_image_unsupported")


@pytest.mark.parametrize("path", security.CHARSET_PATHS)
@pytest.mark.parametrize("charset", security.CHARSETS)
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
    for body in security.NOT_OBJECT_BODIES:
        response = api.post("/api/v1/waitlist", body, content_type="application/json")
        assert 400 <= response.status_code < 500, (body, response.status_code)
