"""Keeps a running job's heartbeat fresh while a stage computes, whatever one step costs."""

from __future__ import annotations

import threading
from uuid import UUID

from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone

from generation.models import Job


class Heartbeat(threading.Thread):
    def __init__(self, job_id: UUID, attempt: int) -> None:
        super().__init__(name=f"heartbeat-{job_id}", daemon=True)
        self.job_id, self.attempt = job_id, attempt
        self.stopped = threading.Event()

    def run(self) -> None:
        try:
            while not self.stopped.wait(settings.GENERATION_HEARTBEAT_S):
                Job.objects.filter(id=self.job_id, attempts=self.attempt, state=Job.State.RUNNING).update(
                    heartbeat_at=timezone.now()
                )
        finally:
            close_old_connections()
