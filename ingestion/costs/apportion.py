"""Spreading a total of millionths over clicks exactly: no millionth lost or made up."""


def batch_share(total: int, clicks: int, through: int, spread: int) -> int:
    """What a batch spreads of ``total`` over ``clicks`` planned clicks: the total's part up to
    planned click ``through`` (rounded down), less what earlier batches ``spread``.

    The last batch (``through == clicks``) takes all that is left, so the batches sum to the
    total exactly; a batch that found no clicks leaves its part to the next.
    """
    return total * through // clicks - spread


def spread_evenly(amount: int, count: int) -> list[int]:
    """``amount`` over ``count`` clicks in key order, summing to it exactly: each gets the
    quotient, and the first ``amount % count`` one more (the largest remainder method, with
    equal remainders going to the earlier clicks)."""
    quotient, remainder = divmod(amount, count)
    return [quotient + 1] * remainder + [quotient] * (count - remainder)
