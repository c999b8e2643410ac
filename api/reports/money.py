"""Money in reports: integer millionths of the workspace currency (as rollups sum them), written
as the Decimal scalar writes a stored amount, six places; per-click and per-conversion money
rounded to the millionth, half to even, in integers (Decimal arithmetic took 11 us a row).

The column-wide functions write what the one-value ones write, a list at a time: the compiled
report path (api.compiled.report) writes thousands of values a request.
"""

from collections.abc import Sequence
from decimal import Decimal

from models.rollups import MICROS

# Decimal places of the rollups' integer sums (millionths), those of a stored amount.
_MONEY_PLACES = len(str(MICROS)) - 1
_EXACT = 10**27
_EXACT_DIGITS = len(str(_EXACT))
# A non-negative amount from divmod(millionths, MICROS): "12.345678".
_MONEY_FORMAT = f"%d.%0{_MONEY_PLACES}d"


def money(micros: int) -> Decimal:
    """Integer millionths as the decimal they are, with six places like a stored amount."""
    return Decimal(micros).scaleb(-_MONEY_PLACES)


def money_text(micros: int) -> str:
    """``str(money(micros))``, the Decimal scalar's text, without a Decimal (4x cheaper)."""
    if not -_EXACT < micros < _EXACT:
        # Past the Decimal context's 28 digits money() rounds, and str() writes an exponent.
        return str(money(micros))
    if micros < 0:
        return "-" + money_text(-micros)
    digits = str(micros).rjust(_MONEY_PLACES + 1, "0")
    return f"{digits[:-_MONEY_PLACES]}.{digits[-_MONEY_PLACES:]}"


def money_texts(column: Sequence[int]) -> list[str]:
    """``money_text`` of each, one formatting a value where every one is exact."""
    if not column or not (min(column) > -_EXACT and max(column) < _EXACT):
        return [money_text(v) for v in column]
    return [
        _MONEY_FORMAT % divmod(v, MICROS) if v >= 0 else "-" + _MONEY_FORMAT % divmod(-v, MICROS)
        for v in column
    ]


def money_of_texts(column: Sequence[str]) -> list[str]:
    """``money_text`` of each integer's text (PostgreSQL's of a numeric sum): a decimal point
    put into the digits, which costs half of reading and formatting the integer."""
    return [
        f"{digits[:-_MONEY_PLACES]}.{digits[-_MONEY_PLACES:]}"
        if _MONEY_PLACES < len(digits) < _EXACT_DIGITS and digits[0] != "-"
        else money_text(int(digits))
        for digits in column
    ]


def money_per(dividends: Sequence[int], divisors: Sequence[int]) -> Sequence[str | None]:
    """``money_text(divided(d, k))`` of each pair, None where k is 0 (epc, cpa)."""
    quotients: list[int | None] = []
    for dividend, divisor in zip(dividends, divisors, strict=True):
        if divisor > 0:
            # divided() in one divmod: d / k + 1/2 rounded down, a tie taken back to even.
            quotient, remainder = divmod(2 * dividend + divisor, 2 * divisor)
            quotients.append(quotient - 1 if not remainder and quotient % 2 else quotient)
        else:
            quotients.append(None if not divisor else divided(dividend, divisor))
    present = [q for q in quotients if q is not None]
    if len(present) == len(quotients):
        return money_texts(present)
    texts = iter(money_texts(present))
    return [None if q is None else next(texts) for q in quotients]


def divided(dividend: int, divisor: int) -> int:
    """dividend / divisor (divisor > 0) rounded to an integer, half to even."""
    quotient, remainder = divmod(dividend, divisor)
    if 2 * remainder > divisor or (2 * remainder == divisor and quotient % 2):
        quotient += 1
    return quotient
