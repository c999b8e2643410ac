"""Running the two services under granian, alone or side by side."""

import ctypes
import importlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType

from granian import Granian
from granian.constants import Interfaces, TaskImpl

from models.logs import granian_logging
from models.settings import Settings, get_settings

READY_TIMEOUT_S = 60.0
# prometheus_client's multiprocess mode reads it (not imported here: see metrics_folder).
MULTIPROC_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
# prctl(2): the signal a process gets when its parent dies.
_PR_SET_PDEATHSIG = 1


class PortInUseError(Exception):
    """The port a service should listen on is taken."""


@dataclass(frozen=True, slots=True)
class Service:
    name: str
    app: str
    port_setting: str

    @property
    def worker_app(self) -> str:
        """What granian's workers load: the app, in a worker armed to end with its granian."""
        return f"clicktrail.servers:{self.name}_worker"

    def port(self, settings: Settings) -> int:
        port: int = getattr(settings, self.port_setting)
        return port

    def url(self, settings: Settings) -> str:
        return f"http://{settings.host}:{self.port(settings)}"


INGESTION = Service("ingestion", "ingestion.app:create_app", "ingestion_port")
API = Service("api", "api.app:create_app", "api_port")
SERVICES = {service.name: service for service in (INGESTION, API)}
# Processes without a port, run beside the services by `clicktrail serve`: name -> module.
WORKERS = {"forwarder": "forwarder.main"}


def ingestion_worker() -> object:
    return _worker_app(INGESTION)


def api_worker() -> object:
    return _worker_app(API)


def _worker_app(service: Service) -> object:
    """The service's app, built in a granian worker that ends with the granian process that
    forked it: after a `kill -9` of that process its workers would serve on, and keep the
    embedded server in use."""
    # Until granian installs the worker's own handlers, after this, the worker has inherited
    # the main process's, which only note a stop: a SIGTERM meanwhile (serve stopped during
    # startup) was lost, and the main process waited for the worker forever. Nothing is
    # served or queued yet, so the default (exit at once) loses nothing.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.SIG_DFL)
    arm = _ended_with(os.getppid())
    if arm is not None:
        arm()
    module, factory = service.app.split(":")
    return getattr(importlib.import_module(module), factory)()


def check_port_free(settings: Settings, service: Service) -> None:
    _check_free(settings, service.port_setting, f"the {service.name} service")


def _check_free(settings: Settings, port_setting: str, what: str) -> None:
    port: int = getattr(settings, port_setting)
    with socket.socket(socket.AF_INET6 if ":" in settings.host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((settings.host, port))
        except OSError as exc:
            variable = f"CLICKTRAIL_{port_setting.upper()}"
            raise PortInUseError(
                f"cannot listen on {settings.host}:{port} for {what} "
                f"({exc.strerror}); free the port or set {variable}"
            ) from exc


@contextmanager
def metrics_folder(service: Service) -> Iterator[None]:
    """A fresh PROMETHEUS_MULTIPROC_DIR for this run of the service, removed after it.

    Every worker granian forks writes its figures there and a scrape of any worker sums them.
    It must be set before prometheus_client is first imported: the workers import it, after
    the fork, and this process must not have (models.metrics says why).
    """
    if "prometheus_client" in sys.modules:
        raise RuntimeError(
            "prometheus_client was imported before the metrics folder was set: the workers "
            "would count apart (import models.metrics only from the apps)"
        )
    folder = tempfile.mkdtemp(prefix=f"clicktrail-metrics-{service.name}-")
    os.environ[MULTIPROC_VARIABLE] = folder
    try:
        yield
    finally:
        os.environ.pop(MULTIPROC_VARIABLE, None)
        shutil.rmtree(folder, ignore_errors=True)


def run_service(settings: Settings, service: Service) -> None:
    """Serve one app in the foreground until SIGINT/SIGTERM (granian handles both)."""
    check_port_free(settings, service)
    with metrics_folder(service):
        _serve(settings, service)


def _serve(settings: Settings, service: Service) -> None:
    Granian(
        service.worker_app,
        factory=True,
        address=settings.host,
        port=service.port(settings),
        interface=Interfaces.ASGI,
        # Not TaskImpl.rust, though it saved ~40 us of CPU a click: in granian 2.8 it never
        # releases an asyncio future a request awaits, so a worker grew by ~150 bytes a
        # request (0.5-1 MB/s under load) until it was restarted. A test holds this.
        task_impl=TaskImpl.asyncio,
        workers=settings.workers,
        log_access=False,
        log_dictconfig=granian_logging(settings),
    ).serve()


def run_side_by_side(settings: Settings, database_url: str) -> int:
    """Run both services as child processes; stop both when either stops or on a signal."""
    for service in SERVICES.values():
        check_port_free(settings, service)
    if settings.forwarder_metrics_port:
        _check_free(settings, "forwarder_metrics_port", "the forwarder's metrics")
    env = {**os.environ, "CLICKTRAIL_DATABASE_URL": database_url}
    # Each service makes its own metrics folder; the forwarder counts in its own memory.
    env.pop(MULTIPROC_VARIABLE, None)
    # This module rather than the CLI: the child skips importing the migration machinery.
    commands = {name: ["-m", "clicktrail.servers", name] for name in SERVICES}
    commands.update({name: ["-m", module] for name, module in WORKERS.items()})
    children = {
        name: subprocess.Popen(  # noqa: S603 - our own interpreter and module, no shell
            [sys.executable, *command],
            env=env,
            preexec_fn=_ended_with(os.getpid()),  # safe: this process runs no threads
        )
        for name, command in commands.items()
    }
    stopping = False

    def stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    # A closed terminal (SIGHUP) stops everything as cleanly as Ctrl+C.
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, stop)
    if _wait_ready(settings, children):
        print("clicktrail is running:", flush=True)
        print(f"  ingestion  {INGESTION.url(settings)}   (health: /health, OpenAPI: /schema)")
        print(f"  GraphQL    {API.url(settings)}/graphql   (health: {API.url(settings)}/health)")
        print(f"  dashboard  {API.url(settings)}/   (sign in with an API key)")
        print("  forwarder  sending conversions to traffic sources' postback templates")
        print("Press Ctrl+C to stop.", flush=True)
    exit_code = 0
    while not stopping:
        for name, child in children.items():
            if child.poll() is not None:
                print(f"clicktrail: the {name} service exited ({child.returncode}); stopping")
                exit_code = child.returncode or 1
                stopping = True
        time.sleep(0.2)
    for child in children.values():
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    for child in children.values():
        try:
            child.wait(timeout=15)
        except subprocess.TimeoutExpired:
            child.kill()
    return exit_code


def _ended_with(parent: int) -> Callable[[], None] | None:
    """What a child runs first: on Linux, ask for a SIGTERM when ``parent`` dies, even by
    `kill -9`, so that it does not outlive it holding its port (no signal handler can cover
    that). Elsewhere, nothing."""
    if sys.platform != "linux":
        return None
    libc = ctypes.CDLL(None, use_errno=True)

    def arm() -> None:
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # it died before the request was made
            os._exit(1)

    return arm


def _wait_ready(settings: Settings, children: dict[str, subprocess.Popen[bytes]]) -> bool:
    deadline = time.monotonic() + READY_TIMEOUT_S
    pending = set(SERVICES)
    while pending and time.monotonic() < deadline:
        if any(child.poll() is not None for child in children.values()):
            return False
        for name in list(pending):
            try:
                with urllib.request.urlopen(f"{SERVICES[name].url(settings)}/health", timeout=1):  # noqa: S310
                    pending.discard(name)
            except (OSError, urllib.error.URLError):
                pass
        time.sleep(0.2)
    return not pending


if __name__ == "__main__":
    run_service(get_settings(), SERVICES[sys.argv[1]])
