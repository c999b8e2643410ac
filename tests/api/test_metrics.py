"""The API's /metrics: requests by route and status, and reports by the table they read."""

from api.workspaces.service import NewWorkspace
from tests.api.graphql import auth
from tests.metrics_text import value

REPORTS = "clicktrail_report_duration_seconds_count"
REQUESTS = "clicktrail_http_request_duration_seconds_count"


async def test_reports_are_timed_by_their_source(api_client, workspace: NewWorkspace):
    before = (await api_client.get("/metrics")).text
    rollup = "{ report(groupBy: [CAMPAIGN]) { source rows { clicks } } }"
    raw = "{ report(groupBy: [SUB1]) { source rows { clicks } } }"
    for query in (rollup, raw):
        response = await api_client.post("/graphql", json={"query": query}, headers=auth(workspace))
        assert "errors" not in response.json(), response.json()
    sources = []
    for query in (rollup, raw):
        body = (
            await api_client.post("/graphql", json={"query": query}, headers=auth(workspace))
        ).json()
        assert "errors" not in body, body
        sources.append(body["data"]["report"]["source"])
    after = (await api_client.get("/metrics")).text
    assert sources[1] == "raw"
    assert sources[0].startswith("rollup_")
    for source in set(sources):
        assert value(after, REPORTS, source=source) - value(before, REPORTS, source=source) == 2
    assert (
        value(after, REQUESTS, route="/graphql", method="POST", status="200")
        - value(before, REQUESTS, route="/graphql", method="POST", status="200")
        == 4
    )
