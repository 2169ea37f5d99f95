"""The house has one direction: each forbidden import is a failing test (see docs/ARCHITECTURE.md).

core <- answer <- critique <- service <- web <- cli; ingest uses only core; evals uses the service
and reaches the CLI only through the ``briefing.commands`` entry-point group.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

PACKAGES = ["assistant", "ingest", "evals"]
MAX_LINES = 400

#: wing -> the wings of this project it must never import.
FORBIDDEN = {
    "assistant.core": {
        "assistant.answer",
        "assistant.critique",
        "assistant.web",
        "assistant.service",
        "assistant.feedback",
        "assistant.cli",
        "ingest",
        "evals",
    },
    "assistant.answer": {
        "assistant.critique",
        "assistant.web",
        "assistant.service",
        "assistant.feedback",
        "assistant.cli",
        "ingest",
        "evals",
    },
    "assistant.critique": {
        "assistant.web",
        "assistant.service",
        "assistant.feedback",
        "assistant.cli",
        "ingest",
        "evals",
    },
    "assistant.feedback": {
        "assistant.answer",
        "assistant.critique",
        "assistant.web",
        "assistant.service",
        "assistant.cli",
        "ingest",
        "evals",
    },
    "assistant.service": {"assistant.web", "assistant.cli", "evals"},
    "assistant.web": {"assistant.cli", "ingest", "evals"},
    "assistant.cli": {"evals"},
    "ingest": {
        "assistant.answer",
        "assistant.critique",
        "assistant.web",
        "assistant.service",
        "assistant.feedback",
        "assistant.cli",
        "evals",
    },
    "evals": {"assistant.web", "assistant.cli"},
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _sources() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py"))


def _imports(path: Path) -> set[str]:
    """Every module an import statement in ``path`` names (relative imports resolved)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    here = _module_name(path).split(".")
    if path.name != "__init__.py":
        here = here[:-1]
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = ".".join(here[: len(here) - node.level + 1]) if node.level else ""
            module = ".".join(p for p in (base, node.module or "") if p)
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def _within(name: str, wing: str) -> bool:
    return name == wing or name.startswith(wing + ".")


def _wing(module: str) -> str | None:
    matches = [w for w in FORBIDDEN if _within(module, w)]
    return max(matches, key=len) if matches else None


SOURCES = _sources()


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_module_imports_only_downstream_wings(path):
    wing = _wing(_module_name(path))
    if wing is None:
        return
    bad = sorted(n for n in _imports(path) for f in FORBIDDEN[wing] if _within(n, f))
    assert bad == [], f"{wing} must not import {bad}"


@pytest.mark.parametrize(
    ("library", "allowed"),
    [
        ("chromadb", lambda m: m == "assistant.core.store"),
        ("gradio", lambda m: _within(m, "assistant.web") or m.startswith("evals.bench_ui")),
    ],
    ids=["chromadb", "gradio"],
)
def test_library_is_imported_in_one_place_only(library, allowed):
    offenders = sorted(
        _module_name(p)
        for p in SOURCES
        if any(n.split(".")[0] == library for n in _imports(p)) and not allowed(_module_name(p))
    )
    assert offenders == []


def test_import_graph_has_no_cycle():
    modules = {_module_name(p): p for p in SOURCES}
    graph = {
        m: {n for n in _imports(p) if n in modules and n != m}
        | {
            n.rsplit(".", 1)[0]
            for n in _imports(p)
            if n.rsplit(".", 1)[0] in modules and n.rsplit(".", 1)[0] != m
        }
        for m, p in modules.items()
    }
    # Packages' __init__ files are parents, not dependencies: drop edges to a module's own ancestors.
    for m, edges in graph.items():
        graph[m] = {n for n in edges if not _within(m, n)}
    state: dict[str, int] = {}
    cycle: list[str] = []

    def visit(node: str, stack: list[str]) -> bool:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycle.extend(
                    stack[stack.index(nxt) :] + [node, nxt] if nxt in stack else [node, nxt]
                )
                return True
            if state.get(nxt) is None and visit(nxt, stack + [node]):
                return True
        state[node] = 2
        return False

    for node in sorted(graph):
        if state.get(node) is None and visit(node, []):
            break
    assert cycle == []


@pytest.mark.parametrize(
    "path",
    [p for p in SOURCES if not p.name.startswith("bench_")],
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_source_module_stays_small(path):
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{path.relative_to(ROOT)} has {lines} lines (limit {MAX_LINES})"


def test_public_surface_is_importable_without_loading_anything_heavy(tmp_path):
    code = (
        "import sys; from assistant import build_service, load_settings, Settings;"
        "import assistant.cli, assistant.service, ingest.pipeline, ingest.worker;"
        "heavy = [m for m in ('torch', 'chromadb', 'sentence_transformers', 'pypdf', 'gradio',"
        " 'matplotlib', 'langchain_community') if m in sys.modules];"
        "print(heavy)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
    )
    assert proc.stdout.strip() == "[]", proc.stderr
    assert list(tmp_path.iterdir()) == []  # no data dir made at import


def test_forbidden_import_is_caught(tmp_path, monkeypatch):
    """The rule can fail: a core module importing the answer wing is reported."""
    fake = ROOT / "assistant" / "core" / "settings.py"
    tree_imports = _imports(fake) | {"assistant.answer.chat"}
    wing = _wing(_module_name(fake))
    assert wing == "assistant.core"
    assert [n for n in tree_imports for f in FORBIDDEN[wing] if _within(n, f)] == [
        "assistant.answer.chat"
    ]
