"""Rules every writer of conversion events follows: dedup keys, status changes, event cost."""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from models.enums import ConversionStatus, CostModel, DuplicatePolicy

_MICRO = Decimal("0.000001")
_PERCENT = Decimal(100)

# pending -> approved/declined; approved -> declined is a chargeback; declined is final.
_ALLOWED = {
    ConversionStatus.PENDING: {ConversionStatus.APPROVED, ConversionStatus.DECLINED},
    ConversionStatus.APPROVED: {ConversionStatus.DECLINED},
    ConversionStatus.OTHER: {
        ConversionStatus.PENDING,
        ConversionStatus.APPROVED,
        ConversionStatus.DECLINED,
    },
}


def status_change_allowed(old: ConversionStatus, new: ConversionStatus) -> bool:
    return new == old or new in _ALLOWED.get(old, set())


def dedup_txid(policy: DuplicatePolicy, txid: str) -> str:
    """One event per txid for NEW_PER_TXID types; one event per click for the others."""
    return txid if policy is DuplicatePolicy.NEW_PER_TXID else ""


@dataclass(frozen=True, slots=True)
class EventCost:
    """What a campaign pays its traffic source per event: CPA campaigns their cost value for
    each event that counts as a conversion, RevShare campaigns their cost value in percent of
    each event's revenue. CPC and CPM campaigns pay per click, so their events cost nothing."""

    model: CostModel
    value: Decimal
    counts_as_conversion: bool
    counts_in_revenue: bool

    def of(self, amount: Decimal) -> Decimal:
        """The cost of an event of this amount (in the workspace currency)."""
        if self.model is CostModel.CPA and self.counts_as_conversion:
            return self.value
        if self.model is CostModel.REVSHARE and self.counts_in_revenue:
            return (amount * self.value / _PERCENT).quantize(_MICRO, rounding=ROUND_HALF_UP)
        return Decimal(0)
