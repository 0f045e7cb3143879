"""The shape of ``webapp/``: no import cycle between its modules, no module too big.

Both read the source (``ast``), so they hold whatever the tests import: a cycle hidden in
a function-level import counts too, since it is still a knot between two jobs.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "webapp"
MAX_LINES = 400
# The simulated account is a test double of the whole API: long by nature.
EXEMPT = {"webapp/freshchat/simulator.py"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path, name: str, known: set[str]) -> set[str]:
    """The webapp modules this file imports, at any depth of its code."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            # "from webapp import push" imports the module webapp.push; "from webapp.sync
            # import run_sync" the module webapp.sync (found by trimming below).
            targets = [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def import_graph() -> dict[str, set[str]]:
    files = {_module_name(path): path for path in PACKAGE.rglob("*.py")}
    known = set(files)
    return {name: _imports(path, name, known) for name, path in files.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle as a path ``a → b → … → a``, or None. A package importing its own
    submodules (``webapp`` wiring blueprints) is the package's job, not a knot: a module
    importing its own package's ``__init__`` only to reach a sibling is still checked."""
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)):
            return found
    return None


def test_the_cycle_finder_finds_one() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_the_import_graph_sees_function_level_imports(tmp_path: Path) -> None:
    source = "def later():\n    from webapp.sync import run_sync\n"
    module = tmp_path / "mod.py"
    module.write_text(source, encoding="utf-8")
    assert _imports(module, "webapp.mod", {"webapp", "webapp.sync"}) == {"webapp.sync"}


def test_no_import_cycle_inside_webapp() -> None:
    graph = import_graph()
    # The package's __init__ builds the app from every blueprint and service: it is the
    # root, imported by nothing that it imports (checked by the cycle search itself).
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " → ".join(cycle or [])


def test_no_module_but_the_simulator_is_over_400_lines() -> None:
    too_long = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = str(path.relative_to(PACKAGE.parent))
        if relative in EXEMPT:
            continue
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > MAX_LINES:
            too_long[relative] = lines
    assert not too_long, f"over {MAX_LINES} lines: {too_long}"
