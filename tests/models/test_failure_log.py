"""FailureLog: once with the traceback, then a short line at most every `every_s`, then the end."""

import logging

from models.failure_log import FailureLog


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_failure_lasting_a_minute_logs_a_line_every_ten_seconds(
    service_log: list[logging.LogRecord],
):
    clock = Clock()
    failures = FailureLog(logging.getLogger("models.test"), "commit clicks", clock=clock)
    for n in range(6000):  # 100 a second for a minute
        clock.now = n / 100
        try:
            raise ConnectionRefusedError(111, "Connect call failed")
        except OSError as error:
            failures.failed(error)
    clock.now = 60.0
    failures.recovered()
    failures.recovered()  # a success that ends nothing logs nothing

    messages = [record.getMessage() for record in service_log]
    assert (
        messages[0]
        == "could not commit clicks: ConnectionRefusedError: [Errno 111] Connect call failed"
    )
    assert service_log[0].exc_info is not None
    assert messages[1:-1] == [
        f"still cannot commit clicks after {s} s ({s * 100 + 1} failures): "
        "ConnectionRefusedError: [Errno 111] Connect call failed"
        for s in (10, 20, 30, 40, 50)
    ]
    assert all(record.exc_info is None for record in service_log[1:])
    assert messages[-1] == "can commit clicks again after 60.0 s (6000 failures)"
    assert service_log[-1].levelno == logging.INFO


def test_the_next_outage_gets_its_traceback_again(service_log: list[logging.LogRecord]):
    failures = FailureLog(logging.getLogger("models.test"), "compact rollups", clock=Clock())
    failures.failed(OSError("first"))
    failures.recovered()
    failures.failed(OSError("second"))
    failed = [record for record in service_log if record.exc_info]
    assert [record.getMessage() for record in failed] == [
        "could not compact rollups: OSError: first",
        "could not compact rollups: OSError: second",
    ]
