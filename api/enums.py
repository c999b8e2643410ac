"""GraphQL enums: the models' enums registered under their own names, every value described.

Defined once, in models; import them from here so the registration has happened.
"""

import dataclasses
from collections.abc import Callable
from enum import Enum
from typing import TypeVar

import strawberry
from strawberry.types.enum import StrawberryEnumDefinition, has_enum_definition

from models.enums import (
    ApiScope,
    ConversionStatus,
    CostModel,
    DuplicatePolicy,
    ForwardMethod,
    ForwardState,
    HitKind,
    HitOutcome,
    RecordStatus,
    UploadState,
)

EnumT = TypeVar("EnumT", bound=type[Enum])


def graphql_enum(description: str, **values: str) -> Callable[[EnumT], EnumT]:
    """`strawberry.enum`, with a description for each value, keyed by member name.

    `strawberry.enum_value` cannot stand in for a StrEnum's members (StrEnum takes only str
    values), so the descriptions go onto the registered definition.
    """

    def register(cls: EnumT) -> EnumT:
        definition = _definition(strawberry.enum(cls, description=description))
        names = {value.name for value in definition.values}
        if names != values.keys():
            raise TypeError(f"describe exactly the values of {definition.name}: {sorted(names)}")
        definition.values = [
            dataclasses.replace(value, description=values[value.name])
            for value in definition.values
        ]
        return cls

    return register


def _definition(cls: type[Enum]) -> StrawberryEnumDefinition:
    assert has_enum_definition(cls)
    return cls.__strawberry_definition__


graphql_enum(
    "Lifecycle of a traffic source, offer or campaign.",
    ACTIVE="In use: a campaign receives clicks.",
    PAUSED="Stopped for now: a paused campaign's tracking link answers 404.",
    ARCHIVED="Retired for good; kept so reports keep their history.",
)(RecordStatus)
graphql_enum(
    "How a campaign's traffic is paid for.",
    NONE="The traffic costs nothing.",
    CPC="The cost value per click.",
    CPM="The cost value per thousand clicks.",
    CPA="The cost value per event whose type counts as a conversion.",
    REVSHARE="The cost value in percent (0 to 100) of each event's revenue.",
)(CostModel)
graphql_enum(
    "Status of a conversion event; networks may change it later (pending -> approved).",
    APPROVED="Confirmed by the network; counted in reports by default.",
    PENDING="Awaiting the network's decision; counted in reports by default.",
    DECLINED="Refused or charged back; not counted in reports by default.",
    OTHER="Any other status the network sent; a later postback may change it.",
)(ConversionStatus)
graphql_enum(
    "What a repeat of (click, type, transaction id) does to the stored event.",
    IGNORE="The first event wins; any repeat is a duplicate, whatever its txid.",
    NEW_PER_TXID="A new txid is a new event; a repeated txid is a duplicate.",
    UPDATE="A repeat replaces the event's amount (and status).",
    ADD_AMOUNT="A repeat adds its amount; a retry of the last addition is a duplicate.",
)(DuplicatePolicy)
graphql_enum(
    "What an API key may do.",
    READ="Read the workspace's data.",
    ADMIN="Read, and change the workspace's settings, catalog and API keys.",
)(ApiScope)
graphql_enum(
    "How a network reported an event.",
    POSTBACK="A server-to-server postback.",
    PIXEL="A pixel loaded by the visitor's browser.",
    UPLOAD="A row of an uploaded conversion file.",
)(HitKind)
graphql_enum(
    "What clicktrail did with a postback or pixel hit.",
    ACCEPTED="Stored a new event.",
    UPDATED="Changed an existing event (amount or status).",
    DUPLICATE="Changed nothing: the event was already stored.",
    REJECTED="Refused; the reason code says why.",
)(HitOutcome)
graphql_enum(
    "How far an uploaded file's rows have been applied.",
    QUEUED="Stored; no row applied yet (an ingestion process takes it within seconds).",
    APPLYING="Rows are being applied, 500 per transaction.",
    FINISHED="Every row has its result.",
)(UploadState)
graphql_enum(
    "How a forward is sent to the traffic source.",
    GET="The filled URL, as a GET request.",
    POST="The URL without its query, the query sent as an x-www-form-urlencoded body.",
)(ForwardMethod)
graphql_enum(
    "Where a forward to a traffic source stands.",
    PENDING="Waiting for its first attempt or a retry.",
    DELIVERED="The source answered 2xx.",
    DEAD="Out of attempts, or refused for good (a 4xx, a private address): only a replay "
    "sends it again.",
)(ForwardState)

__all__ = [
    "ApiScope",
    "ConversionStatus",
    "CostModel",
    "DuplicatePolicy",
    "ForwardMethod",
    "ForwardState",
    "HitKind",
    "HitOutcome",
    "RecordStatus",
    "UploadState",
    "graphql_enum",
]
