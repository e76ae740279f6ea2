"""Test settings: the dev settings against the same embedded servers, with a few speed-ups.

The tests use real PostgreSQL and real Redis (a separate Redis database, 15, so a
running `make run` keeps its data). Tasks run eagerly unless a test starts a real worker.
"""

import os

os.environ.setdefault("KINO_ENV", "test")
# Most tests exercise the diffusers path with a tiny random pipeline; the built-in engine's
# tests switch to it themselves. Servers and workers the tests start inherit this.
os.environ.setdefault("GENERATION_ENGINE", "tiny-ltx2")

from config.settings import *

if not env.str("REDIS_URL", default=""):
    REDIS_URL = REDIS_URL.rsplit("/", 1)[0] + "/15"
    CACHES["default"]["LOCATION"] = REDIS_URL
    CHANNEL_LAYERS["default"]["CONFIG"]["hosts"][0]["address"] = REDIS_URL  # type: ignore[index]
    CELERY_BROKER_URL = REDIS_URL

# MD5 for speed; PBKDF2 for users that the live-stack tests' servers (dev settings) must log in.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.MD5PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
MEDIA_ROOT = VAR_DIR / "test-media"
SERVE_MEDIA = True
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] = dict.fromkeys(
    REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "10000/min"
)
