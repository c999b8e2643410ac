"""Root mutation fields for forwarding conversions to traffic sources."""

from typing import Annotated

import strawberry

from api.arguments import FIELDS, ObjectId
from api.context import Context
from api.forwarding import service
from api.forwarding.inputs import SetForwardTemplateInput
from api.forwarding.types import ForwardTemplateType
from api.ids import required_id
from api.mutation_errors import Deleted, InputError, InUse, NotFound, returns_errors
from api.permissions import IsAdmin

ForwardTemplateResult = Annotated[
    ForwardTemplateType | InputError | NotFound,
    strawberry.union(
        "ForwardTemplateResult", description="The forward template as saved, or why not."
    ),
]
DeleteForwardTemplateResult = Annotated[
    Deleted | NotFound | InUse,
    strawberry.union(
        "DeleteForwardTemplateResult",
        description="Deleted, or why not: InUse when it has forwards (disable it instead).",
    ),
]


@strawberry.type
class ForwardingMutations:
    @strawberry.mutation(
        description="Set a traffic source's outgoing postback for one conversion type "
        "(replacing the one it has for that type).",
        permission_classes=[IsAdmin],
    )
    @returns_errors
    async def set_forward_template(
        self, info: strawberry.Info[Context], input: Annotated[SetForwardTemplateInput, FIELDS]
    ) -> ForwardTemplateResult:
        row = await service.set_template(
            info.context.session,
            workspace_id=info.context.principal.workspace_id,
            traffic_source_id=required_id(input.traffic_source_id, "traffic source"),
            conversion_type_id=required_id(input.conversion_type_id, "conversion type"),
            url=input.url,
            method=input.method,
            statuses=input.statuses,
            payout_override=input.payout_override,
            payout_share=input.payout_share,
            enabled=input.enabled,
        )
        return ForwardTemplateType.from_row(row)

    @strawberry.mutation(
        description="Delete a forward template that has sent nothing; once it has forwards, "
        "the answer is InUse: disable it instead (enabled: false).",
        permission_classes=[IsAdmin],
    )
    @returns_errors
    async def delete_forward_template(
        self, info: strawberry.Info[Context], id: ObjectId
    ) -> DeleteForwardTemplateResult:
        await service.delete_template(
            info.context.session,
            workspace_id=info.context.principal.workspace_id,
            id=required_id(id, "forward template"),
        )
        return Deleted(id=id)
