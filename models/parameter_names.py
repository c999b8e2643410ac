"""The parameter names networks use for each field of an event report, in order of preference.

Postbacks read them from a query string or body, uploads from a file's column names: one list
for both.
"""

CLICK_ID = ("clickid", "cid", "subid", "click_id")
AMOUNT = ("sum", "payout", "revenue", "amount")
TXID = ("txid", "tid", "transaction_id")
TYPE = ("type", "et")
STATUS = ("status",)
CURRENCY = ("currency",)
# Uploads only: when the conversion happened (a postback happens when it arrives).
CONVERSION_TIME = ("conversion_time", "time", "timestamp", "date")
