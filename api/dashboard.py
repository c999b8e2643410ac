"""The dashboard: a single-page app at `/` that reads and changes the workspace only through the
public GraphQL API, with the API key the user pastes (kept in the tab's session storage).

Its own scripts are in `api/static/dashboard`, its libraries (Preact, htm, uPlot, graphql-ws) in
`api/static/vendor`, fetched from npm at pinned versions by tools/refresh_assets.py: nothing is
loaded from another origin, so it works offline. The page is public (it holds no data); every
request it sends needs the key like any other client's.
"""

import base64
import hashlib
import json
from pathlib import Path

from litestar import MediaType, Response, Router, get
from litestar.datastructures import CacheControlHeader
from litestar.static_files import create_static_files_router

_STATIC = Path(__file__).parent / "static"
APP_PATH = "/static/dashboard"
VENDOR_PATH = "/static/vendor"

# Preact's hooks module imports "preact" by name: the import map says where that is.
_IMPORT_MAP = json.dumps(
    {
        "imports": {
            "preact": f"{VENDOR_PATH}/preact.mjs",
            "preact/hooks": f"{VENDOR_PATH}/preact-hooks.mjs",
            "htm": f"{VENDOR_PATH}/htm.mjs",
        }
    }
)
_PAGE = (
    (_STATIC / "dashboard" / "index.html")
    .read_text()
    .replace("<!-- importmap -->", f'<script type="importmap">{_IMPORT_MAP}</script>')
)
_IMPORT_MAP_HASH = base64.b64encode(hashlib.sha256(_IMPORT_MAP.encode()).digest()).decode()
# The page holds an API key: scripts only from this server (and the import map above), so an
# injected value cannot run code; requests and the live feed's websocket go to the API alone.
_SECURITY_HEADERS = {
    "Content-Security-Policy": (
        f"default-src 'self'; script-src 'self' 'sha256-{_IMPORT_MAP_HASH}'; "
        "connect-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
        "frame-ancestors 'none'; form-action 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


@get("/", include_in_schema=False, sync_to_thread=False)
def dashboard_page() -> Response[str]:
    return Response(_PAGE, media_type=MediaType.HTML, headers=_SECURITY_HEADERS)


def dashboard_routes() -> list[Router]:
    """The page's own scripts and its libraries; their names carry no version, so browsers
    check them again (a cheap conditional request) rather than keep an old copy after an
    upgrade."""
    cache = CacheControlHeader(no_cache=True)
    return [
        create_static_files_router(
            APP_PATH, directories=[_STATIC / "dashboard"], name="dashboard", cache_control=cache
        ),
        create_static_files_router(
            VENDOR_PATH, directories=[_STATIC / "vendor"], name="vendor", cache_control=cache
        ),
    ]
