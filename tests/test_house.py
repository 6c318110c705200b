"""House rules of the package, read from its import graph and its files (nothing is imported).

One direction for imports (``LAYERS``): ``core/`` (redaction, safe paths, run context and run
files, shared data, cache entries, known noise, progress, the config-check helpers) imports no
stage; each stage imports core and the stages below it, in the order of the one way through the
house (data → tokenizer → embeddings → model → eval → training); ``apps/`` (reload, export,
eval run, probe, data report) compose the stages; ``analysis/`` (reading finished runs) stands on
files and core alone; ``cli/`` holds the thin entries. One room per job: no import circles;
package ``__init__`` files import nothing,
so a stage's settings (``bailong/<stage>/config.py``) load without that stage's heavy code;
a module over ``MAX_LINES`` says in its docstring why it is one file.
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.support.import_graph import PACKAGE_DIR, circles, import_graph, own_modules, reaches

MAX_LINES = 300
STAGES = ("core", "data", "tokenizer", "embeddings", "model", "eval", "training")
# Each layer → the layers it may import (its own included): a stage sees the stages below it.
LAYERS: dict[str, tuple[str, ...]] = {
    **{stage: STAGES[: i + 1] for i, stage in enumerate(STAGES)},
    "apps": (*STAGES, "apps"),
    "analysis": ("core", "analysis"),
    "cli": (*STAGES, "apps", "analysis", "cli"),
}


def upward_imports(graph: dict[str, set[str]], package: str = "bailong") -> list[str]:
    """Every import from a layer into one it may not import, as ``importer -> imported``;
    a module outside every layer is reported too."""
    found = []
    for module, imported in sorted(graph.items()):
        parts = module.split(".")
        if len(parts) == 1:
            continue  # the package's own __init__
        layer = parts[1]
        if layer not in LAYERS:
            found.append(f"{module}: in no layer of LAYERS")
            continue
        for name in sorted(imported):
            target = name.split(".")
            if len(target) > 1 and target[1] not in LAYERS[layer]:
                found.append(f"{module} -> {name}")
    return found


WHY_ONE_FILE = "Why one file:"  # the docstring sentence a long module must carry


def test_the_import_graph_has_no_circle() -> None:
    assert circles(import_graph()) == []


def test_the_graph_reader_finds_circles_and_lazy_imports(tmp_path: Path) -> None:
    """The scanner itself can fail: a circle closed by an import inside a function, and one
    through a package ``__init__``, are both found."""
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from pkg.b import thing\n")
    (pkg / "b.py").write_text("def thing():\n    from pkg import a\n")
    (pkg / "sub" / "__init__.py").write_text("from pkg.sub.c import x\n")
    (pkg / "sub" / "c.py").write_text("x = 1\n")
    (pkg / "sub" / "d.py").write_text("import pkg.sub.c\n")
    graph = import_graph(pkg)
    assert graph["pkg.sub.d"] == {"pkg.sub", "pkg.sub.c"}  # the package runs first
    assert circles(graph) == [["pkg.a", "pkg.b"]]
    (pkg / "sub" / "c.py").write_text("from pkg.sub import d\n")
    assert ["pkg.sub", "pkg.sub.c", "pkg.sub.d"] in circles(import_graph(pkg))


def test_imports_go_one_way_only() -> None:
    assert upward_imports(import_graph()) == []


def test_the_layer_check_finds_an_upward_import(tmp_path: Path) -> None:
    """The rule can fail: a stage that imports a later stage, even lazily inside a function,
    and a module in no layer are both reported."""
    pkg = tmp_path / "bailong"
    for layer in ("core", "data", "training", "stray"):
        (pkg / layer).mkdir(parents=True)
        (pkg / layer / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    (pkg / "core" / "paths.py").write_text("X = 1\n")
    (pkg / "training" / "run.py").write_text("from bailong.core.paths import X\n")
    (pkg / "data" / "pack.py").write_text("def f():\n    from bailong.training import run\n")
    assert upward_imports(import_graph(pkg)) == [
        "bailong.data.pack -> bailong.training",
        "bailong.data.pack -> bailong.training.run",
        "bailong.stray: in no layer of LAYERS",
    ]


def test_analysis_never_reaches_training_or_model_code() -> None:
    graph = import_graph()
    for module in (m for m in graph if m.startswith("bailong.analysis")):
        heavy = sorted(
            m for m in reaches(graph, module) if m.startswith(("bailong.training", "bailong.model"))
        )
        assert heavy == [], f"{module} reaches {heavy}"


def test_package_inits_import_nothing_of_ours() -> None:
    graph = import_graph()
    for name, path in own_modules().items():
        if path.name == "__init__.py":
            assert graph[name] == set(), f"{path} imports {sorted(graph[name])}"


def test_the_names_config_needs_from_a_stage_come_from_a_leaf() -> None:
    assert import_graph()["bailong.embeddings.method_names"] == set()
    assert import_graph()["bailong.core.run_files"] == set()


def test_a_long_module_says_why_it_is_one_file() -> None:
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        text = path.read_text("utf-8")
        if len(text.splitlines()) > MAX_LINES:
            doc = ast.get_docstring(ast.parse(text)) or ""
            assert WHY_ONE_FILE in doc, f"{path}: over {MAX_LINES} lines; say why in its docstring"
