"""Log lines of every clicktrail process: text or JSON (``CLICKTRAIL_LOG_FORMAT``), each carrying
the id of the request it was written for (see models.instruments).
"""

import logging
import logging.config
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

import msgspec
from litestar.logging.config import LoggingConfig

from models.settings import Settings

# The id of the request the running task serves; None outside requests (startup, background
# jobs, the forwarder).
request_id: ContextVar[str | None] = ContextVar("request_id", default=None)

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


def _formatter(settings: Settings) -> dict[str, Any]:
    if settings.log_format == "json":
        return {"()": JsonFormatter}
    return {"format": TEXT_FORMAT}


def litestar_logging(settings: Settings) -> LoggingConfig:
    """The apps' logging: Litestar's queue-listener handler, with clicktrail's format."""
    _install_record_factory()
    return LoggingConfig(formatters={"standard": _formatter(settings)})


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
            "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "standard"}},
            "root": {"handlers": ["console"], "level": "INFO"},
        }
    )
