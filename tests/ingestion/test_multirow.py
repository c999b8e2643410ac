"""Batched inserts as multi-row VALUES: every row, in order, in as few statements as allowed."""

import pytest

from ingestion.multirow import chunks, values_list


@pytest.mark.parametrize("count", [0, 1, 2, 50, 511, 512, 513, 1500])
def test_chunks_keep_every_row_in_order_in_as_few_statements_as_allowed(count: int):
    rows = list(range(count))
    cut = list(chunks(rows))
    assert [row for chunk in cut for row in chunk] == rows
    assert len(cut) == -(-count // 512)


def test_values_list_numbers_parameters_row_by_row():
    assert values_list(2, 3) == "($1, $2), ($3, $4), ($5, $6)"
