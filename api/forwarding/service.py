"""Managing a traffic source's outgoing postback templates."""

from decimal import Decimal
from typing import Any

import asyncpg
from sqlalchemy import Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from api.forwarding import repository
from api.mutation_errors import InvalidInput, Missing, StillReferenced
from models.enums import ConversionStatus, ForwardMethod
from models.forward_urls import url_problem

MAX_MONEY = Decimal(10) ** 12


async def set_template(
    session: AsyncSession,
    *,
    workspace_id: int,
    traffic_source_id: int,
    conversion_type_id: int,
    url: str,
    method: ForwardMethod,
    statuses: list[ConversionStatus],
    payout_override: Decimal | None,
    payout_share: Decimal | None,
    enabled: bool,
) -> Row[Any]:
    """Create or replace the source's template for the conversion type."""
    problem = url_problem(url)
    if problem is not None:
        raise InvalidInput(problem, field="url")
    if not statuses:
        raise InvalidInput("name at least one status to send", field="statuses")
    if payout_override is not None and payout_share is not None:
        raise InvalidInput("give payoutOverride or payoutShare, not both", field="payoutShare")
    if payout_override is not None and not (
        payout_override.is_finite() and 0 <= payout_override < MAX_MONEY
    ):
        raise InvalidInput(
            f"payoutOverride must be 0 or more and below {MAX_MONEY:,}", field="payoutOverride"
        )
    if payout_share is not None and not (payout_share.is_finite() and 0 <= payout_share <= 100):
        raise InvalidInput("payoutShare is a percent: 0 to 100", field="payoutShare")
    # Checked first, so that another workspace's ids are not found rather than a foreign key
    # violation.
    source, type_ = await repository.source_and_type_exist(
        session,
        workspace_id=workspace_id,
        traffic_source_id=traffic_source_id,
        conversion_type_id=conversion_type_id,
    )
    if not source:
        raise Missing(f"no traffic source with id {traffic_source_id}")
    if not type_:
        raise Missing(f"no conversion type with id {conversion_type_id}")
    values = {
        "traffic_source_id": traffic_source_id,
        "conversion_type_id": conversion_type_id,
        "url": url,
        "method": method.value,
        "statuses": sorted({s.value for s in statuses}),
        "payout_override": payout_override,
        "payout_share": payout_share,
        "enabled": enabled,
    }
    async with session.begin_nested():
        row = await repository.upsert_template(session, workspace_id=workspace_id, values=values)
        await repository.list_forwarding_workspace(session, workspace_id=workspace_id)
    return row


async def delete_template(session: AsyncSession, *, workspace_id: int, id: int) -> None:
    """Delete a template that has sent nothing; one with forwards is disabled instead."""
    try:
        async with session.begin_nested():
            deleted = await repository.delete_template(session, workspace_id=workspace_id, id=id)
    except IntegrityError as error:
        cause = error.orig.__cause__ if error.orig is not None else None
        if isinstance(cause, asyncpg.ForeignKeyViolationError):
            raise StillReferenced(
                "this template has forwards, whose history refers to it; disable it instead "
                "(enabled: false)"
            ) from None
        raise
    if not deleted:
        raise Missing(f"no forward template with id {id}")
