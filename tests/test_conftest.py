"""The suite's own embedded server is stopped before its folder is removed."""

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import psutil

from models.postmaster import postmaster
from tests.conftest import embedded_server


def test_the_suites_embedded_server_is_stopped_and_removed():
    with embedded_server() as url:
        pgdata = Path(parse_qs(urlsplit(url).query)["host"][0])
        server = postmaster(pgdata)
        assert server is not None
    assert not pgdata.parent.exists()
    try:
        assert server.status() == psutil.STATUS_ZOMBIE, "the server runs on"
    except psutil.NoSuchProcess:
        pass
    finally:
        if server.is_running() and server.status() != psutil.STATUS_ZOMBIE:
            server.send_signal(2)  # SIGINT: fast shutdown, if the test failed
