"""The moderators' admin: the public-figure registry (`registry`), the queue, decisions, appeals,
the audit log and the dashboard (`queue`)."""
