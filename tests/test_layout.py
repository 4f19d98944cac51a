"""The package's layout shows the flow: acquire -> sources -> store -> engines -> measures -> judgements
-> outputs (brief, web, cli). Every module imports; no import runs back up a stage (a module imports
only from its own stage or an earlier one, function-level imports included); and there is no import
cycle anywhere in src/ (docs/architecture.md)."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "dyadwatch"

# stage order; a module may import from its own stage or any stage before it
STAGES = [
    ("base", ["dyadwatch.errors", "dyadwatch.version", "dyadwatch.native"]),
    ("knowledge", ["dyadwatch.knowledge"]),
    ("acquire", ["dyadwatch.acquire"]),
    ("sources", ["dyadwatch.sources"]),
    ("store", ["dyadwatch.store"]),
    ("engines", ["dyadwatch.engines"]),
    ("measures", ["dyadwatch.measures"]),
    ("judgements", ["dyadwatch.judgements"]),
    ("brief", ["dyadwatch.brief"]),
    ("web", ["dyadwatch.web"]),
    ("cli", ["dyadwatch.cli"]),
    ("facade", ["dyadwatch", "dyadwatch.__main__"]),  # the package's own __init__: the public entry
]


def modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(SRC).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = modules()


def stage_of(module: str) -> int:
    best, rank = -1, None
    for i, (_, prefixes) in enumerate(STAGES):
        for p in prefixes:
            if (module == p or module.startswith(p + ".")) and len(p) > best:
                best, rank = len(p), i
    assert rank is not None, f"{module} belongs to no stage: add it to tests/test_layout.py and docs/architecture.md"
    return rank


def imports_of(module: str) -> set[str]:
    """The dyadwatch modules `module` imports (anywhere in it), each resolved to the module file it
    names: `from . import x` is the submodule x where there is one, else the package."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names if a.name.split(".")[0] == "dyadwatch"]
            found.update(_closest(n) for n in names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "dyadwatch":
                continue
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                found.add(sub if sub in MODULES else _closest(target))
    found.discard(module)
    return found


def _closest(name: str) -> str:
    while name not in MODULES:
        name = name.rpartition(".")[0]
    return name


@pytest.mark.parametrize("module", sorted(MODULES))
def test_every_module_imports(module):
    importlib.import_module(module)


def test_no_import_runs_back_up_a_stage():
    upward = []
    for module in MODULES:
        for imported in imports_of(module):
            if stage_of(imported) > stage_of(module):
                upward.append(f"{module} ({STAGES[stage_of(module)][0]}) imports {imported} "
                              f"({STAGES[stage_of(imported)][0]})")
    assert upward == []


def test_there_is_no_import_cycle():
    graph = {m: imports_of(m) for m in MODULES}
    cycles = []
    state: dict[str, int] = {}  # 1: on the path, 2: done
    path: list[str] = []

    def visit(m: str) -> None:
        state[m] = 1
        path.append(m)
        for n in sorted(graph[m]):
            if state.get(n) == 1:
                cycles.append(" -> ".join(path[path.index(n):] + [n]))
            elif n not in state:
                visit(n)
        path.pop()
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m)
    assert cycles == []


def test_the_checks_catch_an_upward_import_and_a_cycle(tmp_path, monkeypatch):
    """The checker itself: a store module importing a measure is upward; two modules importing each
    other are a cycle."""
    fake = {
        "dyadwatch.store.bad": tmp_path / "bad.py",
        "dyadwatch.measures.api": MODULES["dyadwatch.measures.api"],
        "dyadwatch.sources.a": tmp_path / "a.py",
        "dyadwatch.sources.b": tmp_path / "b.py",
    }
    fake["dyadwatch.store.bad"].write_text("def f():\n    from ..measures import api\n")
    fake["dyadwatch.sources.a"].write_text("from . import b\n")
    fake["dyadwatch.sources.b"].write_text("from .a import x\n")
    monkeypatch.setitem(globals(), "MODULES", {**MODULES, **fake})
    assert imports_of("dyadwatch.store.bad") == {"dyadwatch.measures.api"}
    assert stage_of("dyadwatch.measures.api") > stage_of("dyadwatch.store.bad")
    assert imports_of("dyadwatch.sources.a") == {"dyadwatch.sources.b"}
    assert imports_of("dyadwatch.sources.b") == {"dyadwatch.sources.a"}
