"""The folders are the architecture: these tests keep the layers honest.

- ``connectors`` knows CRMs and nothing of the worker;
- the scorer and the refinement engine are pure: no store, no connector, no HTTP;
- no module imports, directly or through others, a module that imports it back.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("worker", "connectors", "sandbox")
IO_MODULES = ("worker.store", "connectors", "sandbox", "requests", "urllib3", "hubspot", "simple_salesforce",
              "sqlalchemy", "sqlmodel", "psycopg")


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" not in path.parts:
                found[_module_name(path)] = path
    return found


def _imports(path: Path, module: str, top_level_only: bool) -> Iterator[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    for node in nodes:
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative import
                base = module.rsplit(".", node.level)[0]
                yield f"{base}.{node.module}" if node.module else base
            elif node.module:
                yield node.module
                yield from (f"{node.module}.{alias.name}" for alias in node.names)


def _graph(top_level_only: bool) -> dict[str, set[str]]:
    modules = _modules()
    return {name: {i for i in _imports(path, name, top_level_only) if i in modules and i != name}
            for name, path in modules.items()}


def test_connectors_know_nothing_of_the_worker() -> None:
    """A connector never imports the worker: it knows CRMs, not scoring or the store."""
    offenders = {m: sorted(i for i in deps if i.startswith("worker"))
                 for m, deps in _graph(top_level_only=False).items() if m.startswith("connectors")}
    assert {m: d for m, d in offenders.items() if d} == {}


def test_scorer_and_refinement_engine_do_no_io() -> None:
    """The scorecard scorer and the refinement engine import no store, connector or HTTP library."""
    modules = _modules()
    bad: dict[str, list[str]] = {}
    for name, path in modules.items():
        if not (name.startswith("worker.score.scorecard") or name.startswith("worker.refine")):
            continue
        imported = set(_imports(path, name, top_level_only=False))
        hits = sorted(i for i in imported if any(i == io or i.startswith(io + ".") for io in IO_MODULES))
        if hits:
            bad[name] = hits
    assert bad == {}


def test_no_import_cycles() -> None:
    """No module reaches itself through its imports (function-level imports included)."""
    graph = _graph(top_level_only=False)
    # a package's __init__ re-exporting its own modules is not a cycle between stages
    for name, deps in graph.items():
        graph[name] = {d for d in deps if not (name.startswith(d + ".") and (ROOT / d.replace(".", "/")).is_dir())}
    cycles: list[list[str]] = []
    state: dict[str, int] = {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, stack)
        stack.pop()
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [])
    assert cycles == []
