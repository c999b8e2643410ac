"""Tables, enums and database plumbing shared by the ingestion and API services."""

from models.catalog import (
    Campaign,
    CampaignOffer,
    ConversionType,
    CurrencyRate,
    Offer,
    TrafficSource,
)
from models.click import Click
from models.conversion import ConversionEvent
from models.cost_updates import CostUpdate, CostUpdateBatch, CostUpdateQueueEntry
from models.directory import ApiKeyHash, CampaignKey, PostbackSecret
from models.fingerprint import ClickFingerprint
from models.forwarding import Forward, ForwardAttempt, ForwardingWorkspace, ForwardTemplate
from models.postback_log import PostbackLogEntry
from models.rollups import ROLLUPS, Rollup
from models.uploads import UploadJob, UploadQueueEntry, UploadResult, UploadRow
from models.workspace import ApiKey, Workspace

__all__ = [
    "ROLLUPS",
    "ApiKey",
    "ApiKeyHash",
    "Campaign",
    "CampaignKey",
    "CampaignOffer",
    "Click",
    "ClickFingerprint",
    "ConversionEvent",
    "ConversionType",
    "CostUpdate",
    "CostUpdateBatch",
    "CostUpdateQueueEntry",
    "CurrencyRate",
    "Forward",
    "ForwardAttempt",
    "ForwardTemplate",
    "ForwardingWorkspace",
    "Offer",
    "PostbackLogEntry",
    "PostbackSecret",
    "Rollup",
    "TrafficSource",
    "UploadJob",
    "UploadQueueEntry",
    "UploadResult",
    "UploadRow",
    "Workspace",
]
