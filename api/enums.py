"""The models' enums, registered with GraphQL under their own names.

Defined once, in models; import them from here so the registration has happened.
"""

import strawberry

from models.enums import (
    ConversionStatus,
    CostModel,
    DuplicatePolicy,
    HitKind,
    HitOutcome,
    RecordStatus,
)

for _enum in (ConversionStatus, CostModel, DuplicatePolicy, HitKind, HitOutcome, RecordStatus):
    strawberry.enum(_enum, description=_enum.__doc__)

__all__ = [
    "ConversionStatus",
    "CostModel",
    "DuplicatePolicy",
    "HitKind",
    "HitOutcome",
    "RecordStatus",
]
