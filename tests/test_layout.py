"""The layers hold: data flow one way (kernels <- benchmarks <- reports <- lrbench, scripts), the report reads
results only, no import circle, no long file. Imports are read with ast, lazy ones inside functions included."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LAYER = {"kernels": 1, "benchmarks": 2, "reports": 3, "lrbench": 4, "scripts": 4}
MAX_LINES = 450


def module_files(root: Path) -> dict[str, Path]:
    """{dotted module name: file} for every .py file under the layered folders."""
    out = {}
    for top in LAYER:
        for path in sorted((root / top).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join(parts)] = path
    return out


def imported_names(path: Path, module: str) -> set[str]:
    """Every dotted name the file imports, anywhere in it (relative imports resolved; import_module("x") too)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module
            names.add(target)
            names.update(f"{target}.{a.name}" for a in node.names)
        elif (isinstance(node, ast.Call)
              and getattr(node.func, "attr", getattr(node.func, "id", None)) == "import_module"
              and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            names.add(node.args[0].value)
    return names


def import_graph(root: Path) -> dict[str, set[str]]:
    """{module: the project modules it imports}, each name resolved to the longest module it names."""
    files = module_files(root)
    graph = {}
    for module, path in files.items():
        targets = set()
        for name in imported_names(path, module):
            while name and name not in files:
                name = name.rpartition(".")[0]
            if name and name != module:
                targets.add(name)
        graph[module] = targets
    return graph


def layer(module: str) -> int:
    return LAYER[module.split(".")[0]]


def reaching_up(graph: dict[str, set[str]]) -> list[str]:
    return sorted(f"{m} -> {t}" for m, ts in graph.items() for t in ts if layer(t) > layer(m))


def report_imports_below(graph: dict[str, set[str]]) -> list[str]:
    return sorted(f"{m} -> {t}" for m, ts in graph.items() if m.split(".")[0] == "reports"
                  for t in ts if t.split(".")[0] in ("kernels", "benchmarks"))


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan); a package's __init__ importing its own
    submodules (to register or re-export them) is not an edge of a circle."""
    index, low, on_stack, stack, found = {}, {}, set(), [], []

    def edges(v):
        return [w for w in graph.get(v, ()) if not w.startswith(v + ".")]

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges(v):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


@pytest.fixture(scope="module")
def graph():
    g = import_graph(REPO)
    assert {"kernels", "kernels.registry", "benchmarks.common", "reports", "lrbench.cli"} <= set(g)
    return g


def test_no_import_reaches_up_a_layer(graph):
    assert reaching_up(graph) == []


def test_the_report_imports_neither_kernels_nor_benchmarks(graph):
    assert report_imports_below(graph) == []


def test_no_import_circle(graph):
    assert circles(graph) == []


def test_no_source_file_over_the_limit():
    long = {str(p.relative_to(REPO)): n for p in module_files(REPO).values()
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert long == {}


def test_the_checks_find_what_they_look_for(tmp_path):
    """A made-up tree with a lazy back-reference, a relative one, an import_module, a report reading kernels
    and a circle: each check names exactly those."""
    files = {
        "kernels/__init__.py": "from . import core\n",
        "kernels/core.py": "def f():\n    import benchmarks.common  # lazy, inside a function\n",
        "kernels/a.py": "from .b import x\n",
        "kernels/b.py": "from . import a\nx = 1\n",
        "benchmarks/__init__.py": "",
        "benchmarks/common.py": "import importlib\nimportlib.import_module('lrbench.cli')\nfrom kernels import a\n",
        "reports/__init__.py": "",
        "reports/html.py": "from kernels.core import f\n",
        "lrbench/__init__.py": "",
        "lrbench/cli.py": "import reports\n",
        "scripts/run.py": "import lrbench.cli\n",
    }
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    g = import_graph(tmp_path)
    assert reaching_up(g) == ["benchmarks.common -> lrbench.cli", "kernels.core -> benchmarks.common"]
    assert report_imports_below(g) == ["reports.html -> kernels.core"]
    assert circles(g) == [["kernels.a", "kernels.b"]]
    assert "kernels.core" in g["kernels"]  # the package's own submodule: an edge, but not a circle
