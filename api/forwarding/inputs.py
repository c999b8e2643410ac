"""GraphQL inputs for forwarding conversions to traffic sources."""

from decimal import Decimal

import strawberry

from api.enums import ConversionStatus, ForwardMethod
from models.click import SUB_COUNT


@strawberry.input(
    description="A traffic source's outgoing postback for one conversion type: created, or "
    "replacing the one the source has for that type."
)
class SetForwardTemplateInput:
    traffic_source_id: strawberry.ID = strawberry.field(description="The traffic source.")
    conversion_type_id: strawberry.ID = strawberry.field(
        description="The conversion type whose events it sends."
    )
    url: str = strawberry.field(
        description="Absolute http(s) URL, up to 2,048 printable ASCII characters, with macros "
        "in its path and query: {external_id} (the source's click id), {clickid}, {payout}, "
        "{revenue}, {currency}, {type}, {txid}, {status}, {campaign_id}, "
        f"{{sub1}}..{{sub{SUB_COUNT}}}, "
        "{event_id} (unique per forward and stable across retries: deduplicate on it)."
    )
    method: ForwardMethod = strawberry.field(
        default=ForwardMethod.GET,
        description="GET sends the URL; POST sends its query as a form body.",
    )
    statuses: list[ConversionStatus] = strawberry.field(
        default_factory=lambda: [ConversionStatus.APPROVED],
        description="The statuses that are sent: a new event in one of them, or a later change "
        "into one (add DECLINED to send chargebacks).",
    )
    payout_override: Decimal | None = strawberry.field(
        default=None, description="{payout} is this fixed amount instead of the revenue."
    )
    payout_share: Decimal | None = strawberry.field(
        default=None,
        description="{payout} is this percent (0 to 100) of the revenue. At most one of "
        "payoutOverride and payoutShare.",
    )
    enabled: bool = strawberry.field(
        default=True, description="Off: no new forwards (queued ones are still sent)."
    )
