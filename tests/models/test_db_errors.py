"""Database errors read alike from PostgreSQL and as a Citus worker sends them.

The shard-suffixed shape comes from real constraints named as Citus names a shard's, in a
schema of the test's own; the coordinator's relay (SQLSTATE and message kept, the
constraint_name and table_name fields dropped) is PL/pgSQL re-raising the caught error so.
"""

from collections.abc import AsyncIterator

import asyncpg
import pytest
from sqlalchemy import make_url

from models.db_errors import constraint_of, table_of, unsharded

SCHEMA = "citus_shape"
# A caught error raised again with its SQLSTATE and message only, as a coordinator relays it.
RELAY = """
DO $$
DECLARE state text; message text;
BEGIN
    {statement};
EXCEPTION WHEN others THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, message = MESSAGE_TEXT;
    RAISE EXCEPTION USING ERRCODE = state, MESSAGE = message;
END $$
"""


@pytest.fixture
async def shards(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    dsn = make_url(database_url).set(drivername="postgresql").render_as_string(False)
    conn = await asyncpg.connect(dsn)
    await conn.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE; CREATE SCHEMA {SCHEMA}")
    await conn.execute(
        f"""
        CREATE TABLE {SCHEMA}.offers_102010 (
            workspace_id bigint, id bigint,
            CONSTRAINT pk_offers_102010 PRIMARY KEY (workspace_id, id));
        CREATE TABLE {SCHEMA}.campaigns_102233 (
            workspace_id bigint, id bigint, key text, cost_value numeric,
            CONSTRAINT uq_campaigns_workspace_id_key_102233 UNIQUE (workspace_id, key),
            CONSTRAINT ck_campaigns_revshare_percent_102233 CHECK (cost_value <= 100));
        CREATE TABLE {SCHEMA}.campaign_offers_102050 (
            workspace_id bigint, offer_id bigint,
            CONSTRAINT fk_campaign_offers_offers_102050 FOREIGN KEY (workspace_id, offer_id)
                REFERENCES {SCHEMA}.offers_102010);
        INSERT INTO {SCHEMA}.offers_102010 VALUES (1, 1);
        INSERT INTO {SCHEMA}.campaign_offers_102050 VALUES (1, 1);
        INSERT INTO {SCHEMA}.campaigns_102233 VALUES (1, 1, 'summer', 0);
        """
    )
    try:
        yield conn
    finally:
        await conn.execute(f"DROP SCHEMA {SCHEMA} CASCADE")
        await conn.close()


DUPLICATE = f"INSERT INTO {SCHEMA}.campaigns_102233 VALUES (1, 2, 'summer', 0)"
OVER_100 = f"INSERT INTO {SCHEMA}.campaigns_102233 VALUES (1, 3, 'winter', 101)"
STILL_USED = f"DELETE FROM {SCHEMA}.offers_102010"


@pytest.mark.parametrize("relayed", [False, True], ids=["with fields", "relayed"])
@pytest.mark.parametrize(
    ("statement", "kind", "constraint", "table"),
    [
        (DUPLICATE, asyncpg.UniqueViolationError, "uq_campaigns_workspace_id_key", "campaigns"),
        (OVER_100, asyncpg.CheckViolationError, "ck_campaigns_revshare_percent", "campaigns"),
        (
            STILL_USED,
            asyncpg.ForeignKeyViolationError,
            "fk_campaign_offers_offers",
            "campaign_offers",
        ),
    ],
)
async def test_constraint_and_table_are_read_without_shard_suffixes(
    shards: asyncpg.Connection,
    statement: str,
    kind: type[asyncpg.PostgresError],
    constraint: str,
    table: str,
    relayed: bool,
):
    with pytest.raises(kind) as caught:
        await shards.execute(RELAY.format(statement=statement) if relayed else statement)
    error = caught.value
    assert bool(error.constraint_name) is not relayed  # the relay drops the fields
    assert constraint_of(error) == constraint
    # A unique violation's message names no table: only the field does.
    assert table_of(error) == (None if relayed and kind is asyncpg.UniqueViolationError else table)


async def test_a_missing_partition_names_no_constraint(shards: asyncpg.Connection):
    await shards.execute(
        f"CREATE TABLE {SCHEMA}.clicks_102008 (created_at timestamptz) "
        "PARTITION BY RANGE (created_at)"
    )
    statement = f"INSERT INTO {SCHEMA}.clicks_102008 VALUES (now())"
    for sql in (statement, RELAY.format(statement=statement)):
        with pytest.raises(asyncpg.CheckViolationError) as caught:
            await shards.execute(sql)
        assert constraint_of(caught.value) is None
        assert table_of(caught.value) == "clicks"


def test_only_a_trailing_shard_id_is_dropped():
    assert unsharded("uq_campaigns_workspace_id_key_102233") == "uq_campaigns_workspace_id_key"
    assert unsharded("clicks_y2026m12_102240") == "clicks_y2026m12"
    assert unsharded("clicks_y2026m12") == "clicks_y2026m12"
    assert unsharded("ix_clicks_sub1") == "ix_clicks_sub1"
