"""The moderators' admin: the public-figure registry (`registry`), the queue, decisions, appeals,
the audit log and the dashboard (`queue`)."""

from moderation.admin import audit, dashboard, estates, queue, registry  # noqa: F401  (register the pages)
