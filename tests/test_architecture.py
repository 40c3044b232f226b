"""The import graph of crm/ keeps the layers of ARCHITECTURE.md.

Read with `ast` (no module is imported), counting every import: at module level and
inside functions. Three checks:

- no import cycle among modules at module level;
- no import between crm modules inside a function, except the few listed below (the list
  only shrinks);
- the layering rules: foundation imports nothing above it; a record package's own modules
  (models, forms, operations, queries...) import the foundation, their own package and
  other record packages' models only; services import no door.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

CRM = Path(__file__).resolve().parent.parent / "crm"

FOUNDATION = {
    "db",
    "config",
    "extensions",
    "text",
    "vocab",
    "listing",
    "forms",
    "security",
    "records",
    "logs",
}
RECORD_PACKAGES = {
    "partners",
    "contacts",
    "agreements",
    "projects",
    "activities",
    "documents",
    "auth",
    "rates",
}
SERVICES = {"audit", "search", "duplicates", "dashboard"}
COMPOSITION = {
    "pages",
    "timeline",
    "crud",
    "edits",
    "api",
    "dataio",
    "feeds",
    "main",
    "admin",
    "navigation",
}
# A record package's or service's views.py (and cli.py, and columns.py: the import and
# export door) are routes and commands: doors,
# so they sit in the composition layer (they may compose several kinds).
DOOR_MODULES = {"views", "cli", "columns"}

# Imports between crm modules made inside a function: (importing module, imported module).
# THIS LIST ONLY SHRINKS. Do not add to it: import at module level, or, when that makes a
# cycle, move the code to the layer it belongs to (ARCHITECTURE.md) so the cycle goes.
ALLOWED_FUNCTION_IMPORTS: set[tuple[str, str]] = set()


# Known breaches of the layering rules: (importing module, imported module). Only shrinks.
ALLOWED_LAYER_BREACHES: set[tuple[str, str]] = set()


def module_name(path: Path) -> str:
    parts = list(path.relative_to(CRM.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(p): p for p in sorted(CRM.rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return getattr(test, "id", None) == "TYPE_CHECKING" or getattr(test, "attr", None) == (
        "TYPE_CHECKING"
    )


def _imported(node: ast.Import | ast.ImportFrom, module: str) -> set[str]:
    """The crm modules an import statement names (a module, not the names inside it)."""

    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        base = node.module or ""
        if node.level:
            package = module.split(".")
            if MODULES[module].name != "__init__.py":
                package.pop()
            package = package[: len(package) - node.level + 1]
            base = ".".join([*package, base] if base else package)
        names = [
            f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base
            for alias in node.names
        ]
    return {
        name
        for name in names
        if name in MODULES
        and name != "crm"
        and name != module
        # A module's own parent packages are initialised before it: no edge.
        and not module.startswith(name + ".")
    }


def collect():
    """(importer, imported, line, inside a function) for every crm import."""

    found = []
    for module, path in MODULES.items():

        def visit(node, in_function, module=module):
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.If) and _is_type_checking(child):
                    continue  # never executed
                if isinstance(child, ast.Import | ast.ImportFrom):
                    for target in _imported(child, module):
                        found.append((module, target, child.lineno, in_function))
                visit(
                    child,
                    in_function
                    or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda),
                )

        visit(ast.parse(path.read_text(encoding="utf-8")), False)
    return found


IMPORTS = collect()


def _package(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "crm"


def layer(module: str) -> str:
    package, last = _package(module), module.rsplit(".", 1)[-1]
    if package in FOUNDATION:
        return "foundation"
    if package in RECORD_PACKAGES | SERVICES and last in DOOR_MODULES:
        return "composition"
    if package in RECORD_PACKAGES:
        return "record"
    if package in SERVICES:
        return "service"
    if package in COMPOSITION:
        return "composition"
    return "app"


def strongly_connected(edges: dict[str, set[str]]) -> list[list[str]]:
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(edges.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_the_graph_is_read():
    assert len(MODULES) > 100
    edges = {(a, b) for a, b, _, in_function in IMPORTS if not in_function}
    assert ("crm.app", "crm.hooks") in edges
    assert ("crm.pages", "crm.timeline") in edges


def test_no_import_cycle_at_module_level():
    edges = defaultdict(set)
    for importer, imported, _, in_function in IMPORTS:
        if not in_function:
            edges[importer].add(imported)
    assert strongly_connected(edges) == [], (
        "modules import each other at module level; move the shared code down a layer"
    )


def test_imports_inside_functions_are_only_the_listed_ones():
    found = {
        (importer, imported): line
        for importer, imported, line, in_function in IMPORTS
        if in_function
    }
    new = sorted(
        f"{a} -> {b} (line {line})"
        for (a, b), line in found.items()
        if (a, b) not in ALLOWED_FUNCTION_IMPORTS
    )
    assert not new, (
        "imports between crm modules inside a function: import at module level, or move "
        "the code to the layer it belongs to (ARCHITECTURE.md):\n" + "\n".join(new)
    )
    gone = sorted(ALLOWED_FUNCTION_IMPORTS - set(found))
    assert not gone, f"no longer imported inside a function, remove from the list: {gone}"


def _layer_breaches() -> dict[tuple[str, str], int]:
    ranks = {"foundation": 0, "record": 1, "service": 2, "composition": 3, "app": 4}
    breaches = {}
    for importer, imported, line, _ in IMPORTS:
        if _package(importer) == _package(imported):
            continue
        if ranks[layer(imported)] > ranks[layer(importer)]:
            breaches[(importer, imported)] = line
        elif (
            layer(importer) == layer(imported) == "record"
            and _package(importer) != _package(imported)
            and imported.rsplit(".", 1)[-1] != "models"
        ):
            # Record packages are one layer: they share tables (models), not rules.
            breaches[(importer, imported)] = line
    return breaches


def test_layers():
    breaches = _layer_breaches()
    new = sorted(
        f"{a} ({layer(a)}) imports {b} ({layer(b)}), line {line}"
        for (a, b), line in breaches.items()
        if (a, b) not in ALLOWED_LAYER_BREACHES
    )
    assert not new, (
        "an import against the layers of ARCHITECTURE.md: move the code to the layer it "
        "belongs to\n" + "\n".join(new)
    )
    gone = sorted(ALLOWED_LAYER_BREACHES - set(breaches))
    assert not gone, f"no longer a breach, remove from the list: {gone}"


def test_the_cycle_finder_finds_cycles():
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert strongly_connected(edges) == [["a", "b", "c"]]
    assert strongly_connected({"a": {"b"}, "b": set()}) == []
