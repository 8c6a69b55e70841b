"""The package's import rules, read from the code: ``common`` is layers with one direction of
imports. A module imports only from its own layer or below, never in a circle; nothing imports
the tools layer; ``common/models`` does no file I/O; the project's own modules are imported at
the top of a module, never inside a function."""

import ast
from pathlib import Path

import pytest

COMMON = Path(__file__).resolve().parent.parent / "common"

# Bottom to top. The README's "Layout" section describes the same layers.
LAYERS = {
    "base": ["paths", "tables", "provenance", "literature"],
    "core": ["data", "losses", "models", "models.resnet", "models.dynamic_conv",
             "models.gating", "evaluation", "flops", "attacks", "plots"],
    "training": ["config", "runs", "train"],
    "study": ["names", "manifest", "selection", "seeds", "study", "attack_results", "analysis",
              "analysis_plots", "verdicts", "lengths", "findings.words", "findings.similarity",
              "findings.baseline", "findings.dynamic", "findings.gating", "findings.robustness",
              "findings.energy", "findings", "notebook"],
    "tools": ["benchmarks", "bench", "sweep", "readme", "report", "published"],
}
LAYER_OF = {module: rank for rank, modules in enumerate(LAYERS.values()) for module in modules}
TOOLS = LAYER_OF["report"]


def module_name(path: Path) -> str:
    parts = path.relative_to(COMMON).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def project_imports(path: Path, source: str | None = None) -> list[tuple[str, ast.AST]]:
    """(imported module of ``common``, node) for every import of the project in ``path`` (whose
    text is ``source``, default: the file's)."""
    name = module_name(path)
    package = name.split(".")[:-1] if path.name != "__init__.py" else name.split(".")
    found = []
    for node in ast.walk(ast.parse(source if source is not None else path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            elif (node.module or "").startswith("common"):
                target = node.module.removeprefix("common").lstrip(".")
            else:
                continue
            # `from . import seeds` / `from .models import gating` import modules
            for alias in node.names:
                sub = f"{target}.{alias.name}".lstrip(".")
                found.append((sub if sub in LAYER_OF else target, node))
        elif isinstance(node, ast.Import):
            found += [(a.name.removeprefix("common").lstrip("."), node) for a in node.names
                      if a.name.startswith("common")]
    return found


MODULES = {module_name(p): p for p in sorted(COMMON.rglob("*.py")) if p.name != "__init__.py"
           or p.parent != COMMON}


def test_every_module_has_a_layer():
    assert sorted(set(MODULES) - set(LAYER_OF)) == [], "add the new module to LAYERS"
    assert sorted(set(LAYER_OF) - set(MODULES)) == [], "LAYERS names a module that is gone"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_run_down_or_across(module):
    for target, node in project_imports(MODULES[module]):
        assert target in LAYER_OF, f"{module} imports unknown module {target!r}"
        assert LAYER_OF[target] <= LAYER_OF[module], (
            f"{module} (line {node.lineno}) imports {target}, a layer above it")
        assert target == module or LAYER_OF[target] < TOOLS or LAYER_OF[module] == TOOLS, \
            f"{module} imports the tools layer ({target})"


def test_no_circles():
    graph = {m: {t for t, _ in project_imports(p) if t != m} for m, p in MODULES.items()}
    # a package's modules import each other through their own names only
    graph["models"] -= {"models.resnet", "models.dynamic_conv", "models.gating"}
    state: dict[str, int] = {}

    def visit(node, path):
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            assert state.get(nxt) != 1, f"import circle: {' -> '.join(path + [nxt])}"
            if nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])


@pytest.mark.parametrize("module", sorted(MODULES))
def test_project_imports_sit_at_the_top(module):
    inner = [node.lineno for _, node in project_imports(MODULES[module]) if node.col_offset]
    assert inner == [], f"{module}: imports of the project inside functions at lines {inner}"


FILE_CALLS = {"open", "load", "save", "read_text", "write_text", "read_bytes", "write_bytes",
              "mkdir", "unlink"}
FILE_MODULES = {"os", "pathlib", "shutil", "json", "io"}


def file_io(source: str) -> list[str]:
    """Calls and imports in ``source`` that read or write files."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            name = getattr(node.func, "attr", getattr(node.func, "id", ""))
            if name in FILE_CALLS:
                found.append(f"{name}() at line {node.lineno}")
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            modules = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module]
            found += [f"import {m}" for m in modules if (m or "").split(".")[0] in FILE_MODULES]
    return found


@pytest.mark.parametrize("path", sorted((COMMON / "models").glob("*.py")), ids=lambda p: p.name)
def test_models_do_no_file_io(path):
    assert file_io(path.read_text()) == [], \
        f"{path.name} touches files: run-folder I/O belongs to common.runs"


def test_the_checks_can_fail(tmp_path):
    """The readers see a function-local, upward import and a file read (the rules can fail)."""
    assert file_io("import torch\nstate = torch.load(path)\n") == ["load() at line 2"]
    (target, node), = project_imports(COMMON / "models" / "gating.py",
                                      "def f():\n    from ..train import train\n")
    assert target == "train" and node.lineno == 2 and node.col_offset
