"""GraphQL types for workspaces."""

from datetime import datetime

import strawberry

from models import Workspace


@strawberry.type(
    name="Workspace", description="A tenant: all data belongs to exactly one workspace."
)
class WorkspaceType:
    id: strawberry.ID = strawberry.field(description="Workspace id.")
    name: str = strawberry.field(description="Display name.")
    timezone: str = strawberry.field(description="IANA time zone reports use by default.")
    currency: str = strawberry.field(description="ISO 4217 currency all money is reported in.")
    created_at: datetime = strawberry.field(description="When the workspace was created.")

    @classmethod
    def from_row(cls, row: Workspace) -> "WorkspaceType":
        assert row.id is not None
        assert row.created_at is not None
        return cls(
            id=strawberry.ID(str(row.id)),
            name=row.name,
            timezone=row.timezone,
            currency=row.currency,
            created_at=row.created_at,
        )
