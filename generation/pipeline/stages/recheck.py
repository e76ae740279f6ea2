"""recheck: the world may have changed since the request; may this member still make this clip?

Cameo consent and prompt policy join here with their issues.
"""

from __future__ import annotations

from accounts.public import ACCOUNT_INACTIVE, member_standing
from generation.pipeline.context import PASSED, JobContext, StageResult, block


def recheck(ctx: JobContext) -> StageResult:
    standing = member_standing(user_id=ctx.claimed.user_id)
    if standing is None or not standing.is_active:
        return block(ACCOUNT_INACTIVE)
    return PASSED
