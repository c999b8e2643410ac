"""Root mutation field for cost updates."""

from typing import Annotated

import strawberry

from api.arguments import FIELDS
from api.context import Context
from api.costs import repository
from api.costs.inputs import UpdateCostsInput
from api.costs.types import CostUpdateType
from api.ids import required_id
from api.mutation_errors import InputError, InvalidInput, Missing, NotFound, returns_errors
from api.permissions import IsAdmin
from models.cost_requests import ClickScope, CostRequest, CostRequestError, take_cost_update
from models.database import driver_connection

UpdateCostsResult = Annotated[
    CostUpdateType | InputError | NotFound,
    strawberry.union("UpdateCostsResult", description="The cost update recorded, or why not."),
]


@strawberry.type
class CostUpdateMutations:
    @strawberry.mutation(
        description="Set what a campaign's clicks in a time range cost: a total spread over "
        "them (the click costs sum to it exactly) or a cost per click, optionally only a "
        "traffic source's, a country's or a sub value's clicks. Reports, rollups included, "
        "follow. Answers once the update is recorded and planned (its clicks counted and cut "
        "into batches: about a second per million clicks); the ingestion service applies it in "
        "batches within seconds (read its progress with costUpdate).",
        permission_classes=[IsAdmin],
    )
    @returns_errors
    async def update_costs(
        self, info: strawberry.Info[Context], input: Annotated[UpdateCostsInput, FIELDS]
    ) -> UpdateCostsResult:
        principal = info.context.principal
        traffic_source_id = input.traffic_source_id
        request = CostRequest(
            workspace_id=principal.workspace_id,
            scope=ClickScope(
                campaign_id=required_id(input.campaign_id, "campaign"),
                starts_at=input.from_,
                ends_at=input.to,
                traffic_source_id=(
                    None
                    if traffic_source_id is None
                    else required_id(traffic_source_id, "traffic source")
                ),
                country=input.country,
                sub_number=None if input.sub is None else input.sub.index,
                sub_value=None if input.sub is None else input.sub.value,
            ),
            mode=input.mode,
            amount=input.amount,
            currency=input.currency,
            api_key_id=principal.api_key_id,
            request_id=input.request_id,
        )
        engine = info.context.engine
        # Recorded and planned in transactions of their own, committed before the answer: the
        # worker that applies it may start before this request ends.
        try:
            async with driver_connection(engine) as conn:
                recorded = await take_cost_update(conn, request)
        except CostRequestError as error:
            if error.missing:
                raise Missing(error.message) from None
            raise InvalidInput(error.message, field=error.field) from None
        row = await repository.by_id(engine, workspace_id=principal.workspace_id, id=recorded.id)
        assert row is not None
        return CostUpdateType.from_row(row)
