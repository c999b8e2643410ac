"""Log lines of every clicktrail process: text or JSON (``CLICKTRAIL_LOG_FORMAT``), each carrying
the id of the request it was written for (see models.instruments), written to stderr by a thread
in batches (BatchedLines).
"""

import logging
import logging.config
import sys
import threading
from collections import deque
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, TextIO

import msgspec
from litestar.logging.config import LoggingConfig

from models.settings import Settings

# The id of the request the running task serves; None outside requests (startup, background
# jobs, the forwarder).
request_id: ContextVar[str | None] = ContextVar("request_id", default=None)

# How long a line may wait for the writer, and how many may wait for a stream that blocks.
WRITE_EVERY_S = 0.05
MAX_WAITING_LINES = 100_000
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
_encode = msgspec.json.Encoder().encode


def _install_record_factory() -> None:
    """Every record gets `request_id` where it is made: in the request's task, so whichever
    thread formats it (Litestar's queue listener) still knows the request."""
    make = logging.getLogRecordFactory()
    if getattr(make, "adds_request_id", False):
        return

    def with_request_id(*args: object, **kwargs: object) -> logging.LogRecord:
        record = make(*args, **kwargs)
        record.request_id = request_id.get() or "-"
        return record

    with_request_id.adds_request_id = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(with_request_id)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id (in a request), the
    access log's fields (``extra={"http": {...}}``) and the traceback, if any. Values are
    escaped by the encoder, so no input can start a line of its own."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if getattr(record, "request_id", "-") != "-":
            line["request_id"] = record.request_id  # type: ignore[attr-defined]
        http = getattr(record, "http", None)
        if http is not None:
            line["http"] = http
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return _encode(line).decode()


class BatchedLines(logging.Handler):
    """Formats each record in the thread that logs it and keeps the line; a thread of its own
    writes what has gathered every WRITE_EVERY_S, in one write.

    Litestar's QueueHandler and QueueListener hand every record to the listener thread through
    a Condition, waking it for each: on a request that awaits the database the access line
    cost ~200 us of CPU (bench/logging_cost.py), a third of a compiled page of 100 clicks;
    48-69 us here. Here a record costs its formatting and a deque append, and the writer wakes on
    a timer, whatever the traffic.

    A stream that blocks (a pipe nobody reads) stalls only the writer; logging threads never
    wait for a write. Past MAX_WAITING_LINES waiting lines are dropped and counted, and the
    count is written as a line of its own once the stream takes lines again: bounded memory
    rather than a process that grows until it is killed. `flush()` writes what waits (the apps
    call it at shutdown, `logging.shutdown` at exit, and `close()` after stopping the writer).
    """

    def __init__(self, stream: TextIO | None = None) -> None:
        super().__init__()
        self._stream = stream or sys.stderr
        self._lines: deque[str] = deque()
        self._dropped = 0
        self._counting = threading.Lock()
        # One batch at a time; held while writing, so never taken by emit().
        self._writing = threading.Lock()
        self._closed = threading.Event()
        self._writer = threading.Thread(target=self._write_batches, name="log-writer", daemon=True)
        self._writer.start()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
        except Exception:
            self.handleError(record)
            return
        if len(self._lines) < MAX_WAITING_LINES:
            self._lines.append(line)
        else:
            with self._counting:
                self._dropped += 1

    def flush(self) -> None:
        # Not under self.lock: logging.shutdown() holds it while it calls flush() and close(),
        # and close() waits for the writer. Appends and pops of a deque are atomic.
        with self._writing:
            lines = [self._lines.popleft() for _ in range(len(self._lines))]
            with self._counting:
                dropped, self._dropped = self._dropped, 0
            if dropped:
                lines.append(self.format(self._dropped_record(dropped)))
            if not lines:
                return
            try:
                self._stream.write("\n".join(lines) + "\n")
                self._stream.flush()
            except Exception:
                self.handleError(self._dropped_record(len(lines)))

    def close(self) -> None:
        self._closed.set()
        self._writer.join()
        self.flush()
        super().close()

    def _write_batches(self) -> None:
        while not self._closed.wait(WRITE_EVERY_S):
            self.flush()

    @staticmethod
    def _dropped_record(count: int) -> logging.LogRecord:
        return logging.makeLogRecord(
            {
                "name": __name__,
                "levelno": logging.WARNING,
                "levelname": "WARNING",
                "msg": "%d log lines dropped: the log stream did not take them",
                "args": (count,),
                "request_id": "-",
            }
        )


def flush_logs() -> None:
    """Writes the lines waiting in the root logger's handlers (an app's last act at shutdown:
    granian's forked workers end without running atexit)."""
    for handler in logging.getLogger().handlers:
        handler.flush()


def _formatter(settings: Settings) -> dict[str, Any]:
    if settings.log_format == "json":
        return {"()": JsonFormatter}
    return {"format": TEXT_FORMAT}


def _handler() -> dict[str, Any]:
    return {"()": f"{__name__}.{BatchedLines.__name__}", "formatter": "standard"}


def litestar_logging(settings: Settings) -> LoggingConfig:
    """The apps' logging: clicktrail's format, written by BatchedLines. Litestar's loggers and
    the root name the handler `queue_listener`; defining it replaces Litestar's queue and
    listener thread."""
    _install_record_factory()
    return LoggingConfig(
        formatters={"standard": _formatter(settings)},
        handlers={"queue_listener": _handler()},
    )


def granian_logging(settings: Settings) -> dict[str, Any] | None:
    """granian's own lines (start, workers spawned, stop) in the JSON format when asked for;
    None keeps its text lines. granian replaces its default sections with these, in its main
    process and in each worker it spawns, so the formatter is named by its import path."""
    if settings.log_format != "json":
        return None
    console = {
        "class": "logging.StreamHandler",
        "formatter": "json",
        "stream": "ext://sys.stdout",
    }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": f"{__name__}.{JsonFormatter.__name__}"}},
        "handlers": {"console": console},
        "loggers": {
            # granian's Rust side logs under this name too.
            "_granian": {"handlers": ["console"], "level": "INFO", "propagate": False},
            "granian.access": {"handlers": ["console"], "level": "INFO", "propagate": False},
        },
    }


def configure_logging(settings: Settings) -> None:
    """Logging for a process that is no Litestar app (the forwarder)."""
    _install_record_factory()
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "formatters": {"standard": _formatter(settings)},
            "handlers": {"console": _handler()},
            "root": {"handlers": ["console"], "level": "INFO"},
        }
    )
