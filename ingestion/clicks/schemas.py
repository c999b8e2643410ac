"""The click API's request and response bodies.

msgspec decodes a body into these types; their JSON Schema is the body's OpenAPI entry, so what
is documented is what is decoded. Checks that need code (an IP address, the friendlier messages
of the key and of NUL bytes) run after decoding and are stated here for the schema only.
"""

from typing import Annotated

import msgspec

from ingestion.params import MAX_NAME_LENGTH, MAX_PARAMS, MAX_VALUE_LENGTH, NO_NUL
from models.catalog import CAMPAIGN_KEY

_KEY_PATTERN = {"pattern": f"^{CAMPAIGN_KEY.pattern}$"}
_IP_FORMAT = {"anyOf": [{"format": "ipv4"}, {"format": "ipv6"}]}
Text = Annotated[str, msgspec.Meta(max_length=MAX_VALUE_LENGTH, extra_json_schema=NO_NUL)]
ParamName = Annotated[str, msgspec.Meta(max_length=MAX_NAME_LENGTH, extra_json_schema=NO_NUL)]


class ClickInput(msgspec.Struct, forbid_unknown_fields=True):
    """One click reported by a server: the visitor's facts and the link's parameters."""

    campaign_key: Annotated[str, msgspec.Meta(extra_json_schema=_KEY_PATTERN)]
    ip: Annotated[str, msgspec.Meta(extra_json_schema=_IP_FORMAT)] | None = None
    user_agent: Text | None = None
    referrer: Text | None = None
    # The length bound too: Python's $ also matches before a final newline ("DE\n").
    country: Annotated[str, msgspec.Meta(pattern="^[A-Za-z]{2}$", max_length=2)] | None = None
    params: Annotated[dict[ParamName, Text], msgspec.Meta(max_length=MAX_PARAMS)] = {}


MAX_BATCH = 1000
ClickBatch = Annotated[list[ClickInput], msgspec.Meta(min_length=1, max_length=MAX_BATCH)]
ClickBody = ClickInput | ClickBatch
CLICK_BODY: msgspec.json.Decoder[ClickInput | list[ClickInput]] = msgspec.json.Decoder(ClickBody)


class ClickOutput(msgspec.Struct):
    click_id: str
    url: str | None
