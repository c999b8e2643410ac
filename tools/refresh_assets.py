"""Refresh the browser assets the apps serve themselves (GraphiQL, Swagger UI, the dashboard).

The pages must work on a machine without internet, so their scripts ship inside the wheel
instead of loading from a CDN. This script fetches the pinned npm packages with `npm pack`
(npm checks each tarball against the registry's integrity hash), copies the few files the
pages load into each app's `static/` folder and writes `ASSETS.json` beside them: package,
version, license, integrity and the SHA-256 of every file. Its output is committed.

To move to a new version: change the version below, run
`.venv/bin/python tools/refresh_assets.py`, open the pages (README, "Offline pages" and
"Dashboard"), run tests/api/test_dashboard.py and commit the folders with the script.
"""

import hashlib
import json
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    # File in the package (under package/) -> name it is served under.
    files: dict[str, str]


# GraphiQL 3 is the last line with a UMD build that runs without a bundler, on React 18's
# UMD builds (React 19 has none); the versions are those strawberry's own page names.
GRAPHIQL = (
    Package(
        "react",
        "18.2.0",
        {"umd/react.production.min.js": "react.production.min.js", "LICENSE": "LICENSE.react"},
    ),
    Package(
        "react-dom",
        "18.2.0",
        {
            "umd/react-dom.production.min.js": "react-dom.production.min.js",
            "LICENSE": "LICENSE.react-dom",
        },
    ),
    Package(
        "graphiql",
        "3.8.3",
        {
            "graphiql.min.js": "graphiql.min.js",
            "graphiql.min.css": "graphiql.min.css",
            "LICENSE": "LICENSE.graphiql",
        },
    ),
    Package(
        "@graphiql/plugin-explorer",
        "1.0.2",
        {"dist/index.umd.js": "plugin-explorer.umd.js", "dist/style.css": "plugin-explorer.css"},
    ),
)
SWAGGER = (
    Package(
        "swagger-ui-dist",
        "5.18.2",
        {
            "swagger-ui-bundle.js": "swagger-ui-bundle.js",
            "swagger-ui-standalone-preset.js": "swagger-ui-standalone-preset.js",
            "swagger-ui.css": "swagger-ui.css",
            "favicon-32x32.png": "favicon-32x32.png",
            "LICENSE": "LICENSE.swagger-ui",
        },
    ),
)
# The dashboard's libraries: Preact and htm as ES modules (hooks import "preact", which the
# page's import map resolves), uPlot and graphql-ws as minified scripts the pages that draw a
# chart or open the live feed load on demand.
DASHBOARD = (
    Package(
        "preact",
        "11.2.0",
        {
            "dist/preact.mjs": "preact.mjs",
            "hooks/dist/hooks.mjs": "preact-hooks.mjs",
            "LICENSE": "LICENSE.preact",
        },
    ),
    Package("htm", "3.1.1", {"dist/htm.module.js": "htm.mjs", "LICENSE": "LICENSE.htm"}),
    Package(
        "uplot",
        "1.6.32",
        {
            "dist/uPlot.iife.min.js": "uPlot.iife.min.js",
            "dist/uPlot.min.css": "uPlot.min.css",
            "LICENSE": "LICENSE.uplot",
        },
    ),
    Package(
        "graphql-ws",
        "6.4.2",
        {"umd/graphql-ws.min.js": "graphql-ws.min.js", "LICENSE.md": "LICENSE.graphql-ws"},
    ),
)
DESTINATIONS = {
    ROOT / "api" / "static" / "graphiql": GRAPHIQL,
    ROOT / "api" / "static" / "vendor": DASHBOARD,
    ROOT / "ingestion" / "static" / "swagger": SWAGGER,
}


def _pack(package: Package, into: Path) -> tuple[Path, dict[str, object]]:
    """The package's tarball from the registry, and what npm says of it."""
    output = subprocess.run(  # noqa: S603 - npm with fixed arguments
        ["npm", "pack", f"{package.name}@{package.version}", "--json", "--pack-destination", into],  # noqa: S607
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    info: dict[str, object] = json.loads(output)[0]
    return into / str(info["filename"]), info


def refresh(destination: Path, packages: tuple[Package, ...]) -> None:
    destination.mkdir(parents=True, exist_ok=True)
    for old in destination.iterdir():
        old.unlink()
    manifest = []
    with tempfile.TemporaryDirectory() as tmp:
        for package in packages:
            tarball, info = _pack(package, Path(tmp))
            with tarfile.open(tarball) as archive:
                meta = json.load(_member(archive, "package.json"))
                files = {}
                for source, name in package.files.items():
                    data = _member(archive, source).read()
                    (destination / name).write_bytes(data)
                    files[name] = hashlib.sha256(data).hexdigest()
            manifest.append(
                {
                    "package": package.name,
                    "version": package.version,
                    "license": meta.get("license"),
                    "integrity": info.get("integrity"),
                    "files": files,
                }
            )
    (destination / "ASSETS.json").write_text(json.dumps(manifest, indent=2) + "\n")


def _member(archive: tarfile.TarFile, name: str) -> IO[bytes]:
    extracted = archive.extractfile(f"package/{name}")
    if extracted is None:
        sys.exit(f"package/{name} is not a file in {archive.name!r}")
    return extracted


if __name__ == "__main__":
    for destination, packages in DESTINATIONS.items():
        refresh(destination, packages)
        print(f"{destination.relative_to(ROOT)}: {', '.join(p.name for p in packages)}")
