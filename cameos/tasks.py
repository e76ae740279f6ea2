"""Cameos' Celery tasks (queue `default`): a registration's processing; the sweeps every worker's
main process runs (settings.WORKER_PERIODIC): lost registrations, raw uploads past their days."""

from __future__ import annotations

from uuid import UUID

from celery import shared_task

from cameos.registration import services


@shared_task(name="cameos.registration_process")
def registration_process_task(*, registration_id: str) -> str:
    """Runs the checks of one uploaded registration (it re-reads the row: a registration no longer
    queued, processed already or by another worker, is left alone)."""
    return services.registration_process(registration_id=UUID(registration_id))


def registration_uploads_prune() -> int:
    """settings.WORKER_PERIODIC: raw uploads past CAMEO_UPLOAD_RETENTION_DAYS."""
    return services.registration_uploads_prune()


def registrations_redispatch_lost() -> int:
    """settings.WORKER_PERIODIC: registrations whose task was lost (a broker hiccup, a dead worker)."""
    return services.registrations_redispatch_lost()
