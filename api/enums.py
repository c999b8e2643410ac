"""The models' enums, registered with GraphQL under their own names.

Defined once, in models; import them from here so the registration has happened.
"""

import strawberry

from models.enums import (
    ApiScope,
    ConversionStatus,
    CostModel,
    DuplicatePolicy,
    HitKind,
    HitOutcome,
    RecordStatus,
)

for _enum in (
    ApiScope,
    ConversionStatus,
    CostModel,
    DuplicatePolicy,
    HitKind,
    HitOutcome,
    RecordStatus,
):
    strawberry.enum(_enum, description=_enum.__doc__)

__all__ = [
    "ApiScope",
    "ConversionStatus",
    "CostModel",
    "DuplicatePolicy",
    "HitKind",
    "HitOutcome",
    "RecordStatus",
]
