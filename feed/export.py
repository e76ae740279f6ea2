"""A member's data export: one zip of everything they own, and its signed download link.

`export_start` (POST /api/v1/me/export) inserts a queued `DataExport`; the partial unique constraint
`export_one_at_a_time` settles "one at a time" in the database (a second insert while one is queued or
running is an IntegrityError, answered 409 `export_in_progress`). On commit the task `feed.export_build`
(queue `default`) runs `export_build`:

  claim (queued → running, a conditional UPDATE) → each registered part writes into the zip, a
  temporary file on disk (JSON deflated, media stored as is and copied from the storage in chunks),
  `export.progress` after each → manifest.json and README.txt → under the member's row held FOR KEY
  SHARE, the zip goes to the storage and the row to `succeeded` (expires_at = now + FEED_EXPORT_TTL_S)
  → `export.succeeded`.

Any error fails closed: the row ends `failed` (`export_failed`), `export.failed` is sent, the temporary
file goes, and no zip is left in the storage. The parts come from `accounts.public.export_parts()`:
each app registers its own from its `AppConfig.ready` (accounts: profile, follows, blocks; feed: videos,
comments, likes, notifications; later cameos and consents).

`exports_sweep` (WORKER_PERIODIC) deletes the zips of expired exports and fails exports that can no
longer move (their worker was lost: a redelivered message finds the row `running` and leaves it).
"""

from __future__ import annotations

import json
import logging
import posixpath
import shutil
import tempfile
import zipfile
from datetime import UTC, timedelta
from typing import IO, Any
from uuid import UUID

from celery import current_app
from django.conf import settings
from django.core import signing
from django.core.files import File
from django.core.files.storage import FileSystemStorage, default_storage
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponseBase
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods
from kombu.exceptions import OperationalError
from redis import RedisError

from accounts.public import (
    ExportPart,
    ExportSink,
    export_part_register,
    export_parts,
    member_files_register,
    member_hold,
)
from config.api import error_response, site_url
from config.errors import NOT_FOUND, ErrorCode, KinoError
from config.events import event_send_on_commit
from config.storage import files_delete
from feed import errors
from feed.media import _ranged_file
from feed.models import (
    Comment,
    DataExport,
    Like,
    NotificationGroup,
    NotificationPreference,
    Video,
    export_path,
)

logger = logging.getLogger(__name__)

EXPORT_TASK = "feed.export_build"  # dispatched by name: the request side never imports the task module
State = DataExport.State
ACTIVE = (State.QUEUED, State.RUNNING)
SALT = "kino.feed.export"
CHUNK = 1024 * 1024
# Already compressed: stored as they are (deflating an MP4 costs CPU and saves nothing).
STORED = frozenset({".mp4", ".mov", ".webm", ".jpg", ".jpeg", ".png", ".webp", ".gif"})
SWEEP_BATCH = 200
FILE_MAX = DataExport._meta.get_field("file").max_length


# --- starting one, reading one --------------------------------------------------------------------


def export_start(*, user_id: UUID) -> DataExport:
    """Queue an export of everything the member owns; 409 `export_in_progress` while one is queued or
    running (the partial unique constraint decides, so two requests at once make one export)."""
    try:
        with transaction.atomic():
            export = DataExport.objects.create(user_id=user_id)
            export_id = export.id
            transaction.on_commit(lambda: _dispatch(export_id), robust=True)
    except IntegrityError:
        raise KinoError(errors.EXPORT_IN_PROGRESS) from None
    logger.info("export.queued", extra={"export_id": str(export.id), "user_id": str(user_id)})
    return export


def _dispatch(export_id: UUID) -> None:
    """A broker that fails is logged, never raised: the export stays queued and the sweep fails it."""
    try:
        current_app.tasks[EXPORT_TASK].apply_async(kwargs={"export_id": str(export_id)}, queue="default")
    except (OSError, OperationalError, RedisError):
        logger.warning("export.dispatch_failed", extra={"export_id": str(export_id)}, exc_info=True)


def export_get_for_owner(*, owner_id: UUID, export_id: UUID) -> DataExport:
    export = DataExport.objects.filter(id=export_id, user_id=owner_id).first()
    if export is None:
        raise KinoError(errors.EXPORT_NOT_FOUND)
    return export


def export_files(user_id: UUID) -> list[str]:
    """The member's export zips (accounts' member_files hook: they go with the account)."""
    return [
        name for name in DataExport.objects.filter(user_id=user_id).values_list("file", flat=True) if name
    ]


# --- the zip --------------------------------------------------------------------------------------


class ZipSink:
    """`accounts.public.ExportSink` over an open zip: each part writes under its own folder."""

    def __init__(self, archive: zipfile.ZipFile) -> None:
        self.archive = archive
        self.folder = ""
        self.files: dict[str, list[str]] = {}  # folder -> the zip paths written there
        self.missing: list[str] = []  # files a part named that the storage no longer holds

    def _path(self, name: str) -> str:
        steps = name.split("/")
        if name.startswith("/") or "\\" in name or any(step in {"", ".", ".."} for step in steps):
            raise ValueError(f"an export part wrote {name!r}: not a plain relative path")
        path = f"{self.folder}/{name}" if self.folder else name
        written = self.files.setdefault(self.folder, [])
        if path in written:
            raise ValueError(f"an export part wrote {path!r} twice")
        written.append(path)
        return path

    def _info(self, path: str, compression: int) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(path, date_time=timezone.localtime().timetuple()[:6])
        info.compress_type = compression
        info.external_attr = 0o644 << 16  # -rw-r--r-- once unzipped
        return info

    def write_text(self, name: str, text: str) -> None:
        self.archive.writestr(self._info(self._path(name), zipfile.ZIP_DEFLATED), text.encode())

    def write_json(self, name: str, value: Any) -> None:
        self.write_text(name, json.dumps(value, cls=DjangoJSONEncoder, indent=2, ensure_ascii=False))

    def write_file(self, name: str, storage_name: str) -> None:
        """Copy one stored file in chunks (never whole in memory)."""
        if not default_storage.exists(storage_name):
            self.missing.append(f"{self.folder}/{name}")
            return
        path = self._path(name)
        stored = posixpath.splitext(name)[1].lower() in STORED
        info = self._info(path, zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED)
        info.file_size = default_storage.size(storage_name)  # so zipfile picks ZIP64 for a huge file
        with default_storage.open(storage_name, "rb") as source, self.archive.open(info, "w") as target:
            shutil.copyfileobj(source, target, CHUNK)


def _manifest(export: DataExport, sink: ZipSink, parts: list[ExportPart]) -> dict[str, Any]:
    return {
        "format": "kino-data-export",
        "version": 1,
        "export_id": export.id,
        "user_id": export.user_id,
        "asked_at": export.created_at,
        "built_at": timezone.now(),
        "parts": [{"name": part.name, "files": sink.files.get(part.name, [])} for part in parts],
        "missing_files": sink.missing,
    }


README = """Your Kino data, as it was at {built_at} (UTC).

Each folder is one part of your account: {parts}.
manifest.json lists every file in this archive, part by part, and under "missing_files" any file
that belonged here but was no longer in storage when the archive was made. Dates are ISO 8601 in
UTC; ids are the ones Kino's API uses. Videos are under videos/<video id>/ next to videos.json,
which describes each of them (drafts, posts, and the ids of videos you deleted).
"""


def _zip_write(export: DataExport, handle: IO[bytes]) -> None:
    parts = export_parts()
    with zipfile.ZipFile(handle, "w", allowZip64=True) as archive:
        sink = ZipSink(archive)
        for done, part in enumerate(parts, start=1):
            sink.folder = part.name
            part.write(export.user_id, sink)
            _progress(export, percent=100 * done // (len(parts) + 1))
        sink.folder = ""
        manifest = _manifest(export, sink, parts)
        sink.write_json("manifest.json", manifest)
        readme = README.format(
            built_at=manifest["built_at"].strftime("%Y-%m-%d %H:%M"),
            parts=", ".join(part.name for part in parts),
        )
        sink.write_text("README.txt", readme)


# --- the task's body ------------------------------------------------------------------------------


class _Abandoned(Exception):
    """The export moved on without this run (the sweep failed it, or its member was deleted)."""


def export_build(*, export_id: UUID) -> str:
    """Build one export; the row, not the message, is the truth: a repeated message does nothing."""
    export = _claim(export_id)
    if export is None:
        return "skipped"
    try:
        with tempfile.TemporaryFile(prefix="kino-export-") as handle:
            _zip_write(export, handle)
            return _deliver(export, handle)
    except _Abandoned:
        logger.info("export.abandoned", extra={"export_id": str(export_id)})
        return "abandoned"
    except Exception:
        # Fail closed: no zip was stored (`_deliver` removes its own on any error); the error goes on
        # to Celery's log.
        _fail(export_id, errors.EXPORT_FAILED)
        raise


def _claim(export_id: UUID) -> DataExport | None:
    if not DataExport.objects.filter(id=export_id, state=State.QUEUED).update(state=State.RUNNING):
        return None
    export = DataExport.objects.filter(id=export_id).first()
    if export is not None:
        _export_event_send(export, "export.progress")
    return export


def _progress(export: DataExport, *, percent: int) -> None:
    if not DataExport.objects.filter(id=export.id, state=State.RUNNING).update(percent=percent):
        raise _Abandoned
    export.percent = percent
    _export_event_send(export, "export.progress")


def _export_event_send(export: DataExport, event_type: str) -> None:
    """Best effort (on_commit's `robust`): a channel-layer hiccup loses an event, never an export."""
    data = {
        "id": str(export.id),
        "state": export.state,
        "percent": export.percent,
        "error_code": export.error_code or None,
    }
    event_send_on_commit(user_id=export.user_id, event_type=event_type, data=data)


def _deliver(export: DataExport, handle: IO[bytes]) -> str:
    """Store the zip and mark the export succeeded, together: a zip stored without its row (a failed
    update, a failed commit) is deleted again."""
    size = handle.seek(0, 2)
    handle.seek(0)
    # The column holds 100 characters, and exports/<user id>/<export id>/ takes 82 of them: the name
    # people see comes with the download (Content-Disposition).
    filename = "export.zip"
    name = ""
    try:
        with transaction.atomic():
            # A deletion of the member waits for this and then removes the zip (it is theirs), or has
            # already happened: then nothing is stored.
            if not member_hold(user_id=export.user_id):
                raise _Abandoned
            name = default_storage.save(
                export_path(export, filename), File(handle, name=filename), max_length=FILE_MAX
            )
            now = timezone.now()
            done = {
                "state": State.SUCCEEDED,
                "percent": 100,
                "file": name,
                "size_bytes": size,
                "finished_at": now,
                "expires_at": now + timedelta(seconds=settings.FEED_EXPORT_TTL_S),
            }
            if not DataExport.objects.filter(id=export.id, state=State.RUNNING).update(**done):
                raise _Abandoned
            for field, value in done.items():
                setattr(export, field, value)
            _export_event_send(export, "export.succeeded")
    except BaseException:
        if name:
            files_delete([name])
        raise
    logger.info("export.succeeded", extra={"export_id": str(export.id), "bytes": size})
    return str(State.SUCCEEDED)


def _fail(export_id: UUID, error: ErrorCode) -> bool:
    with transaction.atomic():
        moved = DataExport.objects.filter(id=export_id, state__in=ACTIVE).update(
            state=State.FAILED, error_code=error.code, finished_at=timezone.now()
        )
        export = DataExport.objects.filter(id=export_id).first() if moved else None
        if export is not None:
            _export_event_send(export, "export.failed")
    if moved:
        logger.warning("export.failed", extra={"export_id": str(export_id), "error": error.code})
    return bool(moved)


# --- the sweep (WORKER_PERIODIC) ------------------------------------------------------------------


def export_stale_after_s() -> int:
    """An export still active this long after it was asked for can no longer move: its message was
    delivered and, lost with its worker, delivered again after the visibility timeout (a second
    delivery finds the row `running` and leaves it)."""
    return 2 * int(settings.CELERY_VISIBILITY_TIMEOUT)


def exports_sweep() -> int:
    """Delete the zips of expired exports (the row stays, without its file) and fail exports that can
    no longer finish; a bounded batch of each per call. Returns how many rows it changed."""
    now = timezone.now()
    expired = (
        DataExport.objects.filter(state=State.SUCCEEDED, expires_at__lte=now)
        .exclude(file="")
        .values_list("id", "file")[:SWEEP_BATCH]
    )
    changed = 0
    for export_id, name in list(expired):
        # The row first: from then on the link answers 404 whether or not the storage is quick.
        if DataExport.objects.filter(id=export_id, file=name).update(file=""):
            files_delete([name])
            changed += 1
    stale = DataExport.objects.filter(
        state__in=ACTIVE, created_at__lt=now - timedelta(seconds=export_stale_after_s())
    ).values_list("id", flat=True)[:SWEEP_BATCH]
    changed += sum(_fail(export_id, errors.EXPORT_INTERRUPTED) for export_id in list(stale))
    return changed


# --- the download link ----------------------------------------------------------------------------


def _zip_of(export: DataExport) -> str | None:
    """The storage name of the export's zip while it lives (made, not expired), else None."""
    expires_at = export.expires_at
    if export.state != State.SUCCEEDED or expires_at is None or expires_at <= timezone.now():
        return None
    return export.file.name or None


def export_download_url(request: HttpRequest, export: DataExport) -> str | None:
    """A link to the zip while it lives (None before it is made and after it expired). The token
    names the export, not a storage path."""
    name = _zip_of(export)
    if name is None:
        return None
    if not isinstance(default_storage, FileSystemStorage):
        # Presigned by the storage (S3), for as long as the export lives, as an attachment.
        assert export.expires_at is not None
        left = max(1, int((export.expires_at - timezone.now()).total_seconds()))
        parameters = {"ResponseContentDisposition": _disposition(export)}
        return str(default_storage.url(name, parameters=parameters, expire=left))  # type: ignore[call-arg]
    token = signing.dumps({"e": str(export.id)}, salt=SALT)
    return site_url(request) + reverse("export-signed", kwargs={"token": token})


def _disposition(export: DataExport) -> str:
    made = timezone.localtime(export.finished_at or export.created_at, UTC)
    return f'attachment; filename="kino-export-{made:%Y-%m-%d}.zip"'


@require_http_methods(["GET", "HEAD"])
def export_signed(request: HttpRequest, token: str) -> HttpResponseBase:
    """The zip, while the export lives: a link past its age or its export's expiry is 404, as is one
    whose zip was swept or whose member was deleted; a tampered one is 403 `media_link_invalid`."""
    try:
        claim = signing.loads(token, salt=SALT, max_age=settings.FEED_EXPORT_TTL_S)
        export_id = UUID(claim["e"])
    except signing.SignatureExpired:
        return error_response(NOT_FOUND)
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return error_response(errors.MEDIA_LINK_INVALID)
    export = DataExport.objects.filter(id=export_id).first()
    name = _zip_of(export) if export is not None else None
    if export is None or name is None or not default_storage.exists(name):
        return error_response(NOT_FOUND)
    response = _ranged_file(request, name)
    response["Content-Disposition"] = _disposition(export)
    response["Cache-Control"] = "private, no-store"  # personal data: no cache keeps a copy
    return response


# --- feed's parts ---------------------------------------------------------------------------------

LIVE = (Video.State.DRAFT, Video.State.POSTED)
VIDEO_FIELDS = (
    "id",
    "state",
    "caption",
    "prompt",
    "remix_of_id",
    "remix_allowed",
    "width",
    "height",
    "duration_ms",
    "fps",
    "has_audio",
    "engine",
    "source_job_id",
    "created_at",
    "updated_at",
    "posted_at",
    "removed_at",
    "removed_reason",
)
COUNTS = ("likes", "comments", "remixes", "descendants", "views", "watch_ms", "shares", "downloads")


def _video_media_write(row: dict[str, Any], sink: ExportSink) -> dict[str, str]:
    """The MP4 and poster of a live video, under videos/<id>/. Removed videos' files stay out: a
    moderator took them down, and an export must not hand them out again."""
    if row["state"] not in LIVE:
        return {}
    files = {}
    for field in ("video", "poster"):
        if row[field]:
            name = f"{row['id']}/{field}{posixpath.splitext(row[field])[1].lower()}"
            sink.write_file(name, row[field])
            files[field] = f"videos/{name}"
    return files


def _videos_write(user_id: UUID, sink: ExportSink) -> None:
    rows = (
        Video.objects.filter(owner_id=user_id)
        .order_by("created_at", "id")
        .values(*VIDEO_FIELDS, "video", "poster", *(f"stats__{count}" for count in COUNTS))
    )
    videos = []
    for row in rows.iterator(chunk_size=500):
        files = _video_media_write(row, sink)
        record = {field: row[field] for field in VIDEO_FIELDS}
        record["generation_id"] = record.pop("source_job_id")
        record["remix_of"] = record.pop("remix_of_id")
        record["counts"] = {count: row[f"stats__{count}"] or 0 for count in COUNTS}
        record["files"] = files
        videos.append(record)
    sink.write_json("videos.json", videos)


def _comments_write(user_id: UUID, sink: ExportSink) -> None:
    comments = Comment.objects.filter(author_id=user_id).order_by("created_at", "id")
    fields = ("id", "video_id", "parent_id", "body", "created_at", "edited_at")
    sink.write_json("comments.json", list(comments.values(*fields).iterator(chunk_size=2000)))


def _likes_write(user_id: UUID, sink: ExportSink) -> None:
    likes = Like.objects.filter(user_id=user_id).order_by("created_at", "id")
    sink.write_json("likes.json", list(likes.values("video_id", "created_at").iterator(chunk_size=2000)))


def _notifications_write(user_id: UUID, sink: ExportSink) -> None:
    groups = NotificationGroup.objects.filter(recipient_id=user_id).order_by("created_at", "id")
    fields = (
        "id",
        "type",
        "target_kind",
        "target_id",
        "count",
        "data",
        "created_at",
        "updated_at",
        "read_at",
    )
    preferences = NotificationPreference.objects.filter(user_id=user_id).order_by("type")
    sink.write_json(
        "notifications.json",
        {
            "notifications": list(groups.values(*fields).iterator(chunk_size=2000)),
            "preferences": {row["type"]: row["mode"] for row in preferences.values("type", "mode")},
        },
    )


PARTS: tuple[ExportPart, ...] = (
    ExportPart(name="videos", write=_videos_write),
    ExportPart(name="comments", write=_comments_write),
    ExportPart(name="likes", write=_likes_write),
    ExportPart(name="notifications", write=_notifications_write),
)


def export_hooks_register() -> None:
    """Called from FeedConfig.ready: feed's parts of every export, and the zips among a deleted
    member's files."""
    for part in PARTS:
        export_part_register(part)
    member_files_register(export_files)
