"""GraphQL types for forwarding conversions to traffic sources."""

from datetime import datetime
from decimal import Decimal
from typing import Any

import strawberry
from sqlalchemy import Row

from api.enums import ConversionStatus, ForwardMethod


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
