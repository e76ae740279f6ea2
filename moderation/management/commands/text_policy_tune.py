"""Print the text policy's category thresholds, tuned on the exemplars (see moderation.text.tune)."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand

from moderation.text.tune import thresholds_tune


class Command(BaseCommand):
    help = "Tune the text policy's thresholds on the exemplars (leave-one-out) and print them."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(json.dumps(thresholds_tune(), indent=1))
