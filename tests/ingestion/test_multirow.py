"""Batched inserts as multi-row VALUES: every row, in order, in few statement texts."""

import pytest

from ingestion.multirow import chunks, values_list


@pytest.mark.parametrize("count", [0, 1, 2, 3, 50, 300, 511, 512, 513, 1500])
def test_chunks_keep_every_row_in_order_in_power_of_two_sizes(count: int):
    rows = list(range(count))
    cut = list(chunks(rows))
    assert [row for chunk in cut for row in chunk] == rows
    assert all(len(chunk) & (len(chunk) - 1) == 0 for chunk in cut)
    assert all(len(chunk) <= 512 for chunk in cut)
    # Largest first, so a batch takes at most one statement per size below 512.
    assert [len(c) for c in cut] == sorted((len(c) for c in cut), reverse=True)


def test_values_list_numbers_parameters_row_by_row():
    assert values_list(2, 3) == "($1, $2), ($3, $4), ($5, $6)"
