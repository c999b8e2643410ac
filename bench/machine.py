"""What the benchmarks need to know about the machine they run on."""

import socket
import time
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
