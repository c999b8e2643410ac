"""The OpenAPI schema's pages: Swagger UI with its scripts from the package itself.

Litestar's own pages load their scripts (and a favicon) from CDNs, so on a machine without
internet they stayed blank. Swagger UI's files live in `ingestion/static/swagger`
(tools/refresh_assets.py fetches them from npm at a pinned version); the pages Litestar would
also offer from a CDN (Redoc, RapiDoc, Elements) are not served.
"""

from pathlib import Path

from litestar import Router
from litestar.datastructures import CacheControlHeader
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin, SwaggerRenderPlugin, YamlRenderPlugin
from litestar.static_files import create_static_files_router

ASSETS_PATH = "/static/swagger"
_ASSETS = Path(__file__).parent / "static" / "swagger"


def openapi_config(version: str) -> OpenAPIConfig:
    return OpenAPIConfig(
        title="clicktrail ingestion",
        version=version,
        render_plugins=[
            SwaggerRenderPlugin(
                js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
                css_url=f"{ASSETS_PATH}/swagger-ui.css",
                standalone_preset_js_url=f"{ASSETS_PATH}/swagger-ui-standalone-preset.js",
                favicon=f"<link rel='icon' href='{ASSETS_PATH}/favicon-32x32.png'>",
                path=["/", "/swagger"],
            ),
            JsonRenderPlugin(),
            YamlRenderPlugin(),
        ],
    )


def swagger_assets() -> Router:
    return create_static_files_router(
        ASSETS_PATH,
        directories=[_ASSETS],
        name="swagger-assets",
        cache_control=CacheControlHeader(public=True, max_age=86_400),
    )
