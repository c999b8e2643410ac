"""The histogram's SQL: one statement over the raw click and event tables.

Rollups count events, not their delays, so this reads `conversion_events` joined to the clicks
the filter matches. Every bucket is one `count(*) FILTER` of a single pass; the totals per type
come from the same pass (GROUPING SETS), and the page is cut in SQL.
"""

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, func, select
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine

from api.click_filter import CLICKS, ClickFilter, click_condition
from api.dimensions import ReportDimension


@dataclass(frozen=True, slots=True)
class DelayQuery:
    workspace_id: int
    filter: ClickFilter | None
    dimension: ReportDimension | None
    types: tuple[str, ...] | None
    statuses: tuple[str, ...]
    threshold_seconds: int
    # Lower bounds of the buckets in seconds, the first 0; the last bucket is open-ended.
    edges: tuple[int, ...]
    first: int


async def delays(engine: AsyncEngine, query: DelayQuery, *, timeout_ms: int) -> list[Row[Any]]:
    """Totals first (``total`` true), then the page of groups; each row names its type."""
    sql, parameters = statement(query, engine.dialect)
    async with engine.connect() as conn, conn.begin():
        await conn.execute(
            select(
                func.set_config("statement_timeout", str(timeout_ms), True),
                func.set_config("jit", "off", True),
            )
        )
        return list((await conn.exec_driver_sql(sql, tuple(parameters))).all())


def statement(query: DelayQuery, dialect: Dialect) -> tuple[str, list[object]]:
    columns = [CLICKS.c.created_at, CLICKS.c.id]
    if query.dimension is not None:
        columns.append(CLICKS.c[query.dimension.value])
    compiled = (
        select(*columns)
        .where(click_condition(CLICKS, query.filter, workspace_id=query.workspace_id))
        .compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
    )
    values: list[object] = [compiled.params[name] for name in compiled.positiontup or ()]

    def p(value: object, cast: str) -> str:
        values.append(value)
        return f"${len(values)}::{cast}"

    key = "NULL::text" if query.dimension is None else f"m.{query.dimension.value}::text"
    where = [
        f"e.workspace_id = {p(query.workspace_id, 'bigint')}",
        f"e.status = ANY({p(list(query.statuses), 'text[]')})",
    ]
    f = query.filter
    # Events live in their click's month: the click range picks the partitions to read.
    if f is not None and f.created_from is not None:
        where.append(f"e.click_created_at >= {p(f.created_from, 'timestamptz')}")
    if f is not None and f.created_before is not None:
        where.append(f"e.click_created_at < {p(f.created_before, 'timestamptz')}")
    if query.types is not None:
        where.append(f"t.name = ANY({p(list(query.types), 'text[]')})")
    counts = []
    for low, high in zip(query.edges, (*query.edges[1:], None), strict=True):
        condition = [f"seconds >= {low}"] + ([f"seconds < {high}"] if high is not None else [])
        counts.append(f"count(*) FILTER (WHERE {' AND '.join(condition)})")
    threshold = p(query.threshold_seconds, "float8")
    first = p(query.first, "integer")
    sql = f"""WITH delays AS (
SELECT {key} AS key, t.name AS type,
  greatest(extract(epoch FROM e.created_at - e.click_created_at)::float8, 0) AS seconds
FROM conversion_events AS e
JOIN conversion_types AS t ON t.workspace_id = e.workspace_id AND t.id = e.type_id
JOIN (
{compiled}
) AS m ON m.created_at = e.click_created_at AND m.id = e.click_id
WHERE {" AND ".join(where)}
), grouped AS (
SELECT grouping(key) = 1 AS total, key, type, count(*) AS events,
  count(*) FILTER (WHERE seconds < {threshold}) AS under_threshold,
  percentile_cont(0.5) WITHIN GROUP (ORDER BY seconds) AS median_seconds,
  ARRAY[{", ".join(counts)}] AS counts
FROM delays
GROUP BY GROUPING SETS ((key, type), (type))
), ranked AS (
SELECT grouped.*,
  row_number() OVER (PARTITION BY total ORDER BY events DESC, key NULLS FIRST, type) AS rank,
  count(*) FILTER (WHERE NOT total) OVER () AS total_rows
FROM grouped
)
SELECT total, key, type, events, under_threshold, median_seconds, counts, total_rows
FROM ranked
WHERE total OR rank <= {first}
ORDER BY total DESC, rank"""
    return sql, values
