"""What the benchmarks need to know about the machine they run on."""

import os
import socket
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def idle_share(seconds: float = 1.0) -> float:
    """Share of all cores' time spent idle over a short sample (Linux /proc/stat)."""

    def sample() -> tuple[int, int]:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
        return fields[3] + fields[4], sum(fields)  # idle + iowait, total

    try:
        idle_0, total_0 = sample()
        time.sleep(seconds)
        idle_1, total_1 = sample()
    except OSError:
        return 1.0
    return (idle_1 - idle_0) / max(1, total_1 - total_0)


@dataclass(frozen=True)
class CpuTimes:
    """CPU seconds used so far by a service's processes, by PostgreSQL's, and by the machine
    (all cores' busy time: the two, the load generator, the kernel and anything else)."""

    service: float
    database: float
    machine: float
    # Per-backend accounting: the CPU seconds of each of the service's PostgreSQL backends (by
    # pid), whose sum is ``database``. A difference then counts a backend that appeared
    # meanwhile from its start, and leaves out one that is gone.
    backends: Mapping[int, float] | None = None

    def __sub__(self, earlier: "CpuTimes") -> "CpuTimes":
        service, machine = self.service - earlier.service, self.machine - earlier.machine
        if self.backends is None or earlier.backends is None:
            return CpuTimes(service, self.database - earlier.database, machine)
        backends = {pid: t - earlier.backends.get(pid, 0.0) for pid, t in self.backends.items()}
        return CpuTimes(service, sum(backends.values()), machine, backends)

    def per_request_us(self, requests: int) -> str:
        """The figure that carries across machines better than requests/s (Linux /proc)."""
        n = max(1, requests)
        database = "PostgreSQL" if self.backends is None else "its PostgreSQL backends"
        return (
            f"CPU per request: service {self.service / n * 1e6:.0f} us, {database} "
            f"{self.database / n * 1e6:.0f} us, machine {self.machine / n * 1e6:.0f} us"
        )


def cpu_times(service_pid: int, backends: Iterable[int] | None = None) -> CpuTimes:
    """Now's CpuTimes: ``service_pid`` and its descendants; for PostgreSQL, the ``backends``
    (pids, from pg_stat_activity) or else every process named postgres on the machine, which
    counts every other user of the server too."""
    tick = os.sysconf("SC_CLK_TCK")
    service = sum(_process_ticks(pid) for pid in process_tree(service_pid))
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    busy = sum(fields[:8]) - fields[3] - fields[4]  # all but idle and iowait; guests are in user
    if backends is not None:
        # A backend gone since it was listed reads 0: leave it out rather than count it so.
        seconds = {pid: t for pid in backends if (t := _process_ticks(pid) / tick)}
        return CpuTimes(service / tick, sum(seconds.values()), busy / tick, seconds)
    database = sum(
        _process_ticks(int(entry.name))
        for entry in Path("/proc").iterdir()
        if entry.name.isdigit() and _comm(entry) == "postgres"
    )
    return CpuTimes(service / tick, database / tick, busy / tick)


def process_seconds(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far; 0 once it is gone."""
    return _process_ticks(pid) / os.sysconf("SC_CLK_TCK")


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants (Linux /proc); empty once it is gone."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []
    return [pid, *(p for child in children for p in process_tree(int(child)))]


def _comm(entry: Path) -> str:
    try:
        return (entry / "comm").read_text().strip()
    except OSError:
        return ""


def _process_ticks(pid: int) -> int:
    """utime + stime of a process, in clock ticks (0 once it is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0
    # Fields after the command name, which is in parentheses and may hold spaces.
    fields = stat.rpartition(")")[2].split()
    return int(fields[11]) + int(fields[12])
