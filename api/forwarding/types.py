"""GraphQL types for forwarding conversions to traffic sources."""

from datetime import datetime
from decimal import Decimal
from typing import Any

import strawberry
from sqlalchemy import Row

from api.context import Context
from api.enums import ConversionStatus, ForwardMethod, ForwardState


@strawberry.type(
    name="ForwardTemplate",
    description="A traffic source's outgoing postback for one conversion type.",
)
class ForwardTemplateType:
    id: strawberry.ID = strawberry.field(description="Forward template id.")
    traffic_source_id: strawberry.ID = strawberry.field(description="The traffic source.")
    conversion_type_id: strawberry.ID = strawberry.field(
        description="The conversion type whose events it sends."
    )
    url: str = strawberry.field(description="URL template with macros such as {external_id}.")
    method: ForwardMethod = strawberry.field(description="GET, or POST with a form body.")
    statuses: list[ConversionStatus] = strawberry.field(
        description="Event statuses that are sent, when new or changed into."
    )
    payout_override: Decimal | None = strawberry.field(description="{payout} is this fixed amount.")
    payout_share: Decimal | None = strawberry.field(
        description="{payout} is this percent of the revenue."
    )
    enabled: bool = strawberry.field(description="Whether new events are forwarded.")
    created_at: datetime = strawberry.field(description="When it was created.")
    updated_at: datetime = strawberry.field(description="When it last changed.")

    @classmethod
    def from_row(cls, row: Row[Any]) -> "ForwardTemplateType":
        return cls(
            id=strawberry.ID(str(row.id)),
            traffic_source_id=strawberry.ID(str(row.traffic_source_id)),
            conversion_type_id=strawberry.ID(str(row.conversion_type_id)),
            url=row.url,
            method=ForwardMethod(row.method),
            statuses=[ConversionStatus(s) for s in row.statuses],
            payout_override=row.payout_override,
            payout_share=row.payout_share,
            enabled=row.enabled,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


@strawberry.type(name="ForwardAttempt", description="One try at sending a forward.")
class ForwardAttemptType:
    attempted_at: datetime = strawberry.field(description="When the answer (or failure) came.")
    url: str = strawberry.field(
        description="The URL sent, with the template's secrets masked (***): credential-named "
        "parameters and generated-looking literals. POST: its query was the body."
    )
    method: ForwardMethod = strawberry.field(description="GET or POST.")
    status_code: int | None = strawberry.field(
        description="The HTTP status; null when no answer came."
    )
    latency_ms: int = strawberry.field(description="From sending to the end of the answer.")
    error: str | None = strawberry.field(
        description="Why it failed: HTTP 500, no answer within 10 s, refused: ... resolves to "
        "a private address, ..."
    )
    answer: str | None = strawberry.field(
        description="The start of the answer's body (at most 512 characters)."
    )

    @classmethod
    def from_row(cls, row: Row[Any]) -> "ForwardAttemptType":
        return cls(
            attempted_at=row.attempted_at,
            url=row.url,
            method=ForwardMethod(row.method),
            status_code=row.status_code,
            latency_ms=row.latency_ms,
            error=row.error,
            answer=row.answer,
        )


@strawberry.type(
    name="Forward",
    description="A conversion event (or its change of status) sent to the traffic source.",
)
class ForwardType:
    id: strawberry.ID = strawberry.field(
        description="Forward id: what {event_id} sends, the same on every retry and replay."
    )
    state: ForwardState = strawberry.field(description="Pending, delivered or dead.")
    attempt_count: int = strawberry.field(
        description="Attempts since it was queued or last replayed."
    )
    created_at: datetime = strawberry.field(description="When it was queued.")
    next_attempt_at: datetime | None = strawberry.field(
        description="When a pending forward is sent next (null unless pending)."
    )
    delivered_at: datetime | None = strawberry.field(description="When the source took it.")
    last_status_code: int | None = strawberry.field(description="The last attempt's status.")
    last_error: str | None = strawberry.field(description="Why the last attempt failed.")
    conversion_event_id: strawberry.ID = strawberry.field(description="The event it sends.")
    click_id: strawberry.ID = strawberry.field(description="The event's click.")
    traffic_source_id: strawberry.ID = strawberry.field(description="Where it goes.")
    template_id: strawberry.ID = strawberry.field(description="The template it fills.")
    event_status: ConversionStatus = strawberry.field(
        description="The event's status it reports (a chargeback is a forward of its own)."
    )
    amount: Decimal = strawberry.field(description="The event's amount when it was queued.")

    @strawberry.field(description="Its attempts, newest first (the last 100).")
    async def attempts(self, info: strawberry.Info[Context]) -> list[ForwardAttemptType]:
        rows = await info.context.loaders.forward_attempts_by_forward_id.load(int(self.id))
        return [ForwardAttemptType.from_row(row) for row in rows]

    @classmethod
    def from_row(cls, row: Row[Any]) -> "ForwardType":
        state = ForwardState(row.state)
        return cls(
            id=strawberry.ID(str(row.id)),
            state=state,
            attempt_count=row.attempts,
            created_at=row.created_at,
            next_attempt_at=row.next_attempt_at if state is ForwardState.PENDING else None,
            delivered_at=row.delivered_at,
            last_status_code=row.last_status_code,
            last_error=row.last_error,
            conversion_event_id=strawberry.ID(str(row.conversion_event_id)),
            click_id=strawberry.ID(row.click_id),
            traffic_source_id=strawberry.ID(str(row.traffic_source_id)),
            template_id=strawberry.ID(str(row.template_id)),
            event_status=ConversionStatus(row.event_status),
            amount=row.amount,
        )
