"""Time `clicktrail serve` on the embedded PostgreSQL: first start (initdb) and restarts.

    .venv/bin/python bench/startup.py [--restarts 3]

Prints seconds from launch until both apps answer /health (the "Press Ctrl+C" line).
"""

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_and_stop(env: dict[str, str]) -> float:
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "clicktrail", "serve"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    for line in process.stdout:
        if "Press Ctrl+C" in line:
            break
    else:
        raise SystemExit(f"serve exited with {process.wait()} before it was ready")
    elapsed = time.perf_counter() - started
    process.send_signal(signal.SIGINT)
    process.wait(timeout=60)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--restarts", type=int, default=3)
    args = parser.parse_args()
    data_dir = tempfile.mkdtemp(prefix="ct-bench-", dir="/tmp")
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(
        CLICKTRAIL_DATA_DIR=data_dir,
        CLICKTRAIL_INGESTION_PORT=str(free_port()),
        CLICKTRAIL_API_PORT=str(free_port()),
    )
    env.pop("CLICKTRAIL_DATABASE_URL", None)
    try:
        first = start_and_stop(env)
        restarts = [start_and_stop(env) for _ in range(args.restarts)]
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    print(f"first start (initdb + migrations): {first:.2f} s")
    print(f"restart (median of {len(restarts)}): {statistics.median(restarts):.2f} s")


if __name__ == "__main__":
    main()
