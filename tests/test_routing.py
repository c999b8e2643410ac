"""The parse-tree check behind the suite's statement capture: it must catch what Citus would
send to every shard, and pass what it routes to one."""

import pytest

from tests.routing import Rules, problems

RULES = Rules.from_metadata()


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM clicks k WHERE k.workspace_id = $1 AND k.id = ANY($2)",
        "SELECT * FROM clicks WHERE workspace_id = $1::BIGINT",
        # Through a chain of equalities, a LEFT JOIN and a correlated subquery.
        "SELECT * FROM clicks k JOIN campaigns c ON c.workspace_id = k.workspace_id "
        "LEFT JOIN offers o ON o.workspace_id = k.workspace_id AND o.id = k.offer_id "
        "WHERE k.workspace_id = $1 AND EXISTS (SELECT 1 FROM conversion_events e "
        "WHERE e.workspace_id = k.workspace_id AND e.click_id = k.id)",
        "SELECT * FROM clicks JOIN campaigns USING (workspace_id) WHERE workspace_id = 7",
        "SELECT * FROM (SELECT * FROM clicks WHERE workspace_id = $1) c "
        "JOIN workspaces w ON w.id = c.workspace_id",
        "INSERT INTO postback_log (workspace_id, query) VALUES ($1, $2), ($3, $4)",
        'COPY "clicks"("workspace_id", "id") FROM STDIN (FORMAT binary)',
        "UPDATE workspaces SET name = $1 WHERE id = $2",
        "DELETE FROM campaigns WHERE workspace_id = $1 AND id = $2",
        # Directories are reference tables: any look-up reaches one node.
        "SELECT workspace_id FROM campaign_keys WHERE key = $1",
        "SELECT 1",
    ],
)
def test_statements_that_reach_one_shard_pass(sql: str):
    assert problems(sql, RULES) == []


@pytest.mark.parametrize(
    ("sql", "problem"),
    [
        ("SELECT * FROM campaigns WHERE key = $1", "campaigns (campaigns) is read without"),
        ("SELECT * FROM clicks k WHERE k.workspace_id = ANY($1)", "clicks (k)"),
        ("SELECT * FROM clicks k WHERE k.workspace_id = $1 OR k.id = $2", "clicks (k)"),
        (
            "SELECT k.* FROM jsonb_to_recordset($1::jsonb) AS q(workspace_id bigint, id text) "
            "JOIN clicks k ON k.workspace_id = q.workspace_id AND k.id = q.id",
            "clicks (k)",
        ),
        (
            "INSERT INTO postback_log (workspace_id, query) "
            "SELECT * FROM jsonb_to_recordset($1::jsonb) AS h(workspace_id bigint, query text)",
            "runs through the coordinator",
        ),
        ("INSERT INTO campaigns (id, name) VALUES ($1, $2)", "INSERT into campaigns without"),
        ('COPY "clicks"("id") FROM STDIN', "COPY into clicks without workspace_id"),
        ("SELECT id FROM workspaces", "workspaces (workspaces) is read without id"),
        ("DELETE FROM click_fingerprints WHERE last_click_at < $1", "click_fingerprints"),
        (
            "SELECT * FROM clicks k WHERE k.workspace_id = $1 AND EXISTS "
            "(SELECT 1 FROM conversion_events e WHERE e.click_id = k.id)",
            "conversion_events (e)",
        ),
        ("SELECT * FROM clicks_y2026m12 WHERE id = $1", "clicks (clicks_y2026m12)"),
        ("LOCK TABLE clicks IN SHARE MODE", "LockStmt on clicks"),
        (
            "SELECT * FROM clicks WHERE workspace_id = $1 UNION ALL SELECT * FROM clicks",
            "clicks (clicks)",
        ),
    ],
)
def test_statements_that_reach_every_shard_are_caught(sql: str, problem: str):
    assert any(problem in found for found in problems(sql, RULES)), problems(sql, RULES)
