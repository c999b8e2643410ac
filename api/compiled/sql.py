"""SQL that builds the JSON of a page of clicks, as the GraphQL executor would answer it.

Every expression renders a value exactly as the normal path serializes the Python value it
reads: text for ids and Decimals (`str(Decimal)` of a numeric(18, 6) is its text), ISO 8601
for times (`datetime.isoformat()` of a UTC time: microseconds only when there are any), the
enum's GraphQL name for a status, JSON numbers that decode to the same float. A field that
has no such expression here (the IP, whose text Python and PostgreSQL write differently for
some IPv6 addresses; fields with resolvers, such as an event's conversion type or a
campaign's offers) makes a document take the normal path.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import Table

from api.click_filter import CLICKS, EVENTS, TYPES
from api.workspaces.repository import API_KEYS_TABLE, active_key_condition
from models import Campaign, Offer, TrafficSource, literals
from models.base import table_of
from models.catalog import TRANSACTION_TYPE
from models.click import SUB_COUNT
from models.enums import ApiScope, ConversionStatus, CostModel, RecordStatus

# The scopes that may read clicks (the fields' permission: api.permissions).
READ_SCOPES = frozenset({ApiScope.READ, ApiScope.ADMIN})


def iso_time(column: str) -> str:
    """``datetime.isoformat()`` of the UTC datetime asyncpg returns for a timestamptz.

    One `to_char` with the microseconds always written, and `.000000` taken out: half the
    CPU of formatting the seconds and the fraction apart (~0.8 against ~1.6 us a value).
    """
    return (
        f"replace(to_char(({column} AT TIME ZONE 'UTC'), "
        "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"+00:00\"'), '.000000+', '+')"
    )


def enum_name(column: str, enum: type[StrEnum]) -> str:
    """The GraphQL name of a stored enum value (members are exposed under their names)."""
    cases = " ".join(f"WHEN {literals.text(m.value)} THEN {literals.text(m.name)}" for m in enum)
    return f"CASE {column} {cases} END"


def cursor(prefix: str, alias: str = "c") -> str:
    """`api.pagination.encode_cursor` of a row: URL-safe base64 without padding."""
    raw = f"{literals.text(prefix)} || {iso_time(f'{alias}.created_at')} || '|' || {alias}.id"
    return f"rtrim(translate(encode(convert_to({raw}, 'UTF8'), 'base64'), E'+/\\n', '-_'), '=')"


def _column(table_columns: object, name: str) -> str:
    # The model's column, so a rename breaks here at import rather than in a query.
    getattr(table_columns, name)
    return name


_c = CLICKS.c
_e = EVENTS.c
_t = TYPES.c


def _click(name: str) -> str:
    return f"c.{_column(_c, name)}"


def _event(name: str) -> str:
    return f"e.{_column(_e, name)}"


def _subs() -> str:
    """`ClickType.subs`: sub1..subN up to the last one sent."""
    values = ", ".join(_click(f"sub{n}") for n in range(1, SUB_COUNT + 1))
    return (
        f"to_json((ARRAY[{values}])[1:(SELECT coalesce(max(i), 0) FROM unnest(ARRAY[{values}]) "
        "WITH ORDINALITY AS s(v, i) WHERE v IS NOT NULL)])"
    )


# GraphQL field of Click -> the JSON value's expression over `c`, a row of clicks.
CLICK_FIELDS: Mapping[str, str] = {
    "id": _click("id"),
    "createdAt": iso_time(_click("created_at")),
    "userAgent": _click("user_agent"),
    "deviceType": _click("device_type"),
    "os": _click("os"),
    "browser": _click("browser"),
    "isBot": _click("is_bot"),
    "isUnique": _click("is_unique"),
    "country": _click("country"),
    "referrer": _click("referrer"),
    "externalId": _click("external_id"),
    "cost": f"{_click('cost')}::text",
    "subs": _subs(),
    "params": _click("params"),
}

# GraphQL field of ConversionEvent -> expression over `e` (the event) and `t` (its type).
EVENT_FIELDS: Mapping[str, str] = {
    "id": f"{_event('id')}::text",
    "type": f"t.{_column(_t, 'name')}",
    "txid": _event("txid"),
    "status": enum_name(_event("status"), ConversionStatus),
    "amount": f"{_event('amount')}::text",
    "originalAmount": f"{_event('original_amount')}::text",
    "originalCurrency": _event("original_currency"),
    "cost": f"{_event('cost')}::text",
    "createdAt": iso_time(_event("created_at")),
    "updatedAt": iso_time(_event("updated_at")),
    # A numeric with microseconds: it decodes to the float timedelta.total_seconds() gives.
    "secondsFromClick": (
        f"extract(epoch FROM {_event('created_at')} - {_event('click_created_at')})"
    ),
    "countsAsConversion": f"t.{_column(_t, 'counts_as_conversion')}",
    "countsInRevenue": f"t.{_column(_t, 'counts_in_revenue')}",
    "params": _event("params"),
    "clickId": _event("click_id"),
}


# Fields whose JSON holds numbers that PostgreSQL writes otherwise than the answer's encoder
# (msgspec, from the floats they decode to: 90.000000 as 90.0, 0.0000001 as 1e-07): a page
# that selects one of them is decoded and encoded again. Every other value is text, a
# boolean, an integer or null, which both write alike (strings escaped alike, UTF-8 kept).
NUMBERS = frozenset(
    {("Click", "params"), ("ConversionEvent", "params"), ("ConversionEvent", "secondsFromClick")}
)


@dataclass(frozen=True, slots=True)
class Reference:
    """A click's campaign, offer or source: a row of ``table`` by the click's ``column``."""

    type_name: str
    table: str
    column: str
    # GraphQL field -> expression over `r`, the referenced row.
    fields: Mapping[str, str]

    def json(self, obj: str, workspace: str) -> str:
        """``obj`` of the row, or null when the click has none."""
        return (
            f"(SELECT {obj} FROM {self.table} r WHERE r.workspace_id = {workspace} "
            f"AND r.id = c.{_column(_c, self.column)})"
        )


def _row_fields(table: Table, **special: str) -> dict[str, str]:
    """The fields every catalog row has (id, status, createdAt), and ``special`` ones."""
    columns = table.c
    return {
        "id": f"r.{_column(columns, 'id')}::text",
        "status": enum_name(f"r.{_column(columns, 'status')}", RecordStatus),
        "createdAt": iso_time(f"r.{_column(columns, 'created_at')}"),
        **special,
    }


_campaigns, _offers, _sources = table_of(Campaign), table_of(Offer), table_of(TrafficSource)
# The plain fields of the catalog types; their resolvers (a campaign's source, offers, link,
# templates) make a document take the normal path.
REFERENCES: Mapping[str, Reference] = {
    "campaign": Reference(
        "Campaign",
        _campaigns.name,
        "campaign_id",
        _row_fields(
            _campaigns,
            key=f"r.{_column(_campaigns.c, 'key')}",
            name=f"r.{_column(_campaigns.c, 'name')}",
            costModel=enum_name(f"r.{_column(_campaigns.c, 'cost_model')}", CostModel),
            costValue=f"r.{_column(_campaigns.c, 'cost_value')}::text",
            attributionWindowDays=f"r.{_column(_campaigns.c, 'attribution_window_days')}",
        ),
    ),
    "offer": Reference(
        "Offer",
        _offers.name,
        "offer_id",
        _row_fields(
            _offers,
            name=f"r.{_column(_offers.c, 'name')}",
            url=f"r.{_column(_offers.c, 'url')}",
            payout=f"r.{_column(_offers.c, 'payout')}::text",
            currency=f"r.{_column(_offers.c, 'currency')}",
        ),
    ),
    "trafficSource": Reference(
        "TrafficSource",
        _sources.name,
        "traffic_source_id",
        _row_fields(
            _sources,
            name=f"r.{_column(_sources.c, 'name')}",
            clickIdParam=f"r.{_column(_sources.c, 'click_id_param')}",
        ),
    ),
}


# The event lists of a click: which of its events each holds (`Click.conversions`...).
# `events` narrows by its arguments, given as parameters (types, statuses) or None when null.
def _events_condition(types: str | None, statuses: str | None) -> str:
    conditions = []
    if types is not None:
        conditions.append(f"t.{_column(_t, 'name')} = ANY({types}::text[])")
    if statuses is not None:
        conditions.append(f"{_event('status')} = ANY({statuses}::text[])")
    return " AND ".join(conditions) or "true"


EVENT_LISTS: Mapping[str, Callable[[str | None, str | None], str]] = {
    "conversions": lambda _types, _statuses: f"t.{_column(_t, 'counts_as_conversion')}",
    "transactions": lambda _types, _statuses: f"t.name = {literals.text(TRANSACTION_TYPE)}",
    "events": _events_condition,
}


def event_list(obj: str, condition: str, workspace: str) -> str:
    """A click's events matching ``condition`` as a JSON array of ``obj``, oldest first (as
    the DataLoader reads them)."""
    return (
        f"(SELECT coalesce(json_agg({obj} ORDER BY e.created_at, e.id), '[]'::json) "
        "FROM conversion_events e JOIN conversion_types t "
        "ON t.workspace_id = e.workspace_id AND t.id = e.type_id "
        f"WHERE e.workspace_id = {workspace} AND e.click_created_at = c.created_at "
        f"AND e.click_id = c.id AND {condition})"
    )


# PostgreSQL cuts longer names (NAMEDATALEN), and a column name is a key here.
_MAX_NAME_BYTES = 63


def json_object(pairs: list[tuple[str, str]]) -> str:
    """The JSON object of (key, expression) pairs; keys are GraphQL names (no quotes).

    A row of the expressions named by the keys, made JSON by `to_json`: about a quarter less
    PostgreSQL CPU than json_build_object, which works out each argument's type and output
    function at every call (a page of 100 clicks, 7 fields: ~270 against ~330 us). The same
    JSON values either way; only the whitespace differs, and the answer is re-encoded.
    """
    if any(len(key) > _MAX_NAME_BYTES for key, _ in pairs):
        return "json_build_object(" + ", ".join(f"'{key}', {value}" for key, value in pairs) + ")"
    columns = ", ".join(f'{value} AS "{key}"' for key, value in pairs)
    return f"(SELECT to_json(o) FROM (SELECT {columns}) o)"


def keyset_page(
    *, newest_first: bool, after: tuple[str, str] | None, workspace: str, size: int
) -> str:
    """The page's rows and one more (which says whether more follow), after the cursor
    ``after`` (its time and id parameters): the normal path's statement without a filter
    (api.clicks.repository.page_statement), so PostgreSQL picks the same plan."""
    keyset = ""
    if after is not None:
        keyset = (
            f" AND (c.created_at, c.id) {'<' if newest_first else '>'} ({after[0]}, {after[1]})"
        )
    return (
        f"SELECT * FROM clicks c WHERE c.workspace_id = {workspace}{keyset} "
        f"ORDER BY {order_by(newest_first)} LIMIT {size + 1}"
    )


def click_page(connection: str, page: str, *, newest_first: bool, workspace: str, size: int) -> str:
    """The statement answering one `clicks` field: its JSON as text.

    ``connection`` is the connection's JSON expression over the CTEs `page` (``page``: the
    page's rows and one more) and `shown` (the page). `shown` names the workspace again
    (every row of the page is of it) so that the parameter has a type in every statement.
    """
    return (
        f"WITH page AS ({page}), shown AS (SELECT * FROM page c WHERE c.workspace_id = "
        f"{workspace} ORDER BY {order_by(newest_first)} LIMIT {size}) "
        f"SELECT ({connection})::text"
    )


def page_array(obj: str, order: str) -> str:
    """The page's rows as a JSON array of ``obj``, in the page's order."""
    return f"(SELECT coalesce(json_agg({obj} ORDER BY {order}), '[]'::json) FROM shown c)"


def order_by(newest_first: bool, *, reverse: bool = False) -> str:
    direction = "DESC" if newest_first != reverse else "ASC"
    return f"c.created_at {direction}, c.id {direction}"


def keyed(statement: str | None, *, workspace: str, secret_hash: str) -> str:
    """``statement``'s value (null without one) beside the id and scopes of the API key of
    ``secret_hash`` in the workspace, read as api.workspaces.repository.active_api_key reads
    it; no row when the key is unknown, revoked or may not read (and then ``statement`` is not
    run)."""
    scopes = ", ".join(literals.text(scope) for scope in sorted(READ_SCOPES))
    condition = active_key_condition("k", workspace=workspace, secret_hash=secret_hash)
    return (
        f"SELECT k.id, k.scopes, ({statement or 'NULL'}) FROM {API_KEYS_TABLE} k "
        f"WHERE {condition} AND k.scopes && ARRAY[{scopes}]::text[]"
    )
