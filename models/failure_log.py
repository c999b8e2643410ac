"""Logging a failure that repeats until it stops, as a database outage does.

Every loop, batch and request that met a dead database used to log its own traceback: a 15 s
outage grew the ingestion log by ~383,000 lines, and rollup compaction alone logged ~90 lines
every 2 s. A `FailureLog` logs the first failure with its traceback, then at most one short
line per `every_s` seconds while the failures go on, then one line when the work succeeds
again. The success path costs one attribute test.
"""

import logging
import time
from collections.abc import Callable

# A short line at most this often while a failure lasts.
REPEAT_EVERY_S = 10.0
# Error messages (SQLAlchemy's carry the statement) are cut to their first line and this long.
_MAX_DETAIL = 300


class FailureLog:
    """One piece of work that can fail repeatedly (commit clicks, compact rollups...).

    `what` names the work as a verb phrase: lines read "could not <what>", "still cannot
    <what>", "can <what> again". Call `failed` with each failure and `recovered` after each
    success. One instance per piece of work and process; not thread-safe (one event loop).
    """

    __slots__ = ("_clock", "_count", "_every_s", "_logger", "_shown", "_since", "_what", "failing")

    def __init__(
        self,
        logger: logging.Logger,
        what: str,
        *,
        every_s: float = REPEAT_EVERY_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._logger = logger
        self._what = what
        self._every_s = every_s
        self._clock = clock
        self.failing = False
        self._since = 0.0  # when the failures began
        self._shown = 0.0  # when the last line was logged
        self._count = 0  # failures since they began

    def failed(self, error: BaseException) -> None:
        """Log the first failure with its traceback; later ones as a short line now and then."""
        now = self._clock()
        if not self.failing:
            self.failing = True
            self._since = self._shown = now
            self._count = 1
            self._logger.error("could not %s: %s", self._what, _describe(error), exc_info=error)
            return
        self._count += 1
        if now - self._shown >= self._every_s:
            self._shown = now
            self._logger.error(
                "still cannot %s after %.0f s (%d failures): %s",
                self._what,
                now - self._since,
                self._count,
                _describe(error),
            )

    def recovered(self) -> None:
        """After a success: one line if it ends a run of failures, else nothing."""
        if not self.failing:
            return
        self.failing = False
        self._logger.info(
            "can %s again after %.1f s (%d failures)",
            self._what,
            self._clock() - self._since,
            self._count,
        )


def _describe(error: BaseException) -> str:
    detail = str(error).strip().split("\n", 1)[0][:_MAX_DETAIL]
    name = type(error).__name__
    return f"{name}: {detail}" if detail else name
