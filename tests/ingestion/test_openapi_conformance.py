"""Schemathesis against the ingestion app's own OpenAPI schema: requests the schema calls valid
never meet a 5xx or a refusal of their syntax, and every answer matches what the schema says.

A bounded, derandomized run per operation, through the real app and database. The path segments
are the test workspace's real secret and campaign key, so requests reach past the first check.
"""

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from litestar.serialization import decode_json, encode_json
from schemathesis import Case
from schemathesis.specs.openapi.checks import positive_data_acceptance

from ingestion.app import create_app
from models.settings import Settings
from tests.ingestion.conftest import Client, TrackedCampaign

_APP = create_app(Settings(database_url="postgresql://unused/unused", _env_file=None))
# As served: through Litestar's encoder.
_SCHEMA = schemathesis.openapi.from_dict(decode_json(encode_json(_APP.openapi_schema.to_schema())))
# An operation the schema describes badly is an Err, and fails loudly here.
_OPERATIONS = {
    f"{op.method.upper()} {op.path}": op
    for op in (result.ok() for result in _SCHEMA.get_all_operations())  # type: ignore[union-attr]
}
# What a valid request may be answered, besides the documented: never 400 for its syntax. A 400
# for what OpenAPI cannot say (two aliases given different values, none of the click id's names
# given) is allowed, as is refusing a click id, type or currency the workspace does not know.
_ACCEPTED = {
    "GET /health": {200, 503},
    "GET /c/{campaign_key}": {302, 404},
    "POST /clicks": {201, 404},
    "GET /postback/{secret}": {200, 400, 404, 409, 422},
    "POST /postback/{secret}": {200, 400, 404, 409, 422},
    "GET /pixel/{filename}": {200},
}
_SYNTAX_OF_NO_SCHEMA = {"ambiguous_parameter", "missing_click_id"}


def test_every_operation_is_exercised():
    assert set(_OPERATIONS) == set(_ACCEPTED)


@pytest.mark.parametrize("operation", sorted(_OPERATIONS))
@settings(
    max_examples=25,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
async def test_valid_requests_get_documented_answers(
    ingestion_client: Client, campaign: TrackedCampaign, operation: str, data: st.DataObject
):
    case: Case[Any] = data.draw(_OPERATIONS[operation].as_strategy())
    real = {
        "secret": campaign.secret,
        "filename": f"{campaign.secret}.gif",
        "campaign_key": campaign.key,
    }
    for name in case.path_parameters or {}:
        case.path_parameters[name] = real[name]
    kwargs = _httpx(case.as_transport_kwargs(base_url=""))
    response = await ingestion_client.request(**kwargs, follow_redirects=False)
    # Schemathesis' own acceptance check, without the exceptions below.
    case.validate_response(response, excluded_checks=[positive_data_acceptance])
    assert response.status_code in _ACCEPTED[operation], response.text
    if response.status_code == 400:
        assert response.json()["error"] in _SYNTAX_OF_NO_SCHEMA, response.text


def _httpx(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Requests' keyword arguments, as httpx takes them."""
    kwargs.pop("cookies", None)
    if isinstance(kwargs.get("data"), bytes | str):
        kwargs["content"] = kwargs.pop("data")
    return kwargs
