"""The shape of the package (docs/architecture.md): a folder per stage, a small shared top level, a CLI that
knows trackers only through the registry, and imports that never go round in a circle."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import vtube_plugin
from vtube_plugin.sources import SOURCES

PACKAGE = Path(vtube_plugin.__file__).parent
STAGES = ("sources", "mapping", "expressions", "render", "nn", "sinks", "live", "obs", "poser", "motion", "models",
          "bench", "cli")
# Source names that are also ordinary words of help texts: "none of its morphs", and VMC, the protocol that
# `run --send-vmc` speaks outwards. `--source vmc` or `vmc:port=` in a CLI file is still caught.
PROSE = {"none", "vmc"}


def _modules() -> dict[str, Path]:
    modules = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def _imports(path: Path, modules: dict[str, Path]) -> set[str]:
    """Every package module `path` imports, at the top or inside a function (a lazy import is still an edge)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)  # `from pkg import module`
    return {name for name in found if name in modules}


def test_the_top_level_holds_only_the_shared_vocabulary():
    top = sorted(p.stem for p in PACKAGE.glob("*.py") if p.stem not in ("__init__", "__main__"))
    assert len(top) <= 8, top
    assert {"pose", "user_files", "errors", "config_dir"} <= set(top)
    # The character tools (loading, fitting, checking a picture) grew into a folder of their own.
    assert (PACKAGE / "character" / "__init__.py").is_file()


def test_every_stage_is_a_folder():
    missing = [stage for stage in STAGES if not (PACKAGE / stage / "__init__.py").is_file()]
    assert missing == []


def test_no_cli_module_names_a_source():
    """A new tracker is one file in sources/: the CLI reads names, defaults and flags from the registry."""
    problems = []
    for path in sorted((PACKAGE / "cli").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
                continue
            text = node.value
            for name in SOURCES:
                named = (text.strip().lower() == name
                         or re.search(rf"--source[ =]{name}\b|\b{name}:\w+=", text, re.IGNORECASE)
                         or (name not in PROSE and re.search(rf"\b{name}\b", text, re.IGNORECASE)))
                if named:
                    problems.append(f"{path.name}:{node.lineno} names {name}: {text[:60]!r}")
    assert problems == []


def test_imports_never_go_round_in_a_circle():
    modules = _modules()
    graph = {name: _imports(path, modules) - {name} for name, path in modules.items()}
    assert graph["vtube_plugin.cli"], "the import graph came out empty: the parser above is broken"
    done: set[str] = set()
    cycles = []

    def visit(name: str, path: list[str]) -> None:
        if name in path:
            cycles.append(" -> ".join(path[path.index(name):] + [name]))
            return
        if name in done:
            return
        for imported in sorted(graph[name]):
            visit(imported, path + [name])
        done.add(name)

    for name in sorted(graph):
        visit(name, [])
    assert cycles == []


def test_stages_never_import_each_other_both_ways():
    """Between two stage folders, imports go one way only (a module cycle is caught above; this catches two
    folders that lean on each other through different modules, like expressions/ and obs/ once did)."""
    modules = _modules()
    prefix = "vtube_plugin."

    def stage(name: str) -> str | None:
        first = name[len(prefix):].split(".")[0] if name.startswith(prefix) else None
        return first if first in STAGES else None

    edges = {(stage(name), stage(imported)) for name, path in modules.items()
             for imported in _imports(path, modules)}
    edges = {(a, b) for a, b in edges if a and b and a != b}
    assert ("obs", "expressions") in edges  # the side door drives the expression layer
    assert sorted(f"{a} <-> {b}" for a, b in edges if (b, a) in edges and a < b) == []
