"""Rules every writer of conversion events follows: dedup keys and status changes."""

from models.enums import ConversionStatus, DuplicatePolicy

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
