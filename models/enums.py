"""Enumerations stored in the database and exposed to GraphQL; defined once, here."""

from enum import StrEnum


class RecordStatus(StrEnum):
    """Lifecycle of a traffic source, offer or campaign."""

    ACTIVE = "active"
    PAUSED = "paused"
    ARCHIVED = "archived"


class CostModel(StrEnum):
    """How a campaign's traffic is paid for."""

    NONE = "none"
    CPC = "cpc"
    CPM = "cpm"
    CPA = "cpa"
    REVSHARE = "revshare"


class ConversionStatus(StrEnum):
    """Status of a conversion event; networks may change it later (pending -> approved)."""

    APPROVED = "approved"
    PENDING = "pending"
    DECLINED = "declined"
    OTHER = "other"


class DuplicatePolicy(StrEnum):
    """What a repeat of (click, type, transaction id) does to the stored event."""

    IGNORE = "ignore"
    NEW_PER_TXID = "new_per_txid"
    UPDATE = "update"
    ADD_AMOUNT = "add_amount"


class ApiScope(StrEnum):
    """What an API key may do."""

    READ = "read"
    ADMIN = "admin"


class HitKind(StrEnum):
    """How a network reported an event."""

    POSTBACK = "postback"
    PIXEL = "pixel"
    # A row of a conversion file (`clicktrail upload-conversions`, GraphQL `uploadConversions`).
    UPLOAD = "upload"


class HitOutcome(StrEnum):
    """What clicktrail did with a postback or pixel hit."""

    ACCEPTED = "accepted"
    UPDATED = "updated"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"


class UploadState(StrEnum):
    """How far an uploaded file's rows have been applied."""

    QUEUED = "queued"
    APPLYING = "applying"
    FINISHED = "finished"


class Attribution(StrEnum):
    """Which moment buckets a conversion event in time-based reports."""

    CLICK = "click"  # the time of the click it belongs to
    CONVERSION = "conversion"  # the time the event was recorded


class ForwardMethod(StrEnum):
    """How a forward reaches the traffic source: the URL as is, or its query as a form body."""

    GET = "GET"
    POST = "POST"


class ForwardState(StrEnum):
    """Where a forward stands in the outbox."""

    PENDING = "pending"  # waiting for its (next) attempt
    DELIVERED = "delivered"  # the source answered 2xx
    DEAD = "dead"  # out of attempts, or refused for good: only a replay sends it again
