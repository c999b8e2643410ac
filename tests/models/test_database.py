"""The engine reads json and jsonb values as json.loads would."""

import json

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

DOCUMENTS = [
    '{"conversion": [1272, 107985.74], "transaction": [910, 0.1]}',
    '{"sub1": "café 東京", "empty": "", "none": null, "flags": [true, false]}',
    '{"big": 123456789012345678901234567890, "tiny": 1e-320, "negative": -0.0}',
    '{"a": 1, "a": 2}',
    '{"huge": 1e400, "minus": -1e400}',
    '[1, [2, [3, {"four": [5]}]]]',
]


@pytest.mark.parametrize("document", DOCUMENTS)
async def test_json_values_read_as_json_loads_reads_them(engine: AsyncEngine, document: str):
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                text(
                    "SELECT CAST(CAST(:d AS text) AS json) AS j,"
                    " CAST(CAST(:d AS text) AS jsonb) AS b,"
                    " CAST(CAST(:d AS text) AS jsonb)::text AS printed"
                ),
                {"d": document},
            )
        ).one()
    assert _same(row.j, json.loads(document))
    # jsonb keeps its own form of the document (key order, numbers): what it prints.
    assert _same(row.b, json.loads(row.printed))


def _same(left: object, right: object) -> bool:
    """Equal down to the float forms (-0.0, inf): json.dumps writes them apart."""
    return json.dumps(left) == json.dumps(right)
