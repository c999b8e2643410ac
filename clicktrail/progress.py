"""A progress bar on stderr for long CLI commands."""

import sys
import time
from typing import TextIO

WIDTH = 30


class ProgressBar:
    """``[#####.....] 12,000/50,000 rows  24%  3,100 rows/s``, redrawn in place on a terminal;
    elsewhere (a log, a pipe) a line per tenth of the work, so the output stays readable."""

    def __init__(self, total: int, *, done: int = 0, out: TextIO | None = None) -> None:
        self._total = max(total, 1)
        self._done = done
        self._start_done = done
        self._out = out or sys.stderr
        self._started = time.monotonic()
        self._tty = self._out.isatty()
        self._last_tenth = -1

    def advance(self, rows: int) -> None:
        self.set(self._done + rows)

    def set(self, done: int) -> None:
        self._done = min(done, self._total)
        tenth = self._done * 10 // self._total
        if self._tty:
            self._out.write("\r" + self._line())
            self._out.flush()
        elif tenth != self._last_tenth:
            self._out.write(self._line() + "\n")
        self._last_tenth = tenth

    def close(self) -> None:
        if self._tty:
            self._out.write("\n")
        self._out.flush()

    def _line(self) -> str:
        filled = WIDTH * self._done // self._total
        elapsed = max(time.monotonic() - self._started, 1e-6)
        rate = (self._done - self._start_done) / elapsed
        return (
            f"[{'#' * filled}{'.' * (WIDTH - filled)}] {self._done:,}/{self._total:,} rows "
            f"{100 * self._done // self._total:3d}%  {rate:,.0f} rows/s"
        )


def step(line: str, *, since: float | None = None, out: TextIO | None = None) -> None:
    """One step of a long command, on stderr (stdout carries its results): ``line``, and the
    seconds since ``since`` (a ``time.monotonic()``) when given."""
    if since is not None:
        line = f"{line} ({time.monotonic() - since:.2f} s)"
    print(line, file=out or sys.stderr, flush=True)
