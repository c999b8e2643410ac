"""The domain folders of `api/` import each other without cycles.

What several domains share (the click filter, pagination, values) lives in modules of its
own at the top of `api/`. Imports made only for type checking, or inside a function (the
GraphQL types Click and ConversionEvent name each other, which Python can only do lazily),
are left out: they do not run when a module is imported.
"""

import ast
from pathlib import Path

API = Path(__file__).resolve().parents[2] / "api"


def _domains() -> list[str]:
    return sorted(p.name for p in API.iterdir() if (p / "__init__.py").exists())


def _imported_domains(path: Path, domains: set[str]) -> set[str]:
    found = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if len(parts) > 1 and parts[0] == "api" and parts[1] in domains:
                found.add(parts[1])
    return found


def test_domain_folders_import_each_other_without_cycles():
    domains = set(_domains())
    graph = {
        domain: set().union(
            *(_imported_domains(path, domains) for path in (API / domain).glob("*.py"))
        )
        - {domain}
        for domain in domains
    }
    cycles = []
    for start in sorted(graph):
        pending = [(start, [start])]
        while pending:
            current, path = pending.pop()
            for following in sorted(graph[current]):
                if following == start:
                    cycles.append(" -> ".join([*path, start]))
                elif following not in path:
                    pending.append((following, [*path, following]))
    assert cycles == [], graph
