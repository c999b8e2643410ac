"""GraphQL type for postback-log entries."""

from datetime import datetime
from typing import Any

import strawberry
from sqlalchemy import Row

from api.enums import HitKind, HitOutcome


@strawberry.type(
    name="PostbackLogEntry",
    description="A postback or pixel hit as received, and what clicktrail answered.",
)
class PostbackLogEntryType:
    id: strawberry.ID = strawberry.field(description="Log entry id.")
    received_at: datetime = strawberry.field(description="When the hit arrived.")
    kind: HitKind = strawberry.field(description="Postback or pixel.")
    method: str = strawberry.field(description="HTTP method.")
    source_ip: str | None = strawberry.field(description="Address the hit came from.")
    query: str = strawberry.field(description="The raw query string.")
    body: str | None = strawberry.field(description="The POST body, when there was one.")
    click_id: str | None = strawberry.field(description="The click id the hit named.")
    conversion_event_id: strawberry.ID | None = strawberry.field(
        description="The event it created or changed."
    )
    outcome: HitOutcome = strawberry.field(description="Accepted, updated, duplicate, rejected.")
    reason: str = strawberry.field(
        description="Stable reason code, also sent to the network: accepted, duplicate, "
        "unknown_click, bad_secret, ip_not_allowed, bad_signature, outside_window, ..."
    )
    http_status: int = strawberry.field(description="HTTP status clicktrail answered.")

    @classmethod
    def from_row(cls, row: Row[Any]) -> "PostbackLogEntryType":
        return cls(
            id=strawberry.ID(str(row.id)),
            received_at=row.received_at,
            kind=HitKind(row.kind),
            method=row.method,
            source_ip=None if row.source_ip is None else str(row.source_ip),
            query=row.query,
            body=row.body,
            click_id=row.click_id,
            conversion_event_id=None
            if row.conversion_event_id is None
            else strawberry.ID(str(row.conversion_event_id)),
            outcome=HitOutcome(row.outcome),
            reason=row.reason,
            http_status=row.http_status,
        )
