"""Kino settings: every knob is read from the environment here, once.

KINO_ENV picks the defaults: `dev` (the default; embedded services, local
files, mail to var/mail) or `production` (no defaults for secrets, HTTPS
everywhere). Production refuses to boot without its secrets.
"""

from __future__ import annotations

import ipaddress
from datetime import timedelta
from pathlib import Path
from typing import Any

import environ
from csp.constants import NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured

from config import embedded

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()

KINO_ENV = env.str("KINO_ENV", default="dev")
if KINO_ENV not in {"dev", "test", "production"}:
    raise ImproperlyConfigured(f"KINO_ENV must be dev, test or production, not {KINO_ENV!r}")
PRODUCTION = KINO_ENV == "production"
VAR_DIR = embedded.var_dir()


def _required_in_production(name: str, dev_default: str) -> str:
    value = env.str(name, default="")
    if value:
        return value
    if PRODUCTION:
        raise ImproperlyConfigured(
            f"{name} is not set. Production (KINO_ENV=production) has no default for it: "
            f"set {name} in the environment."
        )
    return dev_default


# Outside production each installation makes its own random keys on first start (var/, mode 0600)
# and keeps them: no two installations share a key that signs sessions, tokens or media links.
SECRET_KEY = _required_in_production("SECRET_KEY", "") or embedded.secret_read_or_create("secret_key")
# JWTs have a key of their own: leaking one signer does not forge the other's signatures.
JWT_SIGNING_KEY = _required_in_production("JWT_SIGNING_KEY", "") or embedded.secret_read_or_create(
    "jwt_signing_key"
)
DEBUG = env.bool("DEBUG", default=not PRODUCTION and KINO_ENV != "test")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[] if PRODUCTION else ["localhost", "127.0.0.1", "[::1]"])
if PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS is not set. Production needs the host names it serves.")
# Origins allowed to open the WebSocket from a browser (native clients send no Origin).
WS_ALLOWED_ORIGINS = env.list("WS_ALLOWED_ORIGINS", default=[])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env.str("SITE_URL", default="" if PRODUCTION else "http://127.0.0.1:8000").rstrip("/")
if PRODUCTION and not SITE_URL:
    raise ImproperlyConfigured("SITE_URL is not set. Production needs it to write links in invite emails.")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "accounts",
    "moderation",
    "cameos",
    "feed",
    "generation",
    "provenance",
    "recommender",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "config.middleware.MalformedRequestMiddleware",
    "csp.middleware.CSPMiddleware",
    "config.middleware.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "config" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Services -----------------------------------------------------------------

DATABASES = {"default": env.db("DATABASE_URL", default=embedded.postgres_url())}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=0)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# The web server's processes (config/asgi.py sets KINO_DB_POOL) keep a pool of connections: under
# ASGI each request runs in a thread of its own, so persistent connections would pile up, and a new
# one per request costs ~3 ms and a backend fork. Celery's prefork children must not inherit a
# pool's threads and sockets, so workers, commands and tests connect per use.
DB_POOL_MAX = env.int("DB_POOL_MAX", default=8)
if env.bool("KINO_DB_POOL", default=False):
    DATABASES["default"]["CONN_MAX_AGE"] = 0  # pooled connections go back to the pool instead
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 1,
        "max_size": DB_POOL_MAX,
        "timeout": 10,
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default=embedded.redis_url())
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="kino"),
    }
}
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        # channels_redis blocks 5 s per receive; redis-py 8's default socket timeout is also 5 s, so
        # a reply at the edge timed out and killed idle sockets. Reads wait longer than the block.
        "CONFIG": {
            "hosts": [{"address": REDIS_URL, "socket_timeout": 15}],
            "prefix": "kino:ws",
            "capacity": 500,
            "expiry": 60,
        },
    }
}

# --- Celery ---------------------------------------------------------------------
# A job is acknowledged only when it finishes (late acks). If a worker child dies
# mid-job the parent rejects the message and the broker redelivers it at once; if a
# whole worker host vanishes, the message comes back after the visibility timeout,
# found by a sweep every CELERY_RESTORE_INTERVAL seconds. The visibility timeout must
# exceed the longest job, or a healthy long job would be handed out twice; so every
# task has a hard time limit below it. Bound on redelivery after losing a host:
# CELERY_VISIBILITY_TIMEOUT + CELERY_RESTORE_INTERVAL (default 660 + 5 s).
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=600)
CELERY_VISIBILITY_TIMEOUT = env.int("CELERY_VISIBILITY_TIMEOUT", default=CELERY_TASK_TIME_LIMIT + 60)
CELERY_RESTORE_INTERVAL = env.int("CELERY_RESTORE_INTERVAL", default=5)
if CELERY_VISIBILITY_TIMEOUT <= CELERY_TASK_TIME_LIMIT:
    raise ImproperlyConfigured("CELERY_VISIBILITY_TIMEOUT must exceed CELERY_TASK_TIME_LIMIT.")
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": CELERY_VISIBILITY_TIMEOUT,
    "unacked_restore_interval": CELERY_RESTORE_INTERVAL,
    "unacked_restore_throttle": 1,
    "global_keyprefix": "kino:celery:",
}
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_WORKER_SEND_TASK_EVENTS = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
# A worker writes this key every WORKER_HEARTBEAT_S seconds; /healthz reads it.
WORKER_HEARTBEAT_S = env.int("WORKER_HEARTBEAT_S", default=5)

# --- Generation -------------------------------------------------------------------
# GENERATION_ENGINE: "builtin" (the default: Kino's own small audio-video model, shipped in
# generation/builtin/weights; GENERATION_MODEL_PATH may point at another checkpoint of it),
# "diffusers" (GENERATION_MODEL_PATH: a local diffusers pipeline folder: LTX-2, Wan or Wan VACE),
# or "tiny-ltx2" / "tiny-wan" / "tiny-wan-vace": a tiny randomly initialised pipeline built into var/models on
# first use, whose output is noise (the tests use it to exercise the diffusers path).
# Every generation setting is checked at boot by generation/checks.py (`manage.py check`, and
# before uvicorn and the workers serve): a misspelt engine or a missing model folder stops them.
GENERATION_ENGINE = env.str("GENERATION_ENGINE", default="builtin")
GENERATION_MODEL_PATH = env.str("GENERATION_MODEL_PATH", default="")
_KIND = {"builtin": "builtin", "diffusers": "diffusers"}.get(GENERATION_ENGINE, "tiny")
GENERATION_DEVICE = env.str("GENERATION_DEVICE", default="auto")
GENERATION_DTYPE = env.str("GENERATION_DTYPE", default="auto")
GENERATION_CPU_OFFLOAD = env.bool("GENERATION_CPU_OFFLOAD", default=False)
GENERATION_VAE_TILING = env.bool("GENERATION_VAE_TILING", default=False)
GENERATION_STEPS = env.int("GENERATION_STEPS", default={"tiny": 4, "builtin": 24, "diffusers": 30}[_KIND])
GENERATION_GUIDANCE = env.float("GENERATION_GUIDANCE", default=None)
GENERATION_MAX_SEQUENCE_LENGTH = (
    env.int("GENERATION_MAX_SEQUENCE_LENGTH", default=64 if _KIND == "tiny" else 0) or None
)
GENERATION_FPS = env.float("GENERATION_FPS", default=24.0 if _KIND == "diffusers" else 8.0)
# Short side in pixels per quality; the long side follows the aspect (16:9), rounded by the engine.
GENERATION_SHORT_SIDE = env.dict(
    "GENERATION_SHORT_SIDE",
    cast={"value": int},
    default={
        "tiny": {"draft": 32, "standard": 32, "high": 64},
        "builtin": {"draft": 128, "standard": 256, "high": 384},
        "diffusers": {"draft": 320, "standard": 480, "high": 704},
    }[_KIND],
)
GENERATION_PROMPT_MAX_CHARS = env.int("GENERATION_PROMPT_MAX_CHARS", default=1000)
# Start images: their own bounds (not the avatar's); kept in their shape, the longer side at most this.
GENERATION_START_IMAGE_MAX_BYTES = env.int("GENERATION_START_IMAGE_MAX_BYTES", default=6 * 1024 * 1024)
GENERATION_START_IMAGE_MAX_PIXELS = env.int("GENERATION_START_IMAGE_MAX_PIXELS", default=40_000_000)
GENERATION_START_IMAGE_SIDE = env.int("GENERATION_START_IMAGE_SIDE", default=1280)
GENERATION_MAX_ATTEMPTS = env.int("GENERATION_MAX_ATTEMPTS", default=3)
# A stage failing transiently (storage) runs again in place up to this many times, waiting
# GENERATION_STAGE_BACKOFF_S, then twice that, ...; the render before it is kept.
GENERATION_STAGE_TRIES = env.int("GENERATION_STAGE_TRIES", default=4)
GENERATION_STAGE_BACKOFF_S = env.float("GENERATION_STAGE_BACKOFF_S", default=0.5)
# A running job's worker writes a heartbeat every GENERATION_HEARTBEAT_S; a job silent for
# GENERATION_STALE_S is taken for lost and runs again (each worker sweeps every GENERATION_REAP_S).
GENERATION_HEARTBEAT_S = env.float("GENERATION_HEARTBEAT_S", default=2.0)
GENERATION_STALE_S = env.float("GENERATION_STALE_S", default=10.0)
GENERATION_REAP_S = env.float("GENERATION_REAP_S", default=5.0)
# A job still queued this long after its task went to the broker is dispatched again (a lost message,
# a failed dispatch); the same sweep runs every GENERATION_REAP_S.
GENERATION_REDISPATCH_S = env.float("GENERATION_REDISPATCH_S", default=300.0)
# One window of a diffusers engine, in frames (0: the family's own: LTX-2 121, Wan / Wan VACE 81).
# LTX-2 and Wan VACE chain windows past it; plain Wan makes no clip longer than it (at 24 fps its 81
# frames are 3.4 s, below the shortest duration: run plain Wan at GENERATION_FPS=16).
GENERATION_NATIVE_FRAMES = env.int("GENERATION_NATIVE_FRAMES", default=0)
# The clip lengths one may ask for, in seconds (a storyboard's shots and total too); each tier caps them.
GENERATION_DURATIONS = tuple(env.list("GENERATION_DURATIONS", cast=int, default=[4, 8, 12, 20, 30, 60]))
# Quota tiers: seconds of video per UTC day (a job is charged its length when asked for, and gets
# it back if it does not make a draft), jobs queued-or-running at once, longest clip (seconds).
GENERATION_TIERS = {
    "standard": {
        "daily_seconds": env.int("GENERATION_DAILY_SECONDS", default=240),
        "active": env.int("GENERATION_MAX_ACTIVE", default=2),
        "max_duration": env.int("GENERATION_MAX_DURATION", default=12),
    },
    "teen": {
        "daily_seconds": env.int("GENERATION_DAILY_SECONDS_TEEN", default=80),
        "active": 1,
        "max_duration": env.int("GENERATION_MAX_DURATION_TEEN", default=8),
    },
    "priority": {
        "daily_seconds": env.int("GENERATION_DAILY_SECONDS_PRIORITY", default=1200),
        "active": 4,
        "max_duration": env.int("GENERATION_MAX_DURATION_PRIORITY", default=60),
    },
}
# A stitch's cut: each part's sound fades out (and the next one's in) over this many milliseconds.
GENERATION_STITCH_FADE_MS = env.int("GENERATION_STITCH_FADE_MS", default=30)
# An extension goes on from the source's last this-many seconds (frames and sound).
GENERATION_EXTEND_CONTEXT_S = env.float("GENERATION_EXTEND_CONTEXT_S", default=1.0)
GENERATION_PRIORITY_GROUP = "priority"  # members of this group get the priority tier and queue
# Functions each worker's main process calls every N seconds (housekeeping that must not wait in a queue).
WORKER_PERIODIC = {
    "generation.jobs.jobs_reap_stale": GENERATION_REAP_S,
    "generation.jobs.jobs_redispatch_lost": GENERATION_REAP_S,
    "feed.events.view_events_prune": 3600,  # view events past FEED_EVENTS_RETENTION_DAYS, hourly
    "feed.export.exports_sweep": 300,  # expired export zips go; exports whose worker was lost fail
    "provenance.fingerprints.prints_prune": 3600,  # prints of deleted videos (and their handles) go, hourly
    "cameos.tasks.registration_uploads_prune": 3600,  # raw uploads past CAMEO_UPLOAD_RETENTION_DAYS
    "cameos.tasks.registrations_redispatch_lost": 60,  # registrations whose task was lost
}

# --- Auth -----------------------------------------------------------------------

AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "admin:login"
# Failed logins (API and admin) per client address and per account: after LOGIN_MAX_FAILURES in
# LOGIN_WINDOW_S that address or account is locked for LOGIN_LOCKOUT_S, doubled for each lockout
# it already had that day; the right password is refused meanwhile (accounts/lockout.py).
LOGIN_MAX_FAILURES = env.int("LOGIN_MAX_FAILURES", default=10)
LOGIN_WINDOW_S = env.int("LOGIN_WINDOW_S", default=15 * 60)
LOGIN_LOCKOUT_S = env.int("LOGIN_LOCKOUT_S", default=15 * 60)

SIMPLE_JWT: dict[str, Any] = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("JWT_ACCESS_MINUTES", default=15)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("JWT_REFRESH_DAYS", default=30)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": True,
    "SIGNING_KEY": JWT_SIGNING_KEY,
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "user_id",
}

# --- The beta -------------------------------------------------------------------

INVITES_PER_MEMBER = env.int("INVITES_PER_MEMBER", default=4)
# Unfollow-then-follow within this window does not notify the followed member again.
FOLLOW_NOTIFY_WINDOW_S = env.int("FOLLOW_NOTIFY_WINDOW_S", default=3600)
INVITE_TTL_DAYS = env.int("INVITE_TTL_DAYS", default=14)
MINIMUM_AGE = 13
ADULT_AGE = 18
AVATAR_MAX_BYTES = env.int("AVATAR_MAX_BYTES", default=5 * 1024 * 1024)
AVATAR_MAX_PIXELS = env.int("AVATAR_MAX_PIXELS", default=4096 * 4096)
AVATAR_SIZE = 512

# --- The feed -------------------------------------------------------------------

# Likes, remixes and follows of one target within this window fold into one notification group.
FEED_NOTIFICATION_GROUP_WINDOW_S = env.int("FEED_NOTIFICATION_GROUP_WINDOW_S", default=24 * 3600)
# Client view events (POST /api/v1/events) older than this are pruned by a periodic task.
FEED_EVENTS_RETENTION_DAYS = env.int("FEED_EVENTS_RETENTION_DAYS", default=90)
FEED_EVENTS_MAX_BATCH = 500
# Per member and video, at most one view, one share and this window's length of watch time count
# toward a video's counters per window (replayed events cannot inflate them).
FEED_EVENTS_COUNT_WINDOW_S = env.int("FEED_EVENTS_COUNT_WINDOW_S", default=30 * 60)
# A data export's download link lives this long; the zip is deleted after it.
FEED_EXPORT_TTL_S = env.int("FEED_EXPORT_TTL_S", default=24 * 3600)

# --- moderation: text
# Per content category, the score (the category's probability against benign, 0..1, see
# moderation/text/categories.py) at or above which a text is refused; tuned by cross-validation on the
# exemplars (`manage.py text_policy_tune`), measured on a held-out set (moderation/text/evaluate.py).
MODERATION_TEXT_THRESHOLDS = {
    category: env.float(f"MODERATION_TEXT_THRESHOLD_{category.upper()}", default=default)
    for category, default in {
        "sexual_minors": 0.599,
        "sexual": 0.665,
        "violence": 0.675,
        "hate": 0.52,
        "harassment": 0.631,
        "self_harm": 0.622,
        "extremism": 0.7,
        "misleading": 0.675,
    }.items()
}
# Teens' thresholds: lower (stricter); sexual_minors is one threshold for everyone.
MODERATION_TEXT_TEEN_THRESHOLDS = {
    category: env.float(f"MODERATION_TEXT_TEEN_THRESHOLD_{category.upper()}", default=default)
    for category, default in {
        "sexual": 0.635,
        "violence": 0.6,
        "hate": 0.49,
        "harassment": 0.572,
        "self_harm": 0.461,
        "extremism": 0.551,
        "misleading": 0.613,
    }.items()
}
# A process rebuilds its index of public figures' names at least this often, even when no write
# told it the registry changed (moderation.text.names.figure_names_changed tells it at once).
MODERATION_TEXT_NAMES_MAX_AGE_S = env.int("MODERATION_TEXT_NAMES_MAX_AGE_S", default=300)

# --- moderation: cases
# A moderator's claim on a queue item holds this long; after it another moderator may take the item.
MODERATION_CLAIM_TTL_S = env.int("MODERATION_CLAIM_TTL_S", default=30 * 60)
# The affected person may appeal a decision for this long after it.
MODERATION_APPEAL_WINDOW_S = env.int("MODERATION_APPEAL_WINDOW_S", default=14 * 24 * 3600)
# Points a queue item's score gains per hour of waiting (moderation/queue.py explains the score).
MODERATION_AGE_WEIGHT_PER_H = env.float("MODERATION_AGE_WEIGHT_PER_H", default=1.0)

# --- moderation: voices
# A clip's voice window (or an uploaded sample) matches a registered figure's voice at or above this
# cosine similarity of resemblyzer embeddings (calibrated in bench/moderation.py on real speech).
MODERATION_VOICE_MATCH_SIMILARITY = env.float("MODERATION_VOICE_MATCH_SIMILARITY", default=0.82)
# Less detected speech than this (seconds) is not embedded: too little to say whose voice it is.
MODERATION_VOICE_MIN_SPEECH_S = env.float("MODERATION_VOICE_MIN_SPEECH_S", default=1.0)
# A clip's voice track is embedded in windows this long (seconds), started every hop seconds.
MODERATION_VOICE_WINDOW_S = env.float("MODERATION_VOICE_WINDOW_S", default=3.0)
MODERATION_VOICE_HOP_S = env.float("MODERATION_VOICE_HOP_S", default=1.5)
# The voice encoder's weights; empty: the pretrained.pt the resemblyzer wheel ships. A path that does
# not load makes clip screening fail closed (moderation_unavailable).
MODERATION_VOICE_MODEL_PATH = env.str("MODERATION_VOICE_MODEL_PATH", default="")

# --- moderation: faces
# Folder holding dlib's shape_predictor_5_face_landmarks.dat and dlib_face_recognition_resnet_model_v1.dat;
# empty: the models/ folder of the installed face-recognition-models package.
MODERATION_FACE_MODEL_DIR = env.str("MODERATION_FACE_MODEL_DIR", default="")
# A face matches a registered figure's reference photo at or below this Euclidean distance of dlib
# descriptors (dlib's own line is 0.6). bench/moderation.py's sweep over 32 people: at 0.5 the same
# recall as at 0.55 (97 %) with a quarter of the false matches (0.08 % of impostor pairs); the fixtures'
# transformed photos stay within 0.26 of the registered ones (tests/moderation/test_faces.py).
MODERATION_FACE_MATCH_DISTANCE = env.float("MODERATION_FACE_MATCH_DISTANCE", default=0.5)
# The smallest face looked for, as a fraction of the short side: in uploaded images, in clip frames.
MODERATION_IMAGE_MIN_FACE = env.float("MODERATION_IMAGE_MIN_FACE", default=0.08)
MODERATION_CLIP_MIN_FACE = env.float("MODERATION_CLIP_MIN_FACE", default=0.15)
# The detector's score threshold (dlib's adjust_threshold; raise it to miss more and mistake fewer).
MODERATION_FACE_DETECT_THRESHOLD = env.float("MODERATION_FACE_DETECT_THRESHOLD", default=0.0)
# A clip's frames are screened at this rate (frames per second).
MODERATION_SCREEN_FPS = env.float("MODERATION_SCREEN_FPS", default=2.0)
# Screening a clip that takes longer than this fails (closed: the stage retries, then the job fails).
MODERATION_SCREEN_TIMEOUT_S = env.float("MODERATION_SCREEN_TIMEOUT_S", default=60.0)

# --- Cameos ----------------------------------------------------------------------

# Registration: the challenge (head turns in a random order, 4-6 random digits read aloud) lasts
# CAMEO_CHALLENGE_TTL_S. The selfie video is 3-15 s, at most CAMEO_UPLOAD_MAX_BYTES (a whole request
# is also held to API_MAX_UPLOAD_BYTES: send 720p) and CAMEO_VIDEO_MAX_PIXELS a frame.
CAMEO_CHALLENGE_TTL_S = env.int("CAMEO_CHALLENGE_TTL_S", default=300)
CAMEO_UPLOAD_MAX_BYTES = env.int("CAMEO_UPLOAD_MAX_BYTES", default=8 * 1024 * 1024)
CAMEO_VOICE_MAX_BYTES = env.int("CAMEO_VOICE_MAX_BYTES", default=2 * 1024 * 1024)
CAMEO_VOICE_MAX_S = env.float("CAMEO_VOICE_MAX_S", default=30.0)
CAMEO_VIDEO_MIN_S = env.float("CAMEO_VIDEO_MIN_S", default=3.0)
CAMEO_VIDEO_MAX_S = env.float("CAMEO_VIDEO_MAX_S", default=15.0)
CAMEO_VIDEO_MAX_PIXELS = env.int("CAMEO_VIDEO_MAX_PIXELS", default=1920 * 1080)
CAMEO_PHOTO_MAX_BYTES = env.int("CAMEO_PHOTO_MAX_BYTES", default=6 * 1024 * 1024)
CAMEO_PHOTOS_MAX = env.int("CAMEO_PHOTOS_MAX", default=5)
# Liveness reads the head's yaw (moderation.likeness.landmarks: about -1..1) at CAMEO_LIVENESS_FPS:
# the video must start facing the camera (|yaw| <= CAMEO_LIVENESS_FRONTAL over its first frames),
# then turn each asked way by CAMEO_LIVENESS_YAW from that start, in the asked order. A still
# photo held, moved or zoomed keeps its yaw within about 0.05.
CAMEO_LIVENESS_FPS = env.float("CAMEO_LIVENESS_FPS", default=5.0)
CAMEO_LIVENESS_YAW = env.float("CAMEO_LIVENESS_YAW", default=0.2)
CAMEO_LIVENESS_FRONTAL = env.float("CAMEO_LIVENESS_FRONTAL", default=0.25)
# The smallest face (x the frame's short side) a selfie is searched for: a selfie's face is large.
CAMEO_MIN_FACE = env.float("CAMEO_MIN_FACE", default=0.2)
# One person throughout: every described frame within this of the frontal frames' mean (dlib's line
# for "same person" is 0.6).
CAMEO_FACE_SAME_DISTANCE = env.float("CAMEO_FACE_SAME_DISTANCE", default=0.6)
# Another account's live cameo this close (face: Euclidean, dlib descriptors; voice: cosine
# similarity of resemblyzer embeddings) is the same likeness: likeness_already_registered.
CAMEO_FACE_MATCH_DISTANCE = env.float("CAMEO_FACE_MATCH_DISTANCE", default=0.5)
CAMEO_VOICE_MATCH_SIMILARITY = env.float("CAMEO_VOICE_MATCH_SIMILARITY", default=0.85)
# Digits pocketsphinx may mishear and still pass (see cameos/registration/phrase.py for the rates
# measured); a replayed recording of other digits misses by several.
CAMEO_PHRASE_MAX_WRONG = env.int("CAMEO_PHRASE_MAX_WRONG", default=1)
# Days a registration's raw upload is kept after processing (0: deleted as soon as it is processed;
# otherwise a worker's hourly sweep deletes older ones).
CAMEO_UPLOAD_RETENTION_DAYS = env.int("CAMEO_UPLOAD_RETENTION_DAYS", default=0)
# Reference face crops stored per person cameo (engines that condition on images read them).
CAMEO_REFERENCES = env.int("CAMEO_REFERENCES", default=4)

# --- Provenance ------------------------------------------------------------------
# Marking (the visible watermark), signing (C2PA: key, chain, trust anchors), fingerprints and the
# public lookup. Each part adds its settings here, with a line on what it does.

# C2PA: every MP4 Kino makes carries a signed manifest (on by default; a deployment that cannot sign
# turns it off, and its files then say nothing of where they came from).
PROVENANCE_SIGNING = env.bool("PROVENANCE_SIGNING", default=True)
_C2PA_NAMES = ("PROVENANCE_SIGNER_KEY", "PROVENANCE_SIGNER_CERTS", "PROVENANCE_TRUST_ANCHORS")
# Outside production, with none of the three paths below set, a missing development CA is made under
# var/c2pa/ on first use (what `manage.py provenance_dev_ca` does): `make run`, the workers and the
# tests sign with no setup step, and no two installations share a key.
PROVENANCE_DEV_CA = not PRODUCTION and not any(env.str(name, default="") for name in _C2PA_NAMES)


def _c2pa_path(name: str, dev_file: str) -> Path:
    dev_default = str(VAR_DIR / "c2pa" / dev_file)
    if PROVENANCE_SIGNING:
        return Path(_required_in_production(name, dev_default))
    return Path(env.str(name, default=dev_default))


# The signer's private key (PEM; EC P-256/P-384/P-521, Ed25519 or RSA).
PROVENANCE_SIGNER_KEY = _c2pa_path("PROVENANCE_SIGNER_KEY", "signer.key")
# The signer's certificate, then its intermediates (PEM): the chain every manifest embeds.
PROVENANCE_SIGNER_CERTS = _c2pa_path("PROVENANCE_SIGNER_CERTS", "signer-chain.pem")
# The root certificates whose files read as "trusted" (PEM, one or more: an old and a new root while
# rotating); published at /.well-known/c2pa/trust-anchors.pem.
PROVENANCE_TRUST_ANCHORS = _c2pa_path("PROVENANCE_TRUST_ANCHORS", "trust-anchors.pem")
# An RFC 3161 timestamp authority that countersigns each signature, so a file stays valid after the
# signer's certificate expires; none by default (signing then needs no network).
PROVENANCE_TSA_URL = env.str("PROVENANCE_TSA_URL", default="")

# The public lookup (POST /api/v1/provenance/lookup, anonymous allowed): an upload of at most
# PROVENANCE_LOOKUP_MAX_BYTES (the request is also held to API_MAX_UPLOAD_BYTES), sniffed by content.
PROVENANCE_LOOKUP_MAX_BYTES = env.int("PROVENANCE_LOOKUP_MAX_BYTES", default=8 * 1024 * 1024)
# A video longer than this (by its headers) is refused with `lookup_media_too_long`, not cut: decoding
# is the lookup's main cost, and a copy of a Kino clip is short.
PROVENANCE_LOOKUP_MAX_S = env.float("PROVENANCE_LOOKUP_MAX_S", default=30.0)
# A video's frames and a still image may have at most this many pixels (checked from the headers,
# before anything is decoded): `lookup_media_too_many_pixels` otherwise.
PROVENANCE_LOOKUP_MAX_PIXELS = env.int("PROVENANCE_LOOKUP_MAX_PIXELS", default=1920 * 1080)
PROVENANCE_LOOKUP_MAX_IMAGE_PIXELS = env.int("PROVENANCE_LOOKUP_MAX_IMAGE_PIXELS", default=4096 * 4096)

# --- Recommender -----------------------------------------------------------------
# Vectors, the For You and following feeds, steering, teens, search. Each part appends its lines here,
# with a comment each.

# Content vectors: a posted video's prompt + caption are embedded by a task queued on commit; the task
# takes up to this many videos waiting at once (one encoder call), so a burst of posts costs few calls.
RECOMMENDER_EMBED_BATCH = env.int("RECOMMENDER_EMBED_BATCH", default=64)
# Videos still without a content vector (a lost task) are embedded by a periodic sweep this often.
RECOMMENDER_EMBED_SWEEP_S = env.int("RECOMMENDER_EMBED_SWEEP_S", default=30)
# ALS (implicit) over interactions of the last RECOMMENDER_ALS_DAYS, retrained every
# RECOMMENDER_ALS_RETRAIN_S by the worker; factors must match recommender.models.COLLAB_DIMENSIONS.
RECOMMENDER_ALS_FACTORS = 64
RECOMMENDER_ALS_ITERATIONS = env.int("RECOMMENDER_ALS_ITERATIONS", default=15)
RECOMMENDER_ALS_REGULARIZATION = env.float("RECOMMENDER_ALS_REGULARIZATION", default=0.05)
RECOMMENDER_ALS_DAYS = env.int("RECOMMENDER_ALS_DAYS", default=90)
RECOMMENDER_ALS_RETRAIN_S = env.int("RECOMMENDER_ALS_RETRAIN_S", default=6 * 3600)
# How far behaviour moves a video's ANN vector from its content vector, at most (a video with many
# interactions; one with none keeps its content vector, so a new post is retrievable at once).
RECOMMENDER_BLEND_MAX = env.float("RECOMMENDER_BLEND_MAX", default=0.5)
# Interactions for the blend to reach half of RECOMMENDER_BLEND_MAX.
RECOMMENDER_BLEND_HALF_AT = env.int("RECOMMENDER_BLEND_HALF_AT", default=20)
# A training rewrites a post's blended vector (a new HNSW entry) only when it moved: cosine to the
# stored one under 1 - RECOMMENDER_BLEND_EPSILON.
RECOMMENDER_BLEND_EPSILON = env.float("RECOMMENDER_BLEND_EPSILON", default=0.002)
# Interest vectors: a positive interaction joins the nearest of a member's clusters when its cosine
# similarity is at least this, else opens a new one (up to 3, then the two nearest merge).
RECOMMENDER_INTEREST_JOIN = env.float("RECOMMENDER_INTEREST_JOIN", default=0.5)
# Each event multiplies every cluster's weight by this before adding its own (recency: ~50 events).
RECOMMENDER_INTEREST_DECAY = env.float("RECOMMENDER_INTEREST_DECAY", default=0.98)
# A watch_progress event this long (ms) counts as a light positive for interests.
RECOMMENDER_INTEREST_WATCH_MS = env.int("RECOMMENDER_INTEREST_WATCH_MS", default=8000)
WORKER_PERIODIC["recommender.tasks.videos_embed_sweep"] = RECOMMENDER_EMBED_SWEEP_S  # lost embed tasks
WORKER_PERIODIC["recommender.tasks.collab_retrain"] = RECOMMENDER_ALS_RETRAIN_S  # queues an ALS training

# Steering (R3). An instruction keeps at most this many clauses ("more cooking, less horror": two).
RECOMMENDER_STEER_MAX_CLAUSES = env.int("RECOMMENDER_STEER_MAX_CLAUSES", default=6)
# The re-rank term, in the ranker's score units (expected utility, a few units between a member's
# favourites and the rest): + this x the best similarity to a toward clause. Measured on the small
# tier (bench/recommender.py, share of the steered first page among the instruction's top 10 %,
# 0.08 unsteered; away weight 5): 1 -> 0.135, 6 -> 0.50, 8 -> 0.54, 10 -> 0.645 ...
RECOMMENDER_STEER_TOWARD_WEIGHT = env.float("RECOMMENDER_STEER_TOWARD_WEIGHT", default=10.0)
# ... - this x how far the nearest away clause or see-less video rises above the floor similarity, so
# only content near what was pushed away sinks (MiniLM: "horror" meets horror captions at 0.29-0.40,
# other topics at 0.03-0.13).
RECOMMENDER_STEER_AWAY_WEIGHT = env.float("RECOMMENDER_STEER_AWAY_WEIGHT", default=5.0)
RECOMMENDER_STEER_AWAY_FLOOR = env.float("RECOMMENDER_STEER_AWAY_FLOOR", default=0.2)
# "See less like this" mutes the creator and pushes nearby content down this many days; the latest
# this many see-less videos count.
RECOMMENDER_SEE_LESS_DAYS = env.int("RECOMMENDER_SEE_LESS_DAYS", default=30)
RECOMMENDER_SEE_LESS_MAX = env.int("RECOMMENDER_SEE_LESS_MAX", default=50)
# Teens: feed items a teen may be served per day (the server's local day, TIME_ZONE); then 429
# feed_daily_limit_reached until midnight.
RECOMMENDER_TEEN_DAILY_ITEMS = env.int("RECOMMENDER_TEEN_DAILY_ITEMS", default=200)
# Wellbeing check-in card: offered once a scrolling session has served this many items (0: never),
# at most once per RECOMMENDER_CHECKIN_EVERY_S per member; an answer that steers does so this long
# (a mood, not a taste: a few hours, not the day).
RECOMMENDER_CHECKIN_EVERY_ITEMS = env.int("RECOMMENDER_CHECKIN_EVERY_ITEMS", default=60)
RECOMMENDER_CHECKIN_EVERY_S = env.int("RECOMMENDER_CHECKIN_EVERY_S", default=3600)
RECOMMENDER_CHECKIN_STEER_S = env.int("RECOMMENDER_CHECKIN_STEER_S", default=3 * 3600)

# Search (R4). Names (people, cameo handles) match by trigram similarity (pg_trgm's measure) at least
# this (pg_trgm's own default, `pg_trgm.similarity_threshold`).
SEARCH_TRIGRAM_THRESHOLD = env.float("SEARCH_TRIGRAM_THRESHOLD", default=0.3)
# Each of the query's trigrams brings at most this many names of a kind, shortest first (exact while no
# trigram of the query is in more names than this; recommender.search says what a longer list leaves out).
SEARCH_TRIGRAM_POSTINGS = env.int("SEARCH_TRIGRAM_POSTINGS", default=200)
# Posts: each of the two lists (nearest content vectors, caption words) brings at most this many; their
# fusion is what pages go through (a query's posts end there).
SEARCH_POSTS_PER_LIST = env.int("SEARCH_POSTS_PER_LIST", default=100)
# Results per kind on the first page of `GET /search` (the per-kind lists take `limit`).
SEARCH_FIRST_PAGE = env.int("SEARCH_FIRST_PAGE", default=10)

# The For You and following feeds (R2). A first page gathers candidates from every source, ranks,
# mixes and stores a snapshot in Redis; later pages are read from it, so they neither repeat nor skip.
RECOMMENDER_PAGE_SIZE = env.int("RECOMMENDER_PAGE_SIZE", default=20)  # items a page; diversity per page
RECOMMENDER_SNAPSHOT_ITEMS = env.int("RECOMMENDER_SNAPSHOT_ITEMS", default=200)  # ranked items kept
RECOMMENDER_SNAPSHOT_TTL_S = env.int("RECOMMENDER_SNAPSHOT_TTL_S", default=1800)  # a session's life
# Candidates per source (300-500 in all for a first page): ANN over the interest vectors (shared by
# weight), each steering clause, recent posts of followed and liked creators, trending, remixes.
RECOMMENDER_CANDIDATES_ANN = env.int("RECOMMENDER_CANDIDATES_ANN", default=200)
RECOMMENDER_CANDIDATES_STEER = env.int("RECOMMENDER_CANDIDATES_STEER", default=60)
RECOMMENDER_CANDIDATES_FOLLOW = env.int("RECOMMENDER_CANDIDATES_FOLLOW", default=150)
RECOMMENDER_FOLLOW_DAYS = env.int("RECOMMENDER_FOLLOW_DAYS", default=14)  # the following feed: 30
RECOMMENDER_CANDIDATES_TRENDING = env.int("RECOMMENDER_CANDIDATES_TRENDING", default=100)
RECOMMENDER_CANDIDATES_REMIX = env.int("RECOMMENDER_CANDIDATES_REMIX", default=50)
RECOMMENDER_LIKED_RECENT = env.int("RECOMMENDER_LIKED_RECENT", default=50)  # likes that seed sources
# Exploration: posts younger than RECOMMENDER_FRESH_S with fewer than RECOMMENDER_EXPLORE_TARGET
# impressions are candidates for everyone (RECOMMENDER_FRESH_SCAN of those still waiting looked at, the
# oldest and the newest half each; the least exposed RECOMMENDER_FRESH_TAKE kept), and a page gives them
# about RECOMMENDER_FRESH_SHARE of its items.
RECOMMENDER_FRESH_S = env.int("RECOMMENDER_FRESH_S", default=3600)
RECOMMENDER_EXPLORE_TARGET = env.int("RECOMMENDER_EXPLORE_TARGET", default=20)
RECOMMENDER_FRESH_SCAN = env.int("RECOMMENDER_FRESH_SCAN", default=150)
RECOMMENDER_FRESH_TAKE = env.int("RECOMMENDER_FRESH_TAKE", default=50)
RECOMMENDER_FRESH_SHARE = env.float("RECOMMENDER_FRESH_SHARE", default=0.1)
# About this share of a page comes from people the member follows, when they have enough.
RECOMMENDER_FOLLOW_SHARE = env.float("RECOMMENDER_FOLLOW_SHARE", default=0.5)
# While a member steers toward something, this share of a page comes from the instruction's own ANN
# candidates (the follow share then applies to the rest).
RECOMMENDER_STEER_SHARE = env.float("RECOMMENDER_STEER_SHARE", default=0.6)
# At most this many items of one creator in a page (never two in a row), and MMR's trade-off between
# score and novelty (1: score only).
RECOMMENDER_CREATOR_MAX = env.int("RECOMMENDER_CREATOR_MAX", default=2)
RECOMMENDER_MMR_LAMBDA = env.float("RECOMMENDER_MMR_LAMBDA", default=0.75)
# Served items are not served again for this long (the most recent RECOMMENDER_SEEN_MAX of them).
RECOMMENDER_SEEN_S = env.int("RECOMMENDER_SEEN_S", default=3 * 24 * 3600)
RECOMMENDER_SEEN_MAX = env.int("RECOMMENDER_SEEN_MAX", default=5000)
# Iterative HNSW scans stop after this many tuples; a branch still short then runs exactly.
RECOMMENDER_ANN_MAX_SCAN_TUPLES = env.int("RECOMMENDER_ANN_MAX_SCAN_TUPLES", default=40000)
# Trending: the hottest RECOMMENDER_TRENDING_KEEP of the newest RECOMMENDER_TRENDING_SCAN posts of
# RECOMMENDER_TRENDING_DAYS, heat over (age in hours + 2) ^ GRAVITY, refreshed by the workers.
RECOMMENDER_TRENDING_DAYS = env.int("RECOMMENDER_TRENDING_DAYS", default=3)
RECOMMENDER_TRENDING_SCAN = env.int("RECOMMENDER_TRENDING_SCAN", default=20000)
RECOMMENDER_TRENDING_KEEP = env.int("RECOMMENDER_TRENDING_KEEP", default=500)
RECOMMENDER_TRENDING_GRAVITY = env.float("RECOMMENDER_TRENDING_GRAVITY", default=1.5)
RECOMMENDER_TRENDING_REFRESH_S = env.int("RECOMMENDER_TRENDING_REFRESH_S", default=60)
RECOMMENDER_TRENDING_TTL_S = env.int("RECOMMENDER_TRENDING_TTL_S", default=600)
# The ranker: trained every RECOMMENDER_RANKER_RETRAIN_S on the impressions of the last
# RECOMMENDER_RANKER_DAYS (the newest RECOMMENDER_RANKER_MAX_IMPRESSIONS); fewer than
# RECOMMENDER_RANKER_MIN_IMPRESSIONS keeps the hand-set fallback. Serving processes re-read the
# active model every RECOMMENDER_RANKER_RELOAD_S.
RECOMMENDER_RANKER_DAYS = env.int("RECOMMENDER_RANKER_DAYS", default=14)
RECOMMENDER_RANKER_MAX_IMPRESSIONS = env.int("RECOMMENDER_RANKER_MAX_IMPRESSIONS", default=200000)
RECOMMENDER_RANKER_MIN_IMPRESSIONS = env.int("RECOMMENDER_RANKER_MIN_IMPRESSIONS", default=200)
RECOMMENDER_RANKER_RETRAIN_S = env.int("RECOMMENDER_RANKER_RETRAIN_S", default=3600)
RECOMMENDER_RANKER_RELOAD_S = env.int("RECOMMENDER_RANKER_RELOAD_S", default=30)
RECOMMENDER_RANKER_WATCH_MS = env.int("RECOMMENDER_RANKER_WATCH_MS", default=5000)  # a "watched" outcome
# Each queues its task once per period across all workers (recommender.tasks).
WORKER_PERIODIC["recommender.tasks.trending_recompute"] = RECOMMENDER_TRENDING_REFRESH_S
WORKER_PERIODIC["recommender.tasks.ranker_retrain"] = RECOMMENDER_RANKER_RETRAIN_S
# Served items (impressions, the ranker's training data) are kept this long, then pruned hourly.
RECOMMENDER_IMPRESSIONS_RETENTION_DAYS = env.int("RECOMMENDER_IMPRESSIONS_RETENTION_DAYS", default=30)
WORKER_PERIODIC["recommender.tasks.impressions_prune"] = 3600

# --- API ------------------------------------------------------------------------

REST_FRAMEWORK: dict[str, Any] = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["accounts.authentication.JWTAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["config.parsers.BoundedJSONParser", "config.parsers.BoundedMultiPartParser"],
    "DEFAULT_SCHEMA_CLASS": "config.schema.KinoAutoSchema",
    "EXCEPTION_HANDLER": "config.api.exception_handler",
    "DEFAULT_THROTTLE_RATES": {
        "waitlist": env.str("THROTTLE_WAITLIST", default="5/min"),
        "signup": env.str("THROTTLE_SIGNUP", default="10/hour"),
        "login": env.str("THROTTLE_LOGIN", default="10/min"),
        "invite_check": env.str("THROTTLE_INVITE_CHECK", default="30/min"),
        "report": env.str("THROTTLE_REPORT", default="30/hour"),  # reports a member may file
        # a banned member's appeals with the code their email carries, per address
        "appeal_token": env.str("THROTTLE_APPEAL_TOKEN", default="10/hour"),
        # an estate's requests to block a deceased person's likeness, per address
        "estate_request": env.str("THROTTLE_ESTATE_REQUEST", default="5/hour"),
        # lookups of a clip or still on POST /api/v1/provenance/lookup, per address (anyone may ask)
        "provenance_lookup": env.str("THROTTLE_PROVENANCE_LOOKUP", default="20/min"),
        # previews of a prompt's enhancement (no quota spends them; the built-in model's embeds it)
        "generation_enhance": env.str("THROTTLE_GENERATION_ENHANCE", default="30/min"),
    },
    # The client's address is the connection's: proxies are handled once, in the ASGI app
    # (TRUSTED_PROXIES), so DRF must never read X-Forwarded-For itself.
    "NUM_PROXIES": 0,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Kino API",
    "DESCRIPTION": "REST API of Kino, an open backend for a social app of AI-generated video.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENABLE_DJANGO_DEPLOY_CHECK": True,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    # Choice sets that share a field name across components get names of their own.
    "ENUM_NAME_OVERRIDES": {
        "ReportReasonEnum": "moderation.models.Report.Reason",
        "SubjectKindEnum": "moderation.models.SubjectKind",
        "TombstoneReasonEnum": "feed.lineage.REASONS",
        "CameoKindEnum": "cameos.models.Cameo.Kind",
        "CameoStateEnum": "cameos.models.Cameo.State",
        "ApprovalStateEnum": "cameos.models.Approval.State",
        "RegistrationStateEnum": "cameos.models.Registration.State",
        "VideoStateEnum": "feed.models.Video.State",
        "ProvenanceStateEnum": "provenance.apis.STATES",
        "GuardianSideEnum": "recommender.models.Guardianship.Side",
        "CheckInAnswerEnum": "recommender.wellbeing.ANSWERS",
    },
    # No "SECURITY": each view's authentication classes name jwtAuth (a global one listed it twice,
    # and on public operations too).
}
API_MAX_JSON_BYTES = env.int("API_MAX_JSON_BYTES", default=256 * 1024)
API_MAX_UPLOAD_BYTES = env.int("API_MAX_UPLOAD_BYTES", default=8 * 1024 * 1024)
# The largest body any request may carry (uploads plus multipart overhead): bigger ones get 413
# from the ASGI app before Django reads them (config/limits.py).
REQUEST_MAX_BYTES = env.int("REQUEST_MAX_BYTES", default=API_MAX_UPLOAD_BYTES + 64 * 1024)
# Headers: the server refuses a request whose headers pass REQUEST_MAX_HEADER_BYTES (64 KiB), an
# option of uvicorn's that config/run.py reads from the environment.


# The proxies (load balancers) whose X-Forwarded-For and X-Forwarded-Proto are believed: their
# addresses or networks, comma-separated, or "none" when clients connect straight to Kino.
# Required in production: behind an unnamed proxy every client shares the proxy's address (one
# throttle bucket) and looks like plain HTTP; trusting everyone lets any client pick its address.
def _proxies(raw: str) -> list[str]:
    hosts = [host.strip() for host in raw.split(",") if host.strip() not in ("", "none")]
    for host in hosts:
        try:
            ipaddress.ip_network(host, strict=False)
        except ValueError:
            raise ImproperlyConfigured(
                f"TRUSTED_PROXIES: {host!r} is not an address or a network (a list like "
                "'10.0.0.5,10.1.0.0/16', or 'none'). '*' is refused: it would let every client "
                "choose its own address."
            ) from None
    return hosts


TRUSTED_PROXIES = _proxies(_required_in_production("TRUSTED_PROXIES", "none"))
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

# --- Storage, static, mail ------------------------------------------------------

STATIC_URL = "static/"
# collectstatic target in production; in dev, WhiteNoise serves straight from the apps (finders).
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles"))) if PRODUCTION else None
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
SERVE_MEDIA = env.bool("SERVE_MEDIA", default=not PRODUCTION)
MEDIA_URL_TTL_S = env.int("MEDIA_URL_TTL_S", default=900)  # signed links to drafts live this long
WHITENOISE_USE_FINDERS = not PRODUCTION
STORAGES: dict[str, dict[str, Any]] = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
if env.bool("USE_S3", default=False):
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env.str("AWS_STORAGE_BUCKET_NAME"),
            "endpoint_url": env.str("AWS_S3_ENDPOINT_URL", default=None),
            "region_name": env.str("AWS_S3_REGION_NAME", default=None),
            "access_key": env.str("AWS_ACCESS_KEY_ID"),
            "secret_key": env.str("AWS_SECRET_ACCESS_KEY"),
            "querystring_auth": True,
            "querystring_expire": env.int("MEDIA_URL_TTL_S", default=900),
            "file_overwrite": False,
        },
    }

EMAIL_URL = _required_in_production("EMAIL_URL", "")  # smtp+tls://user:pass@host:587, consolemail://
if EMAIL_URL:
    vars().update(env.email_url_config(EMAIL_URL))
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = env.str("EMAIL_FILE_PATH", default=str(VAR_DIR / "mail"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Kino <beta@kino.local>")

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Security -------------------------------------------------------------------

SECURE_CONTENT_TYPE_NOSNIFF = True
# Every page (admin, beta pages, API docs) runs only Kino's own scripts, loads only from Kino,
# and may not be framed. Styles may be inline: the admin and the beta pages use style attributes,
# which nonces cannot cover, and injected CSS cannot run code.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:", "blob:"],
        "media-src": [SELF, "blob:"],
        "font-src": [SELF, "data:"],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
# Browser features no Kino page uses (config.middleware.PermissionsPolicyMiddleware).
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()"
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
CSRF_FAILURE_VIEW = "config.api.csrf_failure"
if PRODUCTION:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    # Load balancers probe over plain HTTP.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
