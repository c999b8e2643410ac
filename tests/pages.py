"""What a browser loads from a page: every script, stylesheet and icon it names."""

import hashlib
import json
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

from litestar import Litestar
from litestar.testing import AsyncTestClient


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        url = named.get("src") if tag in ("script", "img") else named.get("href")
        if tag in ("script", "link", "img") and url is not None:
            self.urls.append(url)


def loaded_urls(page: str) -> list[str]:
    parser = _Links()
    parser.feed(page)
    return parser.urls


async def assert_served_from_package(
    client: AsyncTestClient[Litestar], page: str, folder: Path
) -> None:
    """Each URL the page loads is a path of this server (or inline data) whose bytes are a file
    of ``folder`` as its ASSETS.json records it; and the page loads something."""
    expected = {
        name: digest
        for package in json.loads((folder / "ASSETS.json").read_text())
        for name, digest in package["files"].items()
    }
    loaded = [url for url in loaded_urls(page) if not url.startswith("data:")]
    assert loaded, page
    for url in loaded:
        parts = urlsplit(url)
        assert not parts.scheme, url
        assert not parts.netloc, url
        assert url.startswith("/"), url
        response = await client.get(url)
        assert response.status_code == 200, url
        name = parts.path.rsplit("/", 1)[-1]
        assert hashlib.sha256(response.content).hexdigest() == expected[name], url
