"""The package's shape: no import cycle, counting every import anywhere in a file (inside
functions and under TYPE_CHECKING too), and the layers in their order."""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "allocator"


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def import_graph() -> dict[str, set[str]]:
    """Module -> every allocator module it imports, wherever the import stands in the file."""
    modules = _modules()
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join([*package.split(".")[: len(package.split(".")) - node.level + 1], base])
                    base = base.strip(".")
                # `from allocator.x import y`: y is a module when there is a file for it
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
            for target in targets:
                if target in modules and target != name:
                    graph[name].add(target)
    return graph


def reached_from(graph: dict[str, set[str]], prefix: str) -> set[str]:
    """Every module imported, directly or not, by the modules whose names start with `prefix`."""
    seen: set[str] = set()
    todo = [m for m in graph if m.startswith(prefix)]
    while todo:
        for target in graph[todo.pop()] - seen:
            seen.add(target)
            todo.append(target)
    return seen


def test_no_import_cycle() -> None:
    try:
        graphlib.TopologicalSorter(import_graph()).prepare()
    except graphlib.CycleError as exc:
        raise AssertionError(f"import cycle: {' -> '.join(exc.args[1])}") from None


def test_the_graph_sees_imports_inside_functions() -> None:
    """A guard against a detector that cannot fail: imports in function bodies are edges too."""
    graph = import_graph()
    assert "allocator.backends.cpsat" in graph["allocator.backends"]  # imported in a function
    assert "allocator.instance.validation" in graph["allocator.instance.model"]
    looped = {**graph, "allocator.instance.validation": {"allocator.instance.model"}}
    try:
        graphlib.TopologicalSorter(looped).prepare()
    except graphlib.CycleError:
        return
    raise AssertionError("a cycle went unnoticed")


def test_the_formulation_and_the_checker_share_no_code() -> None:
    """The checker judges plans independently of model building."""
    reached = reached_from(import_graph(), "allocator.checker")
    assert not {m for m in reached if m.startswith(("allocator.formulation", "allocator.backends"))}


def test_the_instance_knows_nothing_downstream() -> None:
    """Data flows one way: instance -> formulation -> backends -> solution."""
    reached = reached_from(import_graph(), "allocator.instance")
    downstream = ("allocator.formulation", "allocator.backends", "allocator.solution", "allocator.report")
    assert not {m for m in reached if m.startswith(downstream)}
