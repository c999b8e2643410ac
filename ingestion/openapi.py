"""What the ingestion endpoints' OpenAPI entries cannot learn from their signatures.

The handlers parse their query strings themselves (any parameter passes through to macros and
the postback log, under the limits hostile input needs), so the parameters the trade sends are
declared here, each alias as its own optional parameter, with the syntax the service holds it
to; and every status they answer is listed, with what a network engineer should do about it.
The click API decodes its body itself (see ingestion.json_bodies), so its body is declared here
too, from the type it decodes.
"""

from dataclasses import dataclass, fields
from typing import Any

import msgspec
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import (
    OpenAPIFormat,
    OpenAPIMediaType,
    OpenAPIType,
    Operation,
    Parameter,
    Reference,
    RequestBody,
    Schema,
)

from ingestion.clicks.schemas import ClickBody
from ingestion.params import (
    AMOUNT,
    CLICK_ID,
    CURRENCY,
    MAX_BODY_BYTES,
    MAX_VALUE_LENGTH,
    NO_NUL,
    STATUS,
    TXID,
    TYPE,
)
from ingestion.postbacks.service import MAX_AMOUNT, MAX_TXID_LENGTH
from models.catalog import CAMPAIGN_KEY
from models.click import SUB_COUNT
from models.click_ids import CLICK_ID_LENGTH
from models.enums import ConversionStatus
from models.workspace import POSTBACK_SECRET_SHAPE


def _text(*, max_length: int = MAX_VALUE_LENGTH, pattern: str = NO_NUL["pattern"]) -> Schema:
    return Schema(type=OpenAPIType.STRING, max_length=max_length, pattern=pattern)


_TEXT = _text()
# Below MAX_AMOUNT (a power of ten): at most that many digits before the point, once leading
# zeros are set aside.
_AMOUNT = _text(pattern=f"^0*[0-9]{{1,{MAX_AMOUNT.adjusted()}}}(\\.[0-9]+)?$")
_REPORT_FIELDS = (
    (
        CLICK_ID,
        "The click id the tracking link passed on ({clickid}): 44 hex digits. Required "
        "(under one of its names), except by a pixel that the `ct_click` cookie names.",
        _text(pattern=f"^[0-9A-Fa-f]{{{CLICK_ID_LENGTH}}}$"),
    ),
    (
        AMOUNT,
        f"Payout, a plain decimal (`12`, `4.99`) below {MAX_AMOUNT:,.0f}; default: the offer's "
        "payout for conversions, else 0.",
        _AMOUNT,
    ),
    (
        TXID,
        "Transaction id: one event per txid for `transaction`-like types.",
        _text(max_length=MAX_TXID_LENGTH),
    ),
    (
        TYPE,
        "Event type: `conversion` (default), `transaction` or a custom type of the workspace "
        "(422 `unknown_type` for one it does not define).",
        _TEXT,
    ),
    (
        STATUS,
        "approved (default), pending, declined or other; the workspace's own status aliases "
        "are taken too (not listed: each workspace has its own).",
        Schema(type=OpenAPIType.STRING, enum=[status.value for status in ConversionStatus]),
    ),
    (
        CURRENCY,
        "ISO 4217 code of the amount; converted with the workspace's stored rates (422 "
        "`unknown_currency` without one).",
        _text(pattern="^[A-Za-z]{3}$"),
    ),
)


def _aliases(names: tuple[str, ...], description: str, schema: Schema) -> list[Parameter]:
    others = (
        f" Same as `{'`, `'.join(names[1:])}`; two different values are refused."
        if len(names) > 1
        else ""
    )
    first = Parameter(
        name=names[0], param_in="query", schema=schema, description=description + others
    )
    return [first] + [
        Parameter(name=n, param_in="query", schema=schema, description=f"Alias of `{names[0]}`.")
        for n in names[1:]
    ]


REPORT_PARAMETERS = [p for fields_ in _REPORT_FIELDS for p in _aliases(*fields_)]
SUB_PARAMETERS = [
    Parameter(
        name=f"sub{i}",
        param_in="query",
        schema=_TEXT,
        description=f"Stored as sub{i} and filled into the offer URL's {{sub{i}}}; any other "
        "parameter is kept and fills the macro of its name.",
    )
    for i in range(1, SUB_COUNT + 1)
]
# What a path segment must be to reach anything past the first check.
_SECRET = POSTBACK_SECRET_SHAPE.pattern
PATH_SCHEMAS = {
    "campaign_key": _text(pattern=f"^{CAMPAIGN_KEY.pattern}$"),
    "secret": _text(pattern=f"^{_SECRET}$"),
    "filename": _text(pattern=f"^{_SECRET}\\.gif$"),
}


def _with_path_schemas(
    parameters: list[Parameter | Reference] | None,
) -> list[Parameter | Reference]:
    for parameter in parameters or []:
        if isinstance(parameter, Parameter) and parameter.param_in == "path":
            parameter.schema = PATH_SCHEMAS[parameter.name]
    return list(parameters or [])


@dataclass
class ReportOperation(Operation):
    """A postback's or pixel's operation, with the report's parameters."""

    def __post_init__(self) -> None:
        self.parameters = [*_with_path_schemas(self.parameters), *REPORT_PARAMETERS]


@dataclass
class PixelOperation(ReportOperation):
    """The pixel's operation: it answers nothing but its GIF.

    Litestar documents a 400 in its own error shape for any handler with parameters.
    """

    def __post_init__(self) -> None:
        super().__post_init__()
        self.responses = {"200": (self.responses or {})["200"]}


@dataclass
class TrackingLinkOperation(Operation):
    """The tracking link's operation, with the subN parameters."""

    def __post_init__(self) -> None:
        self.parameters = [*_with_path_schemas(self.parameters), *SUB_PARAMETERS]


def body_schema(type_: object) -> Schema:
    """The OpenAPI schema of a body msgspec decodes as ``type_``, from msgspec's JSON Schema.

    Inlined: Litestar replaces the document's component schemas with those it generated.
    """
    (root,), definitions = msgspec.json.schema_components([type_], ref_template="{name}")
    return _schema(root, definitions)


_SCHEMA_FIELDS = {f.metadata.get("alias", f.name): f.name for f in fields(Schema)}


def _schema(node: dict[str, Any], definitions: dict[str, Any]) -> Schema:
    if "$ref" in node:
        return _schema(definitions[node["$ref"]], definitions)

    def convert(key: str, value: Any) -> object:  # noqa: ANN401 (JSON Schema: any JSON value)
        if key in ("items", "propertyNames", "additionalProperties") and isinstance(value, dict):
            return _schema(value, definitions)
        if key == "anyOf":
            return [_schema(item, definitions) for item in value]
        if key == "properties":
            return {name: _schema(item, definitions) for name, item in value.items()}
        if key == "type":
            return OpenAPIType(value)
        if key == "format":
            return OpenAPIFormat(value)
        return value

    converted: dict[str, Any] = {
        _SCHEMA_FIELDS[key]: convert(key, value) for key, value in node.items()
    }
    return Schema(**converted)


@dataclass
class ClickApiOperation(Operation):
    """The click API's operation: it decodes its body itself (see ingestion.json_bodies)."""

    def __post_init__(self) -> None:
        self.request_body = RequestBody(
            content={"application/json": OpenAPIMediaType(schema=CLICK_BODY_SCHEMA)},
            required=True,
        )


CLICK_BODY_SCHEMA = body_schema(ClickBody)


def _json(description: str) -> ResponseSpec:
    return ResponseSpec(data_container=dict[str, str], description=description)


def _html(description: str) -> ResponseSpec:
    return ResponseSpec(data_container=str, description=description, media_type="text/html")


TRACKING_LINK_RESPONSES = {
    302: ResponseSpec(
        data_container=None,
        description="The click is recorded: `Location` is the offer URL with its macros "
        "filled, and the `ct_click` cookie holds the click id.",
    ),
    400: _html("Hostile parameters or headers (NUL, invalid UTF-8, oversized): nothing recorded."),
    404: _html("Unknown or paused campaign, or one without an active offer: nothing recorded."),
    500: _html("The database refused the click (no outage): nothing recorded; it is logged."),
    503: _html("The click could not be recorded (database unavailable): retry."),
}
CLICK_API_RESPONSES = {
    400: _json("An item is invalid: `detail` names it by its index; nothing recorded."),
    404: _json("An item names an unknown or paused campaign; nothing recorded."),
    413: _json("`body_too_large`: nothing recorded."),
    415: _json("`unsupported_media_type`: the body must be sent as application/json."),
    500: _json("`internal_error`: the database refused the clicks (no outage); none recorded."),
    503: _json("None of the request's clicks could be recorded: retry the whole request."),
}
POSTBACK_RESPONSES = {
    200: _json("`result`: accepted, updated or duplicate; the event is committed."),
    400: _json("Malformed parameters, amount, status, currency or txid (`error` says which)."),
    401: _json("`bad_signature`: the workspace requires a valid X-Clicktrail-Signature."),
    403: _json("`bad_secret` or `ip_not_allowed`."),
    404: _json("`unknown_click`: no such click in this workspace."),
    409: _json("`illegal_status_change`, e.g. declined to approved."),
    415: _json("A POST body that is neither form-encoded nor JSON."),
    422: _json("`outside_window`, `unknown_type` or `unknown_currency`."),
    500: _json("`internal_error`: the database refused the event (no outage); nothing recorded."),
    503: _json("`unavailable`: the database is unavailable; nothing was recorded; retry."),
}
POSTBACK_POST_RESPONSES = {
    **POSTBACK_RESPONSES,
    413: _json(f"`body_too_large`: a body over {MAX_BODY_BYTES} bytes, refused unread."),
}
PIXEL_RESPONSES = {
    200: ResponseSpec(
        data_container=bytes,
        description="Always the 1x1 GIF; `X-Clicktrail-Result` carries the outcome code.",
        media_type="image/gif",
    ),
}
