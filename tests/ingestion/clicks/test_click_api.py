import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from models.click_ids import click_time
from tests.ingestion.conftest import Client, TrackedCampaign, count


async def test_one_click_returns_its_id_and_url(
    ingestion_client: Client, session: AsyncSession, campaign: TrackedCampaign
):
    response = await ingestion_client.post(
        "/clicks",
        json={
            "campaign_key": "summer",
            "ip": "203.0.113.9",
            "country": "it",
            "params": {"sub1": "s"},
        },
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert click_time(body["click_id"]) is not None
    assert f"cid={body['click_id']}&s1=s" in body["url"]
    row = (await session.execute(text("SELECT host(ip) AS ip, country, sub1 FROM clicks"))).one()
    assert tuple(row) == ("203.0.113.9", "IT", "s")


async def test_a_batch_returns_ids_in_order(
    ingestion_client: Client, session: AsyncSession, campaign: TrackedCampaign
):
    batch = [{"campaign_key": "summer", "params": {"sub1": str(i)}} for i in range(25)]
    response = await ingestion_client.post("/clicks", json=batch)
    assert response.status_code == 201
    ids = [item["click_id"] for item in response.json()]
    assert len(set(ids)) == 25
    subs: dict[str, object] = dict(
        (await session.execute(text("SELECT id, sub1 FROM clicks"))).all()
    )
    assert [subs[i] for i in ids] == [str(i) for i in range(25)]


async def test_invalid_bodies_get_a_clear_400(
    ingestion_client: Client, session: AsyncSession, campaign: TrackedCampaign
):
    for body, fragment in [
        ({"campaign_key": "summer", "ip": "not-an-ip"}, "not an IP address"),
        ({"campaign_key": "summer", "colour": "red"}, "colour"),
        ([], "body"),
        ({"campaign_key": "summer", "params": {"sub1": "\x00"}}, "NUL"),
    ]:
        response = await ingestion_client.post("/clicks", json=body)
        assert response.status_code == 400, body
        assert fragment in response.json()["detail"], response.json()
    response = await ingestion_client.post("/clicks", json={"campaign_key": "nope"})
    assert response.status_code == 404
    assert response.json()["error"] == "unknown_campaign"
    assert await count(session, "SELECT count(*) FROM clicks") == 0


async def test_a_nul_in_a_text_field_gets_400_and_stores_nothing(
    ingestion_client: Client, session: AsyncSession, campaign: TrackedCampaign
):
    for field in ("user_agent", "referrer", "campaign_key"):
        body = {"campaign_key": "summer", field: "sum\x00mer"}
        response = await ingestion_client.post("/clicks", json=body)
        assert response.status_code == 400, field
        assert response.json()["detail"].startswith(f"{field}: "), response.json()
    response = await ingestion_client.post("/clicks", json={"campaign_key": "summer!"})
    assert response.status_code == 400
    assert "4 to 64 letters" in response.json()["detail"]
    assert await count(session, "SELECT count(*) FROM clicks") == 0


async def test_a_batch_with_a_refused_item_records_none_and_names_the_item(
    ingestion_client: Client, session: AsyncSession, campaign: TrackedCampaign
):
    good = {"campaign_key": "summer"}
    for batch, status, detail in [
        ([good, good, {"campaign_key": "nope"}, good], 404, "item 2: no active campaign"),
        ([good, {**good, "user_agent": "\x00"}, good], 400, "item 1: user_agent: "),
        ([good, good, {**good, "ip": "x"}], 400, "item 2: ip 'x' is not"),
    ]:
        response = await ingestion_client.post("/clicks", json=batch)
        assert response.status_code == status
        assert response.json()["detail"].startswith(detail), response.json()
    assert await count(session, "SELECT count(*) FROM clicks") == 0
    response = await ingestion_client.post("/clicks", json=[good, good, good])
    assert response.status_code == 201
    assert await count(session, "SELECT count(*) FROM clicks") == 3


async def test_deeply_nested_json_gets_400_not_500(
    ingestion_client: Client, session: AsyncSession, campaign: TrackedCampaign
):
    for body in [b"[" * 1000 + b"]" * 1000, b'{"a":' * 1000 + b"1" + b"}" * 1000]:
        response = await ingestion_client.post(
            "/clicks", content=body, headers={"Content-Type": "application/json"}
        )
        assert (response.status_code, response.json()["error"]) == (400, "invalid_body")
    response = await ingestion_client.post(
        "/clicks", json={"campaign_key": "summer", "params": {"sub1": {"a": [[[]]]}}}
    )
    assert (response.status_code, response.json()["error"]) == (400, "invalid_body")
    assert "params" in response.json()["detail"]
    assert await count(session, "SELECT count(*) FROM clicks") == 0


@pytest.mark.parametrize(
    "body",
    [
        b'{"campaign_key": "nope", "campaign_key": "summer"}',
        b'{"campaign_key": "summer", "params": {"sub1": "a", "sub1": "b"}}',
        b'[{"campaign_key": "summer"}, {"campaign_key": "summer", "ip": "1.2.3.4", "ip": null}]',
    ],
)
async def test_a_name_given_twice_with_different_values_gets_400(
    ingestion_client: Client, session: AsyncSession, campaign: TrackedCampaign, body: bytes
):
    response = await ingestion_client.post(
        "/clicks", content=body, headers={"Content-Type": "application/json"}
    )
    assert (response.status_code, response.json()["error"]) == (400, "invalid_body")
    assert "is given twice with different values" in response.json()["detail"]
    assert await count(session, "SELECT count(*) FROM clicks") == 0


async def test_a_body_that_is_not_declared_json_gets_415(
    ingestion_client: Client, session: AsyncSession, campaign: TrackedCampaign
):
    for content_type in ["text/plain", "application/x-www-form-urlencoded", None]:
        headers = {"Content-Type": content_type} if content_type else {}
        response = await ingestion_client.post(
            "/clicks", content=b'{"campaign_key": "summer"}', headers=headers
        )
        assert (response.status_code, response.json()["error"]) == (
            415,
            "unsupported_media_type",
        ), content_type
    assert await count(session, "SELECT count(*) FROM clicks") == 0
    response = await ingestion_client.post(
        "/clicks",
        content=b'{"campaign_key": "summer"}',
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert response.status_code == 201


async def test_a_country_with_a_trailing_newline_gets_400_not_503(
    ingestion_client: Client, session: AsyncSession, campaign: TrackedCampaign
):
    response = await ingestion_client.post(
        "/clicks", json={"campaign_key": "summer", "country": "DE\n"}
    )
    assert (response.status_code, response.json()["error"]) == (400, "invalid_body")
    assert "country" in response.json()["detail"]
    assert await count(session, "SELECT count(*) FROM clicks") == 0
