"""Optional HMAC-SHA256 signatures on postbacks.

Header: ``X-Clicktrail-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<payload>")>``
where the payload is the raw body of a POST, or the raw query string of a GET (or of a POST
without a body). A signed POST with a body may not carry a query string: it would be unsigned.
"""

import hashlib
import hmac
import re
from datetime import datetime

from ingestion.errors import IngestionError

HEADER = "X-Clicktrail-Signature"
TOLERANCE_S = 300
# ASCII digits only, as `sign` writes them (int() would also take "+1", "1_0", spaces and
# Arabic-Indic digits), and few enough that the time stays a float (t=10^400 overflowed).
_TIMESTAMP = re.compile(r"[0-9]{1,12}")


def sign(secret: str, timestamp: int, payload: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def verify(secret: str, header: str | None, payload: bytes, now: datetime) -> None:
    if not header:
        raise _bad(f"this workspace requires the {HEADER} header")
    fields = dict(part.strip().partition("=")[::2] for part in header.split(","))
    if not _TIMESTAMP.fullmatch(fields.get("t", "")):
        raise _bad(f"{HEADER} needs t=<unix seconds>,v1=<hex>")
    timestamp = int(fields["t"])
    if abs(now.timestamp() - timestamp) > TOLERANCE_S:
        raise _bad(f"signature timestamp is more than {TOLERANCE_S} s from the server's clock")
    expected = sign(secret, timestamp, payload).rpartition("v1=")[2]
    # Compared as bytes: compare_digest refuses str with non-ASCII characters (a TypeError).
    given = fields.get("v1", "").encode("utf-8", "replace")
    if not hmac.compare_digest(expected.encode(), given):
        raise _bad("signature does not match the payload")


def _bad(detail: str) -> IngestionError:
    return IngestionError("bad_signature", detail, status_code=401)
